//! Page requests from the EQ to the page worker: what the driver accepts of a
//! PAGE_REQUEST EQE ([`page_work`]) and the coalescing hand-off between the two
//! threads ([`PageRequests`]).
//!
//! A device may send page requests faster than the worker serves them (each
//! one a MANAGE_PAGES command, or a CANT_GIVE once the pool is dry). The
//! hand-off therefore holds at most one request per function: a newer one
//! replaces the older (firmware states the count it needs now, so the latest
//! count wins), and a flood costs neither memory nor teardown time. Only this
//! function's requests are accepted, so there is one.

use std::sync::atomic::{AtomicU64, Ordering};

use cxu_hal::ifc::eqe::PageRequest;
use parking_lot::{Condvar, Mutex};
use tracing::warn;

/// Largest reclaim a page request may ask for (the kernel caps it at 50 000).
pub const MAX_RECLAIM_REQUEST: i32 = 50_000;

/// Work for the page worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWork {
    /// Firmware wants this many more pages.
    Give(u32),
    /// Firmware offers this many pages back.
    Reclaim(u32),
    /// Firmware released every page of the function by itself.
    ReleasedAll,
}

/// What the driver does with a page request EQE: `None` to ignore it (with a
/// log line). `release_all_cap` is the `release_all_pages` capability: a
/// device that never advertised release-all cannot take this function's pages
/// back without a command, and a request for another function (or the
/// embedded CPU) never touches this function's accounting.
pub fn page_work(req: &PageRequest, release_all_cap: bool) -> Option<PageWork> {
    if req.func_id != 0 || req.ec_function {
        warn!(
            func_id = req.func_id,
            ec = req.ec_function,
            release_all = req.release_all,
            "page request for another function ignored"
        );
        return None;
    }
    if req.release_all {
        if !release_all_cap {
            warn!("release-all page request from a device without the release_all_pages capability ignored");
            return None;
        }
        return Some(PageWork::ReleasedAll);
    }
    Some(if req.num_pages < -MAX_RECLAIM_REQUEST {
        warn!(
            num_pages = req.num_pages,
            "page request reclaim capped at {MAX_RECLAIM_REQUEST}"
        );
        PageWork::Reclaim(MAX_RECLAIM_REQUEST as u32)
    } else if req.num_pages < 0 {
        PageWork::Reclaim(req.num_pages.unsigned_abs())
    } else {
        PageWork::Give(req.num_pages as u32)
    })
}

#[derive(Debug, Default)]
struct Pending {
    /// A release-all not yet served (served before `latest`).
    released_all: bool,
    /// The newest give or reclaim request.
    latest: Option<PageWork>,
    stopped: bool,
}

/// The coalescing hand-off from the EQ thread to the page worker.
#[derive(Debug, Default)]
pub struct PageRequests {
    pending: Mutex<Pending>,
    cv: Condvar,
    posted: AtomicU64,
    replaced: AtomicU64,
}

impl PageRequests {
    /// Posts `work` (never blocks). A give or reclaim replaces the one still
    /// waiting; a release-all also drops it (it was asked before firmware
    /// released everything). Returns false once stopped.
    pub fn post(&self, work: PageWork) -> bool {
        let mut p = self.pending.lock();
        if p.stopped {
            return false;
        }
        self.posted.fetch_add(1, Ordering::Relaxed);
        let replaced = match work {
            PageWork::ReleasedAll => {
                p.released_all = true;
                p.latest.take().is_some()
            }
            w => p.latest.replace(w).is_some(),
        };
        if replaced {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
        drop(p);
        self.cv.notify_one();
        true
    }

    /// The next work to serve, waiting for one; `None` once stopped and
    /// nothing is left.
    pub fn next(&self) -> Option<PageWork> {
        let mut p = self.pending.lock();
        loop {
            if std::mem::take(&mut p.released_all) {
                return Some(PageWork::ReleasedAll);
            }
            if let Some(w) = p.latest.take() {
                return Some(w);
            }
            if p.stopped {
                return None;
            }
            self.cv.wait(&mut p);
        }
    }

    /// Stops the hand-off: later posts are refused, and [`next`](Self::next)
    /// returns what is still waiting (at most two items), then `None`.
    pub fn stop(&self) {
        self.pending.lock().stopped = true;
        self.cv.notify_all();
    }

    /// Requests posted since creation.
    pub fn posted(&self) -> u64 {
        self.posted.load(Ordering::Relaxed)
    }

    /// Requests replaced by a newer one before the worker took them.
    pub fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(func_id: u16, ec: bool, release_all: bool, num_pages: i32) -> PageRequest {
        PageRequest {
            ec_function: ec,
            release_all,
            func_id,
            num_pages,
        }
    }

    #[test]
    fn release_all_only_for_this_function_and_only_with_the_capability() {
        assert_eq!(
            page_work(&req(0, false, true, -5), true),
            Some(PageWork::ReleasedAll)
        );
        assert_eq!(page_work(&req(0, false, true, -5), false), None);
        assert_eq!(page_work(&req(3, false, true, -5), true), None);
        assert_eq!(page_work(&req(0, true, true, -5), true), None);
        assert_eq!(page_work(&req(7, false, false, 5), true), None);
        assert_eq!(
            page_work(&req(0, false, false, 5), false),
            Some(PageWork::Give(5))
        );
        assert_eq!(
            page_work(&req(0, false, false, -5), false),
            Some(PageWork::Reclaim(5))
        );
        assert_eq!(
            page_work(&req(0, false, false, i32::MIN), false),
            Some(PageWork::Reclaim(MAX_RECLAIM_REQUEST as u32))
        );
    }

    #[test]
    fn a_flood_leaves_one_request_and_the_latest_count_wins() {
        let r = PageRequests::default();
        for n in 1..=100_000 {
            assert!(r.post(PageWork::Give(n)));
        }
        assert_eq!(r.next(), Some(PageWork::Give(100_000)));
        assert_eq!((r.posted(), r.replaced()), (100_000, 99_999));
        r.post(PageWork::Reclaim(3));
        r.post(PageWork::Give(4));
        r.stop();
        assert!(!r.post(PageWork::Give(9)), "posts after stop are refused");
        assert_eq!(r.next(), Some(PageWork::Give(4)));
        assert_eq!(r.next(), None);
    }

    #[test]
    fn release_all_is_served_first_and_drops_what_was_asked_before_it() {
        let r = PageRequests::default();
        r.post(PageWork::Give(8));
        r.post(PageWork::ReleasedAll);
        r.post(PageWork::Give(2));
        r.stop();
        assert_eq!(r.next(), Some(PageWork::ReleasedAll));
        assert_eq!(r.next(), Some(PageWork::Give(2)));
        assert_eq!(r.next(), None);
    }

    #[test]
    fn next_waits_for_a_post() {
        let r = std::sync::Arc::new(PageRequests::default());
        let w = {
            let r = r.clone();
            std::thread::spawn(move || r.next())
        };
        r.post(PageWork::Give(1));
        assert_eq!(w.join().unwrap(), Some(PageWork::Give(1)));
    }
}
