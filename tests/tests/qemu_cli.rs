//! The `cxu` tool itself, as a user runs it, on a function of a Linux guest
//! bound to vfio-pci (issue 16 items 1 and 2): the release binary, built
//! statically, does a whole session inside the QEMU guest of
//! `qemu/guest/run.sh` (the model served by `cxu-vfio-user`), and every step
//! is asserted here from its output: `unbind`/`bind`, `probe`, `dev info`,
//! trap, group and policer settings read back with `-j`, `health show`,
//! `dev flash` + `dev reload action fw_activate` changing the running
//! version, `rpc`, a monitor catching those changes (in the flash batch, and
//! as a background process that runs the next invocations on its device),
//! and a short `bench --pci` whose table and JSON are the embedded bench's.
//! The model's state is checked from the server's state lines; after
//! `unbind` the kernel's mlx5_core takes the function and iproute2's
//! `devlink -j` is compared with `cxu -j` key by key (item 8); then `cxu bind`
//! is refused while mlx5_core's netdev is up and takes the function once it
//! is down.
//!
//! Ignored like `qemu_guest`'s boots: `scripts/test` runs it (`--ignored`)
//! unless `CXU_QEMU=0`.

#[path = "qemu_guest/harness.rs"]
mod harness;
// The session's settings are compared with the model's registers as
// qemu_guest does; the parsing of cxu-guest's lines is not used here.
#[path = "qemu_guest/devlink_shape.rs"]
mod devlink_shape;
#[allow(dead_code)]
#[path = "qemu_guest/model_state.rs"]
mod model_state;
#[path = "qemu_guest/server.rs"]
mod server;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use model_state::Setting;
use serde_json::Value;
use server::Server;

use harness::{guest_ready, show, static_build, workspace};

const GUEST_TIMEOUT: Duration = Duration::from_secs(420);

/// `cxu` and `cxu-vfio-user`, static, release.
fn build() -> (PathBuf, PathBuf) {
    let find = static_build(
        "qemu_cli",
        &[
            "-p",
            "cxu-qemu",
            "--bin",
            "cxu-vfio-user",
            "-p",
            "cxu-tool",
            "--bin",
            "cxu",
        ],
    );
    (find("cxu"), find("cxu-vfio-user"))
}

/// The guest's script: each step's output between `CLI-BEGIN name` and
/// `CLI-END name rc=N`; DEV in the batch files is the function's handle.
const SCRIPT: &str = r#"#!/bin/sh
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat $d/vendor)" = 0x15b3 ]; then addr=$(basename $d); break; fi
done
echo "CLI-ADDR $addr"
C=/data/cxu
# Through a file: the console is a terminal, a user's pipe or file is not.
step() {
  name=$1; shift
  "$C" "$@" > /tmp/out 2> /tmp/err; rc=$?
  echo "CLI-BEGIN $name"; cat /tmp/out; echo "CLI-END $name rc=$rc"
  echo "CLI-STDERR-BEGIN $name"; cat /tmp/err; echo "CLI-STDERR-END $name"
}
sed "s|DEV|pci/$addr|g" /data/settings.cxu > /tmp/settings.cxu
sed "s|DEV|pci/$addr|g" /data/flash.cxu > /tmp/flash.cxu
step unbind unbind $addr
step bind bind $addr
step probe --pci $addr probe
step info --pci $addr dev info
step settings -j --pci $addr -b /tmp/settings.cxu
step flash --pci $addr -b /tmp/flash.cxu
# A monitor in the background owns the function; the next commands, each a cxu of its own,
# run through it, and its one document shows what they changed.
export CXU_RUN_DIR=/tmp/cxu-run
"$C" -j --pci $addr monitor dev param > /tmp/mon.out 2> /tmp/mon.err &
mon=$!
i=0
while [ ! -S $CXU_RUN_DIR/pci-$addr.sock ] && [ $i -lt 300 ] && kill -0 $mon 2>/dev/null; do
  sleep 1; i=$((i + 1))
