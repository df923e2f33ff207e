//! A monitor that serves: VFIO lets one process own a function, so while
//! `cxu --pci BDF monitor` runs, another `cxu --pci BDF COMMAND` could not
//! open it. The running monitor listens on a Unix socket named after the
//! function, and a later invocation of one command sends its command line
//! there instead; the monitor runs it on its device (and so sees what it
//! changes, as devlink's monitor sees other devlink processes' changes) and
//! sends back the output and exit code.
//!
//! The socket is `$CXU_RUN_DIR/pci-BDF.sock` (`/run/cxu` by default); on the
//! embedded model, which is the process's own, only when `CXU_RUN_DIR` is set
//! (`model.sock`). Protocol: one JSON request line
//! `{"opts":{...},"words":[...]}`, one JSON answer `{"out":..,"err":..,"code":N}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::device::Source;
use super::session::{pick, Opts, Session, OBJECTS};
use super::CliError;

/// How long the monitor waits for a connected client's request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The output options a client sends (its `-j -p -s -v -f`).
#[derive(Debug, Serialize, Deserialize)]
struct ClientOpts {
    json: bool,
    pretty: bool,
    stats: bool,
    verbose: bool,
    force: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    opts: ClientOpts,
    words: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    out: String,
    err: String,
    code: i32,
}

/// The control socket of `source`, if it has one.
pub(crate) fn socket_path(source: &Source) -> Option<PathBuf> {
    let dir = std::env::var_os("CXU_RUN_DIR").map(PathBuf::from);
    match source {
        Source::Pci(a) => Some(
            dir.unwrap_or_else(|| PathBuf::from("/run/cxu"))
                .join(format!("pci-{a}.sock")),
        ),
        Source::Embedded(_) => dir.map(|d| d.join("model.sock")),
    }
}

/// The listening socket of a running monitor; the file goes with it.
pub(crate) struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Listens at `path` (a stale socket there, whose owner is gone, is
    /// replaced; a live one is an error: another monitor serves already).
    pub(crate) fn bind(path: &Path) -> Result<Server, CliError> {
        let io = |what: String| move |source| CliError::Io { what, source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(CliError::usage(format!(
                    "another cxu monitor already serves this function ({})",
                    path.display()
                )));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener =
            UnixListener::bind(path).map_err(io(format!("listening on {}", path.display())))?;
        listener
            .set_nonblocking(true)
            .map_err(io(format!("listening on {}", path.display())))?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Runs the commands of the clients waiting now, each on `s`.
    pub(crate) fn serve(&self, s: &mut Session) {
        while let Ok((conn, _)) = self.listener.accept() {
            if let Err(e) = answer(s, conn) {
                tracing::warn!("a served command's client: {e}");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn answer(s: &mut Session, conn: UnixStream) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    let a = match serde_json::from_str::<Request>(&line) {
        Ok(r) => run(s, &r),
        Err(e) => Answer {
            out: String::new(),
            err: format!("Error: bad request: {e}\n"),
            code: 1,
        },
    };
    let mut w = &conn;
    w.write_all(
        serde_json::to_string(&a)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )
}

/// One client's command on the monitor's session, with the client's output
/// options and a JSON writer of its own.
fn run(s: &mut Session, r: &Request) -> Answer {
    let saved = s.opts;
    s.opts = Opts {
        json: r.opts.json,
        pretty: r.opts.pretty,
        stats: r.opts.stats,
        verbose: r.opts.verbose,
        force: r.opts.force,
        tty: false,
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let refused = r.words.first().and_then(|w| pick(w, OBJECTS)) == Some("monitor");
    let code = if refused {
        super::report(
            &mut err,
            &CliError::usage("a monitor runs already: this command would wait inside it"),
            None,
        )
    } else {
        s.exec_served(&r.words, &mut out)
            .map_or_else(|e| super::report(&mut err, &e, None), |()| 0)
    };
    s.opts = saved;
    Answer {
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
        code,
    }
}

/// Sends `words` to the monitor serving at `path`, if one does: its answer
/// printed and its exit code, or `None` (nobody listens) to run here.
pub(crate) fn forward(
    path: &Path,
    opts: &Opts,
    words: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<i32> {
    let mut conn = UnixStream::connect(path).ok()?;
    let req = Request {
        opts: ClientOpts {
            json: opts.json,
            pretty: opts.pretty,
            stats: opts.stats,
            verbose: opts.verbose,
            force: opts.force,
        },
        words: words.to_vec(),
    };
    let sent = serde_json::to_string(&req)
        .map_err(std::io::Error::other)
        .and_then(|mut l| {
            l.push('\n');
            conn.write_all(l.as_bytes())?;
            conn.shutdown(std::net::Shutdown::Write)
        });
    let mut text = String::new();
    let got = sent.and_then(|()| conn.read_to_string(&mut text).map(|_| ()));
    match got.map(|()| serde_json::from_str::<Answer>(&text)) {
        Ok(Ok(a)) => {
            let _ = out.write_all(a.out.as_bytes());
            let _ = err.write_all(a.err.as_bytes());
            Some(a.code)
        }
        Ok(Err(e)) => {
            let _ = writeln!(
                err,
                "Error: the monitor at {} answered badly: {e}",
                path.display()
            );
            Some(1)
        }
        Err(e) => {
            let _ = writeln!(err, "Error: the monitor at {}: {e}", path.display());
            Some(1)
        }
    }
}
