//! Registers read and written through ACCESS_REG, simplified to the fields the
//! control plane uses. Layouts come from the Linux kernel:
//!
//! * port: PAOS, PPCNT (`include/linux/mlx5/mlx5_ifc.h`);
//! * management capabilities: MCAM (`mlx5_ifc.h`);
//! * firmware flash: MCQS, MCQI, MCC, MCDA (`mlx5_ifc.h`, states and instructions from
//!   `mlx5/core/fw.c` and `mlxfw/mlxfw.h`);
//! * traps and policers: HTGT, HPKT, QPCR (Spectrum switch registers,
//!   `drivers/net/ethernet/mellanox/mlxsw/reg.h`). A ConnectX NIC does not
//!   implement these; cxu's device model does, with the Spectrum layouts, so that
//!   devlink traps and policers have real register semantics.
//!
//! Each register has `LEN`, its `Field`s, a struct with `encode`/`decode`.
//! Reserved bits are written as zero and ignored on decode.

pub mod hpkt;
pub mod htgt;
pub mod mcam;
pub mod mcc;
pub mod mcda;
pub mod mcqi;
pub mod mcqs;
pub mod paos;
pub mod pfcc;
pub mod pmtu;
pub mod ppcnt;
pub mod ptys;
pub mod qpcr;

use super::named::named_values;

/// A register id (ACCESS_REG `register_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RegisterId(pub u16);

named_values!(RegisterId: u16 {
    /// QoS policer configuration (mlxsw `MLXSW_REG_QPCR_ID`).
    QPCR = 0x4004,
    /// Port MTU (max, admin, oper).
    PMTU = 0x5003,
    /// Port type and speed (Ethernet protocols: capability, admin, oper).
    PTYS = 0x5004,
    /// Port administrative and operational status (`MLX5_REG_PAOS`).
    PAOS = 0x5006,
    /// Port flow control: global pause and per-priority flow control.
    PFCC = 0x5007,
    /// Port counters (`MLX5_REG_PPCNT`).
    PPCNT = 0x5008,
    /// Host trap group table (mlxsw `MLXSW_REG_HTGT_ID`).
    HTGT = 0x7002,
    /// Host packet trap (mlxsw `MLXSW_REG_HPKT_ID`).
    HPKT = 0x7003,
    /// Host endianness (`MLX5_REG_HOST_ENDIANNESS`; bring-up step 13).
    HOST_ENDIANNESS = 0x7004,
    /// Management component query status (`MLX5_REG_MCQS`).
    MCQS = 0x9060,
    /// Management component query information (`MLX5_REG_MCQI`).
    MCQI = 0x9061,
    /// Management component control (`MLX5_REG_MCC`).
    MCC = 0x9062,
    /// Management component data access (`MLX5_REG_MCDA`).
    MCDA = 0x9063,
    /// Management capabilities (`MLX5_REG_MCAM`).
    MCAM = 0x907F,
    /// Default timeouts (`MLX5_REG_DTOR`; bring-up step 12).
    DTOR = 0xC00E,
});
