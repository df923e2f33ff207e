//! Bucket one: every validation rule of the builder.

use super::*;
use crate::trap::{
    generic_trap_group_id, generic_trap_id, GENERIC_TRAPS, GENERIC_TRAP_GROUPS, GENERIC_TRAP_ID_MAX,
};

fn invalid<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn exists<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(Error::Exists(_))),
        "expected Exists, got {r:?}"
    );
}

#[test]
fn generic_tables_match_the_kernel_numbering() {
    assert_eq!(GENERIC_TRAPS.len(), 94);
    assert_eq!(GENERIC_TRAP_ID_MAX, 93);
    assert_eq!(generic_trap_id("source_mac_is_multicast"), Some(0));
    assert_eq!(generic_trap_id("ttl_value_is_too_small"), Some(7));
    assert_eq!(generic_trap_id("stp"), Some(29));
    assert_eq!(generic_trap_id("early_drop"), Some(73));
    assert_eq!(generic_trap_id("locked_port"), Some(93));
    assert_eq!(GENERIC_TRAPS[92], ("eapol", TrapType::Control));
    assert_eq!(GENERIC_TRAPS[18].1, TrapType::Exception);
    assert_eq!(GENERIC_TRAP_GROUPS.len(), 27);
    assert_eq!(generic_trap_group_id("parser_error_drops"), Some(25));
    assert_eq!(generic_trap_group_id("uc_loopback"), Some(17));
    // Names are unique.
    for (i, (n, _)) in GENERIC_TRAPS.iter().enumerate() {
        assert_eq!(generic_trap_id(n), Some(i as u16), "{n}");
    }
}

#[test]
fn handle_checks() {
    assert!(matches!(Handle::new("", "x"), Err(Error::Invalid(_))));
    assert!(matches!(Handle::new("pci", ""), Err(Error::Invalid(_))));
    assert!(matches!(Handle::new("p/ci", "x"), Err(Error::Invalid(_))));
    assert_eq!(handle().to_string(), "pci/0000:01:00.0");
}

#[test]
fn reload_caps_are_checked_at_build() {
    let mk = |caps, rc| Builder::new(handle(), &OPS, caps, rc, Dev::default()).map(|_| ());
    let m = invalid(mk(Capabilities::RELOAD, ReloadCaps::default()));
    assert!(m.contains("at least one reload action"), "{m}");
    invalid(mk(
        Capabilities::empty(),
        ReloadCaps {
            actions: ReloadActions::DRIVER_REINIT,
            limits: ReloadLimits::empty(),
        },
    ));
    invalid(mk(
        Capabilities::RELOAD,
        ReloadCaps {
            actions: ReloadActions::DRIVER_REINIT,
            limits: ReloadLimits::NO_RESET,
        },
    ));
    assert!(mk(Capabilities::RELOAD, full_reload_caps()).is_ok());
    assert!(mk(Capabilities::empty(), ReloadCaps::default()).is_ok());
}

#[test]
fn policer_rules() {
    let (mut b, _) = builder();
    let m = invalid(
        b.trap_policer(TrapPolicer::new(0, 10, 10, (1, 100), (1, 100)))
            .map(|_| ()),
    );
    assert!(m.contains("reserved"), "{m}");
    invalid(
        b.trap_policer(TrapPolicer::new(1, 10, 10, (100, 1), (1, 100)))
            .map(|_| ()),
    );
    invalid(
        b.trap_policer(TrapPolicer::new(1, 10, 10, (1, 100), (100, 1)))
            .map(|_| ()),
    );
    let m = invalid(
        b.trap_policer(TrapPolicer::new(1, 1000, 10, (1, 100), (1, 100)))
            .map(|_| ()),
    );
    assert!(m.contains("rate 1000 higher than limit 100"), "{m}");
    let m = invalid(
        b.trap_policer(TrapPolicer::new(1, 10, 0, (1, 100), (1, 100)))
            .map(|_| ()),
    );
    assert!(m.contains("burst 0 lower than limit 1"), "{m}");
    b.trap_policer(TrapPolicer::new(1, 10, 10, (1, 100), (1, 100)))
        .unwrap();
    exists(
        b.trap_policer(TrapPolicer::new(1, 10, 10, (1, 100), (1, 100)))
            .map(|_| ()),
    );
}

