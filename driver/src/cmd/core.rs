//! The device-independent core of the command queue: the slots' state words
//! and free mask, the queue-wide flags (mode, fatal error, removal), and the
//! glue between them: completing a slot, polling, waiting for a command,
//! giving it up. The queue supplies the one thing that needs the device, the
//! entry's ownership bit ([`Entries`]); `loom_tests` supplies a loom atomic
//! instead and model-checks this very code.
//!
//! Waiting has two bounds, as the kernel's: the wait for a slot
//! (`QueueConfig::slot_wait`, in `SlotMask::claim`) and the execution
//! timeout, counted from the doorbell (the caller's `posted_at`), so that
//! queueing under load never turns into a timeout of a healthy command.

use std::time::Duration;

use super::habit::Habit;
use super::lead::Lead;
use super::policy::Slots;
use super::queue::Mode;
use super::slot::{self, Completed, SlotSync};
use super::time::{self, Instant};
use crate::error::{Error, FatalCause};
use crate::sync::{lock, park_timeout, spin_hint, yield_hint, AtomicBool, Mutex, Ordering};

/// How long a polling waiter spins before it starts yielding the CPU between
/// polls. Bounded in time, not in polls: at depth 32 each poll scans every busy
/// slot, and a count-bounded spin held a CPU for about a millisecond, which
/// starved firmware that shares the host's CPUs (the model, a QEMU guest) and
/// collapsed throughput (docs/performance.md, "What changed").
#[cfg(not(cxu_driver_loom))]
const POLL_SPIN: Duration = Duration::from_micros(20);
/// How long a polling waiter then polls and yields before it sleeps between
/// polls: far past a command at depth 32 on the model (~40 us), so the
/// throughput path never sleeps; a command still running after it is slow.
#[cfg(not(cxu_driver_loom))]
const POLL_YIELD: Duration = Duration::from_millis(2);
/// The first and the longest sleep of a polling waiter past [`POLL_YIELD`]:
/// the sleep doubles up to the longest, so a command of seconds costs a few
/// hundred wake-ups a second, each one poll. Another thread's poll that
/// completes the command, a fatal error and removal wake it at once.
const POLL_NAP_MIN: Duration = Duration::from_micros(50);
const POLL_NAP_MAX: Duration = Duration::from_millis(2);
/// How long an events-mode waiter with no event queue to consume itself (a
/// queue driven by `complete_vector` alone, as the criterion bench does)
/// watches its slot's state word before it parks: a parked waiter costs a
/// futex wake on the completer's path and a scheduler wake-up on its own.
#[cfg(not(cxu_driver_loom))]
const EVENT_SPIN: Duration = Duration::from_micros(100);
/// The first part of either spin keeps the CPU (a command of the in-process
/// device takes about a microsecond); after it the waiter yields between
/// looks, since with more runnable threads than CPUs (two submitters, the EQ
/// thread, the firmware's workers on two CPUs) a waiter that keeps its CPU
/// delays the very completion it waits for.
#[cfg(not(cxu_driver_loom))]
pub(crate) const BUSY_SPIN: Duration = Duration::from_micros(2);
/// How long an events-mode waiter that can consume the EQ itself ([`Lead`])
/// keeps looking while no EQE arrives at all, before it sleeps: completions
/// at depth come every microsecond or so; a command slower than this is
/// waited for asleep, woken by its interrupt (no CPU burnt on slow firmware).
#[cfg(not(cxu_driver_loom))]
pub(crate) const EVENT_IDLE: Duration = Duration::from_micros(50);
// Under loom every spin and yield phase is empty: they change no state, and
// with them the clock could not steer a model's branches.
#[cfg(cxu_driver_loom)]
const POLL_SPIN: Duration = Duration::ZERO;
#[cfg(cxu_driver_loom)]
const POLL_YIELD: Duration = Duration::ZERO;
#[cfg(cxu_driver_loom)]
const EVENT_SPIN: Duration = Duration::ZERO;
#[cfg(cxu_driver_loom)]
pub(crate) const BUSY_SPIN: Duration = Duration::ZERO;
#[cfg(cxu_driver_loom)]
pub(crate) const EVENT_IDLE: Duration = Duration::ZERO;
/// A spinning waiter reads the clock once per this many checks.
pub(crate) const CLOCK_EVERY: u32 = 16;
/// Longest park of an events-mode waiter between checks of the abort flags
/// (a safety net: fatal errors and removal unpark waiters explicitly).
pub(crate) const MAX_EVENT_PARK: Duration = Duration::from_millis(100);

