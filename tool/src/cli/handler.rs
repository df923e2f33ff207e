//! The steps every command handler shares, so that a handler states only
//! what is its own: its subcommand (abbreviated, `show` by default), its
//! arguments (`[DEV] key value ...`, the device checked), one operation on
//! the devlink instance, the `show [DEV] [KEY K]` listing, and the answer as
//! JSON (`-j`) or its text. Opening the device ([`Session::device`]), reaching a
//! serving monitor (`served`) and the exit code (`report`) happen once, for
//! every command, before and after the handler.

use std::io::Write;
use std::sync::Arc;

use devlink_core::json::ArraySection;
use serde::Serialize;

use super::jsontext::{self, J};
use super::session::{get, only, pick, split_args, write_out, Pairs, Session};
use super::CliError;

/// The devlink instance, entered: what a handler's operation runs on.
pub(crate) type Guard<'a> = devlink_core::InstanceGuard<'a, cxu_driver::devlink::Cxu>;

/// Whether a command must name its device: devlink requires `DEV` for
/// reload, flash and every set; the others default to the session's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dev {
    Optional,
    Required,
}

/// The subcommand `w` starts with (expanded from an abbreviation of one of
/// `names`; `show` when `w` is empty, every object's default as devlink's)
/// and the words after it.
pub(crate) fn subcommand<'a, 'w>(w: &'w [&'a str], names: &[&'a str]) -> (&'a str, &'w [&'a str]) {
    match w.split_first() {
        None => ("show", w),
        Some((first, rest)) => (pick(first, names).unwrap_or(first), rest),
    }
}

/// The error for a command `object` does not have; `have` lists its own.
pub(crate) fn unknown(object: &str, word: &str, have: &str) -> CliError {
    CliError::usage(format!("unknown {object} command {word:?}; try {have}"))
}

/// A JSON document the tool wrote itself, parsed for printing.
pub(crate) fn parse(json: &str) -> Result<J, CliError> {
    jsontext::parse(json).map_err(|e| CliError::usage(format!("internal: bad JSON {e}")))
}

impl Session {
    /// The arguments `[DEV] key value ...` of a command taking the keys
    /// `allowed` (`flags` of them without a value): the device's handle,
    /// `DEV` checked against it, and the pairs.
    pub(crate) fn args<'a>(
        &mut self,
        w: &[&'a str],
        dev: Dev,
        flags: &[&str],
        allowed: &[&str],
    ) -> Result<(String, Pairs<'a>), CliError> {
        let (d, kv) = split_args(w, flags)?;
        only(&kv, allowed)?;
        let key = match dev {
            Dev::Optional => self.check_dev(d)?,
            Dev::Required => self.require_dev(d)?,
        };
        Ok((key, kv))
    }

    /// Runs `op` on the devlink instance (opening the device on first use),
    /// entered for `op` alone.
    pub(crate) fn enter<R>(
        &mut self,
        op: impl FnOnce(&mut Guard<'_>) -> Result<R, CliError>,
    ) -> Result<R, CliError> {
        let inst = Arc::clone(&self.device()?.instance);
        let mut g = inst.enter()?;
        op(&mut g)
    }

    /// `show [DEV] [FILTER F]`: the object F (`one`) or every one (`all`),
    /// printed as devlink's `{"SECTION":{"DEV":[...]}}`.
    pub(crate) fn show<T: Serialize>(
        &mut self,
        w: &[&str],
        out: &mut dyn Write,
        section: &'static str,
        filter: &str,
        one: impl FnOnce(&mut Guard<'_>, &str) -> Result<T, CliError>,
        all: impl FnOnce(&mut Guard<'_>) -> Result<Vec<T>, CliError>,
    ) -> Result<(), CliError> {
        self.show_keyed(w, out, section, filter, |g, key, f| {
            let v = match f {
                Some(f) => vec![one(g, f)?],
                None => all(g)?,
            };
            Ok(v.into_iter().map(|v| (key.to_string(), v)).collect())
        })
    }

    /// [`Session::show`] for objects that may have handles of their own
    /// (a port's health reporter): `rows` gives each object with its handle,
    /// `key` (the device's) for the device's own.
    pub(crate) fn show_keyed<T: Serialize>(
        &mut self,
        w: &[&str],
        out: &mut dyn Write,
        section: &'static str,
        filter: &str,
        rows: impl FnOnce(&mut Guard<'_>, &str, Option<&str>) -> Result<Vec<(String, T)>, CliError>,
    ) -> Result<(), CliError> {
        let (key, kv) = self.args(w, Dev::Optional, &[], &[filter])?;
        let rows = self.enter(|g| rows(g, &key, get(&kv, filter)))?;
        self.emit(
            out,
            &ArraySection::new(section, rows.iter().map(|(k, v)| (k.clone(), v))).to_json(),
        )
    }

    /// Prints the document `json`: as JSON with `-j`, else as the command's
    /// own `text` of it.
    pub(crate) fn emit_as(
        &mut self,
        out: &mut dyn Write,
        json: &str,
        text: impl FnOnce(&J) -> String,
    ) -> Result<(), CliError> {
        let j = parse(json)?;
        if self.opts.json {
            return self.write_json(out, &j);
        }
        write_out(out, &text(&j))
    }
}
