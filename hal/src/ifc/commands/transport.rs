//! The objects every Ethernet and RDMA client allocates first (`mlx5_ifc.h`):
//! ALLOC_PD/DEALLOC_PD (0x800/0x801), ALLOC/DEALLOC_TRANSPORT_DOMAIN
//! (0x816/0x817), ALLOC/DEALLOC/QUERY_Q_COUNTER (0x771/0x772/0x773) and
//! CREATE/DESTROY_MKEY (0x200/0x202) with the memory key context (`mkc`).
//! The ALLOC outputs and DEALLOC inputs are 16 bytes with the number in dw2.

use crate::ifc::field::Field;

/// `pd` (dw2 23:0): ALLOC_PD out, DEALLOC_PD in.
pub const PD: Field = Field::new("pd", 0x08, 0, 24);
/// `transport_domain` (dw2 23:0): ALLOC_TRANSPORT_DOMAIN out, DEALLOC in.
pub const TRANSPORT_DOMAIN: Field = Field::new("transport_domain", 0x08, 0, 24);
/// `counter_set_id` (dw2 7:0): ALLOC_Q_COUNTER out, DEALLOC_Q_COUNTER in.
pub const COUNTER_SET_ID: Field = Field::new("counter_set_id", 0x08, 0, 8);
/// QUERY_Q_COUNTER in: `counter_set_id` (dw7 7:0).
pub const QUERY_COUNTER_SET_ID: Field = Field::new("counter_set_id", 0x1C, 0, 8);
/// QUERY_Q_COUNTER in: `aggregate` (dw6 bit 30).
pub const QUERY_Q_COUNTER_AGGREGATE: Field = Field::new("aggregate", 0x18, 30, 1);
/// QUERY_Q_COUNTER in: `clear` (dw6 bit 31).
pub const QUERY_Q_COUNTER_CLEAR: Field = Field::new("clear", 0x18, 31, 1);
/// QUERY_Q_COUNTER in: `other_vport` (dw2 bit 31).
pub const QUERY_Q_COUNTER_OTHER_VPORT: Field = Field::new("other_vport", 0x08, 31, 1);
/// QUERY_Q_COUNTER out: `rx_write_requests` .. `roce_*` counters, 0x100 bytes
/// (`query_q_counter_out`).
pub const QUERY_Q_COUNTER_OUT_SIZE: usize = 0x100;
/// QUERY_Q_COUNTER in size (`query_q_counter_in`).
pub const QUERY_Q_COUNTER_IN_SIZE: usize = 0x20;
/// QUERY_Q_COUNTER out: `out_of_buffer` (dw0x30/4).
pub const OUT_OF_BUFFER: Field = Field::be32_at("out_of_buffer", 0x30);

/// `mkey_index` (dw2 23:0): CREATE_MKEY out, DESTROY_MKEY in.
pub const MKEY_INDEX: Field = Field::new("mkey_index", 0x08, 0, 24);
/// CREATE_MKEY in: byte offset of the memory key context.
pub const MKC_OFFSET: usize = 0x10;
/// CREATE_MKEY in size without the translation entries (`klm_pas_mtt[]`).
pub const CREATE_MKEY_IN_SIZE: usize = 0x110;
/// CREATE_MKEY in: `translations_octword_actual_size`.
pub const TRANSLATIONS_OCTWORD_ACTUAL_SIZE: Field =
    Field::be32_at("translations_octword_actual_size", 0x60);
/// CREATE_MKEY in: `pg_access` (dw3 bit 31).
pub const PG_ACCESS: Field = Field::new("pg_access", 0x0C, 31, 1);
/// CREATE_MKEY in: `mkey_umem_valid` (dw3 bit 30).
pub const MKEY_UMEM_VALID: Field = Field::new("mkey_umem_valid", 0x0C, 30, 1);

/// `mkc` fields, relative to the context (add [`MKC_OFFSET`]).
pub mod mkc {
    use crate::ifc::field::Field;

    /// `free`.
    pub const FREE: Field = Field::new("free", 0x00, 30, 1);
    /// `access_mode_4_2`.
    pub const ACCESS_MODE_4_2: Field = Field::new("access_mode_4_2", 0x00, 26, 3);
    /// `umr_en`.
    pub const UMR_EN: Field = Field::new("umr_en", 0x00, 15, 1);
    /// `a`, `rw`, `rr` (remote atomic, write, read).
    pub const REMOTE_ACCESS: Field = Field::new("a/rw/rr", 0x00, 12, 3);
    /// `lw` (local write).
    pub const LW: Field = Field::new("lw", 0x00, 11, 1);
    /// `lr` (local read).
    pub const LR: Field = Field::new("lr", 0x00, 10, 1);
    /// `access_mode_1_0`.
    pub const ACCESS_MODE_1_0: Field = Field::new("access_mode_1_0", 0x00, 8, 2);
    /// `qpn`.
    pub const QPN: Field = Field::new("qpn", 0x04, 8, 24);
    /// `mkey_7_0`: the variant byte of the key.
    pub const MKEY_7_0: Field = Field::new("mkey_7_0", 0x04, 0, 8);
    /// `length64`: the key covers all of memory.
    pub const LENGTH64: Field = Field::new("length64", 0x0C, 31, 1);
    /// `pd`.
    pub const PD: Field = Field::new("pd", 0x0C, 0, 24);
    /// `start_addr`.
    pub const START_ADDR: Field = Field::be64_at("start_addr", 0x10);
    /// `len`.
    pub const LEN: Field = Field::be64_at("len", 0x18);
    /// `translations_octword_size`.
    pub const TRANSLATIONS_OCTWORD_SIZE: Field = Field::be32_at("translations_octword_size", 0x34);
    /// `log_page_size`.
    pub const LOG_PAGE_SIZE: Field = Field::new("log_page_size", 0x38, 0, 6);

    /// Access modes (`MLX5_MKC_ACCESS_MODE_*`, `access_mode_4_2 << 2 | access_mode_1_0`).
    pub mod access_mode {
        /// Physical addresses (no translation).
        pub const PA: u64 = 0;
        /// Memory translation table.
        pub const MTT: u64 = 1;
    }
}