fn mode_spin(mode: Mode) -> Duration {
    match mode {
        Mode::Polling => POLL_SPIN,
        Mode::Events => EVENT_SPIN,
    }
}

/// Where the device says whether it gave an entry back.
pub(crate) trait Entries {
    /// True if `slot`'s ownership bit reads 0 (an acquire load: what the
    /// device wrote before it is visible after).
    fn returned(&self, slot: u32) -> bool;
}

/// How a wait for a command ended.
#[derive(Debug)]
pub(crate) enum Waited {
    /// It completed: the owner consumes it.
    Done,
    /// A fatal error or removal: the owner gives it up with this error.
    Aborted(Error),
    /// No completion within the timeout, counted from the doorbell.
    TimedOut(Duration),
}

/// A posted command, as its owner waits for it ([`Core::wait`]).
#[derive(Clone, Copy)]
pub(crate) struct Posted<'a> {
    pub(crate) slot: u32,
    /// The slot's post count when the command was posted.
    pub(crate) posted: u32,
    /// A user command (removal aborts it), not the driver's own.
    pub(crate) user: bool,
    /// When its doorbell was rung: the timeout counts from here.
    pub(crate) posted_at: Instant,
    pub(crate) timeout: Duration,
    /// The opcode's record of how its waits ended, if kept.
    pub(crate) habit: Option<&'a Habit>,
}

#[cfg(test)]
impl Posted<'_> {
    /// A command whose doorbell rings now, with no habit kept (tests).
    pub(crate) fn now(slot: u32, posted: u32, user: bool, timeout: Duration) -> Self {
        Posted {
            slot,
            posted,
            user,
            posted_at: Instant::now(),
            timeout,
            habit: None,
        }
    }
}

/// One command's wait, as [`Core::wait`] set it up.
pub(crate) struct Wait<'a> {
    pub(crate) cmd: Posted<'a>,
    pub(crate) sync: &'a SlotSync,
    pub(crate) deadline: Instant,
}

/// The slots, their free mask and the queue-wide flags.
pub(crate) struct Core {
    pub(crate) sync: Box<[SlotSync]>,
    pub(crate) mask: Slots,
    events: AtomicBool,
    fatal: Mutex<Option<FatalCause>>,
    is_fatal: AtomicBool,
    users_aborted: AtomicBool,
}

impl Core {
    pub(crate) fn new(entries: u32, mask: Slots) -> Core {
        Core {
            sync: (0..entries).map(|_| SlotSync::new()).collect(),
            mask,
            events: AtomicBool::new(false),
            fatal: Mutex::new(None),
            is_fatal: AtomicBool::new(false),
            users_aborted: AtomicBool::new(false),
        }
    }

    /// The completion mode.
    pub(crate) fn mode(&self) -> Mode {
        if self.events.load(Ordering::Acquire) {
            Mode::Events
        } else {
            Mode::Polling
        }
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.events.store(mode == Mode::Events, Ordering::Release);
    }

