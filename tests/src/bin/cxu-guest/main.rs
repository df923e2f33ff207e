//! `cxu-guest`: runs inside the QEMU guest (see `tests/tests/qemu_guest.rs`),
//! against the cxu device model that QEMU presents over vfio-user, through the
//! guest kernel's real vfio-pci, type1 IOMMU (VT-d) and MSI-X.
//!
//! Finds the first 15b3 function bound to vfio-pci, opens it with
//! `hal::vfio::VfioFunction`, and runs the checks of `raw.rs` (hand-rolled
//! commands from `hal::ifc` layouts, no driver), then those of `driver.rs` (the
//! driver's command queue alone) and `probe.rs` (the driver end to end, with
//! its devlink instance and RPC channel from `devlink.rs`), and last the cost
//! of a NOP per submitter (`cost.rs`). Prints `PASS name`/`FAIL name:
//! why` per check, `INFO` lines for measurements, then `guest: N passed, M
//! failed`; exits non-zero when a check failed. With `--cmd-stats` it only
//! prints cxu's mean latency per command (`cmd_stats.rs`).
#![forbid(unsafe_code)]

mod cmd_stats;
mod cost;
mod devlink;
mod driver;
mod probe;
mod raw;
mod report;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use cxu_hal::vfio::VfioFunction;
use cxu_hal::{PciAddress, PciFunction};

use report::Report;

/// The first function with vendor 15b3 whose driver is vfio-pci.
fn find_function(sysfs: &Path) -> Result<PciAddress, String> {
    let dir = sysfs.join("bus/pci/devices");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut seen = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let vendor = std::fs::read_to_string(path.join("vendor")).unwrap_or_default();
        if vendor.trim() != "0x15b3" {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let driver = std::fs::read_link(path.join("driver"))
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
        if driver.as_deref() == Some("vfio-pci") {
            return name.parse().map_err(|e| format!("{name}: {e}"));
        }
        seen.push(format!("{name} (driver {driver:?})"));
    }
    Err(format!(
        "no 15b3 function bound to vfio-pci; seen: {seen:?}"
    ))
}

/// `--cmd-stats`: only cxu's per-command latencies (`cmd_stats.rs`).
fn cmd_stats_only() -> ExitCode {
    let f = find_function(Path::new("/sys"))
        .and_then(|a| VfioFunction::open(a).map_err(|e| format!("{a}: {e}")));
    match f {
        Ok(f) => {
            if cmd_stats::run(Arc::new(f)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("INFO cmd-stat cxu: failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--cmd-stats") {
        return cmd_stats_only();
    }
    let mut r = Report::default();
    let addr = match find_function(Path::new("/sys")) {
        Ok(a) => a,
        Err(e) => {
            r.check("find-function", Err(e));
            r.finish("guest");
            return ExitCode::FAILURE;
        }
    };
    let f: Arc<dyn PciFunction> = match VfioFunction::open(addr) {
        Ok(f) => {
            r.check(
                "vfio-open",
                Ok(format!(
                    "{addr}: BAR0 {:?}, reset {}, IOVA ranges {:x?}",
                    f.bar_info(0).map(|b| b.size),
                    f.can_reset(),
                    f.iova_ranges()
                )),
            );
            Arc::new(f)
        }
        Err(e) => {
            r.check("vfio-open", Err(format!("{addr}: {e}")));
            r.finish("guest");
            return ExitCode::FAILURE;
        }
    };
    raw::run(&mut r, f.clone());
    driver::run(&mut r, f.clone());
    probe::run(&mut r, f.clone());
    cost::run(&mut r, f);
    if r.finish("guest") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