#[test]
fn batch_registration_is_all_or_nothing() {
    let (mut b, _) = builder();
    let r = b.trap_policers([
        TrapPolicer::new(1, 10, 10, (1, 100), (1, 100)),
        TrapPolicer::new(2, 10, 10, (1, 100), (1, 100)),
        TrapPolicer::new(0, 10, 10, (1, 100), (1, 100)),
    ]);
    assert!(r.is_err());
    // Policer 1 was rolled back, so a group cannot refer to it.
    invalid(b.trap_group(TrapGroup::generic(L2, 1)).map(|_| ()));
    b.trap_groups([TrapGroup::generic(L2, 0)]).unwrap();
    assert!(b
        .trap_groups([TrapGroup::generic(1, 0), TrapGroup::generic(1, 0)])
        .is_err());
    let r = b.traps([
        Trap::generic(SMAC_MC, TrapAction::Drop, L2),
        Trap::generic(VLAN_MISMATCH, TrapAction::Drop, L2),
        Trap::generic(SMAC_MC, TrapAction::Drop, L2),
    ]);
    assert!(matches!(r, Err(Error::Exists(_))));
    b.trap(Trap::generic(VLAN_MISMATCH, TrapAction::Drop, L2))
        .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let names: Vec<String> = g
        .trap_show(Detail::default())
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["vlan_tag_mismatch"]);
    // The group batch rolled back too: only l2_drops.
    assert_eq!(g.trap_group_show(Detail::default()).unwrap().len(), 1);
}

#[test]
fn group_rules() {
    let (mut b, _) = builder();
    let m = invalid(
        b.trap_group(TrapGroup {
            id: 0,
            name: "l3_drops".into(),
            generic: true,
            init_policer_id: 0,
        })
        .map(|_| ()),
    );
    assert!(m.contains("must be named \"l2_drops\""), "{m}");
    invalid(b.trap_group(TrapGroup::generic(27, 0)).map(|_| ()));
    let m = invalid(b.trap_group(TrapGroup::driver(5, "mine", 0)).map(|_| ()));
    assert!(m.contains("generic range"), "{m}");
    exists(
        b.trap_group(TrapGroup::driver(100, "l2_drops", 0))
            .map(|_| ()),
    );
    let m = invalid(b.trap_group(TrapGroup::driver(100, "mine", 7)).map(|_| ()));
    assert!(m.contains("policer 7"), "{m}");
    invalid(b.trap_group(TrapGroup::driver(100, "", 0)).map(|_| ()));
    b.trap_group(TrapGroup::driver(100, "mine", 0)).unwrap();
    exists(b.trap_group(TrapGroup::driver(101, "mine", 0)).map(|_| ()));
    exists(b.trap_group(TrapGroup::driver(100, "other", 0)).map(|_| ()));
    b.trap_group(TrapGroup::generic(L2, 0)).unwrap();
    exists(b.trap_group(TrapGroup::generic(L2, 0)).map(|_| ()));
}

#[test]
fn trap_rules() {
    let (mut b, _) = builder_with(Capabilities::empty());
    b.trap_group(TrapGroup::generic(L2, 0)).unwrap();
    let m = invalid(b.trap(Trap::generic(SMAC_MC, TrapAction::Drop, L2)));
    assert!(m.contains("trap_action_set"), "{m}");

    let (mut b, _) = builder();
    b.trap_group(TrapGroup::generic(L2, 0)).unwrap();
    let mut t = Trap::generic(SMAC_MC, TrapAction::Drop, L2);
    t.name = "vlan_tag_mismatch".into();
    invalid(b.trap(t));
    let mut t = Trap::generic(SMAC_MC, TrapAction::Drop, L2);
    t.ty = TrapType::Control;
    let m = invalid(b.trap(t));
    assert!(m.contains("has type drop, not control"), "{m}");
    invalid(b.trap(Trap::generic(94, TrapAction::Drop, L2)));
    let m = invalid(b.trap(Trap::driver(
        10,
        "mine",
        TrapType::Drop,
        TrapAction::Drop,
        L2,
    )));
    assert!(m.contains("generic range"), "{m}");
    exists(b.trap(Trap::driver(
        200,
        "tail_drop",
        TrapType::Drop,
        TrapAction::Drop,
        L2,
    )));
    let m = invalid(b.trap(Trap::generic(SMAC_MC, TrapAction::Drop, 3)));
    assert!(m.contains("group 3"), "{m}");
    b.trap(Trap::driver(
        200,
        "mine",
        TrapType::Exception,
        TrapAction::Trap,
        L2,
    ))
    .unwrap();
    exists(b.trap(Trap::driver(
        201,
        "mine",
        TrapType::Drop,
        TrapAction::Drop,
        L2,
    )));
    exists(b.trap(Trap::driver(
        200,
        "other",
        TrapType::Drop,
        TrapAction::Drop,
        L2,
    )));
}

