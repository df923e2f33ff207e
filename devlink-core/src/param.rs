//! Params (reference §6, net/devlink/param.c): typed values with a set of
//! configuration modes. `runtime` and `permanent` values live in the device
//! (the driver's `param_get` / `param_set`); `driverinit` values are stored
//! by the core and applied by the driver on reload `driver_reinit`.

use std::borrow::Cow;

use serde::ser::Serializer;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::{InstanceGuard, Objects};
use crate::notify::{Command, EventBody};
use crate::ops::Capabilities;

/// `DEVLINK_PARAM_TYPE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// u8.
    U8,
    /// u16.
    U16,
    /// u32.
    U32,
    /// u64.
    U64,
    /// A string shorter than 32 bytes.
    String,
    /// A flag.
    Bool,
}

/// A param value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParamValue {
    /// u8.
    U8(u8),
    /// u16.
    U16(u16),
    /// u32.
    U32(u32),
    /// u64.
    U64(u64),
    /// String (< 32 bytes).
    String(String),
    /// Flag.
    Bool(bool),
}

/// Longest string value plus its NUL (`__DEVLINK_PARAM_MAX_STRING_VALUE`).
pub const PARAM_MAX_STRING_VALUE: usize = 32;

impl ParamValue {
    /// The value's type.
    pub fn ty(&self) -> ParamType {
        match self {
            ParamValue::U8(_) => ParamType::U8,
            ParamValue::U16(_) => ParamType::U16,
            ParamValue::U32(_) => ParamType::U32,
            ParamValue::U64(_) => ParamType::U64,
            ParamValue::String(_) => ParamType::String,
            ParamValue::Bool(_) => ParamType::Bool,
        }
    }

    fn check(&self, name: &str, ty: ParamType) -> Result<()> {
        if self.ty() != ty {
            return Err(Error::invalid(format!(
                "param {name:?} is {ty:?}, value is {:?}",
                self.ty()
            )));
        }
        if let ParamValue::String(s) = self {
            if s.len() >= PARAM_MAX_STRING_VALUE || s.contains('\0') {
                return Err(Error::invalid(format!(
                    "param {name:?}: string value must be shorter than {PARAM_MAX_STRING_VALUE} bytes without NUL"
                )));
            }
        }
        Ok(())
    }
}

/// `devlink_param_cmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cmode {
    /// Applies now, through the driver.
    Runtime,
    /// Stored by the core, applied on reload `driver_reinit`.
    Driverinit,
    /// Written to device NVM through the driver.
    Permanent,
}

bitflags::bitflags! {
    /// A set of [`Cmode`]s.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Cmodes: u8 {
        /// [`Cmode::Runtime`].
        const RUNTIME = 1 << 0;
        /// [`Cmode::Driverinit`].
        const DRIVERINIT = 1 << 1;
        /// [`Cmode::Permanent`].
        const PERMANENT = 1 << 2;
    }
}

impl Cmode {
    fn bit(self) -> Cmodes {
        match self {
            Cmode::Runtime => Cmodes::RUNTIME,
            Cmode::Driverinit => Cmodes::DRIVERINIT,
            Cmode::Permanent => Cmodes::PERMANENT,
        }
    }
    const ALL: [Cmode; 3] = [Cmode::Runtime, Cmode::Driverinit, Cmode::Permanent];
}

/// The kernel's generic params, indexed by id (`devlink_param_generic[]`).
/// Ids are kernel-internal; only names and types cross netlink.
pub static GENERIC_PARAMS: [(&str, ParamType); 22] = [
    ("internal_error_reset", ParamType::Bool),
    ("max_macs", ParamType::U32),
    ("enable_sriov", ParamType::Bool),
    ("region_snapshot_enable", ParamType::Bool),
    ("ignore_ari", ParamType::Bool),
    ("msix_vec_per_pf_max", ParamType::U32),
    ("msix_vec_per_pf_min", ParamType::U32),
    ("fw_load_policy", ParamType::U8),
    ("reset_dev_on_drv_probe", ParamType::U8),
    ("enable_roce", ParamType::Bool),
    ("enable_remote_dev_reset", ParamType::Bool),
    ("enable_eth", ParamType::Bool),
    ("enable_rdma", ParamType::Bool),
    ("enable_vnet", ParamType::Bool),
    ("enable_iwarp", ParamType::Bool),
    ("io_eq_size", ParamType::U32),
    ("event_eq_size", ParamType::U32),
    ("enable_phc", ParamType::Bool),
    ("clock_id", ParamType::U64),
    ("total_vfs", ParamType::U32),
    ("num_doorbells", ParamType::U32),
    ("max_mac_per_vf", ParamType::U32),
];

