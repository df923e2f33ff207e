//! CREATE_TIR, MODIFY_TIR, DESTROY_TIR: the receive side's transport objects
//! flow-table entries forward to. A TIR names an existing transport domain
//! and either one existing RQ (`disp_type` direct, `inline_rqn`) or an
//! existing RQT (indirect, `indirect_table`, with a hash function of none,
//! XOR8 or Toeplitz). LRO/packet merge and TLS are BAD_PARAM (not
//! advertised). MODIFY changes what its bitmask names (`self_lb_en`, `hash`,
//! `indirect_table`, `tunneled_offload_en`); a TIR an FTE forwards to cannot be
//! destroyed (RES_BUSY), an RQT a TIR names cannot either.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::tir::{self as t, tirc, tirc::disp_type};
use cxu_hal::ifc::Field;

use super::eth::Eth;
use super::objects::{bad_field, bad_reference, in_use, not_found};
use super::rss::{self, Hash};
use super::{Cmd, CmdResult};

/// Highest `rx_hash_fn` (2: Toeplitz).
const MAX_HASH_FN: u64 = 2;

/// Where a TIR delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TirTarget {
    /// One RQ.
    Rq(u32),
    /// An RQT.
    Rqt(u32),
}

/// A TIR.
#[derive(Clone, Debug)]
pub struct Tir {
    /// Its transport domain.
    pub td: u32,
    /// Its RQ or RQT.
    pub target: TirTarget,
    /// `rx_hash_fn`.
    pub hash_fn: u8,
    /// `self_lb_block`.
    pub self_lb_block: u8,
    /// `tunneled_offload_en`.
    pub tunneled: bool,
    /// The hashed fields (outer, inner selectors) and the Toeplitz key.
    pub hash: ([u32; 2], [u8; 40]),
    /// `rx_hash_symmetric`.
    pub symmetric: bool,
}

fn hash_of(ctx: &[u8]) -> ([u32; 2], [u8; 40]) {
    let mut key = [0u8; 40];
    let at = tirc::RX_HASH_TOEPLITZ_KEY;
    key.copy_from_slice(&ctx[at..at + 40]);
    let sel = |f: Field| f.get(ctx).unwrap_or(0) as u32;
    (
        [
            sel(tirc::RX_HASH_FIELD_SELECTOR_OUTER),
            sel(tirc::RX_HASH_FIELD_SELECTOR_INNER),
        ],
        key,
    )
}

/// Where receive steering delivers a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxTarget {
    /// The RQ.
    pub rqn: u32,
    /// Its hash (zero unless an indirect Toeplitz TIR computed one).
    pub hash: Hash,
}

impl Eth {
    fn tir_ctx<'a>(cmd: &'a Cmd<'_>) -> &'a [u8] {
        // The dispatcher checked the input holds the whole context.
        &cmd.input[t::CTX_OFFSET..t::TIR_IN_SIZE]
    }

    pub(super) fn create_tir(
        &mut self,
        cmd: &mut Cmd<'_>,
        rq_exists: &dyn Fn(u32) -> bool,
    ) -> CmdResult {
        let ctx = Self::tir_ctx(cmd);
        let c = |f: Field| f.get(ctx).unwrap_or(0);
        if c(tirc::TLS_EN) != 0
            || c(tirc::PACKET_MERGE_MASK) != 0
            || c(tirc::RX_HASH_FN) > MAX_HASH_FN
        {
            return Err(bad_field());
        }
        let td = c(tirc::TRANSPORT_DOMAIN) as u32;
        if !self.tds.contains(td) {
            return Err(bad_reference());
        }
        let target = match c(tirc::DISP_TYPE) {
            disp_type::DIRECT => {
                let rqn = c(tirc::INLINE_RQN) as u32;
                if !rq_exists(rqn) {
                    return Err(bad_reference());
                }
                TirTarget::Rq(rqn)
            }
            disp_type::INDIRECT => {
                let rqtn = c(tirc::INDIRECT_TABLE) as u32;
                if !self.rqts.contains(rqtn) {
                    return Err(bad_reference());
                }
                TirTarget::Rqt(rqtn)
            }
            _ => return Err(bad_field()),
        };
        let tir = Tir {
            td,
            target,
            hash_fn: c(tirc::RX_HASH_FN) as u8,
            self_lb_block: c(tirc::SELF_LB_BLOCK) as u8,
            tunneled: c(tirc::TUNNELED_OFFLOAD_EN) != 0,
            hash: hash_of(ctx),
            symmetric: c(tirc::RX_HASH_SYMMETRIC) != 0,
        };
        let n = self.tirs.insert(tir)?;
        let out = cmd.out_len(16);
        let _ = t::TIRN.set(out, u64::from(n));
        Ok(())
    }

