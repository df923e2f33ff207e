//! Reload, info and flash.

use super::*;

#[test]
fn reload_request_checks() {
    let (b, _) = builder_with(Capabilities::empty());
    let dev = b.register();
    assert!(matches!(
        dev.enter().unwrap().reload(None, None),
        Err(Error::NotSupported(_))
    ));

    let mut b = Builder::new(
        handle(),
        &OPS,
        Capabilities::RELOAD,
        ReloadCaps {
            actions: ReloadActions::DRIVER_REINIT,
            limits: ReloadLimits::empty(),
        },
        Dev::default(),
    )
    .unwrap();
    b.port(Port::physical(1, 0)).unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.reload(Some(ReloadAction::FwActivate), None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.reload(None, Some(ReloadLimit::NoReset)),
        Err(Error::NotSupported(_))
    ));
    assert!(calls(&g).is_empty());

    let (b, _) = builder();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let e = g
        .reload(Some(ReloadAction::DriverReinit), Some(ReloadLimit::NoReset))
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("not a valid combination")),
        "{e}"
    );
    assert_eq!(
        g.reload(Some(ReloadAction::FwActivate), Some(ReloadLimit::NoReset))
            .unwrap(),
        ReloadActions::FW_ACTIVATE
    );
    assert_eq!(
        calls(&g),
        [
            "reload_down fw_activate no_reset",
            "reload_up fw_activate no_reset"
        ]
    );
}

#[test]
fn reload_refusal_failure_and_stats() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::DEV, 16);
    let mut g = dev.enter().unwrap();
    g.driver_mut().fail_when = Some(("reload_down".into(), Error::Busy("SFs allocated".into())));
    assert_eq!(
        g.reload(None, None),
        Err(Error::Busy("SFs allocated".into()))
    );
    assert!(!g.reload_failed());
    assert!(mon.drain().is_empty(), "a refused reload changes nothing");

    g.driver_mut().fail_when = Some((
        "reload_up".into(),
        Error::Invalid("fw did not come back".into()),
    ));
    assert!(g.reload(None, None).is_err());
    assert!(g.reload_failed());
    assert_eq!(
        json::to_string(&g.dev_show(false)),
        r#"{"reload_failed":true}"#
    );
    g.reload(None, None).unwrap();
    assert!(!g.reload_failed());
    // fw_activate that also re-initialised the driver counts both.
    g.driver_mut().performed = Some(ReloadActions::FW_ACTIVATE | ReloadActions::DRIVER_REINIT);
    g.reload(Some(ReloadAction::FwActivate), None).unwrap();
    g.reload_remote_performed(ReloadLimit::Unspec, ReloadActions::FW_ACTIVATE);
    let s = json::to_string(&g.dev_show(true));
    assert_eq!(
        s,
        concat!(
            r#"{"stats":{"reload":{"driver_reinit":{"unspecified":2},"fw_activate":{"unspecified":1,"no_reset":0}},"#,
            r#""remote_reload":{"driver_reinit":{"unspecified":0},"fw_activate":{"unspecified":1,"no_reset":0}}}}"#
        )
    );
    drop(g);
    // failed flips (true, false) and each success notify `dev new`.
    let s = summary(&mon);
    assert_eq!(s.len(), 5, "{s:?}");
    assert!(s.iter().all(|(c, o, _)| c == "new" && o == "dev"));
    assert_eq!(
        reload::reload_reply_json(ReloadActions::all()),
        r#"{"reload":{"reload_actions_performed":["driver_reinit","fw_activate"]}}"#
    );
}

#[test]
fn reload_objects_recreated_notify_del_then_new() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PORT, 16);
    let mut g = dev.enter().unwrap();
    g.driver_mut().remove_port_on_reload = true;
    g.reload(None, None).unwrap();
    drop(g);
    let s = summary(&mon);
    let got: Vec<(&str, &str)> = s.iter().map(|(c, _, k)| (c.as_str(), k.as_str())).collect();
    assert_eq!(
        got,
        [("del", "pci/0000:01:00.0/1"), ("new", "pci/0000:01:00.0/1")]
    );
}

#[test]
fn info_with_and_without_the_op() {
    let (b, _) = builder_with(Capabilities::empty());
    let dev = b.register();
    let v = dev.enter().unwrap().info_get().unwrap();
    assert_eq!(json::to_string(&v), r#"{"driver":"cxu_test"}"#);
    let (b, _) = builder();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let v = g.info_get().unwrap();
    let text = json::ObjectSection::new("info", [(g.handle().to_string(), &v)]).to_json();
    assert_eq!(
        text,
        concat!(
            r#"{"info":{"pci/0000:01:00.0":{"driver":"cxu_test","serial_number":"SN123","#,
            r#""versions":{"fixed":{"board.id":"MT_0001"},"running":{"fw":"1.2.3"},"stored":{"fw":"1.2.4"}}}}}"#
        )
    );
}

#[test]
fn info_builder_rejects_duplicate_versions() {
    let mut b = InfoBuilder::default();
    b.version(VersionGroup::Running, "fw", "1")
        .version(VersionGroup::Stored, "fw", "2");
    assert!(b.components().is_empty());
    b.finish().unwrap();
    b.version(VersionGroup::Running, "fw", "3")
        .version(VersionGroup::Fixed, "x", "y");
    let e = b.finish().unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("\"fw\" reported twice in the Running group")),
        "{e}"
    );
}

