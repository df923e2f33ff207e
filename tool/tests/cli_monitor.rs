//! `cxu monitor` as `devlink monitor`: only what happens after it starts,
//! `-j` as one `{"mon":[...]}` document closed when the monitor ends,
//! NDJSON only when asked for.

mod cli_support;
use std::io::Write;
use std::sync::mpsc;

use cli_support::{batch, cxu, ok};
use cxu_qemu::model::Profile;
use cxu_tool::cli::Session;

const PARAM_SET: &str = "param set model/0 name counters_clear_on_read value true cmode runtime\n";
const PARAM_EVENT: &str = "{\"command\":\"new\",\"param\":{\"model/0\":{\"name\":\"counters_clear_on_read\",\"type\":\"driver-specific\",\"values\":[{\"cmode\":\"runtime\",\"value\":true,\"default\":false}]}}}";

#[test]
fn one_document_of_what_follows_the_start() {
    // As in the kernel, a trap action change is not notified; a param set
    // is. The registration burst before the monitor and the removal at
    // the end are not shown.
    let f = batch(&format!(
        "monitor param\ntrap set model/0 trap tail_drop action trap\n{PARAM_SET}"
    ));
    let path = f.path().to_str().unwrap();
    assert_eq!(
        ok(&["-j", "-b", path]),
        format!("{{\"mon\":[{PARAM_EVENT}]}}\n")
    );
    assert_eq!(
        ok(&["-b", path]),
        "[param,new] model/0: name counters_clear_on_read type driver-specific\n  values:\n    cmode runtime value true default false\n"
    );
    // Other documents of the batch come before it, joined as devlink -j -b.
    let f = batch(&format!("monitor all\n{PARAM_SET}dev show\n"));
    assert_eq!(
        ok(&["-j", "-b", f.path().to_str().unwrap()]),
        format!("{{\"dev\":{{\"model/0\":{{}}}}}},{{\"mon\":[{PARAM_EVENT}]}}\n")
    );
    // The line-per-event stream, when asked for.
    let f = batch(&format!("monitor param ndjson\n{PARAM_SET}{PARAM_SET}"));
    assert_eq!(
        ok(&["-j", "-b", f.path().to_str().unwrap()]),
        format!("{PARAM_EVENT}\n{PARAM_EVENT}\n")
    );
    // Alone, with nothing happening: an empty document (pretty as
    // json_writer prints an empty array).
    assert_eq!(ok(&["-j", "monitor", "timeout", "20"]), "{\"mon\":[]}\n");
    assert_eq!(
        ok(&["monitor", "-jp", "timeout", "20"]),
        "{\n    \"mon\": [ ]\n}\n"
    );
    let (code, out) = cxu(&["monitor", "region", "count", "1", "timeout", "20"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("0 of 1 notifications before the timeout"),
        "{out}"
    );
    let (code, out) = cxu(&["monitor", "dev", "params"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("Error: Unknown object \"params\""), "{out}");
}

/// Sends what is written, as it is written.
struct Tap(mpsc::Sender<Vec<u8>>);

impl Write for Tap {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(b.to_vec());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn alone_it_streams_the_document_as_events_come() {
    let cfg = cxu_driver::device::DriverConfig {
        health_interval: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let mut s = Session::embedded_with(Profile::default(), cfg).unwrap();
    s.opts.json = true;
    let c = s.control().unwrap();
    let (tx, rx) = mpsc::channel();
    let mon = std::thread::spawn(move || {
        let mut w = Tap(tx);
        let words: Vec<String> = "monitor health count 1 timeout 60000"
            .split(' ')
            .map(str::to_string)
            .collect();
        let r = s.exec(&words, &mut w).map_err(|e| e.to_string());
        s.close(&mut w).unwrap();
        r
    });
    // The document opens before anything is waited for; the fatal error
    // comes after the monitor started.
    assert_eq!(rx.recv().unwrap(), b"{\"mon\":[");
    c.fatal_error(0x08);
    mon.join().unwrap().unwrap();
    let rest: Vec<u8> = rx.iter().flatten().collect();
    let doc = format!("{{\"mon\":[{}", String::from_utf8(rest).unwrap());
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    let mon = v["mon"].as_array().unwrap();
    assert_eq!(mon.len(), 1, "{doc}");
    assert_eq!(
        mon[0]["health"]["model/0"][0]["reporter"], "fw_fatal",
        "{doc}"
    );
    assert!(doc.ends_with("]}\n"), "{doc}");
}

/// Issue 16 item 1: `monitor` in the background as a process of its own. It
/// owns the device (VFIO allows one owner), so a later `cxu` of one command
/// runs there through its socket: the monitor's document shows the change,
/// and the change is on the monitor's device (a fresh embedded model would
/// show the default). SIGINT closes the document and removes the socket.
#[test]
fn a_background_monitor_serves_other_invocations_and_shows_their_changes() {
    use std::process::{Command, Stdio};
    let run = tempfile::tempdir().unwrap();
    let cxu = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_cxu"))
            .env("CXU_RUN_DIR", run.path())
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let mut mon = Command::new(env!("CARGO_BIN_EXE_cxu"))
        .env("CXU_RUN_DIR", run.path())
        .args(["-j", "monitor", "param"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sock = run.path().join("model.sock");
    let t = std::time::Instant::now();
    while !sock.exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "the monitor never listened"
        );
        assert!(mon.try_wait().unwrap().is_none(), "the monitor exited");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let show = [
        "-j",
        "dev",
        "param",
        "show",
        "model/0",
        "name",
        "counters_clear_on_read",
    ];
    assert_eq!(
        cxu(&[
            "dev",
            "param",
            "set",
            "model/0",
            "name",
            "counters_clear_on_read",
            "value",
            "true",
            "cmode",
            "runtime"
        ]),
        (Some(0), String::new(), String::new())
    );
    let (code, out, err) = cxu(&show);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        v["param"]["model/0"][0]["values"][0]["value"], true,
        "{out}"
    );
    // A command's failure comes back with its message and exit code.
    assert_eq!(
        cxu(&["trap", "show", "model/0", "trap", "nonesuch"]).0,
        Some(1)
    );
    // Output options travel with the command.
    let (code, out, err) = cxu(&["trap", "show", "model/0", "trap", "source_mac_is_multicast"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(
        out.starts_with("model/0:\n  name source_mac_is_multicast"),
        "{out}"
    );
    let pid = mon.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = mon.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    let events = v["mon"].as_array().unwrap_or_else(|| panic!("{doc}"));
    assert!(
        events.iter().any(|e| {
            let p = &e["param"]["model/0"];
            p["name"] == "counters_clear_on_read" && p["values"][0]["value"] == true
        }),
        "{doc}"
    );
    assert!(!sock.exists(), "the socket outlived its monitor");
    // With the monitor gone, a command opens its own (fresh) model again.
    let (_, out, _) = cxu(&show);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["param"]["model/0"][0]["values"][0]["value"], false,
        "{out}"
    );
}
