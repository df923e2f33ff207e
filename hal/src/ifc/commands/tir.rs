//! CREATE_TIR (0x900), MODIFY_TIR (0x901), DESTROY_TIR (0x902) (`mlx5_ifc.h`
//! `create_tir_in`, `modify_tir_in`, `tirc`): the transport interface receive
//! object a flow-table entry forwards to, dispatching to one RQ (direct) or
//! hashing over an RQT (indirect).

use crate::ifc::field::Field;

/// `tirn` (dw2 23:0): CREATE out, MODIFY and DESTROY in.
pub const TIRN: Field = Field::new("tirn", 0x08, 0, 24);
/// Byte offset of the `tirc` context in the CREATE and MODIFY inputs.
pub const CTX_OFFSET: usize = 0x20;
/// CREATE_TIR / MODIFY_TIR input size.
pub const TIR_IN_SIZE: usize = 0x110;
/// MODIFY_TIR in: `modify_tir_bitmask` (dw5): `self_lb_en` (bit 4), `hash`
/// (bit 2), `packet_merge` (bit 0); bits 3 and 1 are the reserved
/// `tunneled_offload_en` / `indirect_table` positions.
pub const BITMASK: Field = Field::new("modify_tir_bitmask", 0x14, 0, 5);
/// MODIFY_TIR bitmask: `packet_merge`.
pub const BITMASK_PACKET_MERGE: u64 = 1 << 0;
/// MODIFY_TIR bitmask: `indirect_table` (the RQT).
pub const BITMASK_INDIRECT_TABLE: u64 = 1 << 1;
/// MODIFY_TIR bitmask: `hash`.
pub const BITMASK_HASH: u64 = 1 << 2;
/// MODIFY_TIR bitmask: `tunneled_offload_en`.
pub const BITMASK_TUNNELED_OFFLOAD_EN: u64 = 1 << 3;
/// MODIFY_TIR bitmask: `self_lb_en`.
pub const BITMASK_SELF_LB_EN: u64 = 1 << 4;

/// `tirc` fields, relative to the context.
pub mod tirc {
    use crate::ifc::field::Field;

    /// `disp_type` (0 direct, 1 indirect).
    pub const DISP_TYPE: Field = Field::new("disp_type", 0x04, 28, 4);
    /// `tls_en`.
    pub const TLS_EN: Field = Field::new("tls_en", 0x04, 27, 1);
    /// `lro_timeout_period_usecs`.
    pub const LRO_TIMEOUT_PERIOD_USECS: Field =
        Field::new("lro_timeout_period_usecs", 0x10, 12, 16);
    /// `packet_merge_mask` (LRO, SHAMPO).
    pub const PACKET_MERGE_MASK: Field = Field::new("packet_merge_mask", 0x10, 8, 4);
    /// `lro_max_ip_payload_size`.
    pub const LRO_MAX_IP_PAYLOAD_SIZE: Field = Field::new("lro_max_ip_payload_size", 0x10, 0, 8);
    /// `inline_rqn`: the RQ of a direct TIR.
    pub const INLINE_RQN: Field = Field::new("inline_rqn", 0x1C, 0, 24);
    /// `rx_hash_symmetric`.
    pub const RX_HASH_SYMMETRIC: Field = Field::new("rx_hash_symmetric", 0x20, 31, 1);
    /// `tunneled_offload_en`.
    pub const TUNNELED_OFFLOAD_EN: Field = Field::new("tunneled_offload_en", 0x20, 29, 1);
    /// `indirect_table`: the RQT of an indirect TIR.
    pub const INDIRECT_TABLE: Field = Field::new("indirect_table", 0x20, 0, 24);
    /// `rx_hash_fn` (0 none, 1 XOR8, 2 Toeplitz).
    pub const RX_HASH_FN: Field = Field::new("rx_hash_fn", 0x24, 28, 4);
    /// `self_lb_block` (bit 0 unicast, bit 1 multicast).
    pub const SELF_LB_BLOCK: Field = Field::new("self_lb_block", 0x24, 24, 2);
    /// `transport_domain`.
    pub const TRANSPORT_DOMAIN: Field = Field::new("transport_domain", 0x24, 0, 24);
    /// `rx_hash_toeplitz_key` (40 bytes).
    pub const RX_HASH_TOEPLITZ_KEY: usize = 0x28;
    /// `rx_hash_field_selector_outer` (`rx_hash_field_select`, one dword).
    pub const RX_HASH_FIELD_SELECTOR_OUTER: Field =
        Field::be32_at("rx_hash_field_selector_outer", 0x50);
    /// `rx_hash_field_selector_inner`.
    pub const RX_HASH_FIELD_SELECTOR_INNER: Field =
        Field::be32_at("rx_hash_field_selector_inner", 0x54);

    /// `rx_hash_fn` values.
    pub mod hash_fn {
        /// No hash: the RQT's first entry.
        pub const NONE: u64 = 0;
        /// `MLX5_RX_HASH_FN_INVERTED_XOR8`.
        pub const INVERTED_XOR8: u64 = 1;
        /// `MLX5_RX_HASH_FN_TOEPLITZ`.
        pub const TOEPLITZ: u64 = 2;
    }

    /// `rx_hash_field_select` (one dword): `l3_prot_type` (bit 31: 0 IPv4,
    /// 1 IPv6), `l4_prot_type` (bit 30: 0 TCP, 1 UDP), `selected_fields`
    /// (`MLX5_HASH_FIELD_SEL_*`).
    pub mod hash_field {
        /// `l3_prot_type`: IPv6 when set.
        pub const L3_PROT_IPV6: u32 = 1 << 31;
        /// `l4_prot_type`: UDP when set.
        pub const L4_PROT_UDP: u32 = 1 << 30;
        /// `MLX5_HASH_FIELD_SEL_SRC_IP`.
        pub const SRC_IP: u32 = 1 << 0;
        /// `MLX5_HASH_FIELD_SEL_DST_IP`.
        pub const DST_IP: u32 = 1 << 1;
        /// `MLX5_HASH_FIELD_SEL_L4_SPORT`.
        pub const L4_SPORT: u32 = 1 << 2;
        /// `MLX5_HASH_FIELD_SEL_L4_DPORT`.
        pub const L4_DPORT: u32 = 1 << 3;
        /// `MLX5_HASH_FIELD_SEL_IPSEC_SPI`.
        pub const IPSEC_SPI: u32 = 1 << 4;
    }

    /// `disp_type` values.
    pub mod disp_type {
        /// One RQ (`inline_rqn`).
        pub const DIRECT: u64 = 0;
        /// An RQT (`indirect_table`), hashed.
        pub const INDIRECT: u64 = 1;
    }
}
