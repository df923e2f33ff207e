//! Ports in hardware: administrative state (PAOS) and counters (PPCNT).
//! Both take the instance guard: the port must be registered, and the
//! change is serialized with every other devlink request.

use cxu_hal::ifc::regs::paos::{self, Paos};
use cxu_hal::ifc::regs::ppcnt::{self, Ppcnt};
use cxu_hal::ifc::regs::RegisterId;
use devlink_core::{Error, InstanceGuard, Result};

use super::{reg, CtlError, Cxu};

/// A port's states as PAOS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortStatus {
    /// Administratively up.
    pub admin_up: bool,
    /// Operationally up.
    pub oper_up: bool,
}

fn local_port(g: &InstanceGuard<'_, Cxu>, index: u32) -> Result<u8> {
    let attrs = g.port_attrs(index)?;
    u8::try_from(attrs.number)
        .map_err(|_| Error::Invalid(format!("port {index}: number {} too large", attrs.number)))
}

fn paos(g: &InstanceGuard<'_, Cxu>, index: u32, admin: Option<bool>) -> Result<PortStatus> {
    let lp = local_port(g, index)?;
    let r = Paos {
        local_port: lp,
        admin_status: match admin {
            Some(true) => paos::admin::UP,
            Some(false) => paos::admin::DOWN,
            None => 0,
        },
        ase: admin.is_some(),
        ..Paos::default()
    };
    let buf = r.encode().map_err(|e| CtlError::ifc("PAOS", e))?;
    let b = &**g.driver().backend();
    let out = match admin {
        Some(_) => reg::write(b, RegisterId::PAOS, &buf)?,
        None => reg::read(b, RegisterId::PAOS, &buf)?,
    };
    let p = Paos::decode(&out).map_err(|e| CtlError::ifc("PAOS", e))?;
    Ok(PortStatus {
        admin_up: matches!(p.admin_status, paos::admin::UP | paos::admin::UP_ONCE),
        oper_up: p.oper_status == paos::oper::UP,
    })
}

/// Reads a port's states.
pub fn status(g: &InstanceGuard<'_, Cxu>, index: u32) -> Result<PortStatus> {
    paos(g, index, None)
}

/// Sets a port's administrative state; returns the states after.
pub fn set_admin(g: &mut InstanceGuard<'_, Cxu>, index: u32, up: bool) -> Result<PortStatus> {
    paos(g, index, Some(up))
}

/// The IEEE 802.3 counters of a port, named as in the kernel's layout;
/// cleared on read when the `counters_clear_on_read` param is on.
pub fn counters(g: &InstanceGuard<'_, Cxu>, index: u32) -> Result<Vec<(&'static str, u64)>> {
    let lp = local_port(g, index)?;
    let r = Ppcnt {
        local_port: lp,
        grp: ppcnt::group::IEEE_802_3,
        clr: g.driver().counters_clear_on_read,
        ..Ppcnt::default()
    };
    let buf = r.encode().map_err(|e| CtlError::ifc("PPCNT", e))?;
    let out = reg::read(&**g.driver().backend(), RegisterId::PPCNT, &buf)?;
    let p = Ppcnt::decode(&out).map_err(|e| CtlError::ifc("PPCNT", e))?;
    Ok(ppcnt::IEEE_802_3_NAMES
        .iter()
        .copied()
        .zip(p.counters)
        .collect())
}