#[test]
fn flash_checks_and_events() {
    let (b, _) = builder_with(Capabilities::INFO_GET);
    let dev = b.register();
    assert!(matches!(
        dev.enter()
            .unwrap()
            .flash_update(FlashRequest::new("fw.bin")),
        Err(Error::NotSupported(_))
    ));

    let (b, _) = builder_with(Capabilities::all() - Capabilities::FLASH_OVERWRITE);
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::FLASH, 64);
    let mut g = dev.enter().unwrap();
    let mut req = FlashRequest::new("fw.bin");
    req.overwrite = OverwriteMask::SETTINGS;
    assert!(matches!(g.flash_update(req), Err(Error::NotSupported(_))));
    assert!(matches!(
        g.flash_update(FlashRequest::new("")),
        Err(Error::Invalid(_))
    ));
    let mut req = FlashRequest::new("fw.bin");
    req.component = Some("nic.bootloader".into());
    let e = g.flash_update(req).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("not supported")),
        "{e}"
    );
    assert!(mon.drain().is_empty());
    let mut req = FlashRequest::new("fw.bin");
    req.component = Some("fw".into());
    g.flash_update(req).unwrap();
    assert!(matches!(
        g.flash_update(FlashRequest::new("bad.bin")),
        Err(Error::Invalid(_))
    ));
    drop(g);
    let ds = mon.drain();
    let cmds: Vec<Command> = ds
        .iter()
        .map(|d| match d {
            Delivery::Event(e) => e.command,
            Delivery::Overflow { .. } => panic!("overflow"),
        })
        .collect();
    use Command::*;
    // Begin, timeout, 3 x status, End — for both updates (the failing one too).
    assert_eq!(
        cmds,
        [Begin, Status, Status, Status, Status, End, Begin, Status, Status, Status, Status, End]
    );
    let Delivery::Event(e) = &ds[3] else { panic!() };
    let EventBody::Flash(st) = &e.body else {
        panic!()
    };
    assert_eq!(st.fraction(), Some(0.5));
    assert_eq!(st.progress_line(), "Flashing component fw 50%");
    assert_eq!(
        json::to_string(&ds[3]),
        r#"{"command":"status","flash":{"pci/0000:01:00.0":{"msg":"Flashing","component":"fw","done":50,"total":100}}}"#
    );
    let Delivery::Event(e) = &ds[1] else { panic!() };
    let EventBody::Flash(st) = &e.body else {
        panic!()
    };
    assert_eq!((st.timeout, st.fraction()), (Some(30), None));
    assert_eq!(
        json::to_string(&ds[0]),
        r#"{"command":"begin","flash":{"pci/0000:01:00.0":{}}}"#
    );
}

#[test]
fn capabilities_follow_a_reload_and_change_nowhere_else() {
    let base = Capabilities::RELOAD | Capabilities::INFO_GET;
    let with_traps = base | Capabilities::TRAP_ACTION_SET;
    let (b, _) = builder_with(base);
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    // Only a reload changes them.
    assert!(matches!(
        g.set_capabilities(with_traps),
        Err(Error::Invalid(_))
    ));
    assert_eq!(g.capabilities(), base);
    assert!(matches!(
        g.trap_show(Detail::default()),
        Err(Error::NotSupported(_))
    ));

    // New firmware gains traps: reload_up sets the bit and adds a trap,
    // whose action the trap op then programs.
    g.driver_mut().caps_at_reload_up = Some(with_traps);
    g.reload(Some(ReloadAction::FwActivate), None).unwrap();
    assert_eq!(g.capabilities(), with_traps);
    assert_eq!(g.trap_show(Detail::default()).unwrap().len(), 1);
    g.trap_set_action("source_mac_is_multicast", TrapAction::Trap)
        .unwrap();
    assert!(
        calls(&g).iter().any(|c| c.starts_with("trap_action_set")),
        "{:?}",
        calls(&g)
    );

    // And loses them again: the trap is gone and the op is refused.
    g.driver_mut().caps_at_reload_up = Some(base);
    g.reload(Some(ReloadAction::FwActivate), None).unwrap();
    assert_eq!(g.capabilities(), base);
    assert!(matches!(
        g.trap_show(Detail::default()),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.trap_group_add(TrapGroup::generic(LLDP_GROUP, 0))
            .and_then(|()| g
                .trap_add(Trap::generic(LLDP, TrapAction::Trap, LLDP_GROUP))
                .map(drop)),
        Err(Error::Invalid(_))
    ));
    drop(g);
    assert_eq!(dev.capabilities(), base);
}

#[test]
fn a_reload_cannot_drop_what_the_objects_or_the_reload_need() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let all = Capabilities::all();
    // Traps stay registered (reload_down here removes only
    // source_mac_is_multicast), so the trap bit cannot go; the failed reload_up leaves the bits as they were.
    g.driver_mut().caps_at_reload_up = Some(all - Capabilities::TRAP_ACTION_SET);
    let e = g.reload(Some(ReloadAction::FwActivate), None).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("traps are registered")),
        "{e}"
    );
    assert_eq!(g.capabilities(), all);
    g.driver_mut().caps_at_reload_up = Some(all - Capabilities::RELOAD);
    assert!(matches!(
        g.reload(Some(ReloadAction::FwActivate), None),
        Err(Error::Invalid(_))
    ));
    assert_eq!(g.capabilities(), all);
}
