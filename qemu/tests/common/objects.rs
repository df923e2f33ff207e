//! Commands on the Ethernet control objects for the model tests: inputs
//! built from (field, value) lists, and the PD, transport domain and TIS
//! that mlx5e makes before its queues.

use super::*;
use cxu_hal::ifc::commands::{rqt, tis, transport as t};
use cxu_hal::ifc::{Field, Opcode};

/// A `len`-byte input of `op` with the fields of `set`.
pub fn cmd(op: Opcode, op_mod: u16, len: usize, set: &[(Field, u64)]) -> Vec<u8> {
    let mut m = msg(op, op_mod, len);
    for (f, v) in set {
        f.set(&mut m, *v).unwrap();
    }
    m
}

/// Runs [`cmd`] (op_mod 0) with a 16-byte output.
pub fn run(h: &Harness, op: Opcode, len: usize, set: &[(Field, u64)]) -> Completion {
    h.exec(&cmd(op, 0, len, set), 16)
}

/// Runs and returns the number the output carries in `f`.
pub fn create(h: &Harness, op: Opcode, len: usize, set: &[(Field, u64)], f: Field) -> u32 {
    let c = run(h, op, len, set);
    c.ok();
    f.get32(&c.out).unwrap()
}

pub fn alloc_pd(h: &Harness) -> u32 {
    create(h, Opcode::ALLOC_PD, 16, &[], t::PD)
}

pub fn dealloc_pd(h: &Harness, pd: u32) -> Completion {
    run(h, Opcode::DEALLOC_PD, 16, &[(t::PD, u64::from(pd))])
}

pub fn alloc_td(h: &Harness) -> u32 {
    create(
        h,
        Opcode::ALLOC_TRANSPORT_DOMAIN,
        16,
        &[],
        t::TRANSPORT_DOMAIN,
    )
}

pub fn dealloc_td(h: &Harness, td: u32) -> Completion {
    run(
        h,
        Opcode::DEALLOC_TRANSPORT_DOMAIN,
        16,
        &[(t::TRANSPORT_DOMAIN, u64::from(td))],
    )
}

/// The fields of a CREATE_TIS / MODIFY_TIS input: the TIS on `td`, of `prio`.
pub fn tis_in(td: u32, prio: u64) -> Vec<(Field, u64)> {
    vec![
        (
            tis::tisc::TRANSPORT_DOMAIN.at(tis::CTX_OFFSET),
            u64::from(td),
        ),
        (tis::tisc::PRIO.at(tis::CTX_OFFSET), prio),
    ]
}

/// CREATE_TIS on `td` with `prio`; its number.
pub fn create_tis(h: &Harness, td: u32, prio: u64) -> u32 {
    create(
        h,
        Opcode::CREATE_TIS,
        tis::TIS_IN_SIZE,
        &tis_in(td, prio),
        tis::TISN,
    )
}

pub fn destroy_tis(h: &Harness, tisn: u32) -> Completion {
    run(h, Opcode::DESTROY_TIS, 16, &[(tis::TISN, u64::from(tisn))])
}

pub fn alloc_q_counter(h: &Harness) -> u32 {
    create(h, Opcode::ALLOC_Q_COUNTER, 16, &[], t::COUNTER_SET_ID)
}

pub fn dealloc_q_counter(h: &Harness, q: u32) -> Completion {
    run(
        h,
        Opcode::DEALLOC_Q_COUNTER,
        16,
        &[(t::COUNTER_SET_ID, u64::from(q))],
    )
}

/// A CREATE_RQT input listing `rqns` (its maximum and actual size).
pub fn rqt_in(rqns: &[u32]) -> Vec<u8> {
    let r = |f: Field| f.at(rqt::CTX_OFFSET);
    let n = rqns.len() as u64;
    let mut m = cmd(
        Opcode::CREATE_RQT,
        0,
        rqt::RQT_IN_SIZE + 4 * rqns.len(),
        &[
            (r(rqt::rqtc::RQT_MAX_SIZE), n),
            (r(rqt::rqtc::RQT_ACTUAL_SIZE), n),
        ],
    );
    for (i, rqn) in rqns.iter().enumerate() {
        let at = rqt::RQ_NUM_OFFSET + 4 * i;
        m[at..at + 4].copy_from_slice(&rqn.to_be_bytes());
    }
    m
}
