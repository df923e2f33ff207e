//! Ports (reference §5, net/devlink/port.c): flavours, split arithmetic,
//! the type link to a netdev or ibdev, and the port function (the PCI
//! function behind an eswitch port).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::{InstanceGuard, Objects};
use crate::json::hw_addr_string;
use crate::notify::{Command, EventBody};
use crate::ops::Capabilities;

/// `devlink_port_flavour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortFlavour {
    /// A front-panel port.
    Physical,
    /// The CPU port of a switch.
    Cpu,
    /// A port connecting two switch chips.
    Dsa,
    /// An eswitch port representing a PCI physical function.
    PciPf,
    /// An eswitch port representing a PCI virtual function.
    PciVf,
    /// A software port.
    Virtual,
    /// Exists in the switch but is unused.
    Unused,
    /// An eswitch port representing a PCI subfunction.
    PciSf,
}

impl PortFlavour {
    /// The name iproute2 prints (it has no name for `unused`; this crate
    /// prints `unused`).
    pub fn as_str(self) -> &'static str {
        match self {
            PortFlavour::Physical => "physical",
            PortFlavour::Cpu => "cpu",
            PortFlavour::Dsa => "dsa",
            PortFlavour::PciPf => "pcipf",
            PortFlavour::PciVf => "pcivf",
            PortFlavour::Virtual => "virtual",
            PortFlavour::Unused => "unused",
            PortFlavour::PciSf => "pcisf",
        }
    }

    fn has_port_number(self) -> bool {
        matches!(
            self,
            PortFlavour::Physical | PortFlavour::Cpu | PortFlavour::Dsa
        )
    }

    fn is_pci(self) -> bool {
        matches!(
            self,
            PortFlavour::PciPf | PortFlavour::PciVf | PortFlavour::PciSf
        )
    }
}

/// `devlink_port_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortType {
    /// No device linked.
    #[serde(rename = "notset")]
    NotSet,
    /// Chosen by the driver.
    Auto,
    /// Ethernet (a netdev).
    Eth,
    /// InfiniBand (an ibdev).
    Ib,
}

/// `devlink_port_fn_state`: whether the function is activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortFnState {
    /// Deactivated.
    Inactive,
    /// Activated.
    Active,
}

/// `devlink_port_fn_opstate`: whether a driver is attached to the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortFnOpstate {
    /// No driver attached.
    Detached,
    /// A driver is attached.
    Attached,
}

/// The function behind a port, as the driver registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFunction {
    /// Hardware address (6 bytes for Ethernet).
    pub hw_addr: Vec<u8>,
    /// Administrative state.
    pub state: PortFnState,
    /// Operational state.
    pub opstate: PortFnOpstate,
}

/// A port as the driver describes it (`devlink_port_attrs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Index, unique per instance (driver-chosen).
    pub index: u32,
    /// Flavour.
    pub flavour: PortFlavour,
    /// Front-panel number (physical / cpu / dsa).
    pub number: u32,
    /// `Some(subport)` for a port created by splitting port `number`.
    pub split_subport: Option<u32>,
    /// Whether the port can be split.
    pub splittable: bool,
    /// Lanes (0 = not reported).
    pub lanes: u32,
    /// PCI controller number (pci flavours).
    pub controller: u32,
    /// PCI PF number (pci flavours).
    pub pf: u16,
    /// PCI VF number (pcivf).
    pub vf: u16,
    /// SF number (pcisf).
    pub sf: u32,
    /// The function is on an external controller (pci flavours).
    pub external: bool,
    /// The function behind the port, if the port has one.
    pub function: Option<PortFunction>,
}

impl Port {
    fn base(index: u32, flavour: PortFlavour) -> Self {
        Port {
            index,
            flavour,
            number: 0,
            split_subport: None,
            splittable: false,
            lanes: 0,
            controller: 0,
            pf: 0,
            vf: 0,
            sf: 0,
            external: false,
            function: None,
        }
    }

    /// A front-panel port.
    pub fn physical(index: u32, number: u32) -> Self {
        Port {
            number,
            ..Port::base(index, PortFlavour::Physical)
        }
    }

    /// A CPU port.
    pub fn cpu(index: u32, number: u32) -> Self {
        Port {
            number,
            ..Port::base(index, PortFlavour::Cpu)
        }
    }

    /// A port created by splitting front-panel port `number`.
    pub fn split(index: u32, number: u32, subport: u32, lanes: u32) -> Self {
        Port {
            number,
            split_subport: Some(subport),
            lanes,
            ..Port::base(index, PortFlavour::Physical)
        }
    }

