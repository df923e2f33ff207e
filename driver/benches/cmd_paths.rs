//! The driver's submit and complete paths alone, for regressions.
//!
//! The queue runs on the embedded model, but the model never sees a
//! doorbell: the BAR wrapper drops writes to the doorbell register, and the
//! benchmark itself plays the device by writing the entry's ownership byte
//! back through the model's IOMMU (the one byte a real completion must
//! change; the output header and mailbox tokens the driver prepared already
//! read as a good completion). So one iteration is exactly: claim a slot,
//! write the entry (and mailbox chain), publish, ring; then see the
//! ownership bit, complete the slot, read and check the output, free the
//! slot. No thread hand-off, no firmware.
//!
//! A second group runs the same round trip from 2 and 4 threads on one queue
//! (time per command over all threads): the contended cost of what the
//! threads share (slot allocator, token, counters), still with no device.
//!
//! `cargo bench -p cxu-driver --bench cmd_paths`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cxu_dma::DmaContext;
use cxu_driver::cmd::SlotPolicy;
use cxu_driver::{Mode, Queue, QueueConfig};
use cxu_hal::ifc::caps::{CapMode, CapType};
use cxu_hal::ifc::cmd_entry::{self as ce, STATUS_OWN_OFFSET};
use cxu_hal::ifc::commands::caps::{QueryHcaCapIn, QUERY_HCA_CAP_OUT_SIZE};
use cxu_hal::ifc::commands::hca::nop_in;
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::DeliveryStatus;
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

/// BAR0 with the command doorbell disconnected.
struct NoDoorbell(Arc<dyn Mmio>);

const DOORBELL: u64 = iseg::CMD_DBELL.byte as u64;

impl Mmio for NoDoorbell {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn read8(&self, o: u64) -> u8 {
        self.0.read8(o)
    }
    fn read16(&self, o: u64) -> u16 {
        self.0.read16(o)
    }
    fn read32(&self, o: u64) -> u32 {
        self.0.read32(o)
    }
    fn read64(&self, o: u64) -> u64 {
        self.0.read64(o)
    }
    fn write8(&self, o: u64, v: u8) {
        self.0.write8(o, v)
    }
    fn write16(&self, o: u64, v: u16) {
        self.0.write16(o, v)
    }
    fn write32(&self, o: u64, v: u32) {
        if o != DOORBELL {
            self.0.write32(o, v)
        }
    }
    fn write64(&self, o: u64, v: u64) {
        self.0.write64(o, v)
    }
}

struct Rig {
    function: Arc<LocalFunction>,
    queue: Queue,
    cmdq: u64,
    _dma: DmaContext,
}

fn wait_ready(bar: &dyn Mmio) {
    let t = Instant::now();
    while iseg::INITIALIZING.extract(bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
        assert!(t.elapsed() < Duration::from_secs(10), "model never booted");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn rig(policy: SlotPolicy, mode: Mode) -> Rig {
    let function = Arc::new(LocalFunction::new(Profile::default()));
    function.set_bus_master(true).expect("bus master");
    let bar = function.bar(0).expect("BAR0");
    wait_ready(bar.as_ref());
    let pf: Arc<dyn PciFunction> = function.clone();
    let dma = DmaContext::new(pf).expect("DMA");
    let cfg = QueueConfig {
        slot_policy: policy,
        ..QueueConfig::default()
    };
    let queue = Queue::enable(Arc::new(NoDoorbell(bar.clone())), &dma, &cfg).expect("queue");
    wait_ready(bar.as_ref());
    // No EQ: in events mode the benchmark calls complete_vector itself, as the EQ thread would.
    queue.set_mode(mode, Duration::from_secs(1)).expect("mode");
    let cmdq = function.control().cmdq_addr();
    Rig {
        function,
        queue,
        cmdq,
        _dma: dma,
    }
}

impl Rig {
    /// One command: submit, complete as the device, wait.
    fn round(&self, msg: &[u8], outlen: usize, mode: Mode) {
        let h = self.queue.submit(msg, outlen, false).expect("submit");
        let slot = h.slot();
        self.function
            .device()
            .iommu()
            .write_u8_release(
                self.cmdq + u64::from(slot) * 64 + STATUS_OWN_OFFSET as u64,
                ce::status_own(DeliveryStatus::OK, false),
            )
            .expect("device write");
        if mode == Mode::Events {
            self.queue.complete_vector(1 << slot);
        }
        let out = h.wait().expect("command");
        assert_eq!(out.len(), outlen);
    }
}

fn bench(c: &mut Criterion) {
    let cap = QueryHcaCapIn::new(CapType::GENERAL, CapMode::Current).encode();
    let cmds: [(&str, &[u8], usize); 2] = [
        ("nop", &nop_in(), 16),
        ("query_hca_cap_8_blocks", &cap, QUERY_HCA_CAP_OUT_SIZE),
    ];
    let mut g = c.benchmark_group("submit_complete");
    g.throughput(Throughput::Elements(1));
    for (mode, mname) in [(Mode::Polling, "polling"), (Mode::Events, "events")] {
        for (policy, pname) in [
            (SlotPolicy::LockFree, "lock-free"),
            (SlotPolicy::MutexSemaphore, "mutex"),
        ] {
            let r = rig(policy, mode);
            for (cname, msg, outlen) in cmds {
                g.bench_function(BenchmarkId::new(format!("{cname}/{mname}"), pname), |b| {
                    b.iter(|| r.round(msg, outlen, mode))
                });
            }
        }
    }
    g.finish();

    // The same paths from several threads at once on one queue: what the slot
    // allocator (and everything else shared: token, counters) costs when
    // contended, with no device to hide it. Time per command over all threads.
    let mut g = c.benchmark_group("submit_complete_contended");
    g.throughput(Throughput::Elements(1));
    for threads in [2u64, 4] {
        for (policy, pname) in [
            (SlotPolicy::LockFree, "lock-free"),
            (SlotPolicy::MutexSemaphore, "mutex"),
        ] {
            let r = rig(policy, Mode::Polling);
            let nop = nop_in();
            g.bench_function(
                BenchmarkId::new(format!("nop/polling/{threads}-threads"), pname),
                |b| {
                    b.iter_custom(|iters| {
                        let per = iters.div_ceil(threads);
                        let start = Instant::now();
                        std::thread::scope(|s| {
                            for _ in 0..threads {
                                s.spawn(|| {
                                    for _ in 0..per {
                                        r.round(&nop, 16, Mode::Polling);
                                    }
                                });
                            }
                        });
                        start.elapsed()
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
