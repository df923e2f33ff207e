//! The `cxu` binary itself, as a subprocess: stdout, stderr and exit code.

use std::io::Write;
use std::process::{Command, Stdio};

fn cxu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cxu"))
}

#[test]
fn one_command_prints_json_on_stdout() {
    let o = cxu()
        .args(["-j", "trap", "policer", "show", "policer", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"trap_policer\":{\"model/0\":[{\"policer\":2,\"rate\":10000,\"burst\":256}]}}\n"
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = cxu()
        .args(["trap", "set", "model/0", "trap", "nope", "action", "drop"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: not found: trap \"nope\" (errno 2)\n"
    );
}

#[test]
fn shell_keeps_one_device_across_commands() {
    let mut child = cxu()
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"trap set model/0 trap blackhole_route action trap\nbogus\ntrap show trap blackhole_route\nquit\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "model/0:\n  name blackhole_route type drop generic true action trap group l3_drops\n"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Error: Object \"bogus\" not found"), "{err}");
    assert!(err.contains("Command failed stdin:2"), "{err}");
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed command makes the shell fail, as devlink -b"
    );
}

#[test]
fn monitor_closes_its_document_on_sigint() {
    use std::io::Read;
    let mut child = cxu()
        .args(["monitor", "-j"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The opening is written once SIGINT is caught.
    let mut open = [0u8; 8];
    stdout.read_exact(&mut open).unwrap();
    assert_eq!(&open, b"{\"mon\":[");
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(rest, "]}\n");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}
