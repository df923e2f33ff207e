//! A whole (short) run on the embedded model, and the command line.

use super::*;

fn quick(dir: &std::path::Path) -> BenchOpts {
    BenchOpts {
        pci: None,
        depths: vec![1, 4],
        threads: vec![1, 2],
        modes: vec![ModeKind::Polling, ModeKind::Events],
        commands: vec![CommandKind::Nop, CommandKind::QueryHcaCap],
        policies: vec![PolicyKind::LockFree, PolicyKind::Mutex, PolicyKind::Kernel],
        fw_latency: vec![Duration::ZERO],
        no_alone: false,
        no_ping_pong: false,
        warmup_ms: 5,
        duration_ms: 60,
        repeat: 1,
        model_workers: None,
        json: dir.join("b.json"),
        plot: dir.join("b.svg"),
    }
}

/// Every point runs and completes commands; the JSON, the table and the plot
/// hold them all, with the ratios filled in wherever both sides were measured.
#[test]
fn a_short_run_measures_every_point_and_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = quick(dir.path());
    let mut table = Vec::new();
    let r = run(&opts, &mut table).expect("bench run");
    // 2 commands x 2 modes x (depth 1: 1 thread; depth 4: 1 and 2) x 3 policies.
    assert_eq!(r.points.len(), 2 * 2 * 3 * 3);
    let shown = String::from_utf8_lossy(&table).to_string();
    for p in &r.points {
        // Every completion in the window is one latency sample, and the rate
        // is the count over a window of at least the 60 ms asked for.
        assert_eq!(p.latency.samples, p.completed, "{p:?}");
        assert!(
            p.commands_per_sec <= p.completed as f64 / 0.06 + 1e-6,
            "{p:?}"
        );
        // One run: its spread is itself.
        assert_eq!(p.spread.runs, 1, "{p:?}");
        assert_eq!(
            (p.spread.min, p.spread.max),
            (p.commands_per_sec, p.commands_per_sec)
        );
        if p.completed > 0 {
            assert!(
                p.latency.p50_ns > 0 && p.latency.max_ns >= p.latency.p999_ns,
                "{p:?}"
            );
            // Commands were completed, so the process spent CPU on them, and
            // the model's firmware threads some of it.
            let cpu = p.cpu.expect("CPU per command");
            assert!(cpu.process_ns > 0.0, "{p:?}");
            if cfg!(target_os = "linux") {
                let (model, driver) = (cpu.model_ns.unwrap(), cpu.driver_ns.unwrap());
                assert!(model > 0.0 && driver <= cpu.process_ns, "{p:?}");
                assert!(cpu.switches.is_some(), "{p:?}");
            }
        }
    }
    // Each variant made progress (a single point may see none in its 100 ms
    // window on a machine loaded enough to stall one command that long).
    for p in &r.points {
        let done: u64 = r
            .points
            .iter()
            .filter(|q| q.command == p.command && q.mode == p.mode && q.policy == p.policy)
            .map(|q| q.completed)
            .sum();
        assert!(
            done > 0,
            "{:?} {:?} {:?} never completed: {shown}",
            p.command,
            p.mode,
            p.policy
        );
    }
    assert!(
        !r.points.iter().any(|p| p.depth == 1 && p.threads == 2),
        "depth < threads is skipped"
    );
    assert_eq!(r.alone.len(), 2 * 2);
    assert!(r.alone.iter().all(|a| a.commands_per_sec > 0.0));
    // And in events mode: completions found through its own EQ.
    assert_eq!(r.alone_events.len(), 2 * 2);
    assert!(
        r.alone_events.iter().all(|a| a.commands_per_sec > 0.0),
        "{:?}",
        r.alone_events
    );
    assert!(shown.contains("device alone, events mode"), "{shown}");
    // Beside each polling point with 2+ threads (depth 4, 2 threads, per
    // command): the device alone with as many threads, and the ratio to it.
    assert_eq!(r.alone_same_threads.len(), 2, "{:?}", r.alone_same_threads);
    for a in &r.alone_same_threads {
        assert_eq!((a.threads, a.depth, a.spread.runs), (2, 4, 1), "{a:?}");
        assert!(a.commands_per_sec > 0.0, "{a:?}");
    }
    for c in &r.comparisons {
        let same = c.mode == ModeKind::Polling && c.threads == 2;
        assert_eq!(c.fraction_of_alone_same_threads.is_some(), same, "{c:?}");
    }
    assert!(shown.contains("device alone, same threads"), "{shown}");
    assert!(
        shown.contains(
            "device alone with the same threads (diagnostic, not the target): NOP fw 0us 2thr d4: "
        ),
        "{shown}"
    );
    // The device alone's CPU covers its whole run: it completed commands.
    assert!(
        r.alone
            .iter()
            .all(|a| a.cpu.is_some_and(|c| c.process_ns > 0.0)),
        "{shown}"
    );
    assert_eq!(r.comparisons.len(), r.points.len() / 3);
    // Every lock-free point found its baselines (a ratio is left out only
    // where a side completed nothing in its window).
    assert!(
        r.comparisons
            .iter()
            .all(|c| c.mutex_cps.is_some() && c.kernel_cps.is_some() && c.alone_cps.is_some()),
        "{shown}"
    );
    assert_eq!(r.depth1.len(), 2 * 2, "per command and mode");
    let pp = r.ping_pong.expect("ping-pong measured");
    assert!(pp.used_ns > 0 && pp.used_ns <= pp.before_ns.min(pp.after_ns));
    let mem = r.memory.as_ref().expect("memory of the first probe");
    assert!(
        mem.rss_after_probe > mem.rss_before_probe && mem.fw_pages_given > 0,
        "{mem:?}"
    );
    assert!(
        mem.fw_page_pool_bytes >= mem.fw_pages_given * 4096,
        "{mem:?}"
    );
    assert_eq!(r.targets.len(), 13);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&opts.json).unwrap()).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), r.points.len());
    assert_eq!(json["points"][0]["mode"], "polling");
    assert_eq!(json["alone_same_threads"][0]["threads"], 2);
    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);

    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("NOP, polling mode, firmware latency 0 us"),
        "{table}"
    );
    assert!(
        table.contains("QUERY_HCA_CAP (8 out blocks), events mode"),
        "{table}"
    );
    assert!(table.contains("kernel kcmd/s [min-max]"), "{table}");
    assert!(table.contains("targets"), "{table}");

    let svg = std::fs::read_to_string(&opts.plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One line per policy, mode and thread count, plus the device alone, per command.
    assert_eq!(svg.matches("<polyline").count(), 2 * (3 * 2 * 2 + 1));
}

