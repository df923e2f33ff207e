//! Completion, send and receive queues: CREATE/MODIFY/QUERY/DESTROY of CQs,
//! SQs and RQs with the firmware's rules (existing EQ, CQ and UAR, sizes
//! within the capabilities, mapped and aligned pages and doorbell records,
//! the RST → RDY → ERR → RST states, a CQ in use kept, unknown numbers
//! BAD_RES), as Linux's mlx5e sends them.

mod common;

use common::objects::*;
use common::queues::*;
use common::*;
use cxu_hal::ifc::commands::{cq, rq, rqt, sq, wq};
use cxu_hal::ifc::{CmdStatus, Field, Opcode};
use cxu_qemu::model::firmware::queues::syndrome as qs;
use cxu_qemu::model::{syndrome, Profile};

#[test]
fn a_drop_rq_lives_and_dies_as_mlx5e_drives_it() {
    let s = setup();
    let h = &s.h;
    // mlx5e's drop RQ: a one-entry CQ, then an RQ on it, RST -> RDY.
    let cqn = s.cq(0);
    assert_ne!(cqn, 0);
    let rqn = h.exec(&rq_in(0, cqn, &s.wqmem, s.dbr.addr(64)), 16).num();
    h.exec(&modify(Opcode::MODIFY_RQ, rqn, 0, 1), 16).ok();
    let q = h.ctl.queues();
    assert_eq!((q.cqs.len(), q.rqs.len()), (1, 1));
    assert_eq!((q.rqs[0].num, q.rqs[0].cqn, q.rqs[0].state), (rqn, cqn, 1));
    assert_eq!(q.cqs[0].eqn as u32, s.eqn);

    // QUERY_RQ / QUERY_CQ give the context back with the live state.
    let qr = h.exec(&numbered(Opcode::QUERY_RQ, rqn), rq::QUERY_RQ_OUT_SIZE);
    qr.ok();
    assert_eq!(rq::rqc::STATE.at(rq::CTX_OFFSET).get(&qr.out).unwrap(), 1);
    assert_eq!(
        rq::rqc::CQN.at(rq::CTX_OFFSET).get(&qr.out).unwrap(),
        u64::from(cqn)
    );
    let qc = h.exec(&numbered(Opcode::QUERY_CQ, cqn), cq::QUERY_CQ_OUT_SIZE);
    qc.ok();
    let c0 = cq::CQ_CONTEXT_OFFSET;
    assert_eq!(
        cq::cqc::C_EQN.at(c0).get(&qc.out).unwrap(),
        u64::from(s.eqn)
    );
    assert_eq!(
        cq::cqc::DBR_ADDR.at(c0).get(&qc.out).unwrap(),
        s.dbr.addr(0)
    );
    // A query output too small for the context is refused.
    fails(
        &h.exec(&numbered(Opcode::QUERY_CQ, cqn), 16),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );

    // States: the current state must be the RQ's, and ERR -> RDY is no transition.
    fails(
        &h.exec(&modify(Opcode::MODIFY_RQ, rqn, 0, 1), 16),
        CmdStatus::BAD_RES_STATE_ERR,
        qs::WQ_STATE_MISMATCH,
    );
    h.exec(&modify(Opcode::MODIFY_RQ, rqn, 1, 3), 16).ok();
    fails(
        &h.exec(&modify(Opcode::MODIFY_RQ, rqn, 3, 1), 16),
        CmdStatus::BAD_RES_STATE_ERR,
        qs::WQ_BAD_TRANSITION,
    );
    h.exec(&modify(Opcode::MODIFY_RQ, rqn, 3, 0), 16).ok();
    h.exec(&modify(Opcode::MODIFY_RQ, rqn, 0, 1), 16).ok();
    // vsd through the bitmask (mlx5e_modify_rq_vsd).
    let mut m = modify(Opcode::MODIFY_RQ, rqn, 1, 1);
    set(&mut m, rq::MODIFY_BITMASK, rq::modify_bitmask::VSD);
    set(&mut m, rq::rqc::VSD.at(rq::CTX_OFFSET), 1);
    h.exec(&m, 16).ok();
    let qr = h.exec(&numbered(Opcode::QUERY_RQ, rqn), rq::QUERY_RQ_OUT_SIZE);
    assert_eq!(rq::rqc::VSD.at(rq::CTX_OFFSET).get(&qr.out).unwrap(), 1);

    // The CQ cannot go while the RQ uses it, nor the UAR while the CQ does.
    fails(
        &h.exec(&numbered(Opcode::DESTROY_CQ, cqn), 16),
        CmdStatus::RES_BUSY,
        qs::CQ_IN_USE,
    );
    let mut du = msg(Opcode::DEALLOC_UAR, 0, 16);
    du[0x08..0x0C].copy_from_slice(&s.uar.to_be_bytes());
    fails(&h.exec(&du, 16), CmdStatus::RES_BUSY, syndrome::UAR_IN_USE);
    // Status-only outputs need 8 bytes.
    h.exec(&numbered(Opcode::DESTROY_RQ, rqn), 8).ok();
    h.exec(&numbered(Opcode::DESTROY_CQ, cqn), 16).ok();
    // Now unknown.
    for op in [Opcode::DESTROY_RQ, Opcode::QUERY_RQ] {
        fails(
            &h.exec(&numbered(op, rqn), 0x110),
            CmdStatus::BAD_RES_ERR,
            qs::RQ_NOT_FOUND,
        );
    }
    for op in [Opcode::DESTROY_CQ, Opcode::QUERY_CQ] {
        fails(
            &h.exec(&numbered(op, cqn), 0x110),
            CmdStatus::BAD_RES_ERR,
            qs::CQ_NOT_FOUND,
        );
    }
    fails(
        &h.exec(&modify(Opcode::MODIFY_RQ, rqn, 1, 1), 16),
        CmdStatus::BAD_RES_ERR,
        qs::RQ_NOT_FOUND,
    );
    assert_eq!(h.ctl.queues(), Default::default());
    let hist = h.ctl.history();
    assert_eq!(
        (
            hist.cqs_created,
            hist.cqs_destroyed,
            hist.rqs_created,
            hist.rqs_destroyed
        ),
        (1, 1, 1, 1)
    );
    // Numbers are not reused: the next CQ gets a new one.
    assert_ne!(s.cq(0), cqn);
}

