//! Adaptive completion in events mode (issue 17 part 3): a waiter that can
//! complete its own command does. It consumes the event queue itself, as a
//! *leader*, completing every command whose EQE it finds; the other waiters
//! follow: they watch their own slot, and complete from their own entry when
//! the device gives it back before a session reads its EQE, as long as the
//! followers have not run more than [`EventRing::run_ahead`] commands ahead
//! of the last session (past that they wait for a session, or lead one, so
//! the EQEs left unread stay bounded and the ring never overruns, even with
//! the leader preempted). The EQ thread stays the EQ's owner for
//! everything else: it is woken by the interrupt, handles page requests and
//! port events found in its sessions, and arms the EQ whenever nobody is
//! looking for a completion.
//!
//! One EQ, one consumer at a time: the [`EventRing`] (the ring, its consumer
//! index, the doorbell) sits behind one mutex. A leader only `try_lock`s it;
//! whoever holds it consumes one pass (at most the polling budget), and the
//! consumer index goes to the device exactly as before (every 128 EQEs, and
//! with every arm). Each EQE is read by exactly one session; each command
//! completes once whatever reads its EQE (the slot's state word CAS).
//!
//! The EQ's arming (reference §7: an armed EQ raises its vector on the next
//! EQE and disarms; software re-arms after consuming):
//!
//! * `armed` is true from an arm until the EQ thread takes the interrupt it
//!   may have raised. While it is true, an EQE reaches the EQ thread.
//! * The EQ thread, after the interrupt, consumes and leaves the EQ *unarmed*
//!   if a waiter is active (looking for completions): the waiters consume
//!   from then on and no EQE costs an interrupt or a wake-up.
//! * The last active waiter to stop looking arms the EQ (after consuming)
//!   if it is about to sleep or another waiter sleeps: a sleeping waiter
//!   is then always woken by the interrupt. A waiter that leaves because its
//!   command is done, with nobody asleep, leaves the EQ unarmed: the next
//!   command's waiter will consume. The EQ thread, while the EQ is unarmed,
//!   looks every millisecond (page requests and port events arrive then,
//!   with nobody waiting) and arms it once a look finds no leader at work.
//!
//! `loom_tests` checks the hand-off with untimed parks and no such tick: a
//! sleeping waiter must be woken by the arm/interrupt path alone.

use super::core::{Core, Entries, Wait, Waited, BUSY_SPIN, CLOCK_EVERY, MAX_EVENT_PARK};
use super::habit::{Habit, Look};
use super::queue::Mode;
use super::time::{self, Instant};
use crate::sync::{
    lock, park_timeout, spin_hint, try_lock, yield_hint, AtomicBool, AtomicU32, Mutex, Ordering,
};

/// A waiter whose command is not back tries to lead a session at every this
/// many looks, not at each: an empty session still takes the consumer's lock
/// and reads the EQE the device is about to write, lines the device and the
/// other waiters then have to take back; followers complete from their own
/// entries meanwhile, within the run-ahead bound. (A/B, 2 x 3 alternated
/// runs: events at >= 0.8 of polling at 21 of 30 points, against 12 when
/// every look led.)
#[cfg(not(cxu_driver_loom))]
const LEAD_EVERY: u32 = 8;
/// Under loom every look leads: the looks in between change no state.
#[cfg(cxu_driver_loom)]
const LEAD_EVERY: u32 = 1;

/// The event queue as its consumers see it.
pub(crate) trait EventRing: Send {
    /// Consumes the EQEs software owns now, at most one polling budget, and
    /// dispatches them: the slot vector of a command completion goes to
    /// `complete`, everything else (page requests, port events) the ring
    /// hands on itself. Returns how many EQEs.
    fn consume(&mut self, complete: &mut dyn FnMut(u32)) -> u32;
    /// Writes the consumer index and arms the EQ.
    fn arm(&mut self);
    /// How many completions followers may take from their own entries
    /// between two sessions (their EQEs stay unread meanwhile) without the
    /// ring overrunning or a session finding more than one pass's worth.
    fn run_ahead(&self) -> u32;
}

