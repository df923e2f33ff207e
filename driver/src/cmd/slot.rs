//! The per-slot state word: who may complete a command, exactly once, and how
//! its waiter is woken.
//!
//! The word is `seq << 3 | waiter << 2 | phase`. `seq` counts posts to the slot,
//! so a thread that saw the device give back an *earlier* command of this slot
//! cannot complete the next one (its compare-and-swap fails: no ABA). Phases:
//!
//! * `FREE`: in the free bitmask.
//! * `POSTED`: the owner (the submitter's handle) wrote the entry and handed it
//!   to the device.
//! * `DONE`: some thread saw the ownership bit back at 0 and won the CAS from
//!   `POSTED`; the handle reads the output, then stores `FREE` and releases.
//! * `ABANDONED`: the handle gave up (timeout, forced failure, dropped) while
//!   the device still owned the entry. Whoever later sees the ownership bit back
//!   wins the CAS to `FREE` and releases the slot, with its DMA buffers, which
//!   were never reused while the device could write them.
//!
//! The `waiter` bit says a thread is parked (or about to park) on the slot and
//! stored its handle in `waiter`: only then does a completion take that mutex
//! and unpark it. A waiter that only spins never sets the bit, so a fast
//! completion takes no lock. The stored handle is tagged with the command's
//! word: a completion or an abandon of one command never takes the handle of
//! the slot's next command (whose owner would then sleep until its park
//! bound). `loom_tests` checks the hand-off, over several commands.

use crate::sync::{current_thread, lock, AtomicU32, Mutex, Ordering, Thread};

/// In the free bitmask.
pub(crate) const FREE: u32 = 0;
/// Handed to the device, result not yet seen.
pub(crate) const POSTED: u32 = 1;
/// Completed; the owner has not consumed it yet.
pub(crate) const DONE: u32 = 2;
/// The owner gave up; the device still owns the entry.
pub(crate) const ABANDONED: u32 = 3;

const PHASE: u32 = 0b11;
const WAITER: u32 = 0b100;
const SEQ_SHIFT: u32 = 3;

/// The phase of a state word.
pub(crate) const fn phase(word: u32) -> u32 {
    word & PHASE
}

/// The sequence number of a state word (posts to the slot so far).
pub(crate) const fn seq(word: u32) -> u32 {
    word >> SEQ_SHIFT
}

const fn make(seq: u32, phase: u32) -> u32 {
    (seq << SEQ_SHIFT) | phase
}

/// What a completion attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completed {
    /// This thread completed the command; its owner will consume it.
    Delivered,
    /// The owner had abandoned it: this thread must release the slot.
    Reclaim,
    /// Nothing to do (someone else completed it, or it is another command now).
    Nothing,
}

/// The synchronization state of one command slot.
pub(crate) struct SlotSync {
    state: AtomicU32,
    /// The parked owner, tagged with the word of the command it waits for.
    waiter: Mutex<Option<(u32, Thread)>>,
}

impl SlotSync {
    pub(crate) fn new() -> SlotSync {
        SlotSync {
            state: AtomicU32::new(make(0, FREE)),
            waiter: Mutex::new(None),
        }
    }