    /// An eswitch port for a PF.
    pub fn pci_pf(index: u32, controller: u32, pf: u16, external: bool) -> Self {
        Port {
            controller,
            pf,
            external,
            ..Port::base(index, PortFlavour::PciPf)
        }
    }

    /// An eswitch port for a VF.
    pub fn pci_vf(index: u32, controller: u32, pf: u16, vf: u16, external: bool) -> Self {
        Port {
            controller,
            pf,
            vf,
            external,
            ..Port::base(index, PortFlavour::PciVf)
        }
    }

    /// An eswitch port for an SF.
    pub fn pci_sf(index: u32, controller: u32, pf: u16, sf: u32, external: bool) -> Self {
        Port {
            controller,
            pf,
            sf,
            external,
            ..Port::base(index, PortFlavour::PciSf)
        }
    }

    /// A port of another flavour (virtual, unused, dsa).
    pub fn other(index: u32, flavour: PortFlavour) -> Self {
        Port::base(index, flavour)
    }

    /// With `lanes` lanes, splittable or not.
    pub fn lanes(mut self, lanes: u32, splittable: bool) -> Self {
        self.lanes = lanes;
        self.splittable = splittable;
        self
    }

    /// With a port function.
    pub fn with_function(mut self, f: PortFunction) -> Self {
        self.function = Some(f);
        self
    }
}

pub(crate) struct PortItem {
    attrs: Port,
    ty: PortType,
    desired_ty: PortType,
    netdev: Option<String>,
    ibdev: Option<String>,
}

/// The `function` object of a port entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortFunctionView {
    /// `aa:bb:cc:dd:ee:ff`.
    pub hw_addr: String,
    /// Administrative state.
    pub state: PortFnState,
    /// Operational state.
    pub opstate: PortFnOpstate,
}

/// One entry of `devlink port show -j`, in iproute2's print order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortView {
    /// Current type.
    #[serde(rename = "type")]
    pub ty: PortType,
    /// Desired type, when a user set one that differs from the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub des_type: Option<PortType>,
    /// Linked netdev.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netdev: Option<String>,
    /// Linked ibdev.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ibdev: Option<String>,
    /// Flavour name.
    pub flavour: &'static str,
    /// PCI controller (pci flavours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<u32>,
    /// PF number (pci flavours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pfnum: Option<u16>,
    /// VF number (pcivf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vfnum: Option<u16>,
    /// SF number (pcisf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sfnum: Option<u32>,
    /// External controller (pci flavours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// Front-panel number (physical / cpu / dsa).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Split group (the original port number), for split ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_group: Option<u32>,
    /// Whether the port can be split.
    pub splittable: bool,
    /// Lanes, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lanes: Option<u32>,
    /// The function behind the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<PortFunctionView>,
}

impl PortItem {
    pub(crate) fn view(&self) -> PortView {
        let a = &self.attrs;
        let pci = a.flavour.is_pci();
        PortView {
            ty: self.ty,
            // The kernel sends the desired type only once a user set one, and
            // iproute2 prints it only when it differs from the current type.
            des_type: (self.desired_ty != PortType::NotSet && self.desired_ty != self.ty)
                .then_some(self.desired_ty),
            netdev: if self.ty == PortType::Eth {
                self.netdev.clone()
            } else {
                None
            },
            ibdev: if self.ty == PortType::Ib {
                self.ibdev.clone()
            } else {
                None
            },
            flavour: a.flavour.as_str(),
            controller: pci.then_some(a.controller),
            pfnum: pci.then_some(a.pf),
            vfnum: (a.flavour == PortFlavour::PciVf).then_some(a.vf),
            sfnum: (a.flavour == PortFlavour::PciSf).then_some(a.sf),
            external: pci.then_some(a.external),
            port: a.flavour.has_port_number().then_some(a.number),
            split_group: a.split_subport.map(|_| a.number),
            splittable: a.splittable,
            lanes: (a.lanes != 0).then_some(a.lanes),
            function: a.function.as_ref().map(|f| PortFunctionView {
                hw_addr: hw_addr_string(&f.hw_addr),
                state: f.state,
                opstate: f.opstate,
            }),
        }
    }

    /// The driver-supplied attributes.
    pub(crate) fn attrs(&self) -> &Port {
        &self.attrs
    }
}