struct Consumer {
    /// `None` once the EQ is destroyed.
    ring: Option<Box<dyn EventRing>>,
    /// Armed, and the EQ thread has not yet taken the interrupt since.
    armed: bool,
}

/// The leader hand-off of one queue's event queue.
pub(crate) struct Lead {
    consumer: Mutex<Consumer>,
    /// Events-mode waiters looking for completions now (not asleep).
    active: AtomicU32,
    /// Events-mode waiters asleep (parked) on their slot.
    parked: AtomicU32,
    /// A waiter looked for completions since the EQ thread last looked:
    /// waiters are about, and they consume. (Set by every waiter, not only by
    /// a leader that consumed: followers that complete from their entries
    /// lead a session only every so many commands, and an EQ thread that
    /// took their stream for idle re-armed the EQ in between, an interrupt
    /// per command until it next saw a waiter; in a one-CPU guest that
    /// halved events mode's throughput at depth 31.)
    looked: AtomicBool,
    /// EQEs consumed so far, by anyone: a follower's sign that completions
    /// are arriving (it keeps looking while this moves).
    progress: AtomicU32,
    /// Completions followers took from their own entries since the last
    /// session began (their EQEs are not read yet).
    ahead: AtomicU32,
    /// [`EventRing::run_ahead`] of this ring.
    ahead_limit: u32,
}

/// What the EQ thread does after a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// The EQ is armed: sleep until the interrupt.
    Armed,
    /// Left unarmed for the waiters: look again soon.
    Unarmed,
}

impl Lead {
    /// `ring` was armed at creation (`armed`) or not.
    pub(crate) fn new(ring: Box<dyn EventRing>, armed: bool) -> Lead {
        let ahead_limit = ring.run_ahead();
        Lead {
            consumer: Mutex::new(Consumer {
                ring: Some(ring),
                armed,
            }),
            active: AtomicU32::new(0),
            parked: AtomicU32::new(0),
            looked: AtomicBool::new(false),
            progress: AtomicU32::new(0),
            ahead: AtomicU32::new(0),
            ahead_limit,
        }
    }

    /// The EQ is gone (destroyed, its thread joined): nobody consumes it.
    pub(crate) fn retire(&self) {
        lock(&self.consumer).ring = None;
    }

    /// EQEs consumed so far.
    pub(crate) fn progress(&self) -> u32 {
        self.progress.load(Ordering::Relaxed)
    }

    fn session(&self, c: &mut Consumer, core: &Core, entries: &impl Entries) -> u32 {
        let Some(ring) = c.ring.as_mut() else {
            return 0;
        };
        // Every EQE written before this point is read by this pass (fewer
        // than one pass's worth are unread, see `EventRing::run_ahead`):
        // followers may run ahead again from here.
        self.ahead.store(0, Ordering::Relaxed);
        let n = ring.consume(&mut |vector| {
            core.complete_vector(vector, entries);
        });
        if n > 0 {
            self.progress.fetch_add(n, Ordering::Relaxed);
        }
        n
    }

    fn arm(c: &mut Consumer) {
        if let Some(ring) = c.ring.as_mut() {
            ring.arm();
            c.armed = true;
        }
    }

    /// A follower whose entry is back may complete from it (rather than wait
    /// for a session to read its EQE) while few enough have since the last
    /// session began.
    fn may_run_ahead(&self) -> bool {
        self.ahead.load(Ordering::Relaxed) < self.ahead_limit
            && self.ahead.fetch_add(1, Ordering::Relaxed) < self.ahead_limit
    }

    /// A waiter starts looking for completions.
    pub(crate) fn enter(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.note_looking();
    }

