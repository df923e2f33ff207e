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