/// A firmware-latency sweep: every latency gets its own points, the model
/// really takes that long (a lower bound, so no clock can make it flaky), and
/// each point reports the spread of its repeats.
/// More threads than regular slots (the driver's threads then wait for a
/// slot): the point runs, and the same-threads device alone, which needs a
/// slot per thread, is left out instead of stopping the sweep.
#[test]
fn more_threads_than_slots_run_without_the_same_threads_alone() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BenchOpts {
        depths: vec![32],
        threads: vec![2, 32],
        modes: vec![ModeKind::Polling],
        commands: vec![CommandKind::Nop],
        policies: vec![PolicyKind::LockFree],
        no_ping_pong: true,
        duration_ms: 20,
        ..quick(dir.path())
    };
    let r = run(&opts, &mut Vec::new()).expect("bench run");
    assert!(r.points.iter().any(|p| p.threads == 32 && p.completed > 0));
    let same: Vec<u32> = r.alone_same_threads.iter().map(|a| a.threads).collect();
    assert_eq!(same, vec![2]);
}

#[test]
fn a_firmware_latency_sweep_measures_each_latency_with_its_spread() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BenchOpts {
        depths: vec![1, 4],
        threads: vec![1],
        modes: vec![ModeKind::Events],
        commands: vec![CommandKind::Nop],
        policies: vec![PolicyKind::LockFree, PolicyKind::Kernel],
        fw_latency: vec![Duration::ZERO, Duration::from_millis(5)],
        no_ping_pong: true,
        duration_ms: 40,
        repeat: 2,
        ..quick(dir.path())
    };
    let mut table = Vec::new();
    let r = run(&opts, &mut table).expect("bench run");
    assert_eq!(r.fw_latencies_us, vec![0, 5000]);
    assert_eq!(r.points.len(), 2 * 2 * 2, "latencies x depths x policies");
    assert_eq!(r.alone.len(), 2 * 2);
    for p in &r.points {
        assert_eq!(p.spread.runs, 2, "{p:?}");
        assert!(
            p.spread.min <= p.spread.median && p.spread.median <= p.spread.max,
            "{p:?}"
        );
        assert_eq!(
            p.spread.median, p.commands_per_sec,
            "the median run is the one kept"
        );
        if p.fw_latency_us == 5000 && p.completed > 0 {
            assert!(p.latency.p50_ns >= 5_000_000, "{p:?}");
        }
    }
    for a in r.alone.iter().filter(|a| a.fw_latency_us == 5000) {
        // A 40 ms window on a loaded machine may see no 5 ms command end
        // inside it (then there is no median to check, only the runs).
        if a.latency.samples > 0 {
            assert!(a.latency.p50_ns >= 5_000_000, "{a:?}");
        }
        assert_eq!(a.spread.runs, 2);
    }
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("NOP, events mode, firmware latency 5000 us"),
        "{table}"
    );
    let svg = std::fs::read_to_string(&opts.plot).unwrap();
    assert!(
        svg.contains("NOP, firmware 5000 us"),
        "one panel per latency"
    );
}

