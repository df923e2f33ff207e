//! Test helpers: a model function with a command queue enabled on it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::DmaContext;
use cxu_driver::{Queue, QueueConfig};
use cxu_hal::ifc::commands::hca::FunctionIn;
use cxu_hal::ifc::iseg;
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;

/// A function, its control handle, a DMA context and an enabled queue.
pub struct Rig {
    pub function: Arc<LocalFunction>,
    pub control: Control,
    pub dma: DmaContext,
    pub queue: Queue,
}

/// A bound for waits on events that take micro- to milliseconds: far past what
/// a loaded two-core machine ever needs, so it only ends a test that is broken.
pub const LONG: Duration = Duration::from_secs(10);

/// Waits until `cond` holds, failing the test after [`LONG`].
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LONG, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub fn wait_ready(bar: &Arc<dyn Mmio>) {
    let start = Instant::now();
    while iseg::INITIALIZING.extract(bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "firmware never booted"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A queue on a fresh model, after ENABLE_HCA (NOP works from there).
pub fn rig(profile: Profile, cfg: QueueConfig) -> Rig {
    let function = Arc::new(LocalFunction::new(profile));
    let control = function.control();
    function.set_bus_master(true).unwrap();
    let bar = function.bar(0).unwrap();
    wait_ready(&bar);
    let pf: Arc<dyn PciFunction> = function.clone();
    let dma = DmaContext::new(pf).unwrap();
    let queue = Queue::enable(bar.clone(), &dma, &cfg).unwrap();
    wait_ready(&bar);
    queue
        .exec(&FunctionIn::default().encode(true), 16)
        .expect("ENABLE_HCA");
    Rig {
        function,
        control,
        dma,
        queue,
    }
}

/// A NOP input.
pub fn nop() -> [u8; 16] {
    let mut b = [0u8; 16];
    cxu_hal::ifc::InHeader::new(cxu_hal::ifc::Opcode::NOP, 0)
        .encode_into(&mut b)
        .unwrap();
    b
}

/// Short timeouts for fault tests.
pub fn short(timeout_ms: u64) -> QueueConfig {
    QueueConfig {
        timeout: Duration::from_millis(timeout_ms),
        slot_wait: Duration::from_secs(5),
        ..QueueConfig::default()
    }
}
