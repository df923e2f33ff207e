//! Unit tests. `TestOps` is a driver that implements every op, records each
//! call in its private state, and can be told to fail.

mod health;
mod json_shapes;
mod lifetime;
mod notify;
mod params;
mod ports;
mod reload_info_flash;
mod traps;
mod validation;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::*;

/// Shared log for the concurrency test: every op takes a ticket from
/// `clock` and stores it.
#[derive(Default)]
pub(crate) struct OpLog {
    pub(crate) clock: AtomicU64,
    pub(crate) tickets: Mutex<Vec<u64>>,
}

#[derive(Default)]
pub(crate) struct Dev {
    pub(crate) calls: Vec<String>,
    pub(crate) fail_next: Option<Error>,
    /// Fail the first call whose description starts with this prefix.
    pub(crate) fail_when: Option<(String, Error)>,
    pub(crate) runtime: BTreeMap<u32, ParamValue>,
    pub(crate) trap_drops: u64,
    pub(crate) policer_drops: u64,
    pub(crate) recover_fails: bool,
    pub(crate) performed: Option<ReloadActions>,
    pub(crate) seen_at_reload_up: Option<ParamValue>,
    pub(crate) remove_port_on_reload: bool,
    /// New firmware's capabilities: `reload_down` removes the
    /// source_mac_is_multicast trap and its group, `reload_up` sets these
    /// bits and adds them back if allowed.
    pub(crate) caps_at_reload_up: Option<Capabilities>,
    pub(crate) unregister_in_trap_action_set: bool,
    pub(crate) dumps: u32,
    pub(crate) log: Option<Arc<OpLog>>,
}

pub(crate) struct TestOps;
pub(crate) static OPS: TestOps = TestOps;

