//! `cxu dev show|info|reload|flash|param` and `cxu param`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devlink_core::json::ObjectSection;
use devlink_core::{
    Cmode, Command, Delivery, EventBody, FlashRequest, ObjectKinds, OverwriteMask, ParamType,
    ParamValue, ReloadAction, ReloadLimit,
};

use super::flash_text::FlashText;
use super::handler::{subcommand, unknown, Dev};
use super::jsontext::{self, J};
use super::session::{get, need, write_out, Session};
use super::CliError;

/// `cxu dev ...`.
pub fn run(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    // devlink's order: `s` is show, `i` info, `r` reload, `f` flash.
    match subcommand(
        w,
        &["help", "show", "list", "reload", "param", "info", "flash"],
    ) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", rest) => {
            let (key, _) = s.args(rest, Dev::Optional, &[], &[])?;
            let stats = s.opts.stats;
            let view = s.enter(|g| Ok(g.dev_show(stats)))?;
            s.emit(out, &ObjectSection::new("dev", [(key, &view)]).to_json())
        }
        ("info", rest) => {
            let (key, _) = s.args(rest, Dev::Optional, &[], &[])?;
            let info = s.enter(|g| Ok(g.info_get()?))?;
            let json = ObjectSection::new("info", [(key, &info)]).to_json();
            s.emit_as(out, &json, info_text)
        }
        // Without arguments devlink prints the help (and succeeds).
        ("reload" | "flash", []) => write_out(out, super::USAGE),
        ("reload", rest) => reload(s, rest, out),
        ("flash", rest) => flash(s, rest, out),
        ("param", rest) => param(s, rest, out),
        (other, _) => Err(unknown("dev", other, "show, info, reload, flash, param")),
    }
}

fn reload(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let (_, kv) = s.args(w, Dev::Required, &[], &["action", "limit"])?;
    let action = match get(&kv, "action") {
        None => None,
        Some("driver_reinit") => Some(ReloadAction::DriverReinit),
        Some("fw_activate") => Some(ReloadAction::FwActivate),
        Some(a) => {
            return Err(CliError::usage(format!(
                "action {a:?}: driver_reinit or fw_activate"
            )))
        }
    };
    let limit = match get(&kv, "limit") {
        None => None,
        Some("no_reset") => Some(ReloadLimit::NoReset),
        Some("unspecified") => Some(ReloadLimit::Unspec),
        Some(l) => return Err(CliError::usage(format!("limit {l:?}: no_reset"))),
    };
    let performed = s.enter(|g| Ok(g.reload(action, limit)?))?;
    let json = devlink_core::reload::reload_reply_json(performed);
    s.emit_as(out, &json, reload_text)
}

/// `dev reload` as devlink prints it: the actions on one line under the
/// heading.
fn reload_text(j: &J) -> String {
    let mut names = Vec::new();
    if let J::Obj(sec) = j {
        for (_, body) in sec {
            if let J::Obj(fields) = body {
                for (_, v) in fields {
                    if let J::Arr(a) = v {
                        names.extend(
                            a.iter()
                                .map(|x| jsontext::compact(x).trim_matches('"').to_string()),
                        );
                    }
                }
            }
        }
    }
    format!("reload_actions_performed:\n    {}\n", names.join(" "))
}

/// `dev info` as devlink prints it: the scalars one per line, each
/// version group two levels in under `versions:` and its versions one per
/// line beneath it.
fn info_text(j: &J) -> String {
    let mut t = String::new();
    let J::Obj(sec) = j else { return t };
    for (_, handles) in sec {
        let J::Obj(hs) = handles else { continue };
        for (h, entry) in hs {
            t.push_str(&format!("{h}:\n"));
            let J::Obj(fields) = entry else { continue };
            for (k, v) in fields {
                match v {
                    J::Obj(groups) => {
                        t.push_str(&format!("  {k}:\n"));
                        for (g, vers) in groups {
                            t.push_str(&format!("      {g}:\n"));
                            if let J::Obj(vs) = vers {
                                for (n, x) in vs {
                                    t.push_str(&format!(
                                        "        {n} {}\n",
                                        jsontext::compact(x).trim_matches('"')
                                    ));
                                }
                            }
                        }
                    }
                    x => t.push_str(&format!(
                        "  {k} {}\n",
                        jsontext::compact(x).trim_matches('"')
                    )),
                }
            }
        }
    }
    t
}

