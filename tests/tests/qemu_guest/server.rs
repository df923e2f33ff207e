//! The `cxu-vfio-user` server of a guest test: started on a socket of its
//! own, its log and its model-state lines (stdout) kept in files for the
//! checks and for failures, killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server process, killed and reaped on drop; its log is kept for failures.
pub struct Server {
    child: Child,
    /// Holds the socket, the log and the state lines; removed after the child is reaped.
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    log: PathBuf,
    /// Its stdout: the model-state lines.
    states: PathBuf,
    /// Its stdin: commands to the model while the guest runs (`link 1 down`).
    stdin: Option<std::process::ChildStdin>,
}

impl Server {
    /// Starts the server with `args`, its socket, log and state lines in a
    /// directory of its own (removed on drop).
    pub fn start(bin: &Path, args: &[&str]) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("cxu-vfu-")
            .tempdir()
            .expect("server temp dir");
        let socket = dir.path().join("server.sock");
        let log = dir.path().join("server.log");
        let states = dir.path().join("server.states");
        let mut child = Command::new(bin)
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&states).expect("server state file"))
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("start cxu-vfio-user");
        let stdin = child.stdin.take();
        let mut s = Server {
            child,
            _dir: dir,
            socket,
            log,
            states,
            stdin,
        };
        let t = Instant::now();
        while !s.socket.exists() {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!(
                    "cxu-vfio-user exited ({status}) before listening:\n{}",
                    s.log_text()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "cxu-vfio-user not listening after 10 s:\n{}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// Waits until the server has printed its state at the connection's
    /// close (QEMU has exited by now), bounded: a server that never does is
    /// reported by the checks on its state lines.
    pub fn wait_closed(&self) {
        let t = Instant::now();
        while !self
            .state_text()
            .contains(r#""reason":"connection closed""#)
            && t.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one command line to the server's control input (`control.rs`).
    // Only some of the test files that include this module drive the model.
    #[allow(dead_code)]
    pub fn control(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("the server's stdin");
        writeln!(stdin, "{line}").expect("write to the server's stdin");
        stdin.flush().expect("flush the server's stdin");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn state_text(&self) -> String {
        std::fs::read_to_string(&self.states).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
