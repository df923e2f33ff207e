//! A session: one device kept across commands (one invocation, `-b FILE`
//! or `shell`), the output options, and the monitor.

use std::io::Write;

use cxu_qemu::model::Control;

use super::device::{Device, Source};
use super::{
    cmd_dev, cmd_health, cmd_misc, cmd_monitor, cmd_port, cmd_probe, cmd_trap, jsontext, CliError,
};

/// Output options (`-j`, `-p`, `-s`, `-v`) and `-f`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opts {
    /// JSON output.
    pub json: bool,
    /// Pretty JSON.
    pub pretty: bool,
    /// Statistics.
    pub stats: bool,
    /// Verbose.
    pub verbose: bool,
    /// Standard output is a terminal (progress is drawn in place there).
    pub tty: bool,
    /// `-f`/`--force`: `bind` takes a function whose network interface is up.
    pub force: bool,
}

/// One device and the commands run on it.
pub struct Session {
    source: Source,
    config: cxu_driver::device::DriverConfig,
    pub(crate) dev: Option<Device>,
    /// Output options.
    pub opts: Opts,
    /// `--sysfs ROOT` for bind/unbind.
    pub(crate) sysfs_root: std::path::PathBuf,
    /// The running monitor (`cxu monitor`).
    pub(crate) monitor: Option<cmd_monitor::Monitor>,
    /// Commands come from a batch or the shell (so a monitor does not
    /// wait, and other commands may follow it).
    pub(crate) batch: bool,
    /// JSON documents as devlink's one writer per invocation prints them:
    /// joined by ',', one newline at [`Session::close`]. Off (the default
    /// for a library caller), every document ends with its own newline.
    pub join_json: bool,
    /// JSON documents written so far.
    json_docs: usize,
}

impl Session {
    /// A session that opens `source` on first use.
    pub fn new(source: Source, opts: Opts) -> Session {
        Session {
            source,
            config: cxu_driver::device::DriverConfig::default(),
            dev: None,
            opts,
            sysfs_root: cxu_hal::vfio::SYSFS_ROOT.into(),
            monitor: None,
            batch: false,
            join_json: false,
            json_docs: 0,
        }
    }

    /// What this session opens.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// A session on a fresh embedded model with `profile`, opened now.
    pub fn embedded(profile: cxu_qemu::Profile) -> Result<Session, CliError> {
        Self::embedded_with(profile, cxu_driver::device::DriverConfig::default())
    }

    /// [`Session::embedded`] with driver settings (a faster health poll,
    /// say).
    pub fn embedded_with(
        profile: cxu_qemu::Profile,
        config: cxu_driver::device::DriverConfig,
    ) -> Result<Session, CliError> {
        let mut s = Session::new(Source::Embedded(profile), Opts::default());
        s.config = config;
        s.device()?;
        Ok(s)
    }

    /// The open device (opening it on first use).
    pub fn device(&mut self) -> Result<&Device, CliError> {
        if self.dev.is_none() {
            self.dev = Some(Device::open(&self.source, &self.config)?);
        }
        self.dev
            .as_ref()
            .ok_or_else(|| CliError::usage("no device"))
    }

    /// The model's test handle (embedded model only).
    pub fn control(&mut self) -> Result<Control, CliError> {
        self.device()?
            .control
            .clone()
            .ok_or_else(|| CliError::usage("not running on the embedded model"))
    }

