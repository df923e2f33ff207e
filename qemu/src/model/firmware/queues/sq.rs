//! CREATE_SQ, MODIFY_SQ, QUERY_SQ, DESTROY_SQ.
//!
//! An SQ is created in RST on an existing CQ, with a cyclic WQ of 64-byte
//! basic blocks whose doorbell rings on its `uar_page`; it executes WQEs only
//! in RDY (see `datapath`). Moving to RST rewinds its consumer counter to 0,
//! as the driver rewinds its producer counter.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::sq::{self as l, modify_bitmask, sqc};
use cxu_hal::ifc::commands::wq::{self as wq_l, state, wq_type};
use cxu_hal::ifc::wqe::SEND_WQE_BB;

use super::super::{Cmd, CmdError, CmdResult, Env, Firmware};
use super::wq::{self, WqContext};
use super::{bad_res, limit, limits, next_number, syndrome, WqInfo};

/// One send queue.
#[derive(Clone, Debug)]
pub struct Sq {
    /// The context as created (QUERY_SQ returns it with the live fields).
    ctx: [u8; l::SQC_SIZE],
    pub cqn: u32,
    pub uar: u32,
    pub state: u32,
    pub wq: WqContext,
    /// `tis_num_0`: 0 for an SQ that does not send to the wire (ICOSQ).
    pub tisn: u32,
    /// The next WQE counter (in basic blocks) firmware executes.
    pub cc: u16,
    pub wqes: u64,
}

impl Sq {
    pub fn info(&self, sqn: u32) -> WqInfo {
        WqInfo {
            num: sqn,
            cqn: self.cqn,
            state: self.state as u8,
            log_size: self.wq.buf.log_size,
            consumer_counter: self.cc,
            wqes: self.wqes,
            tis_or_counter: self.tisn,
            pd: self.wq.pd,
        }
    }
}

impl Firmware {
    pub(super) fn create_sq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let c = l::CTX_OFFSET;
        let get = |f: cxu_hal::ifc::Field| cmd.get(f.at(c));
        if self.queues.sqs.len() >= 1 << limits::LOG_MAX_SQ {
            return Err(limit(syndrome::SQ_LIMIT));
        }
        if get(sqc::STATE) as u32 != state::RST {
            return Err(CmdError::bad_param(syndrome::WQ_NOT_RST));
        }
        let cqn = get(sqc::CQN) as u32;
        if !self.queues.cqs.contains_key(&cqn) {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_CQN));
        }
        let bb = SEND_WQE_BB.trailing_zeros() as u8;
        let wq = wq::wq_context(env, cmd.input, c + l::WQ_OFFSET, l::PAS_OFFSET, bb..=bb)?;
        if wq.wq_type != wq_type::CYCLIC {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_TYPE));
        }
        if !self.uars.contains(&wq.uar) {
            return Err(CmdError::bad_param(
                super::super::syndrome::UAR_NOT_ALLOCATED,
            ));
        }
        // The TIS and PD the SQ names exist (the Ethernet objects, `eth.rs`).
        // An SQ that does not send to the wire names no TIS: mlx5e's ICOSQs
        // have `tis_lst_sz` 0 (and `tis_num_0` 0).
        let tisn = get(sqc::TIS_NUM_0) as u32;
        let tis_ok = match get(sqc::TIS_LST_SZ) {
            0 => tisn == 0,
            1 => self.eth.tis_exists(tisn),
            _ => false,
        };
        if !tis_ok || !self.eth.pd_exists(wq.pd) {
            return Err(super::super::objects::bad_reference());
        }
        let Some(sqn) = next_number(&mut self.queues.last_sqn, &self.queues.sqs) else {
            return Err(limit(syndrome::SQ_LIMIT));
        };
        let mut ctx = [0u8; l::SQC_SIZE];
        ctx.copy_from_slice(&cmd.input[c..c + l::SQC_SIZE]);
        self.queues.sqs.insert(
            sqn,
            Sq {
                ctx,
                cqn,
                uar: wq.uar,
                state: state::RST,
                wq,
                tisn,
                cc: 0,
                wqes: 0,
            },
        );
        env.ctl.history.lock().sqs_created += 1;
        let out = cmd.out_len(16);
        let _ = l::SQN.set(out, u64::from(sqn));
        Ok(())
    }

    pub(super) fn modify_sq(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let sqn = cmd.get(l::SQN) as u32;
        let cur = cmd.get(l::SQ_STATE) as u32;
        let c = l::CTX_OFFSET;
        let next = cmd.get(sqc::STATE.at(c)) as u32;
        let bitmask = cmd.get(l::MODIFY_BITMASK);
        let rl = cmd.get(sqc::PACKET_PACING_RATE_LIMIT_INDEX.at(c));
        let qos = cmd.get(sqc::QOS_QUEUE_GROUP_ID.at(c));
        let Some(sq) = self.queues.sqs.get_mut(&sqn) else {
            return Err(bad_res(syndrome::SQ_NOT_FOUND));
        };
        wq::transition(sq.state, cur, next)?;
        let known =
            modify_bitmask::PACKET_PACING_RATE_LIMIT_INDEX | modify_bitmask::QOS_QUEUE_GROUP_ID;
        if bitmask & !known != 0 {
            return Err(CmdError::bad_param(syndrome::WQ_BAD_MODIFY));
        }
        if bitmask & modify_bitmask::PACKET_PACING_RATE_LIMIT_INDEX != 0 {
            let _ = sqc::PACKET_PACING_RATE_LIMIT_INDEX.set(&mut sq.ctx, rl);
        }
        if bitmask & modify_bitmask::QOS_QUEUE_GROUP_ID != 0 {
            let _ = sqc::QOS_QUEUE_GROUP_ID.set(&mut sq.ctx, qos);
        }
        if next == state::RST {
            sq.cc = 0;
        }
        sq.state = next;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_sq(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let sqn = cmd.get(l::SQN) as u32;
        let Some(sq) = self.queues.sqs.get(&sqn) else {
            return Err(bad_res(syndrome::SQ_NOT_FOUND));
        };
        let out = cmd.out_len(l::QUERY_SQ_OUT_SIZE);
        let c = l::CTX_OFFSET;
        out[c..c + l::SQC_SIZE].copy_from_slice(&sq.ctx);
        let ctx = &mut out[c..c + l::SQC_SIZE];
        let _ = sqc::STATE.set(ctx, u64::from(sq.state));
        let _ = wq_l::HW_COUNTER.at(l::WQ_OFFSET).set(ctx, u64::from(sq.cc));
        Ok(())
    }

    pub(super) fn destroy_sq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let sqn = cmd.get(l::SQN) as u32;
        if self.queues.sqs.remove(&sqn).is_none() {
            return Err(bad_res(syndrome::SQ_NOT_FOUND));
        }
        env.ctl.history.lock().sqs_destroyed += 1;
        cmd.out_len(16);
        Ok(())
    }
}
