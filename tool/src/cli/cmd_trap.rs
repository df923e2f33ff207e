//! `cxu trap show|set`, `cxu trap group show|set`, `cxu trap policer show|set`.

use std::io::Write;

use devlink_core::{Detail, TrapAction};

use super::handler::{subcommand, unknown, Dev};
use super::session::{get, need, num, write_out, Session};
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
    match subcommand(w, &["help", "show", "list", "set", "group", "policer"]) {
        ("help", _) => write_out(out, super::USAGE),
        ("group", rest) => group(s, rest, detail, out),
        ("policer", rest) => policer(s, rest, detail, out),
        ("show" | "list", rest) => s.show(
            rest,
            out,
            "trap",
            "trap",
            |g, n| Ok(g.trap_get(n, detail)?),
            |g| Ok(g.trap_show(detail)?),
        ),
        ("set", rest) => {
            let (_, kv) = s.args(rest, Dev::Required, &[], &["trap", "action"])?;
            let a = action(need(&kv, "action")?)?;
            let warn = s.enter(|g| Ok(g.trap_set_action(need(&kv, "trap")?, a)?))?;
            if let Some(w) = warn {
                write_out(out, &format!("Warning: {w}\n"))?;
            }
            Ok(())
        }
        (other, _) => Err(unknown("trap", other, "show, set, group, policer")),
    }
}

fn group(s: &mut Session, w: &[&str], detail: Detail, out: &mut dyn Write) -> Result<(), CliError> {
    match subcommand(w, &["help", "show", "list", "set"]) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", rest) => s.show(
            rest,
            out,
            "trap_group",
            "group",
            |g, n| Ok(g.trap_group_get(n, detail)?),
            |g| Ok(g.trap_group_show(detail)?),
        ),
        ("set", rest) => {
            let (_, kv) = s.args(
                rest,
                Dev::Required,
                &["nopolicer"],
                &["group", "action", "policer", "nopolicer"],
            )?;
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
            s.enter(|g| Ok(g.trap_group_set(need(&kv, "group")?, a, pol)?))
        }
        (other, _) => Err(unknown("trap group", other, "show, set")),
    }
}

fn policer(
    s: &mut Session,
    w: &[&str],
    detail: Detail,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match subcommand(w, &["help", "show", "list", "set"]) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", rest) => s.show(
            rest,
            out,
            "trap_policer",
            "policer",
            |g, p| Ok(g.trap_policer_get(num("policer", p)?, detail)?),
            |g| Ok(g.trap_policer_show(detail)?),
        ),
        ("set", rest) => {
            let (_, kv) = s.args(rest, Dev::Required, &[], &["policer", "rate", "burst"])?;
            let id = num("policer", need(&kv, "policer")?)?;
            let rate = get(&kv, "rate").map(|r| num("rate", r)).transpose()?;
            let burst = get(&kv, "burst").map(|b| num("burst", b)).transpose()?;
            if rate.is_none() && burst.is_none() {
                return Err(CliError::usage("nothing to set: give rate and/or burst"));
            }
            s.enter(|g| Ok(g.trap_policer_set(id, rate, burst)?))
        }
        (other, _) => Err(unknown("trap policer", other, "show, set")),
    }
}
