//! Notification order, filtering and overflow.

use super::*;

fn populated_on_hub() -> (std::sync::Arc<Instance<Dev>>, Subscription) {
    let (mut b, _, _) = populated();
    let hub = std::sync::Arc::new(Hub::new());
    b.hub(hub.clone());
    let mon = hub.subscribe(ObjectKinds::all(), 1024);
    assert!(mon.drain().is_empty());
    (b.register(), mon)
}

const DEV: &str = "pci/0000:01:00.0";

fn expected_register() -> Vec<(String, String, String)> {
    let e = |c: &str, o: &str, k: &str| (c.to_string(), o.to_string(), k.to_string());
    vec![
        e("new", "dev", DEV),
        e("new", "port", "pci/0000:01:00.0/1"),
        e("new", "port", "pci/0000:01:00.0/2"),
        e("new", "trap-policer", DEV),
        e("new", "trap-group", DEV),
        e("new", "trap-group", DEV),
        e("new", "trap", DEV),
        e("new", "trap", DEV),
        e("new", "trap", DEV),
        e("new", "region", "pci/0000:01:00.0/cr-space"),
        e("new", "param", DEV),
        e("new", "param", DEV),
    ]
}

#[test]
fn register_announces_everything_in_kernel_order() {
    let (_dev, mon) = populated_on_hub();
    assert_eq!(summary(&mon), expected_register());
}

#[test]
fn register_burst_object_contents() {
    let (_dev, mon) = populated_on_hub();
    let evs: Vec<String> = mon.drain().iter().map(json::to_string).collect();
    assert_eq!(
        evs[0],
        r#"{"command":"new","dev":{"pci/0000:01:00.0":{"stats":{"reload":{"driver_reinit":{"unspecified":0},"fw_activate":{"unspecified":0,"no_reset":0}},"remote_reload":{"driver_reinit":{"unspecified":0},"fw_activate":{"unspecified":0,"no_reset":0}}}}}}"#
    );
    assert_eq!(
        evs[3],
        r#"{"command":"new","trap-policer":{"pci/0000:01:00.0":{"policer":1,"rate":1000,"burst":128}}}"#
    );
    assert_eq!(
        evs[4],
        r#"{"command":"new","trap-group":{"pci/0000:01:00.0":{"name":"l2_drops","generic":true,"policer":1}}}"#
    );
    assert_eq!(
        evs[6],
        r#"{"command":"new","trap":{"pci/0000:01:00.0":{"name":"source_mac_is_multicast","type":"drop","generic":true,"action":"drop","group":"l2_drops"}}}"#
    );
    assert_eq!(
        evs[9],
        r#"{"command":"new","region":{"pci/0000:01:00.0/cr-space":{"size":16,"snapshot":[],"max":2}}}"#
    );
}

