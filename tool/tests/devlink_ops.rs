//! The devlink ops against the device model, through the `cxu` session (the
//! same path the tool takes): registration from caps, and every op checked
//! in the model's registers through its `Control` handle.

use cxu_hal::ifc::regs::hpkt;
use cxu_hal::ifc::regs::paos;
use cxu_qemu::model::{FwFeatures, Profile, FLASH_IMAGE_MAGIC};
use cxu_tool::cli::Session;

fn run(s: &mut Session, line: &str) -> Result<String, String> {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let mut out = Vec::new();
    let r = s.exec(&words, &mut out);
    let text = String::from_utf8(out).expect("utf-8 output");
    r.map(|()| text).map_err(|e| e.to_string())
}

fn ok(s: &mut Session, line: &str) -> String {
    run(s, line).unwrap_or_else(|e| panic!("`{line}` failed: {e}"))
}

fn trap_id(name: &str) -> u16 {
    devlink_core::trap::generic_trap_id(name).expect("generic trap")
}

#[test]
fn registration_follows_the_caps() {
    // Full caps: 7 groups, each with its policer; 10 traps; 1 port.
    let mut s = Session::embedded(Profile::default()).unwrap();
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
    assert_eq!(ok(&mut s, "trap policer show").lines().count(), 8);
    // The defaults are in hardware, not only in devlink.
    let c = s.control().unwrap();
    let t = c.trap(trap_id("stp")).expect("stp programmed");
    assert_eq!(t.action, hpkt::TrapAction::TrapToCpu);
    assert_eq!(
        c.trap_group(0).map(|g| (g.policer_enabled, g.pid)),
        Some((true, 0))
    );
    let p = c.policer(0).expect("policer 1 programmed as pid 0");
    assert_eq!((p.cir, p.cbs), (10_000, 8));

    // No trap cap bit: no groups, no traps, no policers, no trap ops.
    let mut s = Session::embedded(Profile {
        trap_support: false,
        ..Profile::default()
    })
    .unwrap();
    let e = run(&mut s, "trap show").unwrap_err();
    assert!(e.contains("not supported") && e.contains("errno 95"), "{e}");
    assert!(run(&mut s, "trap policer show").is_err());
    assert!(!ok(&mut s, "param show").contains("trap_policers"));
    assert!(
        s.control().unwrap().trap(trap_id("stp")).is_none(),
        "nothing was programmed"
    );

    // Traps without policers: groups have no policer, policer ops refused.
    let mut s = Session::embedded(Profile {
        policer_support: false,
        ..Profile::default()
    })
    .unwrap();
    assert!(!ok(&mut s, "trap group show").contains("policer"));
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
    let e = run(&mut s, "trap group set model/0 group l2_drops policer 1").unwrap_err();
    assert_eq!(e, "not found: trap policer 1 (errno 2)");

    // The device's limits bound what is registered.
    let mut s = Session::embedded(Profile {
        max_policers: 3,
        max_trap_groups: 2,
        ..Profile::default()
    })
    .unwrap();
    assert_eq!(
        ok(&mut s, "trap policer show").lines().count(),
        3,
        "2 policers for 2 groups"
    );
    assert_eq!(ok(&mut s, "trap group show").lines().count(), 3);
    // Traps whose group the device lacks are not registered.
    assert!(!ok(&mut s, "trap show").contains("stp"));
    assert_eq!(ok(&mut s, "port show").lines().count(), 1);
    let mut s = Session::embedded(Profile {
        num_ports: 2,
        ..Profile::default()
    })
    .unwrap();
    assert_eq!(ok(&mut s, "port show").lines().count(), 2);
}

