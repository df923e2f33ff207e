//! A posted command: waiting for it (polling or parked for its event), reading
//! and checking its output, giving it up (timeout, fatal error, removal).

use std::time::Duration;

use cxu_hal::ifc::cmd_entry::{self as ce, Completion, ENTRY_SIZE, INLINE_SIZE};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use std::sync::atomic::Ordering;
use tracing::{debug, warn};

use super::chain::BlockFault;
use super::queue::{Chains, Mode, Queue};
use super::slot::SlotSync;
use super::stats::Outcome;
use super::time::{self, Instant};
use crate::error::{Error, Result};

/// How long a polling waiter spins before it starts yielding the CPU between
/// polls. Bounded in time, not in polls: at depth 32 each poll scans every busy
/// slot, and a count-bounded spin held a CPU for about a millisecond, which
/// starved firmware that shares the host's CPUs (the model, a QEMU guest) and
/// collapsed throughput (docs/performance.md, "What changed").
const POLL_SPIN: Duration = Duration::from_micros(20);
/// How long an events-mode waiter watches its slot's state word before it
/// parks. An EQ thread that is already awake (it polls a busy EQ before it
/// re-arms, `eq.rs`) marks the slot done within a microsecond or two; a parked
/// waiter costs a futex wake on its path and a scheduler wake-up on the
/// waiter's. 100 us covers the median wait at depth 32 on the model (25-45 us).
const EVENT_SPIN: Duration = Duration::from_micros(100);
/// The first part of either spin keeps the CPU (a command of the in-process
/// device takes about a microsecond); after it the waiter yields between
/// looks, since with more runnable threads than CPUs (two submitters, the EQ
/// thread, the firmware's workers on two CPUs) a waiter that keeps its CPU
/// delays the very completion it waits for.
const BUSY_SPIN: Duration = Duration::from_micros(2);
/// The longest an events-mode waiter yields (instead of parking) because the
/// EQ thread is awake: far past a command at depth 32 on the model (~40 us).
const EVENT_YIELD_MAX: Duration = Duration::from_millis(1);
/// A spinning waiter reads the clock once per this many checks.
const CLOCK_EVERY: u32 = 16;

fn mode_spin(mode: Mode) -> Duration {
    match mode {
        Mode::Polling => POLL_SPIN,
        Mode::Events => EVENT_SPIN,
    }
}
/// Longest park of an events-mode waiter between checks of the abort flags
/// (a safety net: fatal errors and removal unpark waiters explicitly).
const MAX_EVENT_PARK: Duration = Duration::from_millis(100);

/// A posted command. Wait for it with [`CmdHandle::wait`]; dropping it without
/// waiting abandons it (its slot comes back when the device completes it).
#[must_use = "a command handle must be waited for, or the result is lost"]
pub struct CmdHandle<'q> {
    pub(super) queue: &'q Queue,
    pub(super) slot: u32,
    pub(super) posted: u32,
    pub(super) token: u8,
    pub(super) opcode: Opcode,
    pub(super) outlen: usize,
    pub(super) user: bool,
    pub(super) start: Instant,
    pub(super) span: tracing::Span,
    pub(super) settled: bool,
    /// Set when the command completed: submit to completion.
    pub(super) latency: Option<Duration>,
    /// No mailbox chain: completion reads the entry alone.
    pub(super) inline_only: bool,
}

