//! CREATE_RQT, MODIFY_RQT, DESTROY_RQT: the tables of RQs an indirect TIR
//! spreads packets over. `rqt_max_size` is at most `1 << log_max_rqt_size`,
//! `rqt_actual_size` between 1 and it, and the input holds that many
//! `rq_num` entries, each an existing RQ. Only RQ lists of this function
//! (`list_q_type` 0, no `rq_vhca_id_format`: `cross_vhca_rqt` is not
//! advertised). MODIFY replaces the list (`rqn_list`), within the table's
//! maximum. An RQT a TIR names cannot be destroyed (RES_BUSY).
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::rqt::{self as t, rqtc};
use cxu_hal::ifc::{CmdStatus, Field};

use super::eth::Eth;
use super::objects::{bad_field, bad_reference, in_use, not_found};
use super::tir::TirTarget;
use super::{syndrome, Cmd, CmdError, CmdResult};

/// log2 of the largest RQT (`log_max_rqt_size`, and `rss_ind_tbl_cap`).
pub const LOG_MAX_RQT_SIZE: u8 = 9;

/// An RQT.
#[derive(Clone, Debug)]
pub struct Rqt {
    /// `rqt_max_size`.
    pub max: u16,
    /// The RQs, in table order.
    pub rqs: Vec<u32>,
}

fn rq_list(cmd: &Cmd<'_>, max: u64, rq_exists: &dyn Fn(u32) -> bool) -> Result<Vec<u32>, CmdError> {
    let c = |f: Field| cmd.get(f.at(t::CTX_OFFSET));
    if c(rqtc::LIST_Q_TYPE) != 0 || c(rqtc::RQ_VHCA_ID_FORMAT) != 0 {
        return Err(bad_field());
    }
    let n = c(rqtc::RQT_ACTUAL_SIZE);
    if n == 0 || n > max {
        return Err(CmdError::bad_param(syndrome::BAD_SIZE));
    }
    let n = n as usize;
    let Some(raw) = cmd.input.get(t::RQ_NUM_OFFSET..t::RQ_NUM_OFFSET + 4 * n) else {
        return Err(CmdError::new(
            CmdStatus::BAD_INP_LEN_ERR,
            syndrome::BAD_INPUT_LEN,
        ));
    };
    let rqs: Vec<u32> = raw
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([0, d[1], d[2], d[3]]))
        .collect();
    if !rqs.iter().all(|&r| rq_exists(r)) {
        return Err(bad_reference());
    }
    Ok(rqs)
}

impl Eth {
    pub(super) fn create_rqt(
        &mut self,
        cmd: &mut Cmd<'_>,
        rq_exists: &dyn Fn(u32) -> bool,
    ) -> CmdResult {
        let max = cmd.get(rqtc::RQT_MAX_SIZE.at(t::CTX_OFFSET));
        if max == 0 || max > 1 << LOG_MAX_RQT_SIZE {
            return Err(CmdError::bad_param(syndrome::BAD_SIZE));
        }
        let rqs = rq_list(cmd, max, rq_exists)?;
        let n = self.rqts.insert(Rqt {
            max: max as u16,
            rqs,
        })?;
        let out = cmd.out_len(16);
        let _ = t::RQTN.set(out, u64::from(n));
        Ok(())
    }

    pub(super) fn modify_rqt(
        &mut self,
        cmd: &mut Cmd<'_>,
        rq_exists: &dyn Fn(u32) -> bool,
    ) -> CmdResult {
        let n = cmd.get(t::RQTN) as u32;
        let Some(rqt) = self.rqts.get(n) else {
            return Err(not_found());
        };
        if cmd.get(t::BITMASK_RQN_LIST) != 0 {
            let rqs = rq_list(cmd, u64::from(rqt.max), rq_exists)?;
            self.rqts.get_mut(n)?.rqs = rqs;
        }
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn destroy_rqt(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let n = cmd.get(t::RQTN) as u32;
        if !self.rqts.contains(n) {
            return Err(not_found());
        }
        if self.tirs.iter().any(|(_, t)| t.target == TirTarget::Rqt(n)) {
            return Err(in_use());
        }
        self.rqts.remove(n)?;
        cmd.out_len(16);
        Ok(())
    }
}