/// The highest generic param id.
pub const GENERIC_PARAM_ID_MAX: u32 = (GENERIC_PARAMS.len() - 1) as u32;

/// The generic param id for a name.
pub fn generic_param_id(name: &str) -> Option<u32> {
    GENERIC_PARAMS
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// A param as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Id (generic table index, or above [`GENERIC_PARAM_ID_MAX`]).
    pub id: u32,
    /// Name.
    pub name: Cow<'static, str>,
    /// Generic or driver-specific.
    pub generic: bool,
    /// Type.
    pub ty: ParamType,
    /// Supported configuration modes (non-empty).
    pub cmodes: Cmodes,
    /// Initial driverinit value (`devl_param_driverinit_value_set` at probe).
    pub driverinit_default: Option<ParamValue>,
}

impl Param {
    /// A generic param by id; name and type from the table (an unknown id
    /// gets an empty name and fails validation).
    pub fn generic(id: u32, cmodes: Cmodes) -> Self {
        let (name, ty) = usize::try_from(id)
            .ok()
            .and_then(|i| GENERIC_PARAMS.get(i))
            .copied()
            .unwrap_or(("", ParamType::Bool));
        Param {
            id,
            name: Cow::Borrowed(name),
            generic: true,
            ty,
            cmodes,
            driverinit_default: None,
        }
    }

    /// A driver-specific param.
    pub fn driver(
        id: u32,
        name: impl Into<Cow<'static, str>>,
        ty: ParamType,
        cmodes: Cmodes,
    ) -> Self {
        Param {
            id,
            name: name.into(),
            generic: false,
            ty,
            cmodes,
            driverinit_default: None,
        }
    }

    /// With an initial driverinit value.
    pub fn driverinit_default(mut self, v: ParamValue) -> Self {
        self.driverinit_default = Some(v);
        self
    }
}

pub(crate) struct ParamItem {
    desc: Param,
    driverinit: Option<ParamValue>,
    driverinit_pending: Option<ParamValue>,
}

/// One `{"cmode":..,"value":..}` entry of a param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamValueView {
    /// Mode.
    pub cmode: Cmode,
    /// Value.
    pub value: ParamValue,
    /// The default, if the param has one in this mode.
    pub default: Option<ParamValue>,
    name: String,
}

impl Serialize for ParamValueView {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2 + usize::from(self.default.is_some())))?;
        m.serialize_entry("cmode", &self.cmode)?;
        let mut entry = |key: &str, value: &ParamValue| match value {
            ParamValue::U8(v) => match value_name(&self.name, u32::from(*v)) {
                Some(n) => m.serialize_entry(key, n),
                None => m.serialize_entry(key, v),
            },
            ParamValue::U16(v) => m.serialize_entry(key, v),
            ParamValue::U32(v) => m.serialize_entry(key, v),
            ParamValue::U64(v) => m.serialize_entry(key, v),
            ParamValue::String(v) => m.serialize_entry(key, v),
            ParamValue::Bool(v) => m.serialize_entry(key, v),
        };
        entry("value", &self.value)?;
        // iproute2 prints the default after the value (`default` key).
        if let Some(d) = &self.default {
            entry("default", d)?;
        }
        m.end()
    }
}

