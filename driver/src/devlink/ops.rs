//! [`CxuOps`]: the driver's static devlink ops. Every op runs under the
//! instance lock with the instance registered, and reaches firmware through
//! ACCESS_REG; what it may do follows the caps: set before registration and
//! again after `fw_activate` (new firmware may have other caps).

use devlink_core::{
    Cmode, DevlinkOps, Error, FlashRequest, Fmsg, InfoBuilder, InstanceGuard, ParamValue,
    ReloadAction, ReloadActions, ReloadLimit, Result, TrapAction, TrapGroupId, TrapId,
    VersionGroup,
};

use super::state::param_id;
use super::{catalog, flash, health, register, trap_hw, Cxu};

/// The ops (a unit value in read-only memory).
pub struct CxuOps;

/// The driver's name, as `dev info` reports it.
pub const DRIVER_NAME: &str = "cxu";

impl DevlinkOps<Cxu> for CxuOps {
    fn driver_name(&self) -> &'static str {
        DRIVER_NAME
    }

    fn trap_action_set(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        trap: TrapId,
        action: TrapAction,
    ) -> Result<()> {
        Ok(trap_hw::set_trap(&**g.driver().backend(), trap, action)?)
    }

    fn trap_group_set(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        group: TrapGroupId,
        policer: Option<u32>,
    ) -> Result<()> {
        let hw = catalog::group_hw(group).ok_or_else(|| {
            Error::NotFound(format!("trap group id {group} has no hardware group"))
        })?;
        Ok(trap_hw::set_group(&**g.driver().backend(), hw, policer)?)
    }

    fn trap_policer_set(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        policer: u32,
        rate: u64,
        burst: u64,
    ) -> Result<()> {
        Ok(trap_hw::set_policer(
            &**g.driver().backend(),
            policer,
            rate,
            burst,
        )?)
    }

    fn trap_policer_counter_get(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        policer: u32,
    ) -> Result<u64> {
        Ok(trap_hw::get_policer(&**g.driver().backend(), policer)?.violate_count)
    }

    fn info_get(&self, g: &mut InstanceGuard<'_, Cxu>, info: &mut InfoBuilder) -> Result<()> {
        let d = g.driver();
        let b = &**d.backend();
        if let Some(sn) = &d.caps().serial_number {
            info.serial_number(sn.clone());
        }
        info.version(VersionGroup::Fixed, "fw.psid", d.caps().psid.clone());
        let (running, stored) = match flash::versions(b) {
            Ok(v) => v,
            // No flash registers: the init segment's revision is all there is.
            Err(e) => {
                tracing::debug!(error = %e, "MCQI version query failed; using the init segment");
                let (ma, mi, sub) = d
                    .caps()
                    .iseg_fw_rev
                    .ok_or_else(|| Error::Busy(format!("no firmware version: {e}")))?;
                (format!("{ma}.{mi}.{sub:04}"), None)
            }
        };
        info.version(VersionGroup::Running, "fw.version", running.clone());
        info.version(VersionGroup::Running, "fw", running.clone());
        let stored = stored.unwrap_or(running);
        info.version(VersionGroup::Stored, "fw.version", stored.clone());
        info.version(VersionGroup::Stored, "fw", stored);
        Ok(())
    }

    fn flash_update(&self, g: &mut InstanceGuard<'_, Cxu>, req: &FlashRequest) -> Result<()> {
        Ok(flash::update(g, req)?)
    }

    fn reload_down(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        _action: ReloadAction,
        _limit: ReloadLimit,
    ) -> Result<()> {
        teardown(g)
    }

    fn reload_up(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        action: ReloadAction,
        _limit: ReloadLimit,
    ) -> Result<ReloadActions> {
        let mut done = ReloadActions::DRIVER_REINIT;
        if action == ReloadAction::FwActivate {
            flash::activate(&**g.driver().backend())?;
            done |= ReloadActions::FW_ACTIVATE;
            // New firmware may report other caps: rebuild from what it says,
            // capability bits and the policer param included.
            let caps = super::DeviceCaps::query(&**g.driver().backend())?;
            follow_caps(g, &caps)?;
            g.driver_mut().caps = caps;
        }
        bring_up(g)?;
        Ok(done)
    }

    fn param_get(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        id: u32,
        _cmode: Cmode,
    ) -> Result<ParamValue> {
        match id {
            param_id::COUNTERS_CLEAR_ON_READ => {
                Ok(ParamValue::Bool(g.driver().counters_clear_on_read))
            }
            _ => Err(Error::NotFound(format!("param id {id}"))),
        }
    }

    fn param_set(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        id: u32,
        _cmode: Cmode,
        value: &ParamValue,
    ) -> Result<()> {
        match (id, value) {
            (param_id::COUNTERS_CLEAR_ON_READ, ParamValue::Bool(v)) => {
                g.driver_mut().counters_clear_on_read = *v;
                Ok(())
            }
            _ => Err(Error::Invalid(format!("param id {id} with {value:?}"))),
        }
    }

    fn param_get_default(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        id: u32,
        _cmode: Cmode,
    ) -> Result<ParamValue> {
        match id {
            param_id::TRAP_POLICERS => Ok(ParamValue::U32(super::register::default_policers(
                g.driver().caps(),
            ))),
            // Counters keep counting across reads until asked otherwise.
            param_id::COUNTERS_CLEAR_ON_READ => Ok(ParamValue::Bool(false)),
            _ => Err(Error::NotSupported(format!("param id {id} has no default"))),
        }
    }

    fn param_validate(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        id: u32,
        value: &ParamValue,
    ) -> Result<()> {
        if let (param_id::TRAP_POLICERS, ParamValue::U32(n)) = (id, value) {
            let max = g.driver().caps().max_trap_policers;
            if *n > max {
                return Err(Error::Invalid(format!(
                    "trap_policers {n}: the device has {max}"
                )));
            }
        }
        Ok(())
    }

    fn health_recover(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        reporter: &str,
        _port: Option<u32>,
    ) -> Result<()> {
        health::recover(g, reporter)
    }

    fn health_dump(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        reporter: &str,
        _port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        health::dump(g, reporter, fmsg)
    }

    fn health_diagnose(
        &self,
        g: &mut InstanceGuard<'_, Cxu>,
        reporter: &str,
        _port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        health::diagnose(g, reporter, fmsg)
    }
}

