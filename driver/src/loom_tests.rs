//! loom model checks of the command queue's lock-free core: the free-slot
//! bitmask with its waiter list, the completion hand-off of a slot's state
//! word, and the glue the queue ships between them ([`Core`]: wait,
//! try_complete, poll, abandon with its stale bit, fail / abort_users /
//! wake_all), with the device's ownership byte a loom atomic. Run with:
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg cxu_driver_loom" cargo test -p cxu-driver --lib --release loom`
//! (with `--cfg cxu_driver_loom` and no preemption bound the two-waiter model takes hours).

use std::time::Duration;

use crate::cmd::time::Instant;

use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::cmd::core::{Core, Entries, Posted, Waited};
use crate::cmd::policy::Slots;
use crate::cmd::slot::{self, Completed, SlotSync};
use crate::cmd::slots::SlotMask;
use crate::cmd::{Mode, SlotPolicy};
use crate::error::{Error, FatalCause};
use loom::sync::atomic::AtomicU8;

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Two claimers share one slot while a third thread holds it first: nobody
/// holds it twice, the waiter is woken by the release (a lost wake-up would be
/// a loom deadlock: parks are untimed under loom), and it ends free.
#[test]
fn loom_slot_mask_claim_release_and_wakeup() {
    loom::model(|| {
        let m = Arc::new(SlotMask::new(2)); // slot 0 regular, slot 1 reserved
        let holders = Arc::new(AtomicU32::new(0));
        let first = m.try_claim(0b01).unwrap();
        assert_eq!(first, 0);
        let t = {
            let (m, holders) = (m.clone(), holders.clone());
            thread::spawn(move || {
                let s = m.claim(0b01, far(), &|| false).unwrap();
                assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0);
                holders.fetch_sub(1, Ordering::SeqCst);
                m.release(s);
            })
        };
        // The page slot is independent of the regular class.
        assert_eq!(m.try_claim(0b10), Some(1));
        m.release(1);
        m.release(first);
        t.join().unwrap();
        assert_eq!(m.busy(), 0);
    });
}

/// Two waiters for one slot held by the main thread: each release must wake
/// a waiter that can still use the slot, so both finish.
#[test]
fn loom_slot_mask_two_waiters_one_slot() {
    loom::model(|| {
        let m = Arc::new(SlotMask::new(2));
        let first = m.try_claim(0b01).unwrap();
        let spawn = |m: Arc<SlotMask>| {
            thread::spawn(move || {
                let s = m.claim(0b01, far(), &|| false).unwrap();
                m.release(s);
            })
        };
        let a = spawn(m.clone());
        let b = spawn(m.clone());
        m.release(first);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(m.busy(), 0);
    });
}

/// A waiter parks on its slot while another thread completes the command:
/// the waiter always wakes and sees DONE, exactly one completion succeeds.
#[test]
fn loom_completion_hand_off_wakes_the_waiter() {
    loom::model(|| {
        let s = Arc::new(SlotSync::new());
        let posted = s.post();
        let seen = s.load();
        let waiter = {
            let s = s.clone();
            thread::spawn(move || {
                while !s.is_done(posted) {
                    if s.register_waiter(posted) {
                        thread::park();
                    }
                }
                s.finish(posted);
            })
        };
        let other = {
            let s = s.clone();
            thread::spawn(move || s.complete(seen))
        };
        let mine = s.complete(seen);
        let theirs = other.join().unwrap();
        let delivered = [mine, theirs]
            .iter()
            .filter(|c| **c == Completed::Delivered)
            .count();
        assert_eq!(delivered, 1, "exactly one completion");
        waiter.join().unwrap();
        assert_eq!(slot::phase(s.load()), slot::FREE);
    });
}

/// The owner gives up (timeout) while a poller completes: either the owner
/// consumes (abandon fails) or the poller reclaims (abandon succeeds), never
/// both and never neither.
#[test]
fn loom_abandon_races_completion() {
    loom::model(|| {
        let s = Arc::new(SlotSync::new());
        let posted = s.post();
        let seen = s.load();
        let poller = {
            let s = s.clone();
            thread::spawn(move || s.complete(seen))
        };
        let abandoned = s.abandon(posted);
        let polled = poller.join().unwrap();
        let owner_consumes = !abandoned;
        let reclaimed = polled == Completed::Reclaim;
        if owner_consumes {
            assert_eq!(polled, Completed::Delivered);
            s.finish(posted);
        } else if !reclaimed {
            // The poller looked before the abandon: the device's completion is
            // found by a later poll, which reclaims.
            assert_eq!(polled, Completed::Nothing);
            assert_eq!(s.complete(s.load()), Completed::Reclaim);
        }
        assert_eq!(slot::phase(s.load()), slot::FREE);
    });
}