done
step served-param-set --pci $addr dev param set pci/$addr name counters_clear_on_read value true cmode runtime
step served-param-show -j --pci $addr dev param show pci/$addr name counters_clear_on_read
step served-reload --pci $addr dev reload pci/$addr
kill -INT $mon; wait $mon; echo "CLI-MON-RC $?"
echo "CLI-MON-BEGIN"; cat /tmp/mon.out; echo "CLI-MON-END"
echo "CLI-MON-STDERR $(cat /tmp/mon.err)"
unset CXU_RUN_DIR
step bench bench --pci $addr --depths 1,32 --threads 1 --modes polling,events --commands nop --policies lock-free --no-alone --no-ping-pong --warmup-ms 20 --duration-ms 200 --repeat 1 --json /tmp/bench.json --plot -
echo "CLI-BENCH-JSON $(tr -d '\n' < /tmp/bench.json)"
# The shapes a devlink -j script reads, from our driver here and from the kernel's below.
for q in "dev show" "dev info" "health show" "dev param show"; do
  step "cxu-j $q" -j --pci $addr $q pci/$addr
done
step unbind-end unbind $addr
# Given back: the kernel's own mlx5_core takes the function, and iproute2's devlink -j
# answers the same four commands from it, on the same model.
insmod /modules/mlxfw.ko
insmod /modules/pci-hyperv-intf.ko
insmod /modules/mlx5_core.ko
echo "CLI-KERNEL-DRIVER $(basename "$(readlink /sys/bus/pci/devices/$addr/driver)")"
for q in "dev show" "dev info" "health show" "dev param show"; do
  /bin/devlink -j $q pci/$addr > /tmp/out 2> /tmp/err; rc=$?
  echo "CLI-BEGIN devlink-j $q"; cat /tmp/out; echo "CLI-END devlink-j $q rc=$rc"
  echo "CLI-STDERR-BEGIN devlink-j $q"; cat /tmp/err; echo "CLI-STDERR-END devlink-j $q"
done
# mlx5_core's netdev in use: bind refuses while it is up and takes the function once it is down.
d=/sys/bus/pci/devices/$addr
i=0
while [ -z "$(ls $d/net 2>/dev/null)" ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
net=$(ls $d/net 2>/dev/null | head -1)
echo "CLI-NETDEV $net"
ip link set dev $net up
step bind-while-up bind $addr
echo "CLI-AFTER-REFUSAL $(basename "$(readlink $d/driver)") $(cat /sys/class/net/$net/flags)"
ip link set dev $net down
step bind-when-down bind $addr
echo "CLI-AFTER-BIND $(basename "$(readlink $d/driver)") net=$(ls $d/net 2>/dev/null)"
rmmod mlx5_core
"#;

const SETTINGS: &str = "trap set DEV trap source_mac_is_multicast action trap
trap show DEV trap source_mac_is_multicast
trap policer set DEV policer 1 rate 2000 burst 512
trap policer show DEV policer 1
trap group set DEV group l2_drops policer 1
trap group show DEV group l2_drops
health show DEV reporter fw_fatal
";

const FLASH: &str = "monitor dev flash
dev flash DEV file /data/fw.bin
dev reload DEV action fw_activate
dev info DEV
rpc DEV scope debug_read_only 080d0000000000000000000000000000
";

/// `name`'s output and exit status.
fn step<'a>(console: &'a str, name: &str) -> (&'a str, i32) {
    let begin = format!("CLI-BEGIN {name}\n");
    let start = console
        .find(&begin)
        .unwrap_or_else(|| panic!("no step {name} in the console:\n{console}"))
        + begin.len();
    let end_tag = format!("CLI-END {name} rc=");
    let end = start
        + console[start..]
            .find(&end_tag)
            .unwrap_or_else(|| panic!("step {name} never ended:\n{console}"));
    let rc = console[end + end_tag.len()..]
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(-1);
    (&console[start..end], rc)
}

/// A step that succeeded, said nothing on stderr, and its stdout.
fn ok<'a>(console: &'a str, name: &str) -> &'a str {
    let (out, rc) = step(console, name);
    let err = between(
        console,
        &format!("CLI-STDERR-BEGIN {name}\n"),
        &format!("CLI-STDERR-END {name}"),
    );
    assert_eq!(rc, 0, "cxu step {name} failed:\n{out}\n--- stderr\n{err}");
    assert_eq!(err, "", "cxu step {name} wrote on stderr");
    out
}

