//! The synchronization primitives of the command queue's lock-free core, swapped
//! for loom's under `cfg(cxu_driver_loom)` so that the slot bitmask and the completion
//! hand-off are model-checked with the code that ships.
//!
//! Run the check with:
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg cxu_driver_loom" cargo test -p cxu-driver --lib --release loom`
//! (with no preemption bound the two-waiter model takes hours). The cfg is the
//! crate's own rather than `loom`: `--cfg loom` would also switch devlink-core
//! to loom's types, which the rest of this crate cannot use outside a model.

#[cfg(cxu_driver_loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU32, Ordering},
    Mutex, MutexGuard,
};
#[cfg(cxu_driver_loom)]
pub(crate) use loom::thread::{current as current_thread, Thread};

#[cfg(not(cxu_driver_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU32, Ordering},
    Mutex, MutexGuard,
};
#[cfg(not(cxu_driver_loom))]
pub(crate) use std::thread::{current as current_thread, Thread};

use std::time::Duration;

/// Locks `m`, ignoring poisoning: the data behind these mutexes (a parked
/// thread's handle, a waiter list) stays consistent even if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Locks `m` if nobody holds it (poisoning ignored, as [`lock`]).
pub(crate) fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Parks the current thread for at most `d`. Under loom there is no timed
/// park: a wake-up the code forgot to send shows up as a deadlock, which is
/// exactly what the model check is for.
pub(crate) fn park_timeout(d: Duration) {
    #[cfg(cxu_driver_loom)]
    {
        let _ = d;
        loom::thread::park();
    }
    #[cfg(not(cxu_driver_loom))]
    std::thread::park_timeout(d);
}

/// Gives the CPU to another runnable thread (a step of a longer wait).
pub(crate) fn yield_hint() {
    #[cfg(cxu_driver_loom)]
    loom::thread::yield_now();
    #[cfg(not(cxu_driver_loom))]
    std::thread::yield_now();
}

/// One step of a busy wait.
pub(crate) fn spin_hint() {
    #[cfg(cxu_driver_loom)]
    loom::thread::yield_now();
    #[cfg(not(cxu_driver_loom))]
    std::hint::spin_loop();
}
