//! The model's control-plane registers as one machine-readable line, so a test
//! on the host can see what a guest driver programmed: the guest cannot reach
//! the model's `Control` handle, the server can.
//!
//! ```text
//! cxu-vfio-user: state {"reason":"reset","hca":"Initialized","psid":"MT_0000000008",
//!   "ieee_vendor_id":713,"fw_running":270731216,"fw_pending":null,
//!   "traps":{"1":{"action":1,"group":0}},
//!   "groups":{"0":{"policer_enabled":true,"pid":1}},
//!   "policers":{"0":{"cir":2000,"cbs":9,"rate_type":1,"violate_count":0}}}
//! ```
//!
//! (one line). `fw_running`/`fw_pending` are the flash flow's versions
//! (MCQI's packed `major << 24 | minor << 16 | subminor`). Keys are the registers' own indexes (HPKT `trap_id`, HTGT
//! `trap_group`, QPCR `pid`); values are raw field values, so the reader maps
//! devlink names and ids itself. Only entries firmware has been written hold
//! appear. The line goes to stdout (logs go to stderr).
//!
//! `commands` holds the commands firmware answered since the previous line
//! (`[opcode, op_mod, status, syndrome]`), `commands_from` the first one's
//! index in the model's log: a reader wanting the whole log joins the lines'
//! lists. Not the whole log on every line: the log holds up to 16 Ki
//! entries, and a guest run that resets the function some 30 times printed
//! it again at every reset.

use std::fmt::Write;
use std::sync::Arc;

use cxu_qemu::Device;
use parking_lot::Mutex;

/// HPKT `trap_id` is 10 bits wide.
const TRAP_IDS: u16 = 1 << 10;
/// QPCR `pid` is 14 bits wide.
const POLICER_IDS: u16 = 1 << 14;

/// Escapes `s` for a JSON string (the model's strings are ASCII; anything
/// else is escaped as well, to keep the line one line).
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (' '..='~').contains(&c) => o.push(c),
            c => {
                let mut b = [0u16; 2];
                for u in c.encode_utf16(&mut b) {
                    let _ = write!(o, "\\u{u:04x}");
                }
            }
        }
    }
    o.push('"');
    o
}

/// The state lines of one device, each with the commands answered since the
/// previous one.
pub struct StateLines {
    device: Arc<Device>,
    /// How many entries of the model's command log earlier lines showed.
    shown: Mutex<usize>,
}

impl StateLines {
    /// No line printed yet.
    pub fn new(device: Arc<Device>) -> Self {
        StateLines {
            device,
            shown: Mutex::new(0),
        }
    }

    /// Prints the next state line on stdout.
    pub fn print(&self, reason: &str) {
        // Held until the line is out, so the lines of the backend and of the
        // control thread come out in log order.
        let mut shown = self.shown.lock();
        println!("cxu-vfio-user: state {}", self.next(&mut shown, reason));
    }

    /// The next line's JSON; its commands count as shown.
    fn next(&self, shown: &mut usize, reason: &str) -> String {
        let (line, logged) = json(&self.device, reason, *shown);
        *shown = logged;
        line
    }

    /// The next line's JSON, not printed.
    #[cfg(test)]
    pub fn take(&self, reason: &str) -> String {
        self.next(&mut self.shown.lock(), reason)
    }
}

