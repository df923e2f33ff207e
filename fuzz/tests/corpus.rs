//! The kept corpus (`fuzz/corpus/<target>/`) replayed on stable Rust through
//! the same functions the fuzz targets call: every seed and every former
//! crasher must pass. `cargo test` in `fuzz/` (see `scripts/fuzz`).
//!
//! `write_seeds` (ignored) regenerates the hand-made seeds: valid encodings
//! of each layout, so the fuzzers start from inputs that pass the first checks.

use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use cxu_fuzz::{events, hostile, model, rpc, rpc_queue, simple};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut v: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = fs::read(&p).expect("corpus file");
            (p, b)
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "{target}: empty corpus");
    v
}

/// As libfuzzer-sys builds a typed input from bytes.
fn typed<T: for<'a> Arbitrary<'a>>(data: &[u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// Runs every input of `target`'s corpus; `run` says whether the input was
/// used (typed targets skip bytes that do not make a value, as libFuzzer does).
fn replay(target: &str, run: impl Fn(&[u8]) -> bool) {
    let inputs = corpus(target);
    let mut used = 0;
    for (path, data) in &inputs {
        eprintln!("{target}: {}", path.display());
        used += usize::from(run(data));
    }
    // A corpus the harness no longer reads (its input type changed) is stale.
    assert!(
        used * 2 >= inputs.len(),
        "{target}: only {used} of {} inputs make an input value",
        inputs.len()
    );
}

fn bytes(run: fn(&[u8])) -> impl Fn(&[u8]) -> bool {
    move |d| {
        run(d);
        true
    }
}

#[test]
fn ifc_decode_corpus() {
    replay("ifc_decode", bytes(simple::ifc_decode));
}

#[test]
fn eqe_corpus() {
    replay("eqe", bytes(simple::eqe));
}

#[test]
fn caps_corpus() {
    replay("caps", bytes(simple::caps));
}

#[test]
fn iseg_health_corpus() {
    replay("iseg_health", bytes(simple::iseg_health));
}

#[test]
fn cmd_output_corpus() {
    replay("cmd_output", |d| {
        typed::<hostile::Script>(d).map(hostile::run).is_some()
    });
}

#[test]
fn model_cmd_corpus() {
    replay("model_cmd", |d| {
        typed::<model::Session>(d).map(model::run).is_some()
    });
}

#[test]
fn rpc_input_corpus() {
    replay("rpc_input", |d| {
        typed::<rpc::Call>(d).map(rpc::run).is_some()
    });
}

#[test]
fn eq_page_requests_corpus() {
    replay("eq_page_requests", |d| {
        typed::<events::Events>(d).map(events::run).is_some()
    });
}

#[test]
fn rpc_queue_corpus() {
    replay("rpc_queue", |d| {
        typed::<rpc_queue::Session>(d).map(rpc_queue::run).is_some()
    });
}

/// Regenerates the hand-made seeds (`cargo test -- --ignored write_seeds`).
#[test]
#[ignore = "writes files into fuzz/corpus"]
fn write_seeds() {
    use cxu_hal::ifc::caps::HcaCap;
    use cxu_hal::ifc::cmd_entry::CmdEntry;
    use cxu_hal::ifc::commands::{access_reg, eq, hca, pages};
    use cxu_hal::ifc::eq::{EqContext, EventMask};
    use cxu_hal::ifc::eqe::{self, Eqe, EventType};
    use cxu_hal::ifc::mailbox::{self, BlockCtrl, BLOCK_SIZE};
    use cxu_hal::ifc::regs::{hpkt, htgt, paos, qpcr, RegisterId};
    use cxu_hal::ifc::Opcode;
    use cxu_hal::PciFunction;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let d = root.join(target);
        fs::create_dir_all(&d).expect("mkdir");
        fs::write(d.join(format!("seed-{name}")), data).expect("write seed");
    };
    let sel = |op: Opcode| -> u8 {
        simple::OPCODES
            .iter()
            .position(|o| *o == op)
            .map_or(0xFF, |i| i as u8)
    };
    let with = |s: u8, b: &[u8]| [&[s][..], b].concat();

    // ifc_decode: byte 0 selects the planted opcode (0xFF: none).
    let e = CmdEntry::new_request([7; 16], 0x110, 0x20_0000, 0x20, 0x20_0400, 9).encode();
    put("ifc_decode", "cmd-entry", &with(0xFF, &e));
    let mut blk = vec![0x5Au8; BLOCK_SIZE];
    BlockCtrl {
        next: 0x20_0400,
        block_num: 1,
        token: 9,
        ctrl_sig: 0,
        sig: 0,
    }
    .encode_into(&mut blk)
    .expect("block");
    mailbox::sign_block(&mut blk).expect("sign");
    put("ifc_decode", "mailbox-block", &with(0xFF, &blk));
    let ctx = EqContext {
        log_eq_size: 7,
        uar_page: 1,
        intr: 0,
        ..Default::default()
    };
    let ceq = eq::CreateEqIn {
        ctx,
        events: EventMask::of(&[EventType::CMD]),
        pas: vec![0x30_0000, 0x30_1000],
    };
    put(
        "ifc_decode",
        "create-eq",
        &with(sel(Opcode::CREATE_EQ), &ceq.encode().expect("eq")),
    );
    let mp = pages::ManagePagesIn::give(0, vec![0x40_0000, 0x40_1000, 0x40_2000]).expect("give");
    put(
        "ifc_decode",
        "manage-pages",
        &with(sel(Opcode::MANAGE_PAGES), &mp.encode().expect("mp")),
    );
    let init = hca::InitHcaIn {
        sw_vhca_id: 3,
        sw_owner_id: [1, 2, 3, 4],
    }
    .encode()
    .expect("init");
    put(
        "ifc_decode",
        "init-hca",
        &with(sel(Opcode::INIT_HCA), &init),
    );
    let h = hpkt::Hpkt {
        action: hpkt::TrapAction::from_raw(1).expect("action"),
        trap_group: 2,
        trap_id: 0x40,
        ctrl: 0,
    };
    let reg = access_reg::AccessRegIn {
        op: access_reg::RegOp::Write,
        register_id: RegisterId::HPKT,
        argument: 0,
        data: h.encode().expect("hpkt").to_vec(),
    };
    put(
        "ifc_decode",
        "access-reg-hpkt",
        &with(sel(Opcode::ACCESS_REG), &reg.encode()),
    );
    put(
        "ifc_decode",
        "htgt",
        &with(0xFF, &htgt::Htgt::default().encode().expect("htgt")),
    );
    put(
        "ifc_decode",
        "qpcr",
        &with(
            0xFF,
            &qpcr::Qpcr {
                pid: 3,
                cir: 1000,
                cbs: 10,
                ..Default::default()
            }
            .encode()
            .expect("qpcr"),
        ),
    );
    put(
        "ifc_decode",
        "paos",
        &with(0xFF, &paos::Paos::default().encode().expect("paos")),
    );

    // eqe: 64 bytes of EQE, then ci (LE32) and log_size.
    let tail = [3u8, 1, 0, 0, 7];
    let evs = [
        ("cmd", Eqe::cmd_completion(0x8000_0001)),
        (
            "pages",
            Eqe::page_request_event(eqe::PageRequest {
                ec_function: false,
                release_all: false,
                func_id: 0,
                num_pages: -5,
            }),
        ),
        (
            "port",
            Eqe::port_change_event(eqe::port_change::ACTIVE, 1).expect("port"),
        ),
        ("comp", Eqe::completion_event(0x12).expect("comp")),
    ];
    for (name, e) in evs {
        put("eqe", name, &[&e.encode()[..], &tail].concat());
    }

    // caps: op_mod byte, then the general capabilities of the model's profile.
    let f = std::sync::Arc::new(cxu_qemu::LocalFunction::new(cxu_qemu::Profile::default()));
    let mut c = HcaCap::zeroed();
    c.set_log_max_eq(4).expect("cap");
    c.set_num_ports(1).expect("cap");
    put("caps", "small", &with(1, c.as_bytes()));

    // iseg_health: the model's init segment as a driver reads it.
    let bar = f.bar(0).expect("bar");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let seg: Vec<u8> = (0..0x240u64 / 4)
        .flat_map(|i| bar.read32_be(4 * i).to_be_bytes())
        .collect();
    put("iseg_health", "model", &seg);
    f.control().fatal_error(0x07);
    let seg: Vec<u8> = (0..0x240u64 / 4)
        .flat_map(|i| bar.read32_be(4 * i).to_be_bytes())
        .collect();
    put("iseg_health", "model-fatal", &seg);
}
