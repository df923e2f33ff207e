//! The firmware workers: fetch a slot's command, wait out its latency in the
//! timer, execute it under the firmware lock, write the completion and post
//! the command-completion event. Nothing of an older reset generation lands.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use cxu_hal::ifc::eqe::{self, EventType};
use cxu_hal::ifc::header::InHeader;
use cxu_hal::ifc::DeliveryStatus;

use super::cmdif::{self, Fetch, Request, Written};
use super::control::Fault;
use super::engine::Job;
use super::{event_data, Inner};

impl Inner {
    pub(super) fn worker(self: Arc<Self>, rx: crossbeam::channel::Receiver<Job>) {
        let mut req = Request::default();
        let mut out = Vec::with_capacity(4096 + 16);
        while let Ok(job) = rx.recv() {
            match job {
                Job::Stop => break,
                Job::Fetch { slot, generation } => self.fetch(slot, generation, &mut req, &mut out),
                Job::Run(r) => self.run(&r, &mut out, r.fault),
            }
        }
    }

    pub(super) fn timer(self: Arc<Self>) {
        // A firmware latency of 10 us must not become 60 (the default 50 us
        // of timer slack on the condvar's timed wait).
        if let Err(e) = cxu_hal::os::set_thread_timer_slack(1) {
            tracing::debug!(error = %e, "firmware timer keeps the default timer slack");
        }
        // Runs until Device::drop stops the engine; the Arc keeps Inner alive.
        self.engine.timer_loop();
    }

    fn fetch(&self, slot: u32, generation: u64, req: &mut Request, out: &mut Vec<u8>) {
        let (base, stride) = {
            let s = self.iseg.lock();
            (s.cmdq_addr(), s.cmdq_geometry().1)
        };
        req.slot = slot;
        req.generation = generation;
        let checksum = self.checksum.load(Ordering::Acquire);
        match cmdif::fetch(
            &self.iommu,
            checksum,
            // Addresses come from the driver: wrap, and let the IOMMU refuse.
            base.wrapping_add(u64::from(slot) << stride),
            req,
        ) {
            Fetch::NotOwned => {
                self.ctl
                    .doorbell_bits_ignored
                    .fetch_add(1, Ordering::Relaxed);
                self.release(slot, generation);
            }
            Fetch::Lost(e) => {
                tracing::warn!(slot, error = %e, "command entry unreadable: command lost");
                self.ctl.commands_lost.fetch_add(1, Ordering::Relaxed);
                self.release(slot, generation);
            }
            Fetch::Reject(ds) => {
                tracing::debug!(slot, status = %ds, "command rejected at delivery");
                out.clear();
                self.finish(req, ds, out, None);
            }
            Fetch::Run => {
                let opcode = InHeader::decode(&req.input)
                    .map(|h| h.opcode)
                    .unwrap_or_default();
                let fault = self.ctl.take_fault(opcode);
                let latency = match fault {
                    Some(Fault::NeverComplete) => {
                        tracing::info!(slot, %opcode, "fault: command will never complete");
                        return;
                    }
                    Some(Fault::Delay(d)) => d,
                    _ => self.ctl.latency(opcode),
                };
                if latency.is_zero() {
                    self.run(req, out, fault);
                } else {
                    let mut pending = Box::new(req.clone());
                    // A fault other than the delay itself applies when it runs.
                    pending.fault = fault.filter(|f| !matches!(f, Fault::Delay(_)));
                    self.engine.schedule(Instant::now() + latency, pending);
                }
            }
        }
    }

    /// Executes a fetched command and completes it.
    fn run(&self, req: &Request, out: &mut Vec<u8>, fault: Option<Fault>) {
        let h = match InHeader::decode(&req.input) {
            Ok(h) => h,
            Err(_) => {
                out.clear();
                self.finish(req, DeliveryStatus::INPUT_LEN_ERR, out, None);
                return;
            }
        };
        match fault {
            Some(Fault::Delivery(ds)) => {
                out.clear();
                self.finish(req, ds, out, None);
                return;
            }
            Some(Fault::Status { status, syndrome }) => {
                out.clear();
                out.resize(16, 0);
                let _ = cxu_hal::ifc::OutHeader { status, syndrome }.encode_into(out);
                self.finish(req, DeliveryStatus::OK, out, None);
                return;
            }
            _ => {}
        }
        let event = {
            let env = self.env();
            let generation = self.generation.read();
            if *generation != req.generation {
                return;
            }
            let mut fw = self.fw.lock();
            // Only a command that ran while an EQ took command completions
            // gets a completion event: the CREATE_EQ that makes the command
            // EQ is polled (Linux switches to events after it), and a stale
            // EQE for its slot would complete the next command in that slot.
            let event = fw.has_subscriber(EventType::CMD);
            fw.execute(&env, h.opcode, h.op_mod, &req.input, req.outlen(), out);
            event
        };
        self.finish_with(req, DeliveryStatus::OK, out, fault, event);
    }

    /// Writes the completion, returns the slot and posts the completion event.
    fn finish(&self, req: &Request, ds: DeliveryStatus, out: &[u8], fault: Option<Fault>) {
        self.finish_with(req, ds, out, fault, true);
    }

    /// [`Self::finish`]; the completion event only if `event`.
    fn finish_with(
        &self,
        req: &Request,
        ds: DeliveryStatus,
        out: &[u8],
        fault: Option<Fault>,
        event: bool,
    ) {
        let generation = self.generation.read();
        if *generation != req.generation || self.iseg.lock().is_fatal() {
            // Reset since the fetch, or firmware died: no completion.
            return;
        }
        let checksum = self.checksum.load(Ordering::Acquire);
        // Counted before ownership returns: a test that saw the completion
        // reads counters that include it. (If the ownership write itself then
        // fails, the command is counted as lost too.)
        let opcode = InHeader::decode(&req.input)
            .map(|h| h.opcode)
            .unwrap_or_default();
        let count = |ds: DeliveryStatus| {
            self.ctl.count_completion(opcode);
            if ds == DeliveryStatus::OK {
                self.ctl.commands_executed.fetch_add(1, Ordering::Relaxed);
            } else {
                self.ctl.delivery_errors.fetch_add(1, Ordering::Relaxed);
            }
        };
        match cmdif::complete(&self.iommu, checksum, req, ds, out, fault, count) {
            Written::Done(_) if !event => self.engine.release(req.slot, req.generation),
            Written::Done(_) => {
                self.engine.release(req.slot, req.generation);
                let data = event_data(&[(eqe::CMD_VECTOR, 1u64 << req.slot)]);
                self.fw
                    .lock()
                    .post_event(&self.env(), EventType::CMD, 0, data);
            }
            Written::Lost(e) => {
                tracing::warn!(slot = req.slot, error = %e, "completion could not be written: command lost");
                self.ctl.commands_lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
