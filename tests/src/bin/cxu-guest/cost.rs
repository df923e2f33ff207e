//! What a NOP costs through the real VFIO, four submitters side by side in
//! one guest run: the raw submitter of `cxu_testkit` (the minimal command
//! ring user: write the entry, ring, poll the ownership byte or wait for the
//! MSI-X eventfd and consume the EQE) and the driver (its `Queue` polling,
//! its probed `Device` in events mode), each one at a time (depth 1) and in
//! batches of 31 (one doorbell write per batch: `testkit::Submitter::ring`
//! with 31 bits, `Queue::submit_batch`).
//!
//! The driver's queue also runs 31 in flight submitted one by one (one
//! doorbell each: the way before `submit_batch`, the "before" of its count).
//! Each of the nine windows (run [`REPEATS`] times, interleaved) starts
//! with a function reset, at which
//! `cxu-vfio-user` prints the counts of the window before (trapped BAR0
//! accesses by register, interrupts, DMA, its CPU: `counts.rs`), and the run
//! ends with one more. The window's NOPs carry op_mod [`MARK`] + its index,
//! which firmware ignores and the server reports, so the host test
//! (`tests/tests/qemu_guest/cost.rs`) finds each window's counts and prints
//! them per command beside the rates printed here (`INFO cost-window`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{DmaContext, PageSize};
use cxu_driver::{Device, DriverConfig, Mode, Queue, QueueConfig};
use cxu_hal::ifc::eqe::EventType;
use cxu_hal::ifc::{iseg, Opcode};
use cxu_hal::os::wait_eventfd;
use cxu_hal::{EventFd, Mmio, PciFunction};
use cxu_testkit::{msg, Layout, Prepared};

use crate::raw::{ok, write, Eq, Submitter};
use crate::report::{Ctx, Report};

/// NOPs per window: 10 batches of 31. The server finds a window by its NOPs
/// in the model's command log, which keeps the first 16 Ki commands of the
/// device's life: 24 windows of 310 and the rest of the run fit.
const NOPS: u32 = 310;
/// Commands of one batch: every regular slot (the 32nd is MANAGE_PAGES's).
const BATCH: u32 = 31;
/// The op_mod of window `i`'s NOPs is `MARK + i`.
pub const MARK: u16 = 0x4300;
/// Every window runs this many times, interleaved (raw, driver, raw, ...):
/// on a loaded host one window's rate is noise; the host takes the median.
const REPEATS: u32 = 3;
const LONG: Duration = Duration::from_secs(5);

fn nop(mark: u16) -> Vec<u8> {
    msg(Opcode::NOP, mark, 16)
}

/// How a window submits its NOPs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// One at a time.
    One,
    /// Batches of [`BATCH`], one doorbell write each.
    Batch,
    /// [`BATCH`] in flight, each submitted alone (one doorbell write per
    /// command): the driver's way before `Queue::submit_batch`, kept as the
    /// count's "before".
    Each,
}

/// The windows of a variant: every variant one at a time and batched; the
/// driver's queue also without batching.
fn depths(name: &str) -> &'static [(Depth, &'static str)] {
    if name == "driver-polling" {
        &[
            (Depth::One, "1"),
            (Depth::Batch, "batch31"),
            (Depth::Each, "each31"),
        ]
    } else {
        &[(Depth::One, "1"), (Depth::Batch, "batch31")]
    }
}

/// The raw submitter on a freshly reset function, after ENABLE_HCA.
fn raw_setup(f: &Arc<dyn PciFunction>) -> Result<Submitter, String> {
    f.set_bus_master(true).ctx("bus master")?;
    let dma = DmaContext::new(f.clone()).ctx("DMA context")?;
    // 16 blocks per chain: the bring-up's MANAGE_PAGES needs more than one.
    let s = Submitter::alloc(
        &dma,
        Layout {
            slots: 32,
            chain_blocks: 16,
        },
    )
    .ctx("command queue")?;
    s.wait_ready(LONG).ctx("firmware")?;
    s.program_cmdq().ctx("command queue address")?;
    ok(
        s.exec_in(0, &msg(Opcode::ENABLE_HCA, 0, 16), 16),
        "ENABLE_HCA",
    )?;
    Ok(s)
}

