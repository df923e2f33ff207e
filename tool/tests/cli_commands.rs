//! Every `cxu` subcommand through the tool's entry point, `cli::run`, on
//! the embedded model: text and JSON output, batches, and errors.

mod cli_support;

use cli_support::{batch, cxu, ok};

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn dev_show_and_info() {
    assert_eq!(ok(&["dev", "show"]), "model/0\n");
    assert_eq!(ok(&["-j", "dev", "show"]), "{\"dev\":{\"model/0\":{}}}\n");
    assert_eq!(ok(&["dev", "show", "model/0"]), "model/0\n");
    let s = ok(&["-j", "-s", "dev", "show"]);
    assert_eq!(
        json(&s)["dev"]["model/0"]["stats"]["reload"]["driver_reinit"]["unspecified"],
        0
    );
    // devlink's layout: groups two steps in, one version per line.
    assert_eq!(
        ok(&["dev", "info"]),
        "model/0:\n  driver cxu\n  serial_number MT2025X00001\n  versions:\n      fixed:\n        fw.psid MT_0000000008\n      running:\n        fw.version 16.35.2000\n        fw 16.35.2000\n      stored:\n        fw.version 16.35.2000\n        fw 16.35.2000\n"
    );
    assert_eq!(
        ok(&["-j", "dev", "info"]),
        "{\"info\":{\"model/0\":{\"driver\":\"cxu\",\"serial_number\":\"MT2025X00001\",\"versions\":{\"fixed\":{\"fw.psid\":\"MT_0000000008\"},\"running\":{\"fw.version\":\"16.35.2000\",\"fw\":\"16.35.2000\"},\"stored\":{\"fw.version\":\"16.35.2000\",\"fw\":\"16.35.2000\"}}}}}\n"
    );
    // -p keeps the order and the content.
    let p = ok(&["-j", "-p", "dev", "info"]);
    assert!(
        p.starts_with(
            "{\n    \"info\": {\n        \"model/0\": {\n            \"driver\": \"cxu\",\n"
        ),
        "{p}"
    );
    assert_eq!(json(&p), json(&ok(&["-j", "dev", "info"])));
}