#[test]
fn unregister_is_the_exact_reverse_with_dev_last() {
    let (dev, mon) = populated_on_hub();
    let reg = summary(&mon);
    dev.unregister();
    let unreg = summary(&mon);
    let mut want: Vec<_> = reg
        .into_iter()
        .map(|(_, o, k)| ("del".to_string(), o, k))
        .collect();
    want.reverse();
    assert_eq!(unreg, want);
    assert_eq!(unreg.last().unwrap().1, "dev");
    // Traps, groups and policers in reverse registration order.
    let (_, mon2) = {
        let (dev, mon) = populated_on_hub();
        mon.drain();
        dev.unregister();
        (dev, mon)
    };
    let names: Vec<String> = mon2
        .drain()
        .into_iter()
        .filter_map(|d| match d {
            Delivery::Event(e) => match &e.body {
                EventBody::Trap(t) => Some(t.name.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        ["lldp", "vlan_tag_mismatch", "source_mac_is_multicast"]
    );
    // Unregistering twice sends nothing more.
    dev.unregister();
    assert!(mon.drain().is_empty());
}

#[test]
fn nothing_is_announced_while_unregistered() {
    let (dev, mon) = populated_on_hub();
    mon.drain();
    dev.unregister();
    mon.drain();
    let mut g = dev.lock();
    g.port_add(Port::physical(9, 9)).unwrap();
    g.port_remove(9).unwrap();
    g.trap_remove("lldp").unwrap();
    g.param_driverinit_set("max_macs", ParamValue::U32(3))
        .unwrap();
    g.region_snapshot_create("cr-space", vec![0; 16]).unwrap();
    drop(g);
    assert!(mon.drain().is_empty());
}

#[test]
fn changes_after_registration_notify_at_once() {
    let (dev, mon) = populated_on_hub();
    mon.drain();
    let mut g = dev.lock();
    g.port_add(Port::physical(5, 5)).unwrap();
    assert_eq!(
        summary(&mon),
        [("new".into(), "port".into(), "pci/0000:01:00.0/5".into())]
    );
    g.port_set_netdev(5, "eth5").unwrap();
    let ev = mon.try_recv().unwrap();
    assert_eq!(
        json::to_string(&ev),
        r#"{"command":"new","port":{"pci/0000:01:00.0/5":{"type":"eth","netdev":"eth5","flavour":"physical","port":5,"splittable":false}}}"#
    );
    g.port_clear_type(5).unwrap();
    g.port_remove(5).unwrap();
    let s = summary(&mon);
    assert_eq!(
        s.last().unwrap(),
        &(
            "del".to_string(),
            "port".to_string(),
            "pci/0000:01:00.0/5".to_string()
        )
    );
    let id = g.region_snapshot_create("cr-space", vec![7; 16]).unwrap();
    assert_eq!(id, 1);
    let ev = mon.try_recv().unwrap();
    assert_eq!(
        json::to_string(&ev),
        r#"{"command":"new","region":{"pci/0000:01:00.0/cr-space":{"size":16,"snapshot":[1],"max":2}}}"#
    );
    assert_eq!(g.region_read("cr-space", id, 14, 2).unwrap(), [7, 7]);
    assert!(matches!(
        g.region_read("cr-space", id, 15, 2),
        Err(Error::Invalid(_))
    ));
    g.region_snapshot_create("cr-space", vec![0; 16]).unwrap();
    assert!(matches!(
        g.region_snapshot_create("cr-space", vec![0; 16]),
        Err(Error::Busy(_))
    ));
    assert!(matches!(
        g.region_snapshot_create("cr-space", vec![0; 15]),
        Err(Error::Invalid(_))
    ));
    g.region_snapshot_delete("cr-space", id).unwrap();
    assert!(matches!(
        g.region_snapshot_delete("cr-space", id),
        Err(Error::NotFound(_))
    ));
    g.region_add(Region::new("fw-log", 4, 1)).unwrap();
    g.region_remove("fw-log").unwrap();
    let s = summary(&mon);
    let cmds: Vec<&str> = s.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(cmds, ["new", "del", "new", "del"]);
    // Reporters are not announced (as in the kernel).
    g.health_reporter_add(Reporter::new("extra", ReporterCaps::empty()))
        .unwrap();
    assert!(mon.drain().is_empty());
}

#[test]
fn subscribers_filter_by_kind() {
    let (mut b, _, _) = populated();
    let hub = std::sync::Arc::new(Hub::new());
    b.hub(hub.clone());
    let traps = hub.subscribe(ObjectKinds::TRAP | ObjectKinds::TRAP_GROUP, 64);
    assert_eq!(traps.filter(), ObjectKinds::TRAP | ObjectKinds::TRAP_GROUP);
    let _dev = b.register();
    let objs: Vec<String> = summary(&traps).into_iter().map(|e| e.1).collect();
    assert_eq!(objs, ["trap-group", "trap-group", "trap", "trap", "trap"]);
}

#[test]
fn overflow_is_explicit_and_in_place() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PORT, 2);
    let mut g = dev.lock();
    for i in 10..15 {
        g.port_add(Port::physical(i, i)).unwrap();
    }
    let ds = mon.drain();
    assert_eq!(ds.len(), 3);
    assert!(matches!(ds[0], Delivery::Event(ref e) if e.key.ends_with("/10")));
    assert!(matches!(ds[1], Delivery::Event(ref e) if e.key.ends_with("/11")));
    assert_eq!(ds[2], Delivery::Overflow { lost: 3 });
    assert_eq!(
        json::to_string(&ds[2]),
        r#"{"command":"overflow","lost":3}"#
    );
    // Room again: later events queue normally, after the marker.
    g.port_remove(14).unwrap();
    g.port_remove(13).unwrap();
    g.port_remove(12).unwrap();
    let ds = mon.drain();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds[2], Delivery::Overflow { lost: 1 });
    assert_eq!(mon.lost_total(), 4);
    // Sequence numbers show where the gaps were.
    drop(g);
    let seqs: Vec<u64> = {
        let mut g = dev.lock();
        g.port_remove(11).unwrap();
        g.port_remove(10).unwrap();
        drop(g);
        mon.drain()
            .into_iter()
            .map(|d| match d {
                Delivery::Event(e) => e.seq,
                Delivery::Overflow { .. } => u64::MAX,
            })
            .collect()
    };
    assert_eq!(seqs.len(), 2);
    assert_eq!(seqs[1], seqs[0] + 1);
}

