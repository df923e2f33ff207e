//! QUERY_VPORT_STATE (0x750) (`mlx5_ifc.h` `query_vport_state_in/out`):
//! the administrative and operational state of a vport (op_mod 0: the
//! function's own NIC vport).

use crate::ifc::field::Field;

/// In: `other_vport` (dw2 bit 31).
pub const OTHER_VPORT: Field = Field::new("other_vport", 0x08, 31, 1);
/// In: `vport_number` (dw2 15:0).
pub const VPORT_NUMBER: Field = Field::new("vport_number", 0x08, 0, 16);
/// Out: `admin_state` (dw3 7:4).
pub const ADMIN_STATE: Field = Field::new("admin_state", 0x0C, 4, 4);
/// Out: `state` (dw3 3:0): 0 down, 1 up.
pub const STATE: Field = Field::new("state", 0x0C, 0, 4);

/// `state` / `admin_state` values (`MLX5_VPORT_*_STATE_*`).
pub mod state {
    /// Down.
    pub const DOWN: u64 = 0;
    /// Up.
    pub const UP: u64 = 1;
    /// Admin state: follows the uplink.
    pub const FOLLOW: u64 = 2;
}

/// QUERY_VPORT_COUNTER (0x770) input size (`query_vport_counter_in`).
pub const QUERY_VPORT_COUNTER_IN_SIZE: usize = 0x20;
/// QUERY_VPORT_COUNTER output size (`query_vport_counter_out`).
pub const QUERY_VPORT_COUNTER_OUT_SIZE: usize = 0x210;
/// QUERY_VPORT_COUNTER in: `port_num` (dw2 19:16).
pub const COUNTER_PORT_NUM: Field = Field::new("port_num", 0x08, 16, 4);
/// QUERY_VPORT_COUNTER in: `clear` (dw6 bit 31).
pub const COUNTER_CLEAR: Field = Field::new("clear", 0x18, 31, 1);
/// QUERY_VPORT_COUNTER out: the first `traffic_counter` (`received_errors`);
/// each is 16 bytes, BE64 packets then BE64 octets.
pub const TRAFFIC_COUNTERS_OFFSET: usize = 0x10;
/// The `traffic_counter`s of QUERY_VPORT_COUNTER, in output order.
pub const TRAFFIC_COUNTERS: usize = 13;

/// Indexes of the `traffic_counter`s of QUERY_VPORT_COUNTER (output order).
pub mod traffic {
    /// `received_eth_broadcast`.
    pub const RX_ETH_BROADCAST: usize = 6;
    /// `transmitted_eth_broadcast`.
    pub const TX_ETH_BROADCAST: usize = 7;
    /// `received_eth_unicast`.
    pub const RX_ETH_UNICAST: usize = 8;
    /// `transmitted_eth_unicast`.
    pub const TX_ETH_UNICAST: usize = 9;
    /// `received_eth_multicast`.
    pub const RX_ETH_MULTICAST: usize = 10;
    /// `transmitted_eth_multicast`.
    pub const TX_ETH_MULTICAST: usize = 11;
}
