//! `cxu-vfio-user`: the cxu device model served to QEMU over vfio-user.
//!
//! QEMU's `vfio-user-pci` device connects to the UNIX socket and sees a PCI
//! function: config space and BAR0 come from [`cxu_qemu::Device`], guest memory
//! arrives as DMA maps of QEMU's memory backend, MSI-X vectors as eventfds. The
//! model is the same one the in-process backend drives; only the transport
//! differs. See `reference/qemu-vfio-user.md` for the QEMU side.
//!
//! ```text
//! cxu-vfio-user --socket /tmp/cxu.sock [--boot-time-ms 5] [--latency 0x102=50] ...
//! qemu-system-x86_64 ... -device intel-iommu,caching-mode=on \
//!   -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"/tmp/cxu.sock"}}'
//! ```
//!
//! One connection is served; when QEMU closes it the server exits. Logs go to
//! stderr through `tracing` (`RUST_LOG=debug` shows every DMA map and SET_IRQS,
//! `trace` every BAR0 access). Stdout carries one `cxu-vfio-user: state {...}`
//! line (see `state.rs`: registers, live objects, the commands since the
//! previous line) before each
//! device reset, when the connection ends, and after each command the host
//! test writes on stdin (`control.rs`: `link 1 down`, `module 0 plugged`, `state`); a
//! reset's and the end's state line come after a `cxu-vfio-user: counts {...}`
//! line (see `counts.rs`: trapped accesses, interrupts, DMA and CPU since the
//! previous reset).
#![forbid(unsafe_code)]

mod backend;
mod control;
mod counts;
mod dma;
mod eth_state;
mod irq;
mod page_request;
mod regions;
mod state;
#[cfg(test)]
mod tests;
mod wire;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use cxu_hal::ifc::Opcode;
use cxu_qemu::model::TableMode;
use cxu_qemu::{Device, Profile};
use vfio_user::Server;

use backend::Backend;

/// Serve the cxu ConnectX-style device model to QEMU over vfio-user.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// UNIX socket to listen on (at most 107 bytes). A stale socket left by an
    /// earlier run is removed; any other file there is an error.
    #[arg(long)]
    socket: PathBuf,
    /// How long the `initializing` bit stays set after power-on and each reset (ms).
    #[arg(long)]
    boot_time_ms: Option<u64>,
    /// Firmware worker threads executing commands.
    #[arg(long)]
    workers: Option<usize>,
    /// MSI-X vectors of the function.
    #[arg(long)]
    msix_vectors: Option<u16>,
    /// Physical ports.
    #[arg(long)]
    num_ports: Option<u8>,
    /// Pages firmware asks for at boot (QUERY_PAGES boot).
    #[arg(long)]
    boot_pages: Option<u32>,
    /// Pages firmware asks for before INIT_HCA (QUERY_PAGES init).
    #[arg(long)]
    init_pages: Option<u32>,
    /// Firmware checks and writes command signatures from power-on.
    #[arg(long)]
    cmdif_checksum: bool,
    /// Execution latency of one opcode, `OPCODE=MS` (opcode in hex with 0x, or
    /// decimal); repeatable.
    #[arg(long, value_parser = parse_latency)]
    latency: Vec<(Opcode, Duration)>,
    /// Each time the HCA is initialized with an EQ that takes PAGE_REQUEST
    /// events, firmware asks for this many more pages (a PAGE_REQUEST EQE), once
    /// per bring-up. 0: never.
    #[arg(long, default_value_t = 0)]
    page_request: i32,
    /// How long after an EQ can take it the page request is made (ms).
    #[arg(long, default_value_t = 200)]
    page_request_delay_ms: u64,
}

fn parse_number(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?}: {e}"))
}

fn parse_latency(s: &str) -> Result<(Opcode, Duration), String> {
    let (op, ms) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected OPCODE=MS"))?;
    let op =
        u16::try_from(parse_number(op)?).map_err(|_| format!("{op:?}: not a 16-bit opcode"))?;
    Ok((Opcode(op), Duration::from_millis(parse_number(ms)?)))
}

impl Args {
    fn profile(&self) -> Profile {
        let d = Profile::default();
        Profile {
            boot_time: self.boot_time_ms.map_or(d.boot_time, Duration::from_millis),
            workers: self.workers.unwrap_or(d.workers),
            msix_vectors: self.msix_vectors.unwrap_or(d.msix_vectors),
            num_ports: self.num_ports.unwrap_or(d.num_ports),
            boot_pages: self.boot_pages.unwrap_or(d.boot_pages),
            init_pages: self.init_pages.unwrap_or(d.init_pages),
            cmdif_checksum: self.cmdif_checksum || d.cmdif_checksum,
            ..d
        }
    }
}

/// Removes a socket left behind by a run that was killed; refuses anything else.
fn remove_stale_socket(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
        Ok(m) if m.file_type().is_socket() => {
            tracing::info!(path = %path.display(), "removing a stale socket");
            std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Ok(_) => Err(format!("{} exists and is not a socket", path.display())),
    }
}

/// Builds the device and its listening server.
fn listen(path: &Path, device: &Arc<Device>) -> Result<Server, String> {
    remove_stale_socket(path)?;
    Server::new(path, true, regions::irqs(device), regions::regions(device))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let device = Arc::new(Device::new(args.profile(), TableMode::HostVirtualized));
    let ctl = device.control();
    for (op, latency) in &args.latency {
        ctl.set_latency(*op, *latency);
    }
    if args.page_request != 0 {
        page_request::spawn(
            ctl.clone(),
            args.page_request,
            Duration::from_millis(args.page_request_delay_ms),
        );
    }
    let server = match listen(&args.socket, &device) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(socket = %args.socket.display(), profile = ?device.profile(), "listening");
    let mut backend = Backend::new(device.clone());
    wire::spawn(&device);
    control::spawn(device.clone(), backend.state_lines());
    let result = server.run(&mut backend);
    backend.disconnect();
    backend.print_counts("connection closed");
    backend.state_lines().print("connection closed");
    tracing::info!(
        access = ?backend.access_stats(),
        dma = ?backend.dma_stats(),
        model = ?ctl.counters(),
        "connection closed"
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("vfio-user connection failed: {e}");
            ExitCode::FAILURE
        }
    }
}