#[test]
fn create_cq_checks_its_eq_sizes_pages_and_doorbell_record() {
    let s = setup();
    let h = &s.h;
    let ok = s.cq_in(2);
    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = ok.clone();
        f(&mut m);
        h.exec(&m, 16)
    };
    let c = cq::CQ_CONTEXT_OFFSET;
    fails(
        &bad(&|m| set(m, cq::cqc::C_EQN.at(c), s.eqn as u64 + 1)),
        CmdStatus::BAD_PARAM_ERR,
        qs::CQ_BAD_EQN,
    );
    fails(
        &bad(&|m| set(m, cq::cqc::LOG_CQ_SIZE.at(c), 23)),
        CmdStatus::BAD_PARAM_ERR,
        qs::CQ_SIZE,
    );
    fails(
        &bad(&|m| set(m, cq::cqc::CQE_SZ.at(c), 2)),
        CmdStatus::BAD_PARAM_ERR,
        qs::CQ_SIZE,
    );
    fails(
        &bad(&|m| set(m, cq::cqc::UAR_PAGE.at(c), u64::from(s.uar) + 1)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::UAR_NOT_ALLOCATED,
    );
    fails(
        &bad(&|m| m[cq::PAS_OFFSET + 7] = 0x40),
        CmdStatus::BAD_PARAM_ERR,
        qs::PAS_NOT_ALIGNED,
    );
    fails(
        &bad(&|m| {
            m[cq::PAS_OFFSET..cq::PAS_OFFSET + 8].copy_from_slice(&0x7000_0000u64.to_be_bytes())
        }),
        CmdStatus::BAD_PARAM_ERR,
        qs::PAS_UNMAPPED,
    );
    fails(
        &bad(&|m| set(m, cq::cqc::DBR_ADDR.at(c), s.dbr.addr(4))),
        CmdStatus::BAD_PARAM_ERR,
        qs::DBR_NOT_ALIGNED,
    );
    fails(
        &bad(&|m| set(m, cq::cqc::DBR_ADDR.at(c), 0x7100_0000)),
        CmdStatus::BAD_PARAM_ERR,
        qs::DBR_UNMAPPED,
    );
    // 1 << 7 CQEs of 64 bytes are two pages: one page address is too few.
    let mut two = s.cq_in(7);
    two.truncate(cq::PAS_OFFSET + 8);
    fails(
        &h.exec(&two, 16),
        CmdStatus::BAD_INP_LEN_ERR,
        qs::PAS_MISSING,
    );
    fails(
        &h.exec(&ok[..0x100], 16),
        CmdStatus::BAD_INP_LEN_ERR,
        syndrome::BAD_INPUT_LEN,
    );
    // MODIFY_CQ: moderation is taken, resize (not advertised) is not.
    let cqn = h.exec(&ok, 16).num();
    let mut m = msg(Opcode::MODIFY_CQ, 0, cq::MODIFY_CQ_IN_SIZE);
    set(&mut m, cq::CQN, cqn.into());
    set(
        &mut m,
        cq::MODIFY_FIELD_SELECT,
        u64::from(cq::modify::PERIOD | cq::modify::COUNT),
    );
    set(&mut m, cq::cqc::CQ_PERIOD.at(c), 8);
    set(&mut m, cq::cqc::CQ_MAX_COUNT.at(c), 32);
    h.exec(&m, 16).ok();
    let q = h.exec(&numbered(Opcode::QUERY_CQ, cqn), cq::QUERY_CQ_OUT_SIZE);
    assert_eq!(cq::cqc::CQ_PERIOD.at(c).get(&q.out).unwrap(), 8);
    assert_eq!(cq::cqc::CQ_MAX_COUNT.at(c).get(&q.out).unwrap(), 32);
    assert_eq!(cq::cqc::LOG_CQ_SIZE.at(c).get(&q.out).unwrap(), 2);
    m[0x06..0x08].copy_from_slice(&[0, 1]);
    fails(&h.exec(&m, 16), CmdStatus::BAD_PARAM_ERR, qs::CQ_BAD_MODIFY);
    // Capabilities advertise what the checks enforce.
    let cap = h.simple(Opcode::QUERY_HCA_CAP, 1);
    let g = |f: Field| f.get(&cap.out[0x10..]).unwrap();
    use cxu_hal::ifc::caps::general as gc;
    assert_eq!(g(gc::LOG_MAX_CQ_SZ), 22);
    assert_eq!(g(wq::CAP_LOG_MAX_WQ_SZ), 16);
    assert_eq!(g(cq::cap::CQ_MODERATION), 1);
    // mlx5e needs 16 basic blocks per send WQE.
    assert_eq!(g(gc::MAX_WQE_SZ_SQ), 1024);
    assert_eq!(h.ctl.queues().cqs.len(), 1, "only the good CQ exists");
}

