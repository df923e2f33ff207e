//! The synchronization primitives of the command queue's lock-free core, swapped
//! for loom's under `cfg(loom)` so that the slot bitmask and the completion
//! hand-off are model-checked with the code that ships.
//!
//! Run the check with:
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg loom" cargo test -p cxu-driver --lib --release loom`
//! (with `--cfg loom` and no preemption bound the two-waiter model takes hours).

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU32, Ordering},
    Mutex, MutexGuard,
};
#[cfg(loom)]
pub(crate) use loom::thread::{current as current_thread, Thread};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU32, Ordering},
    Mutex, MutexGuard,
};
#[cfg(not(loom))]
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

/// Parks the current thread for at most `d`. Under loom there is no timed
/// park: a wake-up the code forgot to send shows up as a deadlock, which is
/// exactly what the model check is for.
pub(crate) fn park_timeout(d: Duration) {
    #[cfg(loom)]
    {
        let _ = d;
        loom::thread::park();
    }
    #[cfg(not(loom))]
    std::thread::park_timeout(d);
}

/// One step of a busy wait.
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
