//! The driver's operations and the capability bits that gate them.
//!
//! Ops are a trait implemented by a (usually zero-sized) driver type and
//! handed to the core as `&'static dyn DevlinkOps<T>`: the vtable lives in
//! read-only memory and nothing in the core can rewrite it (the kernel
//! rejected a writable per-instance ops copy for that reason, reference §3).
//! What a particular device supports is a [`Capabilities`] set given before
//! registration, which only a reload may change (bits, never the table); an
//! op whose bit is off is answered with [`Error::NotSupported`] and never
//! called.
//!
//! Every op receives the instance guard, so the driver reaches its private
//! state (`guard.priv_mut()`) and may add or remove objects (a port split
//! replaces the port from inside [`DevlinkOps::port_split`]) under the one
//! lock the request already holds.

use crate::error::{Error, Result};
use crate::flash::FlashRequest;
use crate::health::Fmsg;
use crate::info::InfoBuilder;
use crate::instance::InstanceGuard;
use crate::param::{Cmode, ParamValue};
use crate::port::{PortFnState, PortType};
use crate::reload::{ReloadAction, ReloadActions, ReloadLimit};
use crate::trap::{TrapAction, TrapGroupId, TrapId};

bitflags::bitflags! {
    /// What this instance's driver implements. Given at [`crate::Builder::new`],
    /// changed only during a reload ([`crate::InstanceGuard::set_capabilities`]);
    /// the core consults it before every driver call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Capabilities: u32 {
        /// `trap_action_set`; required to register any trap.
        const TRAP_ACTION_SET = 1 << 0;
        /// `trap_group_action_set`: one driver call per group action change
        /// (otherwise the core sets each member trap).
        const TRAP_GROUP_ACTION_SET = 1 << 1;
        /// `trap_group_set`: binding a group to a policer.
        const TRAP_GROUP_SET = 1 << 2;
        /// `trap_policer_set`.
        const TRAP_POLICER_SET = 1 << 3;
        /// `trap_policer_counter_get`: policer drops are reported.
        const TRAP_POLICER_COUNTER = 1 << 4;
        /// `trap_drop_counter_get`: per-trap hardware drops are reported.
        const TRAP_DROP_COUNTER = 1 << 5;
        /// `port_type_set`.
        const PORT_TYPE_SET = 1 << 6;
        /// `port_split`.
        const PORT_SPLIT = 1 << 7;
        /// `port_unsplit`.
        const PORT_UNSPLIT = 1 << 8;
        /// `port_fn_hw_addr_set`.
        const PORT_FN_HW_ADDR_SET = 1 << 9;
        /// `port_fn_state_set`.
        const PORT_FN_STATE_SET = 1 << 10;
        /// `info_get` (without it `info` still reports the driver name).
        const INFO_GET = 1 << 11;
        /// `flash_update`.
        const FLASH_UPDATE = 1 << 12;
        /// `flash_update` honours an overwrite mask.
        const FLASH_OVERWRITE = 1 << 13;
        /// `reload_down` / `reload_up`, with the actions and limits in
        /// [`crate::ReloadCaps`].
        const RELOAD = 1 << 14;
    }
}

