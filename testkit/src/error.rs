//! What the submitter refuses, and what it found wrong with the device's answer.

use std::time::Duration;

use cxu_hal::ifc::{CmdStatus, DeliveryStatus};

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a step of the submitter failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A step of a sequence failed.
    #[error("{what}: {source}")]
    During {
        /// The step.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A `cxu_dma` access or allocation failed.
    #[error("{what}: {source}")]
    Dma {
        /// What was being done.
        what: &'static str,
        /// The DMA error (boxed: it is large, and rare).
        #[source]
        source: Box<cxu_dma::Error>,
    },
    /// An access past the end of device memory.
    #[error("{len} bytes at offset {offset:#x} do not fit in {size} bytes of device memory")]
    OutOfBounds {
        /// First byte.
        offset: usize,
        /// Bytes accessed.
        len: usize,
        /// Size of the memory.
        size: usize,
    },
    /// The memory given is smaller than the layout needs.
    #[error("{what} memory holds {have} bytes, the layout needs {need}")]
    MemoryTooSmall {
        /// Which memory.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// A layout the command interface cannot have.
    #[error("a layout of {slots} slots (1 to 32 fit the doorbell)")]
    Slots {
        /// Slots asked for.
        slots: u32,
    },
    /// A mailbox block whose IOVA is not in the memory it is written to.
    #[error("mailbox block at iova {iova:#x} is outside the memory it is written to")]
    NotInMemory {
        /// The block's IOVA.
        iova: u64,
    },
    /// A slot the layout does not have.
    #[error("slot {slot} out of range (the layout has {slots})")]
    Slot {
        /// Slot asked for.
        slot: u32,
        /// Slots of the layout.
        slots: u32,
    },
    /// A message longer than a chain of the layout holds.
    #[error("{len} bytes need {blocks} mailbox blocks, a chain of the layout has {max}")]
    TooLong {
        /// Message length.
        len: usize,
        /// Blocks it needs.
        blocks: usize,
        /// Blocks a chain has.
        max: usize,
    },
    /// An `ifc` encoder or decoder refused.
    #[error("ifc: {0}")]
    Ifc(#[from] cxu_hal::ifc::Error),
    /// A hal call (BAR mapping, config space) failed.
    #[error("hal: {0}")]
    Hal(#[from] cxu_hal::Error),
    /// Firmware kept `initializing` set.
    #[error("initializing still set after {after:?}")]
    Initializing {
        /// How long it was waited for.
        after: Duration,
    },
    /// The device kept the slot.
    #[error("slot {slot} not completed after {after:?}")]
    Timeout {
        /// The slot.
        slot: u32,
        /// How long it was waited for.
        after: Duration,
    },
    /// The device did not deliver the command.
    #[error("delivery status {0}")]
    Delivery(DeliveryStatus),
    /// Firmware ran the command and failed it.
    #[error("command status {status} syndrome {syndrome:#x}")]
    Status {
        /// Output header status.
        status: CmdStatus,
        /// Output header syndrome.
        syndrome: u32,
    },
    /// The output is too short for a field.
    #[error("output of {len} bytes has no dword at {offset:#x}")]
    ShortOutput {
        /// Offset of the dword.
        offset: usize,
        /// Output length.
        len: usize,
    },
    /// Firmware asks for more pages than the memory given for them holds.
    #[error("firmware wants {want} pages in all, the page memory holds {have}")]
    Pages {
        /// Pages wanted so far.
        want: usize,
        /// Pages the memory holds.
        have: usize,
    },
}

impl Error {
    /// Wraps the error of step `what`.
    pub(crate) fn during(what: &'static str) -> impl FnOnce(Error) -> Error {
        move |e| Error::During {
            what,
            source: Box::new(e),
        }
    }

    /// A `cxu_dma` error while doing `what`.
    pub(crate) fn dma(what: &'static str) -> impl FnOnce(cxu_dma::Error) -> Error {
        move |source| Error::Dma {
            what,
            source: Box::new(source),
        }
    }
}
