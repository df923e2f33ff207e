//! CREATE_SQ (0x904), MODIFY_SQ (0x905), DESTROY_SQ (0x906), QUERY_SQ
//! (0x907) and the send queue context (`mlx5_ifc_sqc_bits`, 0xF0 bytes with
//! its WQ context at 0x30), as `mlx5_ifc.h` (Linux 6.12) lays them out. The
//! command layouts are those of the RQ commands: the context at 0x20,
//! `pas[]` at 0x110, `sq_state` and `sqn` at 0x08, `modify_bitmask` at 0x10.

use crate::ifc::field::Field;

/// Byte offset of the SQ context in CREATE_SQ / MODIFY_SQ in and QUERY_SQ out.
pub const CTX_OFFSET: usize = 0x20;
/// Size of the SQ context (without `pas[]`).
pub const SQC_SIZE: usize = 0xF0;
/// Byte offset of the WQ context inside the SQ context.
pub const WQ_OFFSET: usize = 0x30;
/// Byte offset of `pas[]` in CREATE_SQ in.
pub const PAS_OFFSET: usize = CTX_OFFSET + SQC_SIZE;
/// CREATE_SQ input size without the page array.
pub const CREATE_SQ_IN_SIZE: usize = PAS_OFFSET;
/// MODIFY_SQ input size.
pub const MODIFY_SQ_IN_SIZE: usize = 0x110;
/// QUERY_SQ output size.
pub const QUERY_SQ_OUT_SIZE: usize = 0x110;
/// `sqn` in CREATE_SQ out and MODIFY/DESTROY/QUERY_SQ in.
pub const SQN: Field = Field::new("sqn", 0x08, 0, 24);
/// MODIFY_SQ `sq_state`: the state the driver believes the SQ is in.
pub const SQ_STATE: Field = Field::new("sq_state", 0x08, 28, 4);
/// MODIFY_SQ `modify_bitmask` ([`modify_bitmask`] bits).
pub const MODIFY_BITMASK: Field = Field::be64_at("modify_bitmask", 0x10);

/// `modify_bitmask` bits (`en_main.c` `mlx5e_modify_sq`).
pub mod modify_bitmask {
    /// `packet_pacing_rate_limit_index`.
    pub const PACKET_PACING_RATE_LIMIT_INDEX: u64 = 1 << 0;
    /// `qos_queue_group_id`.
    pub const QOS_QUEUE_GROUP_ID: u64 = 1 << 2;
}

/// SQ context fields, relative to the context (add [`CTX_OFFSET`] with
/// [`Field::at`]; the WQ context is at [`WQ_OFFSET`]).
pub mod sqc {
    use crate::ifc::field::Field;

    /// Reserved lkey allowed.
    pub const RLKY: Field = Field::new("rlky", 0x00, 31, 1);
    /// Fast register enable.
    pub const FRE: Field = Field::new("fre", 0x00, 29, 1);
    /// Flush in error.
    pub const FLUSH_IN_ERROR_EN: Field = Field::new("flush_in_error_en", 0x00, 28, 1);
    /// Multi-packet send WQEs allowed.
    pub const ALLOW_MULTI_PKT_SEND_WQE: Field = Field::new("allow_multi_pkt_send_wqe", 0x00, 27, 1);
    /// Minimum inline mode.
    pub const MIN_WQE_INLINE_MODE: Field = Field::new("min_wqe_inline_mode", 0x00, 24, 3);
    /// State ([`super::super::wq::state`]).
    pub const STATE: Field = Field::new("state", 0x00, 20, 4);
    /// UMR WQEs allowed.
    pub const REG_UMR: Field = Field::new("reg_umr", 0x00, 19, 1);
    /// Software parser offloads allowed.
    pub const ALLOW_SWP: Field = Field::new("allow_swp", 0x00, 18, 1);
    /// Hairpin SQ.
    pub const HAIRPIN: Field = Field::new("hairpin", 0x00, 17, 1);
    /// Timestamp format.
    pub const TS_FORMAT: Field = Field::new("ts_format", 0x00, 4, 2);
    /// User index.
    pub const USER_INDEX: Field = Field::new("user_index", 0x04, 0, 24);
    /// The CQ its completions go to.
    pub const CQN: Field = Field::new("cqn", 0x08, 0, 24);
    /// The CQ timestamp CQEs go to.
    pub const TS_CQE_TO_DEST_CQN: Field = Field::new("ts_cqe_to_dest_cqn", 0x18, 0, 24);
    /// Rate limit index.
    pub const PACKET_PACING_RATE_LIMIT_INDEX: Field =
        Field::new("packet_pacing_rate_limit_index", 0x1C, 0, 16);
    /// Number of TISes in the list.
    pub const TIS_LST_SZ: Field = Field::new("tis_lst_sz", 0x20, 16, 16);
    /// QoS queue group.
    pub const QOS_QUEUE_GROUP_ID: Field = Field::new("qos_queue_group_id", 0x20, 0, 16);
    /// The (first) TIS.
    pub const TIS_NUM_0: Field = Field::new("tis_num_0", 0x2C, 0, 24);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sq_layout_matches_mlx5_ifc() {
        let mut b = [0u8; CREATE_SQ_IN_SIZE];
        sqc::TIS_LST_SZ.at(CTX_OFFSET).set(&mut b, 1).unwrap();
        sqc::TIS_NUM_0.at(CTX_OFFSET).set(&mut b, 0x77).unwrap();
        assert_eq!(&b[0x40..0x42], &[0, 1]);
        assert_eq!(b[0x4F], 0x77);
        sqc::FLUSH_IN_ERROR_EN
            .at(CTX_OFFSET)
            .set(&mut b, 1)
            .unwrap();
        assert_eq!(b[0x20], 0x10);
    }
}