#[test]
fn a_slow_subscriber_does_not_block_the_driver_and_a_dropped_one_is_pruned() {
    let (b, _, _) = populated();
    let dev = b.register();
    let slow = dev.subscribe(ObjectKinds::all(), 1);
    let dropped = dev.subscribe(ObjectKinds::all(), 1);
    drop(dropped);
    let mut g = dev.lock();
    for i in 100..1100 {
        g.port_add(Port::physical(i, i)).unwrap();
    }
    drop(g);
    let ds = slow.drain();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[1], Delivery::Overflow { lost: 999 });
    assert!(slow
        .recv_timeout(std::time::Duration::from_millis(1))
        .is_none());
}

#[test]
fn subscribers_filter_by_instance_on_a_shared_hub() {
    let hub = std::sync::Arc::new(Hub::new());
    let other = Handle::new("pci", "0000:02:00.0").unwrap();
    let only_other = hub.subscribe_to(ObjectKinds::all(), &other, 64);
    let all = hub.subscribe(ObjectKinds::DEV, 64);
    let (mut b1, _) = builder();
    b1.hub(hub.clone());
    b1.port(Port::physical(1, 0)).unwrap();
    let mut b2 = Builder::new(
        other.clone(),
        &OPS,
        Capabilities::empty(),
        ReloadCaps::default(),
        Dev::default(),
    )
    .unwrap();
    b2.hub(hub.clone());
    b2.port(Port::physical(7, 0)).unwrap();
    let _d1 = b1.register();
    let _d2 = b2.register();
    let s = summary(&only_other);
    assert_eq!(
        s,
        [
            (
                "new".to_string(),
                "dev".to_string(),
                "pci/0000:02:00.0".to_string()
            ),
            (
                "new".to_string(),
                "port".to_string(),
                "pci/0000:02:00.0/7".to_string()
            ),
        ]
    );
    let devs: Vec<String> = summary(&all).into_iter().map(|e| e.2).collect();
    assert_eq!(devs, ["pci/0000:01:00.0", "pci/0000:02:00.0"]);
}

#[test]
fn recv_timeout_wakes_on_an_event_from_another_thread() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PORT, 4);
    assert!(mon
        .recv_timeout(std::time::Duration::from_millis(1))
        .is_none());
    let d2 = std::sync::Arc::clone(&dev);
    let t = std::thread::spawn(move || d2.lock().port_add(Port::physical(42, 42)));
    let got = mon
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("no event");
    t.join().unwrap().unwrap();
    assert!(matches!(got, Delivery::Event(ref e) if e.key.ends_with("/42")));
}

/// Several threads add and remove ports while a monitor with a small queue
/// reads: every event is delivered or counted as lost, sequence numbers
/// only grow, and per port the delivered commands never show two `new`s
/// in a row without the `del` between them having been lost.
#[test]
fn concurrent_changes_with_a_slow_monitor_account_for_every_event() {
    const THREADS: u32 = 4;
    const ROUNDS: u32 = 200;
    let (b, _) = builder();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PORT, 8);
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let dev = std::sync::Arc::clone(&dev);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let mut g = dev.lock();
                    g.port_add(Port::physical(t, t)).unwrap();
                    drop(g);
                    dev.lock().port_remove(t).unwrap();
                }
            })
        })
        .collect();
    let mut delivered = Vec::new();
    let mut lost = 0;
    let mut done = false;
    while !done {
        done = workers.iter().all(|w| w.is_finished());
        for d in mon.drain() {
            match d {
                Delivery::Event(e) => delivered.push(e),
                Delivery::Overflow { lost: n } => lost += n,
            }
        }
        std::thread::yield_now();
    }
    for w in workers {
        w.join().unwrap();
    }
    for d in mon.drain() {
        match d {
            Delivery::Event(e) => delivered.push(e),
            Delivery::Overflow { lost: n } => lost += n,
        }
    }
    let emitted = u64::from(THREADS * ROUNDS * 2);
    assert_eq!(delivered.len() as u64 + lost, emitted);
    assert_eq!(mon.lost_total(), lost);
    assert!(delivered.windows(2).all(|w| w[0].seq < w[1].seq));
    // With nothing lost between them, consecutive events of one port
    // alternate new / del.
    for t in 0..THREADS {
        let key = format!("pci/0000:01:00.0/{t}");
        let evs: Vec<&std::sync::Arc<Event>> = delivered.iter().filter(|e| e.key == key).collect();
        for w in evs.windows(2) {
            if w[1].seq == w[0].seq + 1 {
                assert_ne!(
                    w[0].command, w[1].command,
                    "{key}: seq {} and {}",
                    w[0].seq, w[1].seq
                );
            }
        }
    }
}
