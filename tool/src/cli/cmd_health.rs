//! `cxu health show|diagnose|dump show|dump clear|recover|set`.

use std::io::Write;

use devlink_core::HealthSet;

use super::handler::{subcommand, unknown, Dev, Guard};
use super::session::{canon, get, need, num, write_out, Session};
use super::{jsontext, CliError};

/// `cxu health ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    match subcommand(
        w,
        &["help", "show", "list", "recover", "diagnose", "dump", "set"],
    ) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", rest) => s.show_keyed(rest, out, "health", "reporter", |g, key, r| {
            Ok(match r {
                Some(r) => vec![(key.to_string(), g.health_get(r, None)?)],
                None => g.health_show(),
            })
        }),
        ("diagnose", rest) => fmsg(s, rest, out, |g, r| g.health_diagnose(r, None)),
        ("dump", rest) => match &canon(rest, &["show", "clear"])[..] {
            ["show", rest @ ..] => fmsg(s, rest, out, |g, r| g.health_dump_get(r, None)),
            ["clear", rest @ ..] => {
                let (_, kv) = s.args(rest, Dev::Required, &[], &["reporter"])?;
                s.enter(|g| Ok(g.health_dump_clear(need(&kv, "reporter")?, None)?))
            }
            _ => Err(unknown_command("dump")),
        },
        ("recover", rest) => {
            let (_, kv) = s.args(rest, Dev::Required, &[], &["reporter"])?;
            s.enter(|g| Ok(g.health_recover(need(&kv, "reporter")?, None)?))
        }
        ("set", rest) => {
            let (_, kv) = s.args(
                rest,
                Dev::Required,
                &[],
                &[
                    "reporter",
                    "grace_period",
                    "burst_period",
                    "auto_recover",
                    "auto_dump",
                ],
            )?;
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
                graceful_period: get(&kv, "grace_period")
                    .map(|v| num("grace_period", v))
                    .transpose()?,
                burst_period: get(&kv, "burst_period")
                    .map(|v| num("burst_period", v))
                    .transpose()?,
                auto_recover: b("auto_recover")?,
                auto_dump: b("auto_dump")?,
            };
            s.enter(|g| Ok(g.health_set(need(&kv, "reporter")?, None, set)?))
        }
        (other, _) => Err(unknown_command(other)),
    }
}

fn unknown_command(word: &str) -> CliError {
    unknown(
        "health",
        word,
        "show, diagnose, dump show, dump clear, recover, set",
    )
}

type FmsgOp = fn(&mut Guard<'_>, &str) -> devlink_core::Result<devlink_core::Fmsg>;

/// Diagnose and dump print the reporter's message: as is with `-j`, as
/// `key value` lines otherwise.
fn fmsg(s: &mut Session, w: &[&str], out: &mut dyn Write, op: FmsgOp) -> Result<(), CliError> {
    let (_, kv) = s.args(w, Dev::Optional, &[], &["reporter"])?;
    let msg = s.enter(|g| Ok(op(g, need(&kv, "reporter")?)?))?;
    s.emit_as(out, &msg.to_json(), |j| {
        let mut t = String::new();
        jsontext::text_object(j, 0, &mut t);
        t
    })
}
