//! The seam between the control plane and the device: what devlink ops and
//! the RPC channel need, and nothing more, so they run on the bare command
//! queue (tests, the `cxu` tool on the model) as well as on a probed device.

use std::time::Duration;

use cxu_hal::ifc::Opcode;

use crate::cmd::{OpStats, Queue};

/// A device the control plane can talk to.
pub trait Backend: Send + Sync {
    /// Runs one command: `msg` is the whole input message (header first);
    /// returns the whole output message (header included) of `outlen` bytes.
    /// Callers are users (devlink requests, RPCs): once removal has begun
    /// they get [`crate::Error::DeviceRemoved`].
    fn exec(&self, msg: &[u8], outlen: usize) -> crate::Result<Vec<u8>>;

    /// Reads the big-endian dword at `offset` of the initialization segment
    /// (health buffer, firmware revision); `None` when this backend has no
    /// BAR to read.
    fn iseg_read32(&self, offset: u64) -> Option<u32> {
        let _ = offset;
        None
    }

    /// The serial number in the function's VPD (`None` without a function
    /// to read, or without VPD).
    fn serial_number(&self) -> Option<String> {
        None
    }

    /// Per-opcode command counters (the `cmd` health reporter).
    fn cmd_stats(&self) -> Vec<(Opcode, OpStats)> {
        Vec::new()
    }

    /// The command timeout in force.
    fn cmd_timeout(&self) -> Option<Duration> {
        None
    }

    /// Resets the function and brings the command interface back up: the
    /// recovery path of the `fw_fatal` reporter.
    fn reset(&self) -> Result<(), super::CtlError> {
        Err(super::CtlError::Unsupported("function reset"))
    }

    /// Mailbox blocks one user command may use at most (input and output
    /// together), so a message too large for the pool is refused up front;
    /// `None`: no limit known.
    fn mailbox_blocks(&self) -> Option<usize> {
        None
    }
}

impl Backend for Queue {
    fn exec(&self, msg: &[u8], outlen: usize) -> crate::Result<Vec<u8>> {
        self.submit(msg, outlen, true)?.wait()
    }

    fn cmd_stats(&self) -> Vec<(Opcode, OpStats)> {
        self.all_stats()
    }

    fn cmd_timeout(&self) -> Option<Duration> {
        Some(self.timeout())
    }

    fn mailbox_blocks(&self) -> Option<usize> {
        Some(self.user_mailbox_blocks())
    }
}

impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn exec(&self, msg: &[u8], outlen: usize) -> crate::Result<Vec<u8>> {
        (**self).exec(msg, outlen)
    }
    fn iseg_read32(&self, offset: u64) -> Option<u32> {
        (**self).iseg_read32(offset)
    }
    fn serial_number(&self) -> Option<String> {
        (**self).serial_number()
    }
    fn cmd_stats(&self) -> Vec<(Opcode, OpStats)> {
        (**self).cmd_stats()
    }
    fn cmd_timeout(&self) -> Option<Duration> {
        (**self).cmd_timeout()
    }
    fn reset(&self) -> Result<(), super::CtlError> {
        (**self).reset()
    }
    fn mailbox_blocks(&self) -> Option<usize> {
        (**self).mailbox_blocks()
    }
}

/// The probed device: commands go through its registration gate (so they
/// fail with "device removed" after `remove`), and recovery is its
/// teardown → function reset → bring-up path.
impl Backend for crate::device::Device {
    fn exec(&self, msg: &[u8], outlen: usize) -> crate::Result<Vec<u8>> {
        crate::device::Device::exec(self, msg, outlen)
    }

    fn iseg_read32(&self, offset: u64) -> Option<u32> {
        crate::device::Device::iseg_read32(self, offset).ok()
    }

    fn serial_number(&self) -> Option<String> {
        crate::device::Device::serial_number(self)
    }

    fn cmd_stats(&self) -> Vec<(Opcode, OpStats)> {
        self.all_cmd_stats().unwrap_or_default()
    }

    fn cmd_timeout(&self) -> Option<Duration> {
        crate::device::Device::cmd_timeout(self).ok()
    }

    fn reset(&self) -> Result<(), super::CtlError> {
        self.recover()
            .map_err(|e| super::CtlError::cmd("device recovery", e))
    }

    fn mailbox_blocks(&self) -> Option<usize> {
        self.with_queue(|q| Ok(q.user_mailbox_blocks())).ok()
    }
}