#[test]
fn create_sq_checks_its_cq_uar_state_and_wq() {
    let s = setup();
    let h = &s.h;
    let cqn = s.cq(3);
    let ok = s.sq_in(4, cqn);
    let bad = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = ok.clone();
        f(&mut m);
        h.exec(&m, 16)
    };
    let c = sq::CTX_OFFSET;
    let w = c + sq::WQ_OFFSET;
    fails(
        &bad(&|m| set(m, sq::sqc::CQN.at(c), u64::from(cqn) + 1)),
        CmdStatus::BAD_PARAM_ERR,
        qs::WQ_BAD_CQN,
    );
    fails(
        &bad(&|m| set(m, sq::sqc::STATE.at(c), 1)),
        CmdStatus::BAD_PARAM_ERR,
        qs::WQ_NOT_RST,
    );
    fails(
        &bad(&|m| set(m, wq::LOG_WQ_STRIDE.at(w), 5)),
        CmdStatus::BAD_PARAM_ERR,
        qs::WQ_SIZE,
    );
    fails(
        &bad(&|m| set(m, wq::LOG_WQ_SZ.at(w), 17)),
        CmdStatus::BAD_PARAM_ERR,
        qs::WQ_SIZE,
    );
    fails(
        &bad(&|m| set(m, wq::WQ_TYPE.at(w), 2)),
        CmdStatus::BAD_PARAM_ERR,
        qs::WQ_BAD_TYPE,
    );
    fails(
        &bad(&|m| set(m, wq::UAR_PAGE.at(w), 99)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::UAR_NOT_ALLOCATED,
    );
    let sqn = h.exec(&ok, 16).num();
    let q = h.ctl.queues();
    assert_eq!(q.sqs.len(), 1);
    assert_eq!((q.sqs[0].num, q.sqs[0].cqn, q.sqs[0].state), (sqn, cqn, 0));
    assert_eq!((q.sqs[0].tis_or_counter, q.sqs[0].pd), (TISN, PD));
    // RST -> RDY -> ERR -> RST -> RDY (mlx5e's TX recovery), RST -> ERR refused.
    h.exec(&modify(Opcode::MODIFY_SQ, sqn, 0, 1), 16).ok();
    h.exec(&modify(Opcode::MODIFY_SQ, sqn, 1, 3), 16).ok();
    h.exec(&modify(Opcode::MODIFY_SQ, sqn, 3, 0), 16).ok();
    fails(
        &h.exec(&modify(Opcode::MODIFY_SQ, sqn, 0, 3), 16),
        CmdStatus::BAD_RES_STATE_ERR,
        qs::WQ_BAD_TRANSITION,
    );
    h.exec(&modify(Opcode::MODIFY_SQ, sqn, 0, 1), 16).ok();
    let qs_out = h.exec(&numbered(Opcode::QUERY_SQ, sqn), sq::QUERY_SQ_OUT_SIZE);
    qs_out.ok();
    assert_eq!(sq::sqc::STATE.at(c).get(&qs_out.out).unwrap(), 1);
    assert_eq!(
        sq::sqc::TIS_NUM_0.at(c).get(&qs_out.out).unwrap(),
        u64::from(TISN)
    );
    // An unknown modify_bitmask bit is refused.
    let mut m = modify(Opcode::MODIFY_SQ, sqn, 1, 1);
    set(&mut m, sq::MODIFY_BITMASK, 1 << 5);
    fails(&h.exec(&m, 16), CmdStatus::BAD_PARAM_ERR, qs::WQ_BAD_MODIFY);
    fails(
        &h.exec(&numbered(Opcode::DESTROY_CQ, cqn), 16),
        CmdStatus::RES_BUSY,
        qs::CQ_IN_USE,
    );
    h.exec(&numbered(Opcode::DESTROY_SQ, sqn), 16).ok();
    fails(
        &h.exec(&numbered(Opcode::DESTROY_SQ, sqn), 16),
        CmdStatus::BAD_RES_ERR,
        qs::SQ_NOT_FOUND,
    );
    h.exec(&numbered(Opcode::DESTROY_CQ, cqn), 16).ok();
}

