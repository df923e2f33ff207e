//! cxu-driver: the ConnectX-style driver core (issue 5).
//!
//! * [`cmd`]: the command queue: lock-free slot claim, mailbox chains,
//!   completion by polling or from the event queue, typed errors, counters.
//! * [`Device::probe`] ([`device`], `probe`): bring-up, the registration gate,
//!   teardown ([`Device::remove`]) and recovery ([`Device::recover`]).
//! * [`eq`]: the event queue and its thread; [`pages`]: firmware pages and the
//!   page worker; [`health`]: the health poller; [`caps`]: features and caps.
//! * [`devlink`]: the devlink instance built from caps and its ops (traps,
//!   policers, ports, params, health, info, flash, reload); [`rpc`]: the
//!   firmware RPC channel. The `cxu` tool and `cxu bench` are the
//!   `cxu-tool` crate.
#![forbid(unsafe_code)]

pub mod caps;
pub mod cmd;
pub mod device;
pub mod devlink;
pub mod eq;
pub mod error;
pub mod health;
pub mod iseg_timeouts;
pub mod page_requests;
pub mod pages;
mod probe;
pub mod rpc;
mod sync;
mod thread_guard;
pub mod vpd;

#[cfg(all(test, cxu_driver_loom))]
mod loom_lead;
#[cfg(all(test, cxu_driver_loom))]
mod loom_tests;

pub use caps::{Caps, Features, PortType};
pub use cmd::{CmdHandle, Mode, OpStats, Queue, QueueConfig};
pub use device::{Device, DriverConfig, FwVersion, RemoveReport, Summary};
pub use error::{Error, FatalCause, Result, Syndrome};
pub use health::HealthReport;
pub use pages::PageStats;
