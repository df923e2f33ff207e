//! The function's NIC vport context: QUERY_NIC_VPORT_CONTEXT and
//! MODIFY_NIC_VPORT_CONTEXT.
//!
//! The model's function is not a vport group manager, so it owns exactly one
//! vport, its own (number 0, `other_vport` 0); any other is BAD_PARAM, as
//! firmware refuses a function access to a vport it does not manage.
//!
//! The context holds the permanent MAC (from the profile), the MTU, `roce_en`,
//! the local loopback disables, the promiscuous bits, the change-event arming
//! bits, the GUIDs (derived from the MAC, EUI-64 style) and the three allowed
//! lists (unicast MACs, multicast MACs, VLANs), each up to the
//! `log_max_current_{uc,mc}_list` / `log_max_vlan_list` the capabilities
//! advertise. MODIFY changes only the field groups `field_select` names; a
//! group the model does not implement (`affiliation`, `node_guid`,
//! `port_guid`, `min_inline`, `permanent_address`: those are for a manager
//! changing another vport) is BAD_PARAM, so nothing is silently ignored.
//! QUERY answers the list the input's `allowed_list_type` names.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::nic_vport::{
    self as nv, ctx, field_select as sel, list_type, LIST_ENTRY_SIZE,
};
use cxu_hal::ifc::Field;

use super::{syndrome, Cmd, CmdError, CmdResult};
use crate::model::profile::Profile;

/// log2 of the longest unicast list (`log_max_current_uc_list`).
pub const LOG_MAX_UC_LIST: u8 = 7;
/// log2 of the longest multicast list (`log_max_current_mc_list`).
pub const LOG_MAX_MC_LIST: u8 = 10;
/// log2 of the longest VLAN list (`log_max_vlan_list`).
pub const LOG_MAX_VLAN_LIST: u8 = 8;
/// The MTU before any driver sets one: a standard 1500-byte frame with the
/// Ethernet header, a VLAN tag and the FCS, as `MLX5E_SW2HW_MTU` counts.
const DEFAULT_MTU: u16 = 1522;

/// The NIC vport context of the function's own vport.
#[derive(Clone, Debug)]
pub struct NicVport {
    mac: [u8; 6],
    mtu: u16,
    roce_en: bool,
    disable_uc_local_lb: bool,
    disable_mc_local_lb: bool,
    promisc_uc: bool,
    promisc_mc: bool,
    promisc_all: bool,
    arm_change_event: bool,
    event_on: u8,
    /// Entries of each allowed list (UC, MC, VLAN), 8 bytes each as sent.
    lists: [Vec<[u8; LIST_ENTRY_SIZE]>; 3],
}

/// What a test can see of the vport context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicVportState {
    /// The permanent MAC address.
    pub mac: [u8; 6],
    /// The vport MTU (hardware MTU, with L2 headers).
    pub mtu: u16,
    /// RoCE enabled.
    pub roce_en: bool,
    /// `promisc_uc`, `promisc_mc`, `promisc_all`.
    pub promisc: [bool; 3],
    /// The unicast and multicast MACs allowed.
    pub uc: Vec<[u8; 6]>,
    /// The multicast MACs allowed.
    pub mc: Vec<[u8; 6]>,
    /// The VLAN ids allowed.
    pub vlans: Vec<u16>,
}

fn bad(syn: u32) -> CmdError {
    CmdError::bad_param(syn)
}

fn max_list(t: u8) -> usize {
    1usize
        << match t {
            list_type::UC => LOG_MAX_UC_LIST,
            list_type::MC => LOG_MAX_MC_LIST,
            _ => LOG_MAX_VLAN_LIST,
        }
}

fn guid(mac: [u8; 6]) -> u64 {
    // EUI-64 from the MAC: ff:fe in the middle, as ConnectX derives its GUIDs.
    let b = [mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]];
    u64::from_be_bytes(b)
}

