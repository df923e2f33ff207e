//! `cxu monitor`, as `devlink monitor`: the notifications that happen after
//! it starts, of the objects asked for (all by default).
//!
//! * Text: `[object,command] handle: fields`, one per notification.
//! * `-j`: one document for the whole run, `{"mon":[{...},...]}`, closed
//!   when the monitor ends (SIGINT or SIGTERM, `count`, `timeout`, or the
//!   end of the batch). Run alone it is written as the notifications come,
//!   as devlink's json_writer does; in a batch or shell, where other
//!   commands print documents of their own, it is written whole at the
//!   end so the documents do not nest.
//! * `-j ... ndjson` (a cxu addition): one `{"command":..}` object per line.
//!
//! Alone, the monitor waits for notifications until interrupted; in a
//! batch or shell it prints what each later command causes. The device's
//! own removal at the end of the run is not shown: devlink's monitor has
//! stopped by then.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use devlink_core::{Delivery, ObjectKinds};

use super::jsontext::{self, J};
use super::session::{num, write_out, Session};
use super::{handler, served, CliError};

/// How often the waiting monitor looks at the interrupt flag.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// How notifications are printed.
#[derive(Debug, PartialEq)]
enum Mode {
    Text,
    Ndjson,
    /// The `{"mon":[...]}` document: `stream` writes it as it goes (its
    /// opening is written, `items` counts what followed); otherwise the
    /// events are kept in `held` until the end.
    Doc {
        stream: bool,
        items: usize,
        held: Vec<J>,
    },
}

/// A running monitor.
#[derive(Debug)]
pub(crate) struct Monitor {
    kinds: ObjectKinds,
    mode: Mode,
}

/// `devlink mon`'s objects, and cxu's additions (`param`, `flash`,
/// `region`, which devlink shows only under `all`).
fn kinds(name: &str) -> Option<ObjectKinds> {
    Some(match name {
        "all" => ObjectKinds::all(),
        "dev" => ObjectKinds::DEV,
        "port" => ObjectKinds::PORT,
        "health" => ObjectKinds::HEALTH,
        "trap" => ObjectKinds::TRAP,
        "trap-group" => ObjectKinds::TRAP_GROUP,
        "trap-policer" => ObjectKinds::TRAP_POLICER,
        "param" => ObjectKinds::PARAM,
        "flash" => ObjectKinds::FLASH,
        "region" => ObjectKinds::REGION,
        _ => return None,
    })
}

/// `cxu monitor [OBJECT...] [count N] [timeout MS] [ndjson]`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let mut k = ObjectKinds::empty();
    let mut count = None;
    let mut timeout = None;
    let mut ndjson = false;
    let mut i = 0;
    while i < w.len() {
        match w[i] {
            "count" | "timeout" => {
                let v = w
                    .get(i + 1)
                    .ok_or_else(|| CliError::usage(format!("{} needs a value", w[i])))?;
                if w[i] == "count" {
                    count = Some(num::<usize>("count", v)?);
                } else {
                    timeout = Some(Duration::from_millis(num("timeout", v)?));
                }
                i += 2;
            }
            "ndjson" => {
                ndjson = true;
                i += 1;
            }
            "help" => return write_out(out, super::USAGE),
            o => {
                k |= kinds(o).ok_or_else(|| {
                    CliError::usage(format!(
                        "Unknown object \"{o}\"; all dev port health trap trap-group trap-policer (cxu: param flash region)"
                    ))
                })?;
                i += 1;
            }
        }
    }
    if k.is_empty() {
        k = ObjectKinds::all();
    }
    let mode = match (s.opts.json, ndjson) {
        (_, true) => Mode::Ndjson,
        (false, false) => Mode::Text,
        (true, false) => Mode::Doc {
            stream: !s.batch,
            items: 0,
            held: Vec::new(),
        },
    };
    // Only what happens from now on.
    s.device()?.events.drain();
    if let Some(m) = s.monitor.take() {
        finish(s, m, out)?;
    }
    let mut m = Monitor { kinds: k, mode };
    let waits = !s.batch || count.is_some() || timeout.is_some();
    // Alone, SIGINT and SIGTERM end the monitor (caught before the
    // document opens, so an interrupt can never cut it short).
    let stop = Arc::new(AtomicBool::new(false));
    let ids = if s.batch {
        Vec::new()
    } else {
        [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
            .into_iter()
            .map(|sig| signal_hook::flag::register(sig, Arc::clone(&stop)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::Io {
                what: "catching SIGINT".into(),
                source: e,
            })?
    };
    if let Mode::Doc { stream: true, .. } = m.mode {
        s.json_raw(out, &jsontext::mon_open(s.opts.pretty), true)?;
        flush_out(out)?;
    }
    if !waits {
        s.monitor = Some(m);
        return Ok(());
    }
    // Alone, it runs other invocations' commands on its device (served.rs).
    let server = if s.batch {
        None
    } else {
        served::socket_path(s.source()).and_then(|p| match served::Server::bind(&p) {
            Ok(sv) => Some(sv),
            Err(e) => {
                tracing::warn!("monitor: not serving other invocations: {e}");
                None
            }
        })
    };
    // Until interrupted, `count` notifications or the timeout, whichever
    // comes first.
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut n = 0;
    let res = loop {
        if count.is_some_and(|c| n >= c) || stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            break match count {
                Some(want) => Err(CliError::usage(format!(
                    "monitor: {n} of {want} notifications before the timeout"
                ))),
                None => Ok(()),
            };
        }
        if let Some(sv) = &server {
            sv.serve(s);
        }
        let wait = left.map_or(SIGNAL_POLL, |l| l.min(SIGNAL_POLL));
        let Some(d) = s.device()?.events.recv_timeout(wait) else {
            continue;
        };
        match print(s, &mut m, &d, out) {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => break Err(e),
        }
    };
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    if s.batch && res.is_ok() {
        s.monitor = Some(m);
        return Ok(());
    }
    let end = finish(s, m, out);
    res.and(end)
}

