//! The instance: memory lifetime (`Arc`), the one instance lock, the
//! registration flag, and the register / unregister notification bursts.
//!
//! Two buckets (reference §1.2): before registration the driver fills a
//! [`crate::Builder`] it owns exclusively; [`crate::Builder::register`] turns
//! it into an `Arc<Instance<T>>` that is live. From then on every access —
//! user requests and the driver's own changes — goes through
//! [`Instance::lock`] / [`Instance::enter`], which hand out an
//! [`InstanceGuard`]. The helpers that need the lock are methods of the
//! guard, so "the lock is held" is a compile-time fact (`devl_assert_locked`
//! as a type). The driver's private state `T` lives under the same lock and
//! is reachable only through the guard: one lock, not two.
//!
//! Registration is a flag read under the lock. [`Instance::unregister`]
//! takes the lock, which waits for the request inside (if any) to finish —
//! no drain is ever waited for while holding a lock a user needs — sends the
//! deletions and clears the flag. Every later request gets
//! [`Error::NoDevice`], and every call into the driver's ops re-checks the
//! flag under the lock, so once `unregister` returns no op runs again.
//!
//! Lock order (R5): anything the embedding application holds around devlink
//! (a device or probe lock) → the instance lock → the hub's locks. The
//! instance lock is not re-entrant: a driver op gets the guard as an
//! argument and must use it rather than calling [`Instance::lock`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::builder::Builder;
use crate::error::{Error, Result};
use crate::health::ReporterItem;
use crate::json::OrderedMap;
use crate::notify::{Command, EventBody, Hub, ObjectKinds, Subscription};
use crate::ops::{Capabilities, DevlinkOps};
use crate::param::ParamItem;
use crate::port::PortItem;
use crate::region::RegionItem;
use crate::reload::{ReloadCaps, ReloadState};
use crate::sync::{lock, Arc, Mutex, MutexGuard};
use crate::trap::{GroupItem, PolicerItem, TrapItem};

/// The name of an instance: bus and device, e.g. `pci` / `0000:01:00.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    bus: String,
    dev: String,
}

impl Handle {
    /// Checks and builds a handle: both parts non-empty, no `/` in the bus
    /// name (it separates bus from device in every printed key).
    pub fn new(bus: impl Into<String>, dev: impl Into<String>) -> Result<Self> {
        let (bus, dev) = (bus.into(), dev.into());
        if bus.is_empty() || dev.is_empty() {
            return Err(Error::invalid("bus and device names must be non-empty"));
        }
        if bus.contains('/') {
            return Err(Error::invalid(format!("bus name {bus:?} contains '/'")));
        }
        Ok(Handle { bus, dev })
    }

    /// The bus name.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The device name.
    pub fn dev(&self) -> &str {
        &self.dev
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.bus, self.dev)
    }
}

/// Time as the core needs it: a monotonic clock for health grace periods and
/// a wall clock for dump timestamps. Injected so tests can step time.
pub trait Clock: Send + Sync {
    /// Monotonic milliseconds (any origin).
    fn monotonic_ms(&self) -> u64;
    /// Wall-clock nanoseconds since the Unix epoch.
    fn realtime_ns(&self) -> u64;
}

/// The system clocks.
#[derive(Debug)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn monotonic_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn realtime_ns(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ManualClock {
    /// A clock at `ms` milliseconds.
    pub fn new(ms: u64) -> Self {
        ManualClock {
            ms: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(ms)),
        }
    }
    /// Moves the clock forward.
    pub fn advance_ms(&self, ms: u64) {
        self.ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn monotonic_ms(&self) -> u64 {
        self.ms.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn realtime_ns(&self) -> u64 {
        // An arbitrary fixed epoch (2026-01-01T00:00:00Z) plus the monotonic time.
        1_767_225_600_000_000_000 + self.monotonic_ms() * 1_000_000
    }
}

/// Every sub-object of an instance, in the containers whose iteration order
/// the notification bursts follow.
#[derive(Default)]
pub(crate) struct Objects {
    pub(crate) ports: BTreeMap<u32, PortItem>,
    pub(crate) policers: Vec<PolicerItem>,
    pub(crate) groups: Vec<GroupItem>,
    pub(crate) traps: Vec<TrapItem>,
    pub(crate) regions: Vec<RegionItem>,
    pub(crate) params: BTreeMap<u32, ParamItem>,
    pub(crate) reporters: Vec<ReporterItem>,
    pub(crate) reload: ReloadState,
    pub(crate) next_snapshot_id: u32,
}

pub(crate) struct State<T> {
    pub(crate) registered: bool,
    /// What the driver implements for this device now: fixed at build time,
    /// changed only by the driver during a reload (new firmware may have
    /// other capabilities). Bits, never the ops table.
    pub(crate) caps: Capabilities,
    /// A reload is between `reload_down` and the end of `reload_up`.
    pub(crate) in_reload: bool,
    pub(crate) objs: Objects,
    pub(crate) driver: T,
}

/// A devlink instance. Shared as `Arc<Instance<T>>`; holding an `Arc`
/// keeps the memory, never the registration (R2).
pub struct Instance<T: 'static> {
    pub(crate) handle: Handle,
    pub(crate) ops: &'static dyn DevlinkOps<T>,
    pub(crate) reload_caps: ReloadCaps,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) state: Mutex<State<T>>,
}

