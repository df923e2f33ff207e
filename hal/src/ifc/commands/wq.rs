//! The work queue context (`mlx5_ifc_wq_bits`, 0xC0 bytes, then `pas[]`)
//! that the RQ and SQ contexts embed at their byte 0x30. Offsets are relative
//! to the start of the WQ context.

use crate::ifc::field::Field;

/// Size of the WQ context; `pas[]` follows it.
pub const WQ_SIZE: usize = 0xC0;
/// `wq_type` (dw0 31:28), see [`wq_type`].
pub const WQ_TYPE: Field = Field::new("wq_type", 0x00, 28, 4);
/// `end_padding_mode` (dw0 26:25).
pub const END_PADDING_MODE: Field = Field::new("end_padding_mode", 0x00, 25, 2);
/// `page_offset` (dw1 20:16).
pub const PAGE_OFFSET: Field = Field::new("page_offset", 0x04, 16, 5);
/// `lwm`: the limit watermark (dw1 15:0).
pub const LWM: Field = Field::new("lwm", 0x04, 0, 16);
/// `pd`: the protection domain (dw2 23:0).
pub const PD: Field = Field::new("pd", 0x08, 0, 24);
/// `uar_page`: the UAR page a send queue's doorbell rings on (dw3 23:0).
pub const UAR_PAGE: Field = Field::new("uar_page", 0x0C, 0, 24);
/// `dbr_addr`: the doorbell record (qword at 0x10).
pub const DBR_ADDR: Field = Field::be64_at("dbr_addr", 0x10);
/// `hw_counter` (dw6).
pub const HW_COUNTER: Field = Field::be32_at("hw_counter", 0x18);
/// `sw_counter` (dw7).
pub const SW_COUNTER: Field = Field::be32_at("sw_counter", 0x1C);
/// `log_wq_stride`: log2 of the WQE (basic block) size in bytes (dw8 19:16).
pub const LOG_WQ_STRIDE: Field = Field::new("log_wq_stride", 0x20, 16, 4);
/// `log_wq_pg_sz`: log2 of the buffer page size, relative to 4 KiB (dw8 12:8).
pub const LOG_WQ_PG_SZ: Field = Field::new("log_wq_pg_sz", 0x20, 8, 5);
/// `log_wq_sz`: log2 of the WQE count (dw8 4:0).
pub const LOG_WQ_SZ: Field = Field::new("log_wq_sz", 0x20, 0, 5);
/// `log_wqe_num_of_strides` (striding RQ, dw9 11:8).
pub const LOG_WQE_NUM_OF_STRIDES: Field = Field::new("log_wqe_num_of_strides", 0x24, 8, 4);
/// `log_wqe_stride_size` (striding RQ, dw9 2:0).
pub const LOG_WQE_STRIDE_SIZE: Field = Field::new("log_wqe_stride_size", 0x24, 0, 3);

/// `log_max_wq_sz` in `cmd_hca_cap` (bit offset 0x3DB), relative to the
/// capability block like `caps::general`: the largest SQ or RQ is
/// `1 << log_max_wq_sz` WQEs.
pub const CAP_LOG_MAX_WQ_SZ: Field = Field::new("log_max_wq_sz", 0x78, 0, 5);

/// `wq_type` values (`MLX5_WQ_TYPE_*`).
pub mod wq_type {
    /// Linked list.
    pub const LINKED_LIST: u32 = 0;
    /// Cyclic (every SQ; the legacy RQ).
    pub const CYCLIC: u32 = 1;
    /// Linked-list striding RQ (multi-packet WQEs).
    pub const LINKED_LIST_STRIDING_RQ: u32 = 2;
    /// Cyclic striding RQ.
    pub const CYCLIC_STRIDING_RQ: u32 = 3;
}

/// Doorbell record dwords (`MLX5_RCV_DBR`, `MLX5_SND_DBR`, `qp.h`): a receive
/// queue's producer counter is the first big-endian dword, a send queue's the
/// second.
pub mod dbr {
    /// Byte offset of the receive counter.
    pub const RCV: u64 = 0;
    /// Byte offset of the send counter.
    pub const SND: u64 = 4;
}

/// Queue states shared by the RQ and SQ contexts (`MLX5_RQC_STATE_*`,
/// `MLX5_SQC_STATE_*`).
pub mod state {
    /// Reset.
    pub const RST: u32 = 0;
    /// Ready.
    pub const RDY: u32 = 1;
    /// Error.
    pub const ERR: u32 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wq_fields_sit_where_mlx5_ifc_puts_them() {
        let mut w = [0u8; WQ_SIZE];
        WQ_TYPE.set(&mut w, wq_type::CYCLIC.into()).unwrap();
        assert_eq!(w[0], 0x10);
        LOG_WQ_STRIDE.set(&mut w, 6).unwrap();
        LOG_WQ_PG_SZ.set(&mut w, 1).unwrap();
        LOG_WQ_SZ.set(&mut w, 10).unwrap();
        assert_eq!(&w[0x20..0x24], &[0, 6, 1, 10]);
        DBR_ADDR.set(&mut w, 0xABCD_0040).unwrap();
        assert_eq!(&w[0x14..0x18], &[0xAB, 0xCD, 0x00, 0x40]);
    }
}