fn check_port(p: &Port) -> Result<()> {
    if p.splittable && p.lanes < 2 {
        return Err(Error::invalid(format!(
            "port {}: splittable needs at least 2 lanes, has {}",
            p.index, p.lanes
        )));
    }
    if p.splittable && p.split_subport.is_some() {
        return Err(Error::invalid(format!(
            "port {}: a split port cannot be splittable again",
            p.index
        )));
    }
    if (p.splittable || p.split_subport.is_some()) && !p.flavour.has_port_number() {
        return Err(Error::invalid(format!(
            "port {}: only physical, cpu and dsa ports split",
            p.index
        )));
    }
    if let Some(f) = &p.function {
        if f.hw_addr.len() > 32 {
            return Err(Error::invalid(format!(
                "port {}: hw_addr longer than MAX_ADDR_LEN (32)",
                p.index
            )));
        }
    }
    Ok(())
}

impl Objects {
    pub(crate) fn add_port(&mut self, p: Port) -> Result<()> {
        check_port(&p)?;
        if self.ports.contains_key(&p.index) {
            return Err(Error::exists(format!("port {}", p.index)));
        }
        self.ports.insert(
            p.index,
            PortItem {
                attrs: p,
                ty: PortType::NotSet,
                desired_ty: PortType::NotSet,
                netdev: None,
                ibdev: None,
            },
        );
        Ok(())
    }

    fn port(&self, index: u32) -> Result<&PortItem> {
        self.ports
            .get(&index)
            .ok_or_else(|| Error::not_found(format!("port {index}")))
    }

    fn port_mut(&mut self, index: u32) -> Result<&mut PortItem> {
        self.ports
            .get_mut(&index)
            .ok_or_else(|| Error::not_found(format!("port {index}")))
    }
}