#[test]
fn trap_action_reaches_hpkt() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    let id = trap_id("source_mac_is_multicast");
    assert_eq!(c.trap(id).unwrap().action, hpkt::TrapAction::Discard);
    ok(
        &mut s,
        "trap set model/0 trap source_mac_is_multicast action trap",
    );
    let hw = c.trap(id).unwrap();
    assert_eq!(hw.action, hpkt::TrapAction::TrapToCpu);
    assert_eq!(hw.trap_group, 0, "l2_drops is hardware group 0");
    assert!(ok(&mut s, "trap show trap source_mac_is_multicast").contains("action trap"));
    // Only drop traps change action (the kernel warns and skips others);
    // the device is not touched.
    let w = ok(&mut s, "trap set model/0 trap stp action mirror");
    assert_eq!(
        w,
        "Warning: cannot change action of non-drop trap \"stp\"; skipping\n"
    );
    assert_eq!(
        c.trap(trap_id("stp")).unwrap().action,
        hpkt::TrapAction::TrapToCpu
    );
    let e = run(&mut s, "trap set model/0 trap no_such_trap action drop").unwrap_err();
    assert!(e.contains("not found"), "{e}");
    // The driver's own trap has an id above the generic table.
    ok(&mut s, "trap set model/0 trap rx_ring_overflow action trap");
    let own = devlink_core::trap::GENERIC_TRAP_ID_MAX + 1;
    assert_eq!(c.trap(own).unwrap().action, hpkt::TrapAction::TrapToCpu);
    // A group action sets each member.
    ok(&mut s, "trap group set model/0 group l2_drops action trap");
    assert_eq!(
        c.trap(trap_id("vlan_tag_mismatch")).unwrap().action,
        hpkt::TrapAction::TrapToCpu
    );
}

#[test]
fn groups_and_policers_reach_htgt_and_qpcr_and_drops_come_back() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    ok(&mut s, "trap group set model/0 group l3_drops policer 5");
    let g = c.trap_group(1).unwrap();
    assert!(g.policer_enabled);
    assert_eq!(g.pid, 4);
    ok(&mut s, "trap group set model/0 group l3_drops nopolicer");
    assert!(!c.trap_group(1).unwrap().policer_enabled);
    assert!(!ok(&mut s, "trap group show group l3_drops").contains("policer"));

    ok(
        &mut s,
        "trap policer set model/0 policer 2 rate 4000 burst 1024",
    );
    let p = c.policer(1).unwrap();
    assert_eq!((p.cir, p.cbs), (4000, 10));
    // QPCR stores log2(burst): a burst that is not a power of two is refused
    // and the hardware keeps the old values.
    let e = run(&mut s, "trap policer set model/0 policer 2 burst 1000").unwrap_err();
    assert!(e.contains("power of two"), "{e}");
    assert_eq!(c.policer(1).unwrap().cbs, 10);
    let e = run(&mut s, "trap policer set model/0 policer 2 rate 0").unwrap_err();
    assert!(e.contains("invalid argument"), "{e}");

    // The model says policer 2 dropped 42 packets: -s reads them from QPCR.
    assert!(c.add_policer_drops(1, 42));
    s.opts.stats = true;
    let text = ok(&mut s, "trap policer show policer 2");
    assert_eq!(
        text,
        "model/0:\n  policer 2 rate 4000 burst 1024\n    stats:\n        rx:\n          dropped 42\n"
    );
    s.opts.json = true;
    assert_eq!(
        ok(&mut s, "trap policer show policer 2"),
        "{\"trap_policer\":{\"model/0\":[{\"policer\":2,\"rate\":4000,\"burst\":1024,\"stats\":{\"rx\":{\"dropped\":42}}}]}}\n"
    );
    // Another policer has none.
    assert!(ok(&mut s, "trap policer show policer 3").contains("\"dropped\":0"));
}

#[test]
fn port_admin_state_reaches_paos() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    s.opts.verbose = true;
    assert!(ok(&mut s, "port show").contains("admin_state down oper_state down"));
    ok(&mut s, "port set model/0/1 state up");
    assert_eq!(c.port(1).unwrap().admin, paos::admin::UP);
    assert!(c.set_link(1, true));
    assert_eq!(ok(&mut s, "port show model/0/1"), "model/0/1: type notset flavour physical port 1 splittable false admin_state up oper_state up\n");
    ok(&mut s, "port set model/0/1 state down");
    assert_eq!(c.port(1).unwrap().admin, paos::admin::DOWN);
    assert!(run(&mut s, "port set model/0/7 state up")
        .unwrap_err()
        .contains("not found"));
    // Counters from PPCNT; with counters_clear_on_read they reset on read.
    assert!(c.add_port_counter(
        1,
        cxu_hal::ifc::regs::ppcnt::ieee_802_3::A_FRAMES_RECEIVED_OK,
        9
    ));
    s.opts.stats = true;
    assert!(ok(&mut s, "port show model/0/1").contains("a_frames_received_ok 9"));
    ok(
        &mut s,
        "param set model/0 name counters_clear_on_read value true cmode runtime",
    );
    assert!(ok(&mut s, "port show model/0/1").contains("a_frames_received_ok 9"));
    assert!(ok(&mut s, "port show model/0/1").contains("a_frames_received_ok 0"));
}

