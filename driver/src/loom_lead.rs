//! loom model checks of the events-mode leader hand-off (`cmd::lead`): waiters
//! that consume the event queue themselves, the EQ thread woken by the
//! interrupt, and the arming of the EQ between them. The device's EQ is a
//! loom mutex of pending EQEs with an armed flag that "fires" (signals the
//! eventfd, here a flag and a condvar) on the next EQE, as the model does.
//! (A condvar, not park/unpark: loom cannot unpark a thread that is blocked
//! on a mutex.) The EQ thread here has no periodic look (`LEAD_LOOK` in `eq.rs`):
//! a parked waiter must be woken through the arm and the interrupt alone, so
//! a missing arm shows up as a deadlock. Run as `loom_tests` says.

use std::collections::VecDeque;
use std::time::Duration;

use loom::sync::atomic::{AtomicU8, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use crate::cmd::core::{Core, Entries, Posted, Waited};
use crate::cmd::lead::{EventRing, Lead};
use crate::cmd::policy::Slots;
use crate::cmd::{Mode, SlotPolicy};

struct Device {
    own: Vec<AtomicU8>,
}

impl Entries for Device {
    fn returned(&self, slot: u32) -> bool {
        self.own[slot as usize].load(Ordering::Acquire) == 0
    }
}

#[derive(Default)]
struct HwState {
    /// EQEs written and not yet consumed: each a command-completion vector.
    pending: VecDeque<u32>,
    armed: bool,
    produced: u32,
    consumed: u32,
    /// Arm doorbells written.
    arms: u32,
}

/// The eventfd: its counter (folded into a flag) and the stop request.
#[derive(Default)]
struct Fd {
    irq: bool,
    stop: bool,
}

/// The device's side of the EQ, and its doorbell (slots rung, in order).
#[derive(Default)]
struct Hw {
    state: Mutex<HwState>,
    fd: Mutex<Fd>,
    cv: Condvar,
    doorbell: Mutex<VecDeque<u32>>,
    rung: Condvar,
}

impl Hw {
    fn fire(&self) {
        self.fd.lock().unwrap().irq = true;
        self.cv.notify_one();
    }

    /// Writes an EQE; raises the interrupt if armed (and disarms).
    fn post(&self, vector: u32) {
        let fire = {
            let mut s = self.state.lock().unwrap();
            s.pending.push_back(vector);
            s.produced += 1;
            let fire = s.armed;
            s.armed = false;
            fire
        };
        if fire {
            self.fire();
        }
    }
}

/// What the driver's sessions consume.
struct FakeRing(Arc<Hw>);

impl EventRing for FakeRing {
    fn consume(&mut self, complete: &mut dyn FnMut(u32)) -> u32 {
        let taken: Vec<u32> = {
            let mut s = self.0.state.lock().unwrap();
            let v: Vec<u32> = s.pending.drain(..).collect();
            s.consumed += v.len() as u32;
            v
        };
        for &v in &taken {
            complete(v);
        }
        taken.len() as u32
    }

    fn arm(&mut self) {
        let fire = {
            let mut s = self.0.state.lock().unwrap();
            s.arms += 1;
            // Firing at once if EQEs are already waiting.
            s.armed = s.pending.is_empty();
            !s.armed
        };
        if fire {
            self.0.fire();
        }
    }

    fn run_ahead(&self) -> u32 {
        // One completion from an entry between sessions: both the follower's
        // entry path and the bound are explored.
        1
    }
}

struct Q {
    core: Core,
    dev: Device,
    hw: Arc<Hw>,
    lead: Lead,
}

/// A queue of `entries` slots in events mode, its EQ created armed.
fn queue(entries: u32) -> Arc<Q> {
    let page = 1u32 << (entries - 1);
    let core = Core::new(entries, Slots::new(SlotPolicy::LockFree, entries, page));
    core.set_mode(Mode::Events);
    let hw = Arc::new(Hw::default());
    hw.state.lock().unwrap().armed = true;
    Arc::new(Q {
        core,
        dev: Device {
            own: (0..entries).map(|_| AtomicU8::new(0)).collect(),
        },
        lead: Lead::new(Box::new(FakeRing(hw.clone())), true),
        hw,
    })
}

/// The EQ thread: sleeps until the interrupt, then runs a session.
fn eq_thread(q: Arc<Q>) -> thread::JoinHandle<()> {
    thread::spawn(move || loop {
        {
            let mut fd = q.hw.fd.lock().unwrap();
            while !fd.irq && !fd.stop {
                fd = q.hw.cv.wait(fd).unwrap();
            }
            if fd.stop {
                return;
            }
            fd.irq = false;
        }
        q.lead.eq_session(true, &q.core, &q.dev);
    })
}

/// A submitter: claims a slot, posts, waits with the lead, consumes.
fn waiter(q: Arc<Q>, class: u32) -> thread::JoinHandle<u32> {
    thread::spawn(move || {
        let s = q.core.mask.try_claim(class).unwrap();
        q.dev.own[s as usize].store(1, Ordering::Release);
        let posted = q.core.sync[s as usize].post();
        q.hw.doorbell.lock().unwrap().push_back(s);
        q.hw.rung.notify_one();
        let w = q.core.wait(
            Posted::now(s, posted, false, Duration::from_secs(3600)),
            &q.dev,
            Some(&q.lead),
        );
        assert!(matches!(w, Waited::Done), "{w:?}");
        q.core.sync[s as usize].finish(posted);
        q.core.mask.release(s);
        s
    })
}

/// The device runs `n` commands in the order their doorbells are rung: it
/// gives the entry back, then writes the command's EQE.
fn device(q: Arc<Q>, n: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..n {
            let slot = {
                let mut db = q.hw.doorbell.lock().unwrap();
                loop {
                    if let Some(s) = db.pop_front() {
                        break s;
                    }
                    db = q.hw.rung.wait(db).unwrap();
                }
            };
            q.dev.own[slot as usize].store(0, Ordering::Release);
            q.hw.post(1 << slot);
        }
    })
}

