//! The command transport: mailbox chains in both directions, every delivery
//! check the hardware makes, signatures when checksums are on, several
//! commands at once, slow commands overlapping.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use cxu_hal::ifc::cmd_entry::{self as ce};
use cxu_hal::ifc::mailbox as mb;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_qemu::model::{HcaState, Profile};

const WAIT: Duration = Duration::from_secs(5);

fn enabled() -> Harness {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    h
}

/// Posts `p` and returns its delivery status; the firmware must not have run it.
fn delivery(h: &Harness, p: &Prepared) -> DeliveryStatus {
    let before = h.ctl.counters();
    h.post(p);
    let c = h
        .wait(p, WAIT)
        .expect("rejected command must still complete");
    let after = h.ctl.counters();
    assert_eq!(
        after.commands_executed, before.commands_executed,
        "firmware ran a rejected command"
    );
    assert_eq!(after.delivery_errors, before.delivery_errors + 1);
    c.ds
}

#[test]
fn multi_block_chains_in_both_directions() {
    let h = enabled();
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 200 * 4096);
    // 16 + 8 * 200 bytes of input: 4 input blocks.
    let p = {
        let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 8 * 200);
        m[0x0C..0x10].copy_from_slice(&200u32.to_be_bytes());
        for i in 0..200 {
            m[16 + 8 * i..24 + 8 * i].copy_from_slice(&pages.addr(i * 4096).to_be_bytes());
        }
        h.prepare(31, &m, 16)
    };
    assert_eq!(p.in_blocks.len(), 4);
    h.post(&p);
    h.wait(&p, WAIT).unwrap().ok();
    let held = h.ctl.pages();
    assert_eq!(held.len(), 200);
    assert_eq!(
        held[199],
        pages.addr(199 * 4096),
        "the last entry of the last block arrived"
    );

    // QUERY_HCA_CAP: 4112 bytes of output in 8 blocks, each stamped with the token.
    let p = h.prepare(0, &msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    assert_eq!(p.out_blocks.len(), 8);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    c.ok();
    for (i, b) in c.out_blocks.iter().enumerate() {
        let ctrl = mb::BlockCtrl::decode(b).unwrap();
        assert_eq!((ctrl.token, ctrl.block_num), (p.entry[0x3C], i as u32));
    }
    // num_ports sits in the first output block (cap dword 0x34 -> message 0x44).
    assert_eq!(c.out[0x47], 1);
}

#[test]
fn take_output_spans_blocks() {
    let h = enabled();
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 150 * 4096);
    for i in 0..3 {
        h.give_pages(&pages, i * 50, 50).ok();
    }
    let (c, got) = h.take_pages(150);
    c.ok();
    assert_eq!(c.be32(0x08), 150);
    let mut got = got;
    got.sort_unstable();
    let want: Vec<u64> = (0..150).map(|i| pages.addr(i * 4096)).collect();
    assert_eq!(got, want);
}