fn enter(g: &mut InstanceGuard<'_, Dev>, name: &str) -> Result<()> {
    let d = g.driver_mut();
    d.calls.push(name.to_string());
    if let Some(log) = &d.log {
        let t = log.clock.fetch_add(1, Ordering::SeqCst);
        log.tickets.lock().unwrap().push(t);
    }
    if d.fail_when
        .as_ref()
        .is_some_and(|(p, _)| name.starts_with(p.as_str()))
    {
        if let Some((_, e)) = d.fail_when.take() {
            return Err(e);
        }
    }
    match d.fail_next.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl DevlinkOps<Dev> for TestOps {
    fn driver_name(&self) -> &'static str {
        "cxu_test"
    }
    fn trap_action_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        trap: TrapId,
        action: TrapAction,
    ) -> Result<()> {
        enter(g, &format!("trap_action_set {trap} {}", action.as_str()))?;
        if g.driver().unregister_in_trap_action_set {
            g.unregister();
        }
        Ok(())
    }
    fn trap_group_action_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        group: TrapGroupId,
        action: TrapAction,
    ) -> Result<()> {
        enter(
            g,
            &format!("trap_group_action_set {group} {}", action.as_str()),
        )
    }
    fn trap_group_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        group: TrapGroupId,
        policer: Option<u32>,
    ) -> Result<()> {
        enter(g, &format!("trap_group_set {group} {policer:?}"))
    }
    fn trap_policer_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        policer: u32,
        rate: u64,
        burst: u64,
    ) -> Result<()> {
        enter(g, &format!("trap_policer_set {policer} {rate} {burst}"))
    }
    fn trap_policer_counter_get(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        policer: u32,
    ) -> Result<u64> {
        enter(g, &format!("trap_policer_counter_get {policer}"))?;
        Ok(g.driver().policer_drops)
    }
    fn trap_drop_counter_get(&self, g: &mut InstanceGuard<'_, Dev>, trap: TrapId) -> Result<u64> {
        enter(g, &format!("trap_drop_counter_get {trap}"))?;
        Ok(g.driver().trap_drops)
    }
    fn port_type_set(&self, g: &mut InstanceGuard<'_, Dev>, port: u32, ty: PortType) -> Result<()> {
        enter(g, &format!("port_type_set {port} {ty:?}"))
    }
    fn port_split(&self, g: &mut InstanceGuard<'_, Dev>, port: u32, count: u32) -> Result<()> {
        enter(g, &format!("port_split {port} {count}"))?;
        let attrs = g.port_attrs(port)?;
        g.port_remove(port)?;
        for i in 0..count {
            g.port_add(Port::split(
                port * 100 + i,
                attrs.number,
                i,
                attrs.lanes / count,
            ))?;
        }
        Ok(())
    }
    fn port_unsplit(&self, g: &mut InstanceGuard<'_, Dev>, port: u32) -> Result<()> {
        enter(g, &format!("port_unsplit {port}"))
    }
    fn port_fn_hw_addr_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        port: u32,
        hw_addr: &[u8],
    ) -> Result<()> {
        enter(
            g,
            &format!(
                "port_fn_hw_addr_set {port} {}",
                json::hw_addr_string(hw_addr)
            ),
        )
    }
    fn port_fn_state_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        port: u32,
        state: PortFnState,
    ) -> Result<()> {
        enter(g, &format!("port_fn_state_set {port} {state:?}"))
    }
    fn info_get(&self, g: &mut InstanceGuard<'_, Dev>, info: &mut InfoBuilder) -> Result<()> {
        enter(g, "info_get")?;
        info.serial_number("SN123")
            .version(VersionGroup::Fixed, "board.id", "MT_0001")
            .component_version(VersionGroup::Running, "fw", "1.2.3")
            .component_version(VersionGroup::Stored, "fw", "1.2.4");
        Ok(())
    }
    fn flash_update(&self, g: &mut InstanceGuard<'_, Dev>, req: &FlashRequest) -> Result<()> {
        enter(g, &format!("flash_update {}", req.file))?;
        let c = req.component.as_deref();
        g.flash_update_timeout("Preparing to flash", c, 30);
        for done in [0, 50, 100] {
            g.flash_update_status("Flashing", c, done, 100);
        }
        if req.file == "bad.bin" {
            return Err(Error::Invalid("image signature mismatch".into()));
        }
        Ok(())
    }
    fn reload_down(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        action: ReloadAction,
        limit: ReloadLimit,
    ) -> Result<()> {
        enter(
            g,
            &format!("reload_down {} {}", action.as_str(), limit.as_str()),
        )?;
        if g.driver().remove_port_on_reload {
            g.port_remove(1)?;
        }
        if g.driver().caps_at_reload_up.is_some() {
            let _ = g.trap_remove("source_mac_is_multicast");
            let _ = g.trap_group_remove("l2_drops");
        }
        Ok(())
    }
    fn reload_up(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        action: ReloadAction,
        limit: ReloadLimit,
    ) -> Result<ReloadActions> {
        enter(
            g,
            &format!("reload_up {} {}", action.as_str(), limit.as_str()),
        )?;
        g.driver_mut().seen_at_reload_up = g.param_driverinit_get("max_macs").ok();
        if g.driver().remove_port_on_reload {
            g.port_add(Port::physical(1, 0).lanes(4, true))?;
        }
        if let Some(caps) = g.driver().caps_at_reload_up {
            g.set_capabilities(caps)?;
            if caps.contains(Capabilities::TRAP_ACTION_SET) {
                g.trap_group_add(TrapGroup::generic(L2, 0))?;
                g.trap_add(Trap::generic(SMAC_MC, TrapAction::Drop, L2))?;
            }
        }
        Ok(g.driver().performed.unwrap_or(match action {
            ReloadAction::DriverReinit => ReloadActions::DRIVER_REINIT,
            ReloadAction::FwActivate => ReloadActions::FW_ACTIVATE,
        }))
    }
    fn param_get(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        id: u32,
        cmode: Cmode,
    ) -> Result<ParamValue> {
        enter(g, &format!("param_get {id} {cmode:?}"))?;
        g.driver()
            .runtime
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("runtime value of {id}")))
    }
    fn param_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        id: u32,
        cmode: Cmode,
        value: &ParamValue,
    ) -> Result<()> {
        enter(g, &format!("param_set {id} {cmode:?}"))?;
        g.driver_mut().runtime.insert(id, value.clone());
        Ok(())
    }
    fn param_validate(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        id: u32,
        value: &ParamValue,
    ) -> Result<()> {
        g.driver_mut().calls.push(format!("param_validate {id}"));
        if *value == ParamValue::U32(0) {
            return Err(Error::Invalid("max_macs must be at least 1".into()));
        }
        Ok(())
    }
    fn health_recover(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        reporter: &str,
        _port: Option<u32>,
    ) -> Result<()> {
        enter(g, &format!("health_recover {reporter}"))?;
        if g.driver().recover_fails {
            return Err(Error::Busy("firmware still resetting".into()));
        }
        Ok(())
    }
    fn health_dump(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        reporter: &str,
        _port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        enter(g, &format!("health_dump {reporter}"))?;
        g.driver_mut().dumps += 1;
        fmsg.pair("dump_number", FmsgValue::U32(g.driver().dumps));
        Ok(())
    }
    fn health_diagnose(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        reporter: &str,
        _port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        enter(g, &format!("health_diagnose {reporter}"))?;
        fmsg.obj_start("fw")
            .pair("state", FmsgValue::String("running".into()))
            .end();
        if reporter == "broken" {
            fmsg.obj_start("unclosed");
        }
        Ok(())
    }
    fn health_test(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        reporter: &str,
        port: Option<u32>,
    ) -> Result<()> {
        enter(g, &format!("health_test {reporter}"))?;
        g.health_report(reporter, port, "injected by test")
    }
}

