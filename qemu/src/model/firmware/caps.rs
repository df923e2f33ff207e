//! QUERY_HCA_CAP and SET_HCA_CAP: the general capabilities (cap type 0), in
//! their maximum and current versions, built from the profile, and every other
//! capability type the general page advertises (`event_cap` gates the device
//! event page, type 0x14, which the kernel queries at probe). A type not
//! advertised is BAD_PARAM, as firmware answers for a capability it lacks.
//!
//! SET_HCA_CAP takes the fields a driver may change (the ones the kernel's
//! `handle_hca_cap` sets) and ignores the read-only rest, as firmware does; a
//! value above the maximum capability is BAD_PARAM.
#![forbid(unsafe_code)]

use cxu_hal::ifc::Field;

use cxu_hal::ifc::caps::{cxu as cxu_cap, general as cap, CAP_UNION_SIZE as HCA_CAP_SIZE};
use cxu_hal::ifc::commands::caps::CAPABILITY_OFFSET as HCA_CAP_OFFSET;

use super::regs::FwFeatures;
use super::{syndrome, Cmd, CmdError, CmdResult};
use crate::model::profile::Profile;

/// Capability type GENERAL.
const CAP_GENERAL: u16 = 0;
/// Capability type DEV_EVENT (`device_event_cap`): the user affiliated and
/// unaffiliated event masks DEVX may subscribe to. Gated by `event_cap`.
const CAP_DEV_EVENT: u16 = 0x14;
/// Capability type ETHERNET_OFFLOADS, gated by `eth_net_offloads`.
const CAP_ETHERNET_OFFLOADS: u16 = 0x1;
/// Capability type FLOW_TABLE (the NIC flow tables), gated by `nic_flow_table`.
const CAP_FLOW_TABLE: u16 = 0x7;
/// op_mod bit 0: 1 = current, 0 = maximum.
const CAP_MODE_CURRENT: u16 = 1;

/// Fields SET_HCA_CAP may change (with no upper bound other than their width).
const SETTABLE: &[Field] = &[
    cap::ABS_NATIVE_PORT_NUM,
    cap::RELEASE_ALL_PAGES,
    cap::CACHE_LINE_128BYTE,
    cap::PKEY_TABLE_SIZE,
    cap::DRAIN_SIGERR,
    cap::CMDIF_CHECKSUM,
    cap::ROCE,
    cap::UAR_4K,
    cap::LOG_UAR_PAGE_SZ,
    cap::NUM_VHCA_PORTS,
];

/// The general capabilities.
#[derive(Clone)]
pub struct Caps {
    max: Vec<u8>,
    cur: Vec<u8>,
    initial_cur: Vec<u8>,
}

impl Caps {
    /// Capabilities of a device with `p`. Only capabilities the model backs
    /// are advertised: MCAM but no PCAM/QCAM registers, and no Ethernet-offload, RoCE,
    /// ODP or GENERAL_2 capability blocks, so a kernel-style driver does not ask
    /// for what the model does not have.
    pub fn new(p: &Profile) -> Self {
        let mut c = vec![0u8; HCA_CAP_SIZE];
        let mut set = |f: Field, v: u64| {
            // Profile values are clamped to the field width.
            let _ = f.set(&mut c, v & f.max());
        };
        set(cap::LOG_MAX_QP, u64::from(p.log_max_qp));
        set(cap::EVENT_CAP, 1);
        set(cap::LOG_MAX_EQ_SZ, u64::from(p.log_max_eq_sz));
        set(cap::LOG_MAX_EQ, u64::from(p.log_max_eq));
        set(cap::MAX_NUM_EQS, 1u64 << p.log_max_eq.min(16));
        set(cap::FAST_TEARDOWN, 1);
        set(cap::FORCE_TEARDOWN, 1);
        set(cap::RELEASE_ALL_PAGES, 1);
        // Encoded as log2(entries / 128): 0 is the 128 entries Linux asks for
        // (the raw 128 the model had read as "size 0" to the kernel).
        set(cap::PKEY_TABLE_SIZE, 0);
        set(cap::PORT_MODULE_EVENT, 1);
        set(cap::PORT_TYPE, u64::from(p.port_type));
        set(cap::NUM_PORTS, u64::from(p.num_ports));
        set(cap::LOG_MAX_MSG, 20);
        set(cap::GENERAL_NOTIFICATION_EVENT, 1);
        set(cap::CMDIF_CHECKSUM, if p.cmdif_checksum { 3 } else { 0 });
        set(cap::DRIVER_VERSION, 1);
        // MCAM answers which management registers exist (the flash flow's).
        set(cap::MCAM_REG, 1);
        set(cap::LOG_UAR_PAGE_SZ, 0);
        set(cap::NUM_VHCA_PORTS, u64::from(p.num_ports));
        // UMEMs with uid 0 (CREATE_UMEM/DESTROY_UMEM): rdma-core's mlx5 over
        // VFIO refuses to open a device without it.
        set(cap::UMEM_UID_0, 1);
        super::eth_caps::general(&mut c);
        super::queues::advertise(&mut c);
        set_features(&mut c, p, FwFeatures::of(p));
        Caps {
            max: c.clone(),
            cur: c.clone(),
            initial_cur: c,
        }
    }

