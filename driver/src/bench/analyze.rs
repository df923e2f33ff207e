//! Ratios and targets, computed from the measured points.

use super::report::{
    AlonePoint, CommandKind, Comparison, Depth1, ModeKind, Point, PolicyKind, Target,
};

/// The targets.
pub(crate) const MIN_OVER_MUTEX: f64 = 2.0;
pub(crate) const MIN_FRACTION_OF_ALONE: f64 = 0.8;
pub(crate) const MAX_RTT_MULTIPLE: f64 = 3.0;
/// The depth the throughput targets are set at.
pub(crate) const TARGET_DEPTH: u32 = 32;

fn find(
    points: &[Point],
    c: CommandKind,
    m: ModeKind,
    p: PolicyKind,
    threads: u32,
    depth: u32,
) -> Option<&Point> {
    points.iter().find(|x| {
        x.command == c && x.mode == m && x.policy == p && x.threads == threads && x.depth == depth
    })
}

/// Lock-free against the mutex baseline and the device alone, per lock-free point.
pub(crate) fn comparisons(points: &[Point], alone: &[AlonePoint]) -> Vec<Comparison> {
    points
        .iter()
        .filter(|p| p.policy == PolicyKind::LockFree)
        .map(|lf| {
            let mutex_cps = find(
                points,
                lf.command,
                lf.mode,
                PolicyKind::Mutex,
                lf.threads,
                lf.depth,
            )
            .map(|m| m.commands_per_sec);
            let alone_cps = alone
                .iter()
                .find(|a| a.command == lf.command && a.depth == lf.depth)
                .map(|a| a.commands_per_sec);
            let ratio =
                |den: Option<f64>| den.filter(|d| *d > 0.0).map(|d| lf.commands_per_sec / d);
            Comparison {
                command: lf.command,
                mode: lf.mode,
                threads: lf.threads,
                depth: lf.depth,
                lock_free_cps: lf.commands_per_sec,
                mutex_cps,
                lock_free_over_mutex: ratio(mutex_cps),
                alone_cps,
                fraction_of_alone: ratio(alone_cps),
                overhead_ns: alone_cps
                    .filter(|a| *a > 0.0 && lf.commands_per_sec > 0.0)
                    .map(|a| 1e9 / lf.commands_per_sec - 1e9 / a),
            }
        })
        .collect()
}

/// Depth-1, one-thread latency of the lock-free queue against the floors.
pub(crate) fn depth1(points: &[Point], alone: &[AlonePoint], rtt_ns: Option<u64>) -> Vec<Depth1> {
    points
        .iter()
        .filter(|p| p.policy == PolicyKind::LockFree && p.threads == 1 && p.depth == 1)
        .map(|p| {
            let alone_p50 = alone
                .iter()
                .find(|a| a.command == p.command && a.depth == 1)
                .map(|a| a.latency.p50_ns);
            Depth1 {
                command: p.command,
                mode: p.mode,
                p50_ns: p.latency.p50_ns,
                rtt_multiple: rtt_ns
                    .filter(|r| *r > 0)
                    .map_or(f64::NAN, |r| p.latency.p50_ns as f64 / r as f64),
                alone_p50_ns: alone_p50,
                alone_multiple: alone_p50
                    .filter(|a| *a > 0)
                    .map(|a| p.latency.p50_ns as f64 / a as f64),
                added_rtt_multiple: alone_p50
                    .zip(rtt_ns.filter(|r| *r > 0))
                    .map(|(a, r)| (p.latency.p50_ns as f64 - a as f64) / r as f64),
            }
        })
        .collect()
}

