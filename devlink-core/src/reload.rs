//! Reload (reference §8, net/devlink/dev.c `devlink_reload`): down →
//! promote driverinit params → leak check → up, with the actions the driver
//! actually performed, per-(action, limit) statistics and `reload_failed`.

use crate::error::{Error, Result};
use crate::instance::{DevStatsView, InstanceGuard};
use crate::json::OrderedMap;
use crate::ops::Capabilities;

/// `devlink_reload_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReloadAction {
    /// Re-instantiate driver entities; applies driverinit params.
    DriverReinit = 1,
    /// Activate the stored firmware image (may reset).
    FwActivate = 2,
}

impl ReloadAction {
    /// The name iproute2 prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadAction::DriverReinit => "driver_reinit",
            ReloadAction::FwActivate => "fw_activate",
        }
    }
    fn bit(self) -> ReloadActions {
        ReloadActions::from_bits_truncate(1 << (self as u32))
    }
    const ALL: [ReloadAction; 2] = [ReloadAction::DriverReinit, ReloadAction::FwActivate];
}

/// `devlink_reload_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReloadLimit {
    /// No constraint.
    Unspec = 0,
    /// No reset, no downtime, no link flap, no configuration loss.
    NoReset = 1,
}

impl ReloadLimit {
    /// The name iproute2 prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadLimit::Unspec => "unspecified",
            ReloadLimit::NoReset => "no_reset",
        }
    }
    fn bit(self) -> ReloadLimits {
        ReloadLimits::from_bits_truncate(1 << (self as u32))
    }
    const ALL: [ReloadLimit; 2] = [ReloadLimit::Unspec, ReloadLimit::NoReset];
}

bitflags::bitflags! {
    /// A set of reload actions (bit = action value, as in the uAPI).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ReloadActions: u32 {
        /// [`ReloadAction::DriverReinit`].
        const DRIVER_REINIT = 1 << 1;
        /// [`ReloadAction::FwActivate`].
        const FW_ACTIVATE = 1 << 2;
    }
}

bitflags::bitflags! {
    /// A set of reload limits other than "unspecified", which is always
    /// allowed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ReloadLimits: u32 {
        /// [`ReloadLimit::NoReset`].
        const NO_RESET = 1 << 1;
    }
}

/// The reload actions and limits a driver supports (`ops->reload_actions`,
/// `ops->reload_limits`), checked at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReloadCaps {
    /// Supported actions.
    pub actions: ReloadActions,
    /// Supported limits.
    pub limits: ReloadLimits,
}

impl ReloadCaps {
    /// Mirrors `devlink_reload_actions_valid`: without the reload ops both
    /// sets are empty; with them there is at least one action; and
    /// `driver_reinit` + `no_reset` cannot be the only pair.
    pub(crate) fn validate(&self, caps: Capabilities) -> Result<()> {
        if !caps.contains(Capabilities::RELOAD) {
            if !self.actions.is_empty() || !self.limits.is_empty() {
                return Err(Error::invalid(
                    "reload actions or limits without Capabilities::RELOAD",
                ));
            }
            return Ok(());
        }
        if self.actions.is_empty() {
            return Err(Error::invalid(
                "Capabilities::RELOAD needs at least one reload action",
            ));
        }
        if self.actions == ReloadActions::DRIVER_REINIT && self.limits == ReloadLimits::NO_RESET {
            return Err(Error::invalid(
                "driver_reinit with only the no_reset limit is not a valid combination",
            ));
        }
        Ok(())
    }

    fn supports(&self, action: ReloadAction, limit: ReloadLimit) -> bool {
        self.actions.contains(action.bit())
            && (limit == ReloadLimit::Unspec || self.limits.contains(limit.bit()))
    }
}

