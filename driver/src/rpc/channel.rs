//! [`RpcDevice`] and [`RpcHandle`]: the RPC path with its checks, in the
//! order fwctl and the mlx5 fwctl driver apply them: sizes, header, scope
//! and opcode, then the gate, then the device.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cxu_hal::ifc::header::{self, InHeader, HEADER_SIZE};
use cxu_hal::ifc::mailbox::blocks_for_len;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::{CmdStatus, Opcode};

use super::gate::Gate;
use super::scope::{access_reg_register, min_scope_of, Scope};
use crate::devlink::Backend;

/// Largest input or output (fwctl's 2 MiB).
pub const MAX_RPC_LEN: usize = 2 << 20;

/// Why an RPC was not delivered. A command firmware ran and failed is not
/// an error here: its status and syndrome are in the output header.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Input or output size out of range (`EMSGSIZE`).
    #[error("{what} of {len} bytes: must be {min}..={max}")]
    Size {
        /// "input" or "output".
        what: &'static str,
        /// The length given.
        len: usize,
        /// The smallest allowed.
        min: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The opcode is not allowed at this scope (`EBADMSG`).
    #[error("{opcode} (op_mod {op_mod:#x}{}) is not allowed at scope {scope}{}", match .register { Some(r) => format!(", register {r}"), None => String::new() }, match .needs { Some(s) => format!("; it needs {}", s.as_str()), None => "; it is never allowed over RPC".to_string() })]
    NotAllowed {
        /// The command.
        opcode: Opcode,
        /// Its op_mod.
        op_mod: u16,
        /// The register, for ACCESS_REG.
        register: Option<RegisterId>,
        /// The caller's scope.
        scope: &'static str,
        /// The scope it needs, if any.
        needs: Option<Scope>,
    },
    /// Input and output together need more mailbox blocks than the command
    /// queue's pool holds (`EMSGSIZE`): refused before anything is allocated.
    #[error("input and output need {blocks} mailbox blocks; the pool serves at most {max}")]
    TooLarge {
        /// Blocks the RPC needs.
        blocks: usize,
        /// Blocks the pool has for user commands.
        max: usize,
    },
    /// The device was removed (`ENODEV`); the handle stays valid.
    #[error("device removed")]
    DeviceRemoved,
    /// The command was not delivered or did not complete (timeout, dead
    /// firmware, bad output).
    #[error("not delivered: {0}")]
    Failed(#[source] crate::Error),
}

impl RpcError {
    /// The errno fwctl would return.
    pub fn errno(&self) -> i32 {
        match self {
            RpcError::Size { .. } | RpcError::TooLarge { .. } => 90, // EMSGSIZE
            RpcError::NotAllowed { .. } => 74,                       // EBADMSG
            RpcError::DeviceRemoved => 19,                           // ENODEV
            RpcError::Failed(_) => 5,                                // EIO
        }
    }
}

/// The driver's side: created at probe, [`RpcDevice::unregister`]ed at
/// removal.
pub struct RpcDevice {
    gate: Gate<Arc<dyn Backend>>,
    /// Writes run at `debug_write_full` that no lower scope allows (fwctl
    /// taints the kernel for these).
    full_writes: AtomicU64,
}

impl RpcDevice {
    /// A channel to `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Arc<Self> {
        Arc::new(RpcDevice {
            gate: Gate::new(backend),
            full_writes: AtomicU64::new(0),
        })
    }

    /// A caller's handle (fwctl's open); after removal the open itself is
    /// refused with [`RpcError::DeviceRemoved`] (`ENODEV`), as fwctl does.
    pub fn open(self: &Arc<Self>) -> Result<RpcHandle, RpcError> {
        if !self.gate.is_open() {
            return Err(RpcError::DeviceRemoved);
        }
        Ok(RpcHandle {
            dev: Arc::clone(self),
        })
    }

    /// Register writes that needed `debug_write_full` and ran (each logged;
    /// the kernel taints on them).
    pub fn full_writes(&self) -> u64 {
        self.full_writes.load(Ordering::Relaxed)
    }

    /// Removal: waits for the RPCs inside to finish; every later RPC gets
    /// [`RpcError::DeviceRemoved`]. Returns whether this call closed it.
    pub fn unregister(&self) -> bool {
        let backend = self.gate.close();
        let closed = backend.is_some();
        // The backend reference is dropped here, outside the gate.
        drop(backend);
        if closed {
            tracing::info!("rpc channel unregistered");
        }
        closed
    }

    /// Whether RPCs can still reach the device.
    pub fn is_registered(&self) -> bool {
        self.gate.is_open()
    }
}

