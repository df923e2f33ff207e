//! `cxu bench` (issues 8 and 17): throughput, latency and CPU per command of
//! the command queue, with the baselines measured in the same run so that
//! results are ratios that hold on a noisy machine.
//!
//! A run sweeps firmware latencies (the embedded model's, `--fw-latency`),
//! commands (NOP; QUERY_HCA_CAP with 8 output mailbox blocks), commands in
//! flight and submitting threads, in polling and in events mode, for three
//! ways of reaching the queue: the driver's (lock-free), the driver's path
//! with the kernel's slot allocator (mutex:
//! [`cxu_driver::cmd::SlotPolicy::MutexSemaphore`]) and the kernel's whole design
//! (`kernel`: one dispatcher thread, the semaphore, a completion per command).
//! Beside them it measures the limits: the device driven alone by a minimal
//! submitter (`alone`) and a cache-line ping-pong between two threads
//! (`pingpong`). On the embedded model every variant is probed up front, so
//! that the points of one depth are measured side by side; with `--pci` the
//! variants are probed one after the other on the one function, and the
//! device-alone run is skipped (it would need the function without a driver).
//!
//! Output: a table on `out`, a JSON report and an SVG plot of throughput
//! against depth. Files: [`report`] (the data), `load` (the driver's load),
//! `kernel` (the kernel's design), `alone` and `alone_events` (the device
//! alone, polled and through an EQ, one loop: `alone_loop`), `pingpong`,
//! `memory`, `cpu`, `analyze` (ratios, targets), `table`, `plot`, `error`.

mod alone;
mod alone_events;
mod alone_loop;
mod analyze;
mod cpu;
mod error;
mod kernel;
mod latency;
mod load;
mod memory;
mod pingpong;
mod plot;
pub mod report;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cxu_hal::ifc::caps::{CapMode, CapType};
use cxu_hal::ifc::commands::caps::{QueryHcaCapIn, QUERY_HCA_CAP_OUT_SIZE};
use cxu_hal::ifc::commands::hca::nop_in;
use cxu_hal::ifc::Opcode;
use cxu_hal::{PciAddress, PciFunction};
use cxu_qemu::model::Profile;
use cxu_qemu::{Control, LocalFunction};
use tracing::info;

use cxu_driver::cmd::{QueueConfig, SlotPolicy};
use cxu_driver::device::{Device, DriverConfig};

pub use cpu::CpuUse;
pub use error::BenchError;
pub use latency::Latency;
pub use report::{CommandKind, ModeKind, PolicyKind, Report};

use alone::DeviceAlone;
use alone_events::EventsAlone;
use load::{Measured, Window, Workload};
use report::{AlonePoint, CpuPerCmd, Machine, Memory, PingPong, Point, Spread};

/// Ping-pong: batches and round trips per batch.
const PP_BATCHES: u32 = 51;
const PP_TRIPS: u32 = 2_000;

/// Options of `cxu bench`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bench",
    bin_name = "cxu bench",
    about = "Command throughput and latency of the driver against the kernel-style baseline and the device alone"
)]
pub struct BenchOpts {
    /// Bench a function bound to vfio-pci instead of the embedded model.
    #[arg(long, value_name = "DDDD:BB:DD.F")]
    pub pci: Option<PciAddress>,
    /// Commands in flight (in total over the threads).
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [1, 2, 4, 8, 16, 32])]
    pub depths: Vec<u32>,
    /// Submitting threads (a point with fewer commands than threads is skipped).
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [1, 2, 4])]
    pub threads: Vec<u32>,
    /// Completion modes.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_enum, default_values_t = [ModeKind::Polling, ModeKind::Events])]
    pub modes: Vec<ModeKind>,
    /// Commands.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_enum, default_values_t = [CommandKind::Nop, CommandKind::QueryHcaCap])]
    pub commands: Vec<CommandKind>,
    /// How commands reach the queue: lock-free is the driver; mutex its path
    /// with the kernel's slot allocator; kernel the kernel's whole design.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_enum, default_values_t = [PolicyKind::LockFree, PolicyKind::Mutex, PolicyKind::Kernel])]
    pub policies: Vec<PolicyKind>,
    /// Firmware latencies of the benched commands on the embedded model
    /// (e.g. `0,10us,100us,1ms`; a bare number is microseconds).
    #[arg(long, num_args = 1.., value_delimiter = ',', value_parser = parse_latency, default_value = "0")]
    pub fw_latency: Vec<Duration>,
    /// Skip the device-alone limit.
    #[arg(long)]
    pub no_alone: bool,
    /// Skip the ping-pong floor.
    #[arg(long)]
    pub no_ping_pong: bool,
    /// Warm-up before each point's window, in ms.
    #[arg(long, default_value_t = 50)]
    pub warmup_ms: u64,
    /// Measured window of each point, in ms.
    #[arg(long, default_value_t = 250)]
    pub duration_ms: u64,
    /// Runs of every point (taken in turn, depth by depth); the median counts.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Firmware worker threads of the embedded model (default: the model's own).
    #[arg(long)]
    pub model_workers: Option<usize>,
    /// Where to write the JSON report ("-" for none).
    #[arg(long, default_value = "cxu-bench.json")]
    pub json: PathBuf,
    /// Where to write the SVG plot ("-" for none).
    #[arg(long, default_value = "cxu-bench.svg")]
    pub plot: PathBuf,
}

