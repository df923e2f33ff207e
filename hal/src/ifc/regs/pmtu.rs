//! PMTU (0x5003), the port MTU (`mlx5_ifc_pmtu_reg_bits`, 16 bytes): the
//! largest frame the port takes (`max_mtu`, read-only), the one the driver
//! set (`admin_mtu`, written) and the one in effect (`oper_mtu`). MTUs here
//! count the whole frame: the kernel's `MLX5E_SW2HW_MTU` adds the Ethernet
//! header, a VLAN tag and the FCS.

use crate::ifc::field::Field;

/// Register size.
pub const LEN: usize = 16;
/// `local_port` (1-based).
pub const LOCAL_PORT: Field = Field::new("local_port", 0x00, 16, 8);
/// `max_mtu`.
pub const MAX_MTU: Field = Field::new("max_mtu", 0x04, 16, 16);
/// `admin_mtu`.
pub const ADMIN_MTU: Field = Field::new("admin_mtu", 0x08, 16, 16);
/// `oper_mtu`.
pub const OPER_MTU: Field = Field::new("oper_mtu", 0x0C, 16, 16);
