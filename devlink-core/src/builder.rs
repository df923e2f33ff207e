//! Bucket one: building an instance before registration.
//!
//! The driver owns the [`Builder`] exclusively (`&mut`, no lock, nothing is
//! visible to users yet), adds its objects as plain data, and every addition
//! is validated on the spot. [`Builder::register`] consumes it: the instance
//! becomes reachable and the register burst announces everything in the
//! kernel's order.

use crate::error::Result;
use crate::health::Reporter;
use crate::instance::{Clock, Handle, Instance, Objects, SystemClock};
use crate::notify::Hub;
use crate::ops::{Capabilities, DevlinkOps};
use crate::param::Param;
use crate::port::Port;
use crate::region::Region;
use crate::reload::ReloadCaps;
use crate::sync::Arc;
use crate::trap::{Trap, TrapGroup, TrapPolicer, TrapReporter};

/// An instance under construction.
pub struct Builder<T: 'static> {
    pub(crate) handle: Handle,
    pub(crate) ops: &'static dyn DevlinkOps<T>,
    pub(crate) caps: Capabilities,
    pub(crate) reload_caps: ReloadCaps,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) objs: Objects,
    pub(crate) driver: T,
}

impl<T: Send + 'static> Builder<T> {
    /// Starts an instance (`devlink_alloc`): the driver's static ops, the
    /// capabilities it determined (from firmware caps, say), its reload
    /// actions and limits, and its private state. Fails if the reload
    /// capabilities are inconsistent.
    pub fn new(
        handle: Handle,
        ops: &'static dyn DevlinkOps<T>,
        caps: Capabilities,
        reload_caps: ReloadCaps,
        driver: T,
    ) -> Result<Self> {
        reload_caps.validate(caps)?;
        Ok(Builder {
            handle,
            ops,
            caps,
            reload_caps,
            clock: Box::new(SystemClock::default()),
            hub: Arc::new(Hub::new()),
            objs: Objects::default(),
            driver,
        })
    }

    /// Replaces the clock (tests, simulations).
    pub fn clock(&mut self, clock: Box<dyn Clock>) -> &mut Self {
        self.clock = clock;
        self
    }

    /// Sends this instance's notifications through a shared hub, so
    /// monitors subscribed to it before registration see the register burst.
    pub fn hub(&mut self, hub: Arc<Hub>) -> &mut Self {
        self.hub = hub;
        self
    }

    /// The driver's private state, while building.
    pub fn driver_mut(&mut self) -> &mut T {
        &mut self.driver
    }

    /// Adds a trap policer: id non-zero and unique, limits ordered, initial
    /// rate and burst within them.
    pub fn trap_policer(&mut self, p: TrapPolicer) -> Result<&mut Self> {
        self.objs.add_policer(p)?;
        Ok(self)
    }

    /// Adds several policers, all or none.
    pub fn trap_policers(
        &mut self,
        ps: impl IntoIterator<Item = TrapPolicer>,
    ) -> Result<&mut Self> {
        let mark = self.objs.policers.len();
        for p in ps {
            if let Err(e) = self.objs.add_policer(p) {
                self.objs.policers.truncate(mark);
                return Err(e);
            }
        }
        Ok(self)
    }

    /// Adds a trap group: generic id and name from the table (or a driver
    /// id above it with a non-generic name), unique name and id, its policer
    /// (if any) already added.
    pub fn trap_group(&mut self, g: TrapGroup) -> Result<&mut Self> {
        self.objs.add_group(g)?;
        Ok(self)
    }

    /// Adds several groups, all or none.
    pub fn trap_groups(&mut self, gs: impl IntoIterator<Item = TrapGroup>) -> Result<&mut Self> {
        let mark = self.objs.groups.len();
        for g in gs {
            if let Err(e) = self.objs.add_group(g) {
                self.objs.groups.truncate(mark);
                return Err(e);
            }
        }
        Ok(self)
    }

    /// Adds a trap: needs [`Capabilities::TRAP_ACTION_SET`]; generic id,
    /// name and type from the table (or a driver id above it with a
    /// non-generic name); unique name and id; its group already added.
    /// Returns the receive-path reporter.
    pub fn trap(&mut self, t: Trap) -> Result<TrapReporter> {
        self.objs.add_trap(t, self.caps)
    }

    /// Adds several traps, all or none.
    pub fn traps(&mut self, ts: impl IntoIterator<Item = Trap>) -> Result<Vec<TrapReporter>> {
        let mark = self.objs.traps.len();
        let mut out = Vec::new();
        for t in ts {
            match self.objs.add_trap(t, self.caps) {
                Ok(r) => out.push(r),
                Err(e) => {
                    self.objs.traps.truncate(mark);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Adds a port: unique index, consistent split attributes.
    pub fn port(&mut self, p: Port) -> Result<&mut Self> {
        self.objs.add_port(p)?;
        Ok(self)
    }

    /// Adds a param: generic id, name and type from the table (or a driver
    /// id above it with a non-generic name), unique, at least one mode, a
    /// driverinit default of the right type only with the driverinit mode.
    pub fn param(&mut self, p: Param) -> Result<&mut Self> {
        self.objs.add_param(p)?;
        Ok(self)
    }

    /// Adds a health reporter: unique name (per port), grace period only
    /// with a recover op, burst only with a grace period, port existing.
    pub fn health_reporter(&mut self, r: Reporter) -> Result<&mut Self> {
        self.objs.add_reporter(r)?;
        Ok(self)
    }

    /// Adds a region: unique name, non-zero size and snapshot count.
    pub fn region(&mut self, r: Region) -> Result<&mut Self> {
        self.objs.add_region(r)?;
        Ok(self)
    }

    /// Registers the instance (`devlink_register`, last step of probe):
    /// from now on users can reach it and every change is notified. Sends
    /// `dev new` and then every object in the kernel's order.
    pub fn register(self) -> Arc<Instance<T>> {
        let inst = Arc::new(Instance::from_builder(self));
        inst.lock().register();
        inst
    }
}
