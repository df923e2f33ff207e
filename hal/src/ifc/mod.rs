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

//! Module map (reference section in brackets):
//! * [`field`]: the checked big-endian bit-field helper everything else uses;
//! * [`iseg`]: the init segment and health buffer [§2]; [`pci_id`]: PCI ids [§1];
//! * [`cmd_entry`], [`mailbox`], [`header`]: the command queue entry, mailbox blocks
//!   and message split, the inbox/outbox headers [§3];
//! * [`opcode`], [`status`]: opcodes [§5.1], delivery and command statuses [§4.3, §4.4];
//! * [`eqe`], [`eq`]: event queue entries and types, the EQ context, event bitmask
//!   and EQ doorbell [§5, §7]; [`doorbell`]: UAR layout [§9];
//! * [`cqe`], [`wqe`]: completion queue entries and send WQE control segments;
//! * [`caps`]: cap types, op_mod, the general HCA capability fields [§6];
//! * [`commands`]: per-command layouts and sizes (`mlx5_ifc.h`);
//! * [`regs`]: ACCESS_REG registers (PAOS, PPCNT, MCQI, MCC, MCDA from mlx5; HTGT,
//!   HPKT, QPCR from mlxsw).
//!
//! Where the kernel and the reference disagree, the kernel wins and the item's
//! doc says so (e.g. `iseg::NIC_INTERFACE` is 3 bits as the driver uses it).

#![forbid(unsafe_code)]

pub mod caps;
pub mod cmd_entry;
pub mod commands;
pub mod cqe;
pub mod doorbell;
pub mod eq;
pub mod eqe;
pub mod error;
pub mod eth_caps;
pub mod field;
pub mod header;
pub mod iseg;
pub mod mailbox;
mod named;
pub mod opcode;
pub mod pci_id;
pub mod regs;
pub mod status;
pub mod wqe;

pub use error::{Error, Result};
pub use field::Field;
pub use header::{InHeader, OutHeader};
pub use opcode::Opcode;
pub use status::{CmdStatus, DeliveryStatus, DRIVER_SYND};
