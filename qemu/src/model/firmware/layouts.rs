//! Command and capability fields the firmware needs that `cxu_hal::ifc` does not
//! have yet.
//!
//! TODO(ifc): every constant here is waiting for `hal::ifc`'s command layouts
//! and capability fields (its steps 2 and 3); when they land, this file is
//! replaced by uses of ifc's names. The offsets are the reference's
//! (`shared/reference/mlx5-command-interface.md` §5, §6) and are checked against
//! it by `qemu/tests/layouts.rs`.
#![forbid(unsafe_code)]

use cxu_hal::ifc::Field;

/// ENABLE_HCA / DISABLE_HCA / QUERY_PAGES / MANAGE_PAGES in: `function_id` (dw2 15:0).
pub const FUNCTION_ID: Field = Field::new("function_id", 0x08, 0, 16);
/// ENABLE_HCA / DISABLE_HCA in: `embedded_cpu_function` (dw2 bit 31).
pub const EMBEDDED_CPU_FUNCTION: Field = Field::new("embedded_cpu_function", 0x08, 31, 1);
/// QUERY_ISSI out: `current_issi` (byte 0x0A); SET_ISSI in: `current_issi` (byte 0x0A).
pub const CURRENT_ISSI: Field = Field::be16_at("current_issi", 0x0A);
/// QUERY_ISSI out: `supported_issi_dw0` (byte 0x6C).
pub const SUPPORTED_ISSI_DW0: Field = Field::be32_at("supported_issi_dw0", 0x6C);
/// QUERY_ISSI out length.
pub const QUERY_ISSI_OUT_LEN: usize = 0x70;
/// QUERY_PAGES out: `num_pages` (byte 0x0C, signed).
pub const QUERY_PAGES_NUM_PAGES: Field = Field::be32_at("num_pages", 0x0C);
/// MANAGE_PAGES in: `input_num_entries` (byte 0x0C).
pub const MANAGE_PAGES_INPUT_NUM_ENTRIES: Field = Field::be32_at("input_num_entries", 0x0C);
/// MANAGE_PAGES out: `output_num_entries` (byte 0x08).
pub const MANAGE_PAGES_OUTPUT_NUM_ENTRIES: Field = Field::be32_at("output_num_entries", 0x08);
/// MANAGE_PAGES in and out: first page address (`pas[]`).
pub const MANAGE_PAGES_PAS: usize = 0x10;
/// QUERY_HCA_CAP out / SET_HCA_CAP in: the capability union.
pub const HCA_CAP_OFFSET: usize = 0x10;
/// Size of the capability union.
pub const HCA_CAP_SIZE: usize = 0x1000;
/// TEARDOWN_HCA in: `profile` (dw2 15:0).
pub const TEARDOWN_PROFILE: Field = Field::new("profile", 0x08, 0, 16);
/// TEARDOWN_HCA out: `state` (byte 0x0F bit 0).
pub const TEARDOWN_STATE: Field = Field::new("state", 0x0C, 0, 1);
/// SET_DRIVER_VERSION in: the version string (64 bytes at 0x10).
pub const DRIVER_VERSION_OFFSET: usize = 0x10;
/// SET_DRIVER_VERSION in length.
pub const SET_DRIVER_VERSION_IN_LEN: usize = 0x50;
/// QUERY_ADAPTER out: the parameter block at 0x10.
pub const QUERY_ADAPTER_BLOCK: usize = 0x10;
/// QUERY_ADAPTER out length (header + 256-byte parameter block).
pub const QUERY_ADAPTER_OUT_LEN: usize = 0x110;
/// QUERY_ADAPTER: `ieee_vendor_id` (param block dword 0x18, bits 23:0).
pub const IEEE_VENDOR_ID: Field = Field::new("ieee_vendor_id", 0x10 + 0x18, 0, 24);
/// QUERY_ADAPTER: `vsd_contd_psid` (param block 0xF0, 16 bytes).
pub const PSID_OFFSET: usize = 0x10 + 0xF0;
/// CREATE_EQ in: the EQ context.
pub const CREATE_EQ_CTX: usize = 0x10;
/// CREATE_EQ in: `event_bitmask[4]`.
pub const CREATE_EQ_EVENT_BITMASK: usize = 0x58;
/// CREATE_EQ in: `pas[]`.
pub const CREATE_EQ_PAS: usize = 0x110;
/// CREATE_EQ out / DESTROY_EQ in: `eq_number` (byte 0x0B).
pub const EQ_NUMBER: Field = Field::u8_at("eq_number", 0x0B);
/// ALLOC_UAR out / DEALLOC_UAR in: `uar` (dw2 23:0).
pub const UAR: Field = Field::new("uar", 0x08, 0, 24);
/// ACCESS_REG in: `register_id` (byte 0x0A).
pub const REGISTER_ID: Field = Field::be16_at("register_id", 0x0A);
/// ACCESS_REG in: `argument` (byte 0x0C).
pub const REGISTER_ARGUMENT: Field = Field::be32_at("argument", 0x0C);
/// ACCESS_REG in and out: register data.
pub const REGISTER_DATA: usize = 0x10;

