//! Queue helpers for the model tests: CREATE_CQ / CREATE_SQ / CREATE_RQ
//! inputs as mlx5e builds them, MODIFY and numbered commands, and a function
//! brought up with an EQ and memory for a CQ, a WQ and doorbell records.

use super::objects::{alloc_pd, alloc_td, create_tis};
use super::*;
use cxu_hal::ifc::commands::{cq, rq, sq, wq};
use cxu_hal::ifc::{Field, Opcode};

pub const CQ_IOVA: u64 = 0x300_0000;
pub const WQ_IOVA: u64 = 0x400_0000;
pub const DBR_IOVA: u64 = 0x500_0000;
/// The PD and TIS [`setup`] allocates first (so they are the first numbers).
pub const PD: u32 = 1;
pub const TISN: u32 = 1;

pub fn set(m: &mut [u8], f: Field, v: u64) {
    f.set(m, v).unwrap();
}

/// The pas array of `n` pages of `mem` from page `first`.
pub fn put_pas(m: &mut [u8], at: usize, mem: &DmaMem, first: usize, n: usize) {
    for i in 0..n {
        m[at + 8 * i..at + 8 * i + 8].copy_from_slice(&mem.addr((first + i) * 4096).to_be_bytes());
    }
}

/// A CREATE_CQ input: `1 << log_size` 64-byte CQEs in `mem`.
pub fn cq_in(log_size: u8, uar: u32, eqn: u32, mem: &DmaMem, dbr: u64) -> Vec<u8> {
    let n = (64usize << log_size).div_ceil(4096);
    let mut m = msg(Opcode::CREATE_CQ, 0, cq::PAS_OFFSET + 8 * n);
    let c = cq::CQ_CONTEXT_OFFSET;
    set(&mut m, cq::cqc::LOG_CQ_SIZE.at(c), log_size.into());
    set(&mut m, cq::cqc::UAR_PAGE.at(c), uar.into());
    set(&mut m, cq::cqc::C_EQN.at(c), eqn.into());
    set(&mut m, cq::cqc::DBR_ADDR.at(c), dbr);
    put_pas(&mut m, cq::PAS_OFFSET, mem, 0, n);
    m
}

/// A CREATE_SQ input: a cyclic WQ of `1 << log_size` 64-byte blocks in `mem`.
pub fn sq_in(log_size: u8, uar: u32, cqn: u32, mem: &DmaMem, dbr: u64) -> Vec<u8> {
    let n = (64usize << log_size).div_ceil(4096);
    let mut m = msg(Opcode::CREATE_SQ, 0, sq::PAS_OFFSET + 8 * n);
    let c = sq::CTX_OFFSET;
    let w = c + sq::WQ_OFFSET;
    set(&mut m, sq::sqc::CQN.at(c), cqn.into());
    set(&mut m, sq::sqc::TIS_LST_SZ.at(c), 1);
    set(&mut m, sq::sqc::TIS_NUM_0.at(c), TISN.into());
    set(&mut m, sq::sqc::FLUSH_IN_ERROR_EN.at(c), 1);
    set(&mut m, wq::WQ_TYPE.at(w), wq::wq_type::CYCLIC.into());
    set(&mut m, wq::UAR_PAGE.at(w), uar.into());
    set(&mut m, wq::LOG_WQ_STRIDE.at(w), 6);
    set(&mut m, wq::LOG_WQ_SZ.at(w), log_size.into());
    set(&mut m, wq::PD.at(w), PD.into());
    set(&mut m, wq::DBR_ADDR.at(w), dbr);
    put_pas(&mut m, sq::PAS_OFFSET, mem, 0, n);
    m
}

