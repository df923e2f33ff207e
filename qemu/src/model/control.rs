//! What a test can set and observe on the device: per-opcode latency, injected
//! faults, and counters. The [`super::Control`] handle wraps these.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use parking_lot::{Mutex, RwLock};

/// A misbehaviour the firmware shows for matching commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The command is fetched but never completes: the entry stays HW-owned
    /// and its slot busy until a reset.
    NeverComplete,
    /// The command completes normally, but only after this long (use a value
    /// past the driver's timeout for "a completion after the timeout").
    Delay(Duration),
    /// The command is not executed; it completes with this status and syndrome.
    Status {
        /// Command status written in the outbox.
        status: CmdStatus,
        /// Syndrome written in the outbox.
        syndrome: u32,
    },
    /// The command is not executed; the entry gets this delivery status.
    Delivery(DeliveryStatus),
    /// The command executes, but the token written back in the entry and in
    /// every output block is wrong.
    BadToken,
    /// The command executes, but the entry signature and the output block
    /// signatures written back are wrong.
    BadSignature,
    /// The command executes, but the entry's `outlen` is rewritten as `extra`
    /// bytes more than the driver's buffer holds.
    OversizedOutput {
        /// Bytes added to `outlen`.
        extra: u32,
    },
    /// The command executes, but every output block is written back with
    /// its `next` pointing at itself: a looping chain, for a driver that
    /// would follow the pointers the device wrote.
    LoopedOutputChain,
    /// The command executes, but the device also writes to [`STRAY_IOVA`],
    /// which nothing maps: the IOMMU records the fault and the command
    /// fails with delivery status 0x04, as an output-side IOMMU fault does.
    StrayDma,
    /// The command executes, but the device writes none of its output
    /// mailbox blocks (the inline output and the entry are written): a
    /// driver that left earlier bytes in those blocks hands them out.
    SkipOutputBlocks,
}

/// Where [`Fault::StrayDma`] writes: below the IOMMU aperture, never mapped.
pub const STRAY_IOVA: u64 = 0x800;

#[derive(Clone, Copy, Debug)]
struct Rule {
    opcode: Option<Opcode>,
    remaining: Option<u32>,
    fault: Fault,
}

/// Counters of the device (monotonic since creation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Doorbell writes with at least one bit set.
    pub doorbells: u64,
    /// Doorbell bits ignored: entry not HW-owned, slot out of range, firmware
    /// dead or not booted, no queue address.
    pub doorbell_bits_ignored: u64,
    /// Commands that reached firmware and completed (any command status).
    pub commands_executed: u64,
    /// Commands that completed with a delivery error (firmware did not run them).
    pub delivery_errors: u64,
    /// Commands lost because their entry could not be read or written.
    pub commands_lost: u64,
    /// EQEs written to an event queue.
    pub eqes_posted: u64,
    /// Events dropped because the EQ was full (or no EQ subscribes).
    pub events_dropped: u64,
    /// IOMMU faults (DMA to an unmapped IOVA).
    pub iommu_faults: u64,
    /// MSI-X messages delivered to an eventfd.
    pub interrupts: u64,
    /// 4 KiB pages firmware holds now.
    pub pages_held: u64,
}

/// Shared control state read by the engine on every command.
#[derive(Default)]
pub struct ControlState {
    any_latency: AtomicBool,
    latency: RwLock<HashMap<u16, Duration>>,
    any_fault: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    pub(crate) doorbells: AtomicU64,
    pub(crate) doorbell_bits_ignored: AtomicU64,
    pub(crate) commands_executed: AtomicU64,
    pub(crate) delivery_errors: AtomicU64,
    pub(crate) commands_lost: AtomicU64,
    pub(crate) eqes_posted: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    /// Completions written (any delivery status), per opcode: the device's
    /// own count of answers, to compare with what callers received.
    completions: Mutex<HashMap<u16, u64>>,
    pub(crate) history: Mutex<super::history::History>,
    /// Frames sent and received.
    pub(crate) wire: Mutex<super::wire::Wire>,
}

impl ControlState {
    /// Sets (or with zero clears) the execution latency of `opcode`.
    pub fn set_latency(&self, opcode: Opcode, latency: Duration) {
        let mut map = self.latency.write();
        if latency.is_zero() {
            map.remove(&opcode.0);
        } else {
            map.insert(opcode.0, latency);
        }
        self.any_latency.store(!map.is_empty(), Ordering::Release);
    }

    /// The latency of `opcode` (zero unless a test set one).
    pub fn latency(&self, opcode: Opcode) -> Duration {
        if !self.any_latency.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        self.latency
            .read()
            .get(&opcode.0)
            .copied()
            .unwrap_or_default()
    }

    /// Adds a fault for the next `times` commands with `opcode` (any opcode if
    /// `None`; forever if `times` is `None`). Earlier rules match first.
    pub fn inject(&self, opcode: Option<Opcode>, fault: Fault, times: Option<u32>) {
        let mut rules = self.rules.lock();
        rules.push(Rule {
            opcode,
            remaining: times,
            fault,
        });
        self.any_fault.store(true, Ordering::Release);
    }

    /// Counts one completion of `opcode` (written before ownership returns).
    pub(crate) fn count_completion(&self, opcode: Opcode) {
        *self.completions.lock().entry(opcode.0).or_default() += 1;
    }

    /// Completions of `opcode` written so far.
    pub fn completions(&self, opcode: Opcode) -> u64 {
        self.completions.lock().get(&opcode.0).copied().unwrap_or(0)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.rules.lock().clear();
        self.any_fault.store(false, Ordering::Release);
    }

    /// The fault to apply to a command with `opcode`, consuming one use of its rule.
    pub fn take_fault(&self, opcode: Opcode) -> Option<Fault> {
        if !self.any_fault.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.rules.lock();
        let i = rules
            .iter()
            .position(|r| r.opcode.is_none_or(|o| o == opcode))?;
        let fault = rules[i].fault;
        if let Some(n) = rules[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(i);
            }
        }
        self.any_fault.store(!rules.is_empty(), Ordering::Release);
        Some(fault)
    }
}