    /// The current word (acquire: a later read of the entry sees at least what
    /// the poster wrote before it).
    pub(crate) fn load(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    /// The owner of a freshly claimed slot posts a command: call after the entry
    /// (with its ownership bit) is written and before the doorbell. Returns the
    /// word identifying this command.
    pub(crate) fn post(&self) -> u32 {
        let s = self.state.load(Ordering::Relaxed);
        let posted = make(seq(s).wrapping_add(1) & (u32::MAX >> SEQ_SHIFT), POSTED);
        self.state.store(posted, Ordering::Release);
        posted
    }

    /// A thread read `seen` (phase POSTED or ABANDONED), then saw the device give
    /// the entry back: complete the command, at most once over all threads.
    pub(crate) fn complete(&self, seen: u32) -> Completed {
        let mut cur = seen;
        loop {
            if seq(cur) != seq(seen) {
                return Completed::Nothing;
            }
            let next = match phase(cur) {
                POSTED => make(seq(cur), DONE),
                ABANDONED => make(seq(cur), FREE),
                _ => return Completed::Nothing,
            };
            match self
                .state
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if phase(cur) == ABANDONED => return Completed::Reclaim,
                Ok(_) => {
                    if cur & WAITER != 0 {
                        if let Some(t) = self.take_waiter(seq(cur)) {
                            t.unpark();
                        }
                    }
                    return Completed::Delivered;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// True if the command `posted` has completed.
    pub(crate) fn is_done(&self, posted: u32) -> bool {
        self.state.load(Ordering::Acquire) == make(seq(posted), DONE)
    }

    /// The registered waiter, if it waits for the command of sequence `seq`.
    fn take_waiter(&self, seq_of: u32) -> Option<Thread> {
        let mut w = lock(&self.waiter);
        match &*w {
            Some((p, _)) if seq(*p) == seq_of => w.take().map(|(_, t)| t),
            _ => None,
        }
    }

    /// The owner is about to park: records the current thread. Returns false if
    /// the command already completed (do not park).
    pub(crate) fn register_waiter(&self, posted: u32) -> bool {
        *lock(&self.waiter) = Some((posted, current_thread()));
        self.state
            .compare_exchange(posted, posted | WAITER, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            || self.state.load(Ordering::Acquire) == posted | WAITER
    }

    /// The owner gives up on `posted`. `true`: abandoned, the device still owns
    /// the slot and a later completion reclaims it. `false`: it had completed,
    /// and the owner must consume and free it as usual.
    pub(crate) fn abandon(&self, posted: u32) -> bool {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur != posted && cur != posted | WAITER {
                return false;
            }
            match self.state.compare_exchange(
                cur,
                make(seq(posted), ABANDONED),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // Only this command's registration: by now the slot may
                    // already be reclaimed, reposted and waited for.
                    drop(self.take_waiter(seq(posted)));
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// The owner consumed the completed command `posted`: the slot is free
    /// again (the caller then releases its bit).
    pub(crate) fn finish(&self, posted: u32) {
        self.state.store(make(seq(posted), FREE), Ordering::Release);
    }

    /// Unparks a parked waiter without completing its command, so that it
    /// re-checks the queue's abort flags (fatal error, removal).
    pub(crate) fn clear_waiter_and_unpark(&self) {
        if let Some((_, t)) = lock(&self.waiter).take() {
            t.unpark();
        }
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_completion_of_an_earlier_command_cannot_complete_the_next() {
        let s = SlotSync::new();
        let first = s.post();
        let seen = s.load();
        assert_eq!(s.complete(seen), Completed::Delivered);
        assert_eq!(s.complete(seen), Completed::Nothing, "exactly once");
        assert!(s.is_done(first));
        s.finish(first);
        let second = s.post();
        assert_ne!(first, second);
        assert_eq!(s.complete(seen), Completed::Nothing, "stale observation");
        assert!(!s.is_done(second));
    }

    #[test]
    fn abandon_then_complete_reclaims_and_complete_then_abandon_delivers() {
        let s = SlotSync::new();
        let p = s.post();
        assert!(s.abandon(p));
        assert_eq!(phase(s.load()), ABANDONED);
        assert_eq!(s.complete(s.load()), Completed::Reclaim);
        assert_eq!(phase(s.load()), FREE);

        let p = s.post();
        assert_eq!(s.complete(s.load()), Completed::Delivered);
        assert!(!s.abandon(p), "already done: the owner consumes it");
        s.finish(p);
        assert_eq!(phase(s.load()), FREE);
    }

    #[test]
    fn registered_waiter_is_unparked_by_the_completion() {
        let s = std::sync::Arc::new(SlotSync::new());
        let p = s.post();
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            while !s2.is_done(p) {
                if s2.register_waiter(p) {
                    std::thread::park();
                }
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        let seen = s.load();
        assert_eq!(s.complete(seen), Completed::Delivered);
        t.join().unwrap();
        assert!(s.is_done(p));
    }
}