    /// Marks that a waiter looked since the EQ thread's last look; read
    /// first, so that a stream of waiters does not write the line each time.
    fn note_looking(&self) {
        if !self.looked.load(Ordering::Relaxed) {
            self.looked.store(true, Ordering::Relaxed);
        }
    }

    /// Consumes the EQ if nobody else is: `Some(EQEs consumed)` if this
    /// thread led a session, `None` if another consumer holds the EQ.
    pub(crate) fn try_lead(&self, core: &Core, entries: &impl Entries) -> Option<u32> {
        let mut c = try_lock(&self.consumer)?;
        Some(self.session(&mut c, core, entries))
    }

    /// A waiter stops looking: its command is done (or it gives up), or it
    /// is about to sleep (`parking`). The last one arms the EQ if anyone
    /// will be asleep, so that the interrupt wakes the EQ thread for them.
    /// The count goes down *before* the consumer's lock is taken: an EQ
    /// thread session that saw this waiter still active (and left the EQ
    /// unarmed) has released the lock by then, and `armed` is read after it.
    pub(crate) fn leave(&self, parking: bool, core: &Core, entries: &impl Entries) {
        if parking {
            self.parked.fetch_add(1, Ordering::SeqCst);
        }
        let last = self.active.fetch_sub(1, Ordering::SeqCst) == 1;
        if last && (parking || self.parked.load(Ordering::SeqCst) > 0) {
            let mut c = lock(&self.consumer);
            if !c.armed {
                self.session(&mut c, core, entries);
                Self::arm(&mut c);
            }
        }
    }

    /// A parked waiter woke up and looks again.
    pub(crate) fn unparked(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.note_looking();
        self.parked.fetch_sub(1, Ordering::SeqCst);
    }

    /// The EQ thread's turn: after an interrupt (`fired`) or a timeout.
    /// Consumes one pass, then arms the EQ unless a waiter is active (or,
    /// with nobody asleep, one looked since the last look).
    pub(crate) fn eq_session(&self, fired: bool, core: &Core, entries: &impl Entries) -> After {
        let mut c = lock(&self.consumer);
        if fired {
            // The interrupt disarmed the EQ.
            c.armed = false;
        }
        let n = self.session(&mut c, core, entries);
        let looked = self.looked.swap(false, Ordering::Relaxed);
        let busy = self.active.load(Ordering::SeqCst) > 0
            || (looked && self.parked.load(Ordering::SeqCst) == 0);
        // Already armed and nothing consumed (an idle look on the timeout):
        // the EQ is as it should be, and a doorbell write would be one more
        // trapped access every poll period for nothing. An interrupt raised
        // meanwhile waits in the eventfd and the next look takes it.
        if !busy && (!c.armed || n > 0) {
            Self::arm(&mut c);
        }
        if c.armed || c.ring.is_none() {
            After::Armed
        } else {
            After::Unarmed
        }
    }
}

/// An events-mode waiter counted as active; leaves when dropped (every way
/// out of [`Core::wait_led`]), unless it has left to sleep.
struct Looking<'a, E: Entries> {
    lead: &'a Lead,
    core: &'a Core,
    entries: &'a E,
    on: bool,
}

impl<E: Entries> Drop for Looking<'_, E> {
    fn drop(&mut self) {
        if self.on {
            self.lead.leave(false, self.core, self.entries);
        }
    }
}

