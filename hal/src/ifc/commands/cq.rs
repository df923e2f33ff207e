//! CREATE_CQ (0x400), DESTROY_CQ (0x401), QUERY_CQ (0x402), MODIFY_CQ (0x403)
//! and the completion queue context (`mlx5_ifc_cqc_bits`, 64 bytes), as
//! `mlx5_ifc.h` (Linux 6.12) lays them out.
//!
//! CREATE_CQ in: header, the CQ context at 0x10, `pas[]` (BE64 page
//! addresses of the CQ buffer) at 0x110; out: `cqn` at 0x08. DESTROY_CQ and
//! QUERY_CQ in: `cqn` at 0x08. QUERY_CQ out: the context at 0x10. MODIFY_CQ
//! in: `cqn`, `modify_field_select` (op_mod 0) at 0x0C, the context at 0x10.

use crate::ifc::field::Field;

/// Byte offset of the CQ context in CREATE_CQ / MODIFY_CQ in and QUERY_CQ out.
pub const CQ_CONTEXT_OFFSET: usize = 0x10;
/// Size of the CQ context.
pub const CQC_SIZE: usize = 0x40;
/// Byte offset of `pas[]` in CREATE_CQ in.
pub const PAS_OFFSET: usize = 0x110;
/// CREATE_CQ and MODIFY_CQ input size without the page array.
pub const CREATE_CQ_IN_SIZE: usize = PAS_OFFSET;
/// MODIFY_CQ input size.
pub const MODIFY_CQ_IN_SIZE: usize = 0x110;
/// QUERY_CQ output size (header + context + reserved; `pas[]` follows).
pub const QUERY_CQ_OUT_SIZE: usize = 0x110;
/// `cqn` in CREATE_CQ out and DESTROY/QUERY/MODIFY_CQ in.
pub const CQN: Field = Field::new("cqn", 0x08, 0, 24);
/// MODIFY_CQ `modify_field_select` (op_mod 0, [`modify`] bits).
pub const MODIFY_FIELD_SELECT: Field = Field::be32_at("modify_field_select", 0x0C);

/// `cmd_hca_cap` (general capability) bits that gate MODIFY_CQ, relative to
/// the capability block like `caps::general` (bit offsets 0x222 and 0x223 of
/// `mlx5_ifc_cmd_hca_cap_bits`).
pub mod cap {
    use crate::ifc::field::Field;

    /// `cq_moderation`: MODIFY_CQ changes `cq_period` and `cq_max_count`.
    pub const CQ_MODERATION: Field = Field::new("cq_moderation", 0x44, 29, 1);
    /// `cq_period_mode_modify`: MODIFY_CQ changes `cq_period_mode`.
    pub const CQ_PERIOD_MODE_MODIFY: Field = Field::new("cq_period_mode_modify", 0x44, 28, 1);
}

/// MODIFY_CQ op_mod values.
pub mod modify_op {
    /// Modify the fields `modify_field_select` names.
    pub const MODIFY: u16 = 0;
    /// Resize the CQ.
    pub const RESIZE: u16 = 1;
}

/// `modify_field_select` bits (`MLX5_CQ_MODIFY_*`, `cq.h`).
pub mod modify {
    /// `cq_period`.
    pub const PERIOD: u32 = 1 << 0;
    /// `cq_max_count`.
    pub const COUNT: u32 = 1 << 1;
    /// `oi`.
    pub const OVERRUN: u32 = 1 << 2;
    /// `cq_period_mode`.
    pub const PERIOD_MODE: u32 = 1 << 4;
}

/// `cqe_sz` values.
pub mod cqe_sz {
    /// 64-byte CQEs.
    pub const BYTES_64: u32 = 0;
    /// 128-byte CQEs (the 64-byte CQE in the second half).
    pub const BYTES_128: u32 = 1;
}

/// CQ context fields, relative to the context (add [`CQ_CONTEXT_OFFSET`]
/// with [`Field::at`] to address them in a command).
pub mod cqc {
    use crate::ifc::field::Field;

    /// Context status.
    pub const STATUS: Field = Field::new("status", 0x00, 28, 4);
    /// CQE size ([`super::cqe_sz`]).
    pub const CQE_SZ: Field = Field::new("cqe_sz", 0x00, 21, 3);
    /// Collapsed CQ.
    pub const CC: Field = Field::new("cc", 0x00, 20, 1);
    /// Overrun ignore.
    pub const OI: Field = Field::new("oi", 0x00, 17, 1);
    /// Moderation period mode.
    pub const CQ_PERIOD_MODE: Field = Field::new("cq_period_mode", 0x00, 15, 2);
    /// CQE compression.
    pub const CQE_COMP_EN: Field = Field::new("cqe_comp_en", 0x00, 14, 1);
    /// Arm state.
    pub const ST: Field = Field::new("st", 0x00, 8, 4);
    /// Page offset of the buffer.
    pub const PAGE_OFFSET: Field = Field::new("page_offset", 0x08, 6, 6);
    /// log2 of the CQE count.
    pub const LOG_CQ_SIZE: Field = Field::new("log_cq_size", 0x0C, 24, 5);
    /// UAR page of the CQ doorbell.
    pub const UAR_PAGE: Field = Field::new("uar_page", 0x0C, 0, 24);
    /// Moderation period (microseconds).
    pub const CQ_PERIOD: Field = Field::new("cq_period", 0x10, 16, 12);
    /// Moderation count.
    pub const CQ_MAX_COUNT: Field = Field::new("cq_max_count", 0x10, 0, 16);
    /// The EQ completion events go to (`c_eqn_or_apu_element`).
    pub const C_EQN: Field = Field::be32_at("c_eqn_or_apu_element", 0x14);
    /// log2 of the buffer page size, relative to 4 KiB.
    pub const LOG_PAGE_SIZE: Field = Field::new("log_page_size", 0x18, 24, 5);
    /// Last index an event was generated for.
    pub const LAST_NOTIFIED_INDEX: Field = Field::new("last_notified_index", 0x20, 0, 24);
    /// Last solicited index.
    pub const LAST_SOLICIT_INDEX: Field = Field::new("last_solicit_index", 0x24, 0, 24);
    /// Consumer counter.
    pub const CONSUMER_COUNTER: Field = Field::new("consumer_counter", 0x28, 0, 24);
    /// Producer counter.
    pub const PRODUCER_COUNTER: Field = Field::new("producer_counter", 0x2C, 0, 24);
    /// Doorbell record address.
    pub const DBR_ADDR: Field = Field::be64_at("dbr_addr", 0x38);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqc_fields_sit_where_mlx5_ifc_puts_them() {
        let mut c = [0u8; CQC_SIZE];
        cqc::CQE_SZ.set(&mut c, 1).unwrap();
        assert_eq!(c[1], 0x20, "cqe_sz is bits 23:21 of dword 0");
        cqc::LOG_CQ_SIZE.set(&mut c, 10).unwrap();
        cqc::UAR_PAGE.set(&mut c, 4).unwrap();
        assert_eq!(&c[0x0C..0x10], &[10, 0, 0, 4]);
        cqc::C_EQN.set(&mut c, 7).unwrap();
        assert_eq!(c[0x17], 7);
        cqc::DBR_ADDR.set(&mut c, 0x1234_5678_9ABC).unwrap();
        assert_eq!(&c[0x38..0x40], &[0, 0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]);
        assert_eq!(cqc::DBR_ADDR.end(), CQC_SIZE);
    }
}