impl<T: Send + 'static> Instance<T> {
    /// The instance a builder describes, not yet registered.
    pub(crate) fn from_builder(b: Builder<T>) -> Self {
        Instance {
            handle: b.handle,
            ops: b.ops,
            reload_caps: b.reload_caps,
            clock: b.clock,
            hub: b.hub,
            state: Mutex::new(State {
                registered: false,
                caps: b.caps,
                in_reload: false,
                objs: b.objs,
                driver: b.driver,
            }),
        }
    }

    /// The instance's name.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The capability bits now (set at build time; a reload may change
    /// them). Takes the lock: inside an op use
    /// [`InstanceGuard::capabilities`].
    pub fn capabilities(&self) -> Capabilities {
        self.lock().st.caps
    }

    /// The reload actions and limits fixed at build time.
    pub fn reload_caps(&self) -> ReloadCaps {
        self.reload_caps
    }

    /// Takes the instance lock whether or not the instance is registered:
    /// the driver's path (`devl_lock`). Blocks while another request or
    /// driver path holds it. Not re-entrant.
    pub fn lock(&self) -> InstanceGuard<'_, T> {
        held::before_lock(self.addr());
        let st = lock(&self.state);
        held::locked(self.addr());
        InstanceGuard { inst: self, st }
    }

    fn addr(&self) -> usize {
        std::ptr::from_ref(self).cast::<u8>() as usize
    }

    /// A user request's way in (R3): takes the lock and re-checks
    /// registration; [`Error::NoDevice`] once the instance is unregistered.
    pub fn enter(&self) -> Result<InstanceGuard<'_, T>> {
        let g = self.lock();
        if !g.st.registered {
            return Err(Error::NoDevice);
        }
        Ok(g)
    }

    /// Whether the instance is registered right now (a snapshot: it may
    /// change as soon as this returns; use [`Instance::enter`] to act on it).
    pub fn is_registered(&self) -> bool {
        self.lock().st.registered
    }

    /// Unregisters the instance (`devlink_unregister`): waits for the request
    /// currently holding the lock, sends every sub-object's deletion in
    /// reverse order and the instance's `del` last, and clears the flag.
    /// When it returns no driver op will be called again; later requests get
    /// [`Error::NoDevice`]. Doing it twice is harmless.
    ///
    /// Must not be called while holding this instance's guard (use
    /// [`InstanceGuard::unregister`] there).
    pub fn unregister(&self) {
        self.lock().unregister();
    }

    /// Subscribes to the notifications of this instance's hub (this
    /// instance's alone unless the hub was shared at build time), with a
    /// queue of `capacity` events (at least 1) before overflow.
    pub fn subscribe(&self, kinds: ObjectKinds, capacity: usize) -> Subscription {
        self.hub.subscribe(kinds, capacity)
    }

    /// Takes the driver's private state back once nobody else holds the
    /// instance (typically after [`Instance::unregister`], at driver
    /// teardown). Gives the `Arc` back if other references remain.
    pub fn try_into_driver(this: Arc<Self>) -> std::result::Result<T, Arc<Self>> {
        let inst = Arc::try_unwrap(this)?;
        Ok(match inst.state.into_inner() {
            Ok(st) => st.driver,
            Err(p) => p.into_inner().driver,
        })
    }
}

