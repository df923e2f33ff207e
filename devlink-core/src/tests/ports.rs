//! Ports: type, split, function, removal rules.

use super::*;

#[test]
fn set_type_records_desired_type() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    g.port_set_type(1, PortType::NotSet).unwrap();
    assert!(
        calls(&g).is_empty(),
        "setting the current desired type is a no-op"
    );
    g.port_set_type(1, PortType::Ib).unwrap();
    assert_eq!(calls(&g), ["port_type_set 1 Ib"]);
    let v = g.port_get(1).unwrap();
    assert_eq!((v.ty, v.des_type), (PortType::NotSet, Some(PortType::Ib)));
    assert!(matches!(
        g.port_set_type(9, PortType::Eth),
        Err(Error::NotFound(_))
    ));

    let (mut b, _) = builder_with(Capabilities::empty());
    b.port(Port::physical(1, 0)).unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    assert!(matches!(
        g.port_set_type(1, PortType::Eth),
        Err(Error::NotSupported(_))
    ));
    assert!(calls(&g).is_empty());
}

#[test]
fn split_arithmetic() {
    let (mut b, _, _) = populated();
    b.port(Port::physical(3, 2)).unwrap();
    let dev = b.register();
    let mon = dev.subscribe(ObjectKinds::PORT, 64);
    let mut g = dev.enter().unwrap();
    let e = g.port_split(3, 2).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.ends_with("cannot be split")),
        "{e}"
    );
    for bad in [0, 1, 3, 8] {
        let e = g.port_split(1, bad).unwrap_err();
        assert!(
            matches!(e, Error::Invalid(ref m) if m.contains("invalid split count")),
            "{bad}: {e}"
        );
    }
    assert!(calls(&g).is_empty());
    g.port_split(1, 2).unwrap();
    assert_eq!(calls(&g), ["port_split 1 2"]);
    let idx: Vec<u32> = g.port_show().into_iter().map(|(i, _)| i).collect();
    assert_eq!(idx, [2, 3, 100, 101]);
    let v = g.port_get(101).unwrap();
    assert_eq!(
        (v.port, v.split_group, v.lanes, v.splittable),
        (Some(0), Some(0), Some(2), false)
    );
    let e = g.port_split(100, 2).unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("cannot be split further")),
        "{e}"
    );
    assert!(matches!(g.port_split(7, 2), Err(Error::NotFound(_))));
    g.port_unsplit(100).unwrap();
    drop(g);
    // Replacing the port from inside the op notified at once, in order.
    let s = summary(&mon);
    let want = [
        ("del", "port", "pci/0000:01:00.0/1"),
        ("new", "port", "pci/0000:01:00.0/100"),
        ("new", "port", "pci/0000:01:00.0/101"),
    ];
    let got: Vec<(&str, &str, &str)> = s
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn function_set_order_and_checks() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let set = |a: Option<Vec<u8>>, s: Option<PortFnState>| PortFunctionSet {
        hw_addr: a,
        state: s,
    };
    assert!(matches!(
        g.port_function_set(1, set(None, Some(PortFnState::Active))),
        Err(Error::NotSupported(_))
    ));
    let e = g
        .port_function_set(2, set(Some(vec![1, 2, 3, 4, 5, 6]), None))
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("non-unicast")),
        "{e}"
    );
    let e = g
        .port_function_set(2, set(Some(vec![0; 5]), None))
        .unwrap_err();
    assert!(
        matches!(e, Error::Invalid(ref m) if m.contains("length 5")),
        "{e}"
    );
    assert!(calls(&g).is_empty());
    g.port_function_set(
        2,
        set(
            Some(vec![0, 0x11, 0x22, 0x33, 0x44, 0x55]),
            Some(PortFnState::Active),
        ),
    )
    .unwrap();
    assert_eq!(
        calls(&g),
        [
            "port_fn_hw_addr_set 2 00:11:22:33:44:55",
            "port_fn_state_set 2 Active"
        ]
    );
    let f = g.port_get(2).unwrap().function.unwrap();
    assert_eq!(
        (f.hw_addr.as_str(), f.state, f.opstate),
        (
            "00:11:22:33:44:55",
            PortFnState::Active,
            PortFnOpstate::Detached
        )
    );
    g.port_set_fn_opstate(2, PortFnOpstate::Attached).unwrap();
    assert_eq!(
        g.port_get(2).unwrap().function.unwrap().opstate,
        PortFnOpstate::Attached
    );
}

#[test]
fn function_set_checks_every_capability_before_applying_any() {
    let (mut b, _) = builder_with(Capabilities::PORT_FN_HW_ADDR_SET);
    b.port(Port::pci_pf(1, 0, 0, false).with_function(PortFunction {
        hw_addr: vec![0; 6],
        state: PortFnState::Inactive,
        opstate: PortFnOpstate::Detached,
    }))
    .unwrap();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let r = g.port_function_set(
        1,
        PortFunctionSet {
            hw_addr: Some(vec![0, 1, 2, 3, 4, 5]),
            state: Some(PortFnState::Active),
        },
    );
    assert!(matches!(r, Err(Error::NotSupported(_))));
    assert!(calls(&g).is_empty());
    assert_eq!(
        g.port_get(1).unwrap().function.unwrap().hw_addr,
        "00:00:00:00:00:00"
    );
}

#[test]
fn removal_needs_type_and_reporters_gone() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    g.port_set_netdev(1, "eth0").unwrap();
    assert_eq!(g.port_get(1).unwrap().netdev.as_deref(), Some("eth0"));
    assert!(matches!(g.port_remove(1), Err(Error::Busy(_))));
    g.port_clear_type(1).unwrap();
    g.health_reporter_add(Reporter::new("tx", ReporterCaps::RECOVER).on_port(1))
        .unwrap();
    assert!(matches!(g.port_remove(1), Err(Error::Busy(_))));
    g.health_reporter_remove("tx", Some(1)).unwrap();
    g.port_remove(1).unwrap();
    assert!(matches!(g.port_remove(1), Err(Error::NotFound(_))));
    g.port_set_ibdev(2, "mlx5_0").unwrap();
    assert_eq!(g.port_get(2).unwrap().ibdev.as_deref(), Some("mlx5_0"));
    assert!(matches!(
        g.port_add(Port::physical(2, 5)),
        Err(Error::Exists(_))
    ));
}