/// Runs the kernel design on `mode` with the model's NOP taking `fw`, and
/// returns the most regular slots seen busy at once, and the commands done.
fn kernel_design_concurrency(mode: ModeKind, fw: Duration) -> (u32, u64) {
    let f = model(None);
    set_fw_latency(&f.control(), fw);
    let (v, _) = probe(
        f.clone(),
        Some(f.control()),
        PolicyKind::Kernel,
        mode,
        false,
    )
    .unwrap();
    let w = CommandKind::Nop.workload();
    let win = Window {
        warmup: Duration::from_millis(5),
        measure: Duration::from_millis(200),
    };
    let (most, m) = v
        .device
        .with_queue(|q| {
            let regular = (1u32 << q.regular_slots()) - 1;
            let stop = std::sync::atomic::AtomicBool::new(false);
            Ok(std::thread::scope(|s| {
                let watcher = s.spawn(|| {
                    let mut most = 0;
                    while !stop.load(std::sync::atomic::Ordering::Acquire) {
                        most = most.max((q.snapshot().busy & regular).count_ones());
                        std::thread::yield_now();
                    }
                    most
                });
                let m = kernel::run(q, &w, 2, 4, win, "kernel test");
                stop.store(true, std::sync::atomic::Ordering::Release);
                (watcher.join().unwrap(), m)
            }))
        })
        .unwrap();
    let m = m.expect("the kernel design runs");
    remove(v).unwrap();
    (most, m.completed)
}

/// The kernel's polling mode runs one command at a time, whatever the depth
/// asked for: its one worker polls each command to completion.
#[test]
fn the_kernel_design_polls_one_command_at_a_time() {
    let (most, done) = kernel_design_concurrency(ModeKind::Polling, Duration::from_millis(2));
    assert!(most <= 1, "{most} slots busy at once");
    assert!(done > 0);
}

