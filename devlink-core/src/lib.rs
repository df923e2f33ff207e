//! # devlink-core
//!
//! A device-agnostic, devlink-style control plane for a userspace driver:
//! one instance per device with ports, packet traps, trap groups, trap
//! policers, params, health reporters, regions, info, flash update and
//! reload, and a notification stream a monitor reads. It follows the Linux
//! kernel's `net/devlink/` (one file per object kind here too) and the
//! rules collected in the project's `devlink-and-lifetime` reference.
//!
//! ## The model in five rules
//!
//! 1. **Static ops, fixed capabilities.** The driver implements
//!    [`DevlinkOps`] on a static value; the core holds a
//!    `&'static dyn DevlinkOps<T>` nobody can rewrite. What the device
//!    supports is a [`Capabilities`] set (plus [`ReloadCaps`]) given before
//!    registration and changed only from inside a reload
//!    ([`InstanceGuard::set_capabilities`]: new firmware may have other
//!    capabilities); an op whose bit is off is answered with
//!    [`Error::NotSupported`] and never called.
//! 2. **Two buckets.** Before registration the driver fills a [`Builder`]
//!    it owns exclusively, and every object is validated as it is added.
//!    [`Builder::register`] makes the instance live.
//! 3. **One lock.** After registration everything — user requests and the
//!    driver's own changes — goes through the instance lock. The
//!    [`InstanceGuard`] *is* the proof the lock is held: every helper that
//!    needs it is a guard method, and the driver's private state `T` is
//!    reachable only through it.
//! 4. **Memory is not registration.** The instance is an `Arc`;
//!    [`Instance::unregister`] is a barrier: a request inside finishes, new
//!    ones get [`Error::NoDevice`], and after it returns no driver op runs.
//!    It never waits for anything while holding a lock users need.
//! 5. **Notifications are queued and ordered.** Nothing is announced while
//!    unregistered; registering announces the instance and then ports,
//!    policers, groups, traps, regions and params; unregistering deletes in
//!    reverse and the instance last. Subscribers have bounded queues with an
//!    explicit overflow marker, so a slow monitor never blocks the driver
//!    and never loses events silently.
//!
//! Every view serializes to the JSON `devlink -j` prints ([`json`]).
//!
//! ## Example: a small driver
//!
//! ```
//! use devlink_core::{
//!     json, trap, Builder, Capabilities, DevlinkOps, Detail, Error, Handle, InstanceGuard,
//!     ObjectKinds, Port, ReloadCaps, Trap, TrapAction, TrapGroup, TrapId, TrapPolicer,
//! };
//!
//! /// What the driver keeps under the instance lock.
//! #[derive(Default)]
//! struct Nic {
//!     hw_actions: Vec<(TrapId, TrapAction)>,
//!     policer: (u64, u64),
//! }
//!
//! struct NicOps;
//!
//! impl DevlinkOps<Nic> for NicOps {
//!     fn driver_name(&self) -> &'static str {
//!         "nic"
//!     }
//!     fn trap_action_set(
//!         &self,
//!         g: &mut InstanceGuard<'_, Nic>,
//!         trap: TrapId,
//!         action: TrapAction,
//!     ) -> Result<(), Error> {
//!         // Program the hardware here; the lock is held.
//!         g.driver_mut().hw_actions.push((trap, action));
//!         Ok(())
//!     }
//!     fn trap_policer_set(
//!         &self,
//!         g: &mut InstanceGuard<'_, Nic>,
//!         _policer: u32,
//!         rate: u64,
//!         burst: u64,
//!     ) -> Result<(), Error> {
//!         g.driver_mut().policer = (rate, burst);
//!         Ok(())
//!     }
//! }
//!
//! static OPS: NicOps = NicOps;
//!
//! # fn main() -> Result<(), Error> {
//! let caps = Capabilities::TRAP_ACTION_SET | Capabilities::TRAP_POLICER_SET;
//! let handle = Handle::new("pci", "0000:01:00.0")?;
//! let mut b = Builder::new(handle, &OPS, caps, ReloadCaps::default(), Nic::default())?;
//!
//! // Bucket one: plain data, validated as it is added. Policer, then the
//! // group that uses it, then its traps.
//! b.trap_policer(TrapPolicer::new(1, 1000, 128, (1, 10_000), (8, 1024)))?;
//! let l2 = trap::generic_trap_group_id("l2_drops").unwrap();
//! b.trap_group(TrapGroup::generic(l2, 1))?;
//! let smac_mc = trap::generic_trap_id("source_mac_is_multicast").unwrap();
//! let vlan = trap::generic_trap_id("vlan_tag_mismatch").unwrap();
//! let reporters = b.traps([
//!     Trap::generic(smac_mc, TrapAction::Drop, l2),
//!     Trap::generic(vlan, TrapAction::Drop, l2),
//! ])?;
//! b.port(Port::physical(1, 0).lanes(4, true))?;
//!
//! // A bad object is refused on the spot: a trap whose group does not exist.
//! let err = b.trap(Trap::generic(trap::generic_trap_id("tail_drop").unwrap(), TrapAction::Drop, 3));
//! assert!(matches!(err, Err(Error::Invalid(_))));
//!
//! // Bucket two.
//! let dev = b.register();
//! let mon = dev.subscribe(ObjectKinds::all(), 64);
//!
//! // The receive path counts without the instance lock.
//! reporters[0].report(64);
//!
//! // A user request: enter (fails with NoDevice once unregistered), act, show.
//! {
//!     let mut g = dev.enter()?;
//!     g.trap_set_action("source_mac_is_multicast", TrapAction::Trap)?;
//!     g.trap_policer_set(1, Some(2000), None)?;
//!     let traps = g.trap_show(Detail { stats: true, verbose: false })?;
//!     let key = g.handle().to_string();
//!     let text = json::ArraySection::new("trap", traps.iter().map(|t| (key.clone(), t))).to_json();
//!     assert!(text.starts_with(r#"{"trap":{"pci/0000:01:00.0":[{"name":"source_mac_is_multicast","type":"drop","generic":true,"action":"trap","group":"l2_drops","stats":{"rx":{"bytes":64,"packets":1}}}"#));
//!     assert_eq!(g.driver().policer, (2000, 128));
//! }
//!
//! // Unregister: deletions in reverse order, the instance last.
//! dev.unregister();
//! let dels: Vec<String> = mon.drain().iter().map(|d| json::to_string(d)).collect();
//! assert!(dels.first().unwrap().starts_with(r#"{"command":"del","trap":"#));
//! assert!(dels.last().unwrap().starts_with(r#"{"command":"del","dev":"#));
//! assert!(matches!(dev.enter(), Err(Error::NoDevice)));
//! # Ok(())
//! # }
//! ```
//!
//! ## Files
//!
//! `instance.rs` (instance, guard, bursts), `builder.rs` (bucket one),
//! `ops.rs` (the driver trait, capabilities), `port.rs`, `trap.rs`,
//! `param.rs`, `health.rs`, `region.rs`, `info.rs`, `flash.rs`,
//! `reload.rs`, `notify.rs` (hub, subscriptions, events), `json.rs`
//! (iproute2 shapes), `error.rs`, `sync.rs` (std or loom primitives).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod error;
pub mod flash;
pub mod health;
pub mod info;
mod instance;
pub mod json;
pub mod notify;
mod ops;
pub mod param;
pub mod port;
pub mod proofs;
pub mod region;
pub mod reload;
mod sync;
pub mod trap;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;

pub use builder::Builder;
pub use error::{Error, Result};
pub use flash::{FlashRequest, FlashStatusView, OverwriteMask};
pub use health::{Fmsg, FmsgValue, HealthSet, HealthState, HealthView, Reporter, ReporterCaps};
pub use info::{InfoBuilder, InfoView, VersionGroup};
pub use instance::{
    Clock, DevStatsView, DevView, Handle, Instance, InstanceGuard, ManualClock, SystemClock,
};
pub use notify::{Command, Delivery, Event, EventBody, Hub, ObjectKinds, Subscription};
pub use ops::{Capabilities, DevlinkOps};
pub use param::{Cmode, Cmodes, Param, ParamType, ParamValue, ParamView};
pub use port::{
    Port, PortFlavour, PortFnOpstate, PortFnState, PortFunction, PortFunctionSet, PortType,
    PortView,
};
pub use region::{Region, RegionView};
pub use reload::{ReloadAction, ReloadActions, ReloadCaps, ReloadLimit, ReloadLimits};
pub use trap::{
    Detail, PolicerView, ReportMetadata, Trap, TrapAction, TrapGroup, TrapGroupId, TrapGroupView,
    TrapId, TrapMetadata, TrapPolicer, TrapReporter, TrapType, TrapView,
};
