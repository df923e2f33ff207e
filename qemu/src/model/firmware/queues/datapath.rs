//! The data path: UAR doorbells other than the EQ's.
//!
//! * CQ doorbell (UAR offset 0x20, a 64-bit write of `{sn << 28 | cmd | ci,
//!   cqn}`, `mlx5_cq_arm`): arms the CQ (see `Firmware::cq_arm`).
//! * SQ doorbell: the first 8 bytes of the last WQE written to a BlueFlame
//!   buffer (UAR offset 0x800 + 256 n; `mlx5e_notify_hw` writes the control
//!   segment's `opmod_idx_opcode` and `qpn_ds`) after the producer counter in
//!   the second dword of the SQ's doorbell record. Firmware then executes the
//!   WQEs from its consumer counter up to that producer counter: each WQE
//!   spans `ceil(ds / 4)` 64-byte basic blocks; one that asks for a
//!   completion (`fm_ce_se` CQ_UPDATE) gets a requester CQE with its
//!   `wqe_counter`. A malformed WQE (wrong SQ number, `ds` 0, an opcode an
//!   Ethernet SQ has no use for) gets an error CQE and moves the SQ to ERR.
//!   A SEND or LSO WQE on an SQ with a TIS puts its frame (an LSO: its
//!   segments) on the wire (`send.rs` gathers it, `offload.rs` writes its
//!   checksums and cuts an LSO; `crate::model::wire` keeps them); one whose data
//!   segments name a bad lkey or address gets an error CQE
//!   (LOCAL_PROT_ERR) and moves the SQ to ERR.
//!
//! A 64-bit write arrives as two dword writes (low address first); the first
//! is kept until the second names the queue.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::wq::{dbr, state};
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::doorbell::{UAR_BF_OFFSET, UAR_CQ_DOORBELL};
use cxu_hal::ifc::wqe::{self, fm_ce_se, opcode as wqe_op};

use super::super::{Env, Firmware};
use super::cq::NewCqe;
use super::wq;

/// Size of one BlueFlame buffer: half of a `1 << LOG_BF_REG_SIZE` register.
const BF_BUF_SIZE: u64 = 1 << (super::limits::LOG_BF_REG_SIZE - 1);
/// End of the BlueFlame registers in a UAR page.
const UAR_BF_END: u64 = 0x1000;

/// WQE opcodes an Ethernet SQ or ICOSQ posts (mlx5e).
const KNOWN_OPCODES: &[u8] = &[
    wqe_op::NOP,
    wqe_op::SEND,
    wqe_op::SEND_IMM,
    wqe_op::LSO,
    wqe_op::SET_PSV,
    wqe_op::DUMP,
    wqe_op::UMR,
    wqe_op::ENHANCED_MPSW,
];

impl Firmware {
    /// A UAR write at `offset` of page `uar` that is not an EQ doorbell.
    pub(in crate::model::firmware) fn queue_doorbell(
        &mut self,
        env: &Env<'_>,
        uar: u32,
        offset: u64,
        value: u32,
    ) {
        let cq_db = UAR_CQ_DOORBELL as u64;
        let bf = UAR_BF_OFFSET as u64;
        let first = if offset == cq_db || offset == cq_db + 4 {
            cq_db
        } else if (bf..UAR_BF_END).contains(&offset) && (offset - bf) % BF_BUF_SIZE < 8 {
            offset - (offset - bf) % BF_BUF_SIZE
        } else {
            // BlueFlame copies of the rest of a WQE: firmware reads WQEs
            // from memory, so they carry nothing it needs.
            tracing::trace!(uar, offset, "UAR write ignored");
            return;
        };
        if offset == first {
            self.queues.latch.insert((uar, first), value);
            return;
        }
        let Some(low) = self.queues.latch.remove(&(uar, first)) else {
            tracing::debug!(uar, offset, "second half of a doorbell without its first");
            return;
        };
        if first == cq_db {
            let cqn = value & 0xFF_FFFF;
            if self.queues.cqs.get(&cqn).is_some_and(|c| c.uar == uar) {
                self.cq_arm(env, cqn, low);
            } else {
                tracing::debug!(uar, cqn, "CQ doorbell for a CQ not on this UAR ignored");
            }
        } else {
            self.sq_doorbell(env, uar, value >> 8);
        }
    }

