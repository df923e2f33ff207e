//! `cxu port show [DEV | DEV/N]`, `cxu port set DEV/N type eth|ib|auto`,
//! `cxu port set DEV/N state up|down`.
//!
//! `port show` prints devlink's port entry; with `-v` the port's admin and
//! operational state as PAOS reports them (`admin_state`, `oper_state`),
//! with `-s` the IEEE 802.3 counters from PPCNT (cxu additions, printed
//! only when asked for so the default output is devlink's).

use std::io::Write;

use devlink_core::json::{ObjectSection, OrderedMap};
use devlink_core::{PortType, PortView};
use serde::Serialize;

use super::handler::{subcommand, unknown};
use super::session::{get, only, split_args, write_out, Session};
use super::CliError;
use cxu_driver::devlink::port;

#[derive(Serialize)]
struct PortOut {
    #[serde(flatten)]
    view: PortView,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oper_state: Option<&'static str>,
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

/// `DEV/N` (devlink's port handle) to the port index.
fn port_ref(s: &mut Session, w: &str) -> Result<u32, CliError> {
    let (dev, idx) = w
        .rsplit_once('/')
        .filter(|(d, _)| d.contains('/'))
        .ok_or_else(|| {
            CliError::usage(format!(
                "Port identification (\"bus_name/dev_name/port_index\") expected, not {w:?}"
            ))
        })?;
    s.check_dev(Some(dev))?;
    super::session::num("port", idx)
}

/// `cxu port ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    match subcommand(w, &["help", "show", "list", "set"]) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", []) => show(s, None, out),
        // `DEV` lists the device's ports, `DEV/N` one port.
        ("show" | "list", [p]) if p.matches('/').count() == 1 => {
            s.check_dev(Some(p))?;
            show(s, None, out)
        }
        ("show" | "list", [p]) => {
            let i = port_ref(s, p)?;
            show(s, Some(i), out)
        }
        ("set", [p, rest @ ..]) => {
            let i = port_ref(s, p)?;
            let (_, kv) = split_args(rest, &[])?;
            only(&kv, &["type", "state"])?;
            if kv.is_empty() {
                return Err(CliError::usage("nothing to set: give type or state"));
            }
            if let Some(t) = get(&kv, "type") {
                let ty = match t {
                    "eth" => PortType::Eth,
                    "ib" => PortType::Ib,
                    "auto" => PortType::Auto,
                    x => {
                        return Err(CliError::usage(format!(
                            "Unknown port type \"{x}\"; eth, ib or auto"
                        )))
                    }
                };
                s.enter(|g| Ok(g.port_set_type(i, ty)?))?;
            }
            if let Some(st) = get(&kv, "state") {
                let want = match st {
                    "up" => true,
                    "down" => false,
                    x => return Err(CliError::usage(format!("state {x:?}: up or down"))),
                };
                let st = s.enter(|g| Ok(port::set_admin(g, i, want)?))?;
                if st.admin_up != want {
                    return Err(CliError::usage(format!(
                        "port {i}: firmware kept admin state {}",
                        up(st.admin_up)
                    )));
                }
            }
            Ok(())
        }
        ("set", []) => Err(CliError::usage(
            "Port identification (\"bus_name/dev_name/port_index\") expected",
        )),
        (other, _) => Err(unknown("port", other, "show, set")),
    }
}

/// devlink's port entry; with `-v` the PAOS admin and operational state,
/// with `-s` the PPCNT counters (cxu additions, only when asked for).
fn show(s: &mut Session, only_port: Option<u32>, out: &mut dyn Write) -> Result<(), CliError> {
    let key = s.check_dev(None)?;
    let (stats, verbose) = (s.opts.stats, s.opts.verbose);
    let rows = s.enter(|g| {
        let ports: Vec<(u32, PortView)> = match only_port {
            Some(i) => vec![(i, g.port_get(i)?)],
            None => g.port_show(),
        };
        let mut rows = Vec::new();
        for (i, view) in ports {
            let st = if verbose {
                Some(port::status(g, i)?)
            } else {
                None
            };
            let stats = if stats {
                Some(OrderedMap(
                    port::counters(g, i)?
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
                    admin_state: st.as_ref().map(|st| up(st.admin_up)),
                    oper_state: st.as_ref().map(|st| up(st.oper_up)),
                    stats,
                },
            ));
        }
        Ok(rows)
    })?;
    s.emit(
        out,
        &ObjectSection::new("port", rows.iter().map(|(k, v)| (k.clone(), v))).to_json(),
    )
}
