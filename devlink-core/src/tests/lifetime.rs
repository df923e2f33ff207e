//! Registration lifetime: the unregister barrier, single-threaded and under
//! load.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use super::*;

#[test]
fn after_unregister_requests_get_no_device_and_ops_are_never_called() {
    let (b, _, _) = populated();
    let dev = b.register();
    dev.unregister();
    assert!(!dev.is_registered());
    assert!(matches!(dev.enter(), Err(Error::NoDevice)));
    // Even through the driver's own lock path, nothing reaches the ops.
    let mut g = dev.lock();
    assert_eq!(
        g.trap_set_action("vlan_tag_mismatch", TrapAction::Trap),
        Err(Error::NoDevice)
    );
    assert_eq!(g.trap_policer_set(1, Some(10), None), Err(Error::NoDevice));
    assert_eq!(g.port_set_type(1, PortType::Eth), Err(Error::NoDevice));
    assert_eq!(g.port_split(1, 2), Err(Error::NoDevice));
    assert_eq!(
        g.param_get("fw_load_policy").map(|_| ()),
        Err(Error::NoDevice)
    );
    assert_eq!(
        g.param_set("max_macs", Cmode::Driverinit, ParamValue::U32(2)),
        Err(Error::NoDevice)
    );
    assert_eq!(g.info_get().map(|_| ()), Err(Error::NoDevice));
    assert_eq!(g.flash_update(FlashRequest::new("x")), Err(Error::NoDevice));
    assert_eq!(g.reload(None, None).map(|_| ()), Err(Error::NoDevice));
    assert_eq!(
        g.health_diagnose("fw", None).map(|_| ()),
        Err(Error::NoDevice)
    );
    assert_eq!(
        g.health_set("fw", None, HealthSet::default()),
        Err(Error::NoDevice)
    );
    drop(g);
    assert_eq!(dev.health_report("fw", None, "late"), Err(Error::NoDevice));
    assert!(calls(&dev.lock()).is_empty());
}

#[test]
fn unregister_from_inside_an_op_stops_the_request() {
    let (mut b, _) = builder_with(Capabilities::all() - Capabilities::TRAP_GROUP_ACTION_SET);
    b.trap_group(TrapGroup::generic(L2, 0)).unwrap();
    b.traps([
        Trap::generic(SMAC_MC, TrapAction::Drop, L2),
        Trap::generic(VLAN_MISMATCH, TrapAction::Drop, L2),
    ])
    .unwrap();
    b.driver_mut().unregister_in_trap_action_set = true;
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert_eq!(
        g.trap_group_set("l2_drops", Some(TrapAction::Trap), None),
        Err(Error::NoDevice)
    );
    assert_eq!(calls(&g), ["trap_action_set 0 trap"]);
    assert!(!g.is_registered());
}

#[test]
fn memory_outlives_registration() {
    let (b, _, _) = populated();
    let dev = b.register();
    let other = Arc::clone(&dev);
    dev.unregister();
    // The driver can still reach its state to tear down.
    dev.lock().driver_mut().calls.push("teardown".into());
    let dev = match Instance::try_into_driver(dev) {
        Ok(_) => panic!("another reference is alive"),
        Err(d) => d,
    };
    drop(other);
    let state = Instance::try_into_driver(dev).ok().unwrap();
    assert_eq!(state.calls, ["teardown"]);
}

#[test]
fn a_request_waiting_for_the_lock_during_unregister_gets_no_device() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    let d2 = Arc::clone(&dev);
    let t = thread::spawn(move || {
        d2.enter()
            .and_then(|mut g| g.trap_set_action("vlan_tag_mismatch", TrapAction::Trap))
    });
    // Give the request time to block on the lock (it gets NoDevice either way).
    thread::sleep(Duration::from_millis(50));
    g.unregister();
    drop(g);
    assert_eq!(t.join().unwrap(), Err(Error::NoDevice));
    assert!(calls(&dev.lock()).is_empty());
}

