//! Health monitoring (reference §8): a thread reads the fatal sensors and the
//! health counter on a timer; a dead PCI link, a bad `nic_interface`, a nonzero
//! health syndrome or a counter that stops for `misses` polls declares firmware
//! dead: commands in flight and new ones fail with [`Error::FwFatal`], and the
//! health buffer is recorded for the reporter. Recovery is
//! [`crate::Device::recover`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cxu_hal::ifc::iseg::{self, HEALTH_BUFFER, HEALTH_BUFFER_SIZE, PCI_DEAD};
use cxu_hal::Mmio;
use parking_lot::{Condvar, Mutex};
use tracing::{error, warn};

use crate::cmd::Queue;
use crate::error::{FatalCause, Result, Syndrome};

/// What the driver recorded when firmware died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// Why firmware was declared dead.
    pub cause: FatalCause,
    /// The 64-byte health buffer (iseg 0x200) at that moment.
    pub buffer: [u8; HEALTH_BUFFER_SIZE],
    /// The health counter at that moment.
    pub counter: u32,
    /// Health syndrome (`synd`) from the buffer.
    pub syndrome: Syndrome,
    /// `ext_synd` from the buffer.
    pub ext_syndrome: u16,
}

/// Shared between the poller, the device and the reporter.
#[derive(Default)]
pub struct HealthState {
    report: Mutex<Option<HealthReport>>,
    polls: AtomicU64,
    /// The driver thread a test wants to panic ([`FailDevice::test_panic_point`]).
    #[cfg(test)]
    pub(crate) test_panic: Mutex<Option<&'static str>>,
}

impl HealthState {
    /// The report of the last fatal error, if any.
    pub fn report(&self) -> Option<HealthReport> {
        self.report.lock().clone()
    }

    /// Polls done.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
}

/// Reads the sensors once; `last` is the previous counter, `misses` the run of
/// unchanged reads so far. Returns a fatal cause, if any.
fn check(
    bar: &dyn Mmio,
    last: &mut Option<u32>,
    misses: &mut u32,
    max_misses: u32,
) -> Option<FatalCause> {
    if bar.read32_be(iseg::HEALTH_FW_VER.byte as u64) == PCI_DEAD {
        return Some(FatalCause::PciDead);
    }
    let nic = iseg::NIC_INTERFACE.extract(bar.read32_be(iseg::NIC_INTERFACE.byte as u64));
    if nic == iseg::NicInterface::Disabled.raw() || nic == iseg::NicInterface::SwReset.raw() {
        return Some(FatalCause::NicInterface(nic as u8));
    }
    let synd = iseg::HEALTH_SYND.extract(bar.read32_be(iseg::HEALTH_SYND.byte as u64)) as u8;
    if synd != 0 {
        return Some(FatalCause::Syndrome(Syndrome(synd)));
    }
    let counter = bar.read32_be(iseg::HEALTH_COUNTER.byte as u64);
    if *last == Some(counter) {
        *misses += 1;
        if *misses >= max_misses {
            return Some(FatalCause::HealthCounterStuck(*misses));
        }
    } else {
        *misses = 0;
    }
    *last = Some(counter);
    None
}

/// Reads the health buffer and counter into a report.
pub(crate) fn snapshot(bar: &dyn Mmio, cause: FatalCause) -> HealthReport {
    let mut buffer = [0u8; HEALTH_BUFFER_SIZE];
    for (i, chunk) in buffer.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&bar.read32_be((HEALTH_BUFFER + 4 * i) as u64).to_be_bytes());
    }
    let field = |f: cxu_hal::ifc::Field| f.get(&rebase(&buffer)).unwrap_or(0);
    HealthReport {
        cause,
        counter: bar.read32_be(iseg::HEALTH_COUNTER.byte as u64),
        syndrome: Syndrome(field(iseg::HEALTH_SYND) as u8),
        ext_syndrome: field(iseg::HEALTH_EXT_SYND) as u16,
        buffer,
    }
}

/// The health buffer placed at its init-segment offset, so the iseg field
/// layouts (absolute offsets) apply to it.
fn rebase(buffer: &[u8; HEALTH_BUFFER_SIZE]) -> Vec<u8> {
    let mut v = vec![0u8; HEALTH_BUFFER + HEALTH_BUFFER_SIZE];
    v[HEALTH_BUFFER..].copy_from_slice(buffer);
    v
}

/// Declares firmware dead: fails the queue and records the report (first cause wins).
pub(crate) fn declare_fatal(bar: &dyn Mmio, queue: &Queue, state: &HealthState, cause: FatalCause) {
    let report = snapshot(bar, cause);
    error!(%cause, syndrome = %report.syndrome, ext_syndrome = report.ext_syndrome, "firmware fatal error");
    {
        let mut r = state.report.lock();
        if r.is_none() {
            *r = Some(report);
        }
    }
    queue.fail(cause);
}

/// What a driver thread needs to declare the device failed: the init
/// segment (for the report), the queue (to fail commands), the report.
#[derive(Clone)]
pub(crate) struct FailDevice {
    pub(crate) bar: Arc<dyn Mmio>,
    pub(crate) queue: Arc<Queue>,
    pub(crate) state: Arc<HealthState>,
}

impl FailDevice {
    /// Declares firmware dead with `cause` (first cause wins).
    pub(crate) fn declare(&self, cause: FatalCause) {
        declare_fatal(&*self.bar, &self.queue, &self.state, cause);
    }

    /// Under `cfg(test)`, panics if a test asked `thread` to; nothing otherwise.
    #[inline]
    pub(crate) fn test_panic_point(&self, thread: &'static str) {
        #[cfg(test)]
        {
            let mut want = self.state.test_panic.lock();
            if *want == Some(thread) {
                *want = None;
                drop(want);
                panic!("test-requested panic in {thread}");
            }
        }
        #[cfg(not(test))]
        let _ = thread;
    }
}

/// The poller thread.
pub(crate) struct HealthPoller {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl HealthPoller {
    /// Starts polling every `interval`.
    pub(crate) fn start(
        fail: FailDevice,
        interval: Duration,
        max_misses: u32,
    ) -> Result<HealthPoller> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = stop.clone();
            let FailDevice { bar, queue, state } = fail.clone();
            let hook = fail.clone();
            crate::thread_guard::spawn("cxu-health", fail, move || {
                let (mut last, mut misses) = (None, 0);
                loop {
                    {
                        let (m, cv) = &*stop;
                        let mut stopped = m.lock();
                        let deadline = Instant::now() + interval;
                        while !*stopped && Instant::now() < deadline {
                            cv.wait_until(&mut stopped, deadline);
                        }
                        if *stopped {
                            return;
                        }
                    }
                    hook.test_panic_point("cxu-health");
                    state.polls.fetch_add(1, Ordering::Relaxed);
                    if let Some(cause) = check(&*bar, &mut last, &mut misses, max_misses) {
                        declare_fatal(&*bar, &queue, &state, cause);
                        return;
                    }
                    if misses > 0 {
                        warn!(misses, "health counter did not move");
                    }
                }
            })?
        };
        Ok(HealthPoller {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and joins the poller.
    pub(crate) fn stop(&mut self) {
        {
            let (m, cv) = &*self.stop;
            *m.lock() = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                warn!("health poller panicked");
            }
        }
    }
}

impl Drop for HealthPoller {
    fn drop(&mut self) {
        self.stop();
    }
}
