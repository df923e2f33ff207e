//! QUERY_NIC_VPORT_CONTEXT (0x754) and MODIFY_NIC_VPORT_CONTEXT (0x755)
//! (`mlx5_ifc.h`: `query_nic_vport_context_in/out`,
//! `modify_nic_vport_context_in`, `modify_nic_vport_field_select`,
//! `nic_vport_context`, `mac_address_layout`).
//!
//! QUERY in: 16 bytes (`other_vport`, `vport_number`, `allowed_list_type`);
//! out: header + 8 reserved bytes + the 0x100-byte context, then as many
//! 8-byte `current_uc_mac_address` entries as `allowed_list_size` says.
//! MODIFY in: 0x100 bytes (header, vport, `field_select` at 0x0C) + the
//! context at 0x100, then the allowed list; out: status only.

use super::{new_in_vec, BASE_SIZE};
use crate::ifc::field::Field;
use crate::ifc::opcode::Opcode;

/// `other_vport` (in dw2 bit 31), both commands.
pub const OTHER_VPORT: Field = Field::new("other_vport", 0x08, 31, 1);
/// `vport_number` (in dw2 15:0), both commands.
pub const VPORT_NUMBER: Field = Field::new("vport_number", 0x08, 0, 16);
/// QUERY in: `allowed_list_type` (dw3 26:24): which list the output carries.
pub const QUERY_ALLOWED_LIST_TYPE: Field = Field::new("allowed_list_type", 0x0C, 24, 3);

/// Size of `nic_vport_context` without the trailing list.
pub const NIC_VPORT_CONTEXT_SIZE: usize = 0x100;
/// Byte offset of the context in the QUERY output.
pub const QUERY_CONTEXT_OFFSET: usize = 0x10;
/// QUERY output size without the list.
pub const QUERY_NIC_VPORT_CONTEXT_OUT_SIZE: usize = QUERY_CONTEXT_OFFSET + NIC_VPORT_CONTEXT_SIZE;
/// Byte offset of the context in the MODIFY input.
pub const MODIFY_CONTEXT_OFFSET: usize = 0x100;
/// MODIFY input size without the list.
pub const MODIFY_NIC_VPORT_CONTEXT_IN_SIZE: usize = MODIFY_CONTEXT_OFFSET + NIC_VPORT_CONTEXT_SIZE;
/// Bytes of one `current_uc_mac_address` / `vlan_layout` list entry.
pub const LIST_ENTRY_SIZE: usize = 8;

/// `allowed_list_type` values (`MLX5_NVPRT_LIST_TYPE_*`).
pub mod list_type {
    /// Unicast MAC addresses.
    pub const UC: u8 = 0;
    /// Multicast MAC addresses.
    pub const MC: u8 = 1;
    /// VLAN ids.
    pub const VLAN: u8 = 2;
}

/// `modify_nic_vport_field_select` (MODIFY in dw3): one bit per field group.
pub mod field_select {
    use crate::ifc::field::Field;

    const fn bit(name: &'static str, b: u32) -> Field {
        Field::new(name, 0x0C, b, 1)
    }
    /// `affiliation` (multi-port vHCA).
    pub const AFFILIATION: Field = bit("affiliation", 13);
    /// `disable_uc_local_lb`.
    pub const DISABLE_UC_LOCAL_LB: Field = bit("disable_uc_local_lb", 11);
    /// `disable_mc_local_lb`.
    pub const DISABLE_MC_LOCAL_LB: Field = bit("disable_mc_local_lb", 10);
    /// `node_guid`.
    pub const NODE_GUID: Field = bit("node_guid", 9);
    /// `port_guid`.
    pub const PORT_GUID: Field = bit("port_guid", 8);
    /// `min_inline`.
    pub const MIN_INLINE: Field = bit("min_inline", 7);
    /// `mtu`.
    pub const MTU: Field = bit("mtu", 6);
    /// `change_event` (the `arm_change_event` and `event_on_*` bits).
    pub const CHANGE_EVENT: Field = bit("change_event", 5);
    /// `promisc`.
    pub const PROMISC: Field = bit("promisc", 4);
    /// `permanent_address`.
    pub const PERMANENT_ADDRESS: Field = bit("permanent_address", 3);
    /// `addresses_list` (the allowed UC/MC/VLAN list).
    pub const ADDRESSES_LIST: Field = bit("addresses_list", 2);
    /// `roce_en`.
    pub const ROCE_EN: Field = bit("roce_en", 1);
    /// The whole `field_select` dword.
    pub const ALL: Field = Field::be32_at("field_select", 0x0C);
}

/// `nic_vport_context` fields, at their offsets inside the context (add
/// [`QUERY_CONTEXT_OFFSET`] or [`MODIFY_CONTEXT_OFFSET`] with [`Field::at`]).
pub mod ctx {
    use crate::ifc::field::Field;