/// The RPC channel's registration gate: a call racing removal either runs
/// entirely before `close` returns (and sees the device) or finds the gate
/// closed; no call body runs after `close` has returned, and the value comes
/// out of `close` exactly once.
#[test]
fn loom_gate_no_call_after_close_returns() {
    use crate::rpc::gate::Gate;
    use loom::sync::atomic::AtomicBool;

    loom::model(|| {
        let gate = Arc::new(Gate::new(7u32));
        let closed = Arc::new(AtomicBool::new(false));
        let inside = Arc::new(AtomicU32::new(0));
        let caller = {
            let (gate, closed, inside) = (gate.clone(), closed.clone(), inside.clone());
            thread::spawn(move || {
                let r = gate.with(|v| {
                    inside.fetch_add(1, Ordering::SeqCst);
                    // The remover cannot have returned while we are inside.
                    assert!(
                        !closed.load(Ordering::SeqCst),
                        "a call ran after close returned"
                    );
                    inside.fetch_sub(1, Ordering::SeqCst);
                    *v
                });
                assert!(r.is_none() || r == Some(7));
                r
            })
        };
        let v = gate.close();
        assert_eq!(
            inside.load(Ordering::SeqCst),
            0,
            "close returned with a call inside"
        );
        closed.store(true, Ordering::SeqCst);
        assert_eq!(v, Some(7));
        assert_eq!(gate.close(), None, "the value comes out once");
        assert_eq!(gate.with(|v| *v), None);
        assert!(!gate.is_open());
        caller.join().unwrap();
    });
}

/// The device's side of the command page: each slot's ownership byte (1 =
/// the device owns the entry), stored with release by whoever hands the entry
/// over, read with acquire by [`Entries::returned`], as the queue does on the
/// DMA page.
struct Device {
    own: Vec<AtomicU8>,
}

impl Entries for Device {
    fn returned(&self, slot: u32) -> bool {
        self.own[slot as usize].load(Ordering::Acquire) == 0
    }
}

/// A queue core of `entries` slots (the last one the page slot) and its device.
fn core(entries: u32, mode: Mode) -> Arc<(Core, Device)> {
    let page = 1u32 << (entries - 1);
    let c = Core::new(entries, Slots::new(SlotPolicy::LockFree, entries, page));
    c.set_mode(mode);
    let d = Device {
        own: (0..entries).map(|_| AtomicU8::new(0)).collect(),
    };
    Arc::new((c, d))
}

/// Hands `slot` (claimed) to the device as the queue's `post` does: the entry
/// (here one input word), then the ownership byte with release, then the
/// state word. Returns the command's word.
fn post(q: &(Core, Device), slot: u32, input: Option<(&AtomicU32, u32)>) -> u32 {
    if let Some((cell, v)) = input {
        cell.store(v, Ordering::Relaxed);
    }
    q.1.own[slot as usize].store(1, Ordering::Release);
    q.0.sync[slot as usize].post()
}

/// Waits until `slot` holds a posted command other than `not` (the device
/// sees the doorbell only after the post).
fn await_posted(q: &(Core, Device), slot: u32, not: u32) -> u32 {
    loop {
        let w = q.0.sync[slot as usize].load();
        if slot::phase(w) == slot::POSTED && slot::seq(w) != slot::seq(not) {
            return w;
        }
        thread::yield_now();
    }
}

fn far_timeout() -> Duration {
    Duration::from_secs(3600)
}

/// Item 1 of issue 15: a timed-out owner abandons the page slot while a
/// poller sees the device give it back. Whatever the order, the slot ends
/// free *and* not stale: the stale bit is set before ABANDONED is published
/// and cleared by the reclaim (or by the owner if its abandon lost). Set after
/// the publish, it could land on the freed slot, and every later page command
/// would fail with AllSlotsStalled.
#[test]
fn loom_core_timed_out_abandon_never_leaves_a_stale_free_slot() {
    loom::model(|| {
        let q = core(2, Mode::Polling);
        let slot = q.0.mask.try_claim(0b10).unwrap();
        let posted = post(&q, slot, None);
        // The device completes the command just as its owner times out.
        q.1.own[slot as usize].store(0, Ordering::Release);
        let poller = {
            let q = q.clone();
            thread::spawn(move || q.0.try_complete(slot, &q.1))
        };
        if !q.0.abandon(slot, posted, true) {
            // Completed first: the owner consumes it.
            assert_eq!(q.0.mask.stale(), 0, "the owner cleared its own mark");
            q.0.sync[slot as usize].finish(posted);
            q.0.mask.release(slot);
        }
        poller.join().unwrap();
        q.0.poll(&q.1);
        assert_eq!(q.0.mask.busy(), 0, "the slot came back");
        assert_eq!(q.0.mask.stale(), 0, "no stale bit on a free slot");
    });
}

