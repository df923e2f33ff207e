//! The synchronization primitives the crate uses, swapped for loom's under
//! `cfg(loom)` so the registration barrier can be model-checked with the same
//! code that ships.
//!
//! Poisoning is deliberately ignored ([`lock`]): a driver op that panicked
//! while holding the instance lock must not wedge every later request; the
//! state it protects is plain data that the core keeps consistent between
//! driver calls.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};

/// Locks `m`, recovering the guard if a previous holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
