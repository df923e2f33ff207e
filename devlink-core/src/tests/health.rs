//! Health reporters: report, grace / burst, auto-recover, auto-dump,
//! diagnose, dump, test, set.

use super::*;

fn with_reporter(r: Reporter) -> (std::sync::Arc<Instance<Dev>>, ManualClock) {
    let (mut b, clock) = builder();
    b.health_reporter(r).unwrap();
    (b.register(), clock)
}

#[test]
fn report_recovers_and_notifies() {
    let (dev, _) = with_reporter(Reporter::new("fw", ReporterCaps::RECOVER));
    let mon = dev.subscribe(ObjectKinds::HEALTH, 16);
    dev.health_report("fw", None, "fw fatal").unwrap();
    let g = dev.lock();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!((v.state, v.error, v.recover), (HealthState::Healthy, 1, 1));
    assert_eq!(calls(&g), ["health_recover fw"]);
    drop(g);
    let evs: Vec<String> = mon.drain().iter().map(json::to_string).collect();
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert_eq!(
        evs[0],
        r#"{"command":"status","health":{"pci/0000:01:00.0":[{"reporter":"fw","state":"error","error":1,"recover":0,"grace_period":0,"burst_period":0,"auto_recover":true}]}}"#
    );
    assert!(
        evs[1].contains(r#""state":"healthy","error":1,"recover":1"#),
        "{}",
        evs[1]
    );
    assert!(matches!(
        dev.health_report("nope", None, "x"),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn grace_period_aborts_recover_loops() {
    let (dev, clock) = with_reporter(Reporter::new("fw", ReporterCaps::RECOVER).periods(1000, 0));
    dev.health_report("fw", None, "1").unwrap();
    clock.advance_ms(500);
    // A recovery 500 ms ago: inside the grace period.
    assert!(matches!(
        dev.health_report("fw", None, "2"),
        Err(Error::Canceled(_))
    ));
    assert_eq!(
        dev.lock().health_get("fw", None).unwrap().state,
        HealthState::Error
    );
    clock.advance_ms(2000);
    // Still aborted: the previous error was never recovered.
    assert!(matches!(
        dev.health_report("fw", None, "3"),
        Err(Error::Canceled(_))
    ));
    // The user recovers it; afterwards (past the grace period) reports
    // are recovered automatically again.
    dev.enter().unwrap().health_recover("fw", None).unwrap();
    clock.advance_ms(1001);
    dev.health_report("fw", None, "4").unwrap();
    let v = dev.lock().health_get("fw", None).unwrap();
    assert_eq!((v.state, v.error, v.recover), (HealthState::Healthy, 4, 3));
}

#[test]
fn burst_window_allows_recoveries_then_grace_applies() {
    let (dev, clock) = with_reporter(Reporter::new("fw", ReporterCaps::RECOVER).periods(1000, 500));
    dev.health_report("fw", None, "1").unwrap();
    clock.advance_ms(100);
    dev.health_report("fw", None, "2").unwrap();
    clock.advance_ms(300);
    // 400 ms after the first recovery of the burst: still inside it.
    dev.health_report("fw", None, "3").unwrap();
    clock.advance_ms(200);
    // 600 ms: past the burst, inside burst + grace.
    assert!(matches!(
        dev.health_report("fw", None, "4"),
        Err(Error::Canceled(_))
    ));
    let v = dev.lock().health_get("fw", None).unwrap();
    assert_eq!((v.error, v.recover), (4, 3));
}

#[test]
fn auto_recover_off_leaves_error_state() {
    let (dev, _) = with_reporter(Reporter::new(
        "fw",
        ReporterCaps::RECOVER | ReporterCaps::DUMP,
    ));
    dev.enter()
        .unwrap()
        .health_set(
            "fw",
            None,
            HealthSet {
                auto_recover: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    dev.health_report("fw", None, "x").unwrap();
    dev.health_report("fw", None, "y").unwrap();
    let g = dev.lock();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!(
        (v.state, v.error, v.recover, v.auto_recover),
        (HealthState::Error, 2, 0, Some(false))
    );
    assert!(!calls(&g).iter().any(|c| c.starts_with("health_recover")));
}

#[test]
fn auto_dump_keeps_the_first_dump_until_cleared() {
    let (dev, _) = with_reporter(Reporter::new("fw", ReporterCaps::all()));
    dev.health_report("fw", None, "1").unwrap();
    dev.health_report("fw", None, "2").unwrap();
    let mut g = dev.enter().unwrap();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!(v.last_dump_date.as_deref(), Some("2026-01-01"));
    assert_eq!(v.last_dump_time.as_deref(), Some("00:16:40"));
    assert_eq!(
        g.health_dump_get("fw", None).unwrap().to_json(),
        r#"{"dump_number":1}"#
    );
    assert_eq!(g.driver().dumps, 1);
    g.health_dump_clear("fw", None).unwrap();
    assert_eq!(g.health_get("fw", None).unwrap().last_dump_date, None);
    // dump show with nothing stored takes a new one.
    assert_eq!(
        g.health_dump_get("fw", None).unwrap().to_json(),
        r#"{"dump_number":2}"#
    );
}

#[test]
fn recover_failure_keeps_error_state() {
    let (dev, _) = with_reporter(Reporter::new("fw", ReporterCaps::RECOVER));
    dev.lock().driver_mut().recover_fails = true;
    assert!(matches!(
        dev.health_report("fw", None, "x"),
        Err(Error::Busy(_))
    ));
    let v = dev.lock().health_get("fw", None).unwrap();
    assert_eq!((v.state, v.recover), (HealthState::Error, 0));
    dev.lock().driver_mut().recover_fails = false;
    dev.enter().unwrap().health_recover("fw", None).unwrap();
    assert_eq!(
        dev.lock().health_get("fw", None).unwrap().state,
        HealthState::Healthy
    );
    // Recover when healthy does not call the driver.
    let n = calls(&dev.lock()).len();
    dev.enter().unwrap().health_recover("fw", None).unwrap();
    assert_eq!(calls(&dev.lock()).len(), n);
}

#[test]
fn set_rules() {
    let (mut b, _) = builder();
    b.health_reporter(Reporter::new("dumper", ReporterCaps::DUMP))
        .unwrap();
    b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER).periods(1000, 200))
        .unwrap();
    b.health_reporter(Reporter::new("plain", ReporterCaps::empty()))
        .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let s = |gr, bu, ar, ad| HealthSet {
        graceful_period: gr,
        burst_period: bu,
        auto_recover: ar,
        auto_dump: ad,
    };
    assert!(matches!(
        g.health_set("dumper", None, s(Some(1), None, None, None)),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_set("dumper", None, s(None, None, Some(true), None)),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_set("fw", None, s(None, None, None, Some(true))),
        Err(Error::NotSupported(_))
    ));
    g.health_set("dumper", None, s(None, None, None, Some(false)))
        .unwrap();
    assert_eq!(g.health_get("dumper", None).unwrap().auto_dump, Some(false));
    assert!(matches!(
        g.health_set("fw", None, s(Some(0), Some(5), None, None)),
        Err(Error::Invalid(_))
    ));
    g.health_set("fw", None, s(Some(0), None, None, None))
        .unwrap();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!((v.grace_period, v.burst_period), (Some(0), Some(0)));
    g.health_set("fw", None, s(Some(10), Some(5), None, None))
        .unwrap();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!((v.grace_period, v.burst_period), (Some(10), Some(5)));
    // Attributes of ops a reporter lacks are not shown.
    let v = g.health_get("plain", None).unwrap();
    assert_eq!(
        json::to_string(&v),
        r#"{"reporter":"plain","state":"healthy","error":0,"recover":0}"#
    );
    assert!(matches!(
        g.health_diagnose("plain", None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_dump_get("plain", None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_dump_clear("plain", None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_test("plain", None),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.health_recover("plain", None),
        Err(Error::NotSupported(_))
    ));
    assert!(calls(&g).is_empty());
}

#[test]
fn diagnose_and_test() {
    let (mut b, _) = builder();
    b.health_reporter(Reporter::new("fw", ReporterCaps::all()))
        .unwrap();
    b.health_reporter(Reporter::new("broken", ReporterCaps::DIAGNOSE))
        .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert_eq!(
        g.health_diagnose("fw", None).unwrap().to_json(),
        r#"{"fw":{"state":"running"}}"#
    );
    let e = g.health_diagnose("broken", None).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("unclosed")),
        "{e}"
    );
    // test injects a report that follows the real path: dump + recover.
    g.health_test("fw", None).unwrap();
    let v = g.health_get("fw", None).unwrap();
    assert_eq!((v.state, v.error, v.recover), (HealthState::Healthy, 1, 1));
    assert_eq!(
        calls(&g)[2..],
        ["health_test fw", "health_dump fw", "health_recover fw"]
    );
}

#[test]
fn port_reporters_are_keyed_by_port() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    g.health_reporter_add(Reporter::new("tx", ReporterCaps::empty()).on_port(1))
        .unwrap();
    let keys: Vec<String> = g.health_show().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["pci/0000:01:00.0", "pci/0000:01:00.0/1"]);
    g.health_report("tx", Some(1), "queue stuck").unwrap();
    assert_eq!(
        g.health_get("tx", Some(1)).unwrap().state,
        HealthState::Error
    );
    assert!(matches!(g.health_get("tx", None), Err(Error::NotFound(_))));
}

#[test]
fn fmsg_nesting() {
    let mut f = Fmsg::new();
    f.pair("a", FmsgValue::Bool(true))
        .arr_start("list")
        .value(FmsgValue::U8(1))
        .obj_start("")
        .pair("x", FmsgValue::U64(2))
        .end()
        .end()
        .obj_start("o")
        .pair("bin", FmsgValue::Binary(vec![1, 2]))
        .end();
    f.finish().unwrap();
    assert_eq!(
        f.to_json(),
        r#"{"a":true,"list":[1,{"x":2}],"o":{"bin":[1,2]}}"#
    );
    let mut bad = Fmsg::new();
    bad.value(FmsgValue::U8(1));
    assert!(bad.finish().is_err());
    let mut bad = Fmsg::new();
    bad.end();
    assert!(bad.finish().is_err());
    let mut bad = Fmsg::new();
    bad.arr_start("a").pair("x", FmsgValue::U8(1)).end();
    assert!(bad.finish().is_err());
}
