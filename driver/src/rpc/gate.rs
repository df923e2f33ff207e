//! The registration gate (fwctl's `registration_lock`): calls hold the
//! shared side for their whole duration, removal takes the exclusive side,
//! which waits for the calls inside and then clears the device. A call that
//! comes later finds nothing and fails; the gate (and every handle holding
//! it) stays valid memory. The RPC channel and the probed device
//! ([`crate::Device`], whose recovery replaces the value under the exclusive
//! side) both use it.
//!
//! The shared side is parking_lot's fair `read` (never `read_recursive`):
//! once removal or recovery waits, new calls queue behind it instead of
//! starving it. So a call must not enter the same gate again while inside
//! (it would wait behind a queued remover that waits for it). Removal holds
//! the exclusive side only to clear the slot, never while waiting for
//! anything else.
//!
//! Under `cfg(cxu_driver_loom)` the lock is loom's, so the same code is
//! model-checked (`loom_tests::loom_gate_*`).

#[cfg(cxu_driver_loom)]
use loom::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(not(cxu_driver_loom))]
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The shared side. A panic inside a call must not close the gate for
/// everyone, so a poisoned lock (loom's, which is std-like) is used as is.
fn shared<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    #[cfg(cxu_driver_loom)]
    return l.read().unwrap_or_else(|p| p.into_inner());
    #[cfg(not(cxu_driver_loom))]
    l.read()
}

fn exclusive<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    #[cfg(cxu_driver_loom)]
    return l.write().unwrap_or_else(|p| p.into_inner());
    #[cfg(not(cxu_driver_loom))]
    l.write()
}

/// A value usable until [`Gate::close`].
pub struct Gate<T> {
    slot: RwLock<Option<T>>,
}

impl<T> Gate<T> {
    /// An open gate around `value`.
    pub fn new(value: T) -> Self {
        Gate {
            slot: RwLock::new(Some(value)),
        }
    }

    /// Runs `f` with the value, holding the shared side; `None` once closed.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let g = shared(&self.slot);
        g.as_ref().map(f)
    }

    /// Waits until no call is inside, then closes the gate for good and
    /// returns the value (to be dropped by the caller, outside the lock).
    pub fn close(&self) -> Option<T> {
        exclusive(&self.slot).take()
    }

    /// Runs `f` on the slot itself, holding the exclusive side (after every
    /// call inside has left; calls that come meanwhile wait): recovery
    /// replaces the value this way.
    pub fn update<R>(&self, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        f(&mut exclusive(&self.slot))
    }

    /// Whether the gate is still open.
    pub fn is_open(&self) -> bool {
        shared(&self.slot).is_some()
    }
}
