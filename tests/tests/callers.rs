//! Hostile callers (issue 9, item 5): the RPC channel's scopes and
//! allow-list at every scope, and the `cxu` tool fed malformed arguments
//! and malformed firmware images. Every refusal is a clear error, and the
//! device is checked through the model's `Control` handle to be exactly as
//! it was before.

mod common;

use std::sync::Arc;

use common::{fast_profile, short_config, Stack};
use cxu_driver::rpc::{RpcError, Scope};
use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::{CmdStatus, InHeader, Opcode};
use cxu_qemu::model::{Control, FLASH_IMAGE_MAGIC};
use cxu_qemu::LocalFunction;
use cxu_tool::cli::Session;

const SCOPES: [Scope; 4] = [
    Scope::Configuration,
    Scope::DebugReadOnly,
    Scope::DebugWrite,
    Scope::DebugWriteFull,
];

fn msg(op: Opcode, op_mod: u16, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    InHeader::new(op, op_mod)
        .encode_into(&mut m)
        .expect("header fits");
    m
}

fn paos_read() -> Vec<u8> {
    AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::PAOS,
        argument: 0,
        data: vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    }
    .encode()
}

/// Every scope against commands of each class: the lowest scope that may
/// run each one is written here from the fwctl rules (cumulative scopes;
/// queries at configuration or debug_read_only; register writes are
/// configuration, reads debug_read_only; commands that change the HCA or
/// allocate firmware objects never), not taken from the driver's table.
/// Refused commands never reach the device; allowed ones reach it once.
#[test]
fn rpc_scopes_and_allow_list_at_every_scope() {
    let s = Stack::up(
        Arc::new(LocalFunction::new(fast_profile())),
        short_config(std::time::Duration::from_secs(2)),
    )
    .expect("stack");
    let h = s.rpc.open().expect("open");
    let cases: Vec<(&str, Vec<u8>, usize, Option<Scope>)> = vec![
        (
            "QUERY_ADAPTER",
            msg(Opcode::QUERY_ADAPTER, 0, 16),
            0x110,
            Some(Scope::Configuration),
        ),
        (
            "NOP",
            msg(Opcode::NOP, 0, 16),
            16,
            Some(Scope::DebugReadOnly),
        ),
        (
            "QUERY_ISSI",
            msg(Opcode::QUERY_ISSI, 0, 16),
            0x70,
            Some(Scope::DebugReadOnly),
        ),
        ("PAOS read", paos_read(), 32, Some(Scope::DebugReadOnly)),
        ("INIT_HCA", msg(Opcode::INIT_HCA, 0, 16), 16, None),
        ("TEARDOWN_HCA", msg(Opcode::TEARDOWN_HCA, 0, 16), 16, None),
        ("DISABLE_HCA", msg(Opcode::DISABLE_HCA, 0, 16), 16, None),
        ("SET_HCA_CAP", msg(Opcode::SET_HCA_CAP, 0, 16), 16, None),
        ("MANAGE_PAGES", msg(Opcode::MANAGE_PAGES, 1, 16), 16, None),
        ("CREATE_EQ", msg(Opcode::CREATE_EQ, 0, 16), 16, None),
        ("DESTROY_EQ", msg(Opcode::DESTROY_EQ, 0, 16), 16, None),
        ("ALLOC_UAR", msg(Opcode::ALLOC_UAR, 0, 16), 16, None),
        ("unknown 0x7ff", msg(Opcode(0x7FF), 0, 16), 16, None),
    ];
    let hca = s.control.hca_state();
    for (name, input, outlen, needs) in &cases {
        for scope in SCOPES {
            let before = s.control.counters().commands_executed;
            let r = h.rpc(scope, input, *outlen);
            let after = s.control.counters().commands_executed;
            match needs {
                Some(min) if scope >= *min => {
                    let out = r.unwrap_or_else(|e| panic!("{name} at {scope:?}: {e}"));
                    let hdr = OutHeader::decode(&out).expect("output header");
                    assert_eq!(hdr.status, CmdStatus::OK, "{name} at {scope:?}");
                    assert_eq!(after, before + 1, "{name} at {scope:?} ran once");
                }
                _ => {
                    let e = r.expect_err(&format!("{name} at {scope:?} was allowed"));
                    match &e {
                        RpcError::NotAllowed { needs: n, .. } => assert_eq!(n, needs, "{name}"),
                        other => panic!("{name} at {scope:?}: {other}"),
                    }
                    assert_eq!(e.errno(), 74, "EBADMSG");
                    let text = e.to_string();
                    assert!(text.contains(scope.as_str()), "{text}");
                    match needs {
                        Some(min) => assert!(text.ends_with(&format!("it needs {}", min.as_str()))),
                        None => assert!(text.ends_with("never allowed over RPC"), "{text}"),
                    }
                    assert_eq!(after, before, "{name} at {scope:?} reached the device");
                }
            }
        }
    }
    assert_eq!(s.control.hca_state(), hca, "no RPC changed the HCA state");
    assert!(s.control.eqs().len() == 1 && s.control.uars().len() == 1);
    let r = s.remove().expect("remove");
    assert_eq!((r.pages.outstanding, r.dma.mapped_regions), (0, 0));
    // After removal the handle stays valid and says so.
    assert!(matches!(
        h.rpc(Scope::DebugWriteFull, &msg(Opcode::NOP, 0, 16), 16),
        Err(RpcError::DeviceRemoved)
    ));
}