    /// `min_wqe_inline_mode` (dw0 26:24).
    pub const MIN_WQE_INLINE_MODE: Field = Field::new("min_wqe_inline_mode", 0x00, 24, 3);
    /// `disable_mc_local_lb` (dw0 bit 2).
    pub const DISABLE_MC_LOCAL_LB: Field = Field::new("disable_mc_local_lb", 0x00, 2, 1);
    /// `disable_uc_local_lb` (dw0 bit 1).
    pub const DISABLE_UC_LOCAL_LB: Field = Field::new("disable_uc_local_lb", 0x00, 1, 1);
    /// `roce_en` (dw0 bit 0).
    pub const ROCE_EN: Field = Field::new("roce_en", 0x00, 0, 1);
    /// `arm_change_event` (dw1 bit 31).
    pub const ARM_CHANGE_EVENT: Field = Field::new("arm_change_event", 0x04, 31, 1);
    /// `event_on_mtu` .. `event_on_uc_address_change` (dw1 4:0).
    pub const EVENT_ON: Field = Field::new("event_on_*", 0x04, 0, 5);
    /// `mtu` (dw9 15:0).
    pub const MTU: Field = Field::new("mtu", 0x24, 0, 16);
    /// `system_image_guid`.
    pub const SYSTEM_IMAGE_GUID: Field = Field::be64_at("system_image_guid", 0x28);
    /// `port_guid`.
    pub const PORT_GUID: Field = Field::be64_at("port_guid", 0x30);
    /// `node_guid`.
    pub const NODE_GUID: Field = Field::be64_at("node_guid", 0x38);
    /// `qkey_violation_counter` (dw26 15:0).
    pub const QKEY_VIOLATION_COUNTER: Field = Field::new("qkey_violation_counter", 0x68, 0, 16);
    /// `promisc_uc` (dw60 bit 31).
    pub const PROMISC_UC: Field = Field::new("promisc_uc", 0xF0, 31, 1);
    /// `promisc_mc` (dw60 bit 30).
    pub const PROMISC_MC: Field = Field::new("promisc_mc", 0xF0, 30, 1);
    /// `promisc_all` (dw60 bit 29).
    pub const PROMISC_ALL: Field = Field::new("promisc_all", 0xF0, 29, 1);
    /// `allowed_list_type` (dw60 26:24).
    pub const ALLOWED_LIST_TYPE: Field = Field::new("allowed_list_type", 0xF0, 24, 3);
    /// `allowed_list_size` (dw60 11:0).
    pub const ALLOWED_LIST_SIZE: Field = Field::new("allowed_list_size", 0xF0, 0, 12);
    /// `permanent_address` (`mac_address_layout` at 0xF4: 16 reserved bits,
    /// then the 48-bit MAC): the MAC's first byte.
    pub const PERMANENT_ADDRESS_OFFSET: usize = 0xF6;
    /// Where the allowed list starts (`current_uc_mac_address[]`).
    pub const LIST_OFFSET: usize = 0x100;
}

/// A QUERY_NIC_VPORT_CONTEXT input for this function's own vport, asking for
/// `list` (a [`list_type`]).
pub fn query_in(list: u8) -> Vec<u8> {
    let mut b = new_in_vec(Opcode::QUERY_NIC_VPORT_CONTEXT, 0, BASE_SIZE);
    // The value is 3 bits wide by construction of `list_type`; a wider one is
    // dropped rather than written.
    let _ = QUERY_ALLOWED_LIST_TYPE.set(&mut b, u64::from(list));
    b
}

/// A MODIFY_NIC_VPORT_CONTEXT input for this function's own vport with no
/// field selected and room for `entries` list entries; the caller sets the
/// context fields (at [`MODIFY_CONTEXT_OFFSET`]) and the selects.
pub fn modify_in(entries: usize) -> Vec<u8> {
    new_in_vec(
        Opcode::MODIFY_NIC_VPORT_CONTEXT,
        0,
        MODIFY_NIC_VPORT_CONTEXT_IN_SIZE + entries * LIST_ENTRY_SIZE,
    )
}

/// The 6-byte MAC of list entry `mac` (`mac_address_layout`: 2 reserved bytes
/// first).
pub fn mac_entry(mac: [u8; 6]) -> [u8; LIST_ENTRY_SIZE] {
    let mut e = [0u8; LIST_ENTRY_SIZE];
    e[2..].copy_from_slice(&mac);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_mlx5_ifc() {
        // nic_vport_context: mtu at bit 0x130, promisc_uc at 0x780,
        // allowed_list_size at 0x794 (12 bits), permanent_address at 0x7a0.
        assert_eq!(ctx::MTU.first_byte(), 0x130 / 8);
        assert_eq!(ctx::PROMISC_UC.byte * 8 + 31 - 31, 0x780);
        assert_eq!(ctx::ALLOWED_LIST_SIZE.byte * 8 + 32 - 12, 0x794);
        assert_eq!(ctx::PERMANENT_ADDRESS_OFFSET * 8, 0x7a0 + 0x10);
        assert_eq!(MODIFY_CONTEXT_OFFSET * 8, 0x80 + 0x780);
        // field_select dword at bit 0x60: mtu is its bit 0x19, roce_en 0x1e.
        assert_eq!(field_select::MTU.bit, 31 - 0x19);
        assert_eq!(field_select::ROCE_EN.bit, 31 - 0x1e);
        assert_eq!(field_select::AFFILIATION.bit, 31 - 0x12);
        let q = query_in(list_type::MC);
        assert_eq!(q.len(), 16);
        assert_eq!(q[0x0C], 1);
    }
}
