//! The Linux driver's slot allocator (reference §10), kept as the baseline the
//! benchmark measures the lock-free [`super::slots::SlotMask`] against.
//!
//! As in `cmd.c`: a claimer first takes a unit of a counting semaphore (one
//! of `max_reg_cmds` units for regular commands, a one-unit semaphore for the
//! MANAGE_PAGES slot), sleeping while none is left, then takes the lowest free
//! bit of the bitmask under one lock (`alloc_lock`). A release clears the bit
//! under the lock and gives the unit back, waking one sleeper. Unlike the
//! kernel, submission is not funnelled through a single ordered workqueue and
//! polling mode is not limited to one command: only the allocator differs from
//! the lock-free queue, so a benchmark of the two measures the allocator.
//!
//! The busy mask is mirrored in an atomic written under the lock, so a polling
//! waiter's scan of busy slots reads it without locking, as it does with the
//! lock-free mask.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::slots::ClaimError;

/// Longest single sleep: `stop` is asked at least this often.
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// A counting semaphore: a count under a lock and the sleepers on a condvar.
struct Semaphore {
    count: Mutex<u32>,
    freed: Condvar,
}

impl Semaphore {
    fn new(units: u32) -> Semaphore {
        Semaphore {
            count: Mutex::new(units),
            freed: Condvar::new(),
        }
    }

    fn try_down(&self) -> bool {
        let mut c = self.count.lock();
        if *c == 0 {
            return false;
        }
        *c -= 1;
        true
    }

    /// Takes a unit, sleeping at most until `until`. False if none came.
    fn down_until(&self, until: Instant) -> bool {
        let mut c = self.count.lock();
        while *c == 0 {
            let left = until.saturating_duration_since(Instant::now());
            if self.freed.wait_for(&mut c, left).timed_out() {
                if *c == 0 {
                    return false;
                }
                break;
            }
        }
        *c -= 1;
        true
    }

    fn up(&self) {
        *self.count.lock() += 1;
        self.freed.notify_one();
    }
}

/// The semaphore-and-lock allocator.
pub(crate) struct LockedSlots {
    /// Bit `i` set = slot `i` free (the kernel's `bitmask`, under `alloc_lock`).
    free: Mutex<u32>,
    regular_sem: Semaphore,
    page_sem: Semaphore,
    page_class: u32,
    /// Copy of `!free`, written under the lock, read without it.
    busy: AtomicU32,
    stale: AtomicU32,
    all: u32,
}

impl LockedSlots {
    /// `entries` slots (2..=32), the last one (`page_class`) for MANAGE_PAGES.
    pub(crate) fn new(entries: u32, page_class: u32) -> LockedSlots {
        let all = if entries >= 32 {
            u32::MAX
        } else {
            (1u32 << entries) - 1
        };
        let regular = all & !page_class;
        LockedSlots {
            free: Mutex::new(all),
            regular_sem: Semaphore::new(regular.count_ones()),
            page_sem: Semaphore::new((all & page_class).count_ones()),
            page_class,
            busy: AtomicU32::new(0),
            stale: AtomicU32::new(0),
            all,
        }
    }

    fn sem(&self, class: u32) -> &Semaphore {
        if class & self.page_class != 0 {
            &self.page_sem
        } else {
            &self.regular_sem
        }
    }

    /// Takes the lowest free bit of `class` after a unit of its semaphore.
    fn take_bit(&self, class: u32) -> u32 {
        let mut free = self.free.lock();
        let avail = *free & class;
        // The unit guarantees a free bit of the class; should the count and the
        // mask ever disagree, taking any free bit keeps the mask consistent.
        let pick = if avail != 0 { avail } else { *free };
        let bit = pick & pick.wrapping_neg();
        *free &= !bit;
        self.busy.store(!*free & self.all, Ordering::Release);
        bit.trailing_zeros()
    }

