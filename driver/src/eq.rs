//! The event queue (reference §7): a ring of 64-byte EQEs in DMA memory that
//! firmware fills, one MSI-X vector, and the thread that consumes it.
//!
//! The ring is consumed by one session at a time (`cmd::lead`): the EQ
//! thread's, after the vector's eventfd fires, or, in events mode, a waiting
//! command's own (a *leader*, which completes its command and those of the
//! other waiters without an interrupt or a thread hand-off). A session
//! consumes EQEs while their owner bit says software owns them (acquire load
//! of the owner byte, then the payload), at most [`EQ_POLLING_BUDGET`] (128,
//! the kernel's) per pass, reports the consumer index at least every 128
//! EQEs, and the EQ is re-armed after consuming whenever no waiter is
//! looking (`Lead::eq_session`, `Lead::leave`). Between passes the thread
//! looks at its stop flag, so a device that keeps the ring full (an EQE
//! storm) cannot pin it: removal always finishes. No session waits for a
//! command: command completions go straight to the queue's slots, page
//! requests (see [`page_work`]) to the page worker's coalescing hand-off,
//! port changes to [`PortEvents`]. A panic in the thread marks the device
//! failed at once (`thread_guard`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cxu_dma::{DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::commands::eq::{decode_create_eq_out, destroy_eq_in, CreateEqIn};
use cxu_hal::ifc::eq::{eq_doorbell_value, EqContext, EventMask};
use cxu_hal::ifc::eqe::{self, Eqe, EventType, EQE_SIZE, EQ_POLLING_BUDGET};
use cxu_hal::{EventFd, Mmio};
use tracing::{debug, trace, warn};

use crate::cmd::lead::{After, EventRing};
use crate::cmd::Queue;
use crate::error::{Error, Result};
use crate::health::FailDevice;
pub use crate::page_requests::page_work;
use crate::page_requests::PageRequests;

/// How often the EQ thread looks at an EQ it left unarmed for the waiters
/// (they consume it themselves): an EQE nobody waits for (a page request, a
/// port event) waits at most about this long, and the EQ is re-armed at the
/// first look that finds no leader at work.
const LEAD_LOOK: Duration = Duration::from_millis(1);
/// UAR page size (index `i` is at BAR0 + i * 4 KiB).
const UAR_PAGE: u64 = 4096;
/// Ports the driver keeps event counters for (the EQE port field has 4 bits).
pub const MAX_PORTS: usize = 16;

/// Port state changes seen on the EQ: per port, the count and the last sub type.
pub struct PortEvents {
    count: [AtomicU64; MAX_PORTS],
    last: [AtomicU64; MAX_PORTS],
}