impl NicVport {
    /// The context at power-on.
    pub fn new(p: &Profile) -> Self {
        NicVport {
            mac: p.mac,
            ..Self::blank()
        }
    }

    fn blank() -> Self {
        NicVport {
            mac: [0; 6],
            mtu: DEFAULT_MTU,
            roce_en: false,
            disable_uc_local_lb: false,
            disable_mc_local_lb: false,
            promisc_uc: false,
            promisc_mc: false,
            promisc_all: false,
            arm_change_event: false,
            event_on: 0,
            lists: Default::default(),
        }
    }

    /// The power-on context of the same function (its MAC kept).
    pub fn reset_clone(&self) -> Self {
        NicVport {
            mac: self.mac,
            ..Self::blank()
        }
    }

    /// Snapshot for tests and the server's state line.
    pub fn state(&self) -> NicVportState {
        let macs = |l: &Vec<[u8; 8]>| {
            l.iter()
                .map(|e| [e[2], e[3], e[4], e[5], e[6], e[7]])
                .collect()
        };
        NicVportState {
            mac: self.mac,
            mtu: self.mtu,
            roce_en: self.roce_en,
            promisc: [self.promisc_uc, self.promisc_mc, self.promisc_all],
            uc: macs(&self.lists[0]),
            mc: macs(&self.lists[1]),
            vlans: self.lists[2]
                .iter()
                .map(|e| u16::from_be_bytes([e[6], e[7]]) & 0xFFF)
                .collect(),
        }
    }

    fn own_vport(cmd: &Cmd<'_>) -> CmdResult {
        if cmd.get(nv::OTHER_VPORT) != 0 || cmd.get(nv::VPORT_NUMBER) != 0 {
            return Err(bad(syndrome::VPORT_NOT_MANAGED));
        }
        Ok(())
    }

    /// QUERY_NIC_VPORT_CONTEXT.
    pub fn query(&self, cmd: &mut Cmd<'_>) -> CmdResult {
        Self::own_vport(cmd)?;
        let t = cmd.get(nv::QUERY_ALLOWED_LIST_TYPE) as u8;
        if t > list_type::VLAN {
            return Err(bad(syndrome::BAD_LIST_TYPE));
        }
        let list = &self.lists[usize::from(t)];
        let base = nv::QUERY_CONTEXT_OFFSET;
        let len = nv::QUERY_NIC_VPORT_CONTEXT_OUT_SIZE + list.len() * LIST_ENTRY_SIZE;
        // The kernel sizes its output for the whole list it may get; a buffer
        // that cannot hold the entries firmware writes is too short.
        let len = if cmd.outlen < len {
            return Err(CmdError::new(
                cxu_hal::ifc::CmdStatus::BAD_OUTP_LEN_ERR,
                syndrome::BAD_OUTPUT_LEN,
            ));
        } else {
            len
        };
        let out = cmd.out_len(len);
        let mut set = |f: Field, v: u64| {
            // Every field lies inside the sized output.
            let _ = f.at(base).set(out, v);
        };
        set(ctx::ROCE_EN, u64::from(self.roce_en));
        set(
            ctx::DISABLE_UC_LOCAL_LB,
            u64::from(self.disable_uc_local_lb),
        );
        set(
            ctx::DISABLE_MC_LOCAL_LB,
            u64::from(self.disable_mc_local_lb),
        );
        set(ctx::ARM_CHANGE_EVENT, u64::from(self.arm_change_event));
        set(ctx::EVENT_ON, u64::from(self.event_on));
        set(ctx::MTU, u64::from(self.mtu));
        set(ctx::SYSTEM_IMAGE_GUID, guid(self.mac));
        set(ctx::PORT_GUID, guid(self.mac));
        set(ctx::NODE_GUID, guid(self.mac));
        set(ctx::PROMISC_UC, u64::from(self.promisc_uc));
        set(ctx::PROMISC_MC, u64::from(self.promisc_mc));
        set(ctx::PROMISC_ALL, u64::from(self.promisc_all));
        set(ctx::ALLOWED_LIST_TYPE, u64::from(t));
        set(ctx::ALLOWED_LIST_SIZE, list.len() as u64);
        let mac = base + ctx::PERMANENT_ADDRESS_OFFSET;
        out[mac..mac + 6].copy_from_slice(&self.mac);
        let at = base + ctx::LIST_OFFSET;
        for (i, e) in list.iter().enumerate() {
            out[at + i * LIST_ENTRY_SIZE..at + (i + 1) * LIST_ENTRY_SIZE].copy_from_slice(e);
        }
        Ok(())
    }

