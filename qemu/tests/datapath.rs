//! The queues' data path: send WQEs executed up to the doorbell record's
//! producer counter when the SQ doorbell rings (UAR 0x800), requester CQEs
//! with the WQE counter and the owner bit by wrap, the CQ arm doorbell (UAR
//! 0x20) and one completion EQE plus one interrupt per arming, error CQEs for
//! malformed WQEs.

mod common;

use std::time::Duration;

use common::queues::*;
use common::send::*;
use common::*;
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::eqe::EventType;
use cxu_hal::ifc::wqe::{self, fm_ce_se, opcode};
use cxu_hal::ifc::Opcode;
use cxu_hal::os::wait_eventfd;
use cxu_hal::PciFunction;

const SHORT: Duration = Duration::from_millis(30);
const LONG: Duration = Duration::from_secs(5);

#[test]
fn send_wqes_complete_and_an_armed_cq_fires_its_eq_once() {
    let p = path();
    let h = &p.s.h;
    let irq = h.f.enable_msix(2).unwrap();
    // The kernel arms its EQ right after CREATE_EQ.
    eq_doorbell(h, p.s.uar, p.s.eqn as u8, 0, true);
    // Created and armed with nothing written: no event.
    p.arm(0, 0);
    assert_eq!(p.eqes(), 0);

    // A NOP (one block, mlx5e_trigger_napi_icosq) and a 5-segment SEND (two
    // blocks), both asking for a CQE, rung once with the counter at 3.
    // Its three data segments name real memory under a real key.
    p.wqe(0, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    let lkey = pa_mkey(h, PD);
    for i in 0..3 {
        p.s.wqmem
            .write(64 + 32 + 16 * i, &dseg(20, lkey, p.s.wqmem.addr(DATA)));
    }
    let last = p.wqe(1, opcode::SEND, 5, fm_ce_se::CQ_UPDATE);
    p.ring(3, last);
    assert_eq!(p.cqe(0), (cqe::opcode::REQ, 0, 0, p.sqn));
    assert_eq!(p.cqe(1), (cqe::opcode::REQ, 0, 1, p.sqn));
    assert_eq!(
        cqe::opcode_of(p.s.cqmem.read(2 * 64 + 63, 1)[0]),
        cqe::opcode::INVALID
    );
    assert_eq!(h.ctl.queues().sqs[0].consumer_counter, 3);
    // One completion EQE on the CQ's EQ, and its vector fired once.
    assert_eq!(p.eqes(), 1);
    let e = eqe(&p.s.eq, 0);
    assert_eq!(
        (e.event_type, e.comp_cqn(), e.owner & 1),
        (EventType::COMP, p.cqn, 0)
    );
    assert!(wait_eventfd(&irq[1], Some(LONG)).unwrap().is_some());
    assert_eq!(wait_eventfd(&irq[1], Some(SHORT)).unwrap(), None);
    assert_eq!(
        wait_eventfd(&irq[0], Some(SHORT)).unwrap(),
        None,
        "wrong vector"
    );
    let cq = h.ctl.queues().cqs[0];
    assert_eq!((cq.producer_index, cq.armed, cq.events), (2, false, 1));

    // Not re-armed: the next CQE comes without an event. A WQE without
    // CQ_UPDATE gets no CQE at all.
    eq_doorbell(h, p.s.uar, p.s.eqn as u8, 1, true);
    p.set_ci(2);
    let c = p.wqe(3, opcode::SEND, 2, 0);
    p.ring(4, c);
    let c = p.wqe(4, opcode::SEND, 2, fm_ce_se::CQ_UPDATE);
    p.ring(5, c);
    assert_eq!(p.cqe(2), (cqe::opcode::REQ, 0, 4, p.sqn));
    assert_eq!(p.eqes(), 1);
    assert_eq!(wait_eventfd(&irq[1], Some(SHORT)).unwrap(), None);

    // An arm with the sequence number of the arming that fired is stale
    // (the driver advances it per event): ignored, even with CQEs waiting.
    p.arm(0, 2);
    assert_eq!(p.eqes(), 1);
    assert!(!h.ctl.queues().cqs[0].armed);
    // Arming behind the producer index fires at once, exactly once.
    p.arm(1, 2);
    assert_eq!(p.eqes(), 2);
    assert!(wait_eventfd(&irq[1], Some(LONG)).unwrap().is_some());
    // Armed and caught up: the next CQE (entry 3) fires; then the ring wraps
    // and entry 0 gets owner 1.
    eq_doorbell(h, p.s.uar, p.s.eqn as u8, 2, true);
    p.set_ci(3);
    p.arm(2, 3);
    assert_eq!(p.eqes(), 2);
    let c = p.wqe(5, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    p.ring(6, c);
    let c = p.wqe(6, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    p.ring(7, c);
    assert_eq!(p.cqe(3), (cqe::opcode::REQ, 0, 5, p.sqn));
    assert_eq!(p.cqe(4), (cqe::opcode::REQ, 1, 6, p.sqn));
    assert_eq!(p.eqes(), 3);
    assert!(wait_eventfd(&irq[1], Some(LONG)).unwrap().is_some());
    assert_eq!(h.ctl.history().cqes_posted, 5);
}

#[test]
fn a_full_cq_drops_and_a_bad_wqe_errors_the_sq() {
    let p = path();
    let h = &p.s.h;
    // Four CQEs fill the CQ (nothing consumed); the fifth is an overrun.
    for pc in 0..5u16 {
        let c = p.wqe(pc, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
        p.ring(pc + 1, c);
    }
    let cq = h.ctl.queues().cqs[0];
    assert_eq!((cq.producer_index, cq.overruns), (4, 1));
    assert_eq!(p.cqe(0).2, 0, "entry 0 still holds the first CQE");
    p.set_ci(4);

    // A doorbell for an SQ in RST does nothing.
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 1, 0), 16).ok();
    let c = p.wqe(0, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    p.ring(1, c);
    assert_eq!(h.ctl.queues().cqs[0].producer_index, 4);
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 0, 1), 16).ok();

    // A WQE naming another SQ than the one rung: an error CQE (whatever
    // fm_ce_se says), SQ in ERR.
    let rung = p.wqe(0, opcode::SEND, 2, 0);
    p.wqe_for(0, p.sqn + 1, opcode::SEND, 2, 0);
    p.ring(1, rung);
    let (op, owner, counter, qpn) = p.cqe(4);
    assert_eq!(
        (op, owner, counter, qpn),
        (cqe::opcode::REQ_ERR, 1, 0, p.sqn)
    );
    let b = p.s.cqmem.read(0, 64);
    assert_eq!(
        cqe::ERR_SYNDROME.get(&b).unwrap() as u8,
        cqe::syndrome::LOCAL_QP_OP_ERR
    );
    assert_eq!(h.ctl.queues().sqs[0].state, 3);
    // In ERR it executes nothing more: a WQE posted now is flushed, a
    // REQ_ERR CQE with WR_FLUSH_ERR whatever fm_ce_se says (mlx5e's recovery
    // waits until every posted WQE has its CQE).
    p.set_ci(5);
    let c = p.wqe(1, opcode::NOP, 1, 0);
    p.ring(2, c);
    assert_eq!(h.ctl.queues().cqs[0].producer_index, 6);
    assert_eq!(p.cqe(5), (cqe::opcode::REQ_ERR, 1, 1, p.sqn));
    let flushed = |i: usize| {
        let b = p.s.cqmem.read((i % 4) * 64, 64);
        cqe::ERR_SYNDROME.get(&b).unwrap() as u8 == cqe::syndrome::WR_FLUSH_ERR
    };
    assert!(flushed(5));
    // An unknown opcode is an error too (after the ERR -> RST -> RDY
    // recovery), and the WQEs rung behind it are flushed, one CQE each.
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 3, 0), 16).ok();
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 0, 1), 16).ok();
    p.set_ci(6);
    let c = p.wqe(0, 0x3F, 1, fm_ce_se::CQ_UPDATE);
    p.wqe(1, opcode::NOP, 1, 0);
    p.wqe(2, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    let executed = h.ctl.queues().sqs[0].wqes;
    p.ring(3, c);
    assert_eq!(h.ctl.queues().cqs[0].producer_index, 9);
    assert_eq!(p.cqe(6), (cqe::opcode::REQ_ERR, 1, 0, p.sqn));
    assert!(!flushed(6), "the failing WQE's own syndrome");
    assert_eq!(p.cqe(7), (cqe::opcode::REQ_ERR, 1, 1, p.sqn));
    assert_eq!(p.cqe(8), (cqe::opcode::REQ_ERR, 0, 2, p.sqn));
    assert!(flushed(7) && flushed(8));
    assert_eq!(h.ctl.queues().sqs[0].wqes, executed, "nothing executed");
    // A malformed WQE whose `ds` claims more than was rung (2 WQEBBs, one
    // rung): its error CQE and nothing more, no flush of unposted WQEs.
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 3, 0), 16).ok();
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 0, 1), 16).ok();
    p.set_ci(9);
    let rung = p.wqe(0, opcode::SEND, 8, 0);
    p.wqe_for(0, p.sqn + 1, opcode::SEND, 8, 0);
    p.ring(1, rung);
    assert_eq!(h.ctl.queues().cqs[0].producer_index, 10);
    assert_eq!(p.cqe(9), (cqe::opcode::REQ_ERR, 0, 0, p.sqn));
    assert!(!flushed(9));
    // Doorbells on another UAR page or for unknown queues are ignored.
    let before = h.ctl.history().cqes_posted;
    h.bar.write64_be(u64::from(p.s.uar + 1) * 4096 + 0x800, 0);
    h.bar
        .write64_be(u64::from(p.s.uar) * 4096 + 0x800, 0x0000_0000_0099_9901);
    h.bar
        .write64_be(u64::from(p.s.uar) * 4096 + 0x20, 0x0099_9999);
    assert_eq!(h.ctl.history().cqes_posted, before);
}

