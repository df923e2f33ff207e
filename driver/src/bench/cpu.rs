//! CPU time over a measured window: the whole process (every thread, exited
//! ones included: `CLOCK_PROCESS_CPUTIME_ID`, the figure `getrusage(RUSAGE_SELF)`
//! gives at clock-tick resolution), and apart from it the embedded model's
//! firmware threads (`cxu-fw-*`, from `/proc/self/task/*/schedstat`), which
//! run in this process too. What is left is the driver's and the bench's own
//! threads, and the model's doorbell emulation, which runs on the submitting
//! thread (an MMIO write to the in-process model is a function call).

use serde::Serialize;

/// Name prefix of the model's firmware threads (workers and timer).
const MODEL_THREADS: &str = "cxu-fw";

/// The clocks at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSample {
    process_ns: u64,
    model_ns: Option<u64>,
}

/// CPU time spent between two samples, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuUse {
    /// Every thread of the process.
    pub process_ns: u64,
    /// The model's firmware threads, where `/proc` says (0 with `--pci`).
    pub model_ns: Option<u64>,
}

/// Reads the clocks (the model's threads first: reading `/proc` takes a while,
/// and the process clock is then read closest to the window's edge).
pub(crate) fn sample() -> CpuSample {
    let model_ns = model_threads_ns();
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let process_ns = u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec).unwrap_or(0));
    CpuSample {
        process_ns,
        model_ns,
    }
}

impl CpuSample {
    /// What was spent since `earlier`.
    pub(crate) fn since(&self, earlier: &CpuSample) -> Option<CpuUse> {
        Some(CpuUse {
            process_ns: self.process_ns.checked_sub(earlier.process_ns)?,
            model_ns: self
                .model_ns
                .zip(earlier.model_ns)
                .and_then(|(now, then)| now.checked_sub(then)),
        })
    }
}

/// Time on the CPU of the model's threads now alive: the first field of each
/// thread's `schedstat` (ns).
fn model_threads_ns() -> Option<u64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut sum = 0u64;
    for t in tasks.flatten() {
        let dir = t.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(MODEL_THREADS) {
            continue;
        }
        // A thread may exit between the two reads: it then counts nothing.
        if let Some(ns) = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| run_ns(&s))
        {
            sum += ns;
        }
    }
    Some(sum)
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

    /// The process clock counts this thread's spinning, and a model thread's
    /// work shows in the model's share; a drop is not a negative use.
    #[test]
    fn burning_cpu_shows_in_the_process_clock() {
        let a = sample();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let b = sample();
        let used = b.since(&a).expect("the process clock only grows");
        assert!(used.process_ns > 0, "{used:?}");
        if cfg!(target_os = "linux") {
            assert!(used.model_ns.is_some(), "/proc/self/task is readable");
        }
        let fake_later = CpuSample {
            process_ns: 5,
            model_ns: None,
        };
        let fake_earlier = CpuSample {
            process_ns: 9,
            model_ns: Some(1),
        };
        assert_eq!(fake_later.since(&fake_earlier), None);
        assert_eq!(
            fake_earlier.since(&fake_later),
            Some(CpuUse {
                process_ns: 4,
                model_ns: None
            })
        );
    }
}