/// Item 3 (and the sequence number's ABA argument): a slot reused by a second
/// command while the first one's owner is still inside `abandon`. The first
/// owner gives up (removal), the device gives the entry back and a poller
/// reclaims it, a second thread claims the slot, posts and parks for its
/// event. The first owner's abandon must not take the second's waiter (it
/// would never be unparked: a loom deadlock), and a poller holding an old
/// observation must not complete the new command.
#[test]
fn loom_core_reused_slot_abandon_never_takes_the_next_waiter() {
    loom::model(|| {
        let q = core(2, Mode::Events);
        let slot = q.0.mask.try_claim(0b01).unwrap();
        let first = post(&q, slot, None);
        // The device has given the first command back; a poller notices.
        q.1.own[slot as usize].store(0, Ordering::Release);
        let poller = {
            let q = q.clone();
            thread::spawn(move || {
                q.0.try_complete(slot, &q.1);
            })
        };
        let second = {
            let q = q.clone();
            thread::spawn(move || {
                let s = q.0.mask.claim(0b01, far(), &|| false).unwrap();
                let posted = post(&q, s, None);
                let w =
                    q.0.wait(Posted::now(s, posted, true, far_timeout()), &q.1, None);
                assert!(matches!(w, Waited::Done), "{w:?}");
                q.0.sync[s as usize].finish(posted);
                q.0.mask.release(s);
            })
        };
        if !q.0.abandon(slot, first, false) {
            q.0.sync[slot as usize].finish(first);
            q.0.mask.release(slot);
        } else {
            // Nobody may have looked after the abandon: look once more.
            q.0.try_complete(slot, &q.1);
        }
        // The device runs the second command and reports it (an EQE).
        let w = await_posted(&q, slot, first);
        assert_eq!(slot::phase(w), slot::POSTED);
        q.1.own[slot as usize].store(0, Ordering::Release);
        q.0.try_complete(slot, &q.1);
        poller.join().unwrap();
        second.join().unwrap();
        assert_eq!(q.0.mask.busy(), 0);
    });
}

/// Item 4: an abort (removal, for a user command) or a fatal error that comes
/// while a waiter is between its last look at the flags and its park is seen
/// after it registered: it returns the error instead of sleeping (under loom
/// a park is untimed, so a miss is a deadlock), in either mode.
#[test]
fn loom_core_abort_and_fatal_wake_a_waiter_about_to_park() {
    for mode in [Mode::Events, Mode::Polling] {
        for fatal in [false, true] {
            loom::model(move || {
                let q = core(2, mode);
                let slot = q.0.mask.try_claim(0b01).unwrap();
                let posted = post(&q, slot, None);
                let waiter = {
                    let q = q.clone();
                    thread::spawn(move || {
                        q.0.wait(Posted::now(slot, posted, true, far_timeout()), &q.1, None)
                    })
                };
                if fatal {
                    q.0.fail(FatalCause::PciDead);
                } else {
                    q.0.abort_users();
                }
                let w = waiter.join().unwrap();
                match (fatal, w) {
                    (true, Waited::Aborted(Error::FwFatal { .. })) => {}
                    (false, Waited::Aborted(Error::DeviceRemoved)) => {}
                    (_, w) => panic!("{w:?}"),
                }
                // Given up while the device owns it: the slot stays busy.
                assert!(q.0.abandon(slot, posted, false));
                assert_eq!(q.0.mask.busy(), 0b01);
            });
        }
    }
}

