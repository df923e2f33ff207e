//! Whole `devlink -j` outputs for each object kind.

use super::*;
use crate::json::{ArraySection, ObjectSection};

#[test]
fn dev_show() {
    let (b, _) = builder_with(Capabilities::empty());
    let dev = b.register();
    let g = dev.enter().unwrap();
    let v = g.dev_show(false);
    assert_eq!(
        ObjectSection::new("dev", [(g.handle().to_string(), &v)]).to_json(),
        r#"{"dev":{"pci/0000:01:00.0":{}}}"#
    );
    // Without reload support only the remote counters exist.
    assert_eq!(
        json::to_string(&g.dev_show(true)),
        r#"{"stats":{"reload":{},"remote_reload":{"driver_reinit":{"unspecified":0},"fw_activate":{"unspecified":0,"no_reset":0}}}}"#
    );
}

#[test]
fn port_show() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    g.port_set_netdev(1, "enp1s0f0np0").unwrap();
    let ports = g.port_show();
    let text = ObjectSection::new(
        "port",
        ports
            .iter()
            .map(|(i, v)| (format!("{}/{i}", g.handle()), v)),
    )
    .to_json();
    assert_eq!(
        text,
        concat!(
            r#"{"port":{"pci/0000:01:00.0/1":{"type":"eth","netdev":"enp1s0f0np0","flavour":"physical","port":0,"splittable":true,"lanes":4},"#,
            r#""pci/0000:01:00.0/2":{"type":"notset","flavour":"pcivf","controller":0,"pfnum":0,"vfnum":3,"external":false,"splittable":false,"#,
            r#""function":{"hw_addr":"00:00:00:00:00:00","state":"inactive","opstate":"detached"}}}}"#
        )
    );
}

#[test]
fn pci_sf_and_pf_ports() {
    let (mut b, _) = builder();
    b.port(Port::pci_pf(1, 1, 0, true)).unwrap();
    b.port(Port::pci_sf(2, 0, 0, 88, false)).unwrap();
    b.port(Port::other(3, PortFlavour::Virtual)).unwrap();
    let dev = b.register();
    let g = dev.lock();
    let s: Vec<String> = g
        .port_show()
        .iter()
        .map(|(_, v)| json::to_string(v))
        .collect();
    assert_eq!(
        s[0],
        r#"{"type":"notset","flavour":"pcipf","controller":1,"pfnum":0,"external":true,"splittable":false}"#
    );
    assert_eq!(
        s[1],
        r#"{"type":"notset","flavour":"pcisf","controller":0,"pfnum":0,"sfnum":88,"external":false,"splittable":false}"#
    );
    assert_eq!(
        s[2],
        r#"{"type":"notset","flavour":"virtual","splittable":false}"#
    );
}

#[test]
fn trap_group_and_policer_show() {
    let (b, _, r) = populated();
    let dev = b.register();
    r[2].report(60);
    let mut g = dev.enter().unwrap();
    let key = g.handle().to_string();
    let traps = g
        .trap_show(Detail {
            stats: false,
            verbose: true,
        })
        .unwrap();
    assert_eq!(
        ArraySection::new("trap", traps.iter().map(|t| (key.clone(), t))).to_json(),
        concat!(
            r#"{"trap":{"pci/0000:01:00.0":["#,
            r#"{"name":"source_mac_is_multicast","type":"drop","generic":true,"action":"drop","group":"l2_drops","metadata":["input_port"]},"#,
            r#"{"name":"vlan_tag_mismatch","type":"drop","generic":true,"action":"drop","group":"l2_drops","metadata":[]},"#,
            r#"{"name":"lldp","type":"control","generic":true,"action":"trap","group":"lldp","metadata":[]}]}}"#
        )
    );
    let groups = g
        .trap_group_show(Detail {
            stats: true,
            verbose: false,
        })
        .unwrap();
    assert_eq!(
        ArraySection::new("trap_group", groups.iter().map(|t| (key.clone(), t))).to_json(),
        concat!(
            r#"{"trap_group":{"pci/0000:01:00.0":["#,
            r#"{"name":"l2_drops","generic":true,"policer":1,"stats":{"rx":{"bytes":0,"packets":0}}},"#,
            r#"{"name":"lldp","generic":true,"stats":{"rx":{"bytes":60,"packets":1}}}]}}"#
        )
    );
    g.driver_mut().policer_drops = 12;
    let pols = g
        .trap_policer_show(Detail {
            stats: true,
            verbose: false,
        })
        .unwrap();
    assert_eq!(
        ArraySection::new("trap_policer", pols.iter().map(|t| (key.clone(), t))).to_json(),
        r#"{"trap_policer":{"pci/0000:01:00.0":[{"policer":1,"rate":1000,"burst":128,"stats":{"rx":{"dropped":12}}}]}}"#
    );
}

#[test]
fn param_show() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.enter().unwrap();
    let key = g.handle().to_string();
    let params = g.param_show().unwrap();
    assert_eq!(
        ArraySection::new("param", params.iter().map(|p| (key.clone(), p))).to_json(),
        concat!(
            r#"{"param":{"pci/0000:01:00.0":["#,
            r#"{"name":"max_macs","type":"generic","values":[{"cmode":"driverinit","value":32}]},"#,
            r#"{"name":"fw_load_policy","type":"generic","values":[{"cmode":"runtime","value":"driver"}]}]}}"#
        )
    );
    let mut b2 = builder().0;
    b2.param(Param::driver(
        100,
        "my_flag",
        ParamType::Bool,
        Cmodes::RUNTIME | Cmodes::PERMANENT,
    ))
    .unwrap();
    b2.driver_mut().runtime.insert(100, ParamValue::Bool(true));
    let dev2 = b2.register();
    let v = dev2.enter().unwrap().param_get("my_flag").unwrap();
    assert_eq!(
        json::to_string(&v),
        r#"{"name":"my_flag","type":"driver-specific","values":[{"cmode":"runtime","value":true},{"cmode":"permanent","value":true}]}"#
    );
}

#[test]
fn health_show() {
    let (b, _, _) = populated();
    let dev = b.register();
    let g = dev.lock();
    let hs = g.health_show();
    assert_eq!(
        ArraySection::new("health", hs.iter().map(|(k, v)| (k.clone(), v))).to_json(),
        r#"{"health":{"pci/0000:01:00.0":[{"reporter":"fw","state":"healthy","error":0,"recover":0,"grace_period":0,"burst_period":0,"auto_recover":true,"auto_dump":true}]}}"#
    );
}

#[test]
fn region_show() {
    let (b, _, _) = populated();
    let dev = b.register();
    let mut g = dev.lock();
    g.region_snapshot_create("cr-space", vec![0; 16]).unwrap();
    let rs = g.region_show();
    assert_eq!(
        ObjectSection::new("regions", rs.iter().map(|(k, v)| (k.clone(), v))).to_json(),
        r#"{"regions":{"pci/0000:01:00.0/cr-space":{"size":16,"snapshot":[1],"max":2}}}"#
    );
}