#[test]
fn a_send_wqe_puts_its_frame_on_the_wire_byte_exact() {
    use cxu_hal::ifc::commands::vport::traffic;
    let p = path();
    let h = &p.s.h;
    let lkey = pa_mkey(h, PD);
    // An 18-byte inline header (Ethernet + 4 bytes: spills into a second
    // segment), then two data segments from two buffers.
    let mut header = vec![
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0xC9, 0x5E, 0, 0, 1, 0x08, 0x00,
    ];
    header.extend_from_slice(&[0x45, 0, 0, 0x54]);
    let a: Vec<u8> = (0..100u8).collect();
    let b: Vec<u8> = (0..37u8).map(|i| 0xFF - i).collect();
    p.s.wqmem.write(DATA, &a);
    p.s.wqmem.write(DATA + 1000, &b);
    let (c, bbs) = send_wqe(
        &p,
        0,
        &header,
        &[(100, lkey, DATA), (37, lkey, DATA + 1000)],
    );
    assert_eq!(bbs, 2);
    p.ring(bbs, c);
    assert_eq!(p.cqe(0), (cqe::opcode::REQ, 0, 0, p.sqn));
    let frames = h.ctl.tx_frames();
    assert_eq!(frames.len(), 1);
    let want = [header.clone(), a.clone(), b.clone()].concat();
    assert_eq!(frames[0].bytes, want);
    assert_eq!((frames[0].port, frames[0].sqn), (1, p.sqn));
    let w = h.ctl.wire_counters();
    assert_eq!((w.tx_frames, w.tx_bytes), (1, want.len() as u64));
    // Unicast destination: the vport's transmitted_eth_unicast pair.
    assert_eq!(
        h.ctl.vport_counter(traffic::TX_ETH_UNICAST),
        (1, want.len() as u64)
    );
    assert_eq!(h.ctl.vport_counter(traffic::TX_ETH_BROADCAST), (0, 0));

    // No inline header, VLAN insertion asked in the Ethernet segment: the
    // tag goes after the MAC addresses.
    p.set_ci(1);
    let (c, bbs) = send_wqe(&p, 2, &[], &[(100, lkey, DATA)]);
    let at = 2 * 64 + wqe::eth_seg::OFFSET;
    let mut eseg = p.s.wqmem.read(at, 16);
    wqe::eth_seg::INLINE_HDR_SZ
        .set(&mut eseg, wqe::eth_seg::INSERT_VLAN.into())
        .unwrap();
    wqe::eth_seg::INSERT_VLAN_TCI
        .set(&mut eseg, 0x0123)
        .unwrap();
    p.s.wqmem.write(at, &eseg);
    p.ring(2 + bbs, c);
    let f = h.ctl.tx_frames().pop().unwrap();
    assert_eq!(f.bytes.len(), 104);
    assert_eq!(&f.bytes[..12], &a[..12]);
    assert_eq!(&f.bytes[12..16], &[0x81, 0x00, 0x01, 0x23]);
    assert_eq!(&f.bytes[16..], &a[12..]);

    // A frame shorter than the Ethernet minimum (an ARP request is 42
    // bytes) leaves padded with zeros to 60, and counts as 60.
    p.set_ci(2);
    let before = h.ctl.wire_counters().tx_bytes;
    let (c, bbs) = send_wqe(&p, 3, &header, &[(24, lkey, DATA)]);
    p.ring(3 + bbs, c);
    let f = h.ctl.tx_frames().pop().unwrap();
    let mut want = [header.clone(), a[..24].to_vec()].concat();
    assert_eq!(want.len(), 42);
    want.resize(60, 0);
    assert_eq!(f.bytes, want);
    assert_eq!(h.ctl.wire_counters().tx_bytes - before, 60);
}