fn image(version: u32, len: usize) -> tempfile::NamedTempFile {
    image_with(version, None, len)
}

/// An image whose firmware announces `features` (trap and policer support).
fn image_with(version: u32, features: Option<FwFeatures>, len: usize) -> tempfile::NamedTempFile {
    let mut b = FLASH_IMAGE_MAGIC.to_vec();
    b.extend_from_slice(&version.to_be_bytes());
    if let Some(f) = features {
        b.extend_from_slice(&f.encode());
    }
    b.extend((0..len).map(|i| i as u8));
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), b).unwrap();
    f
}

#[test]
fn flash_then_fw_activate_runs_the_new_version() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    // 16.40.0123, 1000 bytes: several MCDA blocks, the last one short.
    let f = image((16 << 24) | (40 << 16) | 123, 1000);
    let out = ok(
        &mut s,
        &format!("dev flash model/0 file {}", f.path().display()),
    );
    assert_eq!(
        out,
        "Preparing to flash\nDownloading\nVerifying\nFlashing done\n"
    );
    // Written and verified, not running yet: stored differs from running.
    let info = ok(&mut s, "dev info");
    assert!(
        info.contains("running:\n        fw.version 16.35.2000"),
        "{info}"
    );
    assert!(
        info.contains("stored:\n        fw.version 16.40.0123"),
        "{info}"
    );
    assert_eq!(c.flash().pending, Some((16 << 24) | (40 << 16) | 123));
    s.opts.json = true;
    assert_eq!(
        ok(&mut s, "dev reload model/0 action fw_activate"),
        "{\"reload\":{\"reload_actions_performed\":[\"driver_reinit\",\"fw_activate\"]}}\n"
    );
    assert_eq!(
        ok(&mut s, "dev info"),
        "{\"info\":{\"model/0\":{\"driver\":\"cxu\",\"serial_number\":\"MT2025X00001\",\"versions\":{\"fixed\":{\"fw.psid\":\"MT_0000000008\"},\"running\":{\"fw.version\":\"16.40.0123\",\"fw\":\"16.40.0123\"},\"stored\":{\"fw.version\":\"16.40.0123\",\"fw\":\"16.40.0123\"}}}}}\n"
    );
    // After the reinit every object is back, in hardware too.
    assert_eq!(
        c.trap(trap_id("lldp")).unwrap().action,
        hpkt::TrapAction::TrapToCpu
    );
    s.opts.json = false;
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
}

#[test]
fn a_rejected_image_leaves_the_flash_idle() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), b"not a firmware image at all").unwrap();
    let e = run(
        &mut s,
        &format!("dev flash model/0 file {}", f.path().display()),
    )
    .unwrap_err();
    assert!(e.contains("REJECTED_BAD_FORMAT"), "{e}");
    let st = c.flash();
    assert_eq!(st.state, cxu_hal::ifc::regs::mcc::ControlState::IDLE);
    assert_eq!(st.pending, None);
    // A missing file says so.
    let e = run(&mut s, "dev flash model/0 file /nonexistent/fw.bin").unwrap_err();
    assert!(e.contains("cannot read /nonexistent/fw.bin"), "{e}");
    // The next good image goes through.
    let good = image(0x1024_0001, 64);
    ok(
        &mut s,
        &format!("dev flash model/0 file {}", good.path().display()),
    );
    assert_eq!(c.flash().pending, Some(0x1024_0001));
}

#[test]
fn driverinit_param_applies_on_reload() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let c = s.control().unwrap();
    ok(
        &mut s,
        "param set model/0 name trap_policers value 2 cmode driverinit",
    );
    // Stored, not applied.
    assert_eq!(ok(&mut s, "trap policer show").lines().count(), 8);
    let e = run(
        &mut s,
        "param set model/0 name trap_policers value 99 cmode driverinit",
    )
    .unwrap_err();
    assert!(e.contains("the device has 16"), "{e}");
    assert_eq!(
        ok(&mut s, "dev reload model/0"),
        "reload_actions_performed:\n    driver_reinit\n"
    );
    assert_eq!(
        ok(&mut s, "trap policer show"),
        "model/0:\n  policer 1 rate 10000 burst 256\n  policer 2 rate 10000 burst 256\n"
    );
    // Groups 3.. lost their policer, in hardware as well.
    assert!(!c.trap_group(2).unwrap().policer_enabled);
    assert!(c.trap_group(1).unwrap().policer_enabled);
    let e = run(&mut s, "dev reload model/0 limit no_reset").unwrap_err();
    assert!(e.contains("not supported"), "{e}");
}

