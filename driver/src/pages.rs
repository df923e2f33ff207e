//! Firmware pages (reference §5, pagealloc.c): 4 KiB pages of DMA memory the
//! driver gives to firmware (boot, init, and on page requests) and takes back
//! (on requests to reclaim, and all of them at teardown).
//!
//! Every page given is a [`Block`] of a fixed pool, kept in a map by IOVA while
//! firmware holds it; a page firmware returns must be one of them. Pages given
//! by a command that timed out may be held (and written) by firmware: they are
//! leaked, never reused. Page requests are served by a worker thread on the
//! reserved command slot, never by the EQ thread (which must stay free to
//! deliver the completion the worker waits for).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cxu_dma::{Block, BlockPool, BlockPoolConfig, DmaContext};
use cxu_hal::ifc::commands::pages::{
    manage_pages_out_len, ManagePagesIn, ManagePagesOp, ManagePagesOut, QueryPagesIn,
    QueryPagesMode, QueryPagesOut, MAX_RECLAIM_PAGES,
};
use parking_lot::Mutex;
use tracing::{debug, info, warn};

use crate::cmd::Queue;
use crate::error::{Error, Result};
use crate::health::FailDevice;
pub use crate::page_requests::{PageRequests, PageWork};

/// Pages per MANAGE_PAGES GIVE (16 + 8 × 512 bytes = 9 mailbox blocks).
const GIVE_CHUNK: usize = 512;

/// Page accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    /// Pages given to firmware since probe.
    pub given: u64,
    /// Pages firmware gave back (or released) since probe.
    pub reclaimed: u64,
    /// Pages firmware holds now (`given - reclaimed - leaked`).
    pub outstanding: u64,
    /// Pages abandoned to firmware by a command that timed out.
    pub leaked: u64,
    /// Page requests that failed.
    pub failed_requests: u64,
}

/// The firmware page allocator of one function.
pub struct Pages {
    pool: BlockPool,
    held: Mutex<HashMap<u64, Block>>,
    given: AtomicU64,
    reclaimed: AtomicU64,
    leaked: AtomicU64,
    failed: AtomicU64,
}

