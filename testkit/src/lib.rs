//! cxu-testkit: a raw command submitter for tests, built from `cxu_hal::ifc`
//! layouts alone, so that the device (the model, or QEMU's device through real
//! VFIO) is checked independently of the driver's own command queue.
//!
//! It does what the PRM asks of a driver and nothing more: program the queue
//! address in the init segment, lay out a 64-byte entry with its input and
//! output mailbox chains, hand the entry over with the `status_own` byte
//! (written last, with release ordering), ring the doorbell, poll the byte, and
//! read the output back (see [`Submitter`]). A command is first built into a
//! [`Prepared`] so that a test can tamper with the entry or the blocks before
//! posting it.
//!
//! The memory is the caller's, behind [`DeviceMemory`]: `cxu_dma` regions (the
//! QEMU guest, the fuzz harness) or the model tests' own fixed-IOVA mappings.
//!
//! Why a crate of its own: the model's tests, the guest binary and the fuzz
//! crate all need it, and the dependency arrows must stay as they are. In hal
//! (behind a feature) it could not use `cxu_dma`, and hal would carry test-only
//! code; in the driver, the model's tests would depend on the driver; in the
//! model, the guest binary and the fuzz harness would carry the model's weight
//! just to talk to a device. So: `publish = false`, depending on hal and dma
//! only, and used as a dev-dependency or by test binaries.
#![forbid(unsafe_code)]

mod bringup;
mod completion;
mod error;
mod layout;
mod mailbox;
mod memory;
mod prepared;
mod submitter;

pub use bringup::give_pages_msg;
pub use completion::Completion;
pub use error::{Error, Result};
pub use layout::Layout;
pub use mailbox::{chain, write_blocks, MailboxBlock};
pub use memory::DeviceMemory;
pub use prepared::{msg, Prepared};
pub use submitter::{Submitter, EXEC_TIMEOUT};
