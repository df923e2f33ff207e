//! CREATE_TIS, MODIFY_TIS, DESTROY_TIS: the send side's transport objects
//! (one per traffic class for mlx5e). A TIS names an existing transport
//! domain (and, if non-zero, a PD); `prio` is the 4-bit priority (mlx5e
//! writes its traffic class shifted left by one);
//! `tls_en` and `underlay_qpn` (IPoIB) are BAD_PARAM, neither is advertised.
//! MODIFY changes the fields its bitmask names; the LAG affinity only
//! names a port the function has.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::tis::{self as t, tisc};
use cxu_hal::ifc::Field;

use super::eth::Eth;
use super::objects::{bad_field, bad_reference, in_use, not_found};
use super::{Cmd, CmdResult};

/// A TIS.
#[derive(Clone, Debug)]
pub struct Tis {
    /// Its transport domain.
    pub td: u32,
    /// Its PD (0: none).
    pub pd: u32,
    /// Traffic class.
    pub prio: u8,
    /// LAG port affinity (0: none).
    pub lag_port: u8,
}

impl Eth {
    pub(super) fn create_tis(&mut self, cmd: &mut Cmd<'_>, num_ports: u8) -> CmdResult {
        let c = |f: Field| cmd.get(f.at(t::CTX_OFFSET));
        if c(tisc::TLS_EN) != 0 || c(tisc::UNDERLAY_QPN) != 0 {
            return Err(bad_field());
        }
        let td = c(tisc::TRANSPORT_DOMAIN) as u32;
        let pd = c(tisc::PD) as u32;
        if !self.tds.contains(td) || (pd != 0 && !self.pds.contains(pd)) {
            return Err(bad_reference());
        }
        let prio = c(tisc::PRIO);
        let lag = c(tisc::LAG_TX_PORT_AFFINITY);
        if lag > u64::from(num_ports) {
            return Err(bad_field());
        }
        let n = self.tises.insert(Tis {
            td,
            pd,
            prio: prio as u8,
            lag_port: lag as u8,
        })?;
        let out = cmd.out_len(16);
        let _ = t::TISN.set(out, u64::from(n));
        Ok(())
    }

    pub(super) fn modify_tis(&mut self, cmd: &mut Cmd<'_>, num_ports: u8) -> CmdResult {
        let c = |f: Field| cmd.get(f.at(t::CTX_OFFSET));
        let mask = cmd.get(t::BITMASK);
        let (prio, lag) = (c(tisc::PRIO), c(tisc::LAG_TX_PORT_AFFINITY));
        if mask & t::BITMASK_LAG != 0 && lag > u64::from(num_ports) {
            return Err(bad_field());
        }
        let tis = self.tises.get_mut(cmd.get(t::TISN) as u32)?;
        if mask & t::BITMASK_PRIO != 0 {
            tis.prio = prio as u8;
        }
        if mask & t::BITMASK_LAG != 0 {
            tis.lag_port = lag as u8;
        }
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn destroy_tis(&mut self, cmd: &mut Cmd<'_>, sq_uses: bool) -> CmdResult {
        let n = cmd.get(t::TISN) as u32;
        if !self.tises.contains(n) {
            return Err(not_found());
        }
        if sq_uses {
            return Err(in_use());
        }
        self.tises.remove(n)?;
        cmd.out_len(16);
        Ok(())
    }
}
