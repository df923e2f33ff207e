//! Traps, groups and policers after registration.

use std::sync::mpsc;
use std::time::Duration;

use super::*;

#[test]
fn capability_off_is_refused_and_never_called() {
    let (mut b, _) = builder_with(Capabilities::TRAP_ACTION_SET);
    b.trap_policer(TrapPolicer::new(1, 10, 10, (1, 100), (1, 100)))
        .unwrap();
    b.trap_group(TrapGroup::generic(L2, 1)).unwrap();
    b.trap(Trap::generic(SMAC_MC, TrapAction::Drop, L2))
        .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.trap_policer_set(1, Some(20), None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.trap_group_set("l2_drops", None, Some(None)),
        Err(Error::NotSupported(_))
    ));
    // Stats without the counter caps: no driver call, no "dropped".
    let v = g
        .trap_get(
            "source_mac_is_multicast",
            Detail {
                stats: true,
                verbose: false,
            },
        )
        .unwrap();
    assert_eq!(v.stats.unwrap().rx.dropped, None);
    let p = g
        .trap_policer_get(
            1,
            Detail {
                stats: true,
                verbose: false,
            },
        )
        .unwrap();
    assert_eq!(p.stats, None);
    assert!(calls(&g).is_empty(), "{:?}", calls(&g));
}

#[test]
fn set_action_on_drop_and_control_traps() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert_eq!(
        g.trap_set_action("vlan_tag_mismatch", TrapAction::Mirror)
            .unwrap(),
        None
    );
    assert_eq!(
        g.trap_get("vlan_tag_mismatch", Detail::default())
            .unwrap()
            .action,
        TrapAction::Mirror
    );
    // Control traps keep their action; the kernel answers 0 with a warning.
    let w = g.trap_set_action("lldp", TrapAction::Drop).unwrap();
    assert!(w.unwrap().contains("non-drop"));
    assert_eq!(
        g.trap_get("lldp", Detail::default()).unwrap().action,
        TrapAction::Trap
    );
    assert_eq!(calls(&g), ["trap_action_set 1 mirror"]);
    assert!(matches!(
        g.trap_set_action("nope", TrapAction::Drop),
        Err(Error::NotFound(_))
    ));
    // A driver failure leaves the action unchanged.
    g.driver_mut().fail_next = Some(Error::Busy("hw".into()));
    assert!(matches!(
        g.trap_set_action("vlan_tag_mismatch", TrapAction::Trap),
        Err(Error::Busy(_))
    ));
    assert_eq!(
        g.trap_get("vlan_tag_mismatch", Detail::default())
            .unwrap()
            .action,
        TrapAction::Mirror
    );
}

#[test]
fn no_traps_means_not_supported() {
    let (b, _) = builder();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.trap_show(Detail::default()),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.trap_group_show(Detail::default()),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.trap_policer_show(Detail::default()),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.trap_set_action("x", TrapAction::Drop),
        Err(Error::NotSupported(_))
    ));
}

#[test]
fn group_action_per_trap_or_in_one_call() {
    let caps = Capabilities::all() - Capabilities::TRAP_GROUP_ACTION_SET;
    let (mut b, _) = builder_with(caps);
    b.trap_group(TrapGroup::generic(L2, 0)).unwrap();
    b.traps([
        Trap::generic(SMAC_MC, TrapAction::Drop, L2),
        Trap::generic(VLAN_MISMATCH, TrapAction::Drop, L2),
        Trap::driver(100, "my_ctl", TrapType::Control, TrapAction::Trap, L2),
    ])
    .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.trap_group_set("l2_drops", Some(TrapAction::Trap), None)
        .unwrap();
    assert_eq!(
        calls(&g),
        ["trap_action_set 0 trap", "trap_action_set 1 trap"]
    );
    assert_eq!(
        g.trap_get("my_ctl", Detail::default()).unwrap().action,
        TrapAction::Trap
    );

    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.trap_group_set("l2_drops", Some(TrapAction::Mirror), None)
        .unwrap();
    assert_eq!(calls(&g), ["trap_group_action_set 0 mirror"]);
    let actions: Vec<TrapAction> = g
        .trap_show(Detail::default())
        .unwrap()
        .iter()
        .map(|t| t.action)
        .collect();
    assert_eq!(
        actions,
        [TrapAction::Mirror, TrapAction::Mirror, TrapAction::Trap]
    );
}

