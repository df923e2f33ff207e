//! `cxu trap show|set`, `cxu trap group show|set`, `cxu trap policer show|set`.

use std::io::Write;
use std::sync::Arc;

use devlink_core::json::ArraySection;
use devlink_core::{Detail, TrapAction};

use super::session::{canon, get, need, num, only, split_args, write_out, Session};
use super::CliError;

fn action(a: &str) -> Result<TrapAction, CliError> {
    match a {
        "drop" => Ok(TrapAction::Drop),
        "trap" => Ok(TrapAction::Trap),
        "mirror" => Ok(TrapAction::Mirror),
        _ => Err(CliError::usage(format!(
            "action {a:?}: drop, trap or mirror"
        ))),
    }
}

/// `cxu trap ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let detail = Detail {
        stats: s.opts.stats,
        verbose: s.opts.verbose,
    };
    let w = &canon(w, &["help", "show", "list", "set", "group", "policer"])[..];
    match w {
        ["help", ..] => write_out(out, super::USAGE),
        ["group", rest @ ..] => group(s, rest, detail, out),
        ["policer", rest @ ..] => policer(s, rest, detail, out),
        [] | ["show" | "list", ..] => {
            let rest = if w.is_empty() { w } else { &w[1..] };
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["trap"])?;
            let key = s.check_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            let mut g = inst.enter()?;
            let v = match get(&kv, "trap") {
                Some(n) => vec![g.trap_get(n, detail)?],
                None => g.trap_show(detail)?,
            };
            drop(g);
            s.emit(
                out,
                &ArraySection::new("trap", v.iter().map(|t| (key.clone(), t))).to_json(),
            )
        }
        ["set", rest @ ..] => {
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["trap", "action"])?;
            s.require_dev(dev)?;
            let a = action(need(&kv, "action")?)?;
            let inst = Arc::clone(&s.device()?.instance);
            let warn = inst.enter()?.trap_set_action(need(&kv, "trap")?, a)?;
            if let Some(w) = warn {
                write_out(out, &format!("Warning: {w}\n"))?;
            }
            Ok(())
        }
        [other, ..] => Err(CliError::usage(format!(
            "unknown trap command {other:?}; try show, set, group, policer"
        ))),
    }
}

fn group(s: &mut Session, w: &[&str], detail: Detail, out: &mut dyn Write) -> Result<(), CliError> {
    let w = &canon(w, &["help", "show", "list", "set"])[..];
    match w {
        ["help", ..] => write_out(out, super::USAGE),
        [] | ["show" | "list", ..] => {
            let rest = if w.is_empty() { w } else { &w[1..] };
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["group"])?;
            let key = s.check_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            let mut g = inst.enter()?;
            let v = match get(&kv, "group") {
                Some(n) => vec![g.trap_group_get(n, detail)?],
                None => g.trap_group_show(detail)?,
            };
            drop(g);
            s.emit(
                out,
                &ArraySection::new("trap_group", v.iter().map(|t| (key.clone(), t))).to_json(),
            )
        }
        ["set", rest @ ..] => {
            let (dev, kv) = split_args(rest, &["nopolicer"])?;
            only(&kv, &["group", "action", "policer", "nopolicer"])?;
            s.require_dev(dev)?;
            let a = get(&kv, "action").map(action).transpose()?;
            let pol = if kv.iter().any(|(k, _)| *k == "nopolicer") {
                Some(None)
            } else {
                get(&kv, "policer")
                    .map(|p| num::<u32>("policer", p).map(|p| (p != 0).then_some(p)))
                    .transpose()?
            };
            if a.is_none() && pol.is_none() {
                return Err(CliError::usage(
                    "nothing to set: give action, policer or nopolicer",
                ));
            }
            let inst = Arc::clone(&s.device()?.instance);
            inst.enter()?.trap_group_set(need(&kv, "group")?, a, pol)?;
            Ok(())
        }
        [other, ..] => Err(CliError::usage(format!(
            "unknown trap group command {other:?}; try show, set"
        ))),
    }
}

fn policer(
    s: &mut Session,
    w: &[&str],
    detail: Detail,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let w = &canon(w, &["help", "show", "list", "set"])[..];
    match w {
        ["help", ..] => write_out(out, super::USAGE),
        [] | ["show" | "list", ..] => {
            let rest = if w.is_empty() { w } else { &w[1..] };
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["policer"])?;
            let key = s.check_dev(dev)?;
            let inst = Arc::clone(&s.device()?.instance);
            let mut g = inst.enter()?;
            let v = match get(&kv, "policer") {
                Some(p) => vec![g.trap_policer_get(num("policer", p)?, detail)?],
                None => g.trap_policer_show(detail)?,
            };
            drop(g);
            s.emit(
                out,
                &ArraySection::new("trap_policer", v.iter().map(|t| (key.clone(), t))).to_json(),
            )
        }
        ["set", rest @ ..] => {
            let (dev, kv) = split_args(rest, &[])?;
            only(&kv, &["policer", "rate", "burst"])?;
            s.require_dev(dev)?;
            let id = num("policer", need(&kv, "policer")?)?;
            let rate = get(&kv, "rate").map(|r| num("rate", r)).transpose()?;
            let burst = get(&kv, "burst").map(|b| num("burst", b)).transpose()?;
            if rate.is_none() && burst.is_none() {
                return Err(CliError::usage("nothing to set: give rate and/or burst"));
            }
            let inst = Arc::clone(&s.device()?.instance);
            inst.enter()?.trap_policer_set(id, rate, burst)?;
            Ok(())
        }
        [other, ..] => Err(CliError::usage(format!(
            "unknown trap policer command {other:?}; try show, set"
        ))),
    }
}