fn valid_combination(action: ReloadAction, limit: ReloadLimit) -> bool {
    !(action == ReloadAction::DriverReinit && limit == ReloadLimit::NoReset)
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ReloadState {
    pub(crate) failed: bool,
    local: [[u32; 2]; 3],
    remote: [[u32; 2]; 3],
}

impl ReloadState {
    pub(crate) fn stats_view(&self, caps: ReloadCaps) -> DevStatsView {
        let mut reload = Vec::new();
        let mut remote = Vec::new();
        for a in ReloadAction::ALL {
            let mut l = Vec::new();
            let mut r = Vec::new();
            for lim in ReloadLimit::ALL {
                if !valid_combination(a, lim) {
                    continue;
                }
                if caps.supports(a, lim) {
                    l.push((
                        lim.as_str().to_string(),
                        self.local[a as usize][lim as usize],
                    ));
                }
                r.push((
                    lim.as_str().to_string(),
                    self.remote[a as usize][lim as usize],
                ));
            }
            if !l.is_empty() {
                reload.push((a.as_str().to_string(), OrderedMap(l)));
            }
            remote.push((a.as_str().to_string(), OrderedMap(r)));
        }
        DevStatsView {
            reload: OrderedMap(reload),
            remote_reload: OrderedMap(remote),
        }
    }

    /// Counts performed actions: the limit applies to every action done.
    fn count(table: &mut [[u32; 2]; 3], limit: ReloadLimit, performed: ReloadActions) {
        for a in ReloadAction::ALL {
            if performed.contains(a.bit()) {
                let c = &mut table[a as usize][limit as usize];
                *c = c.saturating_add(1);
            }
        }
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    /// `devlink dev reload DEV [action A] [limit L]` (action defaults to
    /// `driver_reinit`). Returns the actions performed.
    pub fn reload(
        &mut self,
        action: Option<ReloadAction>,
        limit: Option<ReloadLimit>,
    ) -> Result<ReloadActions> {
        let ops = self.ops_for(Capabilities::RELOAD, "reload")?;
        let action = action.unwrap_or(ReloadAction::DriverReinit);
        let limit = limit.unwrap_or(ReloadLimit::Unspec);
        let caps = self.inst.reload_caps;
        if !caps.actions.contains(action.bit()) {
            return Err(Error::not_supported(format!(
                "reload action {}",
                action.as_str()
            )));
        }
        if limit != ReloadLimit::Unspec && !caps.limits.contains(limit.bit()) {
            return Err(Error::not_supported(format!(
                "reload limit {}",
                limit.as_str()
            )));
        }
        if !valid_combination(action, limit) {
            return Err(Error::invalid(format!(
                "reload action {} with limit {} is not a valid combination",
                action.as_str(),
                limit.as_str()
            )));
        }
        self.st.in_reload = true;
        let res = self.reload_steps(ops, action, limit);
        self.st.in_reload = false;
        res
    }

    fn reload_steps(
        &mut self,
        ops: &'static dyn crate::ops::DevlinkOps<T>,
        action: ReloadAction,
        limit: ReloadLimit,
    ) -> Result<ReloadActions> {
        ops.reload_down(self, action, limit)?;
        if action == ReloadAction::DriverReinit {
            for p in self.st.objs.params.values_mut() {
                p.promote();
            }
            let o = &self.st.objs;
            let leftovers = [
                ("ports", o.ports.len()),
                ("trap policers", o.policers.len()),
                ("trap groups", o.groups.len()),
                ("traps", o.traps.len()),
            ];
            for (what, n) in leftovers {
                if n != 0 {
                    tracing::warn!(dev = %self.inst.handle, what, n, "reload_down left objects that driver_reinit must re-create");
                }
            }
        }
        // The instance may have been unregistered from inside reload_down.
        let ops = self.ops_for(Capabilities::RELOAD, "reload")?;
        let res = ops.reload_up(self, action, limit);
        let failed = res.is_err();
        if self.st.objs.reload.failed != failed {
            self.st.objs.reload.failed = failed;
            self.notify_dev();
        }
        let performed = res?;
        if !performed.contains(action.bit()) {
            tracing::warn!(dev = %self.inst.handle, action = action.as_str(), ?performed, "driver did not perform the requested reload action");
        }
        ReloadState::count(&mut self.st.objs.reload.local, limit, performed);
        self.notify_dev();
        Ok(performed)
    }

    /// Records actions someone else caused, e.g. firmware activated from
    /// another host (`devlink_remote_reload_actions_performed`).
    pub fn reload_remote_performed(&mut self, limit: ReloadLimit, performed: ReloadActions) {
        ReloadState::count(&mut self.st.objs.reload.remote, limit, performed);
        self.notify_dev();
    }

    /// Whether the last reload failed.
    pub fn reload_failed(&self) -> bool {
        self.st.objs.reload.failed
    }
}

/// `{"reload":{"reload_actions_performed":[...]}}`, the reply of
/// `devlink dev reload -j`.
pub fn reload_reply_json(performed: ReloadActions) -> String {
    let names: Vec<&str> = ReloadAction::ALL
        .iter()
        .filter(|a| performed.contains(a.bit()))
        .map(|a| a.as_str())
        .collect();
    let v = OrderedMap(vec![(
        "reload".to_string(),
        OrderedMap(vec![("reload_actions_performed".to_string(), names)]),
    )]);
    crate::json::to_string(&v)
}