    /// Firmware is dead: every waiter and every new command fails.
    pub(crate) fn fail(&self, cause: FatalCause) {
        {
            let mut f = lock(&self.fatal);
            if f.is_none() {
                *f = Some(cause);
            }
        }
        self.is_fatal.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    pub(crate) fn fatal(&self) -> Option<FatalCause> {
        if self.is_fatal.load(Ordering::Acquire) {
            *lock(&self.fatal)
        } else {
            None
        }
    }

    /// Removal: user commands in flight and new ones fail.
    pub(crate) fn abort_users(&self) {
        self.users_aborted.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Unparks every parked waiter so that it re-checks the flags. A waiter
    /// that was about to park re-checks them after it registered (`wait`).
    pub(crate) fn wake_all(&self) {
        for s in self.sync.iter() {
            s.clear_waiter_and_unpark();
        }
    }

    pub(crate) fn check_alive(&self, user: bool) -> Result<(), Error> {
        if self.is_fatal.load(Ordering::SeqCst) {
            let cause = lock(&self.fatal).unwrap_or(FatalCause::PciDead);
            return Err(Error::FwFatal { cause });
        }
        if user && self.users_aborted.load(Ordering::SeqCst) {
            return Err(Error::DeviceRemoved);
        }
        Ok(())
    }

    /// Called by a submitter between parks while no slot is free: true means
    /// give up (the device is dead or, for a user, being removed). In polling
    /// mode it also retires finished commands, since a slot given up by its
    /// owner (timeout, dropped handle) comes back only when someone polls it.
    pub(crate) fn idle(&self, user: bool, entries: &impl Entries) -> bool {
        if self.is_fatal.load(Ordering::Relaxed)
            || (user && self.users_aborted.load(Ordering::Relaxed))
        {
            return true;
        }
        if self.mode() == Mode::Polling {
            self.poll(entries);
        }
        false
    }

    /// Completes `slot` if the device has given its entry back. Any thread may
    /// call it for any slot; each command completes once.
    pub(crate) fn try_complete(&self, slot: u32, entries: &impl Entries) -> bool {
        let Some(s) = self.sync.get(slot as usize) else {
            return false;
        };
        let seen = s.load();
        if !matches!(slot::phase(seen), slot::POSTED | slot::ABANDONED) {
            return false;
        }
        if !entries.returned(slot) {
            return false;
        }
        match s.complete(seen) {
            Completed::Delivered => true,
            Completed::Reclaim => {
                tracing::debug!(slot, "a command given up earlier completed: slot reclaimed");
                // Cleared before the release: the bit is never seen on a free slot.
                self.mask.clear_stale(slot);
                self.mask.release(slot);
                true
            }
            Completed::Nothing => false,
        }
    }

    /// Completes the slots of a command-completion EQE's vector.
    pub(crate) fn complete_vector(&self, vector: u32, entries: &impl Entries) -> u32 {
        let all = u32::MAX >> (32 - self.sync.len().clamp(1, 32));
        let mut bits = vector & all;
        let mut n = 0;
        while bits != 0 {
            let slot = bits.trailing_zeros();
            bits &= bits - 1;
            n += u32::from(self.try_complete(slot, entries));
        }
        n
    }

    /// Completes every busy slot the device has given back (polling).
    pub(crate) fn poll(&self, entries: &impl Entries) -> u32 {
        let mut busy = self.mask.busy();
        let mut n = 0;
        while busy != 0 {
            let slot = busy.trailing_zeros();
            busy &= busy - 1;
            n += u32::from(self.try_complete(slot, entries));
        }
        n
    }

    /// The owner gives up the command `posted` in `slot`. `true`: abandoned
    /// (the slot comes back with the device's completion); `false`: it had
    /// completed and the owner consumes it. A timed-out command's slot is
    /// marked stale *before* the abandon is published: the completion that
    /// reclaims the slot clears the bit after seeing ABANDONED, so the bit
    /// can never be set after that clear and land on a free slot (the single
    /// MANAGE_PAGES slot would then fail every page command for good).
    pub(crate) fn abandon(&self, slot: u32, posted: u32, timed_out: bool) -> bool {
        let Some(s) = self.sync.get(slot as usize) else {
            return false;
        };
        if timed_out {
            self.mask.mark_stale(slot);
        }
        let abandoned = s.abandon(posted);
        if timed_out && !abandoned {
            // The owner still holds the slot: nobody else marks or clears it.
            self.mask.clear_stale(slot);
        }
        abandoned
    }

    /// Waits for the command `cmd`.
    /// Spins, then yields, then sleeps (parked, with its slot's waiter
    /// registered, so a completion or an abort wakes it). In events mode with
    /// an event queue to consume (`lead`), the waiter consumes it itself
    /// ([`Core::wait_led`]).
    pub(crate) fn wait(
        &self,
        cmd: Posted<'_>,
        entries: &impl Entries,
        lead: Option<&Lead>,
    ) -> Waited {
        let Posted {
            slot,
            posted,
            user,
            posted_at,
            timeout,
            ..
        } = cmd;
        let Some(sync) = self.sync.get(slot as usize) else {
            return Waited::Aborted(Error::BadMessage(format!("slot {slot}: no such slot")));
        };
        let deadline = time::after(posted_at, timeout);
        if let Some(lead) = lead.filter(|_| self.mode() == Mode::Events) {
            let w = Wait {
                cmd,
                sync,
                deadline,
            };
            if let Some(done) = self.wait_led(&w, entries, lead) {
                return done;
            }
            // Switched to polling (a dead device): poll from here on.
        }
        // The clock is read only every CLOCK_EVERY checks: a completion seen at
        // the first look costs no clock read at all.
        let mut spin_until: Option<Instant> = None;
        let mut busy_until: Option<Instant> = None;
        let mut poll_yield_until: Option<Instant> = None;
        let mut nap = POLL_NAP_MIN;
        let mut spinning = true;
        let mut busy = true;
        let mut checks: u32 = 0;
        loop {
            let mode = self.mode();
            if mode == Mode::Polling {
                // Its own slot first: a full scan of every busy slot per check
                // cost more than the rest of the completion at depth 32.
                self.try_complete(slot, entries);
            }
            if sync.is_done(posted) {
                return Waited::Done;
            }
            if let Err(e) = self.check_alive(user) {
                return Waited::Aborted(e);
            }
            let now = if checks % CLOCK_EVERY == 0 || !spinning {
                let now = Instant::now();
                let until = *spin_until.get_or_insert(time::after(now, mode_spin(mode)));
                spinning = now < until;
                busy = now < *busy_until.get_or_insert(time::after(now, BUSY_SPIN));
                Some(now)
            } else {
                None
            };
            checks = checks.wrapping_add(1);
            if let Some(now) = now.filter(|&n| n >= deadline) {
                // Last look, as the kernel's EQ recovery does.
                self.try_complete(slot, entries);
                if sync.is_done(posted) {
                    return Waited::Done;
                }
                return Waited::TimedOut(now.saturating_duration_since(posted_at));
            }
            if spinning {
                if busy {
                    spin_hint();
                } else {
                    yield_hint();
                }
                continue;
            }
            let now = now.unwrap_or_else(Instant::now);
            let park_for = match mode {
                Mode::Polling => {
                    // Past the spin: retire every finished slot (commands given
                    // up by their owners come back only through a poll), and let
                    // the device's threads have the CPU.
                    self.poll(entries);
                    if now < *poll_yield_until.get_or_insert(time::after(now, POLL_YIELD)) {
                        yield_hint();
                        continue;
                    }
                    let d = nap;
                    nap = (nap * 2).min(POLL_NAP_MAX);
                    d
                }
                Mode::Events => MAX_EVENT_PARK,
            };
            if !sync.register_waiter(posted) {
                continue;
            }
            // Registered: from here a completion, `fail` or `abort_users`
            // unparks this thread. What happened before it registered is seen
            // by looking again now, not up to a park later.
            if mode == Mode::Polling {
                self.try_complete(slot, entries);
            }
            if sync.is_done(posted) || self.check_alive(user).is_err() || self.mode() != mode {
                continue;
            }
            park_timeout(deadline.saturating_duration_since(now).min(park_for));
        }
    }
}
