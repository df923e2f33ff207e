//! A firmware page request at run time, for the guest to serve while commands
//! run: the model only raises one when asked through `Control`, which the guest
//! cannot reach, so the server asks on its behalf.
//!
//! The model tells whether an EQ took the event only after it has added the
//! pages to what firmware wants; when none did (no EQ subscribed to
//! PAGE_REQUEST yet), the request is taken back at once with the opposite one
//! (also dropped, for the same reason) and tried again on the next tick.

use std::time::Duration;

use cxu_qemu::model::{Control, HcaState};

/// How often the thread looks for an EQ that can take the request.
const TICK: Duration = Duration::from_millis(20);

/// Starts the thread that makes one request for `pages` pages, `delay` after
/// the HCA is initialized with an EQ, as soon as an EQ takes PAGE_REQUEST
/// events. It ends after the request, or with the process.
pub fn spawn(ctl: Control, pages: i32, delay: Duration) {
    let r = std::thread::Builder::new()
        .name("cxu-page-request".into())
        .spawn(move || {
            while ctl.hca_state() != HcaState::Initialized || ctl.eqs().is_empty() {
                std::thread::sleep(TICK);
            }
            std::thread::sleep(delay);
            let mut attempts = 1u64;
            while !ctl.request_pages(pages) {
                ctl.request_pages(-pages);
                attempts += 1;
                std::thread::sleep(TICK);
            }
            tracing::info!(pages, attempts, "firmware page request posted");
        });
    if let Err(e) = r {
        tracing::error!(error = %e, "cannot start the page request thread");
    }
}
