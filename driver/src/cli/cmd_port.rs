//! `cxu port show [DEV/N]`, `cxu port set DEV/N state up|down`.
//!
//! `port show` prints devlink's port entry followed by the port's admin and
//! operational state as PAOS reports them (`admin_state`, `oper_state`,
//! cxu additions), and with `-s` the IEEE 802.3 counters from PPCNT.

use std::io::Write;
use std::sync::Arc;

use devlink_core::json::{ObjectSection, OrderedMap};
use devlink_core::PortView;
use serde::Serialize;

use super::session::{canon, get, need, only, split_args, write_out, Session};
use super::CliError;
use crate::devlink::port;

#[derive(Serialize)]
struct PortOut {
    #[serde(flatten)]
    view: PortView,
    admin_state: &'static str,
    oper_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<OrderedMap<u64>>,
}

fn up(b: bool) -> &'static str {
    if b {
        "up"
    } else {
        "down"
    }
}

/// Splits `model/0/1` (or `1`) into the device part and the port index.
fn port_ref(s: &mut Session, w: &str) -> Result<(String, u32), CliError> {
    let (dev, idx) = match w.rsplit_once('/') {
        Some((d, i)) => (Some(d), i),
        None => (None, w),
    };
    let key = s.check_dev(dev)?;
    Ok((key, super::session::num("port", idx)?))
}

/// `cxu port ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let w = &canon(w, &["help", "show", "list", "set"])[..];
    match w {
        ["help", ..] => write_out(out, super::USAGE),
        [] | ["show"] | ["list"] => show(s, None, out),
        ["show" | "list", p] => {
            let (_, i) = port_ref(s, p)?;
            show(s, Some(i), out)
        }
        ["set", p, rest @ ..] => {
            let (_, i) = port_ref(s, p)?;
            let (_, kv) = split_args(rest, &[])?;
            only(&kv, &["state"])?;
            let want = match need(&kv, "state")? {
                "up" => true,
                "down" => false,
                x => return Err(CliError::usage(format!("state {x:?}: up or down"))),
            };
            let inst = Arc::clone(&s.device()?.instance);
            let mut g = inst.enter()?;
            let st = port::set_admin(&mut g, i, want)?;
            if st.admin_up != want {
                return Err(CliError::usage(format!(
                    "port {i}: firmware kept admin state {}",
                    up(st.admin_up)
                )));
            }
            let _ = get(&kv, "state");
            Ok(())
        }
        [other, ..] => Err(CliError::usage(format!(
            "unknown port command {other:?}; try show, set"
        ))),
    }
}

fn show(s: &mut Session, only_port: Option<u32>, out: &mut dyn Write) -> Result<(), CliError> {
    let key = s.check_dev(None)?;
    let stats = s.opts.stats;
    let inst = Arc::clone(&s.device()?.instance);
    let g = inst.enter()?;
    let ports: Vec<(u32, PortView)> = match only_port {
        Some(i) => vec![(i, g.port_get(i)?)],
        None => g.port_show(),
    };
    let mut rows = Vec::new();
    for (i, view) in ports {
        let st = port::status(&g, i)?;
        let stats = if stats {
            Some(OrderedMap(
                port::counters(&g, i)?
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ))
        } else {
            None
        };
        rows.push((
            format!("{key}/{i}"),
            PortOut {
                view,
                admin_state: up(st.admin_up),
                oper_state: up(st.oper_up),
                stats,
            },
        ));
    }
    drop(g);
    s.emit(
        out,
        &ObjectSection::new("port", rows.iter().map(|(k, v)| (k.clone(), v))).to_json(),
    )
}
