//! What a run measured, as plain data: serialized as the JSON report, printed
//! as the table, drawn as the plot.

use serde::Serialize;

use super::latency::Latency;

/// The command a point runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// NOP: 16 bytes in, 16 out, everything inline in the entry.
    Nop,
    /// QUERY_HCA_CAP (general, current): 16 bytes in, 4112 out, 8 output
    /// mailbox blocks.
    QueryHcaCap,
}

/// How completions are noticed (the driver's [`cxu_driver::Mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModeKind {
    /// Waiters poll the ownership bits.
    Polling,
    /// Command-completion EQEs, the EQ thread, MSI-X.
    Events,
}

/// How commands reach the queue: the driver's way or a baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// The driver: any thread submits, the lock-free bitmask.
    LockFree,
    /// The driver's path with the kernel's slot allocator: a semaphore and a
    /// locked bitmask (SlotPolicy::MutexSemaphore).
    Mutex,
    /// The kernel's whole design: one dispatcher thread fed by a queue, the
    /// semaphore taken there, a completion per command, one command at a time
    /// in polling mode.
    Kernel,
}

impl CommandKind {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            CommandKind::Nop => "NOP",
            CommandKind::QueryHcaCap => "QUERY_HCA_CAP (8 out blocks)",
        }
    }
}

impl ModeKind {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            ModeKind::Polling => "polling",
            ModeKind::Events => "events",
        }
    }
}

impl PolicyKind {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            PolicyKind::LockFree => "lock-free",
            PolicyKind::Mutex => "mutex",
            PolicyKind::Kernel => "kernel",
        }
    }
}

/// Throughput of the repeats of one point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// The slowest run, commands/s.
    pub min: f64,
    /// The run kept (the median; the upper one of an even number).
    pub median: f64,
    /// The fastest run.
    pub max: f64,
    /// Runs.
    pub runs: u32,
}

impl Spread {
    /// Of the throughputs of `runs`, `kept` being the median one.
    pub fn of(runs: impl IntoIterator<Item = f64>, kept: f64) -> Spread {
        let mut n = 0;
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in runs {
            n += 1;
            min = min.min(v);
            max = max.max(v);
        }
        if n == 0 {
            return Spread::default();
        }
        Spread {
            min,
            median: kept,
            max,
            runs: n,
        }
    }
}

/// CPU time per command completed in the window, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuPerCmd {
    /// Every thread of the process: on the embedded model, the model's too.
    pub process_ns: f64,
    /// The model's firmware threads (`cxu-fw-*`).
    pub model_ns: Option<f64>,
    /// The rest: the driver's (or the baseline's) threads and the bench's,
    /// with the model's doorbell emulation on the submitting threads.
    pub driver_ns: Option<f64>,
    /// Context switches (voluntary and not) of every thread.
    pub switches: Option<f64>,
}

/// One measured point of the driver.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Command.
    pub command: CommandKind,
    /// The model's firmware latency for the command, in us.
    pub fw_latency_us: u64,
    /// Completion mode.
    pub mode: ModeKind,
    /// Slot allocator.
    pub policy: PolicyKind,
    /// Submitting threads.
    pub threads: u32,
    /// Commands in flight asked for.
    pub depth: u32,
    /// Commands in flight actually kept (see `load::max_depth`).
    pub effective_depth: u32,
    /// Commands completed in the window.
    pub completed: u64,
    /// Commands per second (of the median run).
    pub commands_per_sec: f64,
    /// Throughput over the repeats.
    pub spread: Spread,
    /// Throughput of each repeat, in the order they were taken: on the
    /// embedded model the n-th of two points at one depth were measured
    /// seconds apart, so their ratio is not split by a change of the machine's
    /// pace between repeats (with `--pci`, variants sweep one after another).
    pub repeats: Vec<f64>,
    /// Per-command latency, submit to result (of the median run).
    pub latency: Latency,
    /// CPU per command (of the median run).
    pub cpu: Option<CpuPerCmd>,
}

/// One point of the device driven alone.
#[derive(Debug, Clone, Serialize)]
pub struct AlonePoint {
    /// Command.
    pub command: CommandKind,
    /// The model's firmware latency for the command, in us.
    pub fw_latency_us: u64,
    /// Submitting threads, each on its own slots (1 but in
    /// [`Report::alone_same_threads`]).
    pub threads: u32,
    /// Commands in flight asked for.
    pub depth: u32,
    /// Commands in flight kept (at most the regular slots).
    pub effective_depth: u32,
    /// Commands per second (of the median run).
    pub commands_per_sec: f64,
    /// Throughput over the repeats.
    pub spread: Spread,
    /// Throughput of each repeat, in the order taken (see [`Point::repeats`]).
    pub repeats: Vec<f64>,
    /// Per-command latency, doorbell to ownership back.
    pub latency: Latency,
    /// CPU per command over the whole run (warm-up and drain included).
    pub cpu: Option<CpuPerCmd>,
}

