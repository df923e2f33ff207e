//! The driver's error type. Each variant says what failed; command errors name
//! the opcode and the status by name and the syndrome in hex.

use std::time::Duration;

use cxu_hal::ifc::iseg::HealthSyndrome;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};

/// Result of the driver.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The health syndrome, printed by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syndrome(pub u8);

impl std::fmt::Display for Syndrome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match HealthSyndrome(self.0).name() {
            Some(n) => write!(f, "{n}({:#x})", self.0),
            None => write!(f, "unknown({:#x})", self.0),
        }
    }
}

/// Why the firmware was declared dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalCause {
    /// The health buffer holds a nonzero syndrome.
    Syndrome(Syndrome),
    /// The health counter stopped for this many polls.
    HealthCounterStuck(u32),
    /// PCI reads return all ones (`fw_ver` = 0xFFFFFFFF): the device is gone.
    PciDead,
    /// `nic_interface` reads DISABLED or SW_RESET.
    NicInterface(u8),
    /// A driver thread (the EQ thread, the page worker, the health poller)
    /// panicked: nothing delivers completions, serves page requests or
    /// watches firmware any more, so the device is treated as dead.
    ThreadPanic(&'static str),
}

impl std::fmt::Display for FatalCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FatalCause::Syndrome(s) => write!(f, "health syndrome {s}"),
            FatalCause::HealthCounterStuck(n) => {
                write!(f, "health counter did not move for {n} polls")
            }
            FatalCause::PciDead => write!(f, "PCI reads return all ones"),
            FatalCause::NicInterface(v) => write!(f, "nic_interface reads {v}"),
            FatalCause::ThreadPanic(t) => write!(f, "driver thread {t} panicked"),
        }
    }
}

/// Everything the driver reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The device did not run the command (entry `status_own >> 1` nonzero).
    #[error("{opcode}: delivery status {status} (firmware did not run the command)")]
    Delivery {
        /// The command.
        opcode: Opcode,
        /// Delivery status read from the entry.
        status: DeliveryStatus,
    },

    /// Firmware ran the command and failed it.
    #[error("{opcode}: status {status}, syndrome {syndrome:#010x}")]
    Command {
        /// The command.
        opcode: Opcode,
        /// Command status from the outbox.
        status: CmdStatus,
        /// Firmware's syndrome.
        syndrome: u32,
    },

    /// The command did not complete in time. Its slot and buffers stay with the
    /// device until it gives them back or is reset.
    #[error("{opcode}: timed out after {after:?} in slot {slot} (the slot stays busy until the device returns it)")]
    Timeout {
        /// The command.
        opcode: Opcode,
        /// The slot it holds.
        slot: u32,
        /// How long the driver waited.
        after: Duration,
    },

    /// No command slot became free in time.
    #[error("{opcode}: no free command slot after {waited:?}")]
    NoFreeSlot {
        /// The command that could not be posted.
        opcode: Opcode,
        /// How long it waited.
        waited: Duration,
    },

    /// Every regular slot is held by a command that timed out: new commands fail
    /// at once instead of waiting (the kernel's 2025 rule).
    #[error("{opcode}: every command slot is stalled by a timed-out command; not waiting")]
    AllSlotsStalled {
        /// The command that was refused.
        opcode: Opcode,
    },

    /// The token the device wrote back differs from the command's.
    #[error("{opcode}: bad token in {place} of slot {slot}: expected {expected:#04x}, found {found:#04x}")]
    BadToken {
        /// The command.
        opcode: Opcode,
        /// Its slot.
        slot: u32,
        /// "entry" or "output block N".
        place: String,
        /// The token the driver posted.
        expected: u8,
        /// What the device wrote.
        found: u8,
    },

    /// A signature check failed (only when the device has checksums on).
    #[error("{opcode}: bad signature in {place} of slot {slot}")]
    BadSignature {
        /// The command.
        opcode: Opcode,
        /// Its slot.
        slot: u32,
        /// "entry" or "output block N".
        place: String,
    },

    /// The device rewrote the entry's output length.
    #[error("{opcode}: the device reports output length {found}, the driver posted {expected}")]
    BadOutputLength {
        /// The command.
        opcode: Opcode,
        /// The posted output length.
        expected: usize,
        /// What the entry holds now.
        found: usize,
    },

    /// The queue could not be quiesced (to switch between polling and events):
    /// some slots stayed busy, typically held by timed-out commands.
    #[error("cannot quiesce the command queue: slots {busy:#010x} still busy after {waited:?}")]
    Quiesce {
        /// How long the driver waited.
        waited: Duration,
        /// The slots still busy.
        busy: u32,
    },

    /// The caller's message cannot be posted.
    #[error("bad command message: {0}")]
    BadMessage(String),

    /// Firmware is dead; nothing reaches it until recovery.
    #[error("firmware fatal error: {cause}")]
    FwFatal {
        /// Why the driver declared it dead.
        cause: FatalCause,
    },

    /// The device was removed (or is being removed).
    #[error("device removed")]
    DeviceRemoved,

    /// Firmware stayed in `initializing` too long.
    #[error("firmware still initializing after {waited:?} (during {stage})")]
    FwInitTimeout {
        /// How long the driver waited.
        waited: Duration,
        /// Which wait.
        stage: &'static str,
    },

    /// The device speaks another command interface revision.
    #[error("command interface revision {found}, the driver supports {supported}")]
    CmdifRevision {
        /// The revision read.
        found: u32,
        /// The one the driver speaks.
        supported: u32,
    },

    /// A bring-up or teardown step failed.
    #[error("{step}: {source}")]
    Step {
        /// The step (for example "ENABLE_HCA").
        step: &'static str,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },

    /// A value the device wrote (in an output or an event) is invalid.
    #[error("device wrote a bad value: {0}")]
    BadDeviceValue(String),

    /// Firmware pages could not be returned or accounted.
    #[error("firmware pages: {0}")]
    Pages(String),

    /// DMA memory (boxed: it is large and rare).
    #[error(transparent)]
    Dma(Box<cxu_dma::Error>),

    /// The PCI function (boxed: it is large and rare).
    #[error(transparent)]
    Hal(Box<cxu_hal::Error>),

    /// A hardware layout could not be encoded or decoded.
    #[error(transparent)]
    Ifc(#[from] cxu_hal::ifc::Error),

    /// A driver thread could not be started.
    #[error("cannot start thread {name}: {source}")]
    Thread {
        /// Thread name.
        name: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<cxu_dma::Error> for Error {
    fn from(e: cxu_dma::Error) -> Self {
        Error::Dma(Box::new(e))
    }
}

impl From<cxu_hal::Error> for Error {
    fn from(e: cxu_hal::Error) -> Self {
        Error::Hal(Box::new(e))
    }
}

impl Error {
    /// Wraps `self` as the failure of bring-up or teardown step `step`.
    pub fn at(self, step: &'static str) -> Error {
        Error::Step {
            step,
            source: Box::new(self),
        }
    }

    /// The innermost error (through [`Error::Step`]).
    pub fn root(&self) -> &Error {
        match self {
            Error::Step { source, .. } => source.root(),
            e => e,
        }
    }
}

/// Adds a step name to a result's error.
pub(crate) trait StepExt<T> {
    fn step(self, step: &'static str) -> Result<T>;
}

impl<T, E: Into<Error>> StepExt<T> for std::result::Result<T, E> {
    fn step(self, step: &'static str) -> Result<T> {
        self.map_err(|e| e.into().at(step))
    }
}