/// In events mode its worker posts and moves on: with firmware taking 20 ms,
/// the 4 commands asked for overlap in the device.
#[test]
fn the_kernel_design_keeps_several_commands_in_flight_in_events_mode() {
    let (most, done) = kernel_design_concurrency(ModeKind::Events, Duration::from_millis(20));
    assert!(most >= 2, "only {most} slot(s) busy at once");
    assert!(done > 0);
}

/// A dead device fails the kernel design's commands in the dispatcher (the
/// semaphore unit goes back, the waiter wakes with the error): the run
/// returns the error instead of hanging, in both modes.
#[test]
fn the_kernel_design_reports_a_dead_device_instead_of_hanging() {
    for mode in [ModeKind::Polling, ModeKind::Events] {
        let f = model(None);
        let (v, _) = probe(
            f.clone(),
            Some(f.control()),
            PolicyKind::Kernel,
            mode,
            false,
        )
        .unwrap();
        let w = CommandKind::Nop.workload();
        let win = Window {
            warmup: Duration::from_millis(5),
            measure: Duration::from_millis(20),
        };
        let r = v
            .device
            .with_queue(|q| {
                q.fail(cxu_driver::error::FatalCause::PciDead);
                Ok(kernel::run(q, &w, 2, 8, win, "dead device"))
            })
            .unwrap();
        assert!(
            matches!(r, Err(BenchError::Command { .. })),
            "{mode:?}: {:?}",
            r.map(|m| m.completed)
        );
    }
}

/// The device alone with the driver's thread structure: each thread keeps
/// only its own slots busy, and every command posted is completed. Each
/// slot's NOP carries its own op_mod, which the model counts per op_mod as it
/// answers: a thread's completions must be exactly the model's answers on its
/// slots, and no other slot (nor any doorbell bit the model had to ignore)
/// may show up.
#[test]
fn the_device_alone_with_threads_keeps_each_to_its_own_slots() {
    use cxu_hal::ifc::InHeader;
    let f = model(None);
    let ctl = f.control();
    let a = DeviceAlone::open(f.clone()).expect("device alone");
    let shares = [3, 2, 2, 1];
    let tag = |slot: u32| 100 + slot as u16;
    for slot in 0..shares.iter().sum() {
        let mut msg = nop_in().to_vec();
        InHeader::new(Opcode::NOP, tag(slot))
            .encode_into(&mut msg)
            .unwrap();
        let w = Workload {
            opcode: Opcode::NOP,
            msg,
            outlen: 16,
        };
        a.write_entry(slot, &w).unwrap();
    }
    let ignored = ctl.counters().doorbell_bits_ignored;
    let win = Window {
        warmup: Duration::from_millis(5),
        measure: Duration::from_millis(50),
    };
    let runs = a.submitters(&shares, win, Opcode::NOP).expect("run");
    let nops = ctl.history().nops_by_op_mod;
    let answered = |slot: u32| nops.get(&tag(slot)).copied().unwrap_or(0);
    assert_eq!(runs.len(), shares.len());
    let mut first = 0;
    for (run, &n) in runs.iter().zip(&shares) {
        let mine = first..first + n;
        assert_eq!(run.all, mine.clone().map(answered).sum::<u64>(), "{nops:?}");
        assert!(mine.clone().all(|s| answered(s) > 0), "{nops:?}");
        first += n;
    }
    assert!(
        nops.keys().all(|k| (tag(0)..tag(first)).contains(k)),
        "no other slot: {nops:?}"
    );
    assert_eq!(ctl.counters().doorbell_bits_ignored, ignored);
}

#[test]
fn firmware_latencies_parse_with_units() {
    assert_eq!(parse_latency("0"), Ok(Duration::ZERO));
    assert_eq!(parse_latency("10us"), Ok(Duration::from_micros(10)));
    assert_eq!(parse_latency("100"), Ok(Duration::from_micros(100)));
    assert_eq!(parse_latency("1ms"), Ok(Duration::from_millis(1)));
    assert_eq!(parse_latency("2s"), Ok(Duration::from_secs(2)));
    assert!(parse_latency("1h").is_err());
    assert!(parse_latency("ms").is_err());
    assert!(parse_latency("-1us").is_err());
}