    /// MODIFY_NIC_VPORT_CONTEXT. Everything is checked before anything
    /// changes, so a refused command leaves the context as it was.
    pub fn modify(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        Self::own_vport(cmd)?;
        let unsupported = [
            sel::AFFILIATION,
            sel::NODE_GUID,
            sel::PORT_GUID,
            sel::MIN_INLINE,
            sel::PERMANENT_ADDRESS,
        ];
        if unsupported.iter().any(|f| cmd.get(*f) != 0) {
            return Err(bad(syndrome::FIELD_NOT_MODIFIABLE));
        }
        let c = |f: Field| cmd.get(f.at(nv::MODIFY_CONTEXT_OFFSET));
        let mut new = self.clone();
        if cmd.get(sel::MTU) != 0 {
            let mtu = c(ctx::MTU) as u16;
            if mtu == 0 {
                return Err(bad(syndrome::BAD_MTU));
            }
            new.mtu = mtu;
        }
        if cmd.get(sel::ROCE_EN) != 0 {
            new.roce_en = c(ctx::ROCE_EN) != 0;
        }
        if cmd.get(sel::DISABLE_UC_LOCAL_LB) != 0 {
            new.disable_uc_local_lb = c(ctx::DISABLE_UC_LOCAL_LB) != 0;
        }
        if cmd.get(sel::DISABLE_MC_LOCAL_LB) != 0 {
            new.disable_mc_local_lb = c(ctx::DISABLE_MC_LOCAL_LB) != 0;
        }
        if cmd.get(sel::PROMISC) != 0 {
            new.promisc_uc = c(ctx::PROMISC_UC) != 0;
            new.promisc_mc = c(ctx::PROMISC_MC) != 0;
            new.promisc_all = c(ctx::PROMISC_ALL) != 0;
        }
        if cmd.get(sel::CHANGE_EVENT) != 0 {
            new.arm_change_event = c(ctx::ARM_CHANGE_EVENT) != 0;
            new.event_on = c(ctx::EVENT_ON) as u8;
        }
        if cmd.get(sel::ADDRESSES_LIST) != 0 {
            let t = c(ctx::ALLOWED_LIST_TYPE) as u8;
            let n = c(ctx::ALLOWED_LIST_SIZE) as usize;
            if t > list_type::VLAN {
                return Err(bad(syndrome::BAD_LIST_TYPE));
            }
            if n > max_list(t) {
                return Err(bad(syndrome::LIST_TOO_LONG));
            }
            let at = nv::MODIFY_CONTEXT_OFFSET + ctx::LIST_OFFSET;
            let Some(raw) = cmd.input.get(at..at + n * LIST_ENTRY_SIZE) else {
                return Err(CmdError::new(
                    cxu_hal::ifc::CmdStatus::BAD_INP_LEN_ERR,
                    syndrome::BAD_INPUT_LEN,
                ));
            };
            let mut list = Vec::with_capacity(n);
            for e in raw.chunks_exact(LIST_ENTRY_SIZE) {
                let mut b = [0u8; LIST_ENTRY_SIZE];
                b.copy_from_slice(e);
                if t != list_type::VLAN {
                    // Only the MAC: the two leading bytes are reserved.
                    b[0] = 0;
                    b[1] = 0;
                }
                list.push(b);
            }
            new.lists[usize::from(t)] = list;
        }
        *self = new;
        cmd.out_len(16);
        Ok(())
    }
}