#[test]
fn port_rules() {
    let (mut b, _) = builder();
    b.port(Port::physical(1, 0)).unwrap();
    exists(b.port(Port::physical(1, 1)).map(|_| ()));
    let m = invalid(b.port(Port::physical(2, 1).lanes(1, true)).map(|_| ()));
    assert!(m.contains("at least 2 lanes"), "{m}");
    invalid(b.port(Port::split(3, 1, 0, 2).lanes(2, true)).map(|_| ()));
    invalid(
        b.port(Port::pci_pf(4, 0, 0, false).lanes(4, true))
            .map(|_| ()),
    );
    let big = PortFunction {
        hw_addr: vec![0; 33],
        state: PortFnState::Inactive,
        opstate: PortFnOpstate::Detached,
    };
    invalid(
        b.port(Port::pci_pf(5, 0, 0, false).with_function(big))
            .map(|_| ()),
    );
}

#[test]
fn param_rules() {
    let (mut b, _) = builder();
    let m = invalid(b.param(Param::generic(1, Cmodes::empty())).map(|_| ()));
    assert!(m.contains("no configuration mode"), "{m}");
    let mut p = Param::generic(1, Cmodes::RUNTIME);
    p.name = "enable_sriov".into();
    invalid(b.param(p).map(|_| ()));
    let mut p = Param::generic(1, Cmodes::RUNTIME);
    p.ty = ParamType::U8;
    invalid(b.param(p).map(|_| ()));
    invalid(b.param(Param::generic(500, Cmodes::RUNTIME)).map(|_| ()));
    invalid(
        b.param(Param::driver(3, "mine", ParamType::U32, Cmodes::RUNTIME))
            .map(|_| ()),
    );
    exists(
        b.param(Param::driver(
            100,
            "max_macs",
            ParamType::U32,
            Cmodes::RUNTIME,
        ))
        .map(|_| ()),
    );
    let m = invalid(
        b.param(Param::generic(1, Cmodes::RUNTIME).driverinit_default(ParamValue::U32(1)))
            .map(|_| ()),
    );
    assert!(m.contains("no driverinit mode"), "{m}");
    invalid(
        b.param(Param::generic(1, Cmodes::DRIVERINIT).driverinit_default(ParamValue::U8(1)))
            .map(|_| ()),
    );
    let long = "x".repeat(32);
    invalid(
        b.param(
            Param::driver(100, "s", ParamType::String, Cmodes::DRIVERINIT)
                .driverinit_default(ParamValue::String(long)),
        )
        .map(|_| ()),
    );
    b.param(Param::driver(100, "mine", ParamType::U32, Cmodes::RUNTIME))
        .unwrap();
    exists(
        b.param(Param::driver(101, "mine", ParamType::U32, Cmodes::RUNTIME))
            .map(|_| ()),
    );
    exists(
        b.param(Param::driver(100, "other", ParamType::U32, Cmodes::RUNTIME))
            .map(|_| ()),
    );
}

#[test]
fn reporter_rules() {
    let (mut b, _) = builder();
    let m = invalid(
        b.health_reporter(Reporter::new("fw", ReporterCaps::DUMP).periods(100, 0))
            .map(|_| ()),
    );
    assert!(m.contains("grace period without a recover op"), "{m}");
    let m = invalid(
        b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER).periods(0, 100))
            .map(|_| ()),
    );
    assert!(m.contains("burst period without a grace period"), "{m}");
    invalid(
        b.health_reporter(Reporter::new("", ReporterCaps::RECOVER))
            .map(|_| ()),
    );
    assert!(matches!(
        b.health_reporter(Reporter::new("tx", ReporterCaps::RECOVER).on_port(9)),
        Err(Error::NotFound(_))
    ));
    b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER))
        .unwrap();
    exists(
        b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER))
            .map(|_| ()),
    );
    b.port(Port::physical(1, 0)).unwrap();
    // Same name on a port is a different reporter.
    b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER).on_port(1))
        .unwrap();
    exists(
        b.health_reporter(Reporter::new("fw", ReporterCaps::RECOVER).on_port(1))
            .map(|_| ()),
    );
}

#[test]
fn region_rules() {
    let (mut b, _) = builder();
    invalid(b.region(Region::new("r", 0, 1)).map(|_| ()));
    invalid(b.region(Region::new("r", 1, 0)).map(|_| ()));
    invalid(b.region(Region::new("", 1, 1)).map(|_| ()));
    b.region(Region::new("r", 1, 1)).unwrap();
    exists(b.region(Region::new("r", 2, 2)).map(|_| ()));
}

#[test]
fn clocks() {
    let c = SystemClock::default();
    let a = c.monotonic_ms();
    assert!(c.monotonic_ms() >= a);
    // After 2020-01-01.
    assert!(c.realtime_ns() > 1_577_836_800_000_000_000);
    let m = ManualClock::new(5);
    let m2 = m.clone();
    m2.advance_ms(10);
    assert_eq!(m.monotonic_ms(), 15);
    assert_eq!(
        m.realtime_ns() - ManualClock::new(0).realtime_ns(),
        15_000_000
    );
}
