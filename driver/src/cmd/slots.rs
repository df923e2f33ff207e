//! The free-slot bitmask: which command slots a submitter may take.
//!
//! One `AtomicU32`, bit `i` set = slot `i` free. Claiming is a CAS that clears
//! the lowest free bit of the caller's class (regular slots, or the slot kept
//! for MANAGE_PAGES); releasing is one `fetch_or`. Submitters never wait on
//! each other while a slot is free.
//!
//! When none is free, a claimer spins briefly, then parks on a waiter list; a
//! release wakes the first waiter whose class the freed slot serves. The list
//! is a mutex, but it is touched only by threads that already have to wait and
//! by a release that sees `waiting != 0`: the uncontended path never locks.
//! Every park is bounded, so a claimer gives up with [`ClaimError::TimedOut`].
//!
//! Why no wake-up is lost: a waiter pushes itself, bumps `waiting` and re-reads
//! the mask while holding the list lock; a releaser sets its bit and then reads
//! `waiting`. Either the releaser sees `waiting == 0`, and then its bit was set
//! before the waiter's re-read, which finds it; or it sees the waiter and takes
//! the lock, which it can only get after the waiter pushed. The two re-reads
//! are read-modify-writes (`fetch_or(0)`, `fetch_add(0)`), not loads: an RMW
//! reads the latest value of its variable, so this holds with acquire/release
//! alone. With plain `SeqCst` loads it relies on the store-buffering guarantee
//! of `SeqCst`, which loom does not model, and loom found the lost wake-up.
//! `loom_tests` checks the RMW version.

use std::time::Duration;

use super::time::{self, Instant};

use crate::sync::{
    current_thread, lock, park_timeout, spin_hint, yield_hint, AtomicU32, Mutex, Ordering, Thread,
};

/// Spins before a claimer parks (one under loom, to keep the model small).
#[cfg(not(cxu_driver_loom))]
const SPINS: u32 = 64;
#[cfg(cxu_driver_loom)]
const SPINS: u32 = 1;
/// How long a claimer yields, after its spins, before it registers and parks.
/// With more commands wanted than slots, a slot frees every microsecond or two;
/// a parked claimer makes every release a futex wake and itself a scheduler
/// wake-up (in events mode at depth 32 that halved throughput). None under
/// loom: the yields change no state, and the model stays small.
#[cfg(not(cxu_driver_loom))]
const YIELD_FOR: Duration = Duration::from_micros(50);
#[cfg(cxu_driver_loom)]
const YIELD_FOR: Duration = Duration::ZERO;
/// Longest single park: a bound on the cost of a wake-up that went to a
/// waiter which then gave up.
const MAX_PARK: Duration = Duration::from_millis(10);

/// Why a claim failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// No slot of the class became free before the deadline.
    TimedOut,
    /// Every slot of the class is held by a command that timed out and that the
    /// device has not given back: waiting is pointless (the kernel's 2025 rule).
    AllStale,
    /// The caller's stop condition became true (fatal error, removal).
    Stopped,
}

struct Waiter {
    ticket: u64,
    class: u32,
    thread: Thread,
}

#[derive(Default)]
struct Waiters {
    next_ticket: u64,
    list: Vec<Waiter>,
}

/// The free-slot bitmask and its waiters.
pub(crate) struct SlotMask {
    free: AtomicU32,
    /// Slots whose command timed out and is still owned by the device.
    stale: AtomicU32,
    waiting: AtomicU32,
    waiters: Mutex<Waiters>,
    all: u32,
}

impl SlotMask {
    /// A mask with `entries` slots (1..=32), all free.
    pub(crate) fn new(entries: u32) -> SlotMask {
        let all = if entries >= 32 {
            u32::MAX
        } else {
            (1u32 << entries) - 1
        };
        SlotMask {
            free: AtomicU32::new(all),
            stale: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            waiters: Mutex::new(Waiters::default()),
            all,
        }
    }

    /// Takes the lowest free slot of `class` (a mask of eligible slots) without waiting.
    pub(crate) fn try_claim(&self, class: u32) -> Option<u32> {
        let mut cur = self.free.load(Ordering::Relaxed);
        loop {
            let avail = cur & class;
            if avail == 0 {
                return None;
            }
            let bit = avail & avail.wrapping_neg();
            match self.free.compare_exchange_weak(
                cur,
                cur & !bit,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(bit.trailing_zeros()),
                Err(now) => cur = now,
            }
        }
    }

