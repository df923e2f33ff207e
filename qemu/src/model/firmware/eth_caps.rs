//! The capabilities of the Ethernet control plane: the `cmd_hca_cap` fields
//! that size the NIC vport's lists and the objects mlx5e creates. Each value
//! is what the model implements and checks (see `docs/fidelity.md`).
#![forbid(unsafe_code)]

use cxu_hal::ifc::eth_caps::general as eth;
use cxu_hal::ifc::Field;

use super::nic_vport::{LOG_MAX_MC_LIST, LOG_MAX_UC_LIST, LOG_MAX_VLAN_LIST};

/// Sets the Ethernet fields of a general capability page `c`.
pub fn general(c: &mut [u8]) {
    let mut set = |f: Field, v: u64| {
        let _ = f.set(c, v & f.max());
    };
    set(eth::LOG_MAX_CURRENT_UC_LIST, u64::from(LOG_MAX_UC_LIST));
    set(eth::LOG_MAX_CURRENT_MC_LIST, u64::from(LOG_MAX_MC_LIST));
    set(eth::LOG_MAX_VLAN_LIST, u64::from(LOG_MAX_VLAN_LIST));
}
