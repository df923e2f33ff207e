//! CPU time and context switches over a measured window: the whole process's
//! CPU (every thread, exited ones included: `CLOCK_PROCESS_CPUTIME_ID`, the
//! figure `getrusage(RUSAGE_SELF)` gives at clock-tick resolution), and from
//! `/proc/self/task/*` the embedded model's firmware threads' CPU (`cxu-fw-*`,
//! `schedstat`; the model runs in this process too) and every thread's
//! context switches (`status`). What is left of the CPU is the driver's and
//! the bench's own threads, and the model's doorbell emulation, which runs on
//! the submitting thread (an MMIO write to the in-process model is a function
//! call).

use serde::Serialize;

/// Name prefix of the model's firmware threads (workers and timer).
const MODEL_THREADS: &str = "cxu-fw";

/// One thread's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ThreadStat {
    tid: u32,
    /// Time on the CPU, ns, if a model thread (0 for the others).
    model_ns: u64,
    /// Voluntary and involuntary context switches.
    switches: u64,
}

/// The clocks at one instant.
#[derive(Debug, Clone)]
pub(crate) struct CpuSample {
    process_ns: u64,
    /// Every thread's counters by thread id (sorted), where `/proc` says.
    threads: Option<Vec<ThreadStat>>,
}

/// CPU time and context switches between two samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuUse {
    /// CPU of every thread of the process, ns.
    pub process_ns: u64,
    /// CPU of the model's firmware threads, ns, where `/proc` says.
    pub model_ns: Option<u64>,
    /// Context switches of every thread, where `/proc` says.
    pub switches: Option<u64>,
}

fn process_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec).unwrap_or(0))
}

/// The counters at a window's start: `/proc` first (reading it takes a
/// while, on this thread's CPU), the process clock last, at the edge.
pub(crate) fn sample() -> CpuSample {
    let threads = thread_stats();
    CpuSample {
        process_ns: process_ns(),
        threads,
    }
}

/// The counters at a window's end: the process clock first, at the edge.
pub(crate) fn sample_end() -> CpuSample {
    let process_ns = process_ns();
    CpuSample {
        process_ns,
        threads: thread_stats(),
    }
}

impl CpuSample {
    /// What was spent since `earlier`.
    ///
    /// A thread counts what it did in between: all of it if it started in
    /// between, nothing if it ended in between (a model dropped mid-window:
    /// another test's, in a test run), so no sum goes backwards.
    pub(crate) fn since(&self, earlier: &CpuSample) -> Option<CpuUse> {
        let (model_ns, switches) = match (&self.threads, &earlier.threads) {
            (Some(now), Some(then)) => {
                let (mut model, mut switches) = (0u64, 0u64);
                for t in now {
                    match then.binary_search_by_key(&t.tid, |x| x.tid) {
                        Ok(i) => {
                            model += t.model_ns.saturating_sub(then[i].model_ns);
                            switches += t.switches.saturating_sub(then[i].switches);
                        }
                        Err(_) => {
                            model += t.model_ns;
                            switches += t.switches;
                        }
                    }
                }
                (Some(model), Some(switches))
            }
            _ => (None, None),
        };
        Some(CpuUse {
            process_ns: self.process_ns.checked_sub(earlier.process_ns)?,
            model_ns,
            switches,
        })
    }
}

/// Every thread's counters now, by thread id.
fn thread_stats() -> Option<Vec<ThreadStat>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let Some(tid) = t.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let dir = t.path();
        // A thread may exit between the reads: it then counts nothing.
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let model = status_field(&status, "Name:").is_some_and(|n| n.starts_with(MODEL_THREADS));
        let model_ns = if model {
            std::fs::read_to_string(dir.join("schedstat"))
                .ok()
                .and_then(|s| run_ns(&s))
                .unwrap_or(0)
        } else {
            0
        };
        out.push(ThreadStat {
            tid,
            model_ns,
            switches: switches(&status).unwrap_or(0),
        });
    }
    out.sort_unstable();
    Some(out)
}

/// The value of `name` in a `status` file.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
}

/// Voluntary plus involuntary context switches from a `status` file.
fn switches(status: &str) -> Option<u64> {
    let v: u64 = status_field(status, "voluntary_ctxt_switches:")?
        .parse()
        .ok()?;
    let n: u64 = status_field(status, "nonvoluntary_ctxt_switches:")?
        .parse()
        .ok()?;
    Some(v + n)
}

/// The time on the CPU from a `schedstat` line ("run wait slices").
fn run_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_run_time_is_its_first_field() {
        assert_eq!(run_ns("140454758 397282707 59\n"), Some(140_454_758));
        assert_eq!(run_ns(""), None);
        assert_eq!(run_ns("x 1 2"), None);
    }

    #[test]
    fn status_gives_the_name_and_both_kinds_of_switches() {
        let s = "Name:\tcxu-fw-3\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(status_field(s, "Name:"), Some("cxu-fw-3"));
        assert_eq!(switches(s), Some(127));
        assert_eq!(switches("Name:\tx\n"), None);
    }

    /// The process clock counts this thread's spinning; sleeping counts a
    /// context switch; a drop is not a negative use.
    #[test]
    fn burning_cpu_and_sleeping_show_in_the_counters() {
        let a = sample();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        let b = sample_end();
        let used = b.since(&a).expect("the process clock only grows");
        assert!(used.process_ns > 0, "{used:?}");
        if cfg!(target_os = "linux") {
            assert!(used.model_ns.is_some(), "/proc/self/task is readable");
            assert!(used.switches.is_some_and(|s| s >= 1), "{used:?}");
        }
        let fake_later = CpuSample {
            process_ns: 5,
            threads: None,
        };
        let fake_earlier = CpuSample {
            process_ns: 9,
            threads: Some(Vec::new()),
        };
        assert_eq!(fake_later.since(&fake_earlier), None);
        assert_eq!(
            fake_earlier.since(&fake_later),
            Some(CpuUse {
                process_ns: 4,
                model_ns: None,
                switches: None,
            })
        );
    }

    /// Per thread: a thread alive at both ends counts its difference, one
    /// started in between all of it, one gone by the end nothing (so a model
    /// dropped mid-window cannot make a sum go backwards).
    #[test]
    fn counters_are_summed_per_thread() {
        let t = |tid, model_ns, switches| ThreadStat {
            tid,
            model_ns,
            switches,
        };
        let then = CpuSample {
            process_ns: 0,
            threads: Some(vec![t(10, 100, 3), t(11, 5_000, 900), t(12, 50, 0)]),
        };
        let now = CpuSample {
            process_ns: 1,
            threads: Some(vec![t(10, 160, 5), t(12, 70, 1), t(13, 7, 4)]),
        };
        let used = now.since(&then).unwrap();
        assert_eq!(used.model_ns, Some(60 + 20 + 7));
        assert_eq!(used.switches, Some(2 + 1 + 4));
    }
}
