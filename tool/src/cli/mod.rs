//! `cxu`, the command-line tool, as a library: [`run`] is the whole tool
//! (main() only calls it), so tests drive it without a subprocess.
//!
//! Commands follow iproute2 `devlink`: `OBJECT COMMAND [DEV] key value ...`,
//! `-j` for the JSON `devlink -j` prints, `-p` to pretty-print it, `-s` for
//! statistics, `-v` for detail. Without `--pci` the tool runs on the
//! embedded device model; because that model lives in the process, a state
//! change lasts for one invocation: `-b FILE` (`devlink -b`) or `shell` run
//! several commands on one device.
//!
//! Files: `getopt` (the global options, as devlink's getopt_long), `batch`
//! (`-b` input, as iproute2's do_batch), [`session`] (device, options,
//! monitor, argument helpers, prefix abbreviations),
//! [`device`] (bring-up and removal), `handler` (the steps the command
//! handlers share: arguments, the instance, listings, output), `cmd_dev` (dev, param, reload,
//! flash), `cmd_port`, `cmd_trap`, `cmd_health`, `cmd_monitor`,
//! `cmd_misc` (rpc, bind), [`jsontext`] (order-keeping JSON for `-p` and text).

mod batch;
mod cmd_dev;
mod cmd_health;
mod cmd_misc;
mod cmd_monitor;
mod cmd_port;
mod cmd_probe;
mod cmd_trap;
pub mod device;
mod error;
mod flash_text;
mod getopt;
mod handler;
pub mod jsontext;
mod served;
pub mod session;

use std::io::{BufRead, Write};

pub use cmd_misc::{from_hex, to_hex};
pub use device::{Device, Source};
pub use error::CliError;
use getopt::Opt;
use session::pick;
pub use session::{Opts, Session};

/// `cxu help`.
pub const USAGE: &str = "\
usage: cxu [OPTIONS] OBJECT COMMAND [ARGS]
       cxu [OPTIONS] -b FILE          run the commands of FILE ('-' = stdin) on one device
       cxu [OPTIONS] shell            read commands from stdin
options (anywhere on the line, combinable as -jps; long ones abbreviable):
  -j/--json  -p/--pretty  -s/--statistics  -v/--verbose  -V/--Version
  -f/--force (with -b: go on after a failed command; bind: even with an interface up)
  --pci DDDD:BB:DD.F  --sysfs ROOT
objects and commands may be abbreviated as in devlink (`cxu d sh`, `cxu tr gr sh`):
  probe                           what bring-up found: firmware, ports, features, queue
  dev show [DEV] | info [DEV] | reload DEV [action driver_reinit|fw_activate]
  dev flash DEV file FILE [component C] [overwrite settings|identifiers]
  dev param show [DEV [name N]] | set DEV name N { value V | default } cmode runtime|driverinit|permanent
  param ...                       (same as dev param)
  port show [DEV | DEV/N] | set DEV/N type eth|ib|auto | set DEV/N state up|down
  trap show [DEV [trap N]] | set DEV trap N action drop|trap|mirror
  trap group show [DEV [group G]] | set DEV group G [action A] [policer P | nopolicer]
  trap policer show [DEV [policer P]] | set DEV policer P [rate R] [burst B]
  health show [DEV [reporter R]] | diagnose DEV reporter R | dump show|clear DEV reporter R
         | recover DEV reporter R | set DEV reporter R [grace_period MS] [auto_recover true|false]
  monitor [all|dev|port|health|trap|trap-group|trap-policer|param|flash] [count N] [timeout MS] [ndjson]
  rpc [DEV] [scope configuration|debug_read_only|debug_write|debug_write_full] [outlen N] HEX
  bind DDDD:BB:DD.F | unbind DDDD:BB:DD.F
  bench ...                       (command-queue benchmarks; `cxu bench --help`)
DEV: model/0 on the embedded model, pci/DDDD:BB:DD.F with --pci.
";

struct Global {
    opts: Opts,
    source: Source,
    batch: Option<String>,
    force: bool,
    sysfs: Option<String>,
    version: bool,
    rest: Vec<String>,
}

fn parse_global(args: &[String]) -> Result<Global, CliError> {
    let p = getopt::parse(args)?;
    let mut g = Global {
        opts: Opts::default(),
        source: Source::Embedded(cxu_qemu::Profile::default()),
        batch: None,
        force: false,
        sysfs: None,
        version: false,
        rest: p.words,
    };
    for (o, v) in p.opts {
        let v = v.unwrap_or_default();
        match o {
            Opt::Json => g.opts.json = true,
            Opt::Pretty => g.opts.pretty = true,
            Opt::Stats => g.opts.stats = true,
            Opt::Verbose => g.opts.verbose = true,
            Opt::Force => {
                g.force = true;
                g.opts.force = true;
            }
            Opt::Version => g.version = true,
            // Interface names, IEC units and hex dumps change outputs cxu
            // does not have (netdev names, rates, regions); accepted so a
            // devlink command line runs unchanged.
            Opt::NoNiceNames | Opt::Iec | Opt::Hex => {}
            Opt::Help => g.rest = vec!["help".into()],
            Opt::Batch => g.batch = Some(v),
            Opt::Netns => {
                return Err(CliError::usage(format!(
                    "-N {v}: a VFIO function has no network namespace"
                )))
            }
            Opt::Pci => {
                g.source = Source::Pci(
                    v.parse()
                        .map_err(|e: cxu_hal::Error| CliError::usage(e.to_string()))?,
                )
            }
            Opt::Sysfs => g.sysfs = Some(v),
        }
    }
    Ok(g)
}

