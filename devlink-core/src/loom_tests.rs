//! loom model checks (run with
//! `RUSTFLAGS="--cfg loom" cargo test -p devlink-core --release --lib loom`).
//!
//! The crate's own code runs here on loom's `Mutex`, `Condvar`, `Arc` and
//! atomics (see `sync.rs`), so every interleaving of the instance lock and
//! the notification queues is explored.

use loom::sync::atomic::AtomicBool;
use loom::thread;

use crate::notify::{Command, Delivery, EventBody, Hub, ObjectKinds};
use crate::sync::{Arc, Ordering};
use crate::{
    Builder, Capabilities, DevView, DevlinkOps, Error, Handle, InstanceGuard, ReloadCaps, Result,
    Trap, TrapAction, TrapGroup, TrapId,
};

struct Dev {
    /// Set by the test right after `unregister` returned.
    unregister_returned: Arc<AtomicBool>,
    calls: u32,
}

struct LoomOps;
static OPS: LoomOps = LoomOps;

impl DevlinkOps<Dev> for LoomOps {
    fn driver_name(&self) -> &'static str {
        "loom"
    }
    fn trap_action_set(
        &self,
        g: &mut InstanceGuard<'_, Dev>,
        _trap: TrapId,
        _action: TrapAction,
    ) -> Result<()> {
        assert!(
            !g.driver().unregister_returned.load(Ordering::SeqCst),
            "a driver op ran after unregister returned"
        );
        g.driver_mut().calls += 1;
        Ok(())
    }
}

/// A builder for device `name` with one generic trap group and nothing else.
fn builder(name: &str, flag: Arc<AtomicBool>) -> Builder<Dev> {
    let mut b = Builder::new(
        Handle::new("pci", name).unwrap(),
        &OPS,
        Capabilities::TRAP_ACTION_SET,
        ReloadCaps::default(),
        Dev {
            unregister_returned: flag,
            calls: 0,
        },
    )
    .unwrap();
    b.trap_group(TrapGroup::generic(0, 0)).unwrap();
    b
}

fn instance(flag: Arc<AtomicBool>, hub: Arc<Hub>) -> Arc<crate::Instance<Dev>> {
    let mut b = builder("0000:01:00.0", flag);
    b.hub(hub);
    b.trap(Trap::generic(0, TrapAction::Drop, 0)).unwrap();
    b.register()
}

fn request(dev: &crate::Instance<Dev>) -> Result<()> {
    dev.enter()
        .and_then(|mut g| g.trap_set_action("source_mac_is_multicast", TrapAction::Trap))
        .map(|_| ())
}

/// One request races `unregister`: it either ran its op (before the
/// barrier) or got NoDevice; the op never runs after `unregister` returned;
/// a later request is refused; the instance's `del` is the last event and
/// nothing about the trap follows it.
#[test]
fn loom_unregister_is_a_barrier() {
    loom::model(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let hub = Arc::new(Hub::new());
        let sub = hub.subscribe(ObjectKinds::DEV | ObjectKinds::TRAP, 16);
        let dev = instance(Arc::clone(&flag), hub);
        let d2 = Arc::clone(&dev);
        let t = thread::spawn(move || request(&d2));
        dev.unregister();
        flag.store(true, Ordering::SeqCst);
        let r = t.join().unwrap();
        let calls = dev.lock().driver().calls;
        match r {
            Ok(()) => assert_eq!(calls, 1),
            Err(Error::NoDevice) => assert_eq!(calls, 0),
            Err(e) => panic!("unexpected answer {e:?}"),
        }
        assert_eq!(request(&dev), Err(Error::NoDevice));
        let evs: Vec<(Command, bool)> = sub
            .drain()
            .into_iter()
            .map(|d| match d {
                Delivery::Event(e) => (e.command, matches!(e.body, EventBody::Dev(_))),
                Delivery::Overflow { .. } => panic!("overflow"),
            })
            .collect();
        assert_eq!(
            evs,
            [
                (Command::New, true),
                (Command::New, false),
                (Command::Del, false),
                (Command::Del, true)
            ]
        );
    });
}

/// Two requests and the unregister race; bounded preemption keeps the
/// search small. Each request is answered, and the op count matches the
/// successes.
#[test]
fn loom_two_requests_and_unregister() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let dev = instance(Arc::clone(&flag), Arc::new(Hub::new()));
        let (d1, d2) = (Arc::clone(&dev), Arc::clone(&dev));
        let t1 = thread::spawn(move || request(&d1));
        let t2 = thread::spawn(move || request(&d2));
        dev.unregister();
        flag.store(true, Ordering::SeqCst);
        let oks = [t1.join().unwrap(), t2.join().unwrap()]
            .into_iter()
            .map(|r| match r {
                Ok(()) => 1,
                Err(Error::NoDevice) => 0,
                Err(e) => panic!("unexpected answer {e:?}"),
            })
            .sum::<u32>();
        assert_eq!(dev.lock().driver().calls, oks);
    });
}

/// A producer emits while a consumer with a one-slot queue drains: every
/// event is either delivered or counted in an overflow marker, in order.
#[test]
fn loom_notification_queue_loses_nothing_silently() {
    loom::model(|| {
        let hub = Arc::new(Hub::new());
        let sub = hub.subscribe(ObjectKinds::DEV, 1);
        let h2 = Arc::clone(&hub);
        let producer = thread::spawn(move || {
            for _ in 0..3 {
                h2.emit(
                    Command::New,
                    "x/y".into(),
                    "x/y".into(),
                    EventBody::Dev(DevView {
                        reload_failed: false,
                        stats: None,
                    }),
                );
            }
        });
        let mut got = Vec::new();
        if let Some(d) = sub.try_recv() {
            got.push(d);
        }
        producer.join().unwrap();
        got.extend(sub.drain());
        let mut accounted = 0;
        let mut lost_seen = 0;
        let mut last_seq = None;
        for d in got {
            match d {
                Delivery::Event(e) => {
                    assert!(last_seq.is_none_or(|s| e.seq > s), "out of order");
                    last_seq = Some(e.seq);
                    accounted += 1;
                }
                Delivery::Overflow { lost } => {
                    accounted += lost;
                    lost_seen += lost;
                }
            }
        }
        assert_eq!(accounted, 3);
        assert_eq!(sub.lost_total(), lost_seen);
    });
}

/// Trap reports from two threads land in both the trap's and the group's
/// counters.
#[test]
fn loom_trap_counters() {
    loom::model(|| {
        let mut b = builder("x", Arc::new(AtomicBool::new(false)));
        let r = b.trap(Trap::generic(0, TrapAction::Drop, 0)).unwrap();
        let dev = b.register();
        let r2 = r.clone();
        let t = thread::spawn(move || r2.report(10));
        r.report(5);
        t.join().unwrap();
        let mut g = dev.enter().unwrap();
        let d = crate::Detail {
            stats: true,
            verbose: false,
        };
        let rx = g
            .trap_get("source_mac_is_multicast", d)
            .unwrap()
            .stats
            .unwrap()
            .rx;
        assert_eq!((rx.packets, rx.bytes), (Some(2), Some(15)));
        let rx = g.trap_group_get("l2_drops", d).unwrap().stats.unwrap().rx;
        assert_eq!((rx.packets, rx.bytes), (Some(2), Some(15)));
    });
}