    /// The trap feature fields of firmware with `f` (an activated image), in
    /// the maximum, current and power-on capabilities alike.
    pub fn set_features(&mut self, p: &Profile, f: FwFeatures) {
        for c in [&mut self.max, &mut self.cur, &mut self.initial_cur] {
            set_features(c, p, f);
        }
    }

    /// The power-on capabilities again.
    pub fn reset_clone(&self) -> Self {
        Caps {
            max: self.max.clone(),
            cur: self.initial_cur.clone(),
            initial_cur: self.initial_cur.clone(),
        }
    }

    /// A field of the current capabilities.
    pub fn cur(&self, f: Field) -> u64 {
        f.get(&self.cur).unwrap_or(0)
    }

    /// Whether `cmdif_checksum` is on.
    pub fn checksum_enabled(&self) -> bool {
        self.cur(cap::CMDIF_CHECKSUM) != 0
    }

    fn cap_type(op_mod: u16) -> Result<(), CmdError> {
        if op_mod >> 1 != CAP_GENERAL {
            return Err(CmdError::bad_param(syndrome::CAP_TYPE_UNSUPPORTED));
        }
        Ok(())
    }

    /// QUERY_HCA_CAP.
    pub fn query(&self, cmd: &mut Cmd<'_>) -> CmdResult {
        let current = cmd.op_mod & CAP_MODE_CURRENT != 0;
        match cmd.op_mod >> 1 {
            CAP_GENERAL => {
                let src = if current { &self.cur } else { &self.max };
                let out = cmd.out_len(HCA_CAP_OFFSET + HCA_CAP_SIZE);
                out[HCA_CAP_OFFSET..].copy_from_slice(src);
            }
            CAP_ETHERNET_OFFLOADS if self.cur(cap::ETH_NET_OFFLOADS) != 0 => {
                let page = super::eth_caps::eth_offloads();
                cmd.out_len(HCA_CAP_OFFSET + HCA_CAP_SIZE)[HCA_CAP_OFFSET..].copy_from_slice(&page);
            }
            CAP_FLOW_TABLE if self.cur(cap::NIC_FLOW_TABLE) != 0 => {
                let page = super::eth_caps::flow_table();
                cmd.out_len(HCA_CAP_OFFSET + HCA_CAP_SIZE)[HCA_CAP_OFFSET..].copy_from_slice(&page);
            }
            // The model raises no DEVX user events: both masks are zero, in
            // the maximum and the current page alike.
            CAP_DEV_EVENT if self.cur(cap::EVENT_CAP) != 0 => {
                cmd.out_len(HCA_CAP_OFFSET + HCA_CAP_SIZE);
            }
            _ => return Err(CmdError::bad_param(syndrome::CAP_TYPE_UNSUPPORTED)),
        }
        Ok(())
    }

    /// SET_HCA_CAP.
    pub fn set(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        Self::cap_type(cmd.op_mod)?;
        if cmd.op_mod & CAP_MODE_CURRENT != 0 {
            return Err(CmdError::bad_param(syndrome::BAD_OP_MOD));
        }
        let new = &cmd.input[HCA_CAP_OFFSET..HCA_CAP_OFFSET + HCA_CAP_SIZE];
        let qp = cap::LOG_MAX_QP.get(new).unwrap_or(0);
        if qp > cap::LOG_MAX_QP.get(&self.max).unwrap_or(0) {
            return Err(CmdError::bad_param(syndrome::CAP_ABOVE_MAX));
        }
        let mut cur = self.cur.clone();
        for f in SETTABLE.iter().chain(std::iter::once(&cap::LOG_MAX_QP)) {
            let _ = f.set(&mut cur, f.get(new).unwrap_or(0));
        }
        self.cur = cur;
        cmd.out_len(16);
        Ok(())
    }
}

/// cxu's own fields (traps and policers are not mlx5 features), after
/// `cmd_hca_cap` where no kernel field can collide.
fn set_features(c: &mut [u8], p: &Profile, f: FwFeatures) {
    let mut set = |field: Field, v: u64| {
        let _ = field.set(c, v & field.max());
    };
    set(cxu_cap::TRAPS, u64::from(f.traps));
    set(cxu_cap::TRAP_POLICERS, u64::from(f.policers));
    set(
        cxu_cap::MAX_TRAP_GROUPS,
        u64::from(if f.traps { p.max_trap_groups } else { 0 }),
    );
    set(
        cxu_cap::MAX_TRAP_POLICERS,
        u64::from(if f.policers { p.max_policers } else { 0 }),
    );
}
