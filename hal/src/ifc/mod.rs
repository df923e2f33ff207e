//! `ifc`: the ConnectX (mlx5) hardware interface, as byte layouts with checked
//! encoders and decoders. The driver (`cxu-driver`) and the device model
//! (`cxu-qemu`) both build on it, and `hal/tests/ifc_offsets.rs` checks it against
//! the tables of `shared/reference/mlx5-command-interface.md`, so that the two
//! sides cannot silently share a layout bug.
//!
//! Conventions (from the reference and the kernel's `mlx5_ifc.h`): every field is
//! big-endian; "dword at byte N, bits hi:lo" counts bits from the LSB of the
//! big-endian dword. [`Field`] encodes exactly that. Decoders take `&[u8]` and
//! return [`Error`] for short or bad input; encoders write into `&mut [u8]` or
//! return fixed arrays. There is no `unsafe` here.

#![forbid(unsafe_code)]

pub mod caps;
pub mod cmd_entry;
pub mod commands;
pub mod doorbell;
pub mod eq;
pub mod eqe;
pub mod error;
pub mod field;
pub mod header;
pub mod iseg;
pub mod mailbox;
mod named;
pub mod opcode;
pub mod pci_id;
pub mod regs;
pub mod status;

pub use error::{Error, Result};
pub use field::Field;
pub use header::{InHeader, OutHeader};
pub use opcode::Opcode;
pub use status::{CmdStatus, DeliveryStatus, DRIVER_SYND};
