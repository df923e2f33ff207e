//! The driver's state inside the devlink instance (reached only through the
//! instance guard: one lock for devlink and the driver).

use std::sync::Arc;

use devlink_core::TrapReporter;

use super::{Backend, DeviceCaps};

/// Driver-specific param ids (above the generic table).
pub mod param_id {
    /// `trap_policers` (u32, driverinit): policers registered at the next
    /// `driver_reinit`.
    pub const TRAP_POLICERS: u32 = devlink_core::param::GENERIC_PARAM_ID_MAX + 1;
    /// `counters_clear_on_read` (bool, runtime): PPCNT reads clear the
    /// port counters.
    pub const COUNTERS_CLEAR_ON_READ: u32 = devlink_core::param::GENERIC_PARAM_ID_MAX + 2;
}

/// What the driver keeps under the instance lock.
///
/// It is reachable only through the instance guard, that is with the lock
/// held, and only for as long as the guard lives:
///
/// ```
/// use cxu_driver::devlink::CxuInstance;
/// fn policers(dev: &CxuInstance) -> u32 {
///     let g = dev.lock();
///     g.driver().trap_policers()
/// }
/// ```
///
/// Not from the instance itself,
///
/// ```compile_fail,E0599
/// use cxu_driver::devlink::CxuInstance;
/// fn policers(dev: &CxuInstance) -> u32 {
///     dev.driver().trap_policers()
/// }
/// ```
///
/// not past the guard (the lock),
///
/// ```compile_fail,E0515
/// use cxu_driver::devlink::{Cxu, CxuInstance};
/// fn state(dev: &CxuInstance) -> &Cxu {
///     let g = dev.lock();
///     g.driver()
/// }
/// ```
///
/// and not as a copy taken out from under it (there is no `Clone`):
///
/// ```compile_fail,E0599
/// use cxu_driver::devlink::{Cxu, CxuInstance};
/// fn state(dev: &CxuInstance) -> Cxu {
///     dev.lock().driver().clone()
/// }
/// ```
pub struct Cxu {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) caps: DeviceCaps,
    /// Policers registered now (devlink ids `1..=n`, hardware pids `0..n`).
    pub(crate) trap_policers: u32,
    /// Runtime param `counters_clear_on_read`.
    pub(crate) counters_clear_on_read: bool,
    /// Receive-path handles of the registered traps (by devlink trap id).
    pub(crate) trap_reporters: Vec<TrapReporter>,
}

impl Cxu {
    /// The device the ops talk to.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// What the device reported at probe.
    pub fn caps(&self) -> &DeviceCaps {
        &self.caps
    }

    /// Policers registered now.
    pub fn trap_policers(&self) -> u32 {
        self.trap_policers
    }

    /// The receive-path handle of trap `name`, for the data path.
    pub fn trap_reporter(&self, name: &str) -> Option<&TrapReporter> {
        self.trap_reporters.iter().find(|r| r.name() == name)
    }
}