/// General device capabilities (`cmd_hca_cap`), offsets inside the capability.
pub mod cap {
    use cxu_hal::ifc::Field;

    /// `abs_native_port_num`.
    pub const ABS_NATIVE_PORT_NUM: Field = Field::new("abs_native_port_num", 0x00, 24, 1);
    /// `page_request_disable`.
    pub const PAGE_REQUEST_DISABLE: Field = Field::new("page_request_disable", 0x00, 25, 1);
    /// `log_max_qp`.
    pub const LOG_MAX_QP: Field = Field::new("log_max_qp", 0x10, 0, 5);
    /// `event_cap`.
    pub const EVENT_CAP: Field = Field::new("event_cap", 0x10, 15, 1);
    /// `log_max_eq_sz`.
    pub const LOG_MAX_EQ_SZ: Field = Field::new("log_max_eq_sz", 0x1C, 24, 8);
    /// `fast_teardown`.
    pub const FAST_TEARDOWN: Field = Field::new("fast_teardown", 0x1C, 4, 1);
    /// `log_max_eq`.
    pub const LOG_MAX_EQ: Field = Field::new("log_max_eq", 0x1C, 0, 4);
    /// `force_teardown`.
    pub const FORCE_TEARDOWN: Field = Field::new("force_teardown", 0x20, 15, 1);
    /// `release_all_pages`.
    pub const RELEASE_ALL_PAGES: Field = Field::new("release_all_pages", 0x28, 26, 1);
    /// `cache_line_128byte`.
    pub const CACHE_LINE_128BYTE: Field = Field::new("cache_line_128byte", 0x2C, 27, 1);
    /// `qcam_reg`.
    pub const QCAM_REG: Field = Field::new("qcam_reg", 0x2C, 16, 1);
    /// `pkey_table_size`.
    pub const PKEY_TABLE_SIZE: Field = Field::new("pkey_table_size", 0x30, 0, 16);
    /// `mcam_reg`.
    pub const MCAM_REG: Field = Field::new("mcam_reg", 0x34, 22, 1);
    /// `pcam_reg`.
    pub const PCAM_REG: Field = Field::new("pcam_reg", 0x34, 21, 1);
    /// `port_module_event`.
    pub const PORT_MODULE_EVENT: Field = Field::new("port_module_event", 0x34, 15, 1);
    /// `port_type`: 0 IB, 1 Ethernet.
    pub const PORT_TYPE: Field = Field::new("port_type", 0x34, 8, 2);
    /// `num_ports`.
    pub const NUM_PORTS: Field = Field::new("num_ports", 0x34, 0, 8);
    /// `log_max_msg`.
    pub const LOG_MAX_MSG: Field = Field::new("log_max_msg", 0x38, 24, 5);
    /// `general_notification_event`.
    pub const GENERAL_NOTIFICATION_EVENT: Field =
        Field::new("general_notification_event", 0x38, 13, 1);
    /// `drain_sigerr`.
    pub const DRAIN_SIGERR: Field = Field::new("drain_sigerr", 0x40, 16, 1);
    /// `cmdif_checksum`: 0 = off.
    pub const CMDIF_CHECKSUM: Field = Field::new("cmdif_checksum", 0x40, 14, 2);
    /// `eth_net_offloads`.
    pub const ETH_NET_OFFLOADS: Field = Field::new("eth_net_offloads", 0x40, 3, 1);
    /// `roce`.
    pub const ROCE: Field = Field::new("roce", 0x40, 2, 1);
    /// `uar_4k`.
    pub const UAR_4K: Field = Field::new("uar_4k", 0x48, 31, 1);
    /// `driver_version`.
    pub const DRIVER_VERSION: Field = Field::new("driver_version", 0x4C, 30, 1);
    /// `max_num_eqs`.
    pub const MAX_NUM_EQS: Field = Field::new("max_num_eqs", 0x8C, 0, 16);
    /// `log_uar_page_sz`.
    pub const LOG_UAR_PAGE_SZ: Field = Field::new("log_uar_page_sz", 0x90, 0, 16);
    /// `num_vhca_ports`.
    pub const NUM_VHCA_PORTS: Field = Field::new("num_vhca_ports", 0xC0, 8, 8);
    /// `sw_owner_id`.
    pub const SW_OWNER_ID: Field = Field::new("sw_owner_id", 0xC0, 1, 1);
    /// Packet traps (HPKT/HTGT registers) are supported. Not an mlx5 field:
    /// cxu's own, in a reserved bit of `cmd_hca_cap` (dword 0xF8, bit 31).
    pub const CXU_TRAPS: Field = Field::new("cxu_traps", 0xF8, 31, 1);
    /// Trap policers (QPCR register) are supported. cxu's own: dword 0xF8, bit 30.
    pub const CXU_TRAP_POLICERS: Field = Field::new("cxu_trap_policers", 0xF8, 30, 1);
    /// Number of trap policers. cxu's own: dword 0xF8, bits 7:0.
    pub const CXU_MAX_TRAP_POLICERS: Field = Field::new("cxu_max_trap_policers", 0xF8, 0, 8);
}