/// Attributes of `devlink port function set`; `None` leaves one unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortFunctionSet {
    /// New hardware address.
    pub hw_addr: Option<Vec<u8>>,
    /// New state (applied last, after the address).
    pub state: Option<PortFnState>,
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    fn notify_port(&self, index: u32) {
        if let Some(p) = self.st.objs.ports.get(&index) {
            self.notify(
                Command::New,
                self.port_key(index),
                EventBody::Port(p.view()),
            );
        }
    }

    /// Adds a port after registration (`devl_port_register`; notifies `port new`).
    pub fn port_add(&mut self, p: Port) -> Result<()> {
        let index = p.index;
        self.st.objs.add_port(p)?;
        self.notify_port(index);
        Ok(())
    }

    /// Removes a port (`devl_port_unregister`; notifies `port del`). Refused
    /// with [`Error::Busy`] while a netdev/ibdev is linked or the port has
    /// health reporters.
    pub fn port_remove(&mut self, index: u32) -> Result<()> {
        let p = self.st.objs.port(index)?;
        if p.ty == PortType::Eth || p.ty == PortType::Ib {
            return Err(Error::Busy(format!(
                "port {index} still has a linked device; clear its type first"
            )));
        }
        if self
            .st
            .objs
            .reporters
            .iter()
            .any(|r| r.port() == Some(index))
        {
            return Err(Error::Busy(format!(
                "port {index} still has health reporters"
            )));
        }
        if let Some(item) = self.st.objs.ports.remove(&index) {
            self.notify(
                Command::Del,
                self.port_key(index),
                EventBody::Port(item.view()),
            );
        }
        Ok(())
    }

    /// Links a netdev to the port (type becomes `eth`; notifies).
    pub fn port_set_netdev(&mut self, index: u32, name: impl Into<String>) -> Result<()> {
        let p = self.st.objs.port_mut(index)?;
        p.ty = PortType::Eth;
        p.netdev = Some(name.into());
        self.notify_port(index);
        Ok(())
    }

    /// Links an ibdev to the port (type becomes `ib`; notifies).
    pub fn port_set_ibdev(&mut self, index: u32, name: impl Into<String>) -> Result<()> {
        let p = self.st.objs.port_mut(index)?;
        p.ty = PortType::Ib;
        p.ibdev = Some(name.into());
        self.notify_port(index);
        Ok(())
    }

    /// Unlinks the port's device (type becomes `notset`; notifies).
    pub fn port_clear_type(&mut self, index: u32) -> Result<()> {
        let p = self.st.objs.port_mut(index)?;
        p.ty = PortType::NotSet;
        p.netdev = None;
        p.ibdev = None;
        self.notify_port(index);
        Ok(())
    }

    /// Updates the function's operational state (the driver saw a driver
    /// attach or detach; notifies).
    pub fn port_set_fn_opstate(&mut self, index: u32, opstate: PortFnOpstate) -> Result<()> {
        let p = self.st.objs.port_mut(index)?;
        let f = p
            .attrs
            .function
            .as_mut()
            .ok_or_else(|| Error::not_supported(format!("port {index} has no function")))?;
        f.opstate = opstate;
        self.notify_port(index);
        Ok(())
    }

    /// `devlink port show`: every port by index.
    pub fn port_show(&self) -> Vec<(u32, PortView)> {
        self.st
            .objs
            .ports
            .iter()
            .map(|(i, p)| (*i, p.view()))
            .collect()
    }

    /// `devlink port show DEV/INDEX`.
    pub fn port_get(&self, index: u32) -> Result<PortView> {
        Ok(self.st.objs.port(index)?.view())
    }

    /// The driver-supplied attributes of a port.
    pub fn port_attrs(&self, index: u32) -> Result<Port> {
        Ok(self.st.objs.port(index)?.attrs().clone())
    }

    /// `devlink port set DEV/INDEX type TYPE`.
    pub fn port_set_type(&mut self, index: u32, ty: PortType) -> Result<()> {
        let p = self.st.objs.port(index)?;
        if p.desired_ty == ty {
            return Ok(());
        }
        let ops = self.ops_for(Capabilities::PORT_TYPE_SET, "port_type_set")?;
        ops.port_type_set(self, index, ty)?;
        if let Ok(p) = self.st.objs.port_mut(index) {
            p.desired_ty = ty;
        }
        self.notify_port(index);
        Ok(())
    }

    /// `devlink port split DEV/INDEX count N`: `N` must be a power of two,
    /// at least 2 and at most the port's lanes. The driver replaces the
    /// port from inside the op.
    pub fn port_split(&mut self, index: u32, count: u32) -> Result<()> {
        let p = self.st.objs.port(index)?;
        if !p.attrs.splittable {
            return Err(Error::invalid(if p.attrs.split_subport.is_some() {
                format!("port {index} cannot be split further")
            } else {
                format!("port {index} cannot be split")
            }));
        }
        if count < 2 || !count.is_power_of_two() || count > p.attrs.lanes {
            return Err(Error::invalid(format!(
                "invalid split count {count} for port {index} with {} lanes",
                p.attrs.lanes
            )));
        }
        let ops = self.ops_for(Capabilities::PORT_SPLIT, "port_split")?;
        ops.port_split(self, index, count)
    }

    /// `devlink port unsplit DEV/INDEX`.
    pub fn port_unsplit(&mut self, index: u32) -> Result<()> {
        self.st.objs.port(index)?;
        let ops = self.ops_for(Capabilities::PORT_UNSPLIT, "port_unsplit")?;
        ops.port_unsplit(self, index)
    }

    /// `devlink port function set DEV/INDEX [hw_addr A] [state S]`. Every
    /// attribute is checked for support before anything is applied; the
    /// address is applied before the state, so the function is configured
    /// before it is activated. Notifies `port new` on success.
    pub fn port_function_set(&mut self, index: u32, req: PortFunctionSet) -> Result<()> {
        let p = self.st.objs.port(index)?;
        if p.attrs.function.is_none() {
            return Err(Error::not_supported(format!(
                "port {index} has no function"
            )));
        }
        if req.hw_addr.is_some() && !self.st.caps.contains(Capabilities::PORT_FN_HW_ADDR_SET) {
            return Err(Error::not_supported("port function hw_addr set"));
        }
        if req.state.is_some() && !self.st.caps.contains(Capabilities::PORT_FN_STATE_SET) {
            return Err(Error::not_supported("port function state set"));
        }
        if let Some(addr) = &req.hw_addr {
            if addr.len() > 32 {
                return Err(Error::invalid("hardware address longer than MAX_ADDR_LEN"));
            }
            if p.ty == PortType::Eth || p.attrs.flavour.is_pci() {
                if addr.len() != 6 {
                    return Err(Error::invalid(format!(
                        "invalid Ethernet address length {}",
                        addr.len()
                    )));
                }
                if addr[0] & 1 != 0 {
                    return Err(Error::invalid("non-unicast hardware address unsupported"));
                }
            }
        }
        if let Some(addr) = req.hw_addr {
            let ops = self.ops_for(Capabilities::PORT_FN_HW_ADDR_SET, "port_fn_hw_addr_set")?;
            ops.port_fn_hw_addr_set(self, index, &addr)?;
            if let Some(f) = self.st.objs.port_mut(index)?.attrs.function.as_mut() {
                f.hw_addr = addr;
            }
        }
        if let Some(state) = req.state {
            let ops = self.ops_for(Capabilities::PORT_FN_STATE_SET, "port_fn_state_set")?;
            ops.port_fn_state_set(self, index, state)?;
            if let Some(f) = self.st.objs.port_mut(index)?.attrs.function.as_mut() {
                f.state = state;
            }
        }
        self.notify_port(index);
        Ok(())
    }
}
