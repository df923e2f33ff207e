//! The objects a client allocates before any queue: protection domains,
//! transport domains, Q counters and memory keys.
//!
//! * ALLOC_PD / DEALLOC_PD, ALLOC_TRANSPORT_DOMAIN / DEALLOC_TRANSPORT_DOMAIN:
//!   numbers unique per type; a PD an mkey or TIS names, or a TD a TIS or TIR
//!   names, cannot be freed (RES_BUSY).
//! * ALLOC_Q_COUNTER / DEALLOC_Q_COUNTER / QUERY_Q_COUNTER: up to `max_qp_cnt`
//!   sets, numbered from 1 (mlx5e takes 0 for "none"); the counters read as
//!   the model counted them (`out_of_buffer`: frames delivered to an RQ of
//!   the set with no WQE posted, `queues/recv.rs`) and `clear` zeroes them; a set an RQ counts
//!   into cannot be freed, nor a PD an SQ or RQ names.
//! * CREATE_MKEY / DESTROY_MKEY: physical-address keys only (access mode PA,
//!   what mlx5e creates with `length64` for its whole-memory key); its PD must
//!   exist. A translated (MTT/KLM) key, a UMR-enabled key or a umem is
//!   BAD_PARAM: the model has no translation tables, and advertises no UMR.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::transport as t;
use cxu_hal::ifc::commands::transport::mkc;

use super::eth::Eth;
use super::objects::{bad_field, bad_reference, in_use};
use super::{Cmd, CmdResult};

/// A memory key.
#[derive(Clone, Debug)]
pub struct Mkey {
    /// Its protection domain.
    pub pd: u32,
    /// `mkey_7_0`: the key byte of the full mkey (`index << 8 | key`) a
    /// data segment's `lkey` must carry.
    pub key: u8,
}

/// A Q counter set.
#[derive(Clone, Debug, Default)]
pub struct QCounter {
    /// `out_of_buffer`: packets dropped for lack of a receive WQE.
    pub out_of_buffer: u32,
}

fn out_number(cmd: &mut Cmd<'_>, f: cxu_hal::ifc::Field, n: u32) {
    let out = cmd.out_len(16);
    // Numbers are below the field's width by construction of the tables.
    let _ = f.set(out, u64::from(n));
}

impl Eth {
    pub(super) fn alloc_pd(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let n = self.pds.insert(())?;
        out_number(cmd, t::PD, n);
        Ok(())
    }

    /// DEALLOC_PD; `queue_uses`: an SQ or RQ names the PD.
    pub(super) fn dealloc_pd(&mut self, cmd: &mut Cmd<'_>, queue_uses: bool) -> CmdResult {
        let pd = cmd.get(t::PD) as u32;
        if !self.pds.contains(pd) {
            return Err(super::objects::not_found());
        }
        if queue_uses || self.pd_in_use(pd) {
            return Err(in_use());
        }
        self.pds.remove(pd)?;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn alloc_td(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let n = self.tds.insert(())?;
        out_number(cmd, t::TRANSPORT_DOMAIN, n);
        Ok(())
    }

    pub(super) fn dealloc_td(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let td = cmd.get(t::TRANSPORT_DOMAIN) as u32;
        if !self.tds.contains(td) {
            return Err(super::objects::not_found());
        }
        if self.tises.iter().any(|(_, x)| x.td == td) || self.tirs.iter().any(|(_, x)| x.td == td) {
            return Err(in_use());
        }
        self.tds.remove(td)?;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn alloc_q_counter(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let n = self.q_counters.insert(QCounter::default())?;
        out_number(cmd, t::COUNTER_SET_ID, n);
        Ok(())
    }

    /// DEALLOC_Q_COUNTER; `rq_uses`: an RQ counts into the set.
    pub(super) fn dealloc_q_counter(&mut self, cmd: &mut Cmd<'_>, rq_uses: bool) -> CmdResult {
        let id = cmd.get(t::COUNTER_SET_ID) as u32;
        if !self.q_counters.contains(id) {
            return Err(super::objects::not_found());
        }
        if rq_uses {
            return Err(in_use());
        }
        self.q_counters.remove(id)?;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn query_q_counter(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if cmd.get(t::QUERY_Q_COUNTER_OTHER_VPORT) != 0
            || cmd.get(t::QUERY_Q_COUNTER_AGGREGATE) != 0
        {
            return Err(bad_field());
        }
        let id = cmd.get(t::QUERY_COUNTER_SET_ID) as u32;
        let clear = cmd.get(t::QUERY_Q_COUNTER_CLEAR) != 0;
        let c = self.q_counters.get_mut(id)?;
        let oob = c.out_of_buffer;
        if clear {
            *c = QCounter::default();
        }
        let out = cmd.out_len(t::QUERY_Q_COUNTER_OUT_SIZE);
        let _ = t::OUT_OF_BUFFER.set(out, u64::from(oob));
        Ok(())
    }

    pub(super) fn create_mkey(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let m = |f: cxu_hal::ifc::Field| cmd.get(f.at(t::MKC_OFFSET));
        let mode = m(mkc::ACCESS_MODE_4_2) << 2 | m(mkc::ACCESS_MODE_1_0);
        if mode != mkc::access_mode::PA
            || m(mkc::UMR_EN) != 0
            || m(mkc::FREE) != 0
            || cmd.get(t::MKEY_UMEM_VALID) != 0
            || cmd.get(t::PG_ACCESS) != 0
        {
            return Err(bad_field());
        }
        let pd = m(mkc::PD) as u32;
        if !self.pds.contains(pd) {
            return Err(bad_reference());
        }
        let key = m(mkc::MKEY_7_0) as u8;
        let n = self.mkeys.insert(Mkey { pd, key })?;
        out_number(cmd, t::MKEY_INDEX, n);
        Ok(())
    }

    pub(super) fn destroy_mkey(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        self.mkeys.remove(cmd.get(t::MKEY_INDEX) as u32)?;
        cmd.out_len(16);
        Ok(())
    }

    /// Whether `lkey` (`index << 8 | key`) names a live mkey of PD `pd`:
    /// a data segment may use it. Every key is a PA key over all memory.
    pub fn lkey_valid(&self, lkey: u32, pd: u32) -> bool {
        self.mkeys
            .get(lkey >> 8)
            .is_some_and(|k| k.key == lkey as u8 && k.pd == pd)
    }

    fn pd_in_use(&self, pd: u32) -> bool {
        self.mkeys.iter().any(|(_, k)| k.pd == pd) || self.tises.iter().any(|(_, x)| x.pd == pd)
    }
}