    pub(super) fn modify_tir(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let ctx = Self::tir_ctx(cmd);
        let c = |f: Field| f.get(ctx).unwrap_or(0);
        let mask = cmd.get(t::BITMASK);
        let n = cmd.get(t::TIRN) as u32;
        let Some(old) = self.tirs.get(n) else {
            return Err(not_found());
        };
        let mut tir = old.clone();
        if mask & t::BITMASK_PACKET_MERGE != 0 && c(tirc::PACKET_MERGE_MASK) != 0 {
            return Err(bad_field());
        }
        if mask & t::BITMASK_SELF_LB_EN != 0 {
            tir.self_lb_block = c(tirc::SELF_LB_BLOCK) as u8;
        }
        if mask & t::BITMASK_HASH != 0 {
            if c(tirc::RX_HASH_FN) > MAX_HASH_FN {
                return Err(bad_field());
            }
            tir.hash_fn = c(tirc::RX_HASH_FN) as u8;
            tir.hash = hash_of(ctx);
            tir.symmetric = c(tirc::RX_HASH_SYMMETRIC) != 0;
        }
        if mask & t::BITMASK_TUNNELED_OFFLOAD_EN != 0 {
            tir.tunneled = c(tirc::TUNNELED_OFFLOAD_EN) != 0;
        }
        if mask & t::BITMASK_INDIRECT_TABLE != 0 {
            let rqtn = c(tirc::INDIRECT_TABLE) as u32;
            if !matches!(tir.target, TirTarget::Rqt(_)) {
                return Err(bad_field());
            }
            if !self.rqts.contains(rqtn) {
                return Err(bad_reference());
            }
            tir.target = TirTarget::Rqt(rqtn);
        }
        *self.tirs.get_mut(n)? = tir;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn destroy_tir(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let n = cmd.get(t::TIRN) as u32;
        if !self.tirs.contains(n) {
            return Err(not_found());
        }
        if self.flow.forwards_to_tir(n) {
            return Err(in_use());
        }
        self.tirs.remove(n)?;
        cmd.out_len(16);
        Ok(())
    }

    /// The RQ receive steering delivers `frame` to: the TIR the NIC RX
    /// flow tables send it to (`steering.rs`), then that TIR's RQ, or the
    /// entry of its RQT the frame's Toeplitz hash picks (`rss.rs`; the
    /// first for another hash function).
    pub fn rx_rq(&self, frame: &[u8]) -> Option<RxTarget> {
        let super::steering::Steered::Tir(n) = self.flow.steer(frame) else {
            return None;
        };
        let tir = self.tirs.get(n)?;
        match tir.target {
            TirTarget::Rq(rqn) => Some(RxTarget {
                rqn,
                hash: Hash::default(),
            }),
            TirTarget::Rqt(t) => {
                let rqs = &self.rqts.get(t)?.rqs;
                let hash = if u64::from(tir.hash_fn) == tirc::hash_fn::TOEPLITZ {
                    let (sel, key) = &tir.hash;
                    rss::hash(sel[0], tir.symmetric, key, frame)
                } else {
                    Hash::default()
                };
                let at = hash.value as usize % rqs.len().max(1);
                Some(RxTarget {
                    rqn: *rqs.get(at)?,
                    hash,
                })
            }
        }
    }

    /// Whether a TIR delivers to RQ `rqn` or an RQT lists it.
    pub fn rq_in_use(&self, rqn: u32) -> bool {
        self.tirs
            .iter()
            .any(|(_, t)| t.target == TirTarget::Rq(rqn))
            || self.rqts.iter().any(|(_, r)| r.rqs.contains(&rqn))
    }
}