/// The tool: `args` without the program name. Output and error messages
/// go to `out`; returns the exit code (0 ok, 1 failed, as devlink).
pub fn run<S: AsRef<str>>(args: &[S], out: &mut dyn Write) -> i32 {
    let mut err = Vec::new();
    let code = run_with(args, out, &mut err);
    let _ = out.write_all(&err);
    code
}

/// [`run`] with error messages on their own stream.
pub fn run_with<S: AsRef<str>>(args: &[S], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    run_opts(args, Opts::default(), out, err)
}

/// main(): [`run_with`] on stdout and stderr, knowing whether stdout is a
/// terminal (`dev flash` draws its bar only there, as devlink).
pub fn main_with<S: AsRef<str>>(args: &[S]) -> i32 {
    use std::io::IsTerminal;
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let base = Opts {
        tty,
        ..Opts::default()
    };
    run_opts(args, base, &mut stdout.lock(), &mut std::io::stderr())
}

fn run_opts<S: AsRef<str>>(
    args: &[S],
    base: Opts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    let mut g = match parse_global(&args) {
        Ok(g) => g,
        Err(e) => return report(err, &e, None),
    };
    g.opts.tty = base.tty;
    if g.version {
        let _ = writeln!(out, "cxu utility, cxu-{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    // `cxu bench` probes its own device(s) with its own options.
    if g.rest.first().map(String::as_str) == Some("bench") {
        let pci = match &g.source {
            Source::Pci(a) => Some(*a),
            Source::Embedded(_) => None,
        };
        return crate::bench::cli(&g.rest, pci, out, err);
    }
    // One command while a monitor owns the function: it runs there.
    let one = g.batch.is_none()
        && g.rest.first().is_some_and(|w| {
            !matches!(
                pick(w, session::OBJECTS),
                Some("shell" | "monitor" | "bind" | "unbind" | "help") | None
            )
        });
    if let Some(path) = served::socket_path(&g.source).filter(|p| one && p.exists()) {
        if let Some(code) = served::forward(&path, &g.opts, &g.rest, out, err) {
            return code;
        }
    }
    let mut s = Session::new(g.source.clone(), g.opts);
    // One JSON writer for the whole invocation, as devlink's: documents
    // joined by ',', one newline at the end.
    s.join_json = true;
    if let Some(root) = &g.sysfs {
        s.sysfs_root = root.into();
    }
    let shell = g
        .rest
        .first()
        .is_some_and(|w| pick(w, session::OBJECTS) == Some("shell"));
    s.batch = g.batch.is_some() || shell;
    let code = if let Some(file) = &g.batch {
        batch(&mut s, file, g.force, out, err)
    } else if shell {
        let stdin = std::io::stdin();
        lines(&mut s, "stdin", &mut stdin.lock(), true, out, err)
    } else if g.rest.is_empty() {
        let _ = out.write_all(USAGE.as_bytes());
        0
    } else {
        match s.exec(&g.rest, out) {
            Ok(()) => 0,
            Err(e) => report(err, &e, None),
        }
    };
    if let Err(e) = s.close(out) {
        return report(err, &e, None);
    }
    code
}

fn report(err: &mut dyn Write, e: &CliError, at: Option<(&str, usize)>) -> i32 {
    let _ = match at {
        Some((f, n)) => writeln!(err, "Error: {e}\nCommand failed {f}:{n}"),
        None => writeln!(err, "Error: {e}"),
    };
    e.exit_code()
}

fn batch(
    s: &mut Session,
    file: &str,
    force: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if file == "-" {
        let stdin = std::io::stdin();
        return lines(s, "-", &mut stdin.lock(), force, out, err);
    }
    match std::fs::File::open(file) {
        Ok(f) => lines(s, file, &mut std::io::BufReader::new(f), force, out, err),
        Err(e) => report(
            err,
            &CliError::Io {
                what: format!("Cannot open file \"{file}\" for reading"),
                source: e,
            },
            None,
        ),
    }
}

/// Runs the commands of `input` ([`batch`] reads them as `do_batch`);
/// stops at the first failure unless `force`, as `devlink -b` does.
fn lines(
    s: &mut Session,
    name: &str,
    input: &mut dyn BufRead,
    force: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut code = 0;
    let mut r = batch::Reader::new(input);
    while let Some(cmd) = r.next_command() {
        let res = match cmd {
            Ok(l) if matches!(l.words[0].as_str(), "quit" | "exit") => break,
            Ok(l) => {
                let _ = out.flush();
                s.exec(&l.words, out).map_err(|e| (l.lineno, e))
            }
            Err(e) => Err(e),
        };
        if let Err((n, e)) = res {
            code = report(err, &e, Some((name, n)));
            if !force {
                return code;
            }
        }
    }
    code
}