#[test]
fn group_policer_binding() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert_eq!(
        g.trap_group_get("l2_drops", Detail::default())
            .unwrap()
            .policer,
        Some(1)
    );
    assert!(matches!(
        g.trap_group_set("lldp", None, Some(Some(9))),
        Err(Error::NotFound(_))
    ));
    g.trap_group_set("lldp", None, Some(Some(1))).unwrap();
    assert_eq!(
        g.trap_group_get("lldp", Detail::default()).unwrap().policer,
        Some(1)
    );
    g.trap_group_set("l2_drops", None, Some(None)).unwrap();
    assert_eq!(
        g.trap_group_get("l2_drops", Detail::default())
            .unwrap()
            .policer,
        None
    );
    assert_eq!(
        calls(&g),
        ["trap_group_set 8 Some(1)", "trap_group_set 0 None"]
    );
    assert!(matches!(
        g.trap_group_set("nope", None, None),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn group_set_partial_commit_is_reported() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.driver_mut().fail_when = Some((
        "trap_group_set".into(),
        Error::Invalid("policer busy".into()),
    ));
    let e = g
        .trap_group_set("l2_drops", Some(TrapAction::Trap), Some(None))
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("action was changed, but policer binding failed: invalid argument: policer busy")),
        "{e}"
    );
    // The action was committed, the binding was not.
    assert_eq!(
        g.trap_get("vlan_tag_mismatch", Detail::default())
            .unwrap()
            .action,
        TrapAction::Trap
    );
    assert_eq!(
        g.trap_group_get("l2_drops", Detail::default())
            .unwrap()
            .policer,
        Some(1)
    );
    // Without an action in the request the driver's error comes back as is.
    g.driver_mut().fail_when = Some(("trap_group_set".into(), Error::Busy("hw".into())));
    assert_eq!(
        g.trap_group_set("l2_drops", None, Some(None)),
        Err(Error::Busy("hw".into()))
    );
}

#[test]
fn policer_set_checks_limits_and_keeps_omitted_values() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let e = g.trap_policer_set(1, Some(20_000), None).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("rate 20000 higher than limit 10000")),
        "{e}"
    );
    let e = g.trap_policer_set(1, None, Some(4)).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("burst 4 lower than limit 8")),
        "{e}"
    );
    assert!(matches!(
        g.trap_policer_set(2, Some(1), None),
        Err(Error::NotFound(_))
    ));
    g.trap_policer_set(1, None, Some(256)).unwrap();
    let v = g.trap_policer_get(1, Detail::default()).unwrap();
    assert_eq!((v.rate, v.burst), (1000, 256));
    assert_eq!(calls(&g), ["trap_policer_set 1 1000 256"]);
}

#[test]
fn stats_count_reports_for_trap_and_group() {
    let (b, _, r) = populated();
    let dev = b.register();
    r[0].report(100);
    r[0].report(50);
    r[1].report(10);
    r[2].report(1);
    let mut g = dev.enter().unwrap();
    g.driver_mut().trap_drops = 7;
    g.driver_mut().policer_drops = 3;
    let s = Detail {
        stats: true,
        verbose: false,
    };
    let t = g
        .trap_get("source_mac_is_multicast", s)
        .unwrap()
        .stats
        .unwrap()
        .rx;
    assert_eq!(
        (t.packets, t.bytes, t.dropped),
        (Some(2), Some(150), Some(7))
    );
    let grp = g.trap_group_get("l2_drops", s).unwrap().stats.unwrap().rx;
    assert_eq!(
        (grp.packets, grp.bytes, grp.dropped),
        (Some(3), Some(160), None)
    );
    let grp = g.trap_group_get("lldp", s).unwrap().stats.unwrap().rx;
    assert_eq!((grp.packets, grp.bytes), (Some(1), Some(1)));
    let p = g.trap_policer_get(1, s).unwrap().stats.unwrap().rx;
    assert_eq!(p.dropped, Some(3));
    assert_eq!(r[1].id(), VLAN_MISMATCH);
}

