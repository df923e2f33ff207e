//! Firmware flash update (reference §9): request checks, begin / status /
//! end notifications, and progress a caller can render.
//!
//! The core passes the image's file name to the driver; finding and reading
//! the file (the kernel's `request_firmware`) is the driver's job here.
//!
//! The flash runs with the instance lock held (as in the kernel), so the
//! caller's thread is busy for its whole duration; progress reaches a
//! monitor on another thread through `flash` notifications:
//!
//! ```
//! use std::sync::Arc;
//! use devlink_core::{
//!     Builder, Capabilities, Command, Delivery, DevlinkOps, Error, EventBody, FlashRequest, Handle,
//!     InstanceGuard, ObjectKinds, ReloadCaps,
//! };
//!
//! struct Fw;
//! impl DevlinkOps<()> for Fw {
//!     fn driver_name(&self) -> &'static str {
//!         "fw-demo"
//!     }
//!     fn flash_update(&self, g: &mut InstanceGuard<'_, ()>, req: &FlashRequest) -> Result<(), Error> {
//!         g.flash_update_timeout("Erasing", None, 60);
//!         for kib in (0..=256).step_by(64) {
//!             // ... write the next 64 KiB of req.file to the device ...
//!             g.flash_update_status("Writing", None, kib, 256);
//!         }
//!         Ok(())
//!     }
//! }
//! static FW: Fw = Fw;
//!
//! let h = Handle::new("pci", "0000:03:00.0")?;
//! let dev = Builder::new(h, &FW, Capabilities::FLASH_UPDATE, ReloadCaps::default(), ())?.register();
//! let mon = dev.subscribe(ObjectKinds::FLASH, 64);
//! let d2 = Arc::clone(&dev);
//! let flasher = std::thread::spawn(move || d2.enter()?.flash_update(FlashRequest::new("fw.mfa2")));
//!
//! // The monitor side: draw a bar from each status until `end`.
//! let mut bars = Vec::new();
//! loop {
//!     let Some(Delivery::Event(ev)) = mon.recv_timeout(std::time::Duration::from_secs(30)) else { break };
//!     if let EventBody::Flash(st) = &ev.body {
//!         if let Some(f) = st.fraction() {
//!             let filled = (f * 10.0).round() as usize;
//!             bars.push(format!("[{}{}] {}", "#".repeat(filled), " ".repeat(10 - filled), st.progress_line()));
//!         }
//!     }
//!     if ev.command == Command::End {
//!         break;
//!     }
//! }
//! flasher.join().unwrap()?;
//! assert_eq!(bars.first().unwrap(), "[          ] Writing 0%");
//! assert_eq!(bars.last().unwrap(), "[##########] Writing 100%");
//! # Ok::<(), Error>(())
//! ```

use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::InstanceGuard;
use crate::notify::{Command, EventBody};
use crate::ops::Capabilities;

bitflags::bitflags! {
    /// `DEVLINK_FLASH_OVERWRITE_*`: what the new image may overwrite.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct OverwriteMask: u32 {
        /// Device settings.
        const SETTINGS = 1 << 0;
        /// Device identifiers (MAC addresses, serials).
        const IDENTIFIERS = 1 << 1;
    }
}

/// A `devlink dev flash` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashRequest {
    /// Image file name.
    pub file: String,
    /// Component to update (must be a flashable component in `info`).
    pub component: Option<String>,
    /// Sections the image may overwrite.
    pub overwrite: OverwriteMask,
}

impl FlashRequest {
    /// A request for `file`, whole device, nothing overwritten.
    pub fn new(file: impl Into<String>) -> Self {
        FlashRequest {
            file: file.into(),
            component: None,
            overwrite: OverwriteMask::empty(),
        }
    }
}

/// One flash notification (`devlink mon -j` prints `msg`, `component`,
/// `done`, `total`; `timeout` is included when set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlashStatusView {
    /// Status message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Units done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
    /// Units in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Seconds the step may take before the caller should give up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

impl FlashStatusView {
    /// `done / total` in `0.0..=1.0`, when both are known and `total > 0`.
    pub fn fraction(&self) -> Option<f64> {
        match (self.done, self.total) {
            (Some(d), Some(t)) if t > 0 => Some((d.min(t)) as f64 / t as f64),
            _ => None,
        }
    }

    /// A one-line rendering like iproute2's: `Erasing flash component fw 42%`.
    pub fn progress_line(&self) -> String {
        let mut s = self.msg.clone().unwrap_or_default();
        if let Some(c) = &self.component {
            s.push_str(&format!(" component {c}"));
        }
        if let Some(f) = self.fraction() {
            s.push_str(&format!(" {:.0}%", f * 100.0));
        }
        if let Some(t) = self.timeout {
            s.push_str(&format!(" (timeout {t}s)"));
        }
        s
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    fn notify_flash(&self, command: Command, v: FlashStatusView) {
        self.notify(command, self.dev_key(), EventBody::Flash(v));
    }

    /// `devlink dev flash DEV file F [component C] [overwrite S]`. Sends
    /// `flash begin`, runs the driver's `flash_update` (which reports status
    /// through [`Self::flash_update_status`]), and sends `flash end` whether
    /// or not it succeeded.
    pub fn flash_update(&mut self, req: FlashRequest) -> Result<()> {
        self.ops_for(Capabilities::FLASH_UPDATE, "flash_update")?;
        if req.file.is_empty() {
            return Err(Error::invalid("flash: file name required"));
        }
        if !req.overwrite.is_empty() && !self.st.caps.contains(Capabilities::FLASH_OVERWRITE) {
            return Err(Error::not_supported("flash: overwrite mask"));
        }
        if let Some(c) = &req.component {
            let info = self.info_collect()?;
            if !info.components().iter().any(|x| x == c) {
                return Err(Error::invalid(format!(
                    "flash: component {c:?} is not supported"
                )));
            }
        }
        let ops = self.ops_for(Capabilities::FLASH_UPDATE, "flash_update")?;
        self.notify_flash(Command::Begin, FlashStatusView::default());
        let res = ops.flash_update(self, &req);
        self.notify_flash(Command::End, FlashStatusView::default());
        res
    }

    /// The driver reports progress (`devlink_flash_update_status_notify`).
    pub fn flash_update_status(&self, msg: &str, component: Option<&str>, done: u64, total: u64) {
        self.notify_flash(
            Command::Status,
            FlashStatusView {
                msg: Some(msg.to_string()),
                component: component.map(str::to_string),
                done: Some(done),
                total: Some(total),
                timeout: None,
            },
        );
    }

    /// The driver announces a step that may take up to `timeout_s` seconds
    /// (`devlink_flash_update_timeout_notify`).
    pub fn flash_update_timeout(&self, msg: &str, component: Option<&str>, timeout_s: u64) {
        self.notify_flash(
            Command::Status,
            FlashStatusView {
                msg: Some(msg.to_string()),
                component: component.map(str::to_string),
                done: None,
                total: None,
                timeout: Some(timeout_s),
            },
        );
    }
}