#[test]
fn a_send_with_a_bad_lkey_gets_a_local_protection_error() {
    let p = path();
    let h = &p.s.h;
    let lkey = pa_mkey(h, PD);
    p.s.wqmem.write(DATA, &[0xAB; 64]);
    // The right index with the wrong key byte, then an index never created.
    for (i, bad) in [lkey ^ 1, lkey + 0x100].into_iter().enumerate() {
        let pc = 0;
        let (c, bbs) = send_wqe(&p, pc, &[], &[(64, bad, DATA)]);
        p.ring(pc + bbs, c);
        let (op, _, counter, qpn) = p.cqe(i);
        assert_eq!((op, counter, qpn), (cqe::opcode::REQ_ERR, 0, p.sqn));
        let b = p.s.cqmem.read(i * 64, 64);
        assert_eq!(
            cqe::ERR_SYNDROME.get(&b).unwrap() as u8,
            cqe::syndrome::LOCAL_PROT_ERR
        );
        assert_eq!(h.ctl.queues().sqs[0].state, 3, "the SQ is in ERR");
        // Recovery, as mlx5e does it: ERR -> RST -> RDY rewinds the SQ.
        h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 3, 0), 16).ok();
        h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 0, 1), 16).ok();
        p.set_ci(i as u32 + 1);
    }
    // An unmapped address under a good key: the same error.
    let (c, bbs) = send_wqe(&p, 0, &[], &[(64, lkey, DATA)]);
    let at = 32;
    p.s.wqmem.write(at, &dseg(64, lkey, 0x7000_0000));
    p.ring(bbs, c);
    assert_eq!(p.cqe(2).0, cqe::opcode::REQ_ERR);
    assert!(h.ctl.tx_frames().is_empty());
    assert_eq!(h.ctl.wire_counters().tx_frames, 0);
}

