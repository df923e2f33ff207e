//! CREATE_RQT (0x916), MODIFY_RQT (0x917), DESTROY_RQT (0x918) (`mlx5_ifc.h`
//! `create_rqt_in`, `modify_rqt_in`, `rqtc`): the receive queue table an
//! indirect TIR spreads packets over. The RQ numbers follow the context
//! (`rq_num[]`, one dword each, 24 bits).

use crate::ifc::field::Field;

/// `rqtn` (dw2 23:0): CREATE out, MODIFY and DESTROY in.
pub const RQTN: Field = Field::new("rqtn", 0x08, 0, 24);
/// Byte offset of the `rqtc` context in the CREATE and MODIFY inputs.
pub const CTX_OFFSET: usize = 0x20;
/// CREATE_RQT / MODIFY_RQT input size without the RQ list.
pub const RQT_IN_SIZE: usize = 0x110;
/// Byte offset of `rq_num[0]` in the CREATE and MODIFY inputs.
pub const RQ_NUM_OFFSET: usize = RQT_IN_SIZE;
/// MODIFY_RQT in: `rqt_bitmask.rqn_list` (dw5 bit 0).
pub const BITMASK_RQN_LIST: Field = Field::new("rqn_list", 0x14, 0, 1);

/// `rqtc` fields, relative to the context.
pub mod rqtc {
    use crate::ifc::field::Field;

    /// `list_q_type` (0 RQs).
    pub const LIST_Q_TYPE: Field = Field::new("list_q_type", 0x14, 24, 3);
    /// `rqt_max_size`.
    pub const RQT_MAX_SIZE: Field = Field::new("rqt_max_size", 0x14, 0, 16);
    /// `rq_vhca_id_format` (cross-vHCA entries).
    pub const RQ_VHCA_ID_FORMAT: Field = Field::new("rq_vhca_id_format", 0x18, 31, 1);
    /// `rqt_actual_size`.
    pub const RQT_ACTUAL_SIZE: Field = Field::new("rqt_actual_size", 0x18, 0, 16);
}