/// The driver's side of an instance. Every method has a default that
/// answers "not supported"; implement the ones whose capability bit the
/// driver sets.
///
/// `T` is the driver's private state kept inside the instance (reachable as
/// `g.priv_mut()`). All methods run with the instance lock held and the
/// instance registered.
pub trait DevlinkOps<T>: Sync + 'static {
    /// The driver's name, reported by `info` as `driver`.
    fn driver_name(&self) -> &'static str;

    /// Program a trap's action into hardware ([`Capabilities::TRAP_ACTION_SET`]).
    fn trap_action_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        trap: TrapId,
        action: TrapAction,
    ) -> Result<()> {
        let _ = (g, trap, action);
        Err(Error::not_supported("trap_action_set"))
    }
    /// Program every trap of a group at once ([`Capabilities::TRAP_GROUP_ACTION_SET`]).
    fn trap_group_action_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        group: TrapGroupId,
        action: TrapAction,
    ) -> Result<()> {
        let _ = (g, group, action);
        Err(Error::not_supported("trap_group_action_set"))
    }
    /// Bind a group to a policer, or unbind it with `None` ([`Capabilities::TRAP_GROUP_SET`]).
    fn trap_group_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        group: TrapGroupId,
        policer: Option<u32>,
    ) -> Result<()> {
        let _ = (g, group, policer);
        Err(Error::not_supported("trap_group_set"))
    }
    /// Program a policer's rate (packets/s) and burst (packets)
    /// ([`Capabilities::TRAP_POLICER_SET`]). The core has already checked
    /// both against the policer's limits.
    fn trap_policer_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        policer: u32,
        rate: u64,
        burst: u64,
    ) -> Result<()> {
        let _ = (g, policer, rate, burst);
        Err(Error::not_supported("trap_policer_set"))
    }
    /// Packets a policer dropped ([`Capabilities::TRAP_POLICER_COUNTER`]).
    fn trap_policer_counter_get(&self, g: &mut InstanceGuard<'_, T>, policer: u32) -> Result<u64> {
        let _ = (g, policer);
        Err(Error::not_supported("trap_policer_counter_get"))
    }
    /// Packets the hardware dropped for a trap ([`Capabilities::TRAP_DROP_COUNTER`]).
    fn trap_drop_counter_get(&self, g: &mut InstanceGuard<'_, T>, trap: TrapId) -> Result<u64> {
        let _ = (g, trap);
        Err(Error::not_supported("trap_drop_counter_get"))
    }

    /// Change a port's type ([`Capabilities::PORT_TYPE_SET`]).
    fn port_type_set(&self, g: &mut InstanceGuard<'_, T>, port: u32, ty: PortType) -> Result<()> {
        let _ = (g, port, ty);
        Err(Error::not_supported("port_type_set"))
    }
    /// Split a port into `count` ports ([`Capabilities::PORT_SPLIT`]). The
    /// core has checked the split arithmetic; the driver removes the port and
    /// adds the new ones through `g`.
    fn port_split(&self, g: &mut InstanceGuard<'_, T>, port: u32, count: u32) -> Result<()> {
        let _ = (g, port, count);
        Err(Error::not_supported("port_split"))
    }
    /// Undo a split ([`Capabilities::PORT_UNSPLIT`]).
    fn port_unsplit(&self, g: &mut InstanceGuard<'_, T>, port: u32) -> Result<()> {
        let _ = (g, port);
        Err(Error::not_supported("port_unsplit"))
    }
    /// Set the hardware address of the function behind a port
    /// ([`Capabilities::PORT_FN_HW_ADDR_SET`]).
    fn port_fn_hw_addr_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        port: u32,
        hw_addr: &[u8],
    ) -> Result<()> {
        let _ = (g, port, hw_addr);
        Err(Error::not_supported("port_fn_hw_addr_set"))
    }
    /// Activate or deactivate the function behind a port
    /// ([`Capabilities::PORT_FN_STATE_SET`]).
    fn port_fn_state_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        port: u32,
        state: PortFnState,
    ) -> Result<()> {
        let _ = (g, port, state);
        Err(Error::not_supported("port_fn_state_set"))
    }

    /// Fill serial numbers and versions ([`Capabilities::INFO_GET`]).
    fn info_get(&self, g: &mut InstanceGuard<'_, T>, info: &mut InfoBuilder) -> Result<()> {
        let _ = (g, info);
        Err(Error::not_supported("info_get"))
    }
    /// Write a firmware image ([`Capabilities::FLASH_UPDATE`]). Report
    /// progress with [`InstanceGuard::flash_update_status`] and
    /// [`InstanceGuard::flash_update_timeout`].
    fn flash_update(&self, g: &mut InstanceGuard<'_, T>, req: &FlashRequest) -> Result<()> {
        let _ = (g, req);
        Err(Error::not_supported("flash_update"))
    }

    /// First half of a reload ([`Capabilities::RELOAD`]): refuse with a
    /// reason, or tear down everything that does not survive the action
    /// (ports, traps, groups, policers for `driver_reinit`).
    fn reload_down(
        &self,
        g: &mut InstanceGuard<'_, T>,
        action: ReloadAction,
        limit: ReloadLimit,
    ) -> Result<()> {
        let _ = (g, action, limit);
        Err(Error::not_supported("reload_down"))
    }
    /// Second half of a reload: bring the device back (driverinit params have
    /// been promoted) and say which actions were actually performed.
    fn reload_up(
        &self,
        g: &mut InstanceGuard<'_, T>,
        action: ReloadAction,
        limit: ReloadLimit,
    ) -> Result<ReloadActions> {
        let _ = (g, action, limit);
        Err(Error::not_supported("reload_up"))
    }

    /// Read a runtime or permanent param from the device.
    fn param_get(&self, g: &mut InstanceGuard<'_, T>, id: u32, cmode: Cmode) -> Result<ParamValue> {
        let _ = (g, id, cmode);
        Err(Error::not_supported("param_get"))
    }
    /// Write a runtime or permanent param to the device.
    fn param_set(
        &self,
        g: &mut InstanceGuard<'_, T>,
        id: u32,
        cmode: Cmode,
        value: &ParamValue,
    ) -> Result<()> {
        let _ = (g, id, cmode, value);
        Err(Error::not_supported("param_set"))
    }
    /// The default of a runtime or permanent param (the kernel's
    /// `get_default`): shown as `default`, and what `param set ... default`
    /// sets. Without it, such a param has no default.
    fn param_get_default(
        &self,
        g: &mut InstanceGuard<'_, T>,
        id: u32,
        cmode: Cmode,
    ) -> Result<ParamValue> {
        let _ = (g, id, cmode);
        Err(Error::not_supported("param_get_default"))
    }
    /// Check a value before it is stored or set. The default accepts any
    /// value of the right type.
    fn param_validate(
        &self,
        g: &mut InstanceGuard<'_, T>,
        id: u32,
        value: &ParamValue,
    ) -> Result<()> {
        let _ = (g, id, value);
        Ok(())
    }

    /// Recover from the error a reporter reported (reporters with
    /// [`crate::ReporterCaps::RECOVER`]).
    fn health_recover(
        &self,
        g: &mut InstanceGuard<'_, T>,
        reporter: &str,
        port: Option<u32>,
    ) -> Result<()> {
        let _ = (g, reporter, port);
        Err(Error::not_supported("health recover"))
    }
    /// Capture the device state for a reporter ([`crate::ReporterCaps::DUMP`]).
    fn health_dump(
        &self,
        g: &mut InstanceGuard<'_, T>,
        reporter: &str,
        port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        let _ = (g, reporter, port, fmsg);
        Err(Error::not_supported("health dump"))
    }
    /// Describe the reporter's current state ([`crate::ReporterCaps::DIAGNOSE`]).
    fn health_diagnose(
        &self,
        g: &mut InstanceGuard<'_, T>,
        reporter: &str,
        port: Option<u32>,
        fmsg: &mut Fmsg,
    ) -> Result<()> {
        let _ = (g, reporter, port, fmsg);
        Err(Error::not_supported("health diagnose"))
    }
    /// Inject a fake error that follows the real recovery path
    /// ([`crate::ReporterCaps::TEST`]).
    fn health_test(
        &self,
        g: &mut InstanceGuard<'_, T>,
        reporter: &str,
        port: Option<u32>,
    ) -> Result<()> {
        let _ = (g, reporter, port);
        Err(Error::not_supported("health test"))
    }
}