fn between<'a>(s: &'a str, begin: &str, end: &str) -> &'a str {
    let start = s.find(begin).map_or(s.len(), |i| i + begin.len());
    let stop = s[start..].find(end).map_or(s.len(), |i| start + i);
    &s[start..stop]
}

/// The differences in keys and JSON types between iproute2's `devlink -j`
/// on the kernel's mlx5_core and `cxu -j` on ours, on the same model, that
/// are explained: (command, path after the handle, why). Everything else of
/// the four documents (objects, handles, version names, reporter and param
/// keys) has the same keys and types.
const EXPECTED_SHAPE_DIFFS: &[(&str, &str, &str)] = &[
    (
        "dev show",
        ".nested_devlink",
        "mlx5e's netdev registers a devlink instance of its own (auxiliary/mlx5_core.eth.0) nested in the function's (en/devlink.c); cxu has no netdev",
    ),
    (
        "dev info",
        ".serial_number",
        "mlx5_core (6.12) never calls devlink_info_serial_number_put; cxu puts the VPD's SN there",
    ),
    (
        "health show",
        "[].burst_period",
        "Linux 6.12's devlink has no reporter burst period; cxu reports it as later kernels do",
    ),
    (
        "dev param show",
        "[].values[].default",
        "Linux 6.12's devlink reports no param default; cxu does, as later kernels do (issue 16 item 7)",
    ),
    (
        "dev param show",
        "[].values[].value",
        "a value has its param's type and the drivers have different params (mlx5's first is a bool, cxu's a u32)",
    ),
];

/// MCQI's packed version, `major << 24 | minor << 16 | subminor`.
const fn fw(major: u32, minor: u32, sub: u32) -> u64 {
    ((major << 24) | (minor << 16) | sub) as u64
}

/// The firmware the model boots with (the profile's) and the image flashed.
const FW_BOOT: u64 = fw(16, 35, 2000);
const FW_FLASHED: u64 = fw(16, 36, 42);

fn running(state: &Value) -> Option<u64> {
    state["fw_running"].as_u64()
}

/// The model's side of the session, from the server's state lines (printed
/// at every function reset, i.e. at each `cxu --pci` open, and when QEMU's
/// connection closes): the trap, policer and group the `settings` step set
/// are in the model's HPKT/QPCR/HTGT registers; the version the flash step
/// activated runs only after them; and at the end, after `unbind`, the
/// function holds no page, EQ or UAR of a driver.
fn check_model(states: &[Value]) -> Result<String, String> {
    let set = [
        Setting::Trap {
            name: "source_mac_is_multicast".into(),
            action: "trap".into(),
        },
        Setting::Policer {
            id: 1,
            rate: 2000,
            burst: 512,
        },
        Setting::Group {
            name: "l2_drops".into(),
            policer: 1,
        },
    ];
    let mut report = String::new();
    let held = states
        .iter()
        .position(|st| set.iter().all(|s| model_state::compare(s, st).is_ok()))
        .ok_or_else(|| {
            let why: Vec<String> = states
                .iter()
                .filter_map(|st| set.iter().find_map(|s| model_state::compare(s, st).err()))
                .collect();
            format!(
                "none of the {} state lines holds the session's settings: {why:?}",
                states.len()
            )
        })?;
    for s in &set {
        report += &format!("{}\n", model_state::compare(s, &states[held])?);
    }
    if let Some(i) = states[..=held]
        .iter()
        .position(|st| running(st) != Some(FW_BOOT))
    {
        return Err(format!(
            "state {i} (before the flash step) runs {:?}, not the boot firmware {FW_BOOT:#x}",
            running(&states[i])
        ));
    }
    let activated = states[held..]
        .iter()
        .position(|st| running(st) == Some(FW_FLASHED))
        .ok_or_else(|| {
            format!("no state after the settings runs the flashed firmware {FW_FLASHED:#x}")
        })?;
    report += &format!(
        "fw_running {FW_BOOT:#x} up to state {held}, {FW_FLASHED:#x} from state {}\n",
        held + activated
    );
    let last = states.last().ok_or("no state lines")?;
    if last["reason"] != "connection closed" {
        return Err(format!(
            "the last state is not the connection's close: {last}"
        ));
    }
    for key in ["pages_held", "eqs_live", "uars_live"] {
        if last[key].as_u64() != Some(0) {
            return Err(format!(
                "after unbind the model still has {key} {}",
                last[key]
            ));
        }
    }
    if running(last) != Some(FW_FLASHED) || !last["fw_pending"].is_null() {
        return Err(format!(
            "after unbind the model runs {:?} with {} pending",
            running(last),
            last["fw_pending"]
        ));
    }
    report += &format!(
        "given back: hca {}, no pages, EQs or UARs held\n",
        last["hca"]
    );
    Ok(report)
}