impl BenchOpts {
    fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Options(m.to_string()));
        if self.depths.is_empty() || self.depths.contains(&0) {
            return bad("depths must be at least 1");
        }
        if self.threads.is_empty() || self.threads.contains(&0) {
            return bad("threads must be at least 1");
        }
        if self.modes.is_empty() || self.commands.is_empty() || self.policies.is_empty() {
            return bad("at least one mode, command and policy");
        }
        if self.model_workers == Some(0) {
            return bad("the model needs at least one worker");
        }
        if self.repeat == 0 {
            return bad("repeat must be at least 1");
        }
        if self.duration_ms == 0 {
            return bad("the measured window must be at least 1 ms");
        }
        if self.fw_latency.is_empty() {
            return bad("at least one firmware latency");
        }
        if self.pci.is_some() && self.fw_latency.iter().any(|l| !l.is_zero()) {
            return bad("--fw-latency is the embedded model's: a real function's firmware takes what it takes");
        }
        if !self
            .depths
            .iter()
            .any(|d| self.threads.iter().any(|t| t <= d))
        {
            return bad("no depth is at least one of the thread counts: nothing to run");
        }
        Ok(())
    }

    fn window(&self) -> Window {
        Window {
            warmup: Duration::from_millis(self.warmup_ms),
            measure: Duration::from_millis(self.duration_ms),
        }
    }
}

