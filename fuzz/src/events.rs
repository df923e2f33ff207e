//! `eq_page_requests`: what the driver makes of page-request EQEs a device
//! writes, and the coalescing hand-off to the page worker, fed any sequence
//! of EQEs (raw bytes or page requests with any function, flags and count)
//! and any release-all capability.
//!
//! What must hold:
//! * a request for another function or the embedded CPU is never work;
//!   release-all is work only for this function and only with the
//!   capability; a reclaim never asks for more than the kernel's 50 000;
//! * however many requests come, at most two wait for the worker (one
//!   release-all, one give/reclaim), and what waits is the latest accepted
//!   give/reclaim after the last release-all (the latest count wins).

use arbitrary::Arbitrary;
use cxu_driver::page_requests::{page_work, PageRequests, PageWork, MAX_RECLAIM_REQUEST};
use cxu_hal::ifc::eqe::{Eqe, EventType, PageRequest, EQE_SIZE};

/// One event the device writes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Event {
    /// A whole EQE, any bytes.
    Raw(Vec<u8>),
    /// A page request with these fields.
    Page {
        /// Embedded-CPU function.
        ec: bool,
        /// Release all pages.
        release_all: bool,
        /// Function id.
        func_id: u16,
        /// Pages wanted (> 0) or offered back (< 0).
        num_pages: i32,
    },
}

/// A whole input.
#[derive(Arbitrary, Debug, Clone)]
pub struct Events {
    /// The device advertised `release_all_pages`.
    pub release_all_cap: bool,
    /// What it writes, in order.
    pub events: Vec<Event>,
}

/// Runs one input.
pub fn run(input: Events) {
    let requests = PageRequests::default();
    let mut accepted = 0u64;
    let mut released_since_drain = false;
    let mut latest: Option<PageWork> = None;
    for ev in &input.events {
        let req = match ev {
            Event::Raw(b) => {
                let mut e = [0u8; EQE_SIZE];
                let n = b.len().min(EQE_SIZE);
                e[..n].copy_from_slice(&b[..n]);
                match Eqe::decode(&e) {
                    Ok(e) if e.event_type == EventType::PAGE_REQUEST => e.page_request(),
                    _ => continue,
                }
            }
            Event::Page {
                ec,
                release_all,
                func_id,
                num_pages,
            } => PageRequest {
                ec_function: *ec,
                release_all: *release_all,
                func_id: *func_id,
                num_pages: *num_pages,
            },
        };
        let work = page_work(&req, input.release_all_cap);
        let ours = req.func_id == 0 && !req.ec_function;
        match work {
            None => assert!(
                !ours || (req.release_all && !input.release_all_cap),
                "{req:?} ignored"
            ),
            Some(w) => {
                assert!(ours, "{req:?} for another function accepted as {w:?}");
                match w {
                    PageWork::ReleasedAll => {
                        assert!(req.release_all && input.release_all_cap);
                        released_since_drain = true;
                        latest = None;
                    }
                    PageWork::Reclaim(n) => {
                        assert!(!req.release_all && req.num_pages < 0);
                        assert!(n >= 1 && n <= MAX_RECLAIM_REQUEST as u32);
                        latest = Some(w);
                    }
                    PageWork::Give(n) => {
                        assert!(!req.release_all && req.num_pages >= 0);
                        assert_eq!(n, req.num_pages as u32);
                        latest = Some(w);
                    }
                }
                assert!(requests.post(w));
                accepted += 1;
            }
        }
    }
    assert_eq!(requests.posted(), accepted);
    requests.stop();
    let mut drained = Vec::new();
    while let Some(w) = requests.next() {
        drained.push(w);
        assert!(
            drained.len() <= 2,
            "more than two requests waited: {drained:?}"
        );
    }
    let mut want = Vec::new();
    if released_since_drain {
        want.push(PageWork::ReleasedAll);
    }
    want.extend(latest);
    assert_eq!(drained, want);
}
