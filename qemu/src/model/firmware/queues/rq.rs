//! CREATE_RQ, MODIFY_RQ, QUERY_RQ, DESTROY_RQ.
//!
//! An RQ is created in RST on an existing CQ, with a cyclic or striding WQ
//! whose producer counter is the first dword of its doorbell record (there is
//! no UAR doorbell for receive queues). Frames a test delivers fill its WQEs
//! in order (`recv.rs`); MODIFY_RQ changes its state, `vsd`, `scatter_fcs`
//! and counter set as `modify_bitmask` says, and moving to RST rewinds its
//! consumer counter to 0, as the driver rewinds its producer counter.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::rq::{self as l, modify_bitmask, rqc};
use cxu_hal::ifc::commands::wq::{state, wq_type};

use super::super::{Cmd, CmdError, CmdResult, Env, Firmware};
use super::wq::{self, WqContext};
use super::{bad_res, limit, limits, next_number, syndrome, WqInfo};

/// One receive queue.
#[derive(Clone, Debug)]
pub struct Rq {
    /// The context as created, with MODIFY_RQ's changes.
    ctx: [u8; l::RQC_SIZE],
    pub cqn: u32,
    pub state: u32,
    pub wq: WqContext,
    /// The next WQE counter a received frame takes.
    pub cc: u16,
    /// Frames received.
    pub received: u64,
}

impl Rq {
    /// The Q counter set it counts into (0: none).
    pub fn counter_set(&self) -> u32 {
        rqc::COUNTER_SET_ID.get(&self.ctx).unwrap_or(0) as u32
    }

    /// Whether it strips a received frame's 802.1Q tag into the CQE
    /// (`vsd`, VLAN strip disable, clear; `vlan_cap` is advertised).
    pub fn strips_vlan(&self) -> bool {
        rqc::VSD.get(&self.ctx).unwrap_or(1) == 0
    }

    pub fn info(&self, rqn: u32) -> WqInfo {
        WqInfo {
            num: rqn,
            cqn: self.cqn,
            state: self.state as u8,
            log_size: self.wq.buf.log_size,
            consumer_counter: self.cc,
            wqes: self.received,
            tis_or_counter: self.counter_set(),
            pd: self.wq.pd,
        }
    }
}

impl Firmware {
    pub(super) fn create_rq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let c = l::CTX_OFFSET;
        let get = |f: cxu_hal::ifc::Field| cmd.get(f.at(c));
        if self.queues.rqs.len() >= 1 << limits::LOG_MAX_RQ {
            return Err(limit(syndrome::RQ_LIMIT));
        }
        if get(rqc::STATE) as u32 != state::RST {
            return Err(CmdError::bad_param(syndrome::WQ_NOT_RST));
        }
        if get(rqc::MEM_RQ_TYPE) != 0 {
            return Err(CmdError::bad_param(syndrome::RQ_BAD_MEM_TYPE));
        }
        let cqn = get(rqc::CQN) as u32;
        if !self.queues.cqs.contains_key(&cqn) {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_CQN));
        }
        // A cyclic RQ's WQE is 16 bytes per scatter entry (up to 16 of
        // them); a striding RQ's is its 16-byte header plus entries.
        let wq = wq::wq_context(env, cmd.input, c + l::WQ_OFFSET, l::PAS_OFFSET, 4..=12)?;
        if !matches!(
            wq.wq_type,
            wq_type::CYCLIC | wq_type::LINKED_LIST_STRIDING_RQ
        ) {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_TYPE));
        }
        // A PD and Q counter the RQ names exist; mlx5e's drop RQ names
        // neither (0), its channel RQs both.
        let counter = get(rqc::COUNTER_SET_ID) as u32;
        if (wq.pd != 0 && !self.eth.pd_exists(wq.pd))
            || (counter != 0 && !self.eth.q_counter_exists(counter))
        {
            return Err(super::super::objects::bad_reference());
        }
        let Some(rqn) = next_number(&mut self.queues.last_rqn, &self.queues.rqs) else {
            return Err(limit(syndrome::RQ_LIMIT));
        };
        let mut ctx = [0u8; l::RQC_SIZE];
        ctx.copy_from_slice(&cmd.input[c..c + l::RQC_SIZE]);
        self.queues.rqs.insert(
            rqn,
            Rq {
                ctx,
                cqn,
                state: state::RST,
                wq,
                cc: 0,
                received: 0,
            },
        );
        env.ctl.history.lock().rqs_created += 1;
        let out = cmd.out_len(16);
        let _ = l::RQN.set(out, u64::from(rqn));
        Ok(())
    }

    pub(super) fn modify_rq(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let rqn = cmd.get(l::RQN) as u32;
        let cur = cmd.get(l::RQ_STATE) as u32;
        let c = l::CTX_OFFSET;
        let next = cmd.get(rqc::STATE.at(c)) as u32;
        let bitmask = cmd.get(l::MODIFY_BITMASK);
        let fields = [
            (modify_bitmask::VSD, rqc::VSD),
            (modify_bitmask::SCATTER_FCS, rqc::SCATTER_FCS),
            (modify_bitmask::RQ_COUNTER_SET_ID, rqc::COUNTER_SET_ID),
        ]
        .map(|(bit, f)| (bit, f, cmd.get(f.at(c))));
        let Some(rq) = self.queues.rqs.get_mut(&rqn) else {
            return Err(bad_res(syndrome::RQ_NOT_FOUND));
        };
        wq::transition(rq.state, cur, next)?;
        let known = fields.iter().fold(0, |a, (bit, _, _)| a | bit);
        if bitmask & !known != 0 {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_MODIFY));
        }
        for (bit, f, v) in fields {
            if bitmask & bit != 0 {
                let _ = f.set(&mut rq.ctx, v);
            }
        }
        if next == state::RST {
            rq.cc = 0;
        }
        rq.state = next;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_rq(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let rqn = cmd.get(l::RQN) as u32;
        let Some(rq) = self.queues.rqs.get(&rqn) else {
            return Err(bad_res(syndrome::RQ_NOT_FOUND));
        };
        let out = cmd.out_len(l::QUERY_RQ_OUT_SIZE);
        let c = l::CTX_OFFSET;
        out[c..c + l::RQC_SIZE].copy_from_slice(&rq.ctx);
        let _ = rqc::STATE.at(c).set(out, u64::from(rq.state));
        Ok(())
    }

    pub(super) fn destroy_rq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let rqn = cmd.get(l::RQN) as u32;
        if !self.queues.rqs.contains_key(&rqn) {
            return Err(bad_res(syndrome::RQ_NOT_FOUND));
        }
        // A TIR delivering to it or an RQT listing it keeps it (RES_BUSY).
        if self.eth.rq_in_use(rqn) {
            return Err(super::super::objects::in_use());
        }
        self.queues.rqs.remove(&rqn);
        env.ctl.history.lock().rqs_destroyed += 1;
        cmd.out_len(16);
        Ok(())
    }
}