/// An Ethernet + IPv4 + UDP frame with `payload` and right checksums.
fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1,
    ];
    ip[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    let c = !csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut udp = vec![0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0];
    udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(payload);
    let pseudo = u32::from(csum(&ip[12..20], 0)) + 17 + udp_len as u32;
    let c = !csum(&udp, pseudo);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![0x02, 0xC9, 0x5E, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f
}

/// A root NIC RX table whose one entry sends destination MAC `dmac` to TIR
/// `tirn` (as mlx5e's L2 table does for its own address, in one hop).
fn steer_dmac_to_tir(h: &Harness, dmac: &[u8], tirn: u32) {
    use cxu_hal::ifc::commands::flow_table::{self as ft, dest, flow_ctx, ft_ctx, table_type};
    let mut m = msg(Opcode::CREATE_FLOW_TABLE, 0, ft::FLOW_TABLE_IN_SIZE);
    set(&mut m, ft::TABLE_TYPE, table_type::NIC_RX);
    set(&mut m, ft_ctx::LOG_SIZE.at(ft::FT_CTX_OFFSET), 2);
    let c = h.exec(&m, 16);
    c.ok();
    let table = ft::CREATED_TABLE_ID.get32(&c.out).unwrap();
    let mut m = msg(Opcode::CREATE_FLOW_GROUP, 0, ft::CREATE_FLOW_GROUP_IN_SIZE);
    set(&mut m, ft::TABLE_TYPE, table_type::NIC_RX);
    set(&mut m, ft::TABLE_ID, table.into());
    set(&mut m, ft::END_FLOW_INDEX, 1);
    set(&mut m, ft::MATCH_CRITERIA_ENABLE, 1);
    // outer_headers.dmac_47_16 / dmac_15_0 (fte_match_set_lyr_2_4 bytes 8..14).
    let at = ft::MATCH_CRITERIA_OFFSET + 8;
    m[at..at + 6].fill(0xFF);
    let c = h.exec(&m, 16);
    c.ok();
    let group = ft::CREATED_GROUP_ID.get32(&c.out).unwrap();
    let mut m = msg(
        Opcode::SET_FLOW_TABLE_ENTRY,
        0,
        ft::SET_FTE_IN_SIZE + ft::DEST_SIZE,
    );
    let x = |f: cxu_hal::ifc::Field| f.at(ft::FLOW_CTX_OFFSET);
    set(&mut m, ft::TABLE_TYPE, table_type::NIC_RX);
    set(&mut m, ft::TABLE_ID, table.into());
    set(&mut m, x(flow_ctx::GROUP_ID), group.into());
    set(&mut m, x(flow_ctx::ACTION), flow_ctx::action::FWD_DEST);
    set(&mut m, x(flow_ctx::DESTINATION_LIST_SIZE), 1);
    let at = ft::FLOW_CTX_OFFSET + flow_ctx::MATCH_VALUE_OFFSET + 8;
    m[at..at + 6].copy_from_slice(dmac);
    let d = ft::FLOW_CTX_OFFSET + flow_ctx::DESTINATION_OFFSET;
    set(&mut m, dest::DESTINATION_TYPE.at(d), dest::dest_type::TIR);
    set(&mut m, dest::DESTINATION_ID.at(d), tirn.into());
    h.exec(&m, 16).ok();
    let mut m = msg(Opcode::SET_FLOW_TABLE_ROOT, 0, ft::SHORT_IN_SIZE);
    set(&mut m, ft::TABLE_TYPE, table_type::NIC_RX);
    set(&mut m, ft::TABLE_ID, table.into());
    h.exec(&m, 16).ok();
}

#[test]
fn a_received_frame_fills_the_next_rq_wqe_and_posts_its_cqe() {
    use cxu_hal::ifc::commands::{rq, tir, transport as t, wq};
    use cxu_qemu::model::RxOutcome;
    let p = path();
    let h = &p.s.h;
    let lkey = pa_mkey(h, PD);
    // An RQ of 4 WQEs of two data segments each (stride 32), on the SQ's CQ,
    // counting into a Q counter.
    let counter = {
        let c = h.simple(Opcode::ALLOC_Q_COUNTER, 0);
        c.ok();
        c.be32(0x08) & 0xFF
    };
    let rqmem = DmaMem::new(&h.f, 0x600_0000, 10 * 4096);
    const RQ_DBR: usize = 128;
    let mut m = rq_in(2, p.cqn, &rqmem, p.s.dbr.addr(RQ_DBR));
    let w = rq::CTX_OFFSET + rq::WQ_OFFSET;
    set(&mut m, wq::LOG_WQ_STRIDE.at(w), 5);
    set(&mut m, wq::PD.at(w), PD.into());
    set(
        &mut m,
        rq::rqc::COUNTER_SET_ID.at(rq::CTX_OFFSET),
        counter.into(),
    );
    let c = h.exec(&m, 16);
    c.ok();
    let rqn = c.be32(0x08) & 0xFF_FFFF;
    let frame = udp_frame(&[0x5A; 56]);
    assert_eq!(frame.len(), 98);
    // Nothing steers to it yet: no TIR, no flow table, and the RQ in RST.
    assert_eq!(h.ctl.rx(1, &frame), RxOutcome::NoQueue);
    let mut tir_in = msg(Opcode::CREATE_TIR, 0, tir::TIR_IN_SIZE);
    set(
        &mut tir_in,
        tir::tirc::TRANSPORT_DOMAIN.at(tir::CTX_OFFSET),
        1,
    );
    set(
        &mut tir_in,
        tir::tirc::INLINE_RQN.at(tir::CTX_OFFSET),
        rqn.into(),
    );
    let c = h.exec(&tir_in, 16);
    c.ok();
    let tirn = tir::TIRN.get32(&c.out).unwrap();
    assert_eq!(
        h.ctl.rx(1, &frame),
        RxOutcome::NoQueue,
        "no root flow table"
    );
    steer_dmac_to_tir(h, &frame[..6], tirn);
    assert_eq!(h.ctl.rx(1, &frame), RxOutcome::NoQueue, "the RQ is in RST");
    h.exec(&modify(Opcode::MODIFY_RQ, rqn, 0, 1), 16).ok();
    assert_eq!(h.ctl.rx(2, &frame), RxOutcome::NoPort);
    // RDY with no WQE posted: dropped, counted in out_of_buffer.
    assert_eq!(h.ctl.rx(1, &frame), RxOutcome::OutOfBuffer { rqn });
    let mut q = msg(Opcode::QUERY_Q_COUNTER, 0, t::QUERY_Q_COUNTER_IN_SIZE);
    set(&mut q, t::QUERY_COUNTER_SET_ID, counter.into());
    let c = h.exec(&q, t::QUERY_Q_COUNTER_OUT_SIZE);
    c.ok();
    assert_eq!(t::OUT_OF_BUFFER.get(&c.out).unwrap(), 1);
    assert_eq!(p.s.h.ctl.queues().cqs[0].producer_index, 0);

    // Two WQEs posted as mlx5e does (byte_count with MLX5_HW_START_PADDING):
    // 64 bytes then 2 KiB; the frame spans both segments of WQE 0.
    let buf = |wqe: usize, seg: usize| 4096 + wqe * 8192 + seg * 4096;
    for i in 0..2 {
        let mut w = [0u8; 32];
        w[..16].copy_from_slice(&dseg(0x8000_0000 | 64, lkey, rqmem.addr(buf(i, 0))));
        w[16..].copy_from_slice(&dseg(0x8000_0000 | 2048, lkey, rqmem.addr(buf(i, 1))));
        rqmem.write(i * 32, &w);
    }
    p.s.dbr.write(RQ_DBR, &2u32.to_be_bytes());
    p.arm(0, 0);
    assert_eq!(
        h.ctl.rx(1, &frame),
        RxOutcome::Delivered {
            rqn,
            wqe_counter: 0
        }
    );
    assert_eq!(rqmem.read(buf(0, 0), 64), frame[..64]);
    assert_eq!(rqmem.read(buf(0, 1), 34), frame[64..]);
    let b = p.s.cqmem.read(0, 64);
    assert_eq!(p.cqe(0), (cqe::opcode::RESP_SEND, 0, 0, rqn));
    assert_eq!(cqe::BYTE_CNT.get(&b).unwrap(), 98);
    // check_sum: the IP packet's sum, what mlx5e takes for CHECKSUM_COMPLETE.
    assert_eq!(
        cqe::CHECK_SUM.get(&b).unwrap() as u16,
        csum(&frame[14..], 0)
    );
    let ok = cqe::hds_ip_ext::L3_OK | cqe::hds_ip_ext::L4_OK;
    assert_eq!(cqe::HDS_IP_EXT.get(&b).unwrap() as u8 & ok, ok);
    assert_eq!(p.eqes(), 1, "the armed CQ's completion event");
    let info = h.ctl.queues().rqs[0];
    assert_eq!((info.consumer_counter, info.wqes), (1, 1));
    let w = h.ctl.wire_counters();
    assert_eq!((w.rx_frames, w.rx_bytes, w.rx_dropped), (1, 98, 5));
    assert_eq!(
        h.ctl
            .vport_counter(cxu_hal::ifc::commands::vport::traffic::RX_ETH_UNICAST),
        (1, 98)
    );

    // An 802.1Q-tagged frame: the RQ strips (`vsd` clear, as mlx5e creates
    // it with rxvlan on), so the buffer gets the frame without the tag, the
    // CQE the tag (`cqe_has_vlan`, `vlan_info`) and the untagged length.
    let tagged = [&frame[..12], &[0x81, 0x00, 0x0A, 0xBC][..], &frame[12..]].concat();
    assert_eq!(
        h.ctl.rx(1, &tagged),
        RxOutcome::Delivered {
            rqn,
            wqe_counter: 1
        }
    );
    assert_eq!(rqmem.read(buf(1, 0), 64), frame[..64]);
    assert_eq!(rqmem.read(buf(1, 1), 34), frame[64..]);
    let b = p.s.cqmem.read(64, 64);
    assert_eq!(cqe::BYTE_CNT.get(&b).unwrap(), 98);
    assert_eq!(
        cqe::L4_L3_HDR_TYPE.get(&b).unwrap() as u8 & cqe::l4_l3_hdr_type::VLAN,
        1
    );
    assert_eq!(cqe::VLAN_INFO.get(&b).unwrap(), 0x0ABC);
    assert_eq!(
        cqe::CHECK_SUM.get(&b).unwrap() as u16,
        csum(&frame[14..], 0)
    );
    // `vsd` set by MODIFY_RQ (ethtool -K rxvlan off): the tag stays in the
    // frame and the CQE says none.
    let mut m = modify(Opcode::MODIFY_RQ, rqn, 1, 1);
    set(&mut m, rq::MODIFY_BITMASK, rq::modify_bitmask::VSD);
    set(&mut m, rq::rqc::VSD.at(rq::CTX_OFFSET), 1);
    h.exec(&m, 16).ok();
    for i in 2..4 {
        let mut w = [0u8; 32];
        w[..16].copy_from_slice(&dseg(0x8000_0000 | 64, lkey, rqmem.addr(buf(i, 0))));
        w[16..].copy_from_slice(&dseg(0x8000_0000 | 2048, lkey, rqmem.addr(buf(i, 1))));
        rqmem.write(i * 32, &w);
    }
    p.s.dbr.write(RQ_DBR, &4u32.to_be_bytes());
    p.set_ci(2);
    assert_eq!(
        h.ctl.rx(1, &tagged),
        RxOutcome::Delivered {
            rqn,
            wqe_counter: 2
        }
    );
    assert_eq!(rqmem.read(buf(2, 0), 64), tagged[..64]);
    let b = p.s.cqmem.read(128, 64);
    assert_eq!(cqe::BYTE_CNT.get(&b).unwrap(), 102);
    assert_eq!(
        cqe::L4_L3_HDR_TYPE.get(&b).unwrap() as u8 & cqe::l4_l3_hdr_type::VLAN,
        0
    );

    // Another destination MAC misses the root table's entry: the default
    // miss drops it.
    let mut other = frame.clone();
    other[5] = 9;
    assert_eq!(h.ctl.rx(1, &other), RxOutcome::NoQueue);
    // Longer than WQE 3's buffers: dropped, the WQE stays for the next one.
    p.set_ci(3);
    let mut long = frame.clone();
    long.resize(3000, 0);
    assert_eq!(h.ctl.rx(1, &long), RxOutcome::TooLong { rqn, room: 2112 });
    assert_eq!(h.ctl.rx(1, &frame[..13]), RxOutcome::Runt);
    // WQE 3 with a bad lkey: a responder error CQE, the RQ in ERR.
    rqmem.write(3 * 32, &dseg(64, lkey ^ 0xFF, rqmem.addr(buf(3, 0))));
    assert_eq!(h.ctl.rx(1, &frame), RxOutcome::WqeError { rqn });
    let b = p.s.cqmem.read(3 * 64, 64);
    assert_eq!(p.cqe(3), (cqe::opcode::RESP_ERR, 0, 3, rqn));
    assert_eq!(
        cqe::ERR_SYNDROME.get(&b).unwrap() as u8,
        cqe::syndrome::LOCAL_PROT_ERR
    );
    assert_eq!(h.ctl.queues().rqs[0].state, 3);
    assert_eq!(h.ctl.rx(1, &frame), RxOutcome::NoQueue);
}

/// The Microsoft RSS verification suite's key.
const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Toeplitz, written as its definition: for input bit i set, the 32 key
/// bits from bit i on.
fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let key_bit = |k: usize| u32::from(key[k / 8] >> (7 - k % 8)) & 1;
    (0..input.len() * 8)
        .filter(|i| input[i / 8] >> (7 - i % 8) & 1 == 1)
        .map(|i| (0..32).fold(0u32, |w, j| (w << 1) | key_bit(i + j)))
        .fold(0, |r, w| r ^ w)
}

