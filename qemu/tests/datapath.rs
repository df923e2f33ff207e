//! The queues' data path: send WQEs executed up to the doorbell record's
//! producer counter when the SQ doorbell rings (UAR 0x800), requester CQEs
//! with the WQE counter and the owner bit by wrap, the CQ arm doorbell (UAR
//! 0x20) and one completion EQE plus one interrupt per arming, error CQEs for
//! malformed WQEs.

mod common;

use std::time::Duration;

use common::queues::*;
use common::*;
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::doorbell::{cq_arm_word, CQ_DB_REQ_NOT};
use cxu_hal::ifc::eqe::EventType;
use cxu_hal::ifc::wqe::{self, fm_ce_se, opcode};
use cxu_hal::ifc::Opcode;
use cxu_hal::pci::wait_eventfd;
use cxu_hal::PciFunction;

const SHORT: Duration = Duration::from_millis(30);
const LONG: Duration = Duration::from_secs(5);
/// Doorbell records: the CQ's at 0, the SQ's at 64 (send counter at +4).
const CQ_DBR: usize = 0;
const SQ_DBR: usize = 64;
/// CQ of 4 entries, SQ of 8 basic blocks.
const LOG_CQ: u8 = 2;
const LOG_SQ: u8 = 3;

struct Path {
    s: Setup,
    cqn: u32,
    sqn: u32,
}

fn path() -> Path {
    let s = setup();
    // Software's initial CQEs: invalid opcode, owner 1.
    for i in 0..(1usize << LOG_CQ) {
        s.cqmem.write(i * 64 + 63, &[0xF1]);
    }
    let c = s.h.exec(
        &cq_in(LOG_CQ, s.uar, s.eqn, &s.cqmem, s.dbr.addr(CQ_DBR)),
        16,
    );
    c.ok();
    let cqn = c.be32(0x08) & 0xFF_FFFF;
    let q =
        s.h.exec(&sq_in(LOG_SQ, s.uar, cqn, &s.wqmem, s.dbr.addr(SQ_DBR)), 16);
    q.ok();
    let sqn = q.be32(0x08) & 0xFF_FFFF;
    s.h.exec(&modify(Opcode::MODIFY_SQ, sqn, 0, 1), 16).ok();
    Path { s, cqn, sqn }
}

impl Path {
    /// Writes a WQE's control segment at counter `pc` (ring position).
    fn wqe(&self, pc: u16, op: u8, ds: u8, flags: u8) -> [u8; 8] {
        self.wqe_for(pc, self.sqn, op, ds, flags)
    }

    fn wqe_for(&self, pc: u16, sqn: u32, op: u8, ds: u8, flags: u8) -> [u8; 8] {
        let mut c = [0u8; wqe::CTRL_SEG_SIZE];
        wqe::OPCODE.set(&mut c, op.into()).unwrap();
        wqe::WQE_INDEX.set(&mut c, pc.into()).unwrap();
        wqe::QPN.set(&mut c, sqn.into()).unwrap();
        wqe::DS.set(&mut c, ds.into()).unwrap();
        wqe::FM_CE_SE.set(&mut c, flags.into()).unwrap();
        let at = usize::from(pc & ((1 << LOG_SQ) - 1)) * 64;
        self.s.wqmem.write(at, &c);
        c[..8].try_into().unwrap()
    }

    /// `mlx5e_notify_hw`: the producer counter in the doorbell record, then
    /// the WQE's first 8 bytes to the BlueFlame register.
    fn ring(&self, pc: u16, ctrl: [u8; 8]) {
        self.s.dbr.write(SQ_DBR + 4, &u32::from(pc).to_be_bytes());
        self.s.h.bar.write64_be(
            u64::from(self.s.uar) * 4096 + 0x800,
            u64::from_be_bytes(ctrl),
        );
    }

    /// `mlx5_cq_arm`: the arm word in the record, then `{word, cqn}` at 0x20.
    fn arm(&self, sn: u32, ci: u32) {
        let word = cq_arm_word(sn, CQ_DB_REQ_NOT, ci);
        self.s.dbr.write(CQ_DBR + 4, &word.to_be_bytes());
        self.s.h.bar.write64_be(
            u64::from(self.s.uar) * 4096 + 0x20,
            (u64::from(word) << 32) | u64::from(self.cqn),
        );
    }

    /// Software consumed CQEs up to `ci` (`mlx5_cq_set_ci`).
    fn set_ci(&self, ci: u32) {
        self.s.dbr.write(CQ_DBR, &(ci & 0xFF_FFFF).to_be_bytes());
    }

    /// (opcode, owner, wqe_counter, qpn) of CQE `i`.
    fn cqe(&self, i: usize) -> (u8, u8, u16, u32) {
        let b = self.s.cqmem.read((i % (1 << LOG_CQ)) * 64, 64);
        (
            cqe::opcode_of(b[cqe::OP_OWN_OFFSET]),
            b[cqe::OP_OWN_OFFSET] & 1,
            cqe::WQE_COUNTER.get(&b).unwrap() as u16,
            cqe::QPN.get(&b).unwrap() as u32,
        )
    }

    fn eqes(&self) -> u32 {
        self.s.h.ctl.eqs()[0].producer_index
    }
}

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
    p.wqe(0, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
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
    // In ERR it executes nothing more.
    let c = p.wqe(1, opcode::NOP, 1, fm_ce_se::CQ_UPDATE);
    p.ring(2, c);
    assert_eq!(h.ctl.queues().cqs[0].producer_index, 5);
    // An unknown opcode is an error too (after the ERR -> RST -> RDY recovery).
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 3, 0), 16).ok();
    h.exec(&modify(Opcode::MODIFY_SQ, p.sqn, 0, 1), 16).ok();
    p.set_ci(5);
    let c = p.wqe(0, 0x3F, 1, fm_ce_se::CQ_UPDATE);
    p.ring(1, c);
    assert_eq!(p.cqe(5).0, cqe::opcode::REQ_ERR);
    // Doorbells on another UAR page or for unknown queues are ignored.
    let before = h.ctl.history().cqes_posted;
    h.bar.write64_be(u64::from(p.s.uar + 1) * 4096 + 0x800, 0);
    h.bar
        .write64_be(u64::from(p.s.uar) * 4096 + 0x800, 0x0000_0000_0099_9901);
    h.bar
        .write64_be(u64::from(p.s.uar) * 4096 + 0x20, 0x0099_9999);
    assert_eq!(h.ctl.history().cqes_posted, before);
}
