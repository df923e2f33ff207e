//! cxu-qemu: a ConnectX-5-style PCI function with its firmware, for tests.
//!
//! * [`model`] is the device: PCI config space, BAR0 (initialization segment,
//!   MSI-X table, UAR pages), the command engine and the firmware. It is
//!   backend-independent: it sees guest memory through [`model::Iommu`] (a
//!   `vm_memory::GuestMemory` of the mapped IOVA ranges) and raises interrupts
//!   through [`model::InterruptLine`]. It contains no `unsafe`.
//! * [`local`] is the in-process backend: it implements [`cxu_hal::PciFunction`]
//!   so the driver (or a test) programs the model as it would a VFIO device.
//!   It is the only module with `unsafe` (turning host pointers into guest memory
//!   regions).
//! * [`model::Control`] is the test-control handle: boot time, per-opcode latency,
//!   fault injection, firmware events, register state and counters.
//!
//! The vfio-user server for QEMU (`src/bin/cxu-vfio-user`) drives the same
//! [`model::Device`] API: `config_read/write`, `bar0_read/write`, mappings in
//! [`model::Iommu`], interrupt lines in [`model::Msix`], `reset`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod local;
pub mod model;

pub use local::LocalFunction;
pub use model::{Control, Device, Profile};