impl CmdHandle<'_> {
    /// Reads and checks the completed command (the device gave the entry back);
    /// `chains` are the slot's mailbox chains, locked by the caller (`None`
    /// for a command without any).
    fn read(&self, chains: Option<&Chains>) -> Result<Vec<u8>> {
        let q = self.queue;
        let (slot, opcode, token) = (self.slot, self.opcode, self.token);
        let checksum = q.verify.load(Ordering::Acquire);
        let mut raw = [0u8; ENTRY_SIZE];
        q.entry(slot)?.read_bytes(0, &mut raw)?;
        let entry = Completion::from_entry(&raw);
        if entry.token != token {
            return Err(Error::BadToken {
                opcode,
                slot,
                place: "entry".into(),
                expected: token,
                found: entry.token,
            });
        }
        if checksum && !ce::signature_ok(&raw) {
            return Err(Error::BadSignature {
                opcode,
                slot,
                place: "entry".into(),
            });
        }
        let ds = entry.delivery_status();
        if ds != DeliveryStatus::OK {
            return Err(Error::Delivery { opcode, status: ds });
        }
        if entry.outlen as usize != self.outlen {
            return Err(Error::BadOutputLength {
                opcode,
                expected: self.outlen,
                found: entry.outlen as usize,
            });
        }
        // Inline part copied, the rest zeroed for the chain to fill: no memset
        // of the whole buffer for outputs that fit inline.
        let n = self.outlen.min(INLINE_SIZE);
        let mut out = Vec::with_capacity(self.outlen);
        out.extend_from_slice(&entry.inline_out[..n]);
        out.resize(self.outlen, 0);
        let fault = match chains {
            Some(c) => c.output.read_output(&mut out, token, checksum)?,
            None => None,
        };
        match fault {
            None => {}
            Some(BlockFault::Token { block, found }) => {
                return Err(Error::BadToken {
                    opcode,
                    slot,
                    place: format!("output block {block}"),
                    expected: token,
                    found,
                })
            }
            Some(BlockFault::Signature { block }) => {
                return Err(Error::BadSignature {
                    opcode,
                    slot,
                    place: format!("output block {block}"),
                })
            }
        }
        let hdr = OutHeader::decode(&out)?;
        if hdr.status != CmdStatus::OK {
            return Err(Error::Command {
                opcode,
                status: hdr.status,
                syndrome: hdr.syndrome,
            });
        }
        Ok(out)
    }

    /// The slot the command occupies.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The command's opcode.
    pub fn opcode(&self) -> Opcode {
        self.opcode
    }

    /// The command's token.
    pub fn token(&self) -> u8 {
        self.token
    }

    fn sync(&self) -> &SlotSync {
        &self.queue.slots[self.slot as usize].sync
    }

    /// True once the command has completed (then `wait` returns at once).
    pub fn is_done(&self) -> bool {
        self.sync().is_done(self.posted) || {
            self.queue.try_complete(self.slot);
            self.sync().is_done(self.posted)
        }
    }

    /// Waits for the command and returns its output message (header included),
    /// or the error it ended with.
    pub fn wait(self) -> Result<Vec<u8>> {
        self.wait_timed().0
    }

    /// [`CmdHandle::wait`], and the command's latency from `submit` (before
    /// its slot was claimed) to completion, as the driver measured it for its
    /// counters: a caller that reports latencies needs no clock reads of its
    /// own (on the hot path each costs about as much as a slot claim).
    pub fn wait_timed(mut self) -> (Result<Vec<u8>>, Duration) {
        let res = self.wait_inner();
        let latency = self.latency.unwrap_or_else(|| self.start.elapsed());
        (res, latency)
    }

    fn wait_inner(&mut self) -> Result<Vec<u8>> {
        let q = self.queue;
        let deadline = time::after(self.start, q.timeout());
        // The clock is read only every CLOCK_EVERY checks: a completion seen at
        // the first look costs no clock read at all.
        let mut spin_until: Option<Instant> = None;
        let mut busy_until: Option<Instant> = None;
        let mut spinning = true;
        let mut busy = true;
        let mut checks: u32 = 0;
        loop {
            let mode = q.mode();
            if mode == Mode::Polling {
                // Its own slot first: a full scan of every busy slot per check
                // cost more than the rest of the completion at depth 32.
                q.try_complete(self.slot);
            }
            if self.sync().is_done(self.posted) {
                return self.consume();
            }
            if let Err(e) = q.check_alive(self.user) {
                return self.give_up(e, false);
            }
            let now = if checks % CLOCK_EVERY == 0 || !spinning {
                let now = Instant::now();
                let until = *spin_until.get_or_insert(time::after(now, mode_spin(mode)));
                spinning = now < until;
                busy = now < *busy_until.get_or_insert(time::after(now, BUSY_SPIN));
                Some(now)
            } else {
                None
            };
            checks = checks.wrapping_add(1);
            if let Some(now) = now.filter(|&n| n >= deadline) {
                // Last look, as the kernel's EQ recovery does.
                q.try_complete(self.slot);
                if self.sync().is_done(self.posted) {
                    return self.consume();
                }
                let after = now - self.start;
                return self.give_up(
                    Error::Timeout {
                        opcode: self.opcode,
                        slot: self.slot,
                        after,
                    },
                    true,
                );
            }
            if spinning {
                if busy {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            match mode {
                Mode::Polling => {
                    // Past the spin: retire every finished slot (commands given
                    // up by their owners come back only through a poll), and let
                    // the device's threads have the CPU.
                    q.poll();
                    std::thread::yield_now();
                }
                Mode::Events => {
                    // While the EQ thread polls a busy EQ, completions come
                    // every microsecond or so: yield rather than pay a park and
                    // a futex wake-up (bounded, in case the EQ stalls).
                    let now = now.unwrap_or_else(Instant::now);
                    if q.eq_awake() && now < time::after(self.start, EVENT_YIELD_MAX) {
                        std::thread::yield_now();
                        continue;
                    }
                    if self.sync().register_waiter(self.posted) {
                        std::thread::park_timeout(
                            deadline.saturating_duration_since(now).min(MAX_EVENT_PARK),
                        );
                    }
                }
            }
        }
    }

    /// The command completed: read it, free the slot, count it.
    fn consume(&mut self) -> Result<Vec<u8>> {
        let q = self.queue;
        // One lock for reading the output and trimming the chains, and none
        // for a command that had no chain.
        let res = if self.inline_only {
            self.read(None)
        } else {
            q.lock_chains(self.slot).and_then(|mut c| {
                let res = self.read(Some(&c));
                c.input.trim();
                c.output.trim();
                res
            })
        };
        self.sync().finish(self.posted);
        q.mask.release(self.slot);
        self.settled = true;
        let latency = self.start.elapsed();
        self.latency = Some(latency);
        let outcome = if res.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        };
        q.stats.record(self.opcode, outcome, latency);
        self.span.record("latency_us", latency.as_micros() as u64);
        match &res {
            Ok(_) => {
                debug!(parent: &self.span, latency_us = latency.as_micros() as u64, "command completed")
            }
            Err(e) => {
                debug!(parent: &self.span, latency_us = latency.as_micros() as u64, error = %e, "command failed")
            }
        }
        res
    }

    /// Gives the command up with `err`. If it completed meanwhile it is consumed
    /// (and `err` still returned for a forced failure, never for a timeout).
    fn give_up(&mut self, err: Error, timed_out: bool) -> Result<Vec<u8>> {
        let q = self.queue;
        if self.sync().abandon(self.posted) {
            self.settled = true;
            if timed_out {
                q.mask.mark_stale(self.slot);
                q.stats
                    .record(self.opcode, Outcome::Timeout, self.start.elapsed());
                warn!(parent: &self.span, error = %err, "command timed out; its slot stays with the device");
            } else {
                q.stats
                    .record(self.opcode, Outcome::Error, self.start.elapsed());
            }
            Err(err)
        } else if timed_out {
            self.consume()
        } else {
            let _ = self.consume();
            Err(err)
        }
    }
}

impl Drop for CmdHandle<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if self.sync().abandon(self.posted) {
            debug!(parent: &self.span, "command handle dropped before completion");
        } else {
            let _ = self.consume();
        }
    }
}
