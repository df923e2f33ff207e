//! The NIC flow tables (`mlx5_ifc.h`): CREATE/DESTROY/MODIFY_FLOW_TABLE
//! (0x930/0x931/0x93C), CREATE/DESTROY_FLOW_GROUP (0x933/0x934),
//! SET/DELETE_FLOW_TABLE_ENTRY (0x936/0x938), SET_FLOW_TABLE_ROOT (0x92F),
//! with `flow_table_context`, `flow_context`, `fte_match_param` and
//! `dest_format`. Every input addresses a table by `table_type`, `table_id`
//! (and `other_vport`/`vport_number`, which only an e-switch manager sets).

use crate::ifc::field::Field;

/// `other_vport` (dw2 bit 31), every flow-table input.
pub const OTHER_VPORT: Field = Field::new("other_vport", 0x08, 31, 1);
/// `vport_number` (dw2 15:0).
pub const VPORT_NUMBER: Field = Field::new("vport_number", 0x08, 0, 16);
/// `table_type` (dw4 31:24).
pub const TABLE_TYPE: Field = Field::new("table_type", 0x10, 24, 8);
/// `table_id` (dw5 23:0) of DESTROY_FLOW_TABLE, MODIFY_FLOW_TABLE,
/// CREATE/DESTROY_FLOW_GROUP, SET/DELETE_FLOW_TABLE_ENTRY, SET_FLOW_TABLE_ROOT.
pub const TABLE_ID: Field = Field::new("table_id", 0x14, 0, 24);
/// `table_id` (dw2 23:0) of the CREATE_FLOW_TABLE output.
pub const CREATED_TABLE_ID: Field = Field::new("table_id", 0x08, 0, 24);
/// `group_id` (dw2 23:0) of the CREATE_FLOW_GROUP output.
pub const CREATED_GROUP_ID: Field = Field::new("group_id", 0x08, 0, 24);

/// `table_type` values (`FS_FT_*`).
pub mod table_type {
    /// NIC receive.
    pub const NIC_RX: u64 = 0;
    /// NIC transmit.
    pub const NIC_TX: u64 = 1;
}

/// CREATE_FLOW_TABLE / MODIFY_FLOW_TABLE input size.
pub const FLOW_TABLE_IN_SIZE: usize = 0x40;
/// DESTROY_FLOW_TABLE, DESTROY_FLOW_GROUP, DELETE_FLOW_TABLE_ENTRY and
/// SET_FLOW_TABLE_ROOT input size.
pub const SHORT_IN_SIZE: usize = 0x40;
/// Byte offset of `flow_table_context` in CREATE/MODIFY_FLOW_TABLE.
pub const FT_CTX_OFFSET: usize = 0x18;
/// MODIFY_FLOW_TABLE in: `modify_field_select` (dw3 15:0).
pub const MODIFY_FIELD_SELECT: Field = Field::new("modify_field_select", 0x0C, 0, 16);
/// `modify_field_select` bits (`MLX5_MODIFY_FLOW_TABLE_*`).
pub mod modify_select {
    /// `table_miss_action` / `table_miss_id`.
    pub const MISS_TABLE_ID: u64 = 1 << 0;
    /// `lag_master_next_table_id`.
    pub const LAG_NEXT_TABLE_ID: u64 = 1 << 15;
}

/// `flow_table_context` fields, relative to the context.
pub mod ft_ctx {
    use crate::ifc::field::Field;

    /// `reformat_en`, `decap_en`, `sw_owner`, `termination_table` (dw0 31:28).
    pub const FEATURE_BITS: Field = Field::new(
        "reformat_en/decap_en/sw_owner/termination_table",
        0x00,
        28,
        4,
    );
    /// `table_miss_action` (0 default, 1 go to `table_miss_id`).
    pub const TABLE_MISS_ACTION: Field = Field::new("table_miss_action", 0x00, 24, 4);
    /// `level`.
    pub const LEVEL: Field = Field::new("level", 0x00, 16, 8);
    /// `log_size`.
    pub const LOG_SIZE: Field = Field::new("log_size", 0x00, 0, 8);
    /// `table_miss_id`.
    pub const TABLE_MISS_ID: Field = Field::new("table_miss_id", 0x04, 0, 24);

    /// `table_miss_action` values.
    pub mod miss_action {
        /// The default (drop, or the next priority's table).
        pub const DEFAULT: u64 = 0;
        /// Go to `table_miss_id`.
        pub const FWD: u64 = 1;
    }
}

