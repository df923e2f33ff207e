//! PFCC (0x5007), port flow control configuration (`mlx5_ifc_pfcc_reg_bits`,
//! 32 bytes): global pause (`pptx`/`pprx`) and per-priority flow control
//! (`pfctx`/`pfcrx`, changed only where `prio_mask_tx`/`prio_mask_rx` say).

use crate::ifc::field::Field;

/// Register size.
pub const LEN: usize = 0x20;
/// `local_port` (1-based).
pub const LOCAL_PORT: Field = Field::new("local_port", 0x00, 16, 8);
/// `prio_mask_tx`: which `pfctx` bits a write changes.
pub const PRIO_MASK_TX: Field = Field::new("prio_mask_tx", 0x04, 16, 8);
/// `prio_mask_rx`: which `pfcrx` bits a write changes.
pub const PRIO_MASK_RX: Field = Field::new("prio_mask_rx", 0x04, 0, 8);
/// `pptx`: global pause on transmit.
pub const PPTX: Field = Field::new("pptx", 0x08, 31, 1);
/// `pptx_mask_n`: a write leaves `pptx` as it is.
pub const PPTX_MASK_N: Field = Field::new("pptx_mask_n", 0x08, 29, 1);
/// `pfctx`: per-priority flow control on transmit.
pub const PFCTX: Field = Field::new("pfctx", 0x08, 16, 8);
/// `pprx`: global pause on receive.
pub const PPRX: Field = Field::new("pprx", 0x0C, 31, 1);
/// `pprx_mask_n`: a write leaves `pprx` as it is.
pub const PPRX_MASK_N: Field = Field::new("pprx_mask_n", 0x0C, 29, 1);
/// `pfcrx`: per-priority flow control on receive.
pub const PFCRX: Field = Field::new("pfcrx", 0x0C, 16, 8);
