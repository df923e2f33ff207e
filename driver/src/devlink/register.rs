//! Bucket one: from firmware caps to a devlink instance, last in probe.
//!
//! The caps decide what exists: a device without the trap cap bit gets no
//! trap groups and no traps; without the policer bit, no policers; the
//! number of groups and policers never exceeds what firmware reports. The
//! hardware is programmed to each object's initial state (policers, then
//! the groups that use them, then the traps in them: firmware checks that
//! order) before the object is added, so what devlink shows is what the
//! device does.

use std::sync::Arc;

use devlink_core::{
    Builder, Capabilities, Cmodes, Handle, Hub, Param, ParamType, ParamValue, Port, ReloadActions,
    ReloadCaps, ReloadLimits, Trap, TrapGroup, TrapPolicer,
};

use super::state::param_id;
use super::{catalog, health, trap_hw, Backend, CtlError, Cxu, CxuOps, DeviceCaps};

static OPS: CxuOps = CxuOps;

/// Choices the caller makes when building.
#[derive(Clone)]
pub struct BuildOptions {
    /// The instance's name.
    pub handle: Handle,
    /// A hub shared with monitors that subscribed before registration.
    pub hub: Option<Arc<Hub>>,
}

/// The objects of one generation (registration, or a `driver_reinit`).
pub(crate) struct Objects {
    pub(crate) ports: Vec<Port>,
    pub(crate) policers: Vec<TrapPolicer>,
    pub(crate) groups: Vec<TrapGroup>,
    pub(crate) traps: Vec<Trap>,
}

/// What the caps allow, with `policers` policers (clamped to the device's).
pub(crate) fn objects(caps: &DeviceCaps, policers: u32) -> Objects {
    let ports = (1..=caps.num_ports).map(|n| Port::physical(n, n)).collect();
    let n_groups = group_count(caps);
    let n_pol = if n_groups > 0 {
        policers.min(caps.max_trap_policers)
    } else {
        0
    };
    let (rate, burst) = trap_hw::DEFAULT_POLICER;
    let policers = (1..=n_pol)
        .map(|id| TrapPolicer::new(id, rate, burst, trap_hw::RATE_RANGE, trap_hw::BURST_RANGE))
        .collect();
    let groups = (0..n_groups)
        .filter_map(|i| {
            let id = catalog::group_id(i)?;
            // Group i uses policer i+1 while there are enough, else none.
            let pol = u32::try_from(i + 1)
                .ok()
                .filter(|p| *p <= n_pol)
                .unwrap_or(0);
            Some(TrapGroup::generic(id, pol))
        })
        .collect();
    let traps = (0..catalog::TRAPS.len())
        .filter(|&i| catalog::TRAPS[i].group < n_groups)
        .filter_map(catalog::trap)
        .collect();
    Objects {
        ports,
        policers,
        groups,
        traps,
    }
}

/// Trap groups the device gets: the catalog's, up to what firmware has.
fn group_count(caps: &DeviceCaps) -> usize {
    if caps.traps {
        catalog::GROUPS.len().min(caps.max_trap_groups as usize)
    } else {
        0
    }
}

/// Writes every object's initial state to the device, in firmware's order.
pub(crate) fn program(b: &dyn Backend, o: &Objects) -> Result<(), CtlError> {
    for p in &o.policers {
        trap_hw::set_policer(b, p.id, p.init_rate, p.init_burst)?;
    }
    for g in &o.groups {
        let hw = catalog::group_hw(g.id)
            .ok_or_else(|| CtlError::BadDeviceValue(format!("group {}", g.name)))?;
        trap_hw::set_group(b, hw, (g.init_policer_id != 0).then_some(g.init_policer_id))?;
    }
    for t in &o.traps {
        trap_hw::set_trap(b, t.id, t.init_action)?;
    }
    Ok(())
}

/// The capability bits this device earns.
pub fn capabilities(caps: &DeviceCaps) -> Capabilities {
    let mut c = Capabilities::INFO_GET | Capabilities::FLASH_UPDATE | Capabilities::RELOAD;
    if caps.traps && caps.max_trap_groups > 0 {
        c |= Capabilities::TRAP_ACTION_SET;
        if caps.trap_policers && caps.max_trap_policers > 0 {
            c |= Capabilities::TRAP_GROUP_SET
                | Capabilities::TRAP_POLICER_SET
                | Capabilities::TRAP_POLICER_COUNTER;
        }
    }
    c
}

/// The `trap_policers` param's default: one policer per group (the
/// driverinit param changes it), as many as the device has.
pub(crate) fn default_policers(caps: &DeviceCaps) -> u32 {
    caps.max_trap_policers
        .min(u32::try_from(group_count(caps)).unwrap_or(u32::MAX))
}

/// The driverinit param `trap_policers`, registered while the device has
/// policers.
pub(crate) fn trap_policers_param(default: u32) -> Param {
    Param::driver(
        param_id::TRAP_POLICERS,
        "trap_policers",
        ParamType::U32,
        Cmodes::DRIVERINIT,
    )
    .driverinit_default(ParamValue::U32(default))
}

/// Queries the caps, programs the defaults and fills a builder. The caller
/// adds anything of its own and calls `register` last.
pub fn build(backend: Arc<dyn Backend>, opts: BuildOptions) -> Result<Builder<Cxu>, CtlError> {
    let caps = DeviceCaps::query(&*backend)?;
    tracing::info!(dev = %opts.handle, ?caps, "building devlink instance from caps");
    let default_policers = default_policers(&caps);
    let objs = objects(&caps, default_policers);
    program(&*backend, &objs)?;
    let reload = ReloadCaps {
        actions: ReloadActions::DRIVER_REINIT | ReloadActions::FW_ACTIVATE,
        limits: ReloadLimits::empty(),
    };
    let state = Cxu {
        backend,
        trap_policers: objs.policers.len() as u32,
        counters_clear_on_read: false,
        trap_reporters: Vec::new(),
        caps: caps.clone(),
    };
    let mut b = Builder::new(opts.handle, &OPS, capabilities(&caps), reload, state)?;
    if let Some(hub) = opts.hub {
        b.hub(hub);
    }
    for p in objs.ports {
        b.port(p)?;
    }
    b.trap_policers(objs.policers)?;
    b.trap_groups(objs.groups)?;
    let reporters = b.traps(objs.traps)?;
    b.driver_mut().trap_reporters = reporters;
    if capabilities(&caps).contains(Capabilities::TRAP_POLICER_SET) {
        b.param(trap_policers_param(default_policers))?;
    }
    b.param(Param::driver(
        param_id::COUNTERS_CLEAR_ON_READ,
        "counters_clear_on_read",
        ParamType::Bool,
        Cmodes::RUNTIME,
    ))?;
    for r in health::reporters() {
        b.health_reporter(r)?;
    }
    Ok(b)
}
