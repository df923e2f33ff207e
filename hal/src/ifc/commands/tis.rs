//! CREATE_TIS (0x912), MODIFY_TIS (0x913), DESTROY_TIS (0x914) (`mlx5_ifc.h`
//! `create_tis_in`, `modify_tis_in`, `tisc`): the transport interface send
//! object an SQ points to.

use crate::ifc::field::Field;

/// `tisn` (dw2 23:0): CREATE out, MODIFY and DESTROY in.
pub const TISN: Field = Field::new("tisn", 0x08, 0, 24);
/// Byte offset of the `tisc` context in the CREATE and MODIFY inputs.
pub const CTX_OFFSET: usize = 0x20;
/// CREATE_TIS / MODIFY_TIS input size.
pub const TIS_IN_SIZE: usize = 0xC0;
/// MODIFY_TIS in: `modify_tis_bitmask` bits (dw5): `lag_tx_port_affinity`,
/// `strict_lag_tx_port_affinity`, `prio`.
pub const BITMASK: Field = Field::new("modify_tis_bitmask", 0x14, 0, 3);
/// MODIFY_TIS bitmask: `prio`.
pub const BITMASK_PRIO: u64 = 1;
/// MODIFY_TIS bitmask: `strict_lag_tx_port_affinity`.
pub const BITMASK_STRICT_LAG: u64 = 2;
/// MODIFY_TIS bitmask: `lag_tx_port_affinity`.
pub const BITMASK_LAG: u64 = 4;

/// `tisc` fields, relative to the context.
pub mod tisc {
    use crate::ifc::field::Field;

    /// `strict_lag_tx_port_affinity`.
    pub const STRICT_LAG_TX_PORT_AFFINITY: Field =
        Field::new("strict_lag_tx_port_affinity", 0x00, 31, 1);
    /// `tls_en`.
    pub const TLS_EN: Field = Field::new("tls_en", 0x00, 30, 1);
    /// `lag_tx_port_affinity`.
    pub const LAG_TX_PORT_AFFINITY: Field = Field::new("lag_tx_port_affinity", 0x00, 24, 4);
    /// `prio`.
    pub const PRIO: Field = Field::new("prio", 0x00, 16, 4);
    /// `transport_domain`.
    pub const TRANSPORT_DOMAIN: Field = Field::new("transport_domain", 0x24, 0, 24);
    /// `underlay_qpn`.
    pub const UNDERLAY_QPN: Field = Field::new("underlay_qpn", 0x28, 0, 24);
    /// `pd`.
    pub const PD: Field = Field::new("pd", 0x2C, 0, 24);
}
