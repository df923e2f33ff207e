//! The firmware RPC channel (fwctl-like, reference §11): a caller hands an
//! opaque command and gets firmware's output back.
//!
//! * [`scope`]: the four scopes and the opcode allow-list (the kernel's
//!   `mlx5ctl_validate_rpc`, restricted to opcodes `hal::ifc` knows).
//! * [`gate`]: the registration gate: shared for calls, exclusive for
//!   removal, "device removed" forever after.
//! * [`channel`]: [`RpcDevice`] (the driver's side) and [`RpcHandle`] (a
//!   caller's handle, valid until dropped, even after removal).

pub mod channel;
pub mod gate;
pub mod scope;

pub use channel::{RpcDevice, RpcError, RpcHandle, MAX_RPC_LEN};
pub use scope::{access_reg_scope, min_scope, min_scope_of, Scope};
