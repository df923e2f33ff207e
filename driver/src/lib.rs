//! cxu-driver: the ConnectX-style driver core (issue 5).
//!
//! * [`cmd`]: the command queue: lock-free slot claim, mailbox chains,
//!   completion by polling or from the event queue, typed errors, counters.
#![forbid(unsafe_code)]

pub mod cmd;
pub mod rpc;
pub mod error;
mod sync;

#[cfg(all(test, loom))]
mod loom_tests;

pub use cmd::{CmdHandle, Mode, OpStats, Queue, QueueConfig};
pub use error::{Error, FatalCause, Result, Syndrome};
