//! Bulk copies through a view (volatile word loops) against `vm_memory`'s
//! `copy_to`/`copy_from` (a `memcpy` above 8 bytes, which the view no longer
//! uses because it is not volatile), at the sizes the command path copies: a
//! 64-byte entry, a 512-byte mailbox data block, a 4 KiB page.
//!
//! `cargo bench -p cxu-dma --bench bulk_copy`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cxu_dma::{Buffer, PageSize};
use vm_memory::VolatileSlice;

fn bench(c: &mut Criterion) {
    let buf = Buffer::new(4096, PageSize::Base4K).unwrap();
    let view = buf.view();
    // SAFETY: the buffer outlives the slice (both live to the end of this
    // function) and is touched only through the slice and the view, from this
    // thread.
    let memcpy = unsafe { VolatileSlice::new(buf.addr() as *mut u8, buf.len()) };
    let mut g = c.benchmark_group("bulk_copy");
    for len in [64usize, 512, 4096] {
        let mut host = vec![0x5Au8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("write/view", len), &len, |b, _| {
            b.iter(|| view.write_bytes(0, std::hint::black_box(&host)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("write/vm-memory", len), &len, |b, _| {
            b.iter(|| memcpy.copy_from(std::hint::black_box(&host[..])))
        });
        g.bench_with_input(BenchmarkId::new("read/view", len), &len, |b, _| {
            b.iter(|| view.read_bytes(0, std::hint::black_box(&mut host)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("read/vm-memory", len), &len, |b, _| {
            b.iter(|| memcpy.copy_to(std::hint::black_box(&mut host[..])))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(std::time::Duration::from_secs(1))
        .warm_up_time(std::time::Duration::from_millis(300));
    targets = bench
}
criterion_main!(benches);
