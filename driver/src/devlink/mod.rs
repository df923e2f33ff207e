//! The driver's devlink instance (issue 6): registration from firmware caps
//! and the ops that reach the device.
//!
//! * [`backend`]: the seam to the device, [`Backend`] (run a command, read
//!   the initialization segment, reset), implemented by the command queue.
//! * [`caps`]: what the device reports ([`DeviceCaps`], from QUERY_HCA_CAP,
//!   QUERY_ADAPTER and the init segment) and what that makes the instance
//!   offer.
//! * [`catalog`]: the traps and trap groups the driver knows, with their
//!   hardware ids.
//! * [`register`]: bucket one, [`build`] programs the hardware defaults and
//!   fills a `devlink_core::Builder`; `register` comes last.
//! * [`ops`]: [`CxuOps`], the static `DevlinkOps`; traps, groups and
//!   policers through HPKT / HTGT / QPCR, info, reload, params.
//! * [`flash`]: the MCQI / MCC / MCDA flash flow with progress.
//! * [`health`]: the `fw`, `fw_fatal` and `cmd` reporters.
//! * [`port`]: port admin state (PAOS) and counters (PPCNT).
//! * [`reg`]: ACCESS_REG with typed errors.

pub mod backend;
pub mod caps;
pub mod catalog;
mod error;
pub mod flash;
pub mod health;
pub mod ops;
pub mod port;
pub mod reg;
pub mod register;
pub mod state;
pub mod trap_hw;

pub use backend::Backend;
pub use caps::DeviceCaps;
pub use error::CtlError;
pub use ops::CxuOps;
pub use register::{build, BuildOptions};
pub use state::Cxu;

/// The instance type the driver registers.
pub type CxuInstance = devlink_core::Instance<Cxu>;
