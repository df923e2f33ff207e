//! cxu-hal: the seam between the driver and a PCI function.
//!
//! * [`PciFunction`] is what the driver programs against: config space, BARs as
//!   [`Mmio`] regions, MSI-X vectors as eventfds, DMA map/unmap, reset, bus master.
//! * [`vfio`] implements it over `/dev/vfio` for a real function (or the QEMU
//!   guest's vfio-pci device); the device model in `cxu-qemu` implements it in-process.
//! * [`ifc`] is the hardware interface itself (init segment, command entry,
//!   mailbox, opcodes, status codes, EQEs, capabilities), shared by the driver and
//!   the model and checked against the reference tables.
//! * [`os`]: what the driver and the model need of the operating system that is
//!   not PCI (a thread's timer slack, waiting on an eventfd).
//!
//! `unsafe` is allowed here (MMIO, mmap, ioctls); every block carries a `// SAFETY:` line.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod ifc;
pub mod mmio;
pub mod os;
pub mod pci;
pub mod vfio;

pub use error::{Error, Result};
pub use mmio::Mmio;
pub use pci::{PciAddress, PciFunction};
pub use vmm_sys_util::eventfd::EventFd;
