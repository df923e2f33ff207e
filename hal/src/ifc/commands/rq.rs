//! CREATE_RQ (0x908), MODIFY_RQ (0x909), DESTROY_RQ (0x90A), QUERY_RQ
//! (0x90B) and the receive queue context (`mlx5_ifc_rqc_bits`, 0xF0 bytes
//! with its WQ context at 0x30), as `mlx5_ifc.h` (Linux 6.12) lays them out.
//!
//! CREATE_RQ in: header, the RQ context at 0x20, `pas[]` at 0x110 (the WQ
//! context's page array); out: `rqn` at 0x08. MODIFY_RQ in: `rq_state` (the
//! current state) and `rqn` at 0x08, `modify_bitmask` at 0x10, the context
//! at 0x20. DESTROY_RQ and QUERY_RQ in: `rqn` at 0x08. QUERY_RQ out: the
//! context at 0x20.

use crate::ifc::field::Field;

/// Byte offset of the RQ context in CREATE_RQ / MODIFY_RQ in and QUERY_RQ out.
pub const CTX_OFFSET: usize = 0x20;
/// Size of the RQ context (without `pas[]`).
pub const RQC_SIZE: usize = 0xF0;
/// Byte offset of the WQ context inside the RQ context.
pub const WQ_OFFSET: usize = 0x30;
/// Byte offset of `pas[]` in CREATE_RQ in.
pub const PAS_OFFSET: usize = CTX_OFFSET + RQC_SIZE;
/// CREATE_RQ input size without the page array (and MODIFY_RQ's size).
pub const CREATE_RQ_IN_SIZE: usize = PAS_OFFSET;
/// MODIFY_RQ input size.
pub const MODIFY_RQ_IN_SIZE: usize = 0x110;
/// QUERY_RQ output size.
pub const QUERY_RQ_OUT_SIZE: usize = 0x110;
/// `rqn` in CREATE_RQ out and MODIFY/DESTROY/QUERY_RQ in.
pub const RQN: Field = Field::new("rqn", 0x08, 0, 24);
/// MODIFY_RQ `rq_state`: the state the driver believes the RQ is in.
pub const RQ_STATE: Field = Field::new("rq_state", 0x08, 28, 4);
/// MODIFY_RQ `modify_bitmask` ([`modify_bitmask`] bits).
pub const MODIFY_BITMASK: Field = Field::be64_at("modify_bitmask", 0x10);

/// `modify_bitmask` bits (`MLX5_MODIFY_RQ_IN_MODIFY_BITMASK_*`).
pub mod modify_bitmask {
    /// `vsd` (VLAN strip disable).
    pub const VSD: u64 = 1 << 1;
    /// `scatter_fcs`.
    pub const SCATTER_FCS: u64 = 1 << 2;
    /// `counter_set_id`.
    pub const RQ_COUNTER_SET_ID: u64 = 1 << 3;
}

/// RQ context fields, relative to the context (add [`CTX_OFFSET`] with
/// [`Field::at`] to address them in a command; the WQ context's fields are in
/// [`super::wq`], at [`WQ_OFFSET`] of the RQ context).
pub mod rqc {
    use crate::ifc::field::Field;

    /// Reserved lkey allowed.
    pub const RLKY: Field = Field::new("rlky", 0x00, 31, 1);
    /// Delay drop.
    pub const DELAY_DROP_EN: Field = Field::new("delay_drop_en", 0x00, 30, 1);
    /// Scatter the FCS.
    pub const SCATTER_FCS: Field = Field::new("scatter_fcs", 0x00, 29, 1);
    /// VLAN strip disable.
    pub const VSD: Field = Field::new("vsd", 0x00, 28, 1);
    /// Memory RQ type (0: inline, 1: RMP).
    pub const MEM_RQ_TYPE: Field = Field::new("mem_rq_type", 0x00, 24, 4);
    /// State ([`super::super::wq::state`]).
    pub const STATE: Field = Field::new("state", 0x00, 20, 4);
    /// Flush in error.
    pub const FLUSH_IN_ERROR_EN: Field = Field::new("flush_in_error_en", 0x00, 18, 1);
    /// Hairpin RQ.
    pub const HAIRPIN: Field = Field::new("hairpin", 0x00, 17, 1);
    /// Timestamp format.
    pub const TS_FORMAT: Field = Field::new("ts_format", 0x00, 4, 2);
    /// User index.
    pub const USER_INDEX: Field = Field::new("user_index", 0x04, 0, 24);
    /// The CQ its completions go to.
    pub const CQN: Field = Field::new("cqn", 0x08, 0, 24);
    /// Queue counter set.
    pub const COUNTER_SET_ID: Field = Field::new("counter_set_id", 0x0C, 24, 8);
    /// RMP number (for `mem_rq_type` RMP).
    pub const RMPN: Field = Field::new("rmpn", 0x10, 0, 24);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ifc::commands::wq;

    #[test]
    fn rq_layout_matches_mlx5_ifc() {
        let mut b = [0u8; CREATE_RQ_IN_SIZE];
        rqc::STATE.at(CTX_OFFSET).set(&mut b, 1).unwrap();
        assert_eq!(
            b[0x21], 0x10,
            "state is bits 23:20 of the context's dword 0"
        );
        rqc::CQN.at(CTX_OFFSET).set(&mut b, 0x12345).unwrap();
        assert_eq!(&b[0x28..0x2C], &[0, 0x01, 0x23, 0x45]);
        wq::LOG_WQ_SZ
            .at(CTX_OFFSET + WQ_OFFSET)
            .set(&mut b, 3)
            .unwrap();
        assert_eq!(b[0x73], 3, "log_wq_sz: wq dword 8 of an RQ at 0x20 + 0x30");
        assert_eq!(PAS_OFFSET, 0x20 + WQ_OFFSET + wq::WQ_SIZE);
        RQ_STATE.set(&mut b, 3).unwrap();
        RQN.set(&mut b, 9).unwrap();
        assert_eq!(&b[0x08..0x0C], &[0x30, 0, 0, 9]);
    }
}