#[test]
#[ignore = "boots a QEMU guest; scripts/test runs it (CXU_QEMU=0 skips)"]
fn the_cxu_tool_does_a_users_session_on_a_guest_function() {
    if !guest_ready("qemu_cli") {
        return;
    }
    let t0 = Instant::now();
    let scripts = workspace().join("qemu/guest");
    let (cxu, server_bin) = build();

    let dir = tempfile::Builder::new()
        .prefix("cxu-qemu-cli-")
        .tempdir()
        .expect("scratch dir");
    let put = |name: &str, text: &[u8], exec: bool| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write scratch file");
        if exec {
            let mut perms = std::fs::metadata(&p).expect("scratch").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&p, perms).expect("chmod");
        }
        p
    };
    let script = put("cxu-session.sh", SCRIPT.as_bytes(), true);
    let settings = put("settings.cxu", SETTINGS.as_bytes(), false);
    let flash = put("flash.cxu", FLASH.as_bytes(), false);
    let mut img = b"CXFW".to_vec();
    img.extend_from_slice(&0x1024_002au32.to_be_bytes()); // 16.36.0042
    img.extend_from_slice(&[0xA5; 4000]);
    let fw = put("fw.bin", &img, false);
    let console_log = dir.path().join("console.log");

    let server = Server::start(&server_bin, &[]);
    let mut cmd = Command::new(scripts.join("run.sh"));
    cmd.env("CXU_GUEST_LOG", &console_log)
        .arg("--socket")
        .arg(&server.socket)
        .arg("--timeout")
        .arg(GUEST_TIMEOUT.as_secs().to_string())
        // Under TCG on a loaded host the kernel's IO-APIC timer check can
        // fail and panic the boot ("timer doesn't work through
        // Interrupt-remapped IO-APIC"); the check proves nothing here.
        .args(["--append", "no_timer_check"])
        // The kernel's mlx5_core and iproute2's devlink, after the session.
        .args(["--kmod", "drivers/net/ethernet/mellanox/mlxfw/mlxfw"])
        .args(["--kmod", "drivers/pci/controller/pci-hyperv-intf"])
        .args([
            "--kmod",
            "drivers/net/ethernet/mellanox/mlx5/core/mlx5_core",
        ])
        .args(["--guest-bin", "usr/sbin/devlink"]);
    for d in [&cxu, &settings, &flash, &fw] {
        cmd.arg("--data").arg(d);
    }
    cmd.arg(&script);
    let out = cmd.output().expect("run run.sh");
    server.wait_closed();
    let server_states = server.state_text();
    let server_log = server.log_text();
    drop(server);
    let console = std::fs::read_to_string(&console_log)
        .unwrap_or_default()
        .replace('\r', "");
    assert!(
        out.status.success(),
        "{}\n--- console\n{console}",
        show("run.sh", &out)
    );
    println!("{console}");
    let addr = console
        .lines()
        .find_map(|l| l.strip_prefix("CLI-ADDR "))
        .expect("the guest found the function")
        .trim()
        .to_string();
    let dev = format!("pci/{addr}");

    // bind / unbind move the function, as sysfs shows it.
    assert_eq!(
        ok(&console, "unbind"),
        format!("{addr}: vfio-pci -> none\n")
    );
    assert_eq!(ok(&console, "bind"), format!("{addr}: none -> vfio-pci\n"));
    assert!(ok(&console, "probe").contains("\nfirmware:  16.35.2000\n"));
    let info = ok(&console, "info");
    assert!(
        info.starts_with(&format!("{dev}:\n  driver cxu\n")),
        "{info}"
    );
    assert!(
        info.contains("      running:\n        fw.version 16.35.2000\n"),
        "{info}"
    );

    // -j -b: the documents of devlink's one writer.
    let docs: Vec<serde_json::Value> =
        serde_json::from_str(&format!("[{}]", ok(&console, "settings").trim()))
            .expect("the settings batch prints JSON documents");
    assert_eq!(docs.len(), 4, "{docs:?}");
    assert_eq!(docs[0]["trap"][&dev][0]["action"], "trap");
    assert_eq!(docs[1]["trap_policer"][&dev][0]["rate"], 2000);
    assert_eq!(docs[1]["trap_policer"][&dev][0]["burst"], 512);
    assert_eq!(docs[2]["trap_group"][&dev][0]["policer"], 1);
    assert_eq!(docs[3]["health"][&dev][0]["state"], "healthy");

    // Flash and activation change the running version; the monitor saw it.
    let flash = ok(&console, "flash");
    assert!(
        flash.starts_with("Preparing to flash\n"),
        "plain status lines off a terminal:\n{flash}"
    );
    assert!(
        flash.contains("reload_actions_performed:\n    driver_reinit fw_activate\n"),
        "{flash}"
    );
    assert!(
        flash.contains("      running:\n        fw.version 16.36.0042\n"),
        "{flash}"
    );
    assert!(flash.contains("[flash,end]"), "{flash}");
    assert!(flash.contains("[dev,new]"), "{flash}");
    assert!(flash.contains("status OK syndrome 0x0\n"), "{flash}");

    // The background monitor: the three commands ran on its device, and its
    // document, closed by SIGINT, shows what they changed.
    assert_eq!(ok(&console, "served-param-set"), "");
    let shown: Value = serde_json::from_str(ok(&console, "served-param-show").trim())
        .expect("served param show is JSON");
    assert_eq!(
        shown["param"][&dev][0]["values"][0]["value"], true,
        "{shown}"
    );
    assert!(
        ok(&console, "served-reload").contains("driver_reinit"),
        "{console}"
    );
    assert!(
        console.contains("CLI-MON-RC 0\n"),
        "the monitor's exit:\n{console}"
    );
    let mon: Value =
        serde_json::from_str(between(&console, "CLI-MON-BEGIN\n", "CLI-MON-END").trim())
            .unwrap_or_else(|e| panic!("the monitor's document ({e}):\n{console}"));
    let events = mon["mon"].as_array().expect("{\"mon\":[...]}");
    let param = events.iter().position(|e| {
        let p = &e["param"][&dev];
        p["name"] == "counters_clear_on_read" && p["values"][0]["value"] == true
    });
    let reload = events.iter().position(|e| {
        e["command"] == "new" && e["dev"][&dev]["stats"]["reload"]["driver_reinit"].is_object()
    });
    assert!(
        matches!((param, reload), (Some(p), Some(r)) if p < r),
        "the param set, then the reload, in the monitor's document: {mon}"
    );

    // bench --pci: the embedded bench's table, and its JSON.
    let table = ok(&console, "bench");
    assert!(
        table.starts_with(&format!("cxu bench: {dev} over VFIO\n")),
        "{table}"
    );
    assert!(table.contains("NOP, polling mode"), "{table}");
    assert!(table.contains("NOP, events mode"), "{table}");
    let json = console
        .lines()
        .find_map(|l| l.strip_prefix("CLI-BENCH-JSON "))
        .expect("the bench JSON");
    let report: serde_json::Value = serde_json::from_str(json).expect("bench JSON");
    assert_eq!(report["device"], format!("{dev} over VFIO"));
    let points = report["points"].as_array().expect("points");
    assert_eq!(points.len(), 4, "{json}");
    for p in points {
        let rate = p["commands_per_sec"].as_f64().unwrap_or(0.0);
        assert!(rate > 0.0, "no commands completed: {p}");
        println!(
            "INFO guest-cli-bench: {} depth {} {:.0} NOPs/s",
            p["mode"], p["depth"], rate
        );
    }
    assert_eq!(
        ok(&console, "unbind-end"),
        format!("{addr}: vfio-pci -> none\n")
    );

    // Given back: the kernel's driver took the function after `unbind`.
    assert!(
        console.contains("CLI-KERNEL-DRIVER mlx5_core\n"),
        "mlx5_core did not bind the function after unbind:\n{console}"
    );
    // devlink -j on mlx5_core and cxu -j on ours: keys and types, command by
    // command; every difference is printed, and each must be one explained
    // in EXPECTED_SHAPE_DIFFS.
    let mut unexplained = Vec::new();
    for q in ["dev show", "dev info", "health show", "dev param show"] {
        let doc = |tool: &str| -> serde_json::Value {
            let text = ok(&console, &format!("{tool} {q}")).trim();
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{tool} {q}: not one JSON document ({e}): {text}"))
        };
        let (d, c) = (doc("devlink-j"), doc("cxu-j"));
        for diff in devlink_shape::diff(&d, &c) {
            let handle = format!(
                ".{}.{dev}",
                d.as_object()
                    .and_then(|o| o.keys().next())
                    .map_or("", |k| k.as_str())
            );
            let path = diff.path.strip_prefix(&handle).unwrap_or(&diff.path);
            let known = EXPECTED_SHAPE_DIFFS
                .iter()
                .find(|(cmd, p, _)| *cmd == q && *p == path);
            match known {
                Some((_, _, why)) => println!("INFO devlink-vs-cxu {q}: {diff} ({why})"),
                None => {
                    println!("INFO devlink-vs-cxu {q}: {diff} (UNEXPLAINED)");
                    unexplained.push(format!("{q}: {diff}"));
                }
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "devlink -j and cxu -j differ in shape: {unexplained:#?}"
    );

    // mlx5_core's netdev up: `cxu bind` refuses, naming it, and changes
    // nothing; once it is down, `cxu bind` takes the function to vfio-pci.
    let net = console
        .lines()
        .find_map(|l| l.strip_prefix("CLI-NETDEV "))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| panic!("mlx5_core brought up no netdev:\n{console}"));
    let (out, rc) = step(&console, "bind-while-up");
    let err = between(
        &console,
        "CLI-STDERR-BEGIN bind-while-up\n",
        "CLI-STDERR-END bind-while-up",
    );
    assert_eq!(
        (rc, out),
        (1, ""),
        "bind with {net} up was not refused:\n{out}\n--- stderr\n{err}"
    );
    assert!(
        err.contains(&format!("network interface {net} is up")) && err.contains("cxu -f bind"),
        "the refusal names neither the interface nor -f: {err}"
    );
    let after: Vec<&str> = console
        .lines()
        .find_map(|l| l.strip_prefix("CLI-AFTER-REFUSAL "))
        .expect("the state after the refusal")
        .split_whitespace()
        .collect();
    let flags = after
        .get(1)
        .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    assert!(
        after.first() == Some(&"mlx5_core") && flags.is_some_and(|f| f & 1 != 0),
        "after the refusal the function is not on mlx5_core with {net} up: {after:?}"
    );
    assert_eq!(
        ok(&console, "bind-when-down"),
        format!("{addr}: mlx5_core -> vfio-pci\n")
    );
    assert!(
        console.contains("CLI-AFTER-BIND vfio-pci net=\n"),
        "after bind the function is not on vfio-pci without its netdev:\n{console}"
    );

    // The model saw each of those steps.
    let states = model_state::states(&server_states).expect("the server's state lines");
    match check_model(&states) {
        Ok(r) => eprint!("qemu_cli: the model's state:\n{r}"),
        Err(e) => panic!(
            "the model's state after the session: {e}\n--- server log\n{server_log}\n--- server state lines\n{server_states}"
        ),
    }
    eprintln!("qemu_cli: whole run took {:?}", t0.elapsed());
}