/// One target over `values` (label, value); met if every value passes.
fn target(
    name: String,
    goal: &str,
    values: Vec<(String, f64)>,
    pass: impl Fn(f64) -> bool,
    worst_is_max: bool,
) -> Target {
    let worst =
        values
            .iter()
            .map(|(_, v)| *v)
            .reduce(|a, b| if worst_is_max { a.max(b) } else { a.min(b) });
    Target {
        name,
        goal: goal.to_string(),
        met: (!values.is_empty()).then(|| values.iter().all(|(_, v)| pass(*v))),
        worst,
        detail: values
            .iter()
            .map(|(l, v)| format!("{l}: {v:.2}"))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The three targets, per completion mode for the throughput ones.
pub(crate) fn targets(cmp: &[Comparison], d1: &[Depth1]) -> Vec<Target> {
    let mut out = Vec::new();
    for mode in [ModeKind::Polling, ModeKind::Events] {
        let at32 = || {
            cmp.iter()
                .filter(move |c| c.mode == mode && c.depth == TARGET_DEPTH)
        };
        let label = |c: &Comparison| format!("{} {}thr", c.command.label(), c.threads);
        out.push(target(
            format!(
                "lock-free vs mutex, depth {TARGET_DEPTH}, 2+ threads, {}",
                mode.label()
            ),
            "lock-free throughput >= 2x the mutex baseline",
            at32()
                .filter(|c| c.threads >= 2)
                .filter_map(|c| c.lock_free_over_mutex.map(|r| (label(c), r)))
                .collect(),
            |r| r >= MIN_OVER_MUTEX,
            false,
        ));
        out.push(target(
            format!(
                "share of the device alone, depth {TARGET_DEPTH}, {}",
                mode.label()
            ),
            "lock-free throughput >= 80% of the device driven alone",
            at32()
                .filter_map(|c| c.fraction_of_alone.map(|f| (label(c), f)))
                .collect(),
            |f| f >= MIN_FRACTION_OF_ALONE,
            false,
        ));
    }
    out.push(target(
        "depth-1 latency, polling".to_string(),
        "median latency <= 3x the ping-pong round trip",
        d1.iter()
            .filter(|d| d.mode == ModeKind::Polling && d.rtt_multiple.is_finite())
            .map(|d| (d.command.label().to_string(), d.rtt_multiple))
            .collect(),
        |m| m <= MAX_RTT_MULTIPLE,
        true,
    ));
    // Not the wording but its intent where the device itself takes a
    // dozen round trips: the same bound on what the driver adds.
    out.push(target(
        "depth-1 latency the driver adds, polling".to_string(),
        "median latency minus the device alone's <= 3x the ping-pong round trip",
        d1.iter()
            .filter(|d| d.mode == ModeKind::Polling)
            .filter_map(|d| {
                d.added_rtt_multiple
                    .map(|m| (d.command.label().to_string(), m))
            })
            .collect(),
        |m| m <= MAX_RTT_MULTIPLE,
        true,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::latency::Latency;

    fn point(policy: PolicyKind, threads: u32, depth: u32, cps: f64, p50: u64) -> Point {
        Point {
            command: CommandKind::Nop,
            mode: ModeKind::Polling,
            policy,
            threads,
            depth,
            effective_depth: depth.min(31),
            completed: 1,
            commands_per_sec: cps,
            latency: Latency {
                p50_ns: p50,
                ..Latency::default()
            },
        }
    }

    fn alone(depth: u32, cps: f64, p50: u64) -> AlonePoint {
        AlonePoint {
            command: CommandKind::Nop,
            depth,
            effective_depth: depth.min(31),
            commands_per_sec: cps,
            latency: Latency {
                p50_ns: p50,
                ..Latency::default()
            },
        }
    }

    #[test]
    fn ratios_overhead_and_targets_from_known_points() {
        let points = vec![
            point(PolicyKind::LockFree, 2, 32, 400_000.0, 0),
            point(PolicyKind::Mutex, 2, 32, 100_000.0, 0),
            point(PolicyKind::LockFree, 1, 1, 100_000.0, 900),
        ];
        let al = vec![alone(32, 500_000.0, 0), alone(1, 200_000.0, 450)];
        let c = comparisons(&points, &al);
        assert_eq!(c.len(), 2, "one per lock-free point");
        let c32 = &c[0];
        assert_eq!(c32.lock_free_over_mutex, Some(4.0));
        assert_eq!(c32.fraction_of_alone, Some(0.8));
        // 1/400k s - 1/500k s = 2.5 us - 2 us.
        assert!((c32.overhead_ns.unwrap() - 500.0).abs() < 1e-6);
        assert_eq!(c[1].lock_free_over_mutex, None, "no mutex point at depth 1");

        let d = depth1(&points, &al, Some(300));
        assert_eq!(d.len(), 1);
        assert!((d[0].rtt_multiple - 3.0).abs() < 1e-9);
        assert_eq!(d[0].alone_multiple, Some(2.0));
        // (900 - 450) ns over a 300 ns round trip.
        assert_eq!(d[0].added_rtt_multiple, Some(1.5));

        let t = targets(&c, &d);
        let by = |n: &str| t.iter().find(|x| x.name.starts_with(n)).unwrap();
        let polling_mutex = t
            .iter()
            .find(|x| x.name.contains("mutex") && x.name.ends_with("polling"))
            .unwrap();
        assert_eq!(polling_mutex.met, Some(true));
        assert_eq!(polling_mutex.worst, Some(4.0));
        let events_mutex = t
            .iter()
            .find(|x| x.name.contains("mutex") && x.name.ends_with("events"))
            .unwrap();
        assert_eq!(events_mutex.met, None, "nothing measured in events mode");
        assert_eq!(by("depth-1 latency,").met, Some(true), "3.0 is within 3x");
        let added = by("depth-1 latency the driver adds");
        assert_eq!(added.met, Some(true), "1.5 is within 3x");
        assert_eq!(added.worst, Some(1.5));
    }

    #[test]
    fn a_miss_is_reported_with_the_worst_value() {
        let points = vec![
            point(PolicyKind::LockFree, 2, 32, 150_000.0, 0),
            point(PolicyKind::Mutex, 2, 32, 100_000.0, 0),
            point(PolicyKind::LockFree, 4, 32, 300_000.0, 0),
            point(PolicyKind::Mutex, 4, 32, 100_000.0, 0),
        ];
        let c = comparisons(&points, &[]);
        let t = targets(&c, &[]);
        let m = t
            .iter()
            .find(|x| x.name.contains("mutex") && x.name.ends_with("polling"))
            .unwrap();
        assert_eq!(m.met, Some(false));
        assert_eq!(m.worst, Some(1.5));
        assert!(m.detail.contains("NOP 2thr: 1.50") && m.detail.contains("NOP 4thr: 3.00"));
    }
}