/// CREATE_FLOW_GROUP input size (with `match_criteria`).
pub const CREATE_FLOW_GROUP_IN_SIZE: usize = 0x400;
/// CREATE_FLOW_GROUP in: `group_type` (dw4 19:16; 0 = a range of entries).
pub const GROUP_TYPE: Field = Field::new("group_type", 0x10, 16, 4);
/// CREATE_FLOW_GROUP in: `start_flow_index`.
pub const START_FLOW_INDEX: Field = Field::be32_at("start_flow_index", 0x1C);
/// CREATE_FLOW_GROUP in: `end_flow_index` (inclusive).
pub const END_FLOW_INDEX: Field = Field::be32_at("end_flow_index", 0x24);
/// CREATE_FLOW_GROUP in: `match_criteria_enable` (dw15 7:0).
pub const MATCH_CRITERIA_ENABLE: Field = Field::new("match_criteria_enable", 0x3C, 0, 8);
/// CREATE_FLOW_GROUP in: byte offset of `match_criteria` (`fte_match_param`).
pub const MATCH_CRITERIA_OFFSET: usize = 0x40;
/// DESTROY_FLOW_GROUP in: `group_id` (dw6).
pub const GROUP_ID: Field = Field::be32_at("group_id", 0x18);
/// Size of `fte_match_param`.
pub const MATCH_PARAM_SIZE: usize = 0x200;

/// SET_FLOW_TABLE_ENTRY input size without the destination list.
pub const SET_FTE_IN_SIZE: usize = 0x340;
/// SET_FLOW_TABLE_ENTRY in: `modify_enable_mask` (dw6 7:0; op_mod 1 modifies).
pub const MODIFY_ENABLE_MASK: Field = Field::new("modify_enable_mask", 0x18, 0, 8);
/// SET_FLOW_TABLE_ENTRY / DELETE_FLOW_TABLE_ENTRY in: `flow_index` (dw8).
pub const FLOW_INDEX: Field = Field::be32_at("flow_index", 0x20);
/// SET_FLOW_TABLE_ENTRY in: byte offset of `flow_context`.
pub const FLOW_CTX_OFFSET: usize = 0x40;

/// `flow_context` fields, relative to the context.
pub mod flow_ctx {
    use crate::ifc::field::Field;

    /// `group_id`.
    pub const GROUP_ID: Field = Field::be32_at("group_id", 0x04);
    /// `flow_tag`.
    pub const FLOW_TAG: Field = Field::new("flow_tag", 0x08, 0, 24);
    /// `action` (`MLX5_FLOW_CONTEXT_ACTION_*`).
    pub const ACTION: Field = Field::new("action", 0x0C, 0, 16);
    /// `extended_destination`.
    pub const EXTENDED_DESTINATION: Field = Field::new("extended_destination", 0x10, 31, 1);
    /// `destination_list_size`.
    pub const DESTINATION_LIST_SIZE: Field = Field::new("destination_list_size", 0x10, 0, 24);
    /// `flow_counter_list_size`.
    pub const FLOW_COUNTER_LIST_SIZE: Field = Field::new("flow_counter_list_size", 0x14, 0, 24);
    /// `match_value` (`fte_match_param`).
    pub const MATCH_VALUE_OFFSET: usize = 0x40;
    /// The destination list (`dest_format`, 8 bytes each).
    pub const DESTINATION_OFFSET: usize = 0x300;

    /// `action` bits.
    pub mod action {
        /// Allow (continue).
        pub const ALLOW: u64 = 0x1;
        /// Drop.
        pub const DROP: u64 = 0x2;
        /// Forward to the destinations.
        pub const FWD_DEST: u64 = 0x4;
        /// Count (flow counters in the list).
        pub const COUNT: u64 = 0x8;
    }
}

/// One `dest_format` entry's size.
pub const DEST_SIZE: usize = 8;

/// `dest_format` fields, relative to the entry.
pub mod dest {
    use crate::ifc::field::Field;

    /// `destination_type`.
    pub const DESTINATION_TYPE: Field = Field::new("destination_type", 0x00, 24, 8);
    /// `destination_id`.
    pub const DESTINATION_ID: Field = Field::new("destination_id", 0x00, 0, 24);

    /// `destination_type` values (`MLX5_IFC_FLOW_DESTINATION_TYPE_*`).
    pub mod dest_type {
        /// A vport.
        pub const VPORT: u64 = 0x0;
        /// Another flow table.
        pub const FLOW_TABLE: u64 = 0x1;
        /// A TIR.
        pub const TIR: u64 = 0x2;
    }
}

/// SET_FLOW_TABLE_ROOT in: `table_of_other_vport` (dw4 bit 16) and
/// `underlay_qpn` (dw6 23:0).
pub const TABLE_OF_OTHER_VPORT: Field = Field::new("table_of_other_vport", 0x10, 16, 1);
/// SET_FLOW_TABLE_ROOT in: `underlay_qpn`.
pub const UNDERLAY_QPN: Field = Field::new("underlay_qpn", 0x18, 0, 24);
/// SET_FLOW_TABLE_ROOT op_mod 1: reset the root to the default.
pub const ROOT_OP_MOD_RESET: u16 = 1;
