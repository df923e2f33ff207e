//! A firmware page request at run time, for the guest to serve while commands
//! run: the model only raises one when asked through `Control`, which the guest
//! cannot reach, so the server asks on its behalf, once per bring-up (each time
//! the HCA reaches INITIALIZED with an EQ, until it leaves that state).
//!
//! The model tells whether an EQ took the event only after it has added the
//! pages to what firmware wants; when none did (no EQ subscribed to
//! PAGE_REQUEST yet), the request is taken back at once with the opposite one
//! (also dropped, for the same reason) and tried again on the next tick.

use std::time::Duration;

use cxu_qemu::model::{Control, HcaState};

/// How often the thread looks at the firmware state.
const TICK: Duration = Duration::from_millis(20);

fn initialized(ctl: &Control) -> bool {
    ctl.hca_state() == HcaState::Initialized
}

/// Starts the thread that asks for `pages` pages `delay` after each bring-up
/// has an EQ, as soon as an EQ takes PAGE_REQUEST events. It ends with the
/// process.
pub fn spawn(ctl: Control, pages: i32, delay: Duration) {
    let r = std::thread::Builder::new()
        .name("cxu-page-request".into())
        .spawn(move || loop {
            while !initialized(&ctl) || ctl.eqs().is_empty() {
                std::thread::sleep(TICK);
            }
            std::thread::sleep(delay);
            let mut attempts = 1u64;
            loop {
                if !initialized(&ctl) {
                    tracing::info!(
                        pages,
                        attempts,
                        "page request abandoned: HCA left INITIALIZED"
                    );
                    break;
                }
                if ctl.request_pages(pages) {
                    tracing::info!(pages, attempts, "firmware page request posted");
                    break;
                }
                ctl.request_pages(-pages);
                attempts += 1;
                std::thread::sleep(TICK);
            }
            while initialized(&ctl) {
                std::thread::sleep(TICK);
            }
        });
    if let Err(e) = r {
        tracing::error!(error = %e, "cannot start the page request thread");
    }
}
