//! What the device reports about itself, read once at probe: the general
//! capabilities (QUERY_HCA_CAP, current values), the board (QUERY_ADAPTER)
//! and the firmware revision (initialization segment).

use cxu_hal::ifc::caps::{CapMode, CapType, HcaCap};
use cxu_hal::ifc::commands::caps::{
    decode_query_hca_cap_out, QueryHcaCapIn, QUERY_HCA_CAP_OUT_SIZE,
};
use cxu_hal::ifc::commands::hca::{query_adapter_in, QueryAdapterOut, QUERY_ADAPTER_OUT_SIZE};
use cxu_hal::ifc::iseg;

use super::{Backend, CtlError};

/// The capabilities the control plane is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCaps {
    /// Physical ports (`num_ports`).
    pub num_ports: u32,
    /// 1 = Ethernet, 0 = InfiniBand (`port_type`).
    pub port_type: u32,
    /// Packet traps (HPKT/HTGT), cxu-defined cap bit.
    pub traps: bool,
    /// Trap policers (QPCR), cxu-defined cap bit.
    pub trap_policers: bool,
    /// Trap groups firmware has (HTGT entries).
    pub max_trap_groups: u32,
    /// Policers firmware has (QPCR pids `0..max`).
    pub max_trap_policers: u32,
    /// The MCAM register is supported (the flash registers exist).
    pub mcam_reg: bool,
    /// Board id (QUERY_ADAPTER `vsd_contd_psid`).
    pub psid: String,
    /// IEEE vendor id (QUERY_ADAPTER).
    pub ieee_vendor_id: u32,
    /// `major.minor.subminor` from the initialization segment, if readable.
    pub iseg_fw_rev: Option<(u32, u32, u32)>,
    /// The serial number in the function's VPD (keyword SN), if it has one.
    pub serial_number: Option<String>,
}

impl DeviceCaps {
    /// Queries the device.
    pub fn query(b: &dyn Backend) -> Result<Self, CtlError> {
        let out = b
            .exec(
                &QueryHcaCapIn::new(CapType::GENERAL, CapMode::Current).encode(),
                QUERY_HCA_CAP_OUT_SIZE,
            )
            .map_err(|e| CtlError::cmd("QUERY_HCA_CAP general", e))?;
        let cap = decode_query_hca_cap_out(&out)
            .map_err(|e| CtlError::ifc("QUERY_HCA_CAP general", e))?;
        let out = b
            .exec(&query_adapter_in(), QUERY_ADAPTER_OUT_SIZE)
            .map_err(|e| CtlError::cmd("QUERY_ADAPTER", e))?;
        let adapter =
            QueryAdapterOut::decode(&out).map_err(|e| CtlError::ifc("QUERY_ADAPTER", e))?;
        Ok(DeviceCaps {
            serial_number: b.serial_number(),
            ..Self::from_parts(&cap, &adapter, fw_rev(b))
        })
    }

    /// Combines the answers (kept apart from [`DeviceCaps::query`] so the
    /// mapping is testable without a device).
    pub fn from_parts(
        cap: &HcaCap,
        adapter: &QueryAdapterOut,
        iseg_fw_rev: Option<(u32, u32, u32)>,
    ) -> Self {
        let traps = cap.cxu_traps();
        let trap_policers = cap.cxu_trap_policers();
        DeviceCaps {
            num_ports: cap.num_ports(),
            port_type: cap.port_type(),
            traps,
            trap_policers,
            max_trap_groups: if traps { cap.cxu_max_trap_groups() } else { 0 },
            max_trap_policers: if trap_policers {
                cap.cxu_max_trap_policers()
            } else {
                0
            },
            mcam_reg: cap.mcam_reg(),
            psid: adapter.psid_str(),
            ieee_vendor_id: adapter.ieee_vendor_id,
            iseg_fw_rev,
            serial_number: None,
        }
    }
}

/// `fw_rev` from the first two dwords of the initialization segment.
pub fn fw_rev(b: &dyn Backend) -> Option<(u32, u32, u32)> {
    let dw0 = b.iseg_read32(iseg::FW_REV_MAJOR.byte as u64)?;
    let dw1 = b.iseg_read32(iseg::FW_REV_SUBMINOR.byte as u64)?;
    if dw0 == iseg::PCI_DEAD {
        return None;
    }
    Some((
        iseg::FW_REV_MAJOR.extract(dw0),
        iseg::FW_REV_MINOR.extract(dw0),
        iseg::FW_REV_SUBMINOR.extract(dw1),
    ))
}