/// `cxu dev flash DEV file FILE [component C] [overwrite settings|identifiers]...`;
/// the progress is printed by [`FlashText`].
fn flash(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let (_, kv) = s.args(w, Dev::Required, &[], &["file", "component", "overwrite"])?;
    let mut req = FlashRequest::new(need(&kv, "file")?);
    req.component = get(&kv, "component").map(str::to_string);
    for (_, v) in kv.iter().filter(|(k, _)| *k == "overwrite") {
        req.overwrite |= match v.unwrap_or_default() {
            "settings" => OverwriteMask::SETTINGS,
            "identifiers" => OverwriteMask::IDENTIFIERS,
            o => {
                return Err(CliError::usage(format!(
                    "Unknown overwrite section \"{o}\"; settings or identifiers"
                )))
            }
        };
    }
    let inst = Arc::clone(&s.device()?.instance);
    let mon = inst.subscribe(ObjectKinds::FLASH, 4096);
    let worker = std::thread::Builder::new()
        .name("cxu-flash".into())
        .spawn(move || inst.enter().and_then(|mut g| g.flash_update(req)))
        .map_err(|e| CliError::Io {
            what: "starting the flash thread".into(),
            source: e,
        })?;
    let mut text = FlashText::new(s.opts.tty, Instant::now());
    loop {
        let piece = match mon.recv_timeout(Duration::from_millis(100)) {
            Some(Delivery::Event(ev)) => match (&ev.body, ev.command) {
                (_, Command::End) => {
                    write_out(out, &text.end())?;
                    break;
                }
                (EventBody::Flash(st), Command::Status) => text.status(st, Instant::now()),
                _ => String::new(),
            },
            Some(Delivery::Overflow { .. }) => String::new(),
            None if worker.is_finished() => break,
            None => text.tick(Instant::now()),
        };
        write_out(out, &piece)?;
        let _ = out.flush();
    }
    let res = worker
        .join()
        .map_err(|_| CliError::usage("the flash thread panicked"))?;
    res?;
    Ok(())
}

/// `cxu param show [DEV] [name N]`, `cxu param set [DEV] name N value V cmode C`.
pub fn param(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    match subcommand(w, &["help", "show", "list", "set"]) {
        ("help", _) => write_out(out, super::USAGE),
        ("show" | "list", rest) => s.show(
            rest,
            out,
            "param",
            "name",
            |g, n| Ok(g.param_get(n)?),
            |g| Ok(g.param_show()?),
        ),
        ("set", rest) => {
            let (_, kv) = s.args(
                rest,
                Dev::Required,
                &["default"],
                &["name", "value", "default", "cmode"],
            )?;
            let name = need(&kv, "name")?;
            let default = kv.iter().any(|(k, _)| *k == "default");
            match (get(&kv, "value").is_some(), default) {
                (true, true) => {
                    return Err(CliError::usage("Cannot specify both value and default"))
                }
                (false, false) => {
                    return Err(CliError::usage("Either value or default must be specified"))
                }
                _ => {}
            }
            let cmode = match need(&kv, "cmode")? {
                "runtime" => Cmode::Runtime,
                "driverinit" => Cmode::Driverinit,
                "permanent" => Cmode::Permanent,
                c => {
                    return Err(CliError::usage(format!(
                        "cmode {c:?}: runtime, driverinit or permanent"
                    )))
                }
            };
            s.enter(|g| {
                if default {
                    g.param_set_default(name, cmode)?;
                    return Ok(());
                }
                let raw = need(&kv, "value")?;
                let ty = g
                    .param_get(name)?
                    .values
                    .first()
                    .map(|v| v.value.ty())
                    .ok_or_else(|| {
                        CliError::usage(format!("param {name:?} has no value to take a type from"))
                    })?;
                let value = parse_value(ty, raw)?;
                g.param_set(name, cmode, value)?;
                Ok(())
            })
        }
        (other, _) => Err(unknown("param", other, "show, set")),
    }
}

fn parse_value(ty: ParamType, raw: &str) -> Result<ParamValue, CliError> {
    use super::session::num;
    Ok(match ty {
        ParamType::Bool => ParamValue::Bool(match raw {
            "true" => true,
            "false" => false,
            _ => return Err(CliError::usage(format!("value {raw:?}: true or false"))),
        }),
        ParamType::U8 => ParamValue::U8(num("value", raw)?),
        ParamType::U16 => ParamValue::U16(num("value", raw)?),
        ParamType::U32 => ParamValue::U32(num("value", raw)?),
        ParamType::U64 => ParamValue::U64(num("value", raw)?),
        ParamType::String => ParamValue::String(raw.to_string()),
    })
}