    /// Takes a slot of `class` (the regular slots, the page slot, or both:
    /// then whichever semaphore has a unit first), waiting until `deadline`.
    /// `stop` is called before every sleep (at most [`MAX_SLEEP`] apart): true
    /// gives up; a polling caller also retires finished commands in it.
    pub(crate) fn claim(
        &self,
        class: u32,
        deadline: Instant,
        stop: &dyn Fn() -> bool,
    ) -> Result<u32, ClaimError> {
        let both = class & self.page_class != 0 && class & !self.page_class != 0;
        let sleep_class = if both {
            class & !self.page_class
        } else {
            class
        };
        loop {
            if both {
                if self.regular_sem.try_down() {
                    return Ok(self.take_bit(class & !self.page_class));
                }
                if self.page_sem.try_down() {
                    return Ok(self.take_bit(self.page_class));
                }
            } else if self.sem(class).try_down() {
                return Ok(self.take_bit(class));
            }
            if self.stale.load(Ordering::SeqCst) & class == class {
                return Err(ClaimError::AllStale);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ClaimError::TimedOut);
            }
            if stop() {
                return Err(ClaimError::Stopped);
            }
            if self
                .sem(sleep_class)
                .down_until(deadline.min(now + MAX_SLEEP))
            {
                return Ok(self.take_bit(sleep_class));
            }
        }
    }

    /// Takes a slot of one class (regular or page) if its semaphore has a
    /// unit now, without sleeping.
    pub(crate) fn try_claim(&self, class: u32) -> Option<u32> {
        let class = if class & self.page_class != 0 && class & !self.page_class != 0 {
            class & !self.page_class
        } else {
            class
        };
        self.sem(class).try_down().then(|| self.take_bit(class))
    }

    /// Gives `slot` back and its semaphore unit.
    pub(crate) fn release(&self, slot: u32) {
        let bit = 1u32 << slot;
        {
            let mut free = self.free.lock();
            *free |= bit;
            self.busy.store(!*free & self.all, Ordering::Release);
        }
        self.sem(bit).up();
    }

    /// Marks `slot` as held by a timed-out command.
    pub(crate) fn mark_stale(&self, slot: u32) {
        self.stale.fetch_or(1 << slot, Ordering::SeqCst);
    }

    /// The device gave `slot` back: it is no longer stale.
    pub(crate) fn clear_stale(&self, slot: u32) {
        self.stale.fetch_and(!(1 << slot), Ordering::SeqCst);
    }

    /// Slots not free now.
    pub(crate) fn busy(&self) -> u32 {
        self.busy.load(Ordering::Acquire)
    }

    /// Slots marked stale now.
    pub(crate) fn stale(&self) -> u32 {
        self.stale.load(Ordering::Acquire)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    const FOREVER: Duration = Duration::from_secs(30);

    #[test]
    fn regular_claims_never_take_the_page_slot_and_time_out_when_full() {
        let s = LockedSlots::new(3, 0b100);
        let soon = || Instant::now() + Duration::from_millis(20);
        assert_eq!(s.claim(0b011, soon(), &|| false), Ok(0));
        assert_eq!(s.claim(0b011, soon(), &|| false), Ok(1));
        let t = Instant::now();
        assert_eq!(s.claim(0b011, soon(), &|| false), Err(ClaimError::TimedOut));
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(s.claim(0b100, soon(), &|| false), Ok(2));
        assert_eq!(s.busy(), 0b111);
        s.release(1);
        assert_eq!(s.busy(), 0b101);
        assert_eq!(s.claim(0b011, soon(), &|| false), Ok(1));
    }

    #[test]
    fn all_stale_and_stop_end_the_wait() {
        let s = LockedSlots::new(2, 0b10);
        let far = Instant::now() + FOREVER;
        assert_eq!(s.claim(0b01, far, &|| false), Ok(0));
        assert_eq!(s.claim(0b01, far, &|| true), Err(ClaimError::Stopped));
        s.mark_stale(0);
        assert_eq!(s.claim(0b01, far, &|| false), Err(ClaimError::AllStale));
        assert_eq!(s.stale(), 0b01);
        s.clear_stale(0);
        s.release(0);
        assert_eq!(s.claim(0b01, far, &|| false), Ok(0));
    }

    #[test]
    fn a_claim_of_both_classes_takes_every_slot_once() {
        let s = LockedSlots::new(4, 0b1000);
        let far = Instant::now() + FOREVER;
        let mut got: Vec<u32> = (0..4)
            .map(|_| s.claim(0b1111, far, &|| false).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert_eq!(
            s.claim(0b1111, Instant::now() + Duration::from_millis(5), &|| false),
            Err(ClaimError::TimedOut)
        );
    }

    /// Eight threads share three regular slots: a sleeper is woken by each
    /// release, no slot is ever held twice, and everything comes back.
    #[test]
    fn many_threads_never_share_a_slot_and_all_come_back() {
        let s = Arc::new(LockedSlots::new(4, 0b1000));
        let owners: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (s, owners) = (s.clone(), owners.clone());
                std::thread::spawn(move || {
                    for _ in 0..5_000 {
                        let slot = s
                            .claim(0b0111, Instant::now() + FOREVER, &|| false)
                            .unwrap();
                        assert!(slot < 3, "regular claim got slot {slot}");
                        assert_eq!(owners[slot as usize].fetch_add(1, Ordering::SeqCst), 0);
                        std::hint::spin_loop();
                        owners[slot as usize].fetch_sub(1, Ordering::SeqCst);
                        s.release(slot);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.busy(), 0);
        assert_eq!(*s.free.lock(), 0b1111);
        assert_eq!(*s.regular_sem.count.lock(), 3);
        assert_eq!(*s.page_sem.count.lock(), 1);
    }
}
