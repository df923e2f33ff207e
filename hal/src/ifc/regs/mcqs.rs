//! MCQS (0x9060), management component query status (`mlx5_ifc_mcqs_reg_bits`,
//! 16 bytes): what component an index names and its update state. The kernel
//! walks the indexes from 0 until it finds the boot image or `last_index_flag`.
//!
//! dw0: last_index_flag 31, fw_device 23:16, component_index 15:0.
//! dw1: identifier 15:0. dw2: component_status 8:4, component_update_state 3:0.

use crate::ifc::field::Field;

/// Register size.
pub const LEN: usize = 16;
/// `last_index_flag`: no component after this index.
pub const LAST_INDEX_FLAG: Field = Field::new("last_index_flag", 0x00, 31, 1);
/// `component_index` (the query's input).
pub const COMPONENT_INDEX: Field = Field::new("component_index", 0x00, 0, 16);
/// `identifier` (see [`super::mcqi::identifier`]).
pub const IDENTIFIER: Field = Field::new("identifier", 0x04, 0, 16);
/// `component_status` (0 not present, 1 present, 2 in use).
pub const COMPONENT_STATUS: Field = Field::new("component_status", 0x08, 4, 5);
/// `component_update_state` (see [`update_state`]).
pub const COMPONENT_UPDATE_STATE: Field = Field::new("component_update_state", 0x08, 0, 4);

/// `component_status` values.
pub mod status {
    /// The component is present.
    pub const PRESENT: u64 = 1;
    /// The component is in use (the running image).
    pub const IN_USE: u64 = 2;
}

/// `component_update_state` values (`MCQS_UPDATE_STATE_*`, fw.c).
pub mod update_state {
    /// No update.
    pub const IDLE: u64 = 0;
    /// An update is in progress (handle locked, image downloading or verified).
    pub const IN_PROGRESS: u64 = 1;
    /// An activated image waits for a reset to run.
    pub const ACTIVE_PENDING_RESET: u64 = 4;
}