impl Default for PortEvents {
    fn default() -> Self {
        PortEvents {
            count: std::array::from_fn(|_| AtomicU64::new(0)),
            last: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl PortEvents {
    fn record(&self, port: u8, sub_type: u8) {
        let p = usize::from(port) % MAX_PORTS;
        self.count[p].fetch_add(1, Ordering::Relaxed);
        self.last[p].store(u64::from(sub_type), Ordering::Relaxed);
    }

    /// (events seen, last sub type) for `port` (1-based, as the EQE gives it).
    pub fn get(&self, port: u8) -> (u64, u8) {
        let p = usize::from(port) % MAX_PORTS;
        (
            self.count[p].load(Ordering::Relaxed),
            self.last[p].load(Ordering::Relaxed) as u8,
        )
    }
}

/// Counters of the EQ thread.
#[derive(Debug, Default)]
pub struct EqCounters {
    /// Interrupts (eventfd wake-ups with a signal).
    pub interrupts: AtomicU64,
    /// EQEs consumed.
    pub eqes: AtomicU64,
    /// Command-completion EQEs.
    pub cmd_eqes: AtomicU64,
    /// Page request EQEs.
    pub page_requests: AtomicU64,
    /// EQEs of a type the driver does not handle.
    pub unhandled: AtomicU64,
}

/// Where the EQ's sessions send what they read.
pub(crate) struct Sinks {
    pub(crate) queue: Arc<Queue>,
    pub(crate) pages: Arc<PageRequests>,
    pub(crate) ports: Arc<PortEvents>,
    pub(crate) counters: Arc<EqCounters>,
    /// The device advertised `release_all_pages`.
    pub(crate) release_all_cap: bool,
    /// Marks the device failed if the thread panics.
    pub(crate) fail: FailDevice,
}

/// The sinks of everything but command completions (which go to the queue
/// the session runs for).
struct Events {
    pages: Arc<PageRequests>,
    ports: Arc<PortEvents>,
    counters: Arc<EqCounters>,
    release_all_cap: bool,
}

/// A created EQ and its thread.
pub(crate) struct EventQueue {
    eqn: u8,
    stop: Arc<AtomicBool>,
    fd: Arc<EventFd>,
    thread: Option<JoinHandle<()>>,
    /// Consumes the ring with the EQ thread; told when it is gone.
    queue: Arc<Queue>,
    /// Kept mapped until the EQ is destroyed and the thread joined.
    _ring: Arc<DmaRegion>,
}

/// The ring and where its EQEs go: what a session consumes.
struct EqRing {
    ring: Ring,
    events: Events,
}

struct Ring {
    bar: Arc<dyn Mmio>,
    region: Arc<DmaRegion>,
    log_size: u32,
    eqn: u8,
    doorbell: u64,
    ci: u32,
    /// EQEs consumed since the consumer index was last written to the device.
    unreported: u32,
}

impl EventQueue {
    /// Allocates the ring, creates the EQ on MSI-X vector `vector` subscribed to
    /// command completion, page request and port change, starts its thread and
    /// arms it. The queue is still in polling mode: the caller switches.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        dma: &DmaContext,
        bar: Arc<dyn Mmio>,
        uar: u32,
        fd: Arc<EventFd>,
        vector: u16,
        nent: u32,
        poll: Duration,
        sinks: Sinks,
    ) -> Result<EventQueue> {
        let doorbell = u64::from(uar) * UAR_PAGE;
        let last = doorbell + cxu_hal::ifc::doorbell::UAR_EQ_DOORBELL_NO_ARM as u64 + 4;
        if last > bar.len() {
            return Err(Error::BadDeviceValue(format!(
                "UAR index {uar} puts the EQ doorbell at {doorbell:#x}, outside BAR0 of {:#x} bytes",
                bar.len()
            )));
        }
        let entries = eqe::eq_entries(nent)?;
        let log_size = entries.trailing_zeros();
        let bytes = entries as usize * EQE_SIZE;
        let ring = Arc::new(dma.alloc(bytes, PageSize::Base4K)?);
        let view = ring.view();
        for i in 0..entries as usize {
            view.write_u8(i * EQE_SIZE + eqe::OWNER_OFFSET, eqe::SW_OWNER_INIT)?;
        }
        let pages = bytes.div_ceil(4096);
        let mut pas = Vec::with_capacity(pages);
        for p in 0..pages {
            pas.push(ring.iova_at(p * 4096)?);
        }
        let ctx = EqContext {
            log_eq_size: log_size as u8,
            uar_page: uar,
            intr: vector,
            ..EqContext::default()
        };
        let events = EventMask::of(&[
            EventType::CMD,
            EventType::PAGE_REQUEST,
            EventType::PORT_CHANGE,
        ]);
        let msg = CreateEqIn { ctx, events, pas }.encode()?;
        let out = sinks.queue.exec(&msg, 16)?;
        let eqn = decode_create_eq_out(&out)?;
        let mut r = EqRing {
            ring: Ring {
                bar,
                region: ring.clone(),
                log_size,
                eqn,
                doorbell,
                ci: 0,
                unreported: 0,
            },
            events: Events {
                pages: sinks.pages.clone(),
                ports: sinks.ports.clone(),
                counters: sinks.counters.clone(),
                release_all_cap: sinks.release_all_cap,
            },
        };
        let stop = Arc::new(AtomicBool::new(false));
        r.arm();
        if !sinks.queue.attach_eq(Box::new(r), true) {
            return Err(Error::BadMessage(
                "the command queue has an event queue already".into(),
            ));
        }
        let sinks_queue = sinks.queue.clone();
        let thread = {
            let (stop, fd) = (stop.clone(), fd.clone());
            let fail = sinks.fail.clone();
            crate::thread_guard::spawn("cxu-eq", fail, move || run(&fd, &stop, poll, &sinks))?
        };
        debug!(eqn, entries, uar, vector, "event queue created");
        Ok(EventQueue {
            eqn,
            stop,
            fd,
            thread: Some(thread),
            queue: sinks_queue,
            _ring: ring,
        })
    }

    /// The EQ number.
    pub(crate) fn eqn(&self) -> u8 {
        self.eqn
    }

    /// DESTROY_EQ (the caller has switched the queue back to polling), then
    /// stops and joins the thread. The ring is unmapped when `self` drops.
    pub(crate) fn destroy(mut self, queue: &Queue) -> Result<()> {
        let res = queue.exec(&destroy_eq_in(self.eqn), 16).map(|_| ());
        self.stop_thread();
        res
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the thread if it sleeps on the eventfd.
        let _ = self.fd.write(1);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                warn!(eqn = self.eqn, "EQ thread panicked");
            }
        }
        self.queue.detach_eq();
    }
}

