//! `cxu health show|diagnose|dump show|dump clear|recover|set`.

use std::io::Write;
use std::sync::Arc;

use devlink_core::json::ArraySection;
use devlink_core::HealthSet;

use super::session::{canon, get, need, num, only, split_args, write_out, Session};
use super::{jsontext, CliError};

/// `cxu health ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let mut w = canon(
        w,
        &["help", "show", "list", "recover", "diagnose", "dump", "set"],
    );
    if w.first() == Some(&"dump") {
        w = [&["dump"][..], &canon(&w[1..], &["show", "clear"])].concat();
    }
    let w = &w[..];
    match w {
        ["help", ..] => write_out(out, super::USAGE),
        [] | ["show" | "list", ..] => {
            let rest = if w.is_empty() { w } else { &w[1..] };
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["reporter"])?;
            let key = s.check_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            let g = inst.enter()?;
            let rows = match get(&kv, "reporter") {
                Some(r) => vec![(key, g.health_get(r, None)?)],
                None => g.health_show(),
            };
            drop(g);
            s.emit(out, &ArraySection::new("health", rows.iter().map(|(k, v)| (k.clone(), v))).to_json())
        }
        ["diagnose", rest @ ..] => fmsg(s, rest, out, |g, r| g.health_diagnose(r, None)),
        ["dump", "show", rest @ ..] => fmsg(s, rest, out, |g, r| g.health_dump_get(r, None)),
        ["dump", "clear", rest @ ..] => {
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["reporter"])?;
            s.require_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            inst.enter()?.health_dump_clear(need(&kv, "reporter")?, None)?;
            Ok(())
        }
        ["recover", rest @ ..] => {
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["reporter"])?;
            s.require_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            inst.enter()?.health_recover(need(&kv, "reporter")?, None)?;
            Ok(())
        }
        ["set", rest @ ..] => {
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["reporter", "grace_period", "burst_period", "auto_recover", "auto_dump"])?;
            s.require_dev(dev)?;
            let b = |k: &str| -> Result<Option<bool>, CliError> {
                get(&kv, k)
                    .map(|v| match v {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(CliError::usage(format!("{k} {v:?}: true or false"))),
                    })
                    .transpose()
            };
            let set = HealthSet {
                graceful_period: get(&kv, "grace_period").map(|v| num("grace_period", v)).transpose()?,
                burst_period: get(&kv, "burst_period").map(|v| num("burst_period", v)).transpose()?,
                auto_recover: b("auto_recover")?,
                auto_dump: b("auto_dump")?,
            };
            let inst = Arc::clone(&s.device()?.instance);
            inst.enter()?.health_set(need(&kv, "reporter")?, None, set)?;
            Ok(())
        }
        [other, ..] => Err(CliError::usage(format!(
            "unknown health command {other:?}; try show, diagnose, dump show, dump clear, recover, set"
        ))),
    }
}

type FmsgOp = fn(
    &mut devlink_core::InstanceGuard<'_, cxu_driver::devlink::Cxu>,
    &str,
) -> devlink_core::Result<devlink_core::Fmsg>;

/// Diagnose and dump print the reporter's message: as is with `-j`, as
/// `key value` lines otherwise.
fn fmsg(s: &mut Session, w: &[&str], out: &mut dyn Write, op: FmsgOp) -> Result<(), CliError> {
    let (dev, kv) = split_args(w, &[])?;
    only(&kv, &["reporter"])?;
    s.check_dev(dev)?;
    let inst = Arc::clone(&s.device()?.instance);
    let msg = op(&mut inst.enter()?, need(&kv, "reporter")?)?;
    let text = msg.to_json();
    let j = jsontext::parse(&text).map_err(|e| CliError::usage(format!("internal: {e}")))?;
    if s.opts.json {
        return s.write_json(out, &j);
    }
    let mut t = String::new();
    jsontext::text_object(&j, 0, &mut t);
    write_out(out, &t)
}