/// A CREATE_RQ input: a cyclic WQ of `1 << log_size` 16-byte WQEs in `mem`.
pub fn rq_in(log_size: u8, cqn: u32, mem: &DmaMem, dbr: u64) -> Vec<u8> {
    let n = (16usize << log_size).div_ceil(4096);
    let mut m = msg(Opcode::CREATE_RQ, 0, rq::PAS_OFFSET + 8 * n);
    let c = rq::CTX_OFFSET;
    let w = c + rq::WQ_OFFSET;
    set(&mut m, rq::rqc::CQN.at(c), cqn.into());
    set(&mut m, wq::WQ_TYPE.at(w), wq::wq_type::CYCLIC.into());
    set(&mut m, wq::LOG_WQ_STRIDE.at(w), 4);
    set(&mut m, wq::LOG_WQ_SZ.at(w), log_size.into());
    set(&mut m, wq::DBR_ADDR.at(w), dbr);
    put_pas(&mut m, rq::PAS_OFFSET, mem, 0, n);
    m
}

pub fn modify(op: Opcode, num: u32, cur: u32, next: u32) -> Vec<u8> {
    let mut m = msg(op, 0, 0x110);
    set(&mut m, rq::RQN, num.into());
    set(&mut m, rq::RQ_STATE, cur.into());
    set(&mut m, rq::rqc::STATE.at(rq::CTX_OFFSET), next.into());
    m
}

pub fn numbered(op: Opcode, num: u32) -> Vec<u8> {
    let mut m = msg(op, 0, 16);
    set(&mut m, cq::CQN, num.into());
    m
}

pub struct Setup {
    pub h: Harness,
    pub pages: DmaMem,
    pub eq: DmaMem,
    pub uar: u32,
    pub eqn: u32,
    pub cqmem: DmaMem,
    pub wqmem: DmaMem,
    pub dbr: DmaMem,
}

/// An initialized HCA ([`Hca`]) with a PD and a TIS, an EQ (number
/// `eqn`), and mapped memory for a CQ, a WQ and doorbell records.
pub fn setup() -> Setup {
    let Hca { h, pages, uar } = Hca::up();
    // An SQ needs a PD and a TIS (on a transport domain), as mlx5e has them.
    assert_eq!(alloc_pd(&h), PD);
    assert_eq!(create_tis(&h, alloc_td(&h), 0), TISN);
    let eq = DmaMem::new(&h.f, EQ_IOVA, 4096);
    let c = create_eq(&h, &eq, 4, uar, 1, &[]);
    c.ok();
    let eqn = u32::from(c.out[0x0B]);
    let cqmem = DmaMem::new(&h.f, CQ_IOVA, 4 * 4096);
    let wqmem = DmaMem::new(&h.f, WQ_IOVA, 4 * 4096);
    let dbr = DmaMem::new(&h.f, DBR_IOVA, 4096);
    Setup {
        h,
        pages,
        eq,
        uar,
        eqn,
        cqmem,
        wqmem,
        dbr,
    }
}

impl Setup {
    /// A CREATE_CQ input ([`cq_in`]) on the setup's UAR and EQ, in its CQ
    /// memory, with the doorbell record at 0.
    pub fn cq_in(&self, log_size: u8) -> Vec<u8> {
        cq_in(log_size, self.uar, self.eqn, &self.cqmem, self.dbr.addr(0))
    }

    /// Creates that CQ; its number.
    pub fn cq(&self, log_size: u8) -> u32 {
        self.h.exec(&self.cq_in(log_size), 16).num()
    }

    /// A CREATE_SQ input ([`sq_in`]) on CQ `cqn` and the setup's UAR, in
    /// its WQ memory, with the doorbell record at 64.
    pub fn sq_in(&self, log_size: u8, cqn: u32) -> Vec<u8> {
        sq_in(log_size, self.uar, cqn, &self.wqmem, self.dbr.addr(64))
    }

    /// Creates that SQ; its number.
    pub fn sq(&self, log_size: u8, cqn: u32) -> u32 {
        self.h.exec(&self.sq_in(log_size, cqn), 16).num()
    }
}