/// `reload_down`: removes what does not survive a reinit (traps, groups,
/// policers, ports), in the reverse of their order of registration.
fn teardown(g: &mut InstanceGuard<'_, Cxu>) -> Result<()> {
    let detail = devlink_core::Detail::default();
    for t in none_if_unsupported(g.trap_show(detail))? {
        g.trap_remove(&t.name)?;
    }
    for grp in none_if_unsupported(g.trap_group_show(detail))? {
        g.trap_group_remove(&grp.name)?;
    }
    for p in none_if_unsupported(g.trap_policer_show(detail))? {
        g.trap_policer_remove(p.policer)?;
    }
    let ports: Vec<u32> = g.port_show().into_iter().map(|(i, _)| i).collect();
    for i in ports {
        g.port_remove(i)?;
    }
    g.driver_mut().trap_reporters.clear();
    Ok(())
}

/// A `show` of an object kind the instance has none of says "not
/// supported": for teardown that is an empty list. It happens on a device
/// without trap caps, and after a failed `reload_up`, which must not make
/// every later reload fail (the user retries to recover, as in the kernel).
fn none_if_unsupported<T>(r: Result<Vec<T>>) -> Result<Vec<T>> {
    match r {
        Err(Error::NotSupported(_)) => Ok(Vec::new()),
        r => r,
    }
}

/// After `fw_activate`: the capability bits of the new firmware (bits, not
/// ops: the table stays static) and the `trap_policers` param, present
/// exactly while the device has policers. `reload_down` already removed
/// every trap object, so any bits may go.
fn follow_caps(g: &mut InstanceGuard<'_, Cxu>, caps: &super::DeviceCaps) -> Result<()> {
    let bits = register::capabilities(caps);
    if bits != g.capabilities() {
        tracing::info!(old = ?g.capabilities(), new = ?bits, "new firmware changes the devlink capabilities");
    }
    g.set_capabilities(bits)?;
    let has_param = g.param_driverinit_get("trap_policers").is_ok();
    let policers = bits.contains(devlink_core::Capabilities::TRAP_POLICER_SET);
    if policers && !has_param {
        g.param_add(register::trap_policers_param(register::default_policers(
            caps,
        )))?;
    } else if !policers && has_param {
        g.param_remove("trap_policers")?;
    }
    Ok(())
}

/// `reload_up`: the objects again, from the caps and the (promoted)
/// driverinit params, programmed into hardware first.
fn bring_up(g: &mut InstanceGuard<'_, Cxu>) -> Result<()> {
    let policers = match g.param_driverinit_get("trap_policers") {
        Ok(ParamValue::U32(n)) => n,
        _ => 0,
    };
    let objs = register::objects(g.driver().caps(), policers);
    register::program(&**g.driver().backend(), &objs)?;
    g.driver_mut().trap_policers = objs.policers.len() as u32;
    for p in objs.ports {
        g.port_add(p)?;
    }
    for p in objs.policers {
        g.trap_policer_add(p)?;
    }
    for grp in objs.groups {
        g.trap_group_add(grp)?;
    }
    let mut reporters = Vec::new();
    for t in objs.traps {
        reporters.push(g.trap_add(t)?);
    }
    g.driver_mut().trap_reporters = reporters;
    Ok(())
}