#[test]
fn queues_need_an_initialized_hca_and_go_with_teardown() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let c = h.simple(Opcode::CREATE_CQ, 0);
    assert_eq!(c.header().status, CmdStatus::BAD_SYS_STATE_ERR);
    drop(h);
    let s = setup();
    let h = &s.h;
    s.sq(0, s.cq(0));
    assert_eq!(h.ctl.queues().sqs.len(), 1);
    h.simple(Opcode::TEARDOWN_HCA, 0).ok();
    assert_eq!(h.ctl.queues(), Default::default());
}

#[test]
fn queues_name_live_pds_tises_and_counters_which_stay_while_used() {
    let s = setup();
    let h = &s.h;
    let cqn = s.cq(3);
    let ok = s.sq_in(4, cqn);
    let (c, w) = (sq::CTX_OFFSET, sq::CTX_OFFSET + sq::WQ_OFFSET);
    for (f, v) in [(sq::sqc::TIS_NUM_0.at(c), 9), (wq::PD.at(w), 9)] {
        let mut m = ok.clone();
        set(&mut m, f, v);
        fails(
            &h.exec(&m, 16),
            CmdStatus::BAD_PARAM_ERR,
            syndrome::BAD_REFERENCE,
        );
    }
    // An ICOSQ (mlx5e_open_icosq) names no TIS: tis_lst_sz 0, tis_num_0 0.
    // A list of one needs a live TIS, and a TIS without a list is refused.
    let mut ico = ok.clone();
    set(&mut ico, sq::sqc::TIS_LST_SZ.at(c), 0);
    set(&mut ico, sq::sqc::TIS_NUM_0.at(c), 0);
    let icosq = h.exec(&ico, 16).num();
    h.exec(&numbered(Opcode::DESTROY_SQ, icosq), 16).ok();
    for (lst, tis) in [(1, 0), (0, u64::from(TISN)), (2, u64::from(TISN))] {
        let mut m = ok.clone();
        set(&mut m, sq::sqc::TIS_LST_SZ.at(c), lst);
        set(&mut m, sq::sqc::TIS_NUM_0.at(c), tis);
        fails(
            &h.exec(&m, 16),
            CmdStatus::BAD_PARAM_ERR,
            syndrome::BAD_REFERENCE,
        );
    }
    let sqn = h.exec(&ok, 16).num();
    // The PD and TIS the SQ names cannot go while it lives.
    fails(
        &dealloc_pd(h, PD),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    fails(
        &destroy_tis(h, TISN),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    h.exec(&numbered(Opcode::DESTROY_SQ, sqn), 16).ok();
    destroy_tis(h, TISN).ok();

    // An RQ counting into an unknown set is refused; a live one stays while used.
    let mut r = rq_in(0, cqn, &s.wqmem, s.dbr.addr(128));
    set(&mut r, rq::rqc::COUNTER_SET_ID.at(rq::CTX_OFFSET), 5);
    fails(
        &h.exec(&r, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    let q = alloc_q_counter(h);
    set(&mut r, rq::rqc::COUNTER_SET_ID.at(rq::CTX_OFFSET), q.into());
    let rqn = h.exec(&r, 16).num();
    fails(
        &dealloc_q_counter(h, q),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );

    // An RQT listing the RQ keeps it until the RQT goes.
    let rqtn = h.exec(&rqt_in(&[rqn]), 16).num();
    fails(
        &h.exec(&numbered(Opcode::DESTROY_RQ, rqn), 16),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    run(h, Opcode::DESTROY_RQT, 16, &[(rqt::RQTN, rqtn.into())]).ok();
    h.exec(&numbered(Opcode::DESTROY_RQ, rqn), 16).ok();
    dealloc_q_counter(h, q).ok();
}
