//! Per-opcode command counters: a fixed table indexed by opcode, atomics only,
//! so the hot path counts without a lock or an allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cxu_hal::ifc::Opcode;

use super::habit::Habit;

/// Opcodes are below 0x1000 (the highest defined is 0xB16); others share the last row.
const ROWS: usize = 0x1000;

#[derive(Default)]
struct Row {
    count: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    latency_ns: AtomicU64,
    habit: Habit,
}

/// Counters of one opcode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Commands completed (successfully or not) or timed out.
    pub count: u64,
    /// Commands that ended in an error other than a timeout.
    pub errors: u64,
    /// Commands that timed out.
    pub timeouts: u64,
    /// Sum of the latencies of completed commands.
    pub latency_sum: Duration,
}

impl OpStats {
    /// Mean latency of completed commands.
    pub fn mean_latency(&self) -> Option<Duration> {
        let done = self.count.checked_sub(self.timeouts)?;
        if done == 0 {
            return None;
        }
        Some(self.latency_sum / u32::try_from(done).unwrap_or(u32::MAX))
    }
}

/// The table.
pub(crate) struct Stats {
    rows: Box<[Row]>,
}

/// How a command ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Error,
    Timeout,
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            rows: (0..ROWS).map(|_| Row::default()).collect(),
        }
    }

    fn row(&self, op: Opcode) -> &Row {
        &self.rows[usize::from(op.0).min(ROWS - 1)]
    }

    pub(crate) fn record(&self, op: Opcode, outcome: Outcome, latency: Duration) {
        let r = self.row(op);
        r.count.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok => {}
            Outcome::Error => {
                r.errors.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Timeout => {
                r.timeouts.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        r.latency_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// How `op`'s recent events-mode waits ended.
    pub(crate) fn habit(&self, op: Opcode) -> &Habit {
        &self.row(op).habit
    }

    /// Counters of `op`.
    pub(crate) fn get(&self, op: Opcode) -> OpStats {
        let r = self.row(op);
        OpStats {
            count: r.count.load(Ordering::Relaxed),
            errors: r.errors.load(Ordering::Relaxed),
            timeouts: r.timeouts.load(Ordering::Relaxed),
            latency_sum: Duration::from_nanos(r.latency_ns.load(Ordering::Relaxed)),
        }
    }

    /// Every opcode with a nonzero count.
    pub(crate) fn all(&self) -> Vec<(Opcode, OpStats)> {
        (0..ROWS)
            .filter(|&i| self.rows[i].count.load(Ordering::Relaxed) != 0)
            .map(|i| {
                let op = Opcode(i as u16);
                (op, self.get(op))
            })
            .collect()
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_per_opcode_and_means_exclude_timeouts() {
        let s = Stats::new();
        s.record(Opcode::NOP, Outcome::Ok, Duration::from_micros(10));
        s.record(Opcode::NOP, Outcome::Error, Duration::from_micros(30));
        s.record(Opcode::NOP, Outcome::Timeout, Duration::from_secs(60));
        s.record(Opcode(0xFFFF), Outcome::Ok, Duration::ZERO);
        let n = s.get(Opcode::NOP);
        assert_eq!((n.count, n.errors, n.timeouts), (3, 1, 1));
        assert_eq!(n.mean_latency(), Some(Duration::from_micros(20)));
        assert_eq!(s.get(Opcode::INIT_HCA), OpStats::default());
        assert_eq!(s.all().len(), 2);
    }
}