/// Prints what the monitor of `s` has waiting (after each batch command);
/// returns how many it printed.
pub(crate) fn flush(s: &mut Session, out: &mut dyn Write) -> Result<usize, CliError> {
    let Some(mut m) = s.monitor.take() else {
        return Ok(0);
    };
    let pending = match s.dev.as_ref() {
        Some(d) => d.events.drain(),
        None => Vec::new(),
    };
    let mut n = 0;
    let mut res = Ok(());
    for d in &pending {
        match print(s, &mut m, d, out) {
            Ok(p) => n += usize::from(p),
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    s.monitor = Some(m);
    res.map(|()| n)
}

/// Ends the monitor of `s`, if any: what is waiting, then the end of the
/// `-j` document.
pub(crate) fn end(s: &mut Session, out: &mut dyn Write) -> Result<(), CliError> {
    flush(s, out)?;
    match s.monitor.take() {
        Some(m) => finish(s, m, out),
        None => Ok(()),
    }
}

fn finish(s: &mut Session, m: Monitor, out: &mut dyn Write) -> Result<(), CliError> {
    match m.mode {
        Mode::Doc {
            stream: true,
            items,
            ..
        } => {
            let mut t = jsontext::mon_close(items > 0, s.opts.pretty);
            if !s.join_json {
                t.push('\n');
            }
            write_out(out, &t)
        }
        Mode::Doc {
            stream: false,
            held,
            ..
        } => s.write_json(out, &J::Obj(vec![("mon".into(), J::Arr(held))])),
        Mode::Text | Mode::Ndjson => Ok(()),
    }
}

/// Prints one delivery if the monitor wants it; says whether it did.
fn print(
    s: &mut Session,
    m: &mut Monitor,
    d: &Delivery,
    out: &mut dyn Write,
) -> Result<bool, CliError> {
    if let Delivery::Event(e) = d {
        if !m.kinds.contains(e.body.kind()) {
            return Ok(false);
        }
    }
    let text = devlink_core::json::to_string(d);
    let j = handler::parse(&text)?;
    match &mut m.mode {
        Mode::Ndjson => write_out(out, &format!("{text}\n"))?,
        Mode::Text => write_out(out, &text_line(&j, &text))?,
        Mode::Doc {
            stream: true,
            items,
            ..
        } => {
            write_out(out, &jsontext::mon_item(&j, *items == 0, s.opts.pretty))?;
            *items += 1;
        }
        Mode::Doc { held, .. } => held.push(j),
    }
    // Seen as it happens, also through a pipe.
    flush_out(out)?;
    Ok(true)
}

fn flush_out(out: &mut dyn Write) -> Result<(), CliError> {
    out.flush().map_err(|e| CliError::Io {
        what: "writing output".into(),
        source: e,
    })
}

/// `[object,command] handle: fields` and the indented lines after it.
fn text_line(j: &J, raw: &str) -> String {
    let J::Obj(fields) = j else {
        return format!("{raw}\n");
    };
    let cmd = fields
        .iter()
        .find(|(k, _)| k == "command")
        .map(|(_, v)| jsontext::compact(v).trim_matches('"').to_string())
        .unwrap_or_default();
    match fields.iter().find(|(k, _)| k != "command") {
        Some((obj, body)) if obj != "lost" => {
            let sec = J::Obj(vec![(obj.clone(), body.clone())]);
            let text = jsontext::text_section(&sec);
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            let mut s = format!("[{obj},{cmd}] {first}\n");
            for l in lines {
                s.push_str(l);
                s.push('\n');
            }
            s
        }
        _ => format!("[{cmd}] {raw}\n"),
    }
}