impl Drop for EventQueue {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// Writes the EQ doorbell at `doorbell` (the EQ's UAR page): consumer index
/// `ci`, and re-arm or not.
fn write_eq_doorbell(bar: &dyn Mmio, doorbell: u64, eqn: u8, ci: u32, arm: bool) {
    let off = if arm {
        cxu_hal::ifc::doorbell::UAR_EQ_DOORBELL_ARM
    } else {
        cxu_hal::ifc::doorbell::UAR_EQ_DOORBELL_NO_ARM
    };
    bar.write32_be(doorbell + off as u64, eq_doorbell_value(eqn, ci));
}

/// The EQ thread: sleeps on the eventfd (armed) or looks every
/// [`LEAD_LOOK`] (left unarmed for the waiters), and runs a session each time.
fn run(fd: &EventFd, stop: &AtomicBool, poll: Duration, s: &Sinks) {
    let mut wait = poll;
    while !stop.load(Ordering::Acquire) {
        let fired = match cxu_hal::os::wait_eventfd(fd, Some(wait)) {
            Ok(Some(_)) => {
                s.counters.interrupts.fetch_add(1, Ordering::Relaxed);
                true
            }
            Ok(None) => false,
            Err(e) => {
                warn!(error = %e, "EQ eventfd wait failed");
                std::thread::sleep(poll);
                false
            }
        };
        if stop.load(Ordering::Acquire) {
            break;
        }
        s.fail.test_panic_point("cxu-eq");
        wait = match s.queue.eq_session(fired) {
            After::Armed => poll,
            After::Unarmed => LEAD_LOOK.min(poll),
        };
    }
    debug!("EQ thread stopped");
}

impl EventRing for EqRing {
    fn consume(&mut self, complete: &mut dyn FnMut(u32)) -> u32 {
        let events = &self.events;
        self.ring
            .consume_with(&mut |e| dispatch(e, events, complete))
    }

    fn arm(&mut self) {
        let r = &mut self.ring;
        r.unreported = 0;
        write_eq_doorbell(&*r.bar, r.doorbell, r.eqn, r.ci, true);
    }

