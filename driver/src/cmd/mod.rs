//! The command interface (reference §3-§4): the queue, its slots and mailbox
//! chains, completion by polling or by events, and per-opcode counters.

mod chain;
pub(crate) mod core;
mod habit;
mod handle;
pub(crate) mod lead;
pub(crate) mod policy;
mod queue;
pub(crate) mod slot;
pub(crate) mod slots;
mod slots_locked;
mod stats;
pub(crate) mod time;

pub use policy::SlotPolicy;
pub use queue::{CmdHandle, Mode, Queue, QueueConfig, SlotsSnapshot};
pub use stats::OpStats;