/// A caller's handle; valid until dropped, whatever happens to the device.
#[derive(Clone)]
pub struct RpcHandle {
    dev: Arc<RpcDevice>,
}

impl RpcHandle {
    /// Sends `input` (a whole command, header first) at `scope` and returns
    /// `out_len` bytes of output. The `uid` field of the header is
    /// overwritten with 0 (the driver's context): callers cannot speak for
    /// another context.
    pub fn rpc(&self, scope: Scope, input: &[u8], out_len: usize) -> Result<Vec<u8>, RpcError> {
        let min_in = 2 * HEADER_SIZE;
        if !(min_in..=MAX_RPC_LEN).contains(&input.len()) {
            return Err(RpcError::Size {
                what: "input",
                len: input.len(),
                min: min_in,
                max: MAX_RPC_LEN,
            });
        }
        if !(HEADER_SIZE..=MAX_RPC_LEN).contains(&out_len) {
            return Err(RpcError::Size {
                what: "output",
                len: out_len,
                min: HEADER_SIZE,
                max: MAX_RPC_LEN,
            });
        }
        let h = InHeader::decode(input)
            .map_err(|e| RpcError::Failed(crate::Error::BadMessage(e.to_string())))?;
        let needs = min_scope_of(input);
        let register = access_reg_register(input);
        if needs.is_none_or(|n| n > scope) {
            return Err(RpcError::NotAllowed {
                opcode: h.opcode,
                op_mod: h.op_mod,
                register,
                scope: scope.as_str(),
                needs,
            });
        }
        let blocks = blocks_for_len(input.len()) + blocks_for_len(out_len);
        let mut msg = input.to_vec();
        header::UID
            .set(&mut msg, 0)
            .map_err(|e| RpcError::Failed(crate::Error::BadMessage(e.to_string())))?;
        let res = self
            .dev
            .gate
            .with(|b| {
                // A message the pool cannot hold would drain it (and fail
                // other callers' commands meanwhile) before failing itself.
                if let Some(max) = b.mailbox_blocks().filter(|&m| blocks > m) {
                    return Err(RpcError::TooLarge { blocks, max });
                }
                if needs == Some(Scope::DebugWriteFull) {
                    self.dev.full_writes.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        opcode = %h.opcode,
                        op_mod = h.op_mod,
                        register = ?register,
                        "RPC at debug_write_full: a write no lower scope allows (fwctl taints here)"
                    );
                }
                Ok(b.exec(&msg, out_len))
            })
            .ok_or(RpcError::DeviceRemoved)??;
        match res {
            Ok(out) => Ok(out),
            // Delivered, and firmware said no: the caller reads why.
            Err(crate::Error::Command {
                status, syndrome, ..
            }) => Ok(failed_output(status, syndrome, out_len)),
            Err(crate::Error::DeviceRemoved) => Err(RpcError::DeviceRemoved),
            Err(e) => Err(RpcError::Failed(e)),
        }
    }

    /// Whether the device is still reachable.
    pub fn is_registered(&self) -> bool {
        self.dev.is_registered()
    }
}

/// An output of `len` bytes carrying firmware's status and syndrome.
fn failed_output(status: CmdStatus, syndrome: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.max(HEADER_SIZE)];
    // The buffer holds the header, so these cannot fail.
    let _ = header::STATUS.set(&mut out, u64::from(status.0));
    let _ = header::SYNDROME.set(&mut out, u64::from(syndrome));
    out
}