#[test]
fn report_path_does_not_take_the_instance_lock() {
    let (b, _, r) = populated();
    let dev = b.register();
    let g = dev.lock();
    let (tx, rx) = mpsc::channel();
    let rep = r[0].clone();
    let t = std::thread::spawn(move || {
        for _ in 0..1000 {
            rep.report(1);
        }
        tx.send(()).unwrap();
    });
    // The reporter finishes while this thread holds the lock.
    rx.recv_timeout(Duration::from_secs(10))
        .expect("report blocked on the instance lock");
    drop(g);
    t.join().unwrap();
    let v = dev
        .enter()
        .unwrap()
        .trap_get(
            "source_mac_is_multicast",
            Detail {
                stats: true,
                verbose: false,
            },
        )
        .unwrap();
    assert_eq!(v.stats.unwrap().rx.packets, Some(1000));
}

#[test]
fn add_and_remove_after_registration() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    assert!(matches!(
        g.trap_group_remove("l2_drops"),
        Err(Error::Busy(_))
    ));
    assert!(matches!(g.trap_policer_remove(1), Err(Error::Busy(_))));
    g.trap_policer_add(TrapPolicer::new(2, 10, 10, (1, 100), (1, 100)))
        .unwrap();
    g.trap_group_add(TrapGroup::driver(200, "extra", 2))
        .unwrap();
    let r = g
        .trap_add(Trap::driver(
            300,
            "extra_drop",
            TrapType::Drop,
            TrapAction::Drop,
            200,
        ))
        .unwrap();
    r.report(5);
    assert!(matches!(
        g.trap_add(Trap::driver(
            301,
            "extra_drop",
            TrapType::Drop,
            TrapAction::Drop,
            200
        )),
        Err(Error::Exists(_))
    ));
    g.trap_remove("extra_drop").unwrap();
    g.trap_group_remove("extra").unwrap();
    g.trap_policer_remove(2).unwrap();
    assert!(matches!(
        g.trap_remove("extra_drop"),
        Err(Error::NotFound(_))
    ));
    // Late reports after removal are harmless.
    r.report(5);
    assert_eq!(g.trap_show(Detail::default()).unwrap().len(), 3);
}

#[test]
fn verbose_shows_metadata() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let v = g
        .trap_get(
            "source_mac_is_multicast",
            Detail {
                stats: false,
                verbose: true,
            },
        )
        .unwrap();
    assert_eq!(v.metadata, Some(vec!["input_port"]));
    let v = g
        .trap_get(
            "vlan_tag_mismatch",
            Detail {
                stats: false,
                verbose: true,
            },
        )
        .unwrap();
    assert_eq!(v.metadata, Some(vec![]));
    assert_eq!(
        g.trap_get("vlan_tag_mismatch", Detail::default())
            .unwrap()
            .metadata,
        None
    );
}

#[test]
fn removal_disables_the_trap_in_hardware_first() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    g.trap_remove("lldp").unwrap();
    assert_eq!(calls(&g), ["trap_action_set 31 drop"]);
    // A failure to disable is logged, the trap still goes.
    g.driver_mut().fail_next = Some(Error::Busy("hw".into()));
    g.trap_remove("vlan_tag_mismatch").unwrap();
    g.unregister();
    // After unregistration the driver is not called.
    g.trap_remove("source_mac_is_multicast").unwrap();
    assert_eq!(calls(&g).len(), 2);
}

#[test]
fn report_with_keeps_only_declared_metadata() {
    let (b, _, r) = populated();
    let _dev = b.register();
    let md = ReportMetadata {
        in_port: Some(3),
        fa_cookie: Some(&[1, 2]),
    };
    // source_mac_is_multicast declared IN_PORT only.
    assert_eq!(
        r[0].report_with(10, md),
        ReportMetadata {
            in_port: Some(3),
            fa_cookie: None
        }
    );
    assert_eq!(r[1].report_with(10, md), ReportMetadata::default());
    assert_eq!(r[0].name(), "source_mac_is_multicast");
    let s = format!("{:?}", r[0]);
    assert!(s.contains("packets: 1") && s.contains("bytes: 10"), "{s}");
}
