//! The report as a table for people.

use std::io::Write;

use super::analyze;
use super::report::{Comparison, CpuPerCmd, Point, PolicyKind, Report, Spread};

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn opt(v: Option<f64>, width: usize, prec: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:>width$.prec$}"),
        _ => format!("{:>width$}", "-"),
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Prints `r`.
pub(crate) fn print(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let m = &r.machine;
    writeln!(out, "cxu bench: {}", r.device)?;
    writeln!(
        out,
        "machine: {} CPUs, {}, Linux {}; load {:.2} {:.2} {:.2} at start, {:.2} {:.2} {:.2} at end",
        m.cpus,
        m.cpu_model,
        m.kernel,
        m.load_before[0],
        m.load_before[1],
        m.load_before[2],
        m.load_after[0],
        m.load_after[1],
        m.load_after[2]
    )?;
    writeln!(
        out,
        "window: {} ms warm-up + {} ms measured per point, median of {} runs taken in turn; latency from submit to result",
        r.warmup_ms, r.measure_ms, r.repeat
    )?;
    if let Some(pp) = r.ping_pong {
        writeln!(
            out,
            "cache-line ping-pong round trip: {:.3} us (before {:.3}, after {:.3})",
            us(pp.used_ns),
            us(pp.before_ns),
            us(pp.after_ns)
        )?;
    }
    let mut groups: Vec<(_, _, _)> = Vec::new();
    for p in &r.points {
        if !groups.contains(&(p.fw_latency_us, p.command, p.mode)) {
            groups.push((p.fw_latency_us, p.command, p.mode));
        }
    }
    for (fw, cmd, mode) in groups {
        writeln!(out)?;
        writeln!(
            out,
            "{}, {} mode, firmware latency {fw} us",
            cmd.label(),
            mode.label()
        )?;
        writeln!(
            out,
            "thr depth | lock-free kcmd/s [min-max]     p50    p99  p99.9     max (us)  CPU us/cmd (model) cs/cmd | mutex kcmd/s [min-max]    CPU  LF/mutex | kernel kcmd/s [min-max]    p50 us    CPU  LF/kernel p50 ratio | alone kcmd/s [min-max]  LF/alone  overhead ns/cmd | alone same thr kcmd/s [min-max]  LF/same"
        )?;
        // One row per (threads, depth) measured with any policy.
        let mut keys: Vec<(u32, u32)> = Vec::new();
        for p in r
            .points
            .iter()
            .filter(|p| p.command == cmd && p.mode == mode && p.fw_latency_us == fw)
        {
            if !keys.contains(&(p.threads, p.depth)) {
                keys.push((p.threads, p.depth));
            }
        }
        keys.sort_by_key(|&(t, d)| (d, t));
        for (threads, depth) in keys {
            let at = |policy| {
                r.points.iter().find(|p| {
                    p.command == cmd
                        && p.mode == mode
                        && p.fw_latency_us == fw
                        && p.policy == policy
                        && p.threads == threads
                        && p.depth == depth
                })
            };
            let c: Option<&Comparison> = r.comparisons.iter().find(|c| {
                c.command == cmd
                    && c.mode == mode
                    && c.fw_latency_us == fw
                    && c.threads == threads
                    && c.depth == depth
            });
            let alone = r
                .alone
                .iter()
                .find(|a| a.command == cmd && a.depth == depth && a.fw_latency_us == fw);
            let same = r.alone_same_threads.iter().find(|a| {
                a.command == cmd
                    && a.threads == threads
                    && a.depth == depth
                    && a.fw_latency_us == fw
            });
            row(
                out,
                threads,
                depth,
                [
                    at(PolicyKind::LockFree),
                    at(PolicyKind::Mutex),
                    at(PolicyKind::Kernel),
                ],
                [alone.map(|a| a.spread), same.map(|a| a.spread)],
                c,
            )?;
        }
    }
    writeln!(
        out,
        "(* depth capped: one thread cannot hold more than the 31 regular slots; [min-max] = slowest and fastest of the repeats, the figure before it their median; \
         CPU = the whole process's CPU time per command in the window (the embedded model's firmware threads in parentheses; the rest is the driver's and the bench's threads, with the model's doorbell emulation); cs = context switches per command, all threads; \
         LF = lock-free; kernel = the kernel's design (one dispatcher thread, semaphore, a completion per command); p50 ratio = LF median latency / kernel's; \
         alone = the device alone at that depth; overhead = 1/LF - 1/alone per command; \
         alone same thr = the device alone with the point's threads, each on its own slots (polling, 2+ threads; a diagnostic: the targets are judged against alone))"
    )?;
    for (points, title) in [
        (&r.alone, "device alone (no driver: prebuilt entries, one thread)"),
        (
            &r.alone_events,
            "device alone, events mode (no driver: completions found through the EQ, sleeping on the MSI-X eventfd when idle)",
        ),
        (
            &r.alone_same_threads,
            "device alone, same threads (no driver: each thread keeps its share of the depth on its own slots)",
        ),
    ] {
        if points.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title}")?;
        writeln!(
            out,
            "command                        fw us thr depth   kcmd/s [min-max]          p50     p99   p99.9     max (us)  CPU us/cmd (model) cs/cmd"
        )?;
        for a in points {
            writeln!(
                out,
                "{:<30} {:>5} {:>3} {:>5} {:>8.1} {:<18} {:>7.2} {:>7.2} {:>7.2} {:>8.1}  {}",
                a.command.label(),
                a.fw_latency_us,
                a.threads,
                a.depth,
                a.commands_per_sec / 1000.0,
                range(a.spread),
                us(a.latency.p50_ns),
                us(a.latency.p99_ns),
                us(a.latency.p999_ns),
                us(a.latency.max_ns),
                cpu_cell(a.cpu)
            )?;
        }
    }
    if !r.depth1.is_empty() {
        writeln!(out)?;
        writeln!(out, "depth 1, one thread (lock-free): median latency")?;
        for d in &r.depth1 {
            writeln!(
                out,
                "  {:<30} {:<8} fw {:>5} us {:>8.2} us = {:>6} x ping-pong, {:>6} x device alone; the driver adds {:>6} x ping-pong",
                d.command.label(),
                d.mode.label(),
                d.fw_latency_us,
                us(d.p50_ns),
                opt(Some(d.rtt_multiple), 6, 1),
                opt(d.alone_multiple, 6, 2),
                opt(d.added_rtt_multiple, 6, 1)
            )?;
        }
    }
    if let Some(mem) = &r.memory {
        writeln!(out)?;
        writeln!(
            out,
            "memory: probed device {:.2} MiB resident without the firmware page pool; the pool {:.2} MiB \
             (pinned at probe; {} pages given to firmware); process {:.2} -> {:.2} MiB over the probe; \
             {:.2} MiB of DMA memory mapped",
            mib(mem.probed_device_bytes),
            mib(mem.fw_page_pool_bytes),
            mem.fw_pages_given,
            mib(mem.rss_before_probe),
            mib(mem.rss_after_probe),
            mib(mem.dma_mapped_bytes)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "targets")?;
    let same = analyze::same_threads(&r.comparisons);
    for t in &r.targets {
        let verdict = match t.met {
            Some(true) => "MET   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        writeln!(
            out,
            "  {verdict} {} ({}): worst {}",
            t.name,
            t.goal,
            opt(t.worst, 0, 2)
        )?;
        if t.name == analyze::EVERY_POLLING_POINT && !same.is_empty() {
            writeln!(
                out,
                "         per point with 2+ threads, polling / device alone, and / device alone with the same threads (diagnostic, not the target): {}",
                same.iter()
                    .map(|(l, one, thr)| format!("{l}: {}, {thr:.2}", opt(*one, 0, 2)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
        }
    }
    Ok(())
}

/// "[min-max]" of a spread, in kcmd/s.
fn range(s: Spread) -> String {
    if s.runs == 0 {
        return String::new();
    }
    // Whole thousands, except below 10 k/s, where that would round to 0-9.
    let k = |v: f64| {
        let k = v / 1000.0;
        if k < 10.0 {
            format!("{k:.1}")
        } else {
            format!("{k:.0}")
        }
    };
    format!("[{}-{}]", k(s.min), k(s.max))
}

/// "process (model)" CPU per command, in us.
fn cpu_cell(c: Option<CpuPerCmd>) -> String {
    match c {
        Some(c) => format!(
            "{:.2} ({}) {}",
            c.process_ns / 1000.0,
            c.model_ns
                .map_or_else(|| "-".to_string(), |m| format!("{:.2}", m / 1000.0)),
            c.switches
                .map_or_else(|| "-".to_string(), |s| format!("{s:.2}"))
        ),
        None => "-".to_string(),
    }
}

/// The whole process's CPU per command of `p`, in us.
fn process_us(p: Option<&Point>) -> Option<f64> {
    p.and_then(|p| p.cpu).map(|c| c.process_ns / 1000.0)
}

fn kcps(p: Option<&Point>, width: usize) -> String {
    match p {
        Some(p) => format!(
            "{:>w$}",
            format!("{:.1} {}", p.commands_per_sec / 1000.0, range(p.spread)),
            w = width
        ),
        None => format!("{:>width$}", "-"),
    }
}

/// A device-alone figure and its spread, in kcmd/s.
fn alone_cell(cps: Option<f64>, spread: Option<Spread>) -> String {
    match (cps, spread) {
        (Some(v), Some(s)) => format!("{:.1} {}", v / 1000.0, range(s)),
        _ => "-".to_string(),
    }
}

fn row(
    out: &mut dyn Write,
    threads: u32,
    depth: u32,
    [lf, mutex, kernel]: [Option<&Point>; 3],
    [alone, same]: [Option<Spread>; 2],
    c: Option<&Comparison>,
) -> std::io::Result<()> {
    let capped = lf
        .or(mutex)
        .or(kernel)
        .is_some_and(|p| p.effective_depth != p.depth);
    let depth = if capped {
        format!("{depth}*")
    } else {
        format!("{depth}")
    };
    let lat = |f: fn(&Point) -> u64| opt(lf.map(|p| us(f(p))), 6, 1);
    let cpu = format!("{:>25}", cpu_cell(lf.and_then(|p| p.cpu)));
    writeln!(
        out,
        "{:>3} {:>5} | {:>26} {} {} {} {:>7}  {} | {:>22} {:>6} {:>9} | {:>23} {:>9} {:>6} {:>10} {:>9} | {:>22} {:>9} {:>16} | {:>31} {:>8}",
        threads,
        depth,
        kcps(lf, 26),
        lat(|p| p.latency.p50_ns),
        lat(|p| p.latency.p99_ns),
        lat(|p| p.latency.p999_ns),
        opt(lf.map(|p| us(p.latency.max_ns)), 7, 1),
        cpu,
        kcps(mutex, 22),
        opt(process_us(mutex), 6, 2),
        opt(c.and_then(|c| c.lock_free_over_mutex), 9, 2),
        kcps(kernel, 23),
        opt(kernel.map(|p| us(p.latency.p50_ns)), 9, 1),
        opt(process_us(kernel), 6, 2),
        opt(c.and_then(|c| c.lock_free_over_kernel), 10, 2),
        opt(c.and_then(|c| c.p50_over_kernel), 9, 2),
        alone_cell(c.and_then(|c| c.alone_cps), alone),
        opt(c.and_then(|c| c.fraction_of_alone), 9, 2),
        opt(c.and_then(|c| c.overhead_ns), 16, 0),
        alone_cell(c.and_then(|c| c.alone_same_threads_cps), same),
        opt(c.and_then(|c| c.fraction_of_alone_same_threads), 8, 2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_prints_as_its_slowest_and_fastest_run() {
        let s = Spread::of([480_000.0, 120_400.0, 300_000.0], 300_000.0);
        assert_eq!(
            (s.min, s.median, s.max, s.runs),
            (120_400.0, 300_000.0, 480_000.0, 3)
        );
        assert_eq!(range(s), "[120-480]");
        // Below 10 k/s whole thousands would read 0-9.
        assert_eq!(range(Spread::of([400.0, 5_250.0], 400.0)), "[0.4-5.2]");
        assert_eq!(range(Spread::of([], 0.0)), "", "no repeats, no range");
    }
}