    /// Per slot at most one EQE is unread at a session's start beyond the
    /// completions taken from entries since the previous one began (a slot is
    /// reused only once its command completed), plus one for the leader that
    /// takes its own entry after its session, plus page requests and port
    /// events: with 32 slots and this limit that stays under half the ring
    /// and under one pass (the leftover of a pass would add up otherwise).
    fn run_ahead(&self) -> u32 {
        let size = 1u32 << self.ring.log_size;
        (size / 2).min(EQ_POLLING_BUDGET).saturating_sub(64)
    }
}

impl Ring {
    /// Consumes the EQEs software owns now, at most [`EQ_POLLING_BUDGET`]
    /// (a device may keep producing forever), handing each to `handle`;
    /// returns how many.
    fn consume_with(&mut self, handle: &mut dyn FnMut(Option<&Eqe>)) -> u32 {
        let view = self.region.view();
        let mut consumed = 0;
        let mut buf = [0u8; EQE_SIZE];
        while consumed < EQ_POLLING_BUDGET {
            let off = eqe::eqe_index(self.ci, self.log_size) as usize * EQE_SIZE;
            let Ok(entry) = view.subview(off, EQE_SIZE) else {
                return consumed;
            };
            let Ok(owner) = entry.load_u8_acquire(eqe::OWNER_OFFSET) else {
                return consumed;
            };
            if !eqe::is_sw_owned(owner, self.ci, self.log_size) {
                return consumed;
            }
            if entry.read_bytes(0, &mut buf).is_err() {
                return consumed;
            }
            self.ci = self.ci.wrapping_add(1);
            consumed += 1;
            match Eqe::decode(&buf) {
                Ok(e) => handle(Some(&e)),
                Err(err) => {
                    warn!(error = %err, "undecodable EQE");
                    handle(None);
                }
            }
            // Counted across calls and sessions: an EQ the waiters consume
            // stays unarmed, and the device must still learn how far
            // software has read.
            self.unreported += 1;
            if self.unreported >= EQ_POLLING_BUDGET {
                // The field-wise call keeps `view`'s borrow of the region.
                self.unreported = 0;
                write_eq_doorbell(&*self.bar, self.doorbell, self.eqn, self.ci, false);
            }
        }
        consumed
    }
}

fn dispatch(e: Option<&Eqe>, s: &Events, complete: &mut dyn FnMut(u32)) {
    s.counters.eqes.fetch_add(1, Ordering::Relaxed);
    let Some(e) = e else {
        s.counters.unhandled.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match e.event_type {
        EventType::CMD => {
            s.counters.cmd_eqes.fetch_add(1, Ordering::Relaxed);
            let v = e.cmd_vector();
            trace!(vector = format_args!("{v:#x}"), "command completion EQE");
            complete(v);
        }
        EventType::PAGE_REQUEST => {
            s.counters.page_requests.fetch_add(1, Ordering::Relaxed);
            let Some(work) = page_work(&e.page_request(), s.release_all_cap) else {
                return;
            };
            debug!(?work, "page request");
            if !s.pages.post(work) {
                warn!("page request dropped: the page worker is stopped");
            }
        }
        EventType::PORT_CHANGE => {
            let port = e.port();
            debug!(port, sub_type = e.sub_type, "port change");
            s.ports.record(port, e.sub_type);
        }
        other => {
            s.counters.unhandled.fetch_add(1, Ordering::Relaxed);
            debug!(event = %other, "unhandled event");
        }
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use std::sync::Arc;

    use cxu_hal::ifc::eqe::port_change;
    use cxu_hal::PciFunction;
    use cxu_qemu::model::Profile;
    use cxu_qemu::LocalFunction;

    use super::*;

    /// Issue 14 item 2: a device that keeps the ring full (every entry
    /// software-owned, as a storm leaves it) gets at most one budget of EQEs
    /// consumed per pass, so the thread comes back to its stop flag.
    #[test]
    fn one_pass_consumes_at_most_the_budget_of_a_full_ring() {
        let f = Arc::new(LocalFunction::new(Profile::default()));
        let pf: Arc<dyn PciFunction> = f.clone();
        let bar = pf.bar(0).unwrap();
        let dma = DmaContext::new(pf).unwrap();
        let log_size = 9;
        let entries = 1usize << log_size;
        let region = Arc::new(dma.alloc(entries * EQE_SIZE, PageSize::Base4K).unwrap());
        // The device's first pass over the ring: owner 0 in every entry.
        let e = Eqe::new(
            EventType::PORT_CHANGE,
            port_change::ACTIVE,
            [0; eqe::DATA_SIZE],
        )
        .encode();
        for i in 0..entries {
            region.view().write_bytes(i * EQE_SIZE, &e).unwrap();
            region
                .view()
                .write_u8(i * EQE_SIZE + eqe::OWNER_OFFSET, 0)
                .unwrap();
        }
        let mut ring = Ring {
            bar: bar.clone(),
            region,
            log_size,
            eqn: 0,
            // A UAR page no EQ uses: the model ignores the doorbell.
            doorbell: 8 * UAR_PAGE,
            ci: 0,
            unreported: 0,
        };
        let mut seen = 0u32;
        let n = ring.consume_with(&mut |e| {
            assert!(e.is_some());
            seen += 1;
        });
        assert_eq!((n, seen), (EQ_POLLING_BUDGET, EQ_POLLING_BUDGET));
        let n = ring.consume_with(&mut |_| {});
        assert_eq!(n, EQ_POLLING_BUDGET);
        assert_eq!(ring.ci, 2 * EQ_POLLING_BUDGET);
    }
}