/// The ownership byte's publish/acquire order through the shipped glue, in
/// polling mode: the submitter writes the entry and hands it over, the device
/// reads the entry after seeing it owns it, writes the output and gives it
/// back, and another thread's poll completes it (unparking the waiter, which
/// has backed off to sleeping). The waiter then reads what the device wrote.
#[test]
fn loom_core_polling_wait_sees_the_devices_output() {
    loom::model(|| {
        let q = core(2, Mode::Polling);
        let cells = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
        let slot = q.0.mask.try_claim(0b01).unwrap();
        let device = {
            let (q, cells) = (q.clone(), cells.clone());
            thread::spawn(move || {
                // The doorbell: rung after the state word is published.
                await_posted(&q, slot, 0);
                assert_eq!(q.1.own[slot as usize].load(Ordering::Acquire), 1);
                assert_eq!(
                    cells.0.load(Ordering::Relaxed),
                    42,
                    "the entry is published"
                );
                cells.1.store(7, Ordering::Relaxed);
                q.1.own[slot as usize].store(0, Ordering::Release);
                // Another waiter's poll.
                q.0.poll(&q.1);
            })
        };
        let posted = post(&q, slot, Some((&cells.0, 42)));
        let w =
            q.0.wait(Posted::now(slot, posted, false, far_timeout()), &q.1, None);
        assert!(matches!(w, Waited::Done), "{w:?}");
        assert_eq!(cells.1.load(Ordering::Relaxed), 7, "the output is visible");
        q.0.sync[slot as usize].finish(posted);
        q.0.mask.release(slot);
        device.join().unwrap();
        assert_eq!(q.0.mask.busy(), 0);
    });
}

/// A wait that times out (a zero timeout: the first clock read is past it)
/// while the device gives the entry back: either the last look finds the
/// completion, or the owner abandons and the slot is reclaimed, not stale.
#[test]
fn loom_core_timeout_races_the_event() {
    loom::model(|| {
        let q = core(2, Mode::Events);
        let slot = q.0.mask.try_claim(0b01).unwrap();
        let posted = post(&q, slot, None);
        let eq = {
            let q = q.clone();
            thread::spawn(move || {
                q.1.own[slot as usize].store(0, Ordering::Release);
                q.0.try_complete(slot, &q.1);
            })
        };
        let w =
            q.0.wait(Posted::now(slot, posted, false, Duration::ZERO), &q.1, None);
        match w {
            Waited::Done => {
                q.0.sync[slot as usize].finish(posted);
                q.0.mask.release(slot);
            }
            Waited::TimedOut(_) => {
                if !q.0.abandon(slot, posted, true) {
                    q.0.sync[slot as usize].finish(posted);
                    q.0.mask.release(slot);
                }
            }
            w => panic!("{w:?}"),
        }
        eq.join().unwrap();
        q.0.poll(&q.1);
        assert_eq!(q.0.mask.busy(), 0);
        assert_eq!(q.0.mask.stale(), 0);
    });
}

/// The gate as the probed device ships it (`Device::with`, `recover`,
/// `remove`): a caller, a recovery replacing the value under the exclusive
/// side, and removal. A caller sees the old value, the new one or none, never
/// a value after `close` returned; the value comes out of `close` once, as
/// recovery left it (or as it was, if removal came first: recovery then finds
/// nothing). loom's RwLock does not model the writer preference of
/// parking_lot's `read` (the fairness); `a_stream_of_callers_cannot_starve_removal`
/// in `tests/device.rs` checks that on the real lock.
#[test]
fn loom_gate_recovery_replaces_and_removal_closes() {
    use crate::rpc::gate::Gate;
    use loom::sync::atomic::AtomicBool;

    loom::model(|| {
        let gate = Arc::new(Gate::new(7u32));
        let closed = Arc::new(AtomicBool::new(false));
        let caller = {
            let (gate, closed) = (gate.clone(), closed.clone());
            thread::spawn(move || {
                gate.with(|v| {
                    assert!(!closed.load(Ordering::SeqCst), "a call after close");
                    *v
                })
            })
        };
        let recovery = {
            let gate = gate.clone();
            thread::spawn(move || {
                gate.update(|g| match g.take() {
                    Some(old) => {
                        *g = Some(old + 1);
                        true
                    }
                    None => false,
                })
            })
        };
        let v = gate.close();
        closed.store(true, Ordering::SeqCst);
        let recovered = recovery.join().unwrap();
        let seen = caller.join().unwrap();
        assert_eq!(v, Some(if recovered { 8 } else { 7 }));
        assert!(matches!(seen, None | Some(7) | Some(8)), "{seen:?}");
        assert_eq!(gate.close(), None, "the value comes out once");
        assert_eq!(gate.with(|v| *v), None);
    });
}
