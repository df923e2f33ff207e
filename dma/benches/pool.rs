//! What the driver's hot paths cost in this crate: taking and returning a mailbox
//! block (one lock-free queue pop + push), writing a 64-byte command entry through
//! a view, the acquire load of an ownership byte, and an IOVA alloc/free pair.
//!
//! `cargo bench -p cxu-dma --bench pool`

use std::ops::Range;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use cxu_dma::{BlockPool, BlockPoolConfig, DmaContext, IovaAllocator, PageSize};
use cxu_hal::{EventFd, Mmio, PciFunction};

/// A function whose DMA map/unmap succeed and do nothing (no IOMMU to program).
struct NullFunction;

// SAFETY: maps nothing and never touches the memory it is given.
unsafe impl PciFunction for NullFunction {
    fn name(&self) -> String {
        "null".into()
    }
    fn config_read(&self, _: u16, data: &mut [u8]) -> cxu_hal::Result<()> {
        data.fill(0);
        Ok(())
    }
    fn config_write(&self, _: u16, _: &[u8]) -> cxu_hal::Result<()> {
        Ok(())
    }
    fn bar(&self, index: u8) -> cxu_hal::Result<Arc<dyn Mmio>> {
        Err(cxu_hal::Error::NoSuchBar { bar: index })
    }
    fn msix_vectors(&self) -> u32 {
        0
    }
    fn enable_msix(&self, _: u32) -> cxu_hal::Result<Vec<Arc<EventFd>>> {
        Err(cxu_hal::Error::NoMsix)
    }
    fn disable_msix(&self) -> cxu_hal::Result<()> {
        Ok(())
    }
    unsafe fn dma_map(&self, _: u64, _: u64, _: *mut u8) -> cxu_hal::Result<()> {
        Ok(())
    }
    fn dma_unmap(&self, _: u64, _: u64) -> cxu_hal::Result<()> {
        Ok(())
    }
    fn iova_ranges(&self) -> Vec<Range<u64>> {
        vec![0..0xFEE0_0000, 0xFEF0_0000..1 << 39]
    }
    fn reset(&self) -> cxu_hal::Result<()> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let dma = DmaContext::new(Arc::new(NullFunction)).expect("context");
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(1024)).expect("pool");
    c.bench_function("mailbox block alloc+free", |b| {
        b.iter(|| drop(std::hint::black_box(pool.alloc().expect("block"))))
    });

    let region = dma.alloc(4096, PageSize::Base4K).expect("region");
    let entry = region.subview(0, 64).expect("entry");
    let inbox = [0x5Au8; 16];
    c.bench_function("command entry write (64 B through a view)", |b| {
        b.iter(|| {
            entry.write_u8(0, 7).expect("type");
            entry.write_u32_be(0x04, 16).expect("inlen");
            entry.write_u64_be(0x08, 0).expect("in_ptr");
            entry.write_bytes(0x10, &inbox).expect("in");
            entry.write_u64_be(0x30, 0).expect("out_ptr");
            entry.write_u32_be(0x38, 16).expect("outlen");
            entry.store_u8_release(0x3F, 1).expect("status_own");
        })
    });
    c.bench_function("ownership byte acquire load", |b| {
        b.iter(|| std::hint::black_box(entry.load_u8_acquire(0x3F).expect("own")))
    });

    let iova = IovaAllocator::new(&[0x10000..1 << 39, 1 << 40..1 << 41]).expect("iova");
    let keep: Vec<_> = (0..256)
        .map(|_| iova.alloc(4096, 4096).expect("iova"))
        .collect();
    c.bench_function("IOVA alloc+free (256 live ranges)", |b| {
        b.iter(|| {
            let r = iova.alloc(8192, 4096).expect("iova");
            iova.free(r).expect("free");
        })
    });
    drop(keep);
}

criterion_group!(benches, bench);
criterion_main!(benches);