    /// Executes SQ `sqn`'s WQEs up to the producer counter in its doorbell
    /// record.
    fn sq_doorbell(&mut self, env: &Env<'_>, uar: u32, sqn: u32) {
        let Some(sq) = self.queues.sqs.get(&sqn) else {
            tracing::debug!(uar, sqn, "SQ doorbell for an unknown SQ ignored");
            return;
        };
        if sq.uar != uar || !matches!(sq.state, state::RDY | state::ERR) {
            tracing::debug!(uar, sqn, state = sq.state, "SQ doorbell ignored");
            return;
        }
        let Some(pc) = wq::read_be32(env, sq.wq.dbr + dbr::SND) else {
            return;
        };
        let pc = pc as u16;
        if sq.state == state::ERR {
            // WQEs posted to an SQ in error are flushed, not executed.
            self.sq_flush(env, sqn, pc);
            return;
        }
        // At most one pass over the ring per doorbell, whatever the counter says.
        for _ in 0..sq.wq.buf.entries() {
            let Some(sq) = self.queues.sqs.get(&sqn) else {
                return;
            };
            if sq.cc == pc || sq.state != state::RDY {
                return;
            }
            let (cc, cqn) = (sq.cc, sq.cqn);
            let mut ctrl = [0u8; wqe::CTRL_SEG_SIZE];
            let read = sq
                .wq
                .buf
                .entry_addr(u32::from(cc))
                .is_some_and(|a| env.iommu.read(a, &mut ctrl).is_ok());
            let get = |f: cxu_hal::ifc::Field| f.get(&ctrl).unwrap_or(0);
            let (op, ds, flags) = (
                get(wqe::OPCODE) as u8,
                get(wqe::DS) as u32,
                get(wqe::FM_CE_SE) as u8,
            );
            let syndrome = if !read {
                Some(cqe::syndrome::LOCAL_PROT_ERR)
            } else if get(wqe::QPN) as u32 != sqn || ds == 0 || !KNOWN_OPCODES.contains(&op) {
                Some(cqe::syndrome::LOCAL_QP_OP_ERR)
            } else {
                None
            };
            let mut body = [0u8; cqe::CQE64_SIZE];
            let _ = cqe::SOP.set(&mut body, u64::from(op));
            let _ = cqe::QPN.set(&mut body, u64::from(sqn));
            let _ = cqe::WQE_COUNTER.set(&mut body, u64::from(cc));
            if let Some(s) = syndrome {
                self.sq_error(env, sqn, cqn, body, s, pc);
                return;
            }
            let bbs = wqe::wqebbs(ds) as u16;
            if pc.wrapping_sub(cc) < bbs {
                // The producer counter ends inside this WQE: not posted yet.
                return;
            }
            if matches!(op, wqe_op::SEND | wqe_op::LSO) && sq.tisn != 0 {
                let (buf, pd) = (&sq.wq.buf, sq.wq.pd);
                let mut bytes = vec![0u8; usize::from(bbs) * wqe::SEND_WQE_BB];
                let read = bytes
                    .chunks_mut(wqe::SEND_WQE_BB)
                    .enumerate()
                    .all(|(i, bb)| {
                        buf.entry_addr(u32::from(cc.wrapping_add(i as u16)))
                            .is_some_and(|a| env.iommu.read(a, bb).is_ok())
                    });
                bytes.truncate(ds as usize * wqe::SEND_WQE_DS);
                let frames = if read {
                    super::send::frames(env, &self.eth, pd, op, &bytes)
                } else {
                    Err(cqe::syndrome::LOCAL_PROT_ERR)
                };
                match frames {
                    Ok(frames) => {
                        for bytes in frames {
                            self.transmit(env, sqn, bytes);
                        }
                    }
                    Err(s) => {
                        self.sq_error(env, sqn, cqn, body, s, pc);
                        return;
                    }
                }
            }
            if let Some(sq) = self.queues.sqs.get_mut(&sqn) {
                sq.cc = cc.wrapping_add(bbs);
                sq.wqes += 1;
            }
            if flags & fm_ce_se::CQ_UPDATE != 0 {
                let e = NewCqe {
                    body,
                    opcode: cqe::opcode::REQ,
                    solicited: flags & fm_ce_se::SOLICITED != 0,
                };
                self.post_cqe(env, cqn, &e);
            }
        }
    }