#[test]
fn port_show_and_set() {
    // devlink's entry only; the PAOS states with -v, PPCNT with -s.
    assert_eq!(
        ok(&["port", "show"]),
        "model/0/1: type notset flavour physical port 1 splittable false\n"
    );
    assert_eq!(ok(&["port", "show", "model/0"]), ok(&["port", "show"]));
    assert_eq!(
        ok(&["-j", "-v", "port", "show", "model/0/1"]),
        "{\"port\":{\"model/0/1\":{\"type\":\"notset\",\"flavour\":\"physical\",\"port\":1,\"splittable\":false,\"admin_state\":\"down\",\"oper_state\":\"down\"}}}\n"
    );
    let f = batch("port set model/0/1 state up\nport show\n");
    assert!(!ok(&["-b", f.path().to_str().unwrap()]).contains("admin_state"));
    assert!(ok(&["-v", "-b", f.path().to_str().unwrap()]).contains("admin_state up"));
    let s = ok(&["-j", "-s", "port", "show"]);
    let p = &json(&s)["port"]["model/0/1"];
    assert_eq!(p["stats"]["a_frames_received_ok"], 0);
    assert!(p.get("admin_state").is_none(), "{s}");
    // Another device, and port handles that are not DEV/N.
    let (code, out) = cxu(&["port", "show", "pci/0000:03:00.0"]);
    assert_eq!(code, 1);
    assert!(out.contains("no device \"pci/0000:03:00.0\""), "{out}");
    let (code, out) = cxu(&["port", "set", "1", "type", "eth"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("Error: Port identification"), "{out}");
    // devlink's port type: this device, as mlx5, has no port_type_set.
    let (code, out) = cxu(&["port", "set", "model/0/1", "type", "ib"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: not supported: port_type_set (errno 95)\n")
    );
    let (code, out) = cxu(&["port", "set", "model/0/1", "type", "fc"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("Error: Unknown port type \"fc\""), "{out}");
}

#[test]
fn trap_show_and_set() {
    let t = ok(&["trap", "show"]);
    assert!(t.starts_with("model/0:\n  name source_mac_is_multicast type drop generic true action drop group l2_drops\n"), "{t}");
    assert_eq!(t.lines().count(), 11);
    assert!(t.contains(
        "  name rx_ring_overflow type drop generic false action drop group buffer_drops\n"
    ));
    assert_eq!(
        ok(&["-j", "trap", "show", "trap", "lldp"]),
        "{\"trap\":{\"model/0\":[{\"name\":\"lldp\",\"type\":\"control\",\"generic\":true,\"action\":\"trap\",\"group\":\"lldp\"}]}}\n"
    );
    let v = ok(&["-j", "-v", "-s", "trap", "show", "trap", "stp"]);
    assert_eq!(json(&v)["trap"]["model/0"][0]["stats"]["rx"]["packets"], 0);
    assert!(json(&v)["trap"]["model/0"][0]["metadata"].is_array());
    let f = batch(
        "trap set model/0 trap vlan_tag_mismatch action trap\ntrap show trap vlan_tag_mismatch\n",
    );
    assert_eq!(
        ok(&["-b", f.path().to_str().unwrap()]),
        "model/0:\n  name vlan_tag_mismatch type drop generic true action trap group l2_drops\n"
    );
}

#[test]
fn trap_groups_and_policers() {
    assert_eq!(
        ok(&["trap", "group", "show", "group", "stp"]),
        "model/0:\n  name stp generic true policer 5\n"
    );
    assert_eq!(
        ok(&["-j", "trap", "group", "show", "group", "stp"]),
        "{\"trap_group\":{\"model/0\":[{\"name\":\"stp\",\"generic\":true,\"policer\":5}]}}\n"
    );
    assert_eq!(
        ok(&["trap", "policer", "show", "policer", "1"]),
        "model/0:\n  policer 1 rate 10000 burst 256\n"
    );
    assert_eq!(
        ok(&["-j", "trap", "policer", "show", "policer", "1"]),
        "{\"trap_policer\":{\"model/0\":[{\"policer\":1,\"rate\":10000,\"burst\":256}]}}\n"
    );
    let f = batch(
        "trap group set model/0 group stp policer 1\ntrap policer set model/0 policer 1 rate 500 burst 32\n\
         trap group show group stp\ntrap policer show policer 1\ntrap group set model/0 group stp nopolicer\n\
         trap group show group stp\n",
    );
    assert_eq!(
        ok(&["-b", f.path().to_str().unwrap()]),
        "model/0:\n  name stp generic true policer 1\nmodel/0:\n  policer 1 rate 500 burst 32\nmodel/0:\n  name stp generic true\n"
    );
}

#[test]
fn params() {
    assert_eq!(
        ok(&["param", "show"]),
        "model/0:\n  name trap_policers type driver-specific\n    values:\n      cmode driverinit value 7 default 7\n  name counters_clear_on_read type driver-specific\n    values:\n      cmode runtime value false default false\n"
    );
    assert_eq!(
        ok(&["-j", "dev", "param", "show", "name", "trap_policers"]),
        "{\"param\":{\"model/0\":[{\"name\":\"trap_policers\",\"type\":\"driver-specific\",\"values\":[{\"cmode\":\"driverinit\",\"value\":7,\"default\":7}]}]}}\n"
    );
    // `default` sets the default back, as devlink's `param set ... default`.
    let f = batch(
        "param set model/0 name counters_clear_on_read value true cmode runtime\n\
         param set model/0 name trap_policers value 3 cmode driverinit\n\
         param show\n\
         param set model/0 name counters_clear_on_read default cmode runtime\n\
         param set model/0 name trap_policers default cmode driverinit\n\
         param show\n",
    );
    let out = ok(&["-j", "-b", f.path().to_str().unwrap()]);
    let docs: Vec<serde_json::Value> = serde_json::from_str(&format!("[{out}]")).unwrap();
    let value =
        |d: &serde_json::Value, i: usize| d["param"]["model/0"][i]["values"][0]["value"].clone();
    assert_eq!(
        (value(&docs[0], 0), value(&docs[0], 1)),
        (3.into(), true.into())
    );
    assert_eq!(
        (value(&docs[1], 0), value(&docs[1], 1)),
        (7.into(), false.into())
    );
    let (code, out) = cxu(&[
        "param",
        "set",
        "model/0",
        "name",
        "trap_policers",
        "value",
        "3",
        "default",
        "cmode",
        "driverinit",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: Cannot specify both value and default\n")
    );
    let (code, out) = cxu(&[
        "param",
        "set",
        "model/0",
        "name",
        "trap_policers",
        "cmode",
        "driverinit",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: Either value or default must be specified\n")
    );
    let f = batch("param set model/0 name counters_clear_on_read value true cmode runtime\nparam show name counters_clear_on_read\n");
    assert!(ok(&["-b", f.path().to_str().unwrap()]).contains("cmode runtime value true"));
    let (code, out) = cxu(&[
        "param",
        "set",
        "model/0",
        "name",
        "counters_clear_on_read",
        "value",
        "yes",
        "cmode",
        "runtime",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: value \"yes\": true or false\n")
    );
}

#[test]
fn reload_and_flash() {
    let mut img = b"CXFW".to_vec();
    img.extend_from_slice(&0x1024_0042u32.to_be_bytes());
    img.extend_from_slice(&[0xAB; 600]);
    let fw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fw.path(), &img).unwrap();
    let f = batch(&format!(
        "dev flash model/0 file {}\ndev reload model/0 action fw_activate\ndev info\n",
        fw.path().display()
    ));
    let out = ok(&["-b", f.path().to_str().unwrap()]);
    // Not a terminal: devlink's plain status lines, no percentage, no bar.
    assert!(
        out.starts_with(
            "Preparing to flash\nDownloading\nVerifying\nFlashing done\nreload_actions_performed:"
        ),
        "{out}"
    );
    // devlink: the actions on one line.
    assert!(
        out.contains("reload_actions_performed:\n    driver_reinit fw_activate\n"),
        "{out}"
    );
    assert!(
        out.contains("running:\n        fw.version 16.36.0066\n        fw 16.36.0066\n"),
        "{out}"
    );
    // DEV is required where devlink requires it; alone, devlink prints help.
    for args in [
        &["dev", "reload", "action", "fw_activate"][..],
        &["dev", "flash", "file", "fw.bin"],
        &["trap", "policer", "set", "policer", "1", "rate", "500"],
        &["health", "set", "reporter", "fw_fatal", "grace_period", "1"],
    ] {
        let (code, out) = cxu(args);
        assert_eq!(
            (code, out.as_str()),
            (
                1,
                "Error: Devlink identification (\"bus_name/dev_name\") expected\n"
            ),
            "{args:?}"
        );
    }
    assert!(ok(&["dev", "reload"]).starts_with("usage: cxu"));
    assert_eq!(
        ok(&["-j", "dev", "reload", "model/0"]),
        "{\"reload\":{\"reload_actions_performed\":[\"driver_reinit\"]}}\n"
    );
    // -j does not change it, as in devlink.
    let path = fw.path().to_str().unwrap();
    assert_eq!(
        ok(&["-j", "dev", "flash", "model/0", "file", path]),
        "Preparing to flash\nDownloading\nVerifying\nFlashing done\n"
    );
    // `overwrite` is devlink's; this device, as mlx5, cannot honour it.
    let (code, out) = cxu(&[
        "dev",
        "flash",
        "model/0",
        "file",
        path,
        "overwrite",
        "settings",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "Error: not supported: flash: overwrite mask (errno 95)\n"
        )
    );
    let (code, out) = cxu(&["dev", "flash", "model/0", "file", path, "overwrite", "all"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Error: Unknown overwrite section \"all\""),
        "{out}"
    );
}

#[test]
fn health() {
    assert_eq!(
        ok(&["health", "show"]),
        "model/0:\n  reporter fw state healthy error 0 recover 0 auto_dump true\n  reporter fw_fatal state healthy error 0 recover 0 grace_period 60000 burst_period 0 auto_recover true auto_dump true\n  reporter cmd state healthy error 0 recover 0\n"
    );
    assert_eq!(
        ok(&["-j", "health", "show", "reporter", "fw"]),
        "{\"health\":{\"model/0\":[{\"reporter\":\"fw\",\"state\":\"healthy\",\"error\":0,\"recover\":0,\"auto_dump\":true}]}}\n"
    );
    let d = ok(&["health", "diagnose", "reporter", "fw"]);
    assert!(
        d.starts_with("syndrome 0 description NONE ext_syndrome 0 health_counter "),
        "{d}"
    );
    let d = ok(&["-j", "health", "diagnose", "reporter", "fw"]);
    assert_eq!(json(&d)["description"], "NONE");
    let d = ok(&["-j", "health", "dump", "show", "reporter", "fw"]);
    assert_eq!(json(&d)["health_buffer"].as_array().map(Vec::len), Some(16));
    let f = batch("health dump show reporter fw\nhealth dump clear model/0 reporter fw\nhealth set model/0 reporter fw_fatal grace_period 1000 auto_recover false\nhealth show reporter fw_fatal\n");
    let out = ok(&["-b", f.path().to_str().unwrap()]);
    assert!(out.ends_with("model/0:\n  reporter fw_fatal state healthy error 0 recover 0 grace_period 1000 burst_period 0 auto_recover false auto_dump true\n"), "{out}");
    let (code, out) = cxu(&["health", "recover", "model/0", "reporter", "cmd"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Error: not supported: reporter \"cmd\" has no recover op (errno 95)\n"
    );
}

#[test]
fn rpc_hex_in_hex_out() {
    // QUERY_ADAPTER at configuration scope: the PSID comes back.
    let out = ok(&[
        "rpc",
        "scope",
        "configuration",
        "01010000",
        "00000000",
        "0000000000000000",
    ]);
    assert!(out.starts_with("status OK syndrome 0x0\n"), "{out}");
    assert!(
        out.contains("4d545f30303030303030303038"),
        "MT_0000000008 in hex: {out}"
    );
    let j = json(&ok(&[
        "-j",
        "rpc",
        "scope",
        "debug_read_only",
        "080d000000000000 0000000000000000",
    ]));
    assert_eq!(j["rpc"]["model/0"]["status"], "OK");
    assert_eq!(
        j["rpc"]["model/0"]["output"].as_str().map(str::len),
        Some(32)
    );
    // Out of scope: refused with the reason and fwctl's errno.
    let (code, out) = cxu(&["rpc", "080d0000000000000000000000000000"]);
    assert_eq!(code, 1);
    assert_eq!(out, "Error: rpc: NOP(0x80d) (op_mod 0x0) is not allowed at scope configuration; it needs debug_read_only (errno 74)\n");
    let (code, out) = cxu(&[
        "rpc",
        "scope",
        "debug_write_full",
        "01020000000000000000000000000000",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("INIT_HCA(0x102) (op_mod 0x0) is not allowed at scope debug_write_full; it is never allowed over RPC"), "{out}");
    let (code, out) = cxu(&["rpc", "0x12z"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: hex input has an odd number of digits\n")
    );
}

#[test]
fn bind_refuses_a_function_in_use() {
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/pci/devices/0000:03:00.0");
    std::fs::create_dir_all(dev.join("net/enp3s0f0np0")).unwrap();
    std::fs::create_dir_all(root.path().join("bus/pci/drivers/mlx5_core")).unwrap();
    std::os::unix::fs::symlink("../../../bus/pci/drivers/mlx5_core", dev.join("driver")).unwrap();
    std::fs::write(dev.join("net/enp3s0f0np0/flags"), "0x1003\n").unwrap();
    std::fs::write(dev.join("net/enp3s0f0np0/operstate"), "up\n").unwrap();
    let sysfs = root.path().to_str().unwrap();
    let (code, out) = cxu(&["--sysfs", sysfs, "bind", "0000:03:00.0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("Error: "), "{out}");
    assert!(out.contains("network interface enp3s0f0np0 is up"), "{out}");
    assert!(out.contains("ip link set enp3s0f0np0 down"), "{out}");
    assert!(out.contains("cxu -f bind"), "{out}");
    // Nothing was written.
    assert!(!dev.join("driver_override").exists());
    // With -f (anywhere on the line) the interface does not stop it: it gets as
    // far as the writes, which this tree (no kernel behind it) lets through
    // without moving the driver link, so the bind is reported failed and the
    // override put back.
    std::fs::write(dev.join("driver_override"), "(null)\n").unwrap();
    // (The link above only names the driver; this one also reaches its directory.)
    std::fs::remove_file(dev.join("driver")).unwrap();
    std::os::unix::fs::symlink("../../drivers/mlx5_core", dev.join("driver")).unwrap();
    std::fs::create_dir_all(root.path().join("bus/pci/drivers/vfio-pci")).unwrap();
    std::fs::write(root.path().join("bus/pci/drivers/mlx5_core/unbind"), "").unwrap();
    std::fs::write(root.path().join("bus/pci/drivers_probe"), "").unwrap();
    let (code, out) = cxu(&["--sysfs", sysfs, "bind", "0000:03:00.0", "--force"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("is up"), "{out}");
    assert!(
        out.contains("after drivers_probe it was bound to mlx5_core"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("bus/pci/drivers/mlx5_core/unbind")).unwrap(),
        "0000:03:00.0"
    );
    // Cleared with "\n" (a plain file, unlike sysfs, keeps the rest of the
    // longer value written before).
    let over = std::fs::read_to_string(dev.join("driver_override")).unwrap();
    assert!(over.starts_with('\n'), "{over:?}");
    // Already on vfio-pci: nothing to do.
    let dev2 = root.path().join("bus/pci/devices/0000:04:00.0");
    std::fs::create_dir_all(&dev2).unwrap();
    std::fs::create_dir_all(root.path().join("bus/pci/drivers/vfio-pci")).unwrap();
    std::os::unix::fs::symlink("../../../bus/pci/drivers/vfio-pci", dev2.join("driver")).unwrap();
    assert_eq!(
        ok(&["--sysfs", sysfs, "bind", "04:00.0"]),
        "0000:04:00.0: already on vfio-pci\n"
    );
    assert_eq!(
        ok(&["-j", "--sysfs", sysfs, "bind", "0000:04:00.0"]),
        "{\"bind\":{\"0000:04:00.0\":{\"before\":\"vfio-pci\",\"after\":\"vfio-pci\"}}}\n"
    );
    let (code, out) = cxu(&["--sysfs", sysfs, "unbind", "0000:09:00.0"]);
    assert_eq!(code, 1);
    assert!(out.contains("0000:09:00.0"), "{out}");
    let (code, out) = cxu(&["bind", "zz"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Error: invalid PCI address \"zz\": expected DDDD:BB:DD.F, e.g. 0000:03:00.0\n"
    );
    let (code, _) = cxu(&["--pci", "03:00", "dev", "show"]);
    assert_eq!(code, 1);
    let (code, out) = cxu(&["bind"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: usage: cxu bind DDDD:BB:DD.F\n")
    );
}

#[test]
fn usage_errors_and_batch_failures() {
    // devlink without arguments prints its help and succeeds.
    let (code, out) = cxu(&[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("usage: cxu"));
    assert!(ok(&["help"]).contains("trap policer show"));
    let (code, out) = cxu(&["frobnicate"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Error: Object \"frobnicate\" not found"),
        "{out}"
    );
    let (code, out) = cxu(&["trap", "set", "model/0", "trap", "stp"]);
    assert_eq!(
        (code, out.as_str()),
        (1, "Error: missing \"action VALUE\"\n")
    );
    let (code, out) = cxu(&["trap", "show", "pci/0000:01:00.0"]);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "Error: no device \"pci/0000:01:00.0\"; this session has model/0\n"
        )
    );
    let (code, out) = cxu(&[
        "trap", "policer", "set", "model/0", "policer", "1", "rate", "5", "burst", "3",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Error: invalid argument: policer 1: burst 3 lower than limit 16 (errno 22)\n"
    );
    // A batch stops at the first failure and says where; --force goes on.
    let f = batch("# comment\ntrap show trap nope\ndev show\n");
    let (code, out) = cxu(&["-b", f.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.ends_with(&format!("Command failed {}:2\n", f.path().display())),
        "{out}"
    );
    assert!(!out.contains("model/0\n"));
    let (code, out) = cxu(&["--force", "-b", f.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("model/0\n"), "{out}");
}

#[test]
fn probe_shows_what_bring_up_found() {
    let text = ok(&["probe"]);
    assert!(
        text.starts_with("device:    cxu-model 15b3:1017\nfirmware:  16.35.2000\n"),
        "{text}"
    );
    assert!(text.contains("\ncommands:  32 slots, events\n"), "{text}");
    let j = json(&ok(&["-j", "probe"]));
    let p = &j["probe"]["model/0"];
    assert_eq!(p["firmware"], "16.35.2000");
    assert_eq!(p["completion"], "events");
    assert_eq!(p["cmd_slots"], 32);
    assert!(p["ports"].as_u64().unwrap() >= 1, "{j}");
    assert!(p["fw_pages"].as_u64().unwrap() > 0, "{j}");
    let features: Vec<&str> = p["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        text.contains(&format!("features:  {}\n", features.join(" "))),
        "{text}"
    );
    let (code, out) = cxu(&["probe", "pci/0000:03:00.0"]);
    assert_eq!(code, 1, "{out}");
}
