//! Completion, send and receive queues: CREATE/MODIFY/QUERY/DESTROY of CQs,
//! SQs and RQs as Linux's mlx5e sends them, and the data path those queues
//! need (the SQ doorbell, requester CQEs, the CQ arm doorbell and completion
//! EQEs).
//!
//! Firmware rules the commands enforce: a CQ's EQ (`c_eqn`) and UAR page
//! exist; sizes are within the advertised `log_max_cq_sz` / `log_max_wq_sz`
//! and the object counts within `log_max_cq` / `log_max_sq` / `log_max_rq`;
//! every `pas` page is aligned and mapped through the IOMMU, and so is the
//! doorbell record; an SQ or RQ names a CQ that exists, is created in RST and
//! moves RST → RDY → ERR → RST as the command's current state says (a
//! mismatch is BAD_RES_STATE); a CQ an SQ or RQ still uses cannot be
//! destroyed (RES_BUSY); an unknown object number is BAD_RES. Objects are
//! numbered from 1 upwards, never reused while the function lives, so a
//! stale number is always unknown.
#![forbid(unsafe_code)]

mod cq;
mod datapath;
pub(super) mod inet;
mod offload;
mod recv;
mod rq;
mod send;
mod sq;
pub mod syndrome;
mod wq;

use std::collections::BTreeMap;

use cxu_hal::ifc::caps::general as cap;
use cxu_hal::ifc::commands::{cq as cq_l, wq as wq_l};
use cxu_hal::ifc::{CmdStatus, Field, Opcode};

use super::{Cmd, CmdError, CmdResult, Env, Firmware};

/// The capability limits the model advertises for queues (general cap page).
pub mod limits {
    /// `log_max_cq`: at most 4096 CQs.
    pub const LOG_MAX_CQ: u8 = 12;
    /// `log_max_cq_sz`: CQs of up to 4M entries (ConnectX-5's value).
    pub const LOG_MAX_CQ_SZ: u8 = 22;
    /// `log_max_wq_sz`: SQs and RQs of up to 64K WQEs.
    pub const LOG_MAX_WQ_SZ: u8 = 16;
    /// `log_max_sq`: at most 4096 SQs.
    pub const LOG_MAX_SQ: u8 = 12;
    /// `log_max_rq`: at most 4096 RQs.
    pub const LOG_MAX_RQ: u8 = 12;
    /// `log_bf_reg_size`: 512-byte BlueFlame registers (two 256-byte
    /// buffers each), the SQ doorbells at UAR offset 0x800 + 256 n.
    pub const LOG_BF_REG_SIZE: u8 = 9;
}

/// Sets the queue capabilities in a general capability page.
pub fn advertise(c: &mut [u8]) {
    let mut set = |f: Field, v: u64| {
        let _ = f.set(c, v & f.max());
    };
    set(cap::LOG_MAX_CQ, limits::LOG_MAX_CQ.into());
    set(cap::LOG_MAX_CQ_SZ, limits::LOG_MAX_CQ_SZ.into());
    set(wq_l::CAP_LOG_MAX_WQ_SZ, limits::LOG_MAX_WQ_SZ.into());
    set(cap::LOG_MAX_SQ, limits::LOG_MAX_SQ.into());
    set(cap::LOG_MAX_RQ, limits::LOG_MAX_RQ.into());
    set(cap::LOG_BF_REG_SIZE, limits::LOG_BF_REG_SIZE.into());
    set(cq_l::cap::CQ_MODERATION, 1);
    set(cq_l::cap::CQ_PERIOD_MODE_MODIFY, 1);
    // Bytes per send WQE: mlx5e refuses to attach (WARN_ON in
    // mlx5e_attach_netdev) below MLX5_SEND_WQE_MAX_WQEBBS (16) x 64.
    set(cxu_hal::ifc::caps::general::MAX_WQE_SZ_SQ, 1024);
}

/// What a test (or the server's state line) can see of one CQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqInfo {
    /// CQ number.
    pub cqn: u32,
    /// The EQ its completion events go to.
    pub eqn: u8,
    /// log2 of the CQE count.
    pub log_size: u8,
    /// CQE size in bytes (64 or 128).
    pub cqe_size: u16,
    /// CQEs written so far.
    pub producer_index: u32,
    /// Whether the next CQE raises a completion event.
    pub armed: bool,
    /// Completion events posted for it.
    pub events: u64,
    /// CQEs dropped because the CQ was full.
    pub overruns: u64,
}

/// What a test can see of one SQ or RQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WqInfo {
    /// SQ or RQ number.
    pub num: u32,
    /// Its CQ.
    pub cqn: u32,
    /// State: 0 RST, 1 RDY, 3 ERR.
    pub state: u8,
    /// log2 of the WQE (basic block) count.
    pub log_size: u8,
    /// The WQE counter firmware has consumed up to.
    pub consumer_counter: u16,
    /// WQEs executed (SQ) or frames received (RQ).
    pub wqes: u64,
    /// The TIS it sends through (SQ; `tis_num_0`), or the counter set (RQ).
    pub tis_or_counter: u32,
    /// Its protection domain (`wq.pd`).
    pub pd: u32,
}