/// Many threads issue requests while the driver unregisters. Every request
/// gets an answer (success or NoDevice, nothing else), every success made
/// exactly one driver call, no driver call happened after `unregister`
/// returned (each op takes a ticket from a shared counter and the test
/// takes one right after `unregister` returns), and every request started
/// after `unregister` returned got NoDevice. Workers stop a fixed number of
/// requests after seeing `unregister` return, so a broken barrier fails the
/// test instead of hanging it.
#[test]
fn unregister_under_load_loses_nothing_and_is_a_barrier() {
    const THREADS: usize = 8;
    const AFTER: u64 = 200;
    let (mut b, _, _) = populated();
    let log = Arc::new(OpLog::default());
    b.driver_mut().log = Some(Arc::clone(&log));
    let dev = b.register();
    let returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let start = Arc::new(Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let dev = Arc::clone(&dev);
            let start = Arc::clone(&start);
            let returned = Arc::clone(&returned);
            thread::spawn(move || {
                start.wait();
                let (mut issued, mut ok, mut nodev, mut late) = (0u64, 0u64, 0u64, 0u64);
                while late < AFTER {
                    let after_unregister = returned.load(Ordering::SeqCst);
                    issued += 1;
                    let r = dev.enter().and_then(|mut g| match (issued + t as u64) % 3 {
                        0 => g
                            .trap_set_action("vlan_tag_mismatch", TrapAction::Drop)
                            .map(|_| ()),
                        1 => g.trap_policer_set(1, Some(1000 + issued % 100), None),
                        _ => g.param_get("fw_load_policy").map(|_| ()),
                    });
                    if after_unregister {
                        late += 1;
                        assert_eq!(
                            r,
                            Err(Error::NoDevice),
                            "a request after unregister returned was served"
                        );
                    }
                    match r {
                        Ok(()) => ok += 1,
                        Err(Error::NoDevice) => nodev += 1,
                        Err(e) => panic!("unexpected answer: {e}"),
                    }
                }
                (issued, ok, nodev)
            })
        })
        .collect();
    start.wait();
    // Unregister once the load is well under way (bounded wait: if no
    // request succeeds the assertions below fail).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while log.tickets.lock().unwrap().len() < 2000 && std::time::Instant::now() < deadline {
        thread::yield_now();
    }
    dev.unregister();
    let after = log.clock.fetch_add(1, Ordering::SeqCst);
    returned.store(true, Ordering::SeqCst);
    let mut total_ok = 0;
    for w in workers {
        let (issued, ok, nodev) = w.join().unwrap();
        assert_eq!(issued, ok + nodev, "every request got an answer");
        assert!(nodev >= AFTER);
        total_ok += ok;
    }
    let tickets = log.tickets.lock().unwrap();
    assert_eq!(
        tickets.len() as u64,
        total_ok,
        "one driver call per successful request"
    );
    assert!(
        total_ok >= 2000,
        "only {total_ok} requests were served before unregister"
    );
    let late: Vec<&u64> = tickets.iter().filter(|t| **t >= after).collect();
    assert!(
        late.is_empty(),
        "driver ops ran after unregister returned: {late:?}"
    );
}

/// In every build profile: `cargo test --release` runs it too.
#[test]
#[should_panic(expected = "not re-entrant")]
fn taking_the_lock_twice_on_one_thread_panics() {
    let (b, _, _) = populated();
    let dev = b.register();
    let _g = dev.lock();
    // The mistake the kernel's lockdep catches: reporting through the
    // locking entry point while holding the guard.
    let _ = dev.health_report("fw", None, "oops");
}

#[test]
fn guards_on_different_instances_nest() {
    let (b1, _, _) = populated();
    let (b2, _, _) = populated();
    let (d1, d2) = (b1.register(), b2.register());
    let g1 = d1.lock();
    let g2 = d2.lock();
    drop(g1);
    drop(g2);
    // Released: both can be taken again.
    let _g1 = d1.enter().unwrap();
    let _g2 = d2.enter().unwrap();
}
