//! loom model checks of the command queue's lock-free core: the free-slot
//! bitmask with its waiter list, and the completion hand-off of a slot's state
//! word. Run with:
//! `LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg cxu_driver_loom" cargo test -p cxu-driver --lib --release loom`
//! (with `--cfg cxu_driver_loom` and no preemption bound the two-waiter model takes hours).

use std::time::Duration;

use crate::cmd::time::Instant;

use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::cmd::slot::{self, Completed, SlotSync};
use crate::cmd::slots::SlotMask;

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
