//! CREATE_CQ, DESTROY_CQ, QUERY_CQ, MODIFY_CQ, and writing CQEs.
//!
//! A CQ lives in host memory at its `pas` pages. Firmware writes CQE `pi` at
//! `(pi mod size) * cqe_size` (the 64 CQE bytes in the last 64 of a 128-byte
//! CQE) with owner bit `(pi >> log_size) & 1`, the body first and `op_own`
//! last. The consumer index is the 24-bit counter software keeps in the first
//! dword of the doorbell record; a CQE that would overwrite one not yet
//! consumed is dropped and counted as an overrun. An armed CQ posts one
//! completion EQE (type 0, its `cqn`) on its EQ for the next CQE and
//! disarms: see [`Firmware::cq_arm`].
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::cq::{self as l, cqc, cqe_sz, modify, modify_op};
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::eqe::{self, EventType};
use cxu_hal::ifc::CmdStatus;

use super::super::{Cmd, CmdError, CmdResult, Env, Firmware};
use super::wq::{self, Buffer};
use super::{bad_res, limit, limits, next_number, syndrome, CqInfo};

/// One completion queue.
#[derive(Clone, Debug)]
pub struct Cq {
    /// The context as created (QUERY_CQ returns it with the live fields).
    ctx: [u8; l::CQC_SIZE],
    buf: Buffer,
    /// CQE size in bytes.
    cqe_size: u16,
    pub eqn: u8,
    pub uar: u32,
    dbr: u64,
    /// CQEs written, free running.
    pi: u32,
    /// Armed for the next CQE (or, `solicited`, the next solicited one).
    armed: bool,
    solicited: bool,
    /// The arm sequence number of the arming being served.
    arm_sn: u32,
    /// The sequence number of the arming that last fired: an arm doorbell
    /// carrying it again is stale (the driver counts one per event).
    fired_sn: Option<u32>,
    last_notified: u32,
    events: u64,
    overruns: u64,
}

impl Cq {
    pub fn info(&self, cqn: u32) -> CqInfo {
        CqInfo {
            cqn,
            eqn: self.eqn,
            log_size: self.buf.log_size,
            cqe_size: self.cqe_size,
            producer_index: self.pi,
            armed: self.armed,
            events: self.events,
            overruns: self.overruns,
        }
    }

    /// The consumer index software last wrote to the doorbell record,
    /// extended against the producer index (24 bits on the wire).
    fn consumer_index(&self, env: &Env<'_>) -> u32 {
        let ci24 = wq::read_be32(env, self.dbr).unwrap_or(0) & 0xFF_FFFF;
        let behind = self.pi.wrapping_sub(ci24) & 0xFF_FFFF;
        self.pi.wrapping_sub(behind)
    }
}

/// A CQE to write: the 64 bytes but `op_own`, and the CQE opcode.
pub struct NewCqe {
    pub body: [u8; cqe::CQE64_SIZE],
    pub opcode: u8,
    /// From a WQE that asked for a solicited event.
    pub solicited: bool,
}