/// iproute2's `param_val_conv`: generic enum params print as words.
fn value_name(param: &str, v: u32) -> Option<&'static str> {
    match (param, v) {
        ("fw_load_policy", 0) => Some("driver"),
        ("fw_load_policy", 1) => Some("flash"),
        ("fw_load_policy", 2) => Some("disk"),
        ("fw_load_policy", 3) => Some("unknown"),
        ("reset_dev_on_drv_probe", 0) => Some("unknown"),
        ("reset_dev_on_drv_probe", 1) => Some("always"),
        ("reset_dev_on_drv_probe", 2) => Some("never"),
        ("reset_dev_on_drv_probe", 3) => Some("disk"),
        _ => None,
    }
}

/// One entry of `devlink dev param show -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamView {
    /// Name.
    pub name: String,
    /// `generic` or `driver-specific`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// One entry per supported mode that has a value.
    pub values: Vec<ParamValueView>,
}

impl ParamItem {
    fn kind(&self) -> &'static str {
        if self.desc.generic {
            "generic"
        } else {
            "driver-specific"
        }
    }

    /// The view for notifications: stored (driverinit) values only, no
    /// driver call. `None` when there is nothing to show.
    pub(crate) fn notify_view(&self) -> Option<ParamView> {
        let mut values = Vec::new();
        if let Some(v) = self
            .driverinit_pending
            .as_ref()
            .or(self.driverinit.as_ref())
        {
            values.push(ParamValueView {
                cmode: Cmode::Driverinit,
                value: v.clone(),
                // Notifications carry stored values only (no driver call).
                default: None,
                name: self.desc.name.to_string(),
            });
        }
        Some(ParamView {
            name: self.desc.name.to_string(),
            kind: self.kind(),
            values,
        })
    }

    /// Promotes a pending driverinit value (reload `driver_reinit`).
    pub(crate) fn promote(&mut self) {
        if let Some(v) = self.driverinit_pending.take() {
            self.driverinit = Some(v);
        }
    }
}

fn check_param(p: &Param) -> Result<()> {
    if p.name.is_empty() {
        return Err(Error::invalid(format!("param {} has no name", p.id)));
    }
    if p.cmodes.is_empty() {
        return Err(Error::invalid(format!(
            "param {:?} supports no configuration mode",
            p.name
        )));
    }
    if p.generic {
        let entry = usize::try_from(p.id)
            .ok()
            .and_then(|i| GENERIC_PARAMS.get(i));
        match entry {
            None => {
                return Err(Error::invalid(format!(
                    "generic param id {} above the generic maximum",
                    p.id
                )))
            }
            Some((n, _)) if *n != p.name => {
                return Err(Error::invalid(format!(
                    "generic param {} must be named {n:?}, not {:?}",
                    p.id, p.name
                )))
            }
            Some((_, ty)) if *ty != p.ty => {
                return Err(Error::invalid(format!(
                    "generic param {:?} has type {ty:?}, not {:?}",
                    p.name, p.ty
                )))
            }
            Some(_) => {}
        }
    } else {
        if p.id <= GENERIC_PARAM_ID_MAX {
            return Err(Error::invalid(format!(
                "driver param {:?}: id {} is in the generic range (0..={GENERIC_PARAM_ID_MAX})",
                p.name, p.id
            )));
        }
        if generic_param_id(&p.name).is_some() {
            return Err(Error::exists(format!(
                "driver param name {:?} is a generic name",
                p.name
            )));
        }
    }
    if let Some(v) = &p.driverinit_default {
        if !p.cmodes.contains(Cmodes::DRIVERINIT) {
            return Err(Error::invalid(format!(
                "param {:?} has a driverinit value but no driverinit mode",
                p.name
            )));
        }
        v.check(&p.name, p.ty)?;
    }
    Ok(())
}

impl Objects {
    pub(crate) fn add_param(&mut self, p: Param) -> Result<()> {
        check_param(&p)?;
        if self.params.contains_key(&p.id) {
            return Err(Error::exists(format!("param id {}", p.id)));
        }
        if self.params.values().any(|x| x.desc.name == p.name) {
            return Err(Error::exists(format!("param {:?}", p.name)));
        }
        self.params.insert(
            p.id,
            ParamItem {
                driverinit: p.driverinit_default.clone(),
                driverinit_pending: None,
                desc: p,
            },
        );
        Ok(())
    }