/// Everything a caller could change on the model, to compare before/after.
#[derive(Debug, PartialEq)]
struct DeviceState {
    traps: Vec<Option<String>>,
    groups: Vec<Option<String>>,
    policers: Vec<Option<String>>,
    port: Option<String>,
    flash: String,
    hca: String,
    pages: usize,
}

fn state(c: &Control) -> DeviceState {
    DeviceState {
        traps: (0..=devlink_core::trap::GENERIC_TRAP_ID_MAX + 4)
            .map(|i| c.trap(i).map(|t| format!("{t:?}")))
            .collect(),
        groups: (0..16)
            .map(|g| c.trap_group(g).map(|x| format!("{x:?}")))
            .collect(),
        policers: (0..16)
            .map(|p| c.policer(p).map(|x| format!("{x:?}")))
            .collect(),
        port: c.port(1).map(|p| format!("{p:?}")),
        // The MCC error code is left out: it is where the device reports
        // why it rejected an image, not state a caller changed.
        flash: {
            let f = c.flash();
            format!(
                "{:?} running {:#x} pending {:?}",
                f.state, f.running, f.pending
            )
        },
        hca: format!("{:?}", c.hca_state()),
        pages: c.pages().len(),
    }
}

fn run(s: &mut Session, line: &str) -> Result<String, (String, i32)> {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let mut out = Vec::new();
    let r = s.exec(&words, &mut out);
    let text = String::from_utf8(out).expect("utf-8 output");
    r.map(|()| text)
        .map_err(|e| (e.to_string(), if e.is_usage() { 2 } else { 1 }))
}

fn image_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(f.path(), bytes).expect("write");
    f
}