#[test]
fn health_reporters_read_the_device() {
    let mut s = Session::embedded(Profile::default()).unwrap();
    let d = ok(&mut s, "health diagnose reporter fw");
    assert!(
        d.starts_with("syndrome 0 description NONE ext_syndrome 0 health_counter "),
        "{d}"
    );
    s.opts.json = true;
    let d = ok(&mut s, "health dump show reporter fw");
    assert!(
        d.starts_with("{\"syndrome\":0,\"description\":\"NONE\","),
        "{d}"
    );
    assert!(d.contains("\"health_buffer\":["), "{d}");
    let cmd = ok(&mut s, "health diagnose reporter cmd");
    assert!(cmd.contains("\"opcode\":\"ACCESS_REG(0x805)\""), "{cmd}");
    s.opts.json = false;
    let e = run(&mut s, "health recover model/0 reporter fw").unwrap_err();
    assert!(e.contains("not supported"), "{e}");
}

#[test]
fn a_fatal_error_is_reported_and_recovered() {
    let cfg = cxu_driver::device::DriverConfig {
        health_interval: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let mut s = Session::embedded_with(Profile::default(), cfg).unwrap();
    let c = s.control().unwrap();
    ok(&mut s, "trap set model/0 trap blackhole_route action trap");
    ok(
        &mut s,
        "trap policer set model/0 policer 3 rate 777 burst 128",
    );
    c.fatal_error(0x08);
    let d = ok(&mut s, "health diagnose reporter fw");
    assert!(d.contains("syndrome 8 description HW_FATAL_ERR"), "{d}");
    // The core's poller declares firmware dead, the watcher reports it on
    // fw_fatal, which auto-recovers: function reset, bring-up, and the
    // hardware programmed again. No command is needed to notice.
    let t0 = std::time::Instant::now();
    let show = |s: &mut Session| ok(s, "health show reporter fw_fatal");
    while !show(&mut s).contains("recover 1") {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "never recovered: {}",
            show(&mut s)
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let h = show(&mut s);
    assert!(
        h.contains("reporter fw_fatal state healthy error 1 recover 1"),
        "one report, one recovery: {h}"
    );
    assert!(ok(&mut s, "health diagnose reporter fw").contains("syndrome 0"));
    assert_eq!(
        c.trap(trap_id("blackhole_route")).unwrap().action,
        hpkt::TrapAction::TrapToCpu
    );
    assert_eq!(c.policer(2).map(|p| (p.cir, p.cbs)), Some((777, 7)));
    // The dump kept is the one taken at the error.
    let dump = ok(&mut s, "health dump show reporter fw_fatal");
    assert!(
        dump.contains("syndrome 8 description HW_FATAL_ERR"),
        "{dump}"
    );
}

/// The control plane needs only a command queue: built on the bare queue of
/// a model function (no probe), the ops still reach the registers.
#[test]
fn the_ops_run_on_a_bare_command_queue() {
    use std::sync::Arc;

    use cxu_driver::devlink::{self, Backend, BuildOptions};
    use cxu_driver::{Queue, QueueConfig};
    use cxu_hal::ifc::commands::hca::FunctionIn;
    use cxu_hal::PciFunction;

    let f = Arc::new(cxu_qemu::LocalFunction::new(Profile::default()));
    let c = f.control();
    f.set_bus_master(true).unwrap();
    let bar = f.bar(0).unwrap();
    let ready = |bar: &Arc<dyn cxu_hal::Mmio>| {
        let is = cxu_hal::ifc::iseg::INITIALIZING;
        let t0 = std::time::Instant::now();
        while is.extract(bar.read32_be(is.byte as u64)) != 0 {
            assert!(t0.elapsed() < std::time::Duration::from_secs(5));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    ready(&bar);
    let pf: Arc<dyn PciFunction> = f.clone();
    let dma = cxu_dma::DmaContext::new(pf).unwrap();
    let q = Queue::enable(bar.clone(), &dma, &QueueConfig::default()).unwrap();
    ready(&bar);
    q.exec(&FunctionIn::default().encode(true), 16).unwrap();
    let b: Arc<dyn Backend> = Arc::new(q);
    let opts = BuildOptions {
        handle: devlink_core::Handle::new("model", "bare").unwrap(),
        hub: None,
    };
    let inst = devlink::build(b, opts).unwrap().register();
    inst.enter()
        .unwrap()
        .trap_set_action("tail_drop", devlink_core::TrapAction::Trap)
        .unwrap();
    assert_eq!(
        c.trap(trap_id("tail_drop")).unwrap().action,
        hpkt::TrapAction::TrapToCpu
    );
    // No BAR behind a bare queue: the fw reporter says so.
    let e = inst
        .enter()
        .unwrap()
        .health_diagnose("fw", None)
        .unwrap_err();
    assert!(e.to_string().contains("initialization segment"), "{e}");
    inst.unregister();
    assert!(matches!(inst.enter(), Err(devlink_core::Error::NoDevice)));
}

/// Flashes an image whose firmware has `features` and activates it.
fn activate_firmware_with(s: &mut Session, features: FwFeatures) {
    let f = image_with((16 << 24) | (41 << 16), Some(features), 600);
    ok(s, &format!("dev flash model/0 file {}", f.path().display()));
    assert!(
        ok(s, "dev reload model/0 action fw_activate").contains("fw_activate"),
        "the activation was performed"
    );
}

#[test]
fn fw_activate_of_firmware_that_gains_traps_and_policers_registers_them() {
    let mut s = Session::embedded(Profile {
        trap_support: false,
        policer_support: false,
        ..Profile::default()
    })
    .unwrap();
    assert!(run(&mut s, "trap show").is_err());
    assert!(!ok(&mut s, "param show").contains("trap_policers"));
    activate_firmware_with(
        &mut s,
        FwFeatures {
            traps: true,
            policers: true,
        },
    );
    // Everything a device with these caps gets at probe, in hardware too.
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
    assert_eq!(ok(&mut s, "trap policer show").lines().count(), 8);
    assert!(ok(&mut s, "param show").contains("trap_policers"));
    let c = s.control().unwrap();
    assert_eq!(
        c.trap(trap_id("stp")).map(|t| t.action),
        Some(hpkt::TrapAction::TrapToCpu)
    );
    assert!(c.policer(0).is_some(), "policer 1 programmed as pid 0");
    // The ops the new bits allow are reachable.
    ok(
        &mut s,
        "trap set model/0 trap source_mac_is_multicast action trap",
    );
    assert_eq!(
        c.trap(trap_id("source_mac_is_multicast")).map(|t| t.action),
        Some(hpkt::TrapAction::TrapToCpu)
    );
    ok(
        &mut s,
        "trap policer set model/0 policer 2 rate 2000 burst 64",
    );
    // QPCR holds the burst as its log2.
    assert_eq!(c.policer(1).map(|p| (p.cir, p.cbs)), Some((2000, 6)));
}

#[test]
fn fw_activate_of_firmware_that_loses_traps_or_policers_drops_them() {
    // Policers go, traps stay.
    let mut s = Session::embedded(Profile::default()).unwrap();
    assert!(ok(&mut s, "param show").contains("trap_policers"));
    activate_firmware_with(
        &mut s,
        FwFeatures {
            traps: true,
            policers: false,
        },
    );
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
    assert!(run(&mut s, "trap policer show").is_err());
    assert!(!ok(&mut s, "trap group show").contains("policer"));
    assert!(
        !ok(&mut s, "param show").contains("trap_policers"),
        "the policer param goes with the policers"
    );
    let e = run(
        &mut s,
        "trap policer set model/0 policer 1 rate 2000 burst 64",
    )
    .unwrap_err();
    assert!(e.contains("errno 95") || e.contains("errno 2"), "{e}");

    // Then traps go too.
    activate_firmware_with(
        &mut s,
        FwFeatures {
            traps: false,
            policers: false,
        },
    );
    let e = run(&mut s, "trap show").unwrap_err();
    assert!(e.contains("not supported") && e.contains("errno 95"), "{e}");
    assert!(run(&mut s, "trap group show").is_err());
    // And come back with firmware that has them.
    activate_firmware_with(
        &mut s,
        FwFeatures {
            traps: true,
            policers: true,
        },
    );
    assert_eq!(ok(&mut s, "trap show").lines().count(), 11);
    assert_eq!(ok(&mut s, "trap policer show").lines().count(), 8);
}