    /// Runs one command line (without the global options). Objects and
    /// commands may be abbreviated to any prefix, the first match in
    /// devlink's order winning (`d` is `dev`, `h` is `help`).
    pub fn exec(&mut self, words: &[String], out: &mut dyn Write) -> Result<(), CliError> {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let w = canon(&w, OBJECTS);
        let res = match w.as_slice() {
            [] => Err(CliError::usage("no command; try `cxu help`")),
            ["help", ..] | ["-h"] | ["--help"] => {
                write_out(out, super::USAGE)?;
                Ok(())
            }
            ["probe", rest @ ..] => cmd_probe::run(self, rest, out),
            ["dev", rest @ ..] => cmd_dev::run(self, rest, out),
            ["param", rest @ ..] => cmd_dev::param(self, rest, out),
            ["port", rest @ ..] => cmd_port::run(self, rest, out),
            ["trap", rest @ ..] => cmd_trap::run(self, rest, out),
            ["health", rest @ ..] => cmd_health::run(self, rest, out),
            ["rpc", rest @ ..] => cmd_misc::rpc(self, rest, out),
            ["monitor", rest @ ..] => cmd_monitor::run(self, rest, out),
            ["bind", rest @ ..] => cmd_misc::bind(self, rest, out, true),
            ["unbind", rest @ ..] => cmd_misc::bind(self, rest, out, false),
            [other, ..] => Err(CliError::usage(format!(
                "Object \"{other}\" not found; objects: {}",
                OBJECTS[1..].join(" ")
            ))),
        };
        cmd_monitor::flush(self, out)?;
        res
    }

    /// [`Session::exec`] for another process, while this session's monitor
    /// runs (`served`): the command gets a JSON writer of its own (its
    /// documents joined as devlink's, closed with a newline) and does not
    /// wait as a lone command would.
    pub(crate) fn exec_served(
        &mut self,
        words: &[String],
        out: &mut dyn Write,
    ) -> Result<(), CliError> {
        let saved = (self.join_json, self.json_docs, self.batch);
        (self.join_json, self.json_docs, self.batch) = (true, 0, true);
        let res = self.exec(words, out);
        let docs = self.json_docs;
        (self.join_json, self.json_docs, self.batch) = saved;
        if docs > 0 {
            write_out(out, "\n")?;
        }
        res
    }

    /// Removes the device (RPCs drain, the instance unregisters) and prints
    /// what the monitor sees of it.
    pub fn close(&mut self, out: &mut dyn Write) -> Result<(), CliError> {
        // The monitor ends first: devlink's has stopped before the device
        // goes away.
        let ended = cmd_monitor::end(self, out);
        if let Some(d) = self.dev.as_ref() {
            d.remove();
        }
        self.dev = None;
        ended?;
        if self.join_json && self.json_docs > 0 {
            self.json_docs = 0;
            write_out(out, "\n")?;
        }
        Ok(())
    }

    /// Prints a `{"section":{...}}` answer as JSON (`-j`, `-p`) or text.
    pub(crate) fn emit(&mut self, out: &mut dyn Write, json: &str) -> Result<(), CliError> {
        self.emit_as(out, json, jsontext::text_section)
    }

    /// Writes JSON text that opens a document (`opens`: counted as one,
    /// after a ',' if one came before) or goes on with one.
    pub(crate) fn json_raw(
        &mut self,
        out: &mut dyn Write,
        text: &str,
        opens: bool,
    ) -> Result<(), CliError> {
        if opens {
            if self.join_json && self.json_docs > 0 {
                write_out(out, ",")?;
            }
            self.json_docs += 1;
        }
        write_out(out, text)
    }

    /// Writes one JSON document (`-p`: pretty), after a ',' if the
    /// invocation's writer already wrote one ([`Session::join_json`]).
    pub(crate) fn write_json(
        &mut self,
        out: &mut dyn Write,
        j: &jsontext::J,
    ) -> Result<(), CliError> {
        let mut s = String::new();
        if self.join_json && self.json_docs > 0 {
            s.push(',');
        }
        s.push_str(&if self.opts.pretty {
            jsontext::pretty(j)
        } else {
            jsontext::compact(j)
        });
        if !self.join_json {
            s.push('\n');
        }
        self.json_docs += 1;
        write_out(out, &s)
    }

    /// [`Session::check_dev`] where devlink requires the `DEV` argument
    /// (reload, flash, every set).
    pub(crate) fn require_dev(&mut self, dev: Option<&str>) -> Result<String, CliError> {
        match dev {
            None => Err(CliError::usage(
                "Devlink identification (\"bus_name/dev_name\") expected",
            )),
            d => self.check_dev(d),
        }
    }