/// Lock-free against its baselines at one point.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Command.
    pub command: CommandKind,
    /// Completion mode.
    pub mode: ModeKind,
    /// The model's firmware latency, us.
    pub fw_latency_us: u64,
    /// Submitting threads.
    pub threads: u32,
    /// Depth asked for.
    pub depth: u32,
    /// Depth kept.
    pub effective_depth: u32,
    /// Lock-free commands per second.
    pub lock_free_cps: f64,
    /// Mutex baseline commands per second.
    pub mutex_cps: Option<f64>,
    /// lock-free / mutex (this and the other ratios: the median of the
    /// repeats' own ratios, see `analyze::paired`).
    pub lock_free_over_mutex: Option<f64>,
    /// Kernel-design baseline commands per second.
    pub kernel_cps: Option<f64>,
    /// lock-free / kernel.
    pub lock_free_over_kernel: Option<f64>,
    /// Median latency, lock-free over kernel.
    pub p50_over_kernel: Option<f64>,
    /// Device alone at the same depth.
    pub alone_cps: Option<f64>,
    /// lock-free / device alone.
    pub fraction_of_alone: Option<f64>,
    /// The device alone with the same threads at the same depth (polling
    /// points with 2+ threads): see [`Report::alone_same_threads`].
    pub alone_same_threads_cps: Option<f64>,
    /// lock-free / the device alone with the same threads: a diagnostic
    /// beside `fraction_of_alone`, which the targets are judged by.
    pub fraction_of_alone_same_threads: Option<f64>,
    /// An events-mode point over the polling one at the same (threads,
    /// depth, firmware latency); `None` for polling points.
    pub events_over_polling: Option<f64>,
    /// Driver overhead per command: 1/lock-free - 1/alone, in ns.
    pub overhead_ns: Option<f64>,
}

/// Depth-1 latency against the floors.
#[derive(Debug, Clone, Serialize)]
pub struct Depth1 {
    /// Command.
    pub command: CommandKind,
    /// Completion mode.
    pub mode: ModeKind,
    /// The model's firmware latency, us.
    pub fw_latency_us: u64,
    /// Median latency of the lock-free queue, one thread, depth 1.
    pub p50_ns: u64,
    /// That over the ping-pong round trip.
    pub rtt_multiple: f64,
    /// Median latency of the device alone at depth 1.
    pub alone_p50_ns: Option<u64>,
    /// The driver's latency over the device alone's.
    pub alone_multiple: Option<f64>,
    /// What the driver adds to the device alone's median latency, over the
    /// ping-pong round trip: the target's "<= 3x ping-pong" asked of the
    /// driver's own share, since the model's own ~0.6 us per command is
    /// already a dozen round trips.
    pub added_rtt_multiple: Option<f64>,
}

/// Resident memory of a probed device.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Process resident bytes (RSS + huge pages) with the function
    /// created, before the probe.
    pub rss_before_probe: u64,
    /// The same right after the probe.
    pub rss_after_probe: u64,
    /// The pool of firmware pages the driver allocates (pinned, so resident)
    /// at probe, whether or not firmware asked for them yet.
    pub fw_page_pool_bytes: u64,
    /// Pages given to firmware by the end of the probe.
    pub fw_pages_given: u64,
    /// Growth of the process over the probe without the firmware page pool:
    /// the driver's command page, mailbox pool, EQ ring, threads and state
    /// (on the embedded model also the model's own bring-up state).
    pub probed_device_bytes: u64,
    /// DMA memory the driver has mapped, firmware page pool included.
    pub dma_mapped_bytes: u64,
}

/// One target of the issue and whether it was met.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Which target.
    pub name: String,
    /// What it asks.
    pub goal: String,
    /// Met at every point it covers; `None` if nothing measured it.
    pub met: Option<bool>,
    /// The worst value among those points.
    pub worst: Option<f64>,
    /// The points and their values.
    pub detail: String,
}

/// The machine the numbers came from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model from /proc/cpuinfo.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// 1/5/15-minute load averages at the start.
    pub load_before: [f64; 3],
    /// And at the end.
    pub load_after: [f64; 3],
}

/// Ping-pong round trips measured before and after the sweep.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PingPong {
    /// Before, ns.
    pub before_ns: u64,
    /// After, ns.
    pub after_ns: u64,
    /// The one ratios use (the smaller: the floor), ns.
    pub used_ns: u64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was benchmarked.
    pub device: String,
    /// Where.
    pub machine: Machine,
    /// Warm-up per point, ms.
    pub warmup_ms: u64,
    /// Measured window per point, ms.
    pub measure_ms: u64,
    /// Runs per point; each point is the run with the median throughput.
    pub repeat: u32,
    /// The firmware latencies swept, us.
    pub fw_latencies_us: Vec<u64>,
    /// The ping-pong floor.
    pub ping_pong: Option<PingPong>,
    /// The device alone.
    pub alone: Vec<AlonePoint>,
    /// The device alone in events mode: completions found through an EQ,
    /// sleeping on the MSI-X eventfd when none comes (`alone_events`).
    pub alone_events: Vec<AlonePoint>,
    /// The device alone with the driver's thread structure, beside every
    /// polling point with 2+ threads: that many bare submitters, each
    /// keeping its own share of the depth in flight on slots of its own.
    /// A diagnostic (is a shortfall the driver's or the thread structure's
    /// on this machine?); the targets are judged against `alone`.
    pub alone_same_threads: Vec<AlonePoint>,
    /// Every driver point.
    pub points: Vec<Point>,
    /// Lock-free against the baselines.
    pub comparisons: Vec<Comparison>,
    /// Depth-1 latencies.
    pub depth1: Vec<Depth1>,
    /// Memory of the first probed device.
    pub memory: Option<Memory>,
    /// The targets.
    pub targets: Vec<Target>,
}