/// Proof that the instance lock is held. Every core helper that needs the
/// lock is a method of this guard; the driver's private state is reachable
/// only through it.
pub struct InstanceGuard<'a, T: 'static> {
    pub(crate) inst: &'a Instance<T>,
    pub(crate) st: MutexGuard<'a, State<T>>,
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    /// The instance's name.
    pub fn handle(&self) -> &Handle {
        &self.inst.handle
    }

    /// Whether the instance is registered (stable while the guard lives,
    /// unless this guard's holder unregisters it).
    pub fn is_registered(&self) -> bool {
        self.st.registered
    }

    /// The capability bits now.
    pub fn capabilities(&self) -> Capabilities {
        self.st.caps
    }

    /// Replaces the capability bits (`reload_up` of new firmware with other
    /// capabilities, as `mlx5` re-reads caps on `fw_activate`): the ops
    /// table stays what it is, only the bits that gate it change. Allowed
    /// only during a reload, after `reload_down` removed the objects that
    /// depend on capabilities; the objects present must still be allowed
    /// (no trap without [`Capabilities::TRAP_ACTION_SET`]) and the reload
    /// capabilities must stay valid (the reload in progress needs
    /// [`Capabilities::RELOAD`]).
    pub fn set_capabilities(&mut self, caps: Capabilities) -> Result<()> {
        if !self.st.in_reload {
            return Err(Error::invalid(
                "capabilities change only during a reload (from reload_up)",
            ));
        }
        self.inst.reload_caps.validate(caps)?;
        if !caps.contains(Capabilities::RELOAD) {
            return Err(Error::invalid("a reload cannot drop Capabilities::RELOAD"));
        }
        if !caps.contains(Capabilities::TRAP_ACTION_SET) && !self.st.objs.traps.is_empty() {
            return Err(Error::invalid(
                "traps are registered: remove them before dropping Capabilities::TRAP_ACTION_SET",
            ));
        }
        if caps != self.st.caps {
            tracing::info!(dev = %self.inst.handle, old = ?self.st.caps, new = ?caps, "capabilities changed");
        }
        self.st.caps = caps;
        Ok(())
    }

    /// The driver's private state.
    pub fn driver(&self) -> &T {
        &self.st.driver
    }

    /// The driver's private state, mutably.
    pub fn driver_mut(&mut self) -> &mut T {
        &mut self.st.driver
    }

    /// Unregisters with the lock already held (`devl_unregister`); see
    /// [`Instance::unregister`].
    pub fn unregister(&mut self) {
        if !self.st.registered {
            tracing::debug!(dev = %self.inst.handle, "unregister of an unregistered instance ignored");
            return;
        }
        self.notify_unregister_burst();
        self.st.registered = false;
        tracing::info!(dev = %self.inst.handle, "devlink instance unregistered");
    }

    pub(crate) fn register(&mut self) {
        debug_assert!(!self.st.registered, "register twice");
        self.st.registered = true;
        self.notify_register_burst();
        tracing::info!(dev = %self.inst.handle, "devlink instance registered");
    }

