//! Params: get / set per cmode, driverinit storage and promotion.

use super::*;

#[test]
fn get_reads_runtime_from_driver_and_driverinit_from_core() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let v = g.param_get("fw_load_policy").unwrap();
    assert_eq!(v.values.len(), 1);
    assert_eq!(
        (v.values[0].cmode, &v.values[0].value),
        (Cmode::Runtime, &ParamValue::U8(0))
    );
    assert_eq!(calls(&g), ["param_get 7 Runtime"]);
    let v = g.param_get("max_macs").unwrap();
    assert_eq!(
        (v.values[0].cmode, &v.values[0].value),
        (Cmode::Driverinit, &ParamValue::U32(32))
    );
    assert_eq!(calls(&g).len(), 1, "driverinit values come from the core");
    assert!(matches!(g.param_get("nope"), Err(Error::NotFound(_))));
    assert_eq!(g.param_show().unwrap().len(), 2);
}

#[test]
fn set_checks_type_cmode_and_validate() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.param_set("max_macs", Cmode::Driverinit, ParamValue::U8(1)),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        g.param_set("max_macs", Cmode::Runtime, ParamValue::U32(1)),
        Err(Error::NotSupported(_))
    ));
    let e = g
        .param_set("max_macs", Cmode::Driverinit, ParamValue::U32(0))
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("at least 1")),
        "{e}"
    );
    assert!(matches!(
        g.param_set("nope", Cmode::Runtime, ParamValue::U32(1)),
        Err(Error::NotFound(_))
    ));
    // Nothing reached param_set.
    assert!(!calls(&g).iter().any(|c| c.starts_with("param_set")));
    g.param_set("fw_load_policy", Cmode::Runtime, ParamValue::U8(1))
        .unwrap();
    assert!(calls(&g).contains(&"param_set 7 Runtime".to_string()));
    assert_eq!(
        g.param_get("fw_load_policy").unwrap().values[0].value,
        ParamValue::U8(1)
    );
}

#[test]
fn driverinit_is_pending_until_reload() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.param_set("max_macs", Cmode::Driverinit, ParamValue::U32(64))
        .unwrap();
    // The user sees the pending value, the driver still the current one.
    assert_eq!(
        g.param_get("max_macs").unwrap().values[0].value,
        ParamValue::U32(64)
    );
    assert_eq!(
        g.param_driverinit_get("max_macs").unwrap(),
        ParamValue::U32(32)
    );
    g.reload(None, None).unwrap();
    // Promoted before reload_up, which read it.
    assert_eq!(g.driver().seen_at_reload_up, Some(ParamValue::U32(64)));
    assert_eq!(
        g.param_driverinit_get("max_macs").unwrap(),
        ParamValue::U32(64)
    );
    // A fw_activate reload does not promote.
    g.param_set("max_macs", Cmode::Driverinit, ParamValue::U32(8))
        .unwrap();
    g.reload(Some(ReloadAction::FwActivate), None).unwrap();
    assert_eq!(
        g.param_driverinit_get("max_macs").unwrap(),
        ParamValue::U32(64)
    );
}

#[test]
fn driver_side_driverinit_and_runtime_notifications() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PARAM, 16);
    let mut g = dev.lock();
    g.param_driverinit_set("max_macs", ParamValue::U32(16))
        .unwrap();
    assert!(matches!(
        g.param_driverinit_set("max_macs", ParamValue::Bool(true)),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        g.param_driverinit_get("fw_load_policy"),
        Err(Error::NotSupported(_))
    ));
    g.param_value_changed("fw_load_policy").unwrap();
    g.param_set("fw_load_policy", Cmode::Runtime, ParamValue::U8(2))
        .unwrap();
    drop(g);
    let evs: Vec<String> = mon.drain().iter().map(json::to_string).collect();
    assert_eq!(evs.len(), 3);
    assert_eq!(
        evs[0],
        r#"{"command":"new","param":{"pci/0000:01:00.0":{"name":"max_macs","type":"generic","values":[{"cmode":"driverinit","value":16}]}}}"#
    );
    assert_eq!(
        evs[2],
        r#"{"command":"new","param":{"pci/0000:01:00.0":{"name":"fw_load_policy","type":"generic","values":[{"cmode":"runtime","value":"disk"}]}}}"#
    );
}

#[test]
fn add_and_remove_after_registration() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PARAM, 16);
    let mut g = dev.lock();
    g.param_add(
        Param::driver(100, "mine", ParamType::Bool, Cmodes::DRIVERINIT)
            .driverinit_default(ParamValue::Bool(true)),
    )
    .unwrap();
    assert!(matches!(
        g.param_add(Param::driver(101, "mine", ParamType::Bool, Cmodes::RUNTIME)),
        Err(Error::Exists(_))
    ));
    g.param_remove("mine").unwrap();
    drop(g);
    let s = summary(&mon);
    assert_eq!(
        s.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["new", "del"]
    );
}

#[test]
fn string_and_u64_values() {
    let (mut b, _) = builder();
    b.param(
        Param::driver(100, "label", ParamType::String, Cmodes::DRIVERINIT)
            .driverinit_default(ParamValue::String("a".into())),
    )
    .unwrap();
    b.param(Param::generic(18, Cmodes::DRIVERINIT).driverinit_default(ParamValue::U64(u64::MAX)))
        .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.param_set(
            "label",
            Cmode::Driverinit,
            ParamValue::String("y".repeat(40))
        ),
        Err(Error::Invalid(_))
    ));
    g.param_set(
        "label",
        Cmode::Driverinit,
        ParamValue::String("port-a".into()),
    )
    .unwrap();
    let v = g.param_get("clock_id").unwrap();
    assert_eq!(
        json::to_string(&v),
        r#"{"name":"clock_id","type":"generic","values":[{"cmode":"driverinit","value":18446744073709551615}]}"#
    );
}

#[test]
fn show_skips_params_the_driver_cannot_read() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.driver_mut().fail_when = Some(("param_get 7".into(), Error::NotSupported("not now".into())));
    let names: Vec<String> = g
        .param_show()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["max_macs"]);
    // Other errors still fail the listing.
    g.driver_mut().fail_when = Some(("param_get 7".into(), Error::Busy("fw".into())));
    assert_eq!(g.param_show().map(|_| ()), Err(Error::Busy("fw".into())));
}

#[test]
fn without_get_default_there_is_no_default_to_set() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    // The test driver has no param_get_default: no `default` key, and
    // `param set ... default` is refused without touching the value.
    let v = g.param_get("fw_load_policy").unwrap();
    assert_eq!(v.values[0].default, None);
    assert!(!json::to_string(&v).contains("default"));
    assert!(matches!(
        g.param_set_default("fw_load_policy", Cmode::Runtime),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.param_set_default("max_macs", Cmode::Runtime),
        Err(Error::NotSupported(_))
    ));
    assert!(matches!(
        g.param_set_default("nope", Cmode::Runtime),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        g.param_get("max_macs").unwrap().values[0].value,
        ParamValue::U32(32)
    );
}