impl Firmware {
    pub(super) fn create_cq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let c = l::CQ_CONTEXT_OFFSET;
        let get = |f: cxu_hal::ifc::Field| cmd.get(f.at(c));
        if self.queues.cqs.len() >= 1 << limits::LOG_MAX_CQ {
            return Err(limit(syndrome::CQ_LIMIT));
        }
        let log_size = get(cqc::LOG_CQ_SIZE) as u8;
        let (cqe_size, log_stride) = match get(cqc::CQE_SZ) as u32 {
            cqe_sz::BYTES_64 => (64u16, 6u8),
            cqe_sz::BYTES_128 => (128, 7),
            _ => return Err(CmdError::bad_param(syndrome::CQ_SIZE)),
        };
        if log_size > limits::LOG_MAX_CQ_SZ {
            return Err(CmdError::bad_param(syndrome::CQ_SIZE));
        }
        let uar = get(cqc::UAR_PAGE) as u32;
        if !self.uars.contains(&uar) {
            return Err(CmdError::bad_param(
                super::super::syndrome::UAR_NOT_ALLOCATED,
            ));
        }
        let eqn = get(cqc::C_EQN);
        let eqn = match u8::try_from(eqn) {
            Ok(n) if self.eqs.contains(n) => n,
            _ => return Err(CmdError::bad_param(syndrome::CQ_BAD_EQN)),
        };
        if get(cqc::PAGE_OFFSET) != 0 {
            return Err(CmdError::bad_param(syndrome::BAD_PAGE_SIZE));
        }
        let buf = wq::buffer(
            env,
            cmd.input,
            l::PAS_OFFSET,
            log_size,
            log_stride,
            get(cqc::LOG_PAGE_SIZE),
        )?;
        let dbr = wq::doorbell_record(env, get(cqc::DBR_ADDR))?;
        let Some(cqn) = next_number(&mut self.queues.last_cqn, &self.queues.cqs) else {
            return Err(limit(syndrome::CQ_LIMIT));
        };
        let mut ctx = [0u8; l::CQC_SIZE];
        ctx.copy_from_slice(&cmd.input[c..c + l::CQC_SIZE]);
        self.queues.cqs.insert(
            cqn,
            Cq {
                ctx,
                buf,
                cqe_size,
                eqn,
                uar,
                dbr,
                pi: 0,
                armed: false,
                solicited: false,
                arm_sn: 0,
                fired_sn: None,
                last_notified: 0,
                events: 0,
                overruns: 0,
            },
        );
        env.ctl.history.lock().cqs_created += 1;
        let out = cmd.out_len(16);
        let _ = l::CQN.set(out, u64::from(cqn));
        Ok(())
    }

    pub(super) fn destroy_cq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let cqn = cmd.get(l::CQN) as u32;
        if !self.queues.cqs.contains_key(&cqn) {
            return Err(bad_res(syndrome::CQ_NOT_FOUND));
        }
        if self.queues.cq_in_use(cqn) {
            return Err(CmdError::new(CmdStatus::RES_BUSY, syndrome::CQ_IN_USE));
        }
        self.queues.cqs.remove(&cqn);
        env.ctl.history.lock().cqs_destroyed += 1;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_cq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let cqn = cmd.get(l::CQN) as u32;
        let Some(cq) = self.queues.cqs.get(&cqn) else {
            return Err(bad_res(syndrome::CQ_NOT_FOUND));
        };
        let ci = cq.consumer_index(env);
        let out = cmd.out_len(l::QUERY_CQ_OUT_SIZE);
        let c = l::CQ_CONTEXT_OFFSET;
        out[c..c + l::CQC_SIZE].copy_from_slice(&cq.ctx);
        let ctx = &mut out[c..c + l::CQC_SIZE];
        // Arm states of `cqc.st` (mlx5_ifc): 0x9 armed, 0x6 armed for
        // solicited, 0xA fired.
        let st = match (cq.armed, cq.solicited) {
            (true, false) => 0x9,
            (true, true) => 0x6,
            (false, _) => 0xA,
        };
        let _ = cqc::ST.set(ctx, st);
        let _ = cqc::PRODUCER_COUNTER.set(ctx, u64::from(cq.pi & 0xFF_FFFF));
        let _ = cqc::CONSUMER_COUNTER.set(ctx, u64::from(ci & 0xFF_FFFF));
        let _ = cqc::LAST_NOTIFIED_INDEX.set(ctx, u64::from(cq.last_notified & 0xFF_FFFF));
        Ok(())
    }

    pub(super) fn modify_cq(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let cqn = cmd.get(l::CQN) as u32;
        let select = cmd.get(l::MODIFY_FIELD_SELECT) as u32;
        let c = l::CQ_CONTEXT_OFFSET;
        let new = [
            cqc::CQ_PERIOD,
            cqc::CQ_MAX_COUNT,
            cqc::OI,
            cqc::CQ_PERIOD_MODE,
        ]
        .map(|f| cmd.get(f.at(c)));
        let Some(cq) = self.queues.cqs.get_mut(&cqn) else {
            return Err(bad_res(syndrome::CQ_NOT_FOUND));
        };
        // Resizing (op_mod 1, `cq_resize`) is not advertised.
        let known = modify::PERIOD | modify::COUNT | modify::OVERRUN | modify::PERIOD_MODE;
        if cmd.op_mod != modify_op::MODIFY || select & !known != 0 {
            return Err(CmdError::bad_param(syndrome::CQ_BAD_MODIFY));
        }
        for (bit, (f, v)) in [
            modify::PERIOD,
            modify::COUNT,
            modify::OVERRUN,
            modify::PERIOD_MODE,
        ]
        .into_iter()
        .zip(
            [
                cqc::CQ_PERIOD,
                cqc::CQ_MAX_COUNT,
                cqc::OI,
                cqc::CQ_PERIOD_MODE,
            ]
            .into_iter()
            .zip(new),
        ) {
            if select & bit != 0 {
                let _ = f.set(&mut cq.ctx, v);
            }
        }
        cmd.out_len(16);
        Ok(())
    }

    /// Writes a CQE to CQ `cqn` and, if the CQ is armed for it, posts its
    /// completion event. Returns false if the CQE was dropped (no such CQ,
    /// the CQ full, or the write faulted).
    pub(super) fn post_cqe(&mut self, env: &Env<'_>, cqn: u32, cqe_in: &NewCqe) -> bool {
        let Some(cq) = self.queues.cqs.get_mut(&cqn) else {
            return false;
        };
        let ci = cq.consumer_index(env);
        if cq.pi.wrapping_sub(ci) >= cq.buf.entries() {
            cq.overruns += 1;
            tracing::warn!(cqn, "CQ overrun: CQE dropped");
            return false;
        }
        let Some(entry) = cq.buf.entry_addr(cq.pi) else {
            return false;
        };
        // The 64 CQE bytes are the last 64 of a 128-byte CQE.
        let at = entry + u64::from(cq.cqe_size) - cqe::CQE64_SIZE as u64;
        let owner = ((cq.pi >> cq.buf.log_size) & 1) as u8;
        let body = &cqe_in.body[..cqe::OP_OWN_OFFSET];
        if env.iommu.write(at, body).is_err()
            || env
                .iommu
                .write_u8_release(
                    at + cqe::OP_OWN_OFFSET as u64,
                    cqe::op_own(cqe_in.opcode, owner),
                )
                .is_err()
        {
            return false;
        }
        cq.pi = cq.pi.wrapping_add(1);
        env.ctl.history.lock().cqes_posted += 1;
        if cq.armed && (!cq.solicited || cqe_in.solicited) {
            self.notify(env, cqn);
        }
        true
    }

    /// The CQ arm doorbell: `word` is `sn << 28 | cmd | ci` (`mlx5_cq_arm`).
    /// Arming with CQEs past `ci` already written notifies at once; otherwise
    /// the next CQE does. One event per arming: the driver advances `sn` for
    /// each event it takes, so an arm with the sequence number of the arming
    /// that last fired is a stale one and is ignored.
    pub(super) fn cq_arm(&mut self, env: &Env<'_>, cqn: u32, word: u32) {
        let Some(cq) = self.queues.cqs.get_mut(&cqn) else {
            tracing::debug!(cqn, "CQ arm doorbell for an unknown CQ ignored");
            return;
        };
        let sn = (word >> 28) & 3;
        if !cq.armed && cq.fired_sn == Some(sn) {
            tracing::debug!(cqn, sn, "stale CQ arm ignored");
            return;
        }
        let solicited = word & cxu_hal::ifc::doorbell::CQ_DB_REQ_NOT_SOL != 0;
        let ci24 = word & 0xFF_FFFF;
        let behind = cq.pi.wrapping_sub(ci24) & 0xFF_FFFF;
        cq.armed = true;
        cq.solicited = solicited;
        cq.arm_sn = sn;
        if behind != 0 && !solicited {
            self.notify(env, cqn);
        }
    }

    /// Posts the completion EQE of CQ `cqn` on its EQ and disarms it.
    fn notify(&mut self, env: &Env<'_>, cqn: u32) {
        let Some(cq) = self.queues.cqs.get_mut(&cqn) else {
            return;
        };
        cq.armed = false;
        cq.fired_sn = Some(cq.arm_sn);
        cq.last_notified = cq.pi;
        cq.events += 1;
        let eqn = cq.eqn;
        let data = crate::model::event_data(&[(eqe::COMP_CQN, u64::from(cqn))]);
        if !self.eqs.post_to(env, eqn, EventType::COMP, 0, data) {
            tracing::warn!(cqn, eqn, "completion event dropped");
        }
    }
}
