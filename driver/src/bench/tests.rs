//! A whole (short) run on the embedded model, and the command line.

use super::*;

fn quick(dir: &std::path::Path) -> BenchOpts {
    BenchOpts {
        pci: None,
        depths: vec![1, 4],
        threads: vec![1, 2],
        modes: vec![ModeKind::Polling, ModeKind::Events],
        commands: vec![CommandKind::Nop, CommandKind::QueryHcaCap],
        policies: vec![PolicyKind::LockFree, PolicyKind::Mutex],
        no_alone: false,
        no_ping_pong: false,
        warmup_ms: 5,
        duration_ms: 100,
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
    // 2 commands x 2 modes x (depth 1: 1 thread; depth 4: 1 and 2) x 2 policies.
    assert_eq!(r.points.len(), 2 * 2 * 3 * 2);
    let shown = String::from_utf8_lossy(&table).to_string();
    for p in &r.points {
        // Every completion in the window is one latency sample, and the rate
        // is the count over a window of at least the 100 ms asked for.
        assert_eq!(p.latency.samples, p.completed, "{p:?}");
        assert!(
            p.commands_per_sec <= p.completed as f64 / 0.1 + 1e-6,
            "{p:?}"
        );
        if p.completed > 0 {
            assert!(
                p.latency.p50_ns > 0 && p.latency.max_ns >= p.latency.p999_ns,
                "{p:?}"
            );
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
    assert_eq!(r.comparisons.len(), r.points.len() / 2);
    assert!(r
        .comparisons
        .iter()
        .all(|c| c.lock_free_over_mutex.is_some() && c.fraction_of_alone.is_some()));
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
    assert_eq!(r.targets.len(), 6);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&opts.json).unwrap()).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), r.points.len());
    assert_eq!(json["points"][0]["mode"], "polling");
    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);

    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("NOP, polling mode"), "{table}");
    assert!(
        table.contains("QUERY_HCA_CAP (8 out blocks), events mode"),
        "{table}"
    );
    assert!(table.contains("targets"), "{table}");

    let svg = std::fs::read_to_string(&opts.plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One line per policy, mode and thread count, plus the device alone, per command.
    assert_eq!(svg.matches("<polyline").count(), 2 * (2 * 2 * 2 + 1));
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
    let d = BenchOpts::try_parse_from(["bench"]).unwrap();
    assert_eq!(d.depths, vec![1, 2, 4, 8, 16, 32]);
    assert_eq!(d.threads, vec![1, 2, 4]);

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