pub(crate) fn handle() -> Handle {
    Handle::new("pci", "0000:01:00.0").unwrap()
}

pub(crate) fn full_reload_caps() -> ReloadCaps {
    ReloadCaps {
        actions: ReloadActions::DRIVER_REINIT | ReloadActions::FW_ACTIVATE,
        limits: ReloadLimits::NO_RESET,
    }
}

/// A builder with every capability and a manual clock.
pub(crate) fn builder() -> (Builder<Dev>, ManualClock) {
    builder_with(Capabilities::all())
}

pub(crate) fn builder_with(caps: Capabilities) -> (Builder<Dev>, ManualClock) {
    let rc = if caps.contains(Capabilities::RELOAD) {
        full_reload_caps()
    } else {
        ReloadCaps::default()
    };
    let mut b = Builder::new(handle(), &OPS, caps, rc, Dev::default()).unwrap();
    let clock = ManualClock::new(1_000_000);
    b.clock(Box::new(clock.clone()));
    (b, clock)
}

pub(crate) const L2: TrapGroupId = 0;
pub(crate) const LLDP_GROUP: TrapGroupId = 8;
pub(crate) const SMAC_MC: TrapId = 0;
pub(crate) const VLAN_MISMATCH: TrapId = 1;
pub(crate) const LLDP: TrapId = 31;

/// Policer 1, groups l2_drops (policed) and lldp, traps
/// source_mac_is_multicast, vlan_tag_mismatch (drop) and lldp (control),
/// physical port 1 (4 lanes, splittable), VF port 2 with a function, params
/// max_macs (driverinit, default 32) and fw_load_policy (runtime), reporter
/// fw (recover+dump+diagnose+test), region cr-space.
pub(crate) fn populated() -> (Builder<Dev>, ManualClock, Vec<TrapReporter>) {
    let (mut b, clock) = builder();
    b.trap_policer(TrapPolicer::new(1, 1000, 128, (1, 10_000), (8, 1024)))
        .unwrap();
    b.trap_group(TrapGroup::generic(L2, 1)).unwrap();
    b.trap_group(TrapGroup::generic(LLDP_GROUP, 0)).unwrap();
    let r = b
        .traps([
            Trap::generic(SMAC_MC, TrapAction::Drop, L2).with_metadata(TrapMetadata::IN_PORT),
            Trap::generic(VLAN_MISMATCH, TrapAction::Drop, L2),
            Trap::generic(LLDP, TrapAction::Trap, LLDP_GROUP),
        ])
        .unwrap();
    b.port(Port::physical(1, 0).lanes(4, true)).unwrap();
    b.port(Port::pci_vf(2, 0, 0, 3, false).with_function(PortFunction {
        hw_addr: vec![0; 6],
        state: PortFnState::Inactive,
        opstate: PortFnOpstate::Detached,
    }))
    .unwrap();
    b.param(Param::generic(1, Cmodes::DRIVERINIT).driverinit_default(ParamValue::U32(32)))
        .unwrap();
    b.param(Param::generic(7, Cmodes::RUNTIME)).unwrap();
    b.driver_mut().runtime.insert(7, ParamValue::U8(0));
    b.health_reporter(Reporter::new("fw", ReporterCaps::all()).periods(0, 0))
        .unwrap();
    b.region(Region::new("cr-space", 16, 2)).unwrap();
    (b, clock, r)
}

pub(crate) fn calls(g: &InstanceGuard<'_, Dev>) -> Vec<String> {
    g.driver().calls.clone()
}

/// `(command, object, key)` of each delivery, overflows as ("overflow", n).
pub(crate) fn summary(sub: &Subscription) -> Vec<(String, String, String)> {
    sub.drain()
        .into_iter()
        .map(|d| match d {
            Delivery::Event(e) => (
                serde_json::to_value(e.command)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                e.body.object_name().to_string(),
                e.key.clone(),
            ),
            Delivery::Overflow { lost } => ("overflow".into(), lost.to_string(), String::new()),
        })
        .collect()
}