impl Core {
    /// Whether the command `posted` in `slot` has completed, completing it
    /// if the device gave its entry back, without waiting: the check of a
    /// handle ([`super::CmdHandle::is_done`]) and the first look of every
    /// events-mode wait. In events mode with an event queue to consume, a
    /// command completes from its entry only within the followers' bound
    /// ([`EventRing::run_ahead`]); past it, only by leading a session if
    /// nobody else is, so that checks alone never leave the ring's EQEs
    /// unread until it overruns.
    pub(crate) fn check_done(
        &self,
        slot: u32,
        posted: u32,
        entries: &impl Entries,
        lead: Option<&Lead>,
    ) -> bool {
        let Some(sync) = self.sync.get(slot as usize) else {
            return false;
        };
        if sync.is_done(posted) {
            return true;
        }
        match lead.filter(|_| self.mode() == Mode::Events) {
            None => {
                self.try_complete(slot, entries);
            }
            Some(lead) => {
                if !entries.returned(slot) {
                    return false;
                }
                lead.note_looking();
                // A session that began after the entry came back is within
                // the bound whatever the followers' count says.
                if lead.may_run_ahead() || lead.try_lead(self, entries).is_some() {
                    self.try_complete(slot, entries);
                }
            }
        }
        sync.is_done(posted)
    }

    /// A command already done, or whose entry is back ([`Core::check_done`]),
    /// completes before its waiter counts itself as active: with commands in
    /// flight that is most waits, and entering and leaving cost three
    /// sequentially consistent operations on lines every waiter writes. Such
    /// a waiter never sleeps, so nobody relies on its leave to arm the EQ.
    fn done_at_once(&self, w: &Wait<'_>, entries: &impl Entries, lead: &Lead) -> Option<Waited> {
        if !self.check_done(w.cmd.slot, w.cmd.posted, entries, Some(lead)) {
            return None;
        }
        if let Some(h) = w.cmd.habit {
            h.ended(Look::FULL, true);
        }
        Some(Waited::Done)
    }