impl Pages {
    /// A pool of `count` pages.
    pub fn new(dma: &DmaContext, count: usize) -> Result<Pages> {
        Ok(Pages {
            pool: BlockPool::new(dma, BlockPoolConfig::fw_pages(count.max(1)))?,
            held: Mutex::new(HashMap::new()),
            given: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
            leaked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    /// The accounting now.
    pub fn stats(&self) -> PageStats {
        PageStats {
            given: self.given.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            outstanding: self.held.lock().len() as u64,
            leaked: self.leaked.load(Ordering::Relaxed),
            failed_requests: self.failed.load(Ordering::Relaxed),
        }
    }

    /// QUERY_PAGES in `mode`, then gives what firmware asks for.
    pub fn satisfy(&self, queue: &Queue, mode: QueryPagesMode) -> Result<u32> {
        let q = QueryPagesIn {
            mode,
            embedded_cpu_function: false,
            function_id: 0,
        };
        let out = QueryPagesOut::decode(&queue.exec(&q.encode(), 16)?)?;
        if out.num_pages < 0 {
            // Firmware offers pages back at this stage: nothing to give.
            debug!(
                ?mode,
                num_pages = out.num_pages,
                "QUERY_PAGES offers pages back"
            );
            return Ok(0);
        }
        let n = out.num_pages as u32;
        self.give(queue, n)?;
        debug!(?mode, pages = n, "pages given");
        Ok(n)
    }

    /// Gives `n` pages to firmware, in chunks. When the pool runs dry, tells
    /// firmware with MANAGE_PAGES CANT_GIVE and fails.
    pub fn give(&self, queue: &Queue, n: u32) -> Result<()> {
        let mut left = n as usize;
        while left > 0 {
            let chunk = left.min(GIVE_CHUNK);
            let mut blocks = Vec::with_capacity(chunk);
            for _ in 0..chunk {
                match self.pool.alloc() {
                    Ok(b) => blocks.push(b),
                    Err(e) => {
                        let cant = ManagePagesIn {
                            op: ManagePagesOp::CantGive,
                            embedded_cpu_function: false,
                            function_id: 0,
                            num_entries: left as u32,
                            pas: Vec::new(),
                        };
                        if let Err(e2) = queue.exec(&cant.encode()?, 16) {
                            warn!(error = %e2, "MANAGE_PAGES CANT_GIVE failed");
                        }
                        return Err(Error::Pages(format!("cannot give {left} more pages: {e}")));
                    }
                }
            }
            let pas: Vec<u64> = blocks.iter().map(Block::iova).collect();
            let msg = ManagePagesIn::give(0, pas)?.encode()?;
            match queue.exec(&msg, 16) {
                Ok(_) => {
                    let mut held = self.held.lock();
                    for b in blocks {
                        held.insert(b.iova(), b);
                    }
                    self.given.fetch_add(chunk as u64, Ordering::Relaxed);
                }
                Err(e @ Error::Timeout { .. }) => {
                    // Firmware may have taken (and may write) these pages.
                    self.leaked.fetch_add(chunk as u64, Ordering::Relaxed);
                    for b in blocks {
                        b.leak();
                    }
                    return Err(e);
                }
                // Firmware did not take them: they go back to the pool.
                Err(e) => return Err(e),
            }
            left -= chunk;
        }
        Ok(())
    }

    /// Takes up to `n` pages back (one MANAGE_PAGES TAKE of at most 768);
    /// returns how many firmware returned.
    pub fn take(&self, queue: &Queue, n: u32) -> Result<u32> {
        let n = n.min(MAX_RECLAIM_PAGES);
        let msg = ManagePagesIn::take(0, n).encode()?;
        let out = queue.exec(&msg, manage_pages_out_len(ManagePagesOp::Take, n))?;
        let pas = ManagePagesOut::decode(&out)?.pas;
        if pas.len() > n as usize {
            return Err(Error::BadDeviceValue(format!(
                "MANAGE_PAGES TAKE of {n} pages returned {}",
                pas.len()
            )));
        }
        let mut held = self.held.lock();
        let mut bad = Vec::new();
        for pa in &pas {
            match held.remove(pa) {
                // The block goes back to the pool: firmware no longer has it.
                Some(b) => drop(b),
                None => bad.push(*pa),
            }
        }
        let good = (pas.len() - bad.len()) as u64;
        self.reclaimed.fetch_add(good, Ordering::Relaxed);
        if !bad.is_empty() {
            return Err(Error::BadDeviceValue(format!(
                "firmware returned {} page(s) the driver never gave it, first {:#x}",
                bad.len(),
                bad[0]
            )));
        }
        Ok(pas.len() as u32)
    }

    /// Firmware released every page by itself (page request with the
    /// release-all bit): they are the driver's again.
    pub fn released_all(&self) {
        let mut held = self.held.lock();
        let n = held.len() as u64;
        held.clear();
        self.reclaimed.fetch_add(n, Ordering::Relaxed);
        info!(pages = n, "firmware released all pages");
    }

    /// Firmware is dead: its pages are taken back without a command, as the
    /// kernel does in internal-error state (`reclaim_pages_cmd`: "no hard
    /// feelings, we want our pages back"). The caller unmaps them next, so
    /// a device that still wrote would hit the IOMMU, not reused memory.
    pub fn reclaim_from_dead(&self) {
        let mut held = self.held.lock();
        let n = held.len() as u64;
        held.clear();
        self.reclaimed.fetch_add(n, Ordering::Relaxed);
        info!(
            pages = n,
            "firmware is dead: pages taken back without a command"
        );
    }

    /// Takes every page back, giving up after `no_progress` without any page
    /// returned (the kernel's RECLAIM_PAGES timeout).
    pub fn reclaim_all(&self, queue: &Queue, no_progress: Duration) -> Result<()> {
        let mut last_progress = Instant::now();
        loop {
            let outstanding = self.held.lock().len() as u32;
            if outstanding == 0 {
                return Ok(());
            }
            match self.take(queue, outstanding) {
                Ok(0) => {}
                Ok(_) => last_progress = Instant::now(),
                Err(e) => return Err(e),
            }
            if last_progress.elapsed() >= no_progress {
                let left = self.held.lock().len();
                return Err(Error::Pages(format!(
                    "{left} page(s) still held by firmware after {no_progress:?} without progress"
                )));
            }
            if self.held.lock().len() as u32 == outstanding {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Serves one page request.
    fn serve(&self, queue: &Queue, work: PageWork) -> Result<()> {
        match work {
            PageWork::Give(n) => self.give(queue, n),
            PageWork::Reclaim(n) => {
                let mut left = n;
                while left > 0 {
                    let got = self.take(queue, left)?;
                    if got == 0 {
                        break;
                    }
                    left = left.saturating_sub(got);
                }
                Ok(())
            }
            PageWork::ReleasedAll => {
                self.released_all();
                Ok(())
            }
        }
    }
}

/// The page worker thread.
pub(crate) struct PageWorker {
    requests: Arc<PageRequests>,
    thread: Option<JoinHandle<()>>,
}

impl PageWorker {
    /// Starts the worker on `requests` (the EQ thread posts into it). A panic
    /// in the worker marks the device failed at once (`fail`).
    pub(crate) fn start(
        pages: Arc<Pages>,
        queue: Arc<Queue>,
        requests: Arc<PageRequests>,
        fail: FailDevice,
    ) -> Result<PageWorker> {
        let thread = {
            let requests = requests.clone();
            let hook = fail.clone();
            crate::thread_guard::spawn("cxu-pages", fail, move || {
                while let Some(work) = requests.next() {
                    hook.test_panic_point("cxu-pages");
                    if let Err(e) = pages.serve(&queue, work) {
                        pages.failed.fetch_add(1, Ordering::Relaxed);
                        warn!(?work, error = %e, "page request failed");
                    }
                }
                debug!("page worker stopped");
            })?
        };
        Ok(PageWorker {
            requests,
            thread: Some(thread),
        })
    }

    /// Stops and joins the worker (a request still waiting is served first;
    /// coalescing leaves at most two).
    pub(crate) fn stop(&mut self) {
        self.requests.stop();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                warn!("page worker panicked");
            }
        }
    }
}

impl Drop for PageWorker {
    fn drop(&mut self) {
        self.stop();
    }
}
