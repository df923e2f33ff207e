//! `cxu probe`: what bring-up found, at a glance (firmware, ports, features,
//! command interface, firmware pages). The devlink objects have their own
//! commands; this is the driver's own view, for the person bringing a NIC up.

use std::io::Write;

use super::handler::Dev;
use super::session::{write_out, Session};
use super::CliError;
use cxu_driver::cmd::Mode;

/// `cxu probe [DEV]`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let (key, _) = s.args(w, Dev::Optional, &[], &[])?;
    let summary = s.device()?.core.summary()?;
    if !s.opts.json {
        return write_out(out, &format!("{summary}\n"));
    }
    let q = |v: &str| serde_json::Value::from(v).to_string();
    let features: Vec<String> = summary
        .features
        .iter_names()
        .map(|(n, _)| q(&n.to_lowercase()))
        .collect();
    let mode = match summary.mode {
        Mode::Polling => "polling",
        Mode::Events => "events",
    };
    let json = format!(
        "{{\"probe\":{{{}:{{\"firmware\":{},\"ports\":{},\"port_type\":{},\"features\":[{}],\"cmd_slots\":{},\"completion\":{},\"fw_pages\":{}}}}}}}",
        q(&key),
        q(&summary.fw_version.to_string()),
        summary.ports,
        q(&summary.port_type.to_string()),
        features.join(","),
        summary.cmd_slots,
        q(mode),
        summary.fw_pages,
    );
    s.emit(out, &json)
}