    /// A WQE SQ `sqn` cannot execute: an error CQE with `syndrome` (always
    /// written, whatever the WQE asked), the SQ to ERR, and every WQE posted
    /// after it, up to the producer counter `pc`, flushed.
    fn sq_error(
        &mut self,
        env: &Env<'_>,
        sqn: u32,
        cqn: u32,
        mut body: [u8; 64],
        syndrome: u8,
        pc: u16,
    ) {
        let cc = cqe::WQE_COUNTER.get(&body).unwrap_or(0);
        tracing::warn!(sqn, cc, syndrome, "bad send WQE: SQ to error");
        let _ = cqe::ERR_SYNDROME.set(&mut body, u64::from(syndrome));
        let Some(sq) = self.queues.sqs.get_mut(&sqn) else {
            return;
        };
        sq.state = state::ERR;
        // The failed WQE is consumed with its CQE, never past the producer
        // counter (a malformed WQE's `ds` may claim more than was posted; a
        // consumer counter past the producer's would flush a whole ring of
        // WQEs that were never posted).
        let bbs = Self::wqe_bbs(env, sq, sq.cc).min(pc.wrapping_sub(sq.cc));
        sq.cc = sq.cc.wrapping_add(bbs);
        let e = NewCqe {
            body,
            opcode: cqe::opcode::REQ_ERR,
            solicited: false,
        };
        self.post_cqe(env, cqn, &e);
        self.sq_flush(env, sqn, pc);
    }

    /// WQEBBs of the WQE at counter `cc` of `sq` by its control segment's
    /// `ds` (1 if it cannot be read or says 0).
    fn wqe_bbs(env: &Env<'_>, sq: &super::sq::Sq, cc: u16) -> u16 {
        let mut ctrl = [0u8; wqe::CTRL_SEG_SIZE];
        let ds = sq
            .wq
            .buf
            .entry_addr(u32::from(cc))
            .filter(|&a| env.iommu.read(a, &mut ctrl).is_ok())
            .map_or(0, |_| wqe::DS.get(&ctrl).unwrap_or(0) as u32);
        (wqe::wqebbs(ds) as u16).max(1)
    }

    /// Completes SQ `sqn`'s WQEs from its consumer counter up to `pc` with
    /// flush errors (REQ_ERR, WR_FLUSH_ERR; a WQE in error always gets its
    /// CQE): an SQ in ERR executes nothing, and mlx5e's recovery waits until
    /// its consumer counter reaches the producer's (`mlx5e_wait_for_sq_flush`).
    fn sq_flush(&mut self, env: &Env<'_>, sqn: u32, pc: u16) {
        let Some(sq) = self.queues.sqs.get(&sqn) else {
            return;
        };
        let cqn = sq.cqn;
        for _ in 0..sq.wq.buf.entries() {
            let Some(sq) = self.queues.sqs.get_mut(&sqn) else {
                return;
            };
            let cc = sq.cc;
            if cc == pc {
                return;
            }
            let bbs = Self::wqe_bbs(env, sq, cc).min(pc.wrapping_sub(cc));
            sq.cc = cc.wrapping_add(bbs);
            let mut body = [0u8; cqe::CQE64_SIZE];
            let _ = cqe::QPN.set(&mut body, u64::from(sqn));
            let _ = cqe::WQE_COUNTER.set(&mut body, u64::from(cc));
            let _ = cqe::ERR_SYNDROME.set(&mut body, u64::from(cqe::syndrome::WR_FLUSH_ERR));
            let e = NewCqe {
                body,
                opcode: cqe::opcode::REQ_ERR,
                solicited: false,
            };
            self.post_cqe(env, cqn, &e);
        }
    }

    /// A frame leaves through the function's port: the vport's transmit
    /// counters (by destination address) and the wire.
    fn transmit(&mut self, env: &Env<'_>, sqn: u32, bytes: Vec<u8>) {
        self.eth.vport_counters.count_tx(&bytes);
        env.ctl
            .wire
            .lock()
            .transmitted(crate::model::wire::TxFrame {
                port: 1,
                sqn,
                bytes,
            });
    }
}