#[test]
fn delivery_checks() {
    let h = enabled();
    let nop = msg(Opcode::NOP, 0, 16);
    let big = msg(Opcode::QUERY_ADAPTER, 0, 16 + 3 * 512);

    let mut p = h.prepare(0, &nop, 16);
    p.entry[0] = 6;
    ce::sign(&mut p.entry);
    assert_eq!(delivery(&h, &p), DeliveryStatus::BAD_TYPE);

    let mut p = h.prepare(0, &big, 16);
    p.in_blocks[1].bytes[0x23D] ^= 0x11;
    assert_eq!(delivery(&h, &p), DeliveryStatus::TOKEN_ERR);

    let mut p = h.prepare(0, &big, 16);
    p.in_blocks[2].bytes[0x23B] = 7;
    assert_eq!(delivery(&h, &p), DeliveryStatus::BAD_BLOCK_NUMBER);

    // A chain that loops back to its first block ends with a delivery error.
    let mut p = h.prepare(0, &big, 16);
    let first = p.in_blocks[0].iova;
    p.in_blocks[1].bytes[0x230..0x238].copy_from_slice(&first.to_be_bytes());
    assert_eq!(delivery(&h, &p), DeliveryStatus::BAD_BLOCK_NUMBER);

    // A chain that ends before inlen does.
    let mut p = h.prepare(0, &big, 16);
    p.in_blocks[1].bytes[0x230..0x238].fill(0);
    assert_eq!(delivery(&h, &p), DeliveryStatus::INPUT_LEN_ERR);

    let mut p = h.prepare(0, &big, 16);
    let bad = p.in_blocks[0].iova + 0x40;
    p.entry[0x08..0x10].copy_from_slice(&bad.to_be_bytes());
    ce::sign(&mut p.entry);
    assert_eq!(delivery(&h, &p), DeliveryStatus::INPUT_POINTER_NOT_ALIGNED);

    let mut p = h.prepare(0, &nop, 600);
    let bad = p.out_blocks[0].iova + 0x200;
    p.entry[0x30..0x38].copy_from_slice(&bad.to_be_bytes());
    ce::sign(&mut p.entry);
    assert_eq!(delivery(&h, &p), DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED);

    let mut p = h.prepare(0, &nop, 600);
    p.out_blocks[1].bytes[0x23D] ^= 1;
    assert_eq!(delivery(&h, &p), DeliveryStatus::TOKEN_ERR);

    let mut p = h.prepare(0, &nop, 16);
    p.entry[0x04..0x08].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(delivery(&h, &p), DeliveryStatus::INPUT_LEN_ERR);

    let mut p = h.prepare(0, &nop, 16);
    p.entry[0x38..0x3C].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    assert_eq!(delivery(&h, &p), DeliveryStatus::OUTPUT_LEN_ERR);

    // With checksums off, signatures are not checked.
    let mut p = h.prepare(0, &big, 16);
    p.entry[ce::SIG_OFFSET] ^= 0xFF;
    p.in_blocks[0].bytes[mb::SIG_OFFSET] ^= 0xFF;
    h.post(&p);
    assert_eq!(h.wait(&p, WAIT).unwrap().ds, DeliveryStatus::OK);

    let mut p = h.prepare(0, &msg(Opcode::DISABLE_HCA, 0, 16), 16);
    p.entry[0] = 0;
    assert_eq!(delivery(&h, &p), DeliveryStatus::BAD_TYPE);
    assert_eq!(
        h.ctl.hca_state(),
        HcaState::Enabled,
        "a rejected command changes nothing"
    );
}

#[test]
fn signatures_are_checked_and_written_when_checksums_are_on() {
    let h = Harness::new(Profile {
        cmdif_checksum: true,
        ..Profile::default()
    });
    assert!(h.ctl.checksum_enabled());
    let p = h.prepare(0, &msg(Opcode::ENABLE_HCA, 0, 16), 16);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    c.ok();
    assert!(ce::signature_ok(&c.entry), "completed entry is re-signed");

    let big = msg(Opcode::QUERY_ADAPTER, 0, 16 + 600);
    let mut p = h.prepare(0, &big, 16);
    p.entry[ce::SIG_OFFSET] ^= 0x01;
    assert_eq!(delivery(&h, &p), DeliveryStatus::SIGNATURE_ERR);
    let mut p = h.prepare(0, &big, 16);
    p.in_blocks[1].bytes[100] ^= 0x01;
    assert_eq!(delivery(&h, &p), DeliveryStatus::SIGNATURE_ERR);

    // Output blocks come back signed.
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    c.ok();
    assert!(c
        .out_blocks
        .iter()
        .all(|b| mb::block_signature_ok(b).unwrap()));

    // SET_HCA_CAP with cmdif_checksum = 0 turns checking off.
    let q = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    let mut m = msg(Opcode::SET_HCA_CAP, 0, 16 + 4096);
    m[16..].copy_from_slice(&q.out[16..]);
    m[0x50 + 2] &= !0xC0;
    h.exec(&m, 16).ok();
    assert!(!h.ctl.checksum_enabled());
    let mut p = h.prepare(0, &msg(Opcode::NOP, 0, 16), 16);
    p.entry[ce::SIG_OFFSET] ^= 0x01;
    h.post(&p);
    assert_eq!(h.wait(&p, WAIT).unwrap().ds, DeliveryStatus::OK);
}