/// An Ethernet + IPv4 + TCP (ACK, 8 bytes of data) frame to `dmac`.
fn tcp4_frame(dmac: &[u8], src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut f = dmac.to_vec();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 48, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0xFF, 0xFF, 0, 0, 0, 0]);
    f.extend_from_slice(b"cxu rss!");
    f
}

#[test]
fn an_indirect_toeplitz_tir_picks_the_rqt_entry_by_hash_and_reports_it() {
    use cxu_hal::ifc::commands::tir::tirc::{hash_field as hf, hash_fn};
    use cxu_hal::ifc::commands::{rq, tir, wq};
    use cxu_hal::ifc::cqe::{l4_l3_hdr_type, rss_hash_type};
    use cxu_qemu::model::RxOutcome;
    let p = path();
    let h = &p.s.h;
    let lkey = pa_mkey(h, PD);
    // Two RQs of 4 one-segment WQEs (2 KiB buffers after the ring), posted.
    let mems: Vec<DmaMem> = (0..2u64)
        .map(|i| DmaMem::new(&h.f, 0x600_0000 + i * 0x10_0000, 4 * 4096))
        .collect();
    let mut rqns = Vec::new();
    for (i, mem) in mems.iter().enumerate() {
        let dbr = 128 + 64 * i;
        let mut m = rq_in(2, p.cqn, mem, p.s.dbr.addr(dbr));
        set(&mut m, wq::PD.at(rq::CTX_OFFSET + rq::WQ_OFFSET), PD.into());
        let c = h.exec(&m, 16);
        c.ok();
        let rqn = c.be32(0x08) & 0xFF_FFFF;
        for w in 0..4 {
            mem.write(w * 16, &dseg(2048, lkey, mem.addr(4096 + w * 2048)));
        }
        p.s.dbr.write(dbr, &4u32.to_be_bytes());
        h.exec(&modify(Opcode::MODIFY_RQ, rqn, 0, 1), 16).ok();
        rqns.push(rqn);
    }
    let c = h.exec(&common::objects::rqt_in(&rqns), 16);
    c.ok();
    let rqtn = c.be32(0x08) & 0xFF_FFFF;
    // An indirect TIR hashing TCP over IPv4 on all four fields, not
    // symmetric: the suite's own values.
    let ctx = |f: cxu_hal::ifc::Field| f.at(tir::CTX_OFFSET);
    let all = hf::SRC_IP | hf::DST_IP | hf::L4_SPORT | hf::L4_DPORT;
    let mut tir_in = msg(Opcode::CREATE_TIR, 0, tir::TIR_IN_SIZE);
    set(&mut tir_in, ctx(tir::tirc::TRANSPORT_DOMAIN), 1);
    set(
        &mut tir_in,
        ctx(tir::tirc::DISP_TYPE),
        tir::tirc::disp_type::INDIRECT,
    );
    set(&mut tir_in, ctx(tir::tirc::INDIRECT_TABLE), rqtn.into());
    set(&mut tir_in, ctx(tir::tirc::RX_HASH_FN), hash_fn::TOEPLITZ);
    set(
        &mut tir_in,
        ctx(tir::tirc::RX_HASH_FIELD_SELECTOR_OUTER),
        all.into(),
    );
    let key_at = tir::CTX_OFFSET + tir::tirc::RX_HASH_TOEPLITZ_KEY;
    tir_in[key_at..key_at + 40].copy_from_slice(&RSS_KEY);
    let c = h.exec(&tir_in, 16);
    c.ok();
    let tirn = tir::TIRN.get32(&c.out).unwrap();
    let dmac = [0x02, 0xC9, 0x5E, 0, 0, 1];
    steer_dmac_to_tir(h, &dmac, tirn);
    // (source, port, destination, port, hash): the suite's IPv4 TCP values,
    // one even (entry 0) and one odd (entry 1).
    let vectors = [
        (
            [66, 9, 149, 187],
            2794,
            [161, 142, 100, 80],
            1766,
            0x51cc_c178u32,
        ),
        (
            [38, 27, 205, 30],
            48228,
            [209, 142, 163, 6],
            2217,
            0xafc7_327f,
        ),
    ];
    for (i, (src, sport, dst, dport, want)) in vectors.into_iter().enumerate() {
        let f = tcp4_frame(&dmac, src, sport, dst, dport);
        let rqn = rqns[want as usize % 2];
        assert!(matches!(h.ctl.rx(1, &f), RxOutcome::Delivered { rqn: r, .. } if r == rqn));
        let b = p.s.cqmem.read(i * 64, 64);
        assert_eq!(cqe::RSS_HASH_RESULT.get(&b).unwrap() as u32, want);
        assert_eq!(
            cqe::RSS_HASH_TYPE.get(&b).unwrap() as u8,
            rss_hash_type::IPV4 | rss_hash_type::TCP
        );
        assert_eq!(
            cqe::L4_L3_HDR_TYPE.get(&b).unwrap() as u8,
            l4_l3_hdr_type::L3_IPV4 | l4_l3_hdr_type::L4_TCP_ACK_AND_DATA
        );
    }
    p.set_ci(2);
    // Symmetric, as mlx5e sets it: (src | dst, src ^ dst) per pair, one
    // hash for both directions of a flow.
    let mut m = msg(Opcode::MODIFY_TIR, 0, tir::TIR_IN_SIZE);
    m[tir::CTX_OFFSET..].copy_from_slice(&tir_in[tir::CTX_OFFSET..]);
    set(&mut m, tir::TIRN, tirn.into());
    set(&mut m, tir::BITMASK, tir::BITMASK_HASH);
    set(&mut m, ctx(tir::tirc::RX_HASH_SYMMETRIC), 1);
    h.exec(&m, 16).ok();
    let (src, sport, dst, dport, _) = vectors[0];
    let mut input: Vec<u8> = src.iter().zip(&dst).map(|(a, b)| a | b).collect();
    input.extend(src.iter().zip(&dst).map(|(a, b)| a ^ b));
    input.extend_from_slice(&(sport | dport).to_be_bytes());
    input.extend_from_slice(&(sport ^ dport).to_be_bytes());
    let want = toeplitz(&RSS_KEY, &input);
    assert_eq!(toeplitz(&RSS_KEY, &[src, dst].concat()), 0x323e_8fc2);
    for (i, f) in [
        tcp4_frame(&dmac, src, sport, dst, dport),
        tcp4_frame(&dmac, dst, dport, src, sport),
    ]
    .iter()
    .enumerate()
    {
        let rqn = rqns[want as usize % 2];
        assert!(matches!(h.ctl.rx(1, f), RxOutcome::Delivered { rqn: r, .. } if r == rqn));
        let b = p.s.cqmem.read((2 + i) * 64, 64);
        assert_eq!(cqe::RSS_HASH_RESULT.get(&b).unwrap() as u32, want, "{i}");
    }
}