    /// Takes a slot of `class`, waiting (spin, then park) until `deadline` or
    /// until `stop()` says to give up. `stop` is called before every park (at
    /// most [`MAX_PARK`] apart), so the caller can also use it to look for
    /// completions itself (polling mode).
    pub(crate) fn claim(
        &self,
        class: u32,
        deadline: Instant,
        stop: &dyn Fn() -> bool,
    ) -> Result<u32, ClaimError> {
        let mut spins = 0;
        let mut yield_until: Option<Instant> = None;
        loop {
            if let Some(slot) = self.try_claim(class) {
                return Ok(slot);
            }
            if self.all_stale(class) {
                return Err(ClaimError::AllStale);
            }
            if spins < SPINS {
                spins += 1;
                spin_hint();
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                self.pass_on(class);
                return Err(ClaimError::TimedOut);
            }
            if stop() {
                self.pass_on(class);
                return Err(ClaimError::Stopped);
            }
            if now < *yield_until.get_or_insert(time::after(now, YIELD_FOR)) {
                yield_hint();
                continue;
            }
            if let Some(slot) = self.try_claim(class) {
                return Ok(slot);
            }
            let ticket = {
                let mut w = lock(&self.waiters);
                let ticket = w.next_ticket;
                w.next_ticket += 1;
                w.list.push(Waiter {
                    ticket,
                    class,
                    thread: current_thread(),
                });
                self.waiting.fetch_add(1, Ordering::SeqCst);
                if self.free.fetch_or(0, Ordering::SeqCst) & class != 0 {
                    Self::remove(&mut w, ticket, &self.waiting);
                    continue;
                }
                ticket
            };
            park_timeout((deadline - now).min(MAX_PARK));
            let mut w = lock(&self.waiters);
            Self::remove(&mut w, ticket, &self.waiting);
        }
    }

    fn remove(w: &mut Waiters, ticket: u64, waiting: &AtomicU32) {
        if let Some(i) = w.list.iter().position(|x| x.ticket == ticket) {
            w.list.remove(i);
            waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A claimer that gives up while a slot of its class is free hands the
    /// wake-up it may have consumed to the next waiter.
    fn pass_on(&self, class: u32) {
        let free = self.free.load(Ordering::SeqCst) & class;
        if free != 0 {
            self.wake_one(free);
        }
    }

    fn wake_one(&self, freed: u32) {
        if self.waiting.fetch_add(0, Ordering::SeqCst) == 0 {
            return;
        }
        let mut w = lock(&self.waiters);
        if let Some(i) = w.list.iter().position(|x| x.class & freed != 0) {
            let x = w.list.remove(i);
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            x.thread.unpark();
        }
    }

    /// Gives `slot` back and wakes one waiter that can use it.
    pub(crate) fn release(&self, slot: u32) {
        let bit = 1u32 << slot;
        self.free.fetch_or(bit, Ordering::SeqCst);
        self.wake_one(bit);
    }

    /// Marks `slot` as held by a timed-out command.
    pub(crate) fn mark_stale(&self, slot: u32) {
        self.stale.fetch_or(1 << slot, Ordering::SeqCst);
    }

    /// The device gave `slot` back: it is no longer stale.
    pub(crate) fn clear_stale(&self, slot: u32) {
        self.stale.fetch_and(!(1 << slot), Ordering::SeqCst);
    }

    fn all_stale(&self, class: u32) -> bool {
        self.stale.load(Ordering::SeqCst) & class == class
    }

    /// Slots not free now.
    pub(crate) fn busy(&self) -> u32 {
        !self.free.load(Ordering::Acquire) & self.all
    }

    /// Slots marked stale now.
    pub(crate) fn stale(&self) -> u32 {
        self.stale.load(Ordering::Acquire)
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn claims_lowest_free_bit_of_the_class_and_releases() {
        let m = SlotMask::new(4);
        let regular = 0b0111;
        assert_eq!(m.try_claim(regular), Some(0));
        assert_eq!(m.try_claim(regular), Some(1));
        assert_eq!(m.try_claim(regular), Some(2));
        assert_eq!(m.try_claim(regular), None, "slot 3 is not regular");
        assert_eq!(m.try_claim(0b1000), Some(3));
        assert_eq!(m.busy(), 0b1111);
        m.release(1);
        assert_eq!(m.try_claim(regular), Some(1));
    }

    #[test]
    fn full_mask_times_out_and_all_stale_fails_fast() {
        let m = SlotMask::new(2);
        assert_eq!(m.try_claim(1), Some(0));
        let t = Instant::now();
        assert_eq!(
            m.claim(1, Instant::now() + Duration::from_millis(30), &|| false),
            Err(ClaimError::TimedOut)
        );
        assert!(t.elapsed() >= Duration::from_millis(30));
        m.mark_stale(0);
        let t = Instant::now();
        assert_eq!(
            m.claim(1, Instant::now() + Duration::from_secs(10), &|| false),
            Err(ClaimError::AllStale)
        );
        assert!(t.elapsed() < Duration::from_secs(1));
        m.clear_stale(0);
        m.release(0);
        assert_eq!(m.claim(1, Instant::now(), &|| false), Ok(0));
    }

    /// Eight threads share three slots; each holds a slot exclusively (checked
    /// with a per-slot owner counter) and at the end every slot is free.
    #[test]
    fn many_threads_never_share_a_slot_and_all_come_back() {
        let m = Arc::new(SlotMask::new(4));
        let owners: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (m, owners, done) = (m.clone(), owners.clone(), done.clone());
                std::thread::spawn(move || {
                    for _ in 0..5_000 {
                        let s = m
                            .claim(0b0111, Instant::now() + Duration::from_secs(30), &|| false)
                            .unwrap();
                        assert_eq!(owners[s as usize].fetch_add(1, Ordering::SeqCst), 0);
                        std::hint::spin_loop();
                        owners[s as usize].fetch_sub(1, Ordering::SeqCst);
                        m.release(s);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(done.load(Ordering::Relaxed), 40_000);
        assert_eq!(m.busy(), 0);
        assert_eq!(m.waiting.load(Ordering::SeqCst), 0);
        assert!(lock(&m.waiters).list.is_empty());
    }
}