/// Malformed command lines: each is refused with a message naming what is
/// wrong, and neither the device's state nor its command count moves.
#[test]
fn malformed_cli_arguments_are_refused_and_change_nothing() {
    let mut s = Session::embedded(fast_profile()).expect("session");
    let c = s.control().expect("control");
    let before = state(&c);
    // (line, a word the error must contain, 2 for a malformed line
    // (`CliError::is_usage`), 1 for a well-formed one the driver or the
    // device refuses; the tool exits 1 for both, as devlink)
    let cases: &[(&str, &str, i32)] = &[
        ("", "no command", 2),
        ("frobnicate", "not found", 2),
        (
            "trap set model/0 trap source_mac_is_multicast action explode",
            "explode",
            2,
        ),
        ("trap set model/0 trap source_mac_is_multicast", "action", 2),
        (
            "trap set model/0 trap no_such_trap action trap",
            "no_such_trap",
            1,
        ),
        (
            "trap set model/0 trap source_mac_is_multicast action",
            "action",
            2,
        ),
        (
            "trap set -j trap stp action drop",
            "options go on the command line",
            2,
        ),
        (
            "trap set model/0 trap stp action drop color red",
            "color",
            2,
        ),
        ("trap group set model/0 group l2_drops policer 99", "99", 1),
        (
            "trap group set model/0 group no_such_group action drop",
            "no_such_group",
            1,
        ),
        (
            "trap group set model/0 group l2_drops policer abc",
            "abc",
            2,
        ),
        ("trap policer set model/0 policer 1 rate lots", "lots", 2),
        (
            "trap policer set model/0 policer 1 rate 99999999999999999999999",
            "99999999999999999999999",
            2,
        ),
        ("trap policer set model/0 policer 1 burst 0x", "0x", 2),
        ("trap policer set model/0 policer 42 rate 1000", "42", 1),
        ("port set model/0/1 state sideways", "sideways", 2),
        ("port set model/0/9 state down", "9", 1),
        ("port set other/0/1 state down", "other/0", 2),
        (
            "dev reload model/0 action reboot_everything",
            "reboot_everything",
            2,
        ),
        ("dev reload model/0 limit forever", "forever", 2),
        (
            "dev param set model/0 name no_such_param value 1 cmode runtime",
            "no_such_param",
            1,
        ),
        (
            "dev param set model/0 name counters_clear_on_read value maybe cmode runtime",
            "maybe",
            2,
        ),
        ("dev flash model/0", "file", 2),
        ("dev flash file fw.bin", "Devlink identification", 2),
        ("trap set trap stp action drop", "Devlink identification", 2),
        (
            "dev flash model/0 file /nonexistent/cxu/fw.bin",
            "cannot read /nonexistent/cxu/fw.bin",
            1,
        ),
        ("rpc scope root 0x0", "root", 2),
        ("rpc scope debug_write_full zz", "zz", 2),
        ("rpc scope debug_write_full 0102", "input", 1),
        (
            "rpc scope debug_write_full outlen 2 010d0000000000000000000000000000",
            "output",
            1,
        ),
        (
            "rpc scope configuration 01020000000000000000000000000000",
            "never allowed",
            1,
        ),
        (
            "rpc scope configuration 080d0000000000000000000000000000",
            "debug_read_only",
            1,
        ),
    ];
    let cmds = c.counters().commands_executed;
    for (line, word, want) in cases {
        match run(&mut s, line) {
            Ok(out) => panic!("`{line}` succeeded: {out}"),
            Err((e, code)) => {
                assert!(
                    e.contains(word),
                    "`{line}`: {e:?} does not mention {word:?}"
                );
                assert_eq!(code, *want, "`{line}`: {e}");
            }
        }
        assert_eq!(state(&c), before, "`{line}` changed the device");
    }
    assert_eq!(
        c.counters().commands_executed,
        cmds,
        "a refused command line reached the device"
    );
    // The session still works.
    run(
        &mut s,
        "trap set model/0 trap source_mac_is_multicast action trap",
    )
    .expect("good line");
    assert_ne!(state(&c), before);
}

/// Malformed firmware images: refused with a message that says why, the
/// update handle released, no image pending, the running version kept.
#[test]
fn malformed_firmware_images_are_refused_and_change_nothing() {
    let mut s = Session::embedded(fast_profile()).expect("session");
    let c = s.control().expect("control");
    let before = state(&c);
    let mut huge = FLASH_IMAGE_MAGIC.to_vec();
    huge.extend_from_slice(&0x1028_0001u32.to_be_bytes());
    huge.resize((1 << 20) + 1, 0xAB);
    let mut wrong_magic = b"CXFV".to_vec();
    wrong_magic.extend_from_slice(&0x1028_0001u32.to_be_bytes());
    wrong_magic.extend_from_slice(&[0u8; 64]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "0 bytes"),
        ("text", b"this is not firmware".to_vec(), "REJECTED"),
        ("magic only", FLASH_IMAGE_MAGIC.to_vec(), "REJECTED"),
        ("wrong magic", wrong_magic, "REJECTED"),
        ("larger than the component", huge, "bytes"),
    ];
    for (what, bytes, word) in &cases {
        let f = image_file(bytes);
        let line = format!("dev flash model/0 file {}", f.path().display());
        match run(&mut s, &line) {
            Ok(out) => panic!("{what} image accepted: {out}"),
            Err((e, code)) => {
                assert!(e.contains(word), "{what}: {e:?} does not mention {word:?}");
                assert_ne!(code, 0);
            }
        }
        assert_eq!(state(&c), before, "{what} image changed the device");
    }
    // A good image still goes through: nothing was left locked.
    let mut good = FLASH_IMAGE_MAGIC.to_vec();
    good.extend_from_slice(&0x1028_0001u32.to_be_bytes());
    good.extend_from_slice(&[7u8; 300]);
    let f = image_file(&good);
    run(
        &mut s,
        &format!("dev flash model/0 file {}", f.path().display()),
    )
    .expect("good image");
    assert_eq!(c.flash().pending, Some(0x1028_0001));
}
