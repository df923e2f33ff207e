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
//! Files: [`session`] (device, options, monitor, argument helpers),
//! [`device`] (bring-up and removal), `cmd_dev` (dev, param, reload,
//! flash), `cmd_port`, `cmd_trap`, `cmd_health`, `cmd_misc` (rpc,
//! monitor, bind), [`jsontext`] (order-keeping JSON for `-p` and text).

mod cmd_dev;
mod cmd_health;
mod cmd_misc;
mod cmd_port;
mod cmd_probe;
mod cmd_trap;
pub mod device;
mod error;
pub mod jsontext;
pub mod session;

use std::io::{BufRead, Write};

pub use cmd_misc::{from_hex, to_hex};
pub use device::{Device, Source};
pub use error::CliError;
pub use session::{Opts, Session};

/// `cxu help`.
pub const USAGE: &str = "\
usage: cxu [OPTIONS] OBJECT COMMAND [ARGS]
       cxu [OPTIONS] -b FILE          run the commands of FILE ('-' = stdin) on one device
       cxu [OPTIONS] shell            read commands from stdin
options: -j/--json  -p/--pretty  -s/--statistics  -v/--verbose  --pci DDDD:BB:DD.F
         --force (with -b: go on after a failed command)  --sysfs ROOT (bind/unbind)
objects:
  probe                           what bring-up found: firmware, ports, features, queue
  dev show | info | reload [action driver_reinit|fw_activate] | flash FILE
  dev param show [name N] | set name N value V cmode runtime|driverinit|permanent
  param ...                       (same as dev param)
  port show [DEV/N] | set DEV/N state up|down
  trap show [trap N] | set trap N action drop|trap|mirror
  trap group show [group G] | set group G [action A] [policer P | nopolicer]
  trap policer show [policer P] | set policer P [rate R] [burst B]
  health show [reporter R] | diagnose reporter R | dump show|clear reporter R
         | recover reporter R | set reporter R [grace_period MS] [auto_recover true|false]
  monitor [all|dev|port|trap|trap-group|trap-policer|param|health|flash] [count N] [timeout MS]
  rpc [scope configuration|debug_read_only|debug_write|debug_write_full] [outlen N] HEX
  bind DDDD:BB:DD.F | unbind DDDD:BB:DD.F
  bench ...                       (command-queue benchmarks; `cxu bench --help`)
DEV is optional (one device per invocation): model/0 on the embedded model,
pci/DDDD:BB:DD.F with --pci.
";

struct Global {
    opts: Opts,
    source: Source,
    batch: Option<String>,
    force: bool,
    sysfs: Option<String>,
    rest: Vec<String>,
}

fn parse_global(args: &[String]) -> Result<Global, CliError> {
    let mut g = Global {
        opts: Opts::default(),
        source: Source::Embedded(cxu_qemu::Profile::default()),
        batch: None,
        force: false,
        sysfs: None,
        rest: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = |i: usize| {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| CliError::usage(format!("{a} needs a value")))
        };
        match a {
            "-j" | "--json" => g.opts.json = true,
            "-p" | "--pretty" => g.opts.pretty = true,
            "-s" | "--statistics" => g.opts.stats = true,
            "-v" | "--verbose" => g.opts.verbose = true,
            "-jp" | "-pj" => {
                g.opts.json = true;
                g.opts.pretty = true;
            }
            "--force" | "-force" => g.force = true,
            "--pci" => {
                g.source = Source::Pci(
                    val(i)?
                        .parse()
                        .map_err(|e: cxu_hal::Error| CliError::usage(e.to_string()))?,
                );
                i += 1;
            }
            "-b" | "--batch" => {
                g.batch = Some(val(i)?);
                i += 1;
            }
            "--sysfs" => {
                g.sysfs = Some(val(i)?);
                i += 1;
            }
            _ => {
                g.rest = args[i..].to_vec();
                break;
            }
        }
        i += 1;
    }
    Ok(g)
}

/// The tool: `args` without the program name. Output and error messages
/// go to `out`; returns the exit code (0 ok, 1 failed, 2 usage).
pub fn run<S: AsRef<str>>(args: &[S], out: &mut dyn Write) -> i32 {
    let mut err = Vec::new();
    let code = run_with(args, out, &mut err);
    let _ = out.write_all(&err);
    code
}

/// [`run`] with error messages on their own stream (main() uses stderr).
pub fn run_with<S: AsRef<str>>(args: &[S], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    let g = match parse_global(&args) {
        Ok(g) => g,
        Err(e) => return report(err, &e, None),
    };
    // `cxu bench` probes its own device(s) with its own options.
    if g.rest.first().map(String::as_str) == Some("bench") {
        let pci = match &g.source {
            Source::Pci(a) => Some(*a),
            Source::Embedded(_) => None,
        };
        return crate::bench::cli(&g.rest, pci, out, err);
    }
    let mut s = Session::new(g.source.clone(), g.opts);
    if let Some(root) = &g.sysfs {
        s.sysfs_root = root.into();
    }
    let code = if let Some(file) = &g.batch {
        batch(&mut s, file, g.force, out, err)
    } else if g.rest.first().map(String::as_str) == Some("shell") {
        let stdin = std::io::stdin();
        lines(&mut s, "stdin", &mut stdin.lock(), true, out, err)
    } else if g.rest.is_empty() {
        let _ = out.write_all(USAGE.as_bytes());
        2
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
        return lines(s, "stdin", &mut stdin.lock(), force, out, err);
    }
    match std::fs::File::open(file) {
        Ok(f) => lines(s, file, &mut std::io::BufReader::new(f), force, out, err),
        Err(e) => report(
            err,
            &CliError::Io {
                what: format!("opening {file}"),
                source: e,
            },
            None,
        ),
    }
}

/// Runs one command per line (`#` starts a comment); stops at the first
/// failure unless `force`, as `devlink -b` does.
fn lines(
    s: &mut Session,
    name: &str,
    input: &mut dyn BufRead,
    force: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut code = 0;
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                return report(
                    err,
                    &CliError::Io {
                        what: format!("reading {name}"),
                        source: e,
                    },
                    None,
                )
            }
        }
        n += 1;
        let words: Vec<String> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            continue;
        }
        if words[0] == "quit" || words[0] == "exit" {
            break;
        }
        let _ = out.flush();
        if let Err(e) = s.exec(&words, out) {
            code = report(err, &e, Some((name, n)));
            if !force {
                return code;
            }
        }
    }
    code
}
