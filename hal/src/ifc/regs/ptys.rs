//! PTYS (0x5004), port type and speed (`mlx5_ifc_ptys_reg_bits`, 64 bytes):
//! for Ethernet (`proto_mask` bit 2) the link modes the port supports
//! (`eth_proto_capability`), the ones the driver allows (`eth_proto_admin`,
//! written) and the one in effect (`eth_proto_oper`), in the legacy bit
//! numbering (`MLX5E_*` of `en/port.h`; the extended one needs PCAM's
//! `ptys_extended_ethernet`).

use crate::ifc::field::Field;

/// Register size.
pub const LEN: usize = 0x40;
/// `an_disable_admin`.
pub const AN_DISABLE_ADMIN: Field = Field::new("an_disable_admin", 0x00, 30, 1);
/// `an_disable_cap`.
pub const AN_DISABLE_CAP: Field = Field::new("an_disable_cap", 0x00, 29, 1);
/// `local_port` (1-based).
pub const LOCAL_PORT: Field = Field::new("local_port", 0x00, 16, 8);
/// `proto_mask` (bit 2 Ethernet, bit 0 InfiniBand).
pub const PROTO_MASK: Field = Field::new("proto_mask", 0x00, 0, 3);
/// `an_status`.
pub const AN_STATUS: Field = Field::new("an_status", 0x04, 28, 4);
/// `eth_proto_capability`.
pub const ETH_PROTO_CAPABILITY: Field = Field::be32_at("eth_proto_capability", 0x0C);
/// `eth_proto_admin`.
pub const ETH_PROTO_ADMIN: Field = Field::be32_at("eth_proto_admin", 0x18);
/// `eth_proto_oper`.
pub const ETH_PROTO_OPER: Field = Field::be32_at("eth_proto_oper", 0x24);
/// `connector_type`.
pub const CONNECTOR_TYPE: Field = Field::new("connector_type", 0x2C, 0, 4);
/// `eth_proto_lp_advertise`.
pub const ETH_PROTO_LP_ADVERTISE: Field = Field::be32_at("eth_proto_lp_advertise", 0x30);

/// `proto_mask`: Ethernet.
pub const PROTO_ETH: u64 = 1 << 2;

/// Legacy Ethernet link modes (`enum mlx5e_link_mode`, bit numbers).
pub mod link_mode {
    /// 100GBASE-CR4.
    pub const GBASE_100_CR4: u32 = 20;
    /// 100GBASE-SR4.
    pub const GBASE_100_SR4: u32 = 21;
    /// 25GBASE-CR.
    pub const GBASE_25_CR: u32 = 27;
}
