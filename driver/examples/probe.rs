//! Probes the in-process device model, prints the summary `cxu dev info`
//! shows, runs a few commands, and removes the device.
//!
//! `cargo run -p cxu-driver --example probe`

use std::sync::Arc;

use cxu_driver::{Device, DriverConfig};
use cxu_hal::ifc::{InHeader, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let function: Arc<dyn PciFunction> = Arc::new(LocalFunction::new(Profile::default()));
    let device = Device::probe(function, DriverConfig::default())?;
    println!("{}", device.summary()?);

    let mut nop = [0u8; 16];
    InHeader::new(Opcode::NOP, 0).encode_into(&mut nop)?;
    for _ in 0..1000 {
        device.exec(&nop, 16)?;
    }
    for (op, s) in device.all_cmd_stats()? {
        println!(
            "{op}: {} commands, {} errors, mean {:?}",
            s.count,
            s.errors,
            s.mean_latency().unwrap_or_default()
        );
    }
    let report = device.remove()?;
    println!(
        "removed: {} pages given, {} reclaimed, {} DMA regions still mapped",
        report.pages.given, report.pages.reclaimed, report.dma.mapped_regions
    );
    Ok(())
}
