//! Which slot allocator a queue uses: the lock-free bitmask (always, in the
//! driver) or the Linux driver's semaphore and lock (the benchmark's
//! baseline, so that both run the very same queue code around them).

use super::time::Instant;

use super::slots::{ClaimError, SlotMask};
use super::slots_locked::LockedSlots;

/// The slot allocator of a queue ([`super::QueueConfig::slot_policy`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlotPolicy {
    /// One compare-and-swap on the free bitmask; no lock on the way.
    #[default]
    LockFree,
    /// The kernel's way (reference §10): a counting semaphore, then the bitmask
    /// under one lock. Only for measuring the lock-free path against it.
    MutexSemaphore,
}

/// The allocator itself; the queue calls it through these forwarding methods.
pub(crate) enum Slots {
    LockFree(SlotMask),
    Locked(LockedSlots),
}

impl Slots {
    /// `entries` slots, the `page_class` one kept for MANAGE_PAGES.
    pub(crate) fn new(policy: SlotPolicy, entries: u32, page_class: u32) -> Slots {
        match policy {
            SlotPolicy::LockFree => Slots::LockFree(SlotMask::new(entries)),
            SlotPolicy::MutexSemaphore => Slots::Locked(LockedSlots::new(entries, page_class)),
        }
    }

    #[inline]
    pub(crate) fn claim(
        &self,
        class: u32,
        deadline: Instant,
        stop: &dyn Fn() -> bool,
    ) -> Result<u32, ClaimError> {
        match self {
            Slots::LockFree(m) => m.claim(class, deadline, stop),
            Slots::Locked(l) => l.claim(class, deadline, stop),
        }
    }

    /// A slot of `class` if one is free now, without waiting.
    #[inline]
    pub(crate) fn try_claim(&self, class: u32) -> Option<u32> {
        match self {
            Slots::LockFree(m) => m.try_claim(class),
            Slots::Locked(l) => l.try_claim(class),
        }
    }

    #[inline]
    pub(crate) fn release(&self, slot: u32) {
        match self {
            Slots::LockFree(m) => m.release(slot),
            Slots::Locked(l) => l.release(slot),
        }
    }

    pub(crate) fn mark_stale(&self, slot: u32) {
        match self {
            Slots::LockFree(m) => m.mark_stale(slot),
            Slots::Locked(l) => l.mark_stale(slot),
        }
    }

    pub(crate) fn clear_stale(&self, slot: u32) {
        match self {
            Slots::LockFree(m) => m.clear_stale(slot),
            Slots::Locked(l) => l.clear_stale(slot),
        }
    }

    #[inline]
    pub(crate) fn busy(&self) -> u32 {
        match self {
            Slots::LockFree(m) => m.busy(),
            Slots::Locked(l) => l.busy(),
        }
    }

    pub(crate) fn stale(&self) -> u32 {
        match self {
            Slots::LockFree(m) => m.stale(),
            Slots::Locked(l) => l.stale(),
        }
    }
}