    /// The driver's ops, if the instance is registered and the capability is
    /// on. Every call into the driver goes through here, under the lock:
    /// this check is what makes `unregister` a barrier for ops.
    pub(crate) fn ops_for(
        &self,
        cap: Capabilities,
        what: &str,
    ) -> Result<&'static dyn DevlinkOps<T>> {
        if !self.st.registered {
            return Err(Error::NoDevice);
        }
        if !self.st.caps.contains(cap) {
            return Err(Error::not_supported(what.to_string()));
        }
        Ok(self.inst.ops)
    }

    pub(crate) fn dev_key(&self) -> String {
        self.inst.handle.to_string()
    }

    pub(crate) fn port_key(&self, index: u32) -> String {
        format!("{}/{}", self.inst.handle, index)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.inst.clock.monotonic_ms()
    }

    /// Emits an event if (and only if) the instance is registered.
    pub(crate) fn notify(&self, command: Command, key: String, body: EventBody) {
        if self.st.registered {
            self.inst.hub.emit(command, self.dev_key(), key, body);
        }
    }

    /// `devlink dev show` for this instance; `stats` adds the reload counters
    /// (`-s`).
    pub fn dev_show(&self, stats: bool) -> DevView {
        DevView {
            reload_failed: self.st.objs.reload.failed,
            stats: stats.then(|| self.st.objs.reload.stats_view(self.inst.reload_caps)),
        }
    }

    pub(crate) fn notify_dev(&self) {
        let v = self.dev_show(true);
        self.notify(Command::New, self.dev_key(), EventBody::Dev(v));
    }

    /// Kernel order (devlink_notify_register): dev, ports, policers, groups,
    /// traps, regions, params. Health reporters are not announced.
    fn notify_register_burst(&self) {
        let dev = self.dev_key();
        self.notify_dev();
        let o = &self.st.objs;
        for (i, p) in &o.ports {
            self.notify(Command::New, self.port_key(*i), EventBody::Port(p.view()));
        }
        for p in &o.policers {
            self.notify(
                Command::New,
                dev.clone(),
                EventBody::TrapPolicer(p.view(None)),
            );
        }
        for g in &o.groups {
            self.notify(
                Command::New,
                dev.clone(),
                EventBody::TrapGroup(g.view(&o.policers, false)),
            );
        }
        for t in &o.traps {
            self.notify(
                Command::New,
                dev.clone(),
                EventBody::Trap(t.view(&o.groups, false, None)),
            );
        }
        for r in &o.regions {
            self.notify(
                Command::New,
                r.key(&self.inst.handle),
                EventBody::Region(r.view()),
            );
        }
        for p in o.params.values() {
            if let Some(v) = p.notify_view() {
                self.notify(Command::New, dev.clone(), EventBody::Param(v));
            }
        }
    }

    /// The exact reverse of the register burst, `dev del` last.
    fn notify_unregister_burst(&self) {
        let dev = self.dev_key();
        let o = &self.st.objs;
        for p in o.params.values().rev() {
            if let Some(v) = p.notify_view() {
                self.notify(Command::Del, dev.clone(), EventBody::Param(v));
            }
        }
        for r in o.regions.iter().rev() {
            self.notify(
                Command::Del,
                r.key(&self.inst.handle),
                EventBody::Region(r.view()),
            );
        }
        for t in o.traps.iter().rev() {
            self.notify(
                Command::Del,
                dev.clone(),
                EventBody::Trap(t.view(&o.groups, false, None)),
            );
        }
        for g in o.groups.iter().rev() {
            self.notify(
                Command::Del,
                dev.clone(),
                EventBody::TrapGroup(g.view(&o.policers, false)),
            );
        }
        for p in o.policers.iter().rev() {
            self.notify(
                Command::Del,
                dev.clone(),
                EventBody::TrapPolicer(p.view(None)),
            );
        }
        for (i, p) in o.ports.iter().rev() {
            self.notify(Command::Del, self.port_key(*i), EventBody::Port(p.view()));
        }
        let v = self.dev_show(true);
        self.notify(Command::Del, dev, EventBody::Dev(v));
    }
}

impl<T: 'static> Drop for InstanceGuard<'_, T> {
    fn drop(&mut self) {
        held::unlocked(std::ptr::from_ref(self.inst).cast::<u8>() as usize);
    }
}

/// Every build (release too) remembers which instance locks the current
/// thread holds, so taking one twice (e.g. calling [`Instance::health_report`] from inside
/// a driver op instead of [`InstanceGuard::health_report`]) panics with a
/// message instead of deadlocking.
mod held {
    #[cfg(not(loom))]
    thread_local! {
        static HELD: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    pub(super) fn before_lock(addr: usize) {
        #[cfg(not(loom))]
        HELD.with(|h| {
            assert!(
                !h.borrow().contains(&addr),
                "devlink instance lock is not re-entrant: this thread already holds it; use the guard you have"
            );
        });
        let _ = addr;
    }

    pub(super) fn locked(addr: usize) {
        #[cfg(not(loom))]
        HELD.with(|h| h.borrow_mut().push(addr));
        let _ = addr;
    }

    pub(super) fn unlocked(addr: usize) {
        #[cfg(not(loom))]
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|a| *a == addr) {
                h.swap_remove(i);
            }
        });
        let _ = addr;
    }
}

/// One entry of `devlink dev show -j`: `{}` for a healthy instance,
/// `reload_failed` when the last reload failed, `stats` with `-s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevView {
    /// The last reload failed (printed only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reload_failed: bool,
    /// Reload counters (printed with `-s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<DevStatsView>,
}

/// `"stats":{"reload":{"driver_reinit":{"unspecified":0}},"remote_reload":{...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevStatsView {
    /// Reloads this host performed, per action then limit.
    pub reload: OrderedMap<OrderedMap<u32>>,
    /// Reload actions someone else caused (e.g. firmware activated by
    /// another host).
    pub remote_reload: OrderedMap<OrderedMap<u32>>,
}