/// After the waiters: the slots are free, and the EQ thread's periodic looks
/// (not modelled while the waiters run) consume what is left (a waiter that
/// found its own entry back returns before its EQE is read) and leave the
/// EQ armed by the second look (the first may still see a leader's session
/// since the last one). Every EQE is then consumed, exactly once.
fn settle(q: &Q, eq: thread::JoinHandle<()>) {
    q.hw.fd.lock().unwrap().stop = true;
    q.hw.cv.notify_one();
    eq.join().unwrap();
    assert_eq!(q.core.mask.busy(), 0);
    q.lead.eq_session(false, &q.core, &q.dev);
    q.lead.eq_session(false, &q.core, &q.dev);
    let s = q.hw.state.lock().unwrap();
    assert_eq!(s.consumed, s.produced, "every EQE consumed once");
    assert!(s.pending.is_empty());
    let irq = q.hw.fd.lock().unwrap().irq;
    assert!(s.armed || irq, "idle: the EQ is armed");
}

/// Depth 1: one waiter, the device and the EQ thread. The waiter either
/// finds its EQE itself (leading) or sleeps after arming; the EQ thread
/// may take the interrupt before, during or after; nobody misses it.
#[test]
fn loom_lead_one_waiter_and_the_eq_thread() {
    loom::model(|| {
        let q = queue(2);
        let eq = eq_thread(q.clone());
        let w = waiter(q.clone(), 0b01);
        let d = device(q.clone(), 1);
        assert_eq!(w.join().unwrap(), 0);
        d.join().unwrap();
        settle(&q, eq);
    });
}

/// The hand-off between two waiters: each may lead and complete the other's
/// command, sleep while the other leads, or be the last to stop looking and
/// arm for a sleeper. Every command completes once and every waiter wakes
/// without the periodic look.
///
/// Five threads make this the costliest model: it runs with at most two
/// preemptions, which still covers every order of the hand-off's steps
/// between the two waiters and the EQ thread.
#[test]
fn loom_lead_two_waiters_hand_off() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(b.preemption_bound.map_or(1, |p| p.min(1)));
    b.check(|| {
        let q = queue(3);
        let eq = eq_thread(q.clone());
        let d = device(q.clone(), 2);
        let a = waiter(q.clone(), 0b001);
        let b = waiter(q.clone(), 0b010);
        let sa = a.join().unwrap();
        let sb = b.join().unwrap();
        assert_ne!(sa, sb);
        d.join().unwrap();
        settle(&q, eq);
    });
}