    /// The handle name (`model/0`), checking a `DEV` argument against it.
    pub(crate) fn check_dev(&mut self, dev: Option<&str>) -> Result<String, CliError> {
        let h = self.device()?.instance.handle().to_string();
        match dev {
            Some(d) if d != h => Err(CliError::usage(format!(
                "no device {d:?}; this session has {h}"
            ))),
            _ => Ok(h),
        }
    }
}

/// The objects in the order a prefix picks them: devlink's (`dl_cmd`),
/// then cxu's own.
pub(crate) const OBJECTS: &[&str] = &[
    "help", "dev", "port", "monitor", "health", "trap", "param", "probe", "rpc", "bind", "unbind",
    "shell",
];

/// The first of `names` that `word` is a prefix of (devlink's `strcmpx`:
/// `word` no longer than the name and equal to its start).
pub(crate) fn pick<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| n.starts_with(word))
}

/// `w` with its first word replaced by the name it abbreviates, if any.
pub(crate) fn canon<'a>(w: &[&'a str], names: &[&'a str]) -> Vec<&'a str> {
    let mut v = w.to_vec();
    if let Some(first) = v.first_mut() {
        if let Some(n) = pick(first, names) {
            *first = n;
        }
    }
    v
}

pub(crate) fn write_out(out: &mut dyn Write, s: &str) -> Result<(), CliError> {
    out.write_all(s.as_bytes()).map_err(|e| CliError::Io {
        what: "writing output".into(),
        source: e,
    })
}

/// `key value` pairs; a bare flag has no value.
pub(crate) type Pairs<'a> = Vec<(&'a str, Option<&'a str>)>;

/// Splits `[DEV] key value key value ...` into the device (if the first word
/// looks like `bus/dev`) and the pairs; bare flags in `flags` take no value.
pub(crate) fn split_args<'a>(
    words: &[&'a str],
    flags: &[&str],
) -> Result<(Option<&'a str>, Pairs<'a>), CliError> {
    let (dev, rest) = match words.first() {
        Some(w) if w.contains('/') => (Some(*w), &words[1..]),
        _ => (None, words),
    };
    let mut kv = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let k = rest[i];
        if k.starts_with('-') {
            return Err(CliError::usage(format!(
                "{k:?}: options go on the command line (anywhere), not in a batch line"
            )));
        }
        if flags.contains(&k) {
            kv.push((k, None));
            i += 1;
            continue;
        }
        let v = rest
            .get(i + 1)
            .ok_or_else(|| CliError::usage(format!("{k:?} needs a value")))?;
        kv.push((k, Some(*v)));
        i += 2;
    }
    Ok((dev, kv))
}

/// The value of `key`, if given.
pub(crate) fn get<'a>(kv: &[(&'a str, Option<&'a str>)], key: &str) -> Option<&'a str> {
    kv.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v)
}

/// Refuses keys other than `allowed`.
pub(crate) fn only(kv: &[(&str, Option<&str>)], allowed: &[&str]) -> Result<(), CliError> {
    match kv.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(CliError::usage(format!(
            "unknown argument {k:?}; expected one of: {}",
            allowed.join(" ")
        ))),
        None => Ok(()),
    }
}

/// `need(kv, "trap")`: the value of a required key.
pub(crate) fn need<'a>(kv: &[(&'a str, Option<&'a str>)], key: &str) -> Result<&'a str, CliError> {
    get(kv, key).ok_or_else(|| CliError::usage(format!("missing \"{key} VALUE\"")))
}

/// Parses a number (decimal or 0x-hex).
pub(crate) fn num<T: TryFrom<u64>>(what: &str, s: &str) -> Result<T, CliError> {
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse::<u64>(),
    }
    .map_err(|_| CliError::usage(format!("{what}: {s:?} is not a number")))?;
    T::try_from(v).map_err(|_| CliError::usage(format!("{what}: {s} is too large")))
}
