//! Ethernet port registers: PMTU and PTYS.
//!
//! * PMTU: `max_mtu` is the port's (9978, as ConnectX-5 reports), `admin_mtu`
//!   what the driver wrote (0 < mtu <= max, else BAD_PARAM), `oper_mtu` the
//!   admin MTU (the port takes it at once).
//! * PTYS (Ethernet only: `proto_mask` must say Ethernet): the port supports
//!   100GBASE-CR4 and -SR4; the driver may restrict `eth_proto_admin` to a
//!   non-empty subset of that; `eth_proto_oper` is the fastest admin mode
//!   while the port is operationally up, none while down.
//! * PFCC: global pause on (both ways) at power-on, per-priority flow control
//!   off; a write sets `pptx`/`pprx` unless their `_mask_n` bit says not to,
//!   and the `pfctx`/`pfcrx` bits its priority masks name.
#![forbid(unsafe_code)]

use cxu_hal::ifc::regs::paos::oper;
use cxu_hal::ifc::regs::{pfcc, pmtu, ptys};
use cxu_hal::ifc::Field;

use super::RegAccess;
use crate::model::firmware::{syndrome, CmdError, Firmware};

/// PMTU `max_mtu`.
pub const MAX_MTU: u16 = 9978;
/// The link modes the port supports.
const CAPABILITY: u32 = 1 << ptys::link_mode::GBASE_100_CR4 | 1 << ptys::link_mode::GBASE_100_SR4;

/// The Ethernet settings of one port.
#[derive(Clone, Debug)]
pub struct EthPort {
    admin_mtu: u16,
    proto_admin: u32,
    /// Global pause (tx, rx).
    pause: (bool, bool),
    /// Per-priority flow control (tx, rx).
    pfc: (u8, u8),
}

impl Default for EthPort {
    fn default() -> Self {
        EthPort {
            admin_mtu: 1522,
            proto_admin: CAPABILITY,
            pause: (true, true),
            pfc: (0, 0),
        }
    }
}

fn bad_field() -> CmdError {
    CmdError::bad_param(syndrome::REG_BAD_FIELD)
}

fn local_port(acc: &RegAccess<'_>, f: Field) -> u8 {
    f.get(acc.data).unwrap_or(0) as u8
}

impl Firmware {
    pub(super) fn pmtu(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(pmtu::LEN)?;
        let lp = local_port(acc, pmtu::LOCAL_PORT);
        let i = self.regs.port_index(lp)?;
        let port = &mut self.regs.eth_ports[i];
        if acc.write {
            let mtu = pmtu::ADMIN_MTU.get(acc.data).unwrap_or(0);
            if mtu == 0 || mtu > u64::from(MAX_MTU) {
                return Err(CmdError::bad_param(syndrome::BAD_MTU));
            }
            port.admin_mtu = mtu as u16;
        }
        let mut out = vec![0u8; pmtu::LEN];
        let _ = pmtu::LOCAL_PORT.set(&mut out, u64::from(lp));
        let _ = pmtu::MAX_MTU.set(&mut out, u64::from(MAX_MTU));
        let _ = pmtu::ADMIN_MTU.set(&mut out, u64::from(port.admin_mtu));
        let _ = pmtu::OPER_MTU.set(&mut out, u64::from(port.admin_mtu));
        Ok(out)
    }

    pub(super) fn ptys(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(ptys::LEN)?;
        if ptys::PROTO_MASK.get(acc.data).unwrap_or(0) & ptys::PROTO_ETH == 0 {
            return Err(bad_field());
        }
        let lp = local_port(acc, ptys::LOCAL_PORT);
        let i = self.regs.port_index(lp)?;
        let up = self.regs.ports[i].oper() == oper::UP;
        let port = &mut self.regs.eth_ports[i];
        if acc.write {
            let admin = ptys::ETH_PROTO_ADMIN.get(acc.data).unwrap_or(0) as u32;
            if admin == 0 || admin & !CAPABILITY != 0 {
                return Err(bad_field());
            }
            port.proto_admin = admin;
        }
        let fastest = 1u32 << (31 - port.proto_admin.leading_zeros());
        let mut out = vec![0u8; ptys::LEN];
        let mut set = |f: Field, v: u64| {
            let _ = f.set(&mut out, v);
        };
        set(ptys::LOCAL_PORT, u64::from(lp));
        set(ptys::PROTO_MASK, ptys::PROTO_ETH);
        set(ptys::ETH_PROTO_CAPABILITY, u64::from(CAPABILITY));
        set(ptys::ETH_PROTO_ADMIN, u64::from(port.proto_admin));
        set(
            ptys::ETH_PROTO_OPER,
            if up { u64::from(fastest) } else { 0 },
        );
        Ok(out)
    }

    pub(super) fn pfcc(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(pfcc::LEN)?;
        let lp = local_port(acc, pfcc::LOCAL_PORT);
        let i = self.regs.port_index(lp)?;
        let port = &mut self.regs.eth_ports[i];
        let get = |f: Field| f.get(acc.data).unwrap_or(0);
        if acc.write {
            if get(pfcc::PPTX_MASK_N) == 0 {
                port.pause.0 = get(pfcc::PPTX) != 0;
            }
            if get(pfcc::PPRX_MASK_N) == 0 {
                port.pause.1 = get(pfcc::PPRX) != 0;
            }
            let (mtx, mrx) = (get(pfcc::PRIO_MASK_TX) as u8, get(pfcc::PRIO_MASK_RX) as u8);
            port.pfc.0 = (port.pfc.0 & !mtx) | (get(pfcc::PFCTX) as u8 & mtx);
            port.pfc.1 = (port.pfc.1 & !mrx) | (get(pfcc::PFCRX) as u8 & mrx);
        }
        let mut out = vec![0u8; pfcc::LEN];
        let mut set = |f: Field, v: u64| {
            let _ = f.set(&mut out, v);
        };
        set(pfcc::LOCAL_PORT, u64::from(lp));
        set(pfcc::PPTX, u64::from(port.pause.0));
        set(pfcc::PPRX, u64::from(port.pause.1));
        set(pfcc::PFCTX, u64::from(port.pfc.0));
        set(pfcc::PFCRX, u64::from(port.pfc.1));
        Ok(out)
    }
}
