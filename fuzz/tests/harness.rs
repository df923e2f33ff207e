//! The harnesses reach what they claim: hand-written scripts whose outcome is
//! known, so a harness that silently stopped exercising the driver or the
//! model (every answer refused, every command skipped) fails here.

use cxu_fuzz::hostile::{self, Answer, BlockAnswer, Cmd, Op, Outcomes, Script, Sig, Tamper};
use cxu_fuzz::model::{self, Command, Mutation, Ptr, Session, Step};
use cxu_fuzz::{events, rpc_queue};

fn honest() -> Answer {
    Answer {
        keep: false,
        delivery: 0,
        token: Tamper::Keep,
        outlen: Tamper::Keep,
        inline_out: [0; 16],
        status_ok: true,
        entry_sig: Sig::Good,
        blocks: vec![BlockAnswer {
            data: vec![0xAB; 512],
            token: Tamper::Keep,
            sig: Sig::Good,
            junk_ctrl: Some((0xDEAD_BEEF, 77)),
        }],
    }
}

fn cmd(outlen: u16, answer: Answer) -> Cmd {
    Cmd {
        manage_pages: false,
        inlen: 600,
        outlen,
        answer,
    }
}

#[test]
fn hostile_device_outcomes_are_classified() {
    let bad_block_token = Answer {
        blocks: vec![BlockAnswer {
            data: vec![],
            token: Tamper::Set(0),
            sig: Sig::Good,
            junk_ctrl: None,
        }],
        ..honest()
    };
    for checksum in [false, true] {
        let script = Script {
            log_cmdq_size: 5,
            checksum,
            ops: vec![
                Op::Exec(cmd(700, honest())),
                Op::Exec(cmd(
                    8,
                    Answer {
                        delivery: 3,
                        ..honest()
                    },
                )),
                Op::Exec(cmd(
                    8,
                    Answer {
                        token: Tamper::Set(0),
                        ..honest()
                    },
                )),
                Op::Exec(cmd(
                    8,
                    Answer {
                        outlen: Tamper::Set(9),
                        ..honest()
                    },
                )),
                Op::Exec(cmd(700, bad_block_token.clone())),
                Op::Exec(cmd(
                    8,
                    Answer {
                        keep: true,
                        ..honest()
                    },
                )),
                Op::Vector(u32::MAX),
                Op::LateReturn,
                Op::Pair(cmd(100, honest()), cmd(2000, honest()), true),
            ],
        };
        let o = hostile::run(script);
        assert_eq!(
            o,
            Outcomes {
                honest_ok: 3,
                tampered_refused: 4,
                kept_timed_out: 1,
                not_posted: 0
            },
            "checksum {checksum}"
        );
    }
    // A bad signature matters only with checksums on.
    let bad_sig = || Answer {
        entry_sig: Sig::Bad,
        ..honest()
    };
    for (checksum, refused) in [(false, 0), (true, 1)] {
        let o = hostile::run(Script {
            log_cmdq_size: 5,
            checksum,
            ops: vec![Op::Exec(cmd(8, bad_sig()))],
        });
        assert_eq!(o.tampered_refused, refused, "checksum {checksum}");
    }
}

#[test]
fn every_regular_slot_kept_then_returned() {
    // A 4-slot queue: 3 regular slots, all kept; the next command is refused
    // before the doorbell (all stalled); the device gives them back and the
    // queue recovers (run's final NOP and slot check).
    let keep = || {
        Op::Exec(cmd(
            8,
            Answer {
                keep: true,
                ..honest()
            },
        ))
    };
    let o = hostile::run(Script {
        log_cmdq_size: 2,
        checksum: false,
        ops: vec![
            keep(),
            keep(),
            keep(),
            keep(),
            Op::LateReturn,
            Op::Exec(cmd(8, honest())),
        ],
    });
    assert_eq!((o.kept_timed_out, o.not_posted, o.honest_ok), (3, 1, 1));
}

#[test]
fn a_queue_of_one_entry_is_refused() {
    let o = hostile::run(Script {
        log_cmdq_size: 0,
        checksum: false,
        ops: vec![Op::Exec(cmd(8, honest()))],
    });
    assert_eq!(o, Outcomes::default());
}

#[test]
fn model_session_with_hostile_steps_stays_usable() {
    let c = Command {
        slot: 3,
        opcode: 17, // ACCESS_REG
        raw_opcode: 0,
        op_mod: 1,
        body: vec![0x11; 1200],
        outlen: 600,
        mutations: vec![
            Mutation::InNext(1, Ptr::Block(1, 0)), // a loop in the input chain
            Mutation::OutPtr(Ptr::Raw(u64::MAX - 1023)),
        ],
        resign: true,
    };
    model::run(Session {
        bring_up: true,
        checksum: false,
        steps: vec![
            Step::Command(c),
            Step::Raw {
                slot: 31,
                entry: [0xFF; 64],
                in_ptr: Ptr::CmdPage(0),
                out_ptr: Ptr::Block(40, 8),
                sign: true,
            },
            Step::Doorbell(u32::MAX),
            Step::Bar0Write(0x1FC, 0xFFFF_FFFF),
            Step::Reset,
        ],
    });
}

/// `eq_page_requests`: a flood with requests for other functions and a
/// release-all in the middle; the harness's own expectation is checked
/// inside `run` (two requests wait: the release-all and the last give).
#[test]
fn page_request_flood_is_coalesced() {
    let page = |func_id, release_all, num_pages| events::Event::Page {
        ec: false,
        release_all,
        func_id,
        num_pages,
    };
    let mut evs: Vec<_> = (1..=1000).map(|n| page(0, false, n)).collect();
    evs.push(page(5, true, -3));
    evs.push(page(0, true, -3));
    evs.extend((1..=1000).map(|n| page(0, false, -n)));
    evs.push(events::Event::Raw(vec![0xFF; 64]));
    for cap in [false, true] {
        events::run(events::Events {
            release_all_cap: cap,
            events: evs.clone(),
        });
    }
}

/// `rpc_queue`: refused, tainting, too-large and removed calls through a
/// probed device; `run` checks each against the model's counters.
#[test]
fn rpc_queue_session_reaches_the_device() {
    let access_reg = cxu_fuzz::simple::OPCODES
        .iter()
        .position(|o| *o == cxu_hal::ifc::Opcode::ACCESS_REG)
        .expect("ACCESS_REG is laid out") as u8;
    let call = |scope, op_mod, register, out_units, remove_before| rpc_queue::Call {
        scope,
        opcode: access_reg,
        op_mod,
        register,
        raw_register: 0,
        body: vec![0; 32],
        out_units,
        remove_before,
    };
    use rpc_queue::Outcome::*;
    let outcomes = rpc_queue::run(rpc_queue::Session {
        calls: vec![
            // HTGT write at configuration: refused.
            call(0, 0, 1, 1, false),
            // At debug_write_full: runs, counted.
            call(3, 0, 1, 1, false),
            // A read larger than the pool: refused up front.
            call(1, 1, 6, 512, false),
            // Removed: refused.
            call(1, 1, 6, 1, true),
        ],
    });
    assert_eq!(outcomes, [NotAllowed, Ran, TooLarge, Removed]);
}
