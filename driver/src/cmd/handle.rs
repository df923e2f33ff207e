//! A posted command: waiting for it (polling or parked for its event), reading
//! and checking its output, giving it up (timeout, fatal error, removal).

use std::time::Duration;

use cxu_hal::ifc::cmd_entry::{self as ce, Completion, ENTRY_SIZE, INLINE_SIZE};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use std::sync::atomic::Ordering;
use tracing::{debug, warn};

use super::chain::BlockFault;
use super::core::{Posted, Waited};
use super::queue::{Chains, Queue};
use super::slot::SlotSync;
use super::stats::Outcome;
use super::time::Instant;
use crate::error::{Error, Result};

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
    /// When the doorbell was rung (`start` if the slot was free at once):
    /// the execution timeout counts from here.
    pub(super) posted_at: Instant,
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
        &self.queue.core.sync[self.slot as usize]
    }

    /// True once the command has completed (then `wait` returns at once).
    /// Never waits; in events mode it may consume the event queue.
    pub fn is_done(&self) -> bool {
        let q = self.queue;
        q.core.check_done(self.slot, self.posted, q, q.lead())
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
        let cmd = Posted {
            slot: self.slot,
            posted: self.posted,
            user: self.user,
            posted_at: self.posted_at,
            timeout: q.timeout(),
            habit: Some(q.stats.habit(self.opcode)),
        };
        let waited = q.core.wait(cmd, q, q.lead());
        match waited {
            Waited::Done => self.consume(),
            Waited::Aborted(e) => self.give_up(e, false),
            Waited::TimedOut(after) => self.give_up(
                Error::Timeout {
                    opcode: self.opcode,
                    slot: self.slot,
                    after,
                },
                true,
            ),
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
        q.core.mask.release(self.slot);
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
        if q.core.abandon(self.slot, self.posted, timed_out) {
            self.settled = true;
            if timed_out {
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
        if self.queue.core.abandon(self.slot, self.posted, false) {
            debug!(parent: &self.span, "command handle dropped before completion");
        } else {
            let _ = self.consume();
        }
    }
}