    /// The events-mode wait with an event queue to consume: look at the
    /// slot, lead a session if nobody else consumes, spin (then yield) while
    /// EQEs keep arriving, sleep once none has for [`Look::FULL`] (or the
    /// opcode's shorter look, `cmd::habit`). `None`: the queue was switched
    /// to polling meanwhile.
    pub(crate) fn wait_led(
        &self,
        w: &Wait<'_>,
        entries: &impl Entries,
        lead: &Lead,
    ) -> Option<Waited> {
        if let Some(done) = self.done_at_once(w, entries, lead) {
            return Some(done);
        }
        lead.enter();
        let look = w.cmd.habit.map_or(Look::FULL, Habit::look);
        // Whether the wait ended without a sleep, for the opcode's habit.
        let mut slept = false;
        let done = |slept: bool| {
            if let Some(h) = w.cmd.habit {
                h.ended(look, !slept);
            }
            Some(Waited::Done)
        };
        let mut looking = Looking {
            lead,
            core: self,
            entries,
            on: true,
        };
        let mut seen = lead.progress();
        let mut moved = true;
        let mut since: Option<Instant> = None;
        // Set at the first look's clock read (`moved` starts true): no clock
        // read of its own for a wait whose command is already done.
        let mut idle_since = w.cmd.posted_at;
        let mut spin = true;
        let mut checks: u32 = 0;
        loop {
            if w.sync.is_done(w.cmd.posted) {
                return done(slept);
            }
            if let Err(e) = self.check_alive(w.cmd.user) {
                return Some(Waited::Aborted(e));
            }
            if self.mode() != Mode::Events {
                return None;
            }
            // Its own entry first, as a polling waiter does: a follower does
            // not wait for a session to read its EQE, as long as it does not
            // run the device too far ahead of the EQ's consumer. That EQE,
            // read later, finds the slot done, and a reused slot's ownership
            // bit keeps it from completing the next command early.
            if entries.returned(w.cmd.slot) && lead.may_run_ahead() {
                self.try_complete(w.cmd.slot, entries);
                if w.sync.is_done(w.cmd.posted) {
                    return done(slept);
                }
            }
            if checks % LEAD_EVERY == 0 && lead.try_lead(self, entries).is_some() {
                // Just drained the EQ: its own entry may be back before its
                // EQE is written; take it (a session began, so this is
                // within the bound whatever the followers' count says).
                self.try_complete(w.cmd.slot, entries);
                if w.sync.is_done(w.cmd.posted) {
                    return done(slept);
                }
            }
            let p = lead.progress();
            moved |= p != seen;
            seen = p;
            if checks % CLOCK_EVERY == 0 || !spin {
                let now = Instant::now();
                if now >= w.deadline {
                    // Last look, as the kernel's EQ recovery does.
                    lead.try_lead(self, entries);
                    if w.sync.is_done(w.cmd.posted) {
                        return Some(Waited::Done);
                    }
                    return Some(Waited::TimedOut(
                        now.saturating_duration_since(w.cmd.posted_at),
                    ));
                }
                if moved {
                    idle_since = now;
                    moved = false;
                }
                spin = now < time::after(*since.get_or_insert(now), BUSY_SPIN);
                if now >= time::after(idle_since, look.idle) {
                    // Nothing has arrived for a while: sleep until the
                    // completion (a leader's or the EQ thread's) wakes us.
                    looking.on = false;
                    slept = true;
                    lead.leave(true, self, entries);
                    if w.sync.register_waiter(w.cmd.posted)
                        && !w.sync.is_done(w.cmd.posted)
                        && self.check_alive(w.cmd.user).is_ok()
                        && self.mode() == Mode::Events
                    {
                        park_timeout(
                            w.deadline
                                .saturating_duration_since(now)
                                .min(MAX_EVENT_PARK),
                        );
                    }
                    lead.unparked();
                    looking.on = true;
                    moved = true;
                    continue;
                }
            }
            checks = checks.wrapping_add(1);
            if spin {
                spin_hint();
            } else {
                yield_hint();
            }
        }
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    //! The bound on followers running ahead of the EQ's consumer, with the
    //! device and the EQ made deterministic: nothing but the waiter itself
    //! ever consumes the EQ (no EQ thread), and every command's entry is back
    //! before its wait begins, so a follower could always complete from it.

    use std::collections::VecDeque;
    use std::sync::atomic::AtomicU8;
    use std::sync::{Arc, Mutex as StdMutex};
    use std::time::Duration;

    use super::*;
    use crate::cmd::core::Posted;
    use crate::cmd::policy::Slots;
    use crate::cmd::SlotPolicy;

    const EQ_SIZE: usize = 256;

    #[derive(Default)]
    struct Eq {
        /// EQEs written and not consumed (command-completion vectors).
        unread: VecDeque<u32>,
        most_unread: usize,
        /// EQEs the device dropped because the ring was full.
        overrun: u32,
    }

    struct Ring(Arc<StdMutex<Eq>>, u32);

    impl EventRing for Ring {
        fn consume(&mut self, complete: &mut dyn FnMut(u32)) -> u32 {
            let taken: Vec<u32> = {
                let mut eq = self.0.lock().unwrap();
                let n = eq.unread.len().min(128);
                eq.unread.drain(..n).collect()
            };
            for &v in &taken {
                complete(v);
            }
            taken.len() as u32
        }
        fn arm(&mut self) {}
        fn run_ahead(&self) -> u32 {
            self.1
        }
    }

    struct Own(Vec<AtomicU8>);

    impl Entries for Own {
        fn returned(&self, slot: u32) -> bool {
            self.0[slot as usize].load(Ordering::Acquire) == 0
        }
    }

    /// How the owner of each command learns it completed.
    #[derive(Clone, Copy)]
    enum Owner {
        /// `Core::wait`.
        Waits,
        /// `Core::check_done` until true, as a caller of `CmdHandle::is_done`.
        Checks,
    }

    /// Runs `n` commands at depth 1 in events mode with a follower bound of
    /// `run_ahead`, returning the ring's record.
    fn commands(n: u32, run_ahead: u32) -> Eq {
        commands_by(n, run_ahead, Owner::Waits)
    }

    fn commands_by(n: u32, run_ahead: u32, owner: Owner) -> Eq {
        let eq = Arc::new(StdMutex::new(Eq::default()));
        let core = Core::new(2, Slots::new(SlotPolicy::LockFree, 2, 0b10));
        core.set_mode(Mode::Events);
        let lead = Lead::new(Box::new(Ring(eq.clone(), run_ahead)), false);
        let own = Own((0..2).map(|_| AtomicU8::new(0)).collect());
        for _ in 0..n {
            let s = core.mask.try_claim(0b01).expect("a free slot");
            own.0[s as usize].store(1, Ordering::Release);
            let posted = core.sync[s as usize].post();
            // The device: gives the entry back, then writes the EQE.
            own.0[s as usize].store(0, Ordering::Release);
            {
                let mut e = eq.lock().unwrap();
                if e.unread.len() == EQ_SIZE {
                    e.overrun += 1;
                } else {
                    e.unread.push_back(1 << s);
                    e.most_unread = e.most_unread.max(e.unread.len());
                }
            }
            match owner {
                Owner::Waits => {
                    let w = core.wait(
                        Posted::now(s, posted, false, Duration::from_secs(60)),
                        &own,
                        Some(&lead),
                    );
                    assert!(matches!(w, Waited::Done), "{w:?}");
                }
                Owner::Checks => {
                    // Nobody else consumes: a check must complete it at once.
                    assert!(core.check_done(s, posted, &own, Some(&lead)));
                }
            }
            core.sync[s as usize].finish(posted);
            core.mask.release(s);
        }
        let mut e = eq.lock().unwrap();
        std::mem::take(&mut *e)
    }

    /// No EQE lost, at most one more than the bound of 64 unread at once,
    /// and completions did run ahead (a waiter that always led would have
    /// left at most one EQE unread).
    fn ran_ahead_within_the_bound(eq: &Eq) {
        assert_eq!(eq.overrun, 0, "EQEs lost");
        assert!(
            eq.most_unread <= 64 + 1,
            "{} EQEs unread at once with a bound of 64",
            eq.most_unread
        );
        assert!(eq.most_unread > 32, "{} unread at most", eq.most_unread);
    }

    #[test]
    fn followers_run_ahead_of_the_eq_only_as_far_as_the_bound() {
        ran_ahead_within_the_bound(&commands(2000, 64));
    }

    /// A caller that only checks its handles (never waits) completes from
    /// entries within the same bound, and past it leads a session: checks
    /// alone never leave the ring to overrun (they completed from the entry
    /// whatever the count before, and 2000 commands overran the ring).
    #[test]
    fn checks_keep_to_the_same_bound() {
        ran_ahead_within_the_bound(&commands_by(2000, 64, Owner::Checks));
    }

    /// A waiter that completed without leading a session (a follower from
    /// its entry) still tells the EQ thread that waiters are about: its next
    /// look leaves the EQ unarmed, and only a look with nobody since arms it.
    #[test]
    fn the_eq_thread_arms_only_after_a_look_with_no_waiter_since() {
        let eq = Arc::new(StdMutex::new(Eq::default()));
        let core = Core::new(2, Slots::new(SlotPolicy::LockFree, 2, 0b10));
        core.set_mode(Mode::Events);
        let lead = Lead::new(Box::new(Ring(eq, 64)), false);
        let own = Own((0..2).map(|_| AtomicU8::new(0)).collect());
        lead.enter();
        lead.leave(false, &core, &own);
        assert_eq!(lead.eq_session(false, &core, &own), After::Unarmed);
        assert_eq!(lead.eq_session(false, &core, &own), After::Armed);
    }

    #[test]
    fn without_the_bound_the_ring_would_overrun() {
        // What the bound prevents: with nobody else consuming, a waiter that
        // always completes from its own entry never reads the EQ.
        let eq = commands(2000, u32::MAX);
        assert!(eq.overrun > 0, "{} unread at most", eq.most_unread);
    }
}