/// The state of `device` as a JSON object, with the commands from index
/// `from` of the model's log on, and the log's length; `reason` says what
/// triggered it.
fn json(device: &Device, reason: &str, from: usize) -> (String, usize) {
    let ctl = device.control();
    let p = device.profile();
    let mut o = String::new();
    let flash = ctl.flash();
    let _ = write!(
        o,
        r#"{{"reason":{},"hca":"{:?}","psid":{},"ieee_vendor_id":{},"fw_running":{},"fw_pending":{},"traps":{{"#,
        json_str(reason),
        ctl.hca_state(),
        json_str(p.psid),
        p.ieee_vendor_id,
        flash.running,
        flash
            .pending
            .map_or_else(|| "null".to_string(), |v| v.to_string())
    );
    let traps = (0..TRAP_IDS).filter_map(|id| ctl.trap(id).map(|t| (id, t)));
    for (i, (id, t)) in traps.enumerate() {
        let _ = write!(
            o,
            r#"{}"{id}":{{"action":{},"group":{}}}"#,
            if i == 0 { "" } else { "," },
            t.action as u8,
            t.trap_group
        );
    }
    o.push_str(r#"},"groups":{"#);
    let groups = (0..=u8::MAX).filter_map(|g| ctl.trap_group(g).map(|h| (g, h)));
    for (i, (g, h)) in groups.enumerate() {
        let _ = write!(
            o,
            r#"{}"{g}":{{"policer_enabled":{},"pid":{}}}"#,
            if i == 0 { "" } else { "," },
            h.policer_enabled,
            h.pid
        );
    }
    o.push_str(r#"},"policers":{"#);
    let policers = (0..POLICER_IDS).filter_map(|pid| ctl.policer(pid).map(|q| (pid, q)));
    for (i, (pid, q)) in policers.enumerate() {
        let _ = write!(
            o,
            r#"{}"{pid}":{{"cir":{},"cbs":{},"rate_type":{},"violate_count":{}}}"#,
            if i == 0 { "" } else { "," },
            q.cir,
            q.cbs,
            q.rate_type,
            q.violate_count
        );
    }
    o.push('}');
    let logged = history(&mut o, device, from);
    super::eth_state::append(&mut o, device);
    o.push('}');
    (o, logged)
}

/// The device's history and live resources: pages, EQs, UARs and the
/// commands firmware answered from log index `from` on (`[opcode, op_mod,
/// status, syndrome]`), so a test of a guest driver the server cannot see
/// into (Linux's mlx5_core) can check what it did. Returns the log's length.
fn history(o: &mut String, device: &Device, from: usize) -> usize {
    let ctl = device.control();
    let h = ctl.history();
    let _ = write!(
        o,
        r#","pages_held":{},"pages_given":{},"pages_taken":{},"eqs_live":{},"uars_live":{},"umems_live":{},"eqs_destroyed":{},"uars_freed":{},"eqs_created":["#,
        ctl.counters().pages_held,
        h.pages_given,
        h.pages_taken,
        ctl.eqs().len(),
        ctl.uars().len(),
        ctl.umems().0,
        h.eqs_destroyed,
        h.uars_freed
    );
    for (i, e) in h.eqs_created.iter().enumerate() {
        let _ = write!(
            o,
            r#"{}{{"eqn":{},"vector":{},"uar":{},"log_size":{},"events":[{},{},{},{}]}}"#,
            if i == 0 { "" } else { "," },
            e.eqn,
            e.vector,
            e.uar,
            e.log_size,
            e.events[0],
            e.events[1],
            e.events[2],
            e.events[3]
        );
    }
    o.push_str(r#"],"uars_allocated":["#);
    for (i, u) in h.uars_allocated.iter().enumerate() {
        let _ = write!(o, "{}{u}", if i == 0 { "" } else { "," });
    }
    let _ = write!(
        o,
        r#"],"commands_dropped":{},"commands_from":{from},"commands":["#,
        h.commands_dropped
    );
    for (i, c) in h.commands.iter().skip(from).enumerate() {
        let _ = write!(
            o,
            "{}[{},{},{},{}]",
            if i == 0 { "" } else { "," },
            c.opcode.0,
            c.op_mod,
            c.status.0,
            c.syndrome
        );
    }
    o.push(']');
    queues(o, &ctl, &h);
    h.commands.len()
}

/// The live CQs, SQs and RQs (`[cqn, eqn, armed, events]`,
/// `[sqn, cqn, state, wqes]`, `[rqn, cqn, state]`) and how many of each were
/// created and destroyed, so a host test can check that a guest driver's
/// queues exist while its netdev is up and are gone after.
fn queues(o: &mut String, ctl: &cxu_qemu::model::Control, h: &cxu_qemu::model::history::History) {
    let q = ctl.queues();
    o.push_str(r#","cqs":["#);
    for (i, c) in q.cqs.iter().enumerate() {
        let _ = write!(
            o,
            "{}[{},{},{},{}]",
            if i == 0 { "" } else { "," },
            c.cqn,
            c.eqn,
            u8::from(c.armed),
            c.events
        );
    }
    o.push_str(r#"],"sqs":["#);
    for (i, s) in q.sqs.iter().enumerate() {
        let _ = write!(
            o,
            "{}[{},{},{},{}]",
            if i == 0 { "" } else { "," },
            s.num,
            s.cqn,
            s.state,
            s.wqes
        );
    }
    o.push_str(r#"],"rqs":["#);
    for (i, r) in q.rqs.iter().enumerate() {
        let _ = write!(
            o,
            "{}[{},{},{}]",
            if i == 0 { "" } else { "," },
            r.num,
            r.cqn,
            r.state
        );
    }
    let _ = write!(
        o,
        r#"],"cqs_created":{},"cqs_destroyed":{},"sqs_created":{},"sqs_destroyed":{},"rqs_created":{},"rqs_destroyed":{},"cqes_posted":{}"#,
        h.cqs_created,
        h.cqs_destroyed,
        h.sqs_created,
        h.sqs_destroyed,
        h.rqs_created,
        h.rqs_destroyed,
        h.cqes_posted
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxu_qemu::model::TableMode;
    use cxu_qemu::Profile;

    #[test]
    fn a_fresh_device_shows_no_trap_registers() {
        let p = Profile::default();
        let d = Arc::new(Device::new(p.clone(), TableMode::HostVirtualized));
        assert_eq!(
            StateLines::new(d.clone()).take("reset"),
            format!(
                concat!(
                    r#"{{"reason":"reset","hca":"Disabled","psid":"{}","ieee_vendor_id":{},"fw_running":{},"fw_pending":null,"traps":{{}},"groups":{{}},"policers":{{}},"#,
                    r#""pages_held":0,"pages_given":0,"pages_taken":0,"eqs_live":0,"uars_live":0,"umems_live":0,"eqs_destroyed":0,"uars_freed":0,"#,
                    r#""eqs_created":[],"uars_allocated":[],"commands_dropped":0,"commands_from":0,"commands":[],"#,
                    r#""cqs":[],"sqs":[],"rqs":[],"cqs_created":0,"cqs_destroyed":0,"sqs_created":0,"#,
                    r#""sqs_destroyed":0,"rqs_created":0,"rqs_destroyed":0,"cqes_posted":0,"#,
                    r#""mac":"02:c9:5e:00:00:01","mtu":1522,"port":{{"admin":2,"oper":2,"link":true}},"#,
                    r#""eth":{{"pds":0,"tds":0,"mkeys":0,"q_counters":0,"tises":0,"tirs":0,"rqts":0,"#,
                    r#""flow_tables":0,"flow_groups":0,"flow_entries":0,"rx_root":false}},"#,
                    r#""wire":{{"tx_frames":0,"tx_bytes":0,"rx_frames":0,"rx_bytes":0,"rx_dropped":0}}}}"#
                ),
                p.psid,
                p.ieee_vendor_id,
                d.control().flash().running
            )
        );
    }

    #[test]
    fn strings_stay_on_one_line_and_valid() {
        assert_eq!(json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_str("x\ny\u{e9}"), r#""x\u000ay\u00e9""#);
    }
}