#[test]
fn the_median_run_is_kept() {
    let runs = [3.0, 1.0, 7.0, 2.0, 9.0];
    assert_eq!(median(&runs, |x| *x), Some(3.0));
    assert_eq!(
        median(&[4.0, 8.0], |x| *x),
        Some(8.0),
        "upper median of two"
    );
    assert_eq!(median::<f64>(&[], |x| *x), None);
}

#[test]
fn the_command_line_parses_lists_and_refuses_nonsense() {
    use clap::Parser;
    let o = BenchOpts::try_parse_from([
        "bench",
        "--depths",
        "1,32",
        "--threads",
        "2",
        "--modes",
        "events",
        "--commands",
        "query-hca-cap",
        "--policies",
        "mutex,lock-free",
    ])
    .unwrap();
    assert_eq!(o.depths, vec![1, 32]);
    assert_eq!(o.modes, vec![ModeKind::Events]);
    assert_eq!(o.commands, vec![CommandKind::QueryHcaCap]);
    assert_eq!(o.policies, vec![PolicyKind::Mutex, PolicyKind::LockFree]);
    assert_eq!(variants(&o)[0], (PolicyKind::LockFree, ModeKind::Events));
    // What the help shows as the default (`1 2 4 8 16 32`) is accepted too:
    // space-separated, and mixed with commas (issue 16 item 11).
    let o = BenchOpts::try_parse_from([
        "bench",
        "--depths",
        "1",
        "32",
        "--threads",
        "1,2",
        "4",
        "--modes",
        "polling",
        "events",
        "--fw-latency",
        "0",
        "10us",
    ])
    .unwrap();
    assert_eq!(o.depths, vec![1, 32]);
    assert_eq!(o.threads, vec![1, 2, 4]);
    assert_eq!(o.modes, vec![ModeKind::Polling, ModeKind::Events]);
    assert_eq!(
        o.fw_latency,
        vec![Duration::ZERO, Duration::from_micros(10)]
    );
    let d = BenchOpts::try_parse_from(["bench"]).unwrap();
    assert_eq!(d.depths, vec![1, 2, 4, 8, 16, 32]);
    assert_eq!(d.threads, vec![1, 2, 4]);
    assert_eq!(d.fw_latency, vec![Duration::ZERO]);
    assert_eq!(
        d.policies.len(),
        3,
        "lock-free, mutex and kernel by default"
    );
    let s = BenchOpts::try_parse_from(["bench", "--fw-latency", "0,10us,100us,1ms"]).unwrap();
    assert_eq!(
        s.fw_latency,
        [0, 10, 100, 1000].map(Duration::from_micros).to_vec()
    );

    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        cli(
            &args(&["bench", "--modes", "sometimes"]),
            None,
            &mut out,
            &mut err
        ),
        2
    );
    err.clear();
    assert_eq!(
        cli(
            &args(&["bench", "--depths", "1", "--threads", "4"]),
            None,
            &mut out,
            &mut err
        ),
        2
    );
    assert!(String::from_utf8_lossy(&err).contains("nothing to run"));
    err.clear();
    assert_eq!(
        cli(
            &args(&["bench", "--pci", "0000:03:00.0", "--fw-latency", "1ms"]),
            None,
            &mut out,
            &mut err
        ),
        2,
        "a real function's firmware latency is not ours to set"
    );
    assert!(out.is_empty(), "nothing ran");
    assert_eq!(
        cli(&args(&["bench", "--help"]), None, &mut out, &mut err),
        0
    );
    let help = String::from_utf8(out).unwrap();
    assert!(
        help.contains("Usage: cxu bench") && help.contains("--depths"),
        "{help}"
    );
}