#[test]
fn one_doorbell_write_starts_several_slots() {
    let h = enabled();
    let ps: Vec<_> = (0..8)
        .map(|s| h.prepare(s, &msg(Opcode::NOP, 0, 16), 16))
        .collect();
    for p in &ps {
        h.write(p);
    }
    h.ring(0xFF);
    for p in &ps {
        h.wait(p, WAIT).unwrap().ok();
    }
    assert!(h.ctl.counters().doorbells >= 2);
}

#[test]
fn doorbells_for_software_owned_or_busy_slots_run_nothing_twice() {
    let h = enabled();
    let before = h.ctl.counters();
    h.ring(1 << 3); // entry 3 was never posted: owner bit is 0
    let t = Instant::now();
    while h.ctl.counters().doorbell_bits_ignored == before.doorbell_bits_ignored {
        assert!(t.elapsed() < WAIT);
        std::thread::yield_now();
    }
    h.ctl.set_latency(Opcode::NOP, Duration::from_millis(50));
    let p = h.prepare(0, &msg(Opcode::NOP, 0, 16), 16);
    h.post(&p);
    h.ring(1); // again while it runs
    h.ring(1);
    h.wait(&p, WAIT).unwrap().ok();
    // The re-rings found the entry back with software: nothing ran twice.
    std::thread::sleep(Duration::from_millis(20));
    let after = h.ctl.counters();
    assert_eq!(after.commands_executed, before.commands_executed + 1);
    assert_eq!(h.ctl.busy_slots(), 0);
}

#[test]
fn slow_commands_overlap_and_do_not_block_fast_ones() {
    let h = enabled();
    // Long against everything else the test does (microseconds), so that
    // what overlaps is decided by the device, not by the machine's load.
    let latency = Duration::from_secs(1);
    h.ctl.set_latency(Opcode::QUERY_ADAPTER, latency);
    const SLOW: u32 = 10;
    let slow: Vec<_> = (0..SLOW)
        .map(|s| h.prepare(s, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110))
        .collect();
    let t = Instant::now();
    for p in &slow {
        h.post(p);
    }
    // A fast command completes while all slow ones are still running.
    let fast = h.prepare(SLOW + 1, &msg(Opcode::NOP, 0, 16), 16);
    h.post(&fast);
    h.wait(&fast, WAIT).unwrap().ok();
    assert!(
        slow.iter().all(|p| h.owned_by_hw(p.slot)),
        "slow commands finished before their latency"
    );
    for p in &slow {
        h.wait(p, WAIT).unwrap().ok();
    }
    let e = t.elapsed();
    assert!(e >= latency, "latency not applied: {e:?}");
    // A device that ran them one after another could not finish before
    // SLOW x latency, whatever the machine's load; overlapping, they take
    // about one latency, a tenth of that bound.
    assert!(e < latency * SLOW, "slow commands did not overlap: {e:?}");
}

#[test]
fn many_threads_submitting_in_their_own_slots() {
    let h = Arc::new(enabled());
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let slot = t * 4 + (i % 4);
                    let c = h.exec_in(slot, &msg(Opcode::NOP, 0, 16), 16);
                    assert_eq!(
                        (c.ds, c.header().status),
                        (DeliveryStatus::OK, CmdStatus::OK)
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // ENABLE_HCA + 1200 NOPs.
    assert_eq!(h.ctl.counters().commands_executed, 1201);
    assert_eq!(h.ctl.busy_slots(), 0);
}