/// Raw, polling: write, ring, poll the ownership byte (yielding between looks).
fn raw_polling(f: &Arc<dyn PciFunction>, mark: u16, depth: Depth) -> Result<Duration, String> {
    let s = raw_setup(f)?;
    let input = nop(mark);
    let t = Instant::now();
    match depth {
        Depth::One => {
            for _ in 0..NOPS {
                ok(s.exec_in(0, &input, 16), "NOP")?;
            }
        }
        Depth::Batch => {
            for _ in 0..NOPS / BATCH {
                let posted = (0..BATCH)
                    .map(|slot| write(&s, slot, &input, 16))
                    .collect::<Result<Vec<_>, _>>()?;
                s.ring((1u32 << BATCH) - 1);
                for p in &posted {
                    ok(s.wait(p, LONG), "NOP")?;
                }
            }
        }
        Depth::Each => return Err("the raw submitter has no each31 window".into()),
    }
    Ok(t.elapsed())
}

/// Waits for the EQ's interrupt and consumes its command EQEs until every slot
/// of `pending` has completed, re-arming after each interrupt (one EQ
/// doorbell write, as the driver's EQ thread does).
fn raw_wait_events(
    s: &Submitter,
    eq: &mut Eq,
    irq: &EventFd,
    mut pending: u32,
) -> Result<(), String> {
    while pending != 0 {
        if wait_eventfd(irq, Some(LONG)).ctx("eventfd")?.is_none() {
            return Err(format!(
                "no interrupt within {LONG:?}; waiting for slots {pending:#x}"
            ));
        }
        while let Some(e) = eq.poll()? {
            if e.event_type == EventType::CMD {
                pending &= !e.cmd_vector();
            }
        }
        eq.arm(s);
    }
    Ok(())
}

/// Raw, events: the same with completions from command EQEs by MSI-X (the
/// submitting thread waits on the eventfd itself: no EQ thread, no hand-off).
fn raw_events(f: &Arc<dyn PciFunction>, mark: u16, depth: Depth) -> Result<Duration, String> {
    let s = raw_setup(f)?;
    let pages = s
        .dma()
        .alloc(256 * 4096, PageSize::Base4K)
        .ctx("page memory")?;
    s.init_hca(&pages).ctx("bring-up")?;
    let uar = ok(s.simple(Opcode::ALLOC_UAR, 0), "ALLOC_UAR")?
        .be32_at(0x08)
        .ctx("ALLOC_UAR")?
        & 0xFF_FFFF;
    let irqs = f.enable_msix(2).ctx("MSI-X")?;
    let irq = irqs.get(1).ok_or("no MSI-X vector 1")?;
    // 64 entries: a whole batch's EQEs fit while the thread sleeps.
    let mut eq = Eq::create_sized(&s, uar, 1, &[EventType::CMD], 6)?;
    while eq.poll()?.is_some() {}
    let _ = wait_eventfd(irq, Some(Duration::ZERO));
    eq.arm(&s);
    let input = nop(mark);
    let t = Instant::now();
    let (rounds, n) = match depth {
        Depth::One => (NOPS, 1),
        Depth::Batch => (NOPS / BATCH, BATCH),
        Depth::Each => return Err("the raw submitter has no each31 window".into()),
    };
    for _ in 0..rounds {
        let posted: Vec<Prepared> = (0..n)
            .map(|slot| write(&s, slot, &input, 16))
            .collect::<Result<_, _>>()?;
        let bits = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        s.ring(bits);
        raw_wait_events(&s, &mut eq, irq, bits)?;
        for p in &posted {
            ok(s.read_completion(p), "NOP")?;
        }
    }
    let took = t.elapsed();
    eq.destroy(&s)?;
    f.disable_msix().ctx("MSI-X off")?;
    drop(pages);
    Ok(took)
}

