//! Round trip of commands through the in-process backend: entry written,
//! doorbell, firmware worker, completion polled on the ownership bit.
//!
//! `cargo bench -p cxu-qemu --bench command`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cxu_hal::ifc::Opcode;
use cxu_qemu::model::Profile;

fn bench(c: &mut Criterion) {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let nop = h.prepare(0, &msg(Opcode::NOP, 0, 16), 16);
    let wait = Duration::from_secs(5);

    let mut g = c.benchmark_group("model");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nop_round_trip", |b| {
        b.iter(|| {
            h.post(&nop);
            h.wait(&nop, wait).expect("NOP completes");
        })
    });

    // QUERY_HCA_CAP: 8 output mailbox blocks written per command.
    let cap = h.prepare(1, &msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    g.bench_function("query_hca_cap_round_trip", |b| {
        b.iter(|| {
            h.post(&cap);
            h.wait(&cap, wait).expect("QUERY_HCA_CAP completes");
        })
    });

    // Eight slots rung by one doorbell write.
    let batch: Vec<_> = (0..8)
        .map(|s| h.prepare(s, &msg(Opcode::NOP, 0, 16), 16))
        .collect();
    g.throughput(Throughput::Elements(8));
    g.bench_function("nop_batch_of_8", |b| {
        b.iter(|| {
            for p in &batch {
                h.write(p);
            }
            h.ring(0xFF);
            for p in &batch {
                h.wait(p, wait).expect("NOP completes");
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