/// The live queues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueuesInfo {
    /// Completion queues, by number.
    pub cqs: Vec<CqInfo>,
    /// Send queues, by number.
    pub sqs: Vec<WqInfo>,
    /// Receive queues, by number.
    pub rqs: Vec<WqInfo>,
}

/// The queue tables of one function.
#[derive(Clone, Debug, Default)]
pub struct Queues {
    cqs: BTreeMap<u32, cq::Cq>,
    sqs: BTreeMap<u32, sq::Sq>,
    rqs: BTreeMap<u32, rq::Rq>,
    last_cqn: u32,
    last_sqn: u32,
    last_rqn: u32,
    /// The first dword of a 64-bit doorbell per (UAR page, offset), until
    /// its second dword arrives.
    latch: BTreeMap<(u32, u64), u32>,
}

/// The next free number after `last` (24-bit, from 1, skipping live ones).
fn next_number<V>(last: &mut u32, live: &BTreeMap<u32, V>) -> Option<u32> {
    for _ in 0..=live.len() {
        *last = if *last >= 0xFF_FFFF { 1 } else { *last + 1 };
        if !live.contains_key(last) {
            return Some(*last);
        }
    }
    None
}

impl Queues {
    /// Destroys every queue (teardown, reset).
    pub fn clear(&mut self) {
        self.cqs.clear();
        self.sqs.clear();
        self.rqs.clear();
        self.latch.clear();
    }

    /// Whether a CQ, SQ or RQ uses UAR page `uar`.
    pub fn uses_uar(&self, uar: u32) -> bool {
        self.cqs.values().any(|c| c.uar == uar) || self.sqs.values().any(|s| s.uar == uar)
    }

    /// Whether a CQ sends its events to EQ `eqn`.
    pub fn uses_eq(&self, eqn: u8) -> bool {
        self.cqs.values().any(|c| c.eqn == eqn)
    }

    /// The numbers of the live RQs (a TIR or RQT may name them).
    pub fn rq_numbers(&self) -> std::collections::BTreeSet<u32> {
        self.rqs.keys().copied().collect()
    }

    /// Whether an SQ or RQ names PD `pd`.
    pub fn uses_pd(&self, pd: u32) -> bool {
        self.sqs.iter().any(|(&n, s)| s.info(n).pd == pd)
            || self.rqs.iter().any(|(&n, r)| r.info(n).pd == pd)
    }

    /// Whether an RQ counts into Q counter set `id`.
    pub fn uses_q_counter(&self, id: u32) -> bool {
        self.rqs
            .iter()
            .any(|(&n, r)| r.info(n).tis_or_counter == id)
    }

    /// Whether an SQ sends through TIS `tisn`.
    pub fn sq_uses_tis(&self, tisn: u32) -> bool {
        self.sqs
            .iter()
            .any(|(&n, s)| s.info(n).tis_or_counter == tisn)
    }

    /// Snapshot for tests and the state line.
    pub fn info(&self) -> QueuesInfo {
        QueuesInfo {
            cqs: self.cqs.iter().map(|(&n, c)| c.info(n)).collect(),
            sqs: self.sqs.iter().map(|(&n, s)| s.info(n)).collect(),
            rqs: self.rqs.iter().map(|(&n, r)| r.info(n)).collect(),
        }
    }

    fn cq_in_use(&self, cqn: u32) -> bool {
        self.sqs.values().any(|s| s.cqn == cqn) || self.rqs.values().any(|r| r.cqn == cqn)
    }
}

impl Firmware {
    /// Runs `op` if it is a queue command, else `None`.
    pub(super) fn queue_command(
        &mut self,
        env: &Env<'_>,
        op: Opcode,
        cmd: &mut Cmd<'_>,
    ) -> Option<CmdResult> {
        Some(match op {
            Opcode::CREATE_CQ => self.create_cq(env, cmd),
            Opcode::DESTROY_CQ => self.destroy_cq(env, cmd),
            Opcode::QUERY_CQ => self.query_cq(env, cmd),
            Opcode::MODIFY_CQ => self.modify_cq(cmd),
            Opcode::CREATE_SQ => self.create_sq(env, cmd),
            Opcode::MODIFY_SQ => self.modify_sq(cmd),
            Opcode::DESTROY_SQ => self.destroy_sq(env, cmd),
            Opcode::QUERY_SQ => self.query_sq(cmd),
            Opcode::CREATE_RQ => self.create_rq(env, cmd),
            Opcode::MODIFY_RQ => self.modify_rq(cmd),
            Opcode::DESTROY_RQ => self.destroy_rq(env, cmd),
            Opcode::QUERY_RQ => self.query_rq(cmd),
            _ => return None,
        })
    }

    /// The live queues.
    pub fn queues(&self) -> QueuesInfo {
        self.queues.info()
    }
}

/// BAD_RES for an unknown object number.
fn bad_res(syndrome: u32) -> CmdError {
    CmdError::new(CmdStatus::BAD_RES_ERR, syndrome)
}

/// LIM for a table at its advertised maximum.
fn limit(syndrome: u32) -> CmdError {
    CmdError::new(CmdStatus::LIM_ERR, syndrome)
}