fn wait_ready(bar: &dyn Mmio) -> Result<(), String> {
    let t = Instant::now();
    while bar.read32_be(iseg::INITIALIZING.byte as u64) >> 31 != 0 {
        if t.elapsed() > LONG {
            return Err("initializing still set".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// `n` NOPs on `q`, one at a time or in batches of [`BATCH`].
fn queue_nops(q: &Queue, mark: u16, depth: Depth) -> Result<Duration, String> {
    let input = nop(mark);
    let t = Instant::now();
    match depth {
        Depth::One => {
            for _ in 0..NOPS {
                q.exec(&input, 16).ctx("NOP")?;
            }
        }
        Depth::Batch => {
            let batch: Vec<(&[u8], usize)> = (0..BATCH).map(|_| (&input[..], 16)).collect();
            let mut submitting = Duration::ZERO;
            for _ in 0..NOPS / BATCH {
                let s = Instant::now();
                let hs = q.submit_batch(&batch, false).ctx("submit_batch")?;
                submitting += s.elapsed();
                for h in hs {
                    h.wait().ctx("NOP")?;
                }
            }
            println!(
                "INFO cost-submit: {:.1} us per NOP in submit_batch (31 entries written, one doorbell)",
                submitting.as_secs_f64() * 1e6 / f64::from(NOPS)
            );
        }
        Depth::Each => {
            for _ in 0..NOPS / BATCH {
                let hs = (0..BATCH)
                    .map(|_| q.submit(&input, 16, false))
                    .collect::<Result<Vec<_>, _>>()
                    .ctx("submit")?;
                for h in hs {
                    h.wait().ctx("NOP")?;
                }
            }
        }
    }
    Ok(t.elapsed())
}

/// What the guest's own clock and scheduler cost under TCG: the driver reads
/// the clock twice per command and more while it waits, and yields while it
/// spins.
fn clock_costs() -> String {
    const N: u32 = 2000;
    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e9 / f64::from(N);
    let t = Instant::now();
    for _ in 0..N {
        std::hint::black_box(quanta::Instant::now());
    }
    let q = per(t);
    let t = Instant::now();
    for _ in 0..N {
        std::hint::black_box(Instant::now());
    }
    let s = per(t);
    let t = Instant::now();
    for _ in 0..N {
        std::thread::yield_now();
    }
    let y = per(t);
    let source =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    format!(
        "quanta::Instant::now {q:.0} ns, std::time::Instant::now {s:.0} ns, sched_yield {y:.0} ns (clocksource {})",
        source.trim()
    )
}

/// The driver's queue alone, polling.
fn driver_polling(f: &Arc<dyn PciFunction>, mark: u16, depth: Depth) -> Result<Duration, String> {
    let bar = f.bar(0).ctx("BAR0")?;
    wait_ready(&*bar)?;
    let dma = DmaContext::new(f.clone()).ctx("DMA context")?;
    let q = Queue::enable(bar.clone(), &dma, &QueueConfig::default()).ctx("enable")?;
    wait_ready(&*bar)?;
    q.exec(&msg(Opcode::ENABLE_HCA, 0, 16), 16)
        .ctx("ENABLE_HCA")?;
    let took = queue_nops(&q, mark, depth)?;
    q.exec(&msg(Opcode::DISABLE_HCA, 0, 16), 16)
        .ctx("DISABLE_HCA")?;
    Ok(took)
}

/// The driver end to end: probed, events mode (its EQ thread, MSI-X).
fn driver_events(f: &Arc<dyn PciFunction>, mark: u16, depth: Depth) -> Result<Duration, String> {
    let d = Device::probe(f.clone(), DriverConfig::default()).ctx("probe")?;
    let mode = d.summary().ctx("summary")?.mode;
    if mode != Mode::Events {
        return Err(format!("probe left the queue in {mode:?} mode"));
    }
    let took = d.with_queue(|q| Ok(queue_nops(q, mark, depth)));
    let removed = d.remove().ctx("remove");
    let took = took.ctx("queue")??;
    removed?;
    Ok(took)
}

type Variant = fn(&Arc<dyn PciFunction>, u16, Depth) -> Result<Duration, String>;

/// Runs the eight windows on `f` (bound to vfio-pci, nothing else using it).
pub fn run(r: &mut Report, f: Arc<dyn PciFunction>) {
    let variants: [(&str, Variant); 4] = [
        ("raw-polling", raw_polling),
        ("driver-polling", driver_polling),
        ("raw-events", raw_events),
        ("driver-events", driver_events),
    ];
    r.info("guest-clock", &clock_costs());
    let mut index = 0u16;
    let mut failed = std::collections::HashSet::new();
    for _ in 0..REPEATS {
        for (name, variant) in variants {
            for &(depth, tag) in depths(name) {
                let window = format!("{name}-{tag}");
                let mark = MARK + index;
                index += 1;
                // Closes the previous window at the server and starts this one.
                let outcome = f
                    .reset()
                    .ctx("VFIO reset")
                    .and_then(|_| variant(&f, mark, depth));
                match outcome {
                    Ok(took) => {
                        let rate = f64::from(NOPS) / took.as_secs_f64();
                        r.info(
                            "cost-window",
                            &format!(
                                "{window} mark={mark} nops={NOPS} secs={:.4} rate={rate:.0} us_each={:.1}",
                                took.as_secs_f64(),
                                1e6 / rate
                            ),
                        );
                    }
                    Err(e) => {
                        r.check(&format!("cost-{window}"), Err(e));
                        failed.insert(window);
                    }
                }
            }
        }
    }
    for (name, _) in variants {
        for (_, tag) in depths(name) {
            let window = format!("{name}-{tag}");
            if !failed.contains(&window) {
                r.check(&format!("cost-{window}"), Ok(format!("{REPEATS} windows")));
            }
        }
    }
    // Closes the last window.
    r.check(
        "cost-final-reset",
        f.reset().map(|_| String::new()).ctx("VFIO reset"),
    );
}