/// `0`, `10us`, `100us`, `1ms`, `2s`; a bare number is microseconds.
fn parse_latency(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}`: a whole number with a unit (us, ms, s)"))?;
    match unit.trim() {
        "" | "us" | "µs" => Ok(Duration::from_micros(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        u => Err(format!("`{s}`: unknown unit `{u}` (us, ms, s)")),
    }
}

impl CommandKind {
    fn workload(self) -> Workload {
        match self {
            CommandKind::Nop => Workload {
                opcode: Opcode::NOP,
                msg: nop_in().to_vec(),
                outlen: 16,
            },
            CommandKind::QueryHcaCap => Workload {
                opcode: Opcode::QUERY_HCA_CAP,
                msg: QueryHcaCapIn::new(CapType::GENERAL, CapMode::Current)
                    .encode()
                    .to_vec(),
                outlen: QUERY_HCA_CAP_OUT_SIZE,
            },
        }
    }
}

/// A probed device of one variant.
struct Variant {
    policy: PolicyKind,
    mode: ModeKind,
    device: Arc<Device>,
    /// The embedded model's control (firmware latency); `None` with `--pci`.
    control: Option<Control>,
}

fn driver_config(policy: PolicyKind, mode: ModeKind) -> DriverConfig {
    DriverConfig {
        queue: QueueConfig {
            slot_policy: match policy {
                PolicyKind::LockFree => SlotPolicy::LockFree,
                // The kernel's design allocates slots as the kernel does.
                PolicyKind::Mutex | PolicyKind::Kernel => SlotPolicy::MutexSemaphore,
            },
            ..QueueConfig::default()
        },
        use_events: mode == ModeKind::Events,
        ..DriverConfig::default()
    }
}

/// The embedded model with zero firmware latency for the benched commands.
fn model(workers: Option<usize>) -> Arc<LocalFunction> {
    let d = Profile::default();
    let f = Arc::new(LocalFunction::new(Profile {
        workers: workers.unwrap_or(d.workers),
        ..d
    }));
    set_fw_latency(&f.control(), Duration::ZERO);
    f
}

/// The firmware latency of the benched commands (the model runs several
/// commands' latencies at once: they wait in a timer heap, not in a worker).
fn set_fw_latency(ctl: &Control, latency: Duration) {
    for op in [Opcode::NOP, Opcode::QUERY_HCA_CAP] {
        ctl.set_latency(op, latency);
    }
}

/// Probes `function` as `policy`/`mode`; with `measure`, also the memory it took.
fn probe(
    function: Arc<dyn PciFunction>,
    control: Option<Control>,
    policy: PolicyKind,
    mode: ModeKind,
    measure: bool,
) -> Result<(Variant, Option<Memory>), BenchError> {
    let before = if measure {
        memory::resident_bytes()
    } else {
        None
    };
    let config = driver_config(policy, mode);
    let device = Device::probe(function, config.clone()).map_err(error::device(format!(
        "probing ({} queue, {} mode)",
        policy.label(),
        mode.label()
    )))?;
    let mem = match (before, memory::resident_bytes()) {
        (Some(before), Some(after)) => {
            let pages = device.page_stats().map_err(error::device("page stats"))?;
            let dma = device.dma_stats().map_err(error::device("DMA stats"))?;
            let pool = (config.fw_pages * cxu_dma::FW_PAGE_SIZE) as u64;
            Some(Memory {
                rss_before_probe: before,
                rss_after_probe: after,
                fw_page_pool_bytes: pool,
                fw_pages_given: pages.outstanding,
                probed_device_bytes: after.saturating_sub(before).saturating_sub(pool),
                dma_mapped_bytes: dma.mapped_bytes,
            })
        }
        _ => None,
    };
    Ok((
        Variant {
            policy,
            mode,
            device,
            control,
        },
        mem,
    ))
}

fn variants(opts: &BenchOpts) -> Vec<(PolicyKind, ModeKind)> {
    let mut v = Vec::new();
    for &m in &opts.modes {
        for &p in &opts.policies {
            if !v.contains(&(p, m)) {
                v.push((p, m));
            }
        }
    }
    // The lock-free polling device first: its probe is the one measured for memory.
    v.sort_by_key(|(p, m)| (*p != PolicyKind::LockFree, *m != ModeKind::Polling));
    v
}

/// Everything measured so far.
#[derive(Default)]
struct Results {
    points: Vec<Point>,
    alone: Vec<AlonePoint>,
    alone_events: Vec<AlonePoint>,
    alone_same_threads: Vec<AlonePoint>,
}

/// The device-alone limits a sweep runs beside the driver, each on its own
/// model: polled, and with completions found through an EQ.
#[derive(Clone, Copy, Default)]
struct Limits<'a> {
    polled: Option<(&'a DeviceAlone, &'a Control)>,
    events: Option<(&'a EventsAlone, &'a Control)>,
}

/// The run with the median throughput of `runs` (its latencies go with it).
fn median<T: Clone>(runs: &[T], cps: impl Fn(&T) -> f64) -> Option<T> {
    let mut sorted: Vec<&T> = runs.iter().collect();
    sorted.sort_by(|a, b| cps(a).total_cmp(&cps(b)));
    sorted.get(sorted.len() / 2).map(|t| (*t).clone())
}

/// The median run of `runs` (by `cps`), given its spread and every run's
/// throughput in the order taken (`set`).
fn kept<T: Clone>(
    runs: &[T],
    cps: impl Fn(&T) -> f64,
    set: impl FnOnce(&mut T, Spread, Vec<f64>),
) -> Option<T> {
    let mut k = median(runs, &cps)?;
    let all: Vec<f64> = runs.iter().map(&cps).collect();
    let spread = Spread::of(all.iter().copied(), cps(&k));
    set(&mut k, spread, all);
    Some(k)
}

/// Runs every point of `devs` (and of `alone`, if given), latency by latency
/// and depth by depth: each depth's points `repeat` times in turn, keeping the
/// median of each and the spread of all.
fn sweep(
    opts: &BenchOpts,
    devs: &[Variant],
    alone: Limits<'_>,
    res: &mut Results,
) -> Result<(), BenchError> {
    let win = opts.window();
    for &fw in &opts.fw_latency {
        for c in devs.iter().filter_map(|v| v.control.as_ref()) {
            set_fw_latency(c, fw);
        }
        for c in [alone.polled.map(|a| a.1), alone.events.map(|a| a.1)]
            .into_iter()
            .flatten()
        {
            set_fw_latency(c, fw);
        }
        let fw_us = u64::try_from(fw.as_micros()).unwrap_or(u64::MAX);
        for &cmd in &opts.commands {
            let w = cmd.workload();
            for &depth in &opts.depths {
                sweep_depth(opts, devs, alone, &w, cmd, depth, fw_us, win, res)?;
            }
        }
    }
    Ok(())
}

/// The points of one depth, `repeat` times in turn.
#[allow(clippy::too_many_arguments)]
fn sweep_depth(
    opts: &BenchOpts,
    devs: &[Variant],
    alone: Limits<'_>,
    w: &Workload,
    cmd: CommandKind,
    depth: u32,
    fw_us: u64,
    win: Window,
    res: &mut Results,
) -> Result<(), BenchError> {
    let mut alone_runs = Vec::new();
    let mut alone_ev_runs = Vec::new();
    // The device alone with the same threads, beside each polling point
    // with 2+ threads (part 4's diagnostic), where each thread can hold a
    // slot of its own (the driver's points may want more: a thread then
    // waits for a slot).
    let slots = alone.polled.map_or(0, |(a, _)| a.regular_slots());
    let same_threads: Vec<u32> = if opts.modes.contains(&ModeKind::Polling) {
        opts.threads
            .iter()
            .copied()
            .filter(|&t| t > 1 && t <= depth.min(slots))
            .collect()
    } else {
        Vec::new()
    };
    let mut alone_thr_runs: Vec<Vec<AlonePoint>> = vec![Vec::new(); same_threads.len()];
    let mut runs: Vec<Vec<Point>> = Vec::new();
    let alone_point = |m: &Measured, slots: u32, threads: u32| AlonePoint {
        command: cmd,
        fw_latency_us: fw_us,
        threads,
        depth,
        effective_depth: depth.min(slots),
        commands_per_sec: m.throughput(),
        spread: Spread::default(),
        repeats: Vec::new(),
        latency: m.latency,
        cpu: cpu_per_cmd(m.cpu, m.cpu_commands),
    };
    let logged = |m: &Measured, what: &str| {
        info!(
            command = cmd.label(),
            depth,
            fw_us,
            cps = m.throughput(),
            "{what}"
        );
    };
    for _ in 0..opts.repeat.max(1) {
        if let Some((a, _)) = alone.events {
            let m = a.run(w, depth, win)?;
            logged(&m, "device alone, events");
            alone_ev_runs.push(alone_point(&m, a.regular_slots(), 1));
        }
        if let Some((a, _)) = alone.polled {
            let m = a.run(w, depth, win)?;
            logged(&m, "device alone");
            alone_runs.push(alone_point(&m, a.regular_slots(), 1));
        }
        // A point's two modes one after the other: their ratio (events over
        // polling, issue 17 part 3) pairs figures taken a fraction of a
        // second apart, not a whole thread sweep apart, when the machine's
        // pace may have changed in between.
        let mut k = 0;
        for &threads in &opts.threads {
            if threads > depth {
                continue;
            }
            // Right before the points it is compared with, likewise.
            let same = same_threads.iter().position(|&t| t == threads);
            if let (Some(i), Some((a, _))) = (same, alone.polled) {
                let m = a.run_threads(w, threads, depth, win)?;
                logged(&m, "device alone, same threads");
                alone_thr_runs[i].push(alone_point(&m, a.regular_slots(), threads));
            }
            for &policy in &opts.policies {
                for &mode in &opts.modes {
                    for v in devs.iter().filter(|v| v.mode == mode && v.policy == policy) {
                        let p = point(v, cmd, w, threads, depth, fw_us, win)?;
                        if runs.len() <= k {
                            runs.push(Vec::new());
                        }
                        runs[k].push(p);
                        k += 1;
                    }
                }
            }
        }
    }
    let kept_alone = |runs: &[AlonePoint]| {
        kept(
            runs,
            |a| a.commands_per_sec,
            |a, s, r| {
                a.spread = s;
                a.repeats = r;
            },
        )
    };
    res.alone.extend(kept_alone(&alone_runs));
    res.alone_events.extend(kept_alone(&alone_ev_runs));
    for r in &alone_thr_runs {
        res.alone_same_threads.extend(kept_alone(r));
    }
    for r in &runs {
        res.points.extend(kept(
            r,
            |p| p.commands_per_sec,
            |p, s, r| {
                p.spread = s;
                p.repeats = r;
            },
        ));
    }
    Ok(())
}

/// One measured point of one device.
fn point(
    v: &Variant,
    cmd: CommandKind,
    w: &Workload,
    threads: u32,
    depth: u32,
    fw_us: u64,
    win: Window,
) -> Result<Point, BenchError> {
    let name = format!(
        "{} {} {} fw {fw_us} us {threads} thr depth {depth}",
        cmd.label(),
        v.mode.label(),
        v.policy.label()
    );
    let (m, regular) = v
        .device
        .with_queue(|q| {
            let m = match v.policy {
                PolicyKind::Kernel => kernel::run(q, w, threads, depth, win, &name),
                PolicyKind::LockFree | PolicyKind::Mutex => {
                    load::run(q, w, threads, depth, win, &name)
                }
            };
            Ok((m, q.regular_slots()))
        })
        .map_err(error::device(format!("{name}: the device")))?;
    let m = m?;
    info!(point = %name, cps = m.throughput(), p50_ns = m.latency.p50_ns, "measured");
    Ok(Point {
        command: cmd,
        fw_latency_us: fw_us,
        mode: v.mode,
        policy: v.policy,
        threads,
        depth,
        effective_depth: depth.min(load::max_depth(regular, threads)),
        completed: m.completed,
        commands_per_sec: m.throughput(),
        spread: Spread::default(),
        repeats: Vec::new(),
        latency: m.latency,
        cpu: cpu_per_cmd(m.cpu, m.cpu_commands),
    })
}

/// CPU per command from a window's CPU use (nothing if nothing completed).
fn cpu_per_cmd(cpu: Option<CpuUse>, completed: u64) -> Option<CpuPerCmd> {
    let cpu = cpu?;
    if completed == 0 {
        return None;
    }
    let n = completed as f64;
    let model = cpu.model_ns.map(|m| m as f64 / n);
    Some(CpuPerCmd {
        process_ns: cpu.process_ns as f64 / n,
        model_ns: model,
        driver_ns: cpu
            .model_ns
            .map(|m| cpu.process_ns.saturating_sub(m) as f64 / n),
        switches: cpu.switches.map(|s| s as f64 / n),
    })
}

fn remove(v: Variant) -> Result<(), BenchError> {
    v.device.remove().map(|_| ()).map_err(error::device(format!(
        "removing the {} {} device",
        v.policy.label(),
        v.mode.label()
    )))
}

/// Runs the benchmark, prints the table on `out`, writes the JSON report and
/// the plot, and returns the report.
pub fn run(opts: &BenchOpts, out: &mut dyn Write) -> Result<Report, BenchError> {
    opts.validate()?;
    let load_before = loadavg();
    let rtt_before = (!opts.no_ping_pong).then(|| pingpong::round_trip(PP_BATCHES, PP_TRIPS));
    let mut res = Results::default();
    let mut memory = None;
    let device_name;
    match opts.pci {
        None => {
            device_name = format!(
                "embedded model (cxu-qemu LocalFunction, {} firmware workers), firmware latency {} us",
                opts.model_workers.unwrap_or(Profile::default().workers),
                opts.fw_latency
                    .iter()
                    .map(|l| l.as_micros().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut devs = Vec::new();
            for (i, (p, m)) in variants(opts).into_iter().enumerate() {
                let f = model(opts.model_workers);
                let (v, mem) = probe(f.clone(), Some(f.control()), p, m, i == 0)?;
                memory = memory.or(mem);
                devs.push(v);
            }
            let alone = if opts.no_alone {
                None
            } else {
                let f = model(opts.model_workers);
                Some((DeviceAlone::open(f.clone())?, f.control()))
            };
            let alone_ev = if opts.no_alone || !opts.modes.contains(&ModeKind::Events) {
                None
            } else {
                let f = model(opts.model_workers);
                Some((EventsAlone::open(f.clone())?, f.control()))
            };
            let limits = Limits {
                polled: alone.as_ref().map(|(a, c)| (a, c)),
                events: alone_ev.as_ref().map(|(a, c)| (a, c)),
            };
            sweep(opts, &devs, limits, &mut res)?;
            for v in devs {
                remove(v)?;
            }
        }
        Some(addr) => {
            device_name = format!("pci/{addr} over VFIO");
            let function: Arc<dyn PciFunction> = Arc::new(
                cxu_hal::vfio::VfioFunction::open(addr)
                    .map_err(error::hal(format!("opening {addr}")))?,
            );
            for (i, (p, m)) in variants(opts).into_iter().enumerate() {
                if i > 0 {
                    function
                        .reset()
                        .map_err(error::hal("function reset between variants"))?;
                }
                let (v, mem) = probe(function.clone(), None, p, m, i == 0)?;
                memory = memory.or(mem);
                sweep(opts, std::slice::from_ref(&v), Limits::default(), &mut res)?;
                remove(v)?;
            }
        }
    }
    let rtt_after = (!opts.no_ping_pong).then(|| pingpong::round_trip(PP_BATCHES, PP_TRIPS));
    let ping_pong = match (rtt_before, rtt_after) {
        (Some(b), Some(a)) => Some(PingPong {
            before_ns: b.as_nanos() as u64,
            after_ns: a.as_nanos() as u64,
            used_ns: b.min(a).as_nanos() as u64,
        }),
        _ => None,
    };
    let comparisons = analyze::comparisons(&res.points, &res.alone, &res.alone_same_threads);
    let depth1 = analyze::depth1(&res.points, &res.alone, ping_pong.map(|p| p.used_ns));
    let targets = analyze::targets(&comparisons, &depth1, &res.points);
    let report = Report {
        device: device_name,
        machine: machine(load_before),
        warmup_ms: opts.warmup_ms,
        measure_ms: opts.duration_ms,
        repeat: opts.repeat,
        fw_latencies_us: opts
            .fw_latency
            .iter()
            .map(|l| u64::try_from(l.as_micros()).unwrap_or(u64::MAX))
            .collect(),
        ping_pong,
        alone: res.alone,
        alone_events: res.alone_events,
        alone_same_threads: res.alone_same_threads,
        points: res.points,
        comparisons,
        depth1,
        memory,
        targets,
    };
    table::print(&report, out)?;
    write_file(&opts.json, &serde_json::to_string_pretty(&report)?)?;
    write_file(&opts.plot, &plot::svg(&report))?;
    Ok(report)
}

fn write_file(path: &PathBuf, text: &str) -> Result<(), BenchError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.clone(),
        source,
    })
}

/// `cxu bench ARGS`: `args` starts with the word `bench`; `pci` is the tool's
/// global `--pci`, if given. Prints the table on `out`, errors on `err`, and
/// returns the exit code (0 done, 1 failed, 2 bad options).
pub fn cli(
    args: &[String],
    pci: Option<PciAddress>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    use clap::Parser;
    let mut opts = match BenchOpts::try_parse_from(args) {
        Ok(o) => o,
        Err(e) if e.use_stderr() => {
            let _ = write!(err, "{}", e.render());
            return 2;
        }
        Err(e) => {
            // --help, --version
            let _ = write!(out, "{}", e.render());
            return 0;
        }
    };
    opts.pci = opts.pci.or(pci);
    match run(&opts, out) {
        Ok(_) => 0,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            if let BenchError::Options(_) = e {
                2
            } else {
                1
            }
        }
    }
}

fn loadavg() -> [f64; 3] {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = s.split_whitespace().map(|w| w.parse().unwrap_or(f64::NAN));
    [
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
    ]
}

fn machine(load_before: [f64; 3]) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_string(), |(_, v)| v.trim().to_string());
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string()),
        load_before,
        load_after: loadavg(),
    }
}

#[cfg(test)]
mod tests;