    fn param_by_name(&self, name: &str) -> Result<(u32, &ParamItem)> {
        self.params
            .iter()
            .find(|(_, p)| p.desc.name == name)
            .map(|(id, p)| (*id, p))
            .ok_or_else(|| Error::not_found(format!("param {name:?}")))
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    fn notify_param(&self, id: u32, command: Command) {
        if let Some(v) = self
            .st
            .objs
            .params
            .get(&id)
            .and_then(ParamItem::notify_view)
        {
            self.notify(command, self.dev_key(), EventBody::Param(v));
        }
    }

    /// Adds a param after registration (notifies `param new`).
    pub fn param_add(&mut self, p: Param) -> Result<()> {
        let id = p.id;
        self.st.objs.add_param(p)?;
        self.notify_param(id, Command::New);
        Ok(())
    }

    /// Removes a param (notifies `param del`).
    pub fn param_remove(&mut self, name: &str) -> Result<()> {
        let (id, _) = self.st.objs.param_by_name(name)?;
        self.notify_param(id, Command::Del);
        self.st.objs.params.remove(&id);
        Ok(())
    }

    /// The current driverinit value, which the driver applies at init and
    /// on reload (`devl_param_driverinit_value_get`).
    pub fn param_driverinit_get(&self, name: &str) -> Result<ParamValue> {
        let (_, p) = self.st.objs.param_by_name(name)?;
        if !p.desc.cmodes.contains(Cmodes::DRIVERINIT) {
            return Err(Error::not_supported(format!(
                "param {name:?} has no driverinit mode"
            )));
        }
        p.driverinit
            .clone()
            .ok_or_else(|| Error::not_found(format!("param {name:?} has no driverinit value")))
    }

    /// Sets the current driverinit value from the driver
    /// (`devl_param_driverinit_value_set`; notifies `param new`).
    pub fn param_driverinit_set(&mut self, name: &str, value: ParamValue) -> Result<()> {
        let (id, p) = self.st.objs.param_by_name(name)?;
        if !p.desc.cmodes.contains(Cmodes::DRIVERINIT) {
            return Err(Error::not_supported(format!(
                "param {name:?} has no driverinit mode"
            )));
        }
        value.check(name, p.desc.ty)?;
        if let Some(p) = self.st.objs.params.get_mut(&id) {
            p.driverinit = Some(value);
        }
        self.notify_param(id, Command::New);
        Ok(())
    }

    /// Tells listeners a runtime value changed behind the user's back
    /// (`devl_param_value_changed`; notifies `param new`).
    pub fn param_value_changed(&mut self, name: &str) -> Result<()> {
        let (id, _) = self.st.objs.param_by_name(name)?;
        self.notify_param(id, Command::New);
        Ok(())
    }

    /// `devlink dev param show`: every param by id, skipping those the
    /// driver answers "not supported" for.
    pub fn param_show(&mut self) -> Result<Vec<ParamView>> {
        let names: Vec<String> = self
            .st
            .objs
            .params
            .values()
            .map(|p| p.desc.name.to_string())
            .collect();
        // As in the kernel's dump, a param whose value the driver cannot
        // read right now ("not supported") is left out rather than failing
        // the whole listing.
        let mut out = Vec::with_capacity(names.len());
        for n in &names {
            match self.param_get(n) {
                Ok(v) => out.push(v),
                Err(Error::NotSupported(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `devlink dev param show DEV name NAME`: one value per supported mode;
    /// runtime and permanent values are read from the driver, driverinit
    /// shows the pending value if one is set.
    pub fn param_get(&mut self, name: &str) -> Result<ParamView> {
        let (id, p) = self.st.objs.param_by_name(name)?;
        let (cmodes, ty, kind) = (p.desc.cmodes, p.desc.ty, p.kind());
        let mut values = Vec::new();
        for cmode in Cmode::ALL {
            if !cmodes.contains(cmode.bit()) {
                continue;
            }
            let default = self.param_default(id, name, cmode, ty)?;
            let value = if cmode == Cmode::Driverinit {
                let p = self
                    .st
                    .objs
                    .params
                    .get(&id)
                    .ok_or_else(|| Error::not_found(format!("param {name:?}")))?;
                match p
                    .driverinit_pending
                    .clone()
                    .or_else(|| p.driverinit.clone())
                {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                let ops = self.ops_for(Capabilities::empty(), "param_get")?;
                let v = ops.param_get(self, id, cmode)?;
                v.check(name, ty)?;
                v
            };
            values.push(ParamValueView {
                cmode,
                value,
                default,
                name: name.to_string(),
            });
        }
        Ok(ParamView {
            name: name.to_string(),
            kind,
            values,
        })
    }

    /// The default of a param in `cmode`: the driver's `param_get_default`
    /// (as the kernel's `get_default`; the driverinit value a param was
    /// registered with is its initial value, not a default).
    fn param_default(
        &mut self,
        id: u32,
        name: &str,
        cmode: Cmode,
        ty: ParamType,
    ) -> Result<Option<ParamValue>> {
        let ops = self.ops_for(Capabilities::empty(), "param_get_default")?;
        match ops.param_get_default(self, id, cmode) {
            Ok(v) => {
                v.check(name, ty)?;
                Ok(Some(v))
            }
            Err(Error::NotSupported(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `devlink dev param set DEV name NAME default cmode C`: sets the
    /// param's default ([`Self::param_get`] shows it), as
    /// [`Self::param_set`] would; a param without one is refused (not
    /// supported, as the kernel without `reset_default`).
    pub fn param_set_default(&mut self, name: &str, cmode: Cmode) -> Result<()> {
        let (id, p) = self.st.objs.param_by_name(name)?;
        if !p.desc.cmodes.contains(cmode.bit()) {
            return Err(Error::not_supported(format!(
                "param {name:?} does not support cmode {cmode:?}"
            )));
        }
        let ty = p.desc.ty;
        let value = self.param_default(id, name, cmode, ty)?.ok_or_else(|| {
            Error::not_supported(format!("param {name:?} has no default in cmode {cmode:?}"))
        })?;
        self.param_set(name, cmode, value)
    }

    /// `devlink dev param set DEV name NAME value V cmode C`: type and size
    /// checked, the driver's `param_validate` consulted, then a driverinit
    /// value is stored as pending (applied at the next `driver_reinit`
    /// reload) and the others go to the driver. Notifies `param new`.
    pub fn param_set(&mut self, name: &str, cmode: Cmode, value: ParamValue) -> Result<()> {
        let (id, p) = self.st.objs.param_by_name(name)?;
        value.check(name, p.desc.ty)?;
        if !p.desc.cmodes.contains(cmode.bit()) {
            return Err(Error::not_supported(format!(
                "param {name:?} does not support cmode {cmode:?}"
            )));
        }
        let ops = self.ops_for(Capabilities::empty(), "param_set")?;
        ops.param_validate(self, id, &value)?;
        if cmode == Cmode::Driverinit {
            let p = self
                .st
                .objs
                .params
                .get_mut(&id)
                .ok_or_else(|| Error::not_found(format!("param {name:?}")))?;
            p.driverinit_pending = Some(value);
        } else {
            // Re-checked: `param_validate` may have unregistered the instance.
            let ops = self.ops_for(Capabilities::empty(), "param_set")?;
            ops.param_set(self, id, cmode, &value)?;
        }
        // The notification carries every mode's value, as the kernel's does;
        // if the driver cannot read them back, the stored ones are sent.
        match self.param_get(name) {
            Ok(v) => self.notify(Command::New, self.dev_key(), EventBody::Param(v)),
            Err(_) => self.notify_param(id, Command::New),
        }
        Ok(())
    }
}
