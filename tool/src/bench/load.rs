//! The measured load: submitting threads share one queue and keep a fixed
//! number of commands in flight between them.
//!
//! Each thread keeps its share of the depth posted: it submits until it holds
//! its share, waits for its oldest command, and submits again. A command's
//! latency is the driver's own measure ([`CmdHandle::wait_timed`]): from the
//! start of `submit` (so a wait for a free slot counts) to completion. The
//! bench reads no clock per command itself: at these rates two more clock
//! reads per command were a tenth of the submitting thread's time. The run has a warm-up, then a measured window; only
//! commands completed inside the window count, and throughput is their number
//! over the window's length. Nothing allocates per command here except what
//! the driver's API does (the output `Vec`); latency vectors are reserved
//! before the window opens.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use cxu_hal::ifc::Opcode;

use super::cpu::{self, CpuUse};
use super::error::BenchError;
use super::latency::Latency;
use cxu_driver::cmd::{CmdHandle, Queue};

pub(crate) const WARMUP: u8 = 0;
pub(crate) const MEASURE: u8 = 1;
pub(crate) const STOP: u8 = 2;

/// Latency samples a thread reserves up front (more are pushed if needed).
const RESERVED_SAMPLES: usize = 1 << 17;

/// One command, as bytes.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// Its opcode (for errors).
    pub(crate) opcode: Opcode,
    /// The whole input message.
    pub(crate) msg: Vec<u8>,
    /// The output length.
    pub(crate) outlen: usize,
}

/// Warm-up and measured window of one point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
}

/// What one point measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// Commands completed inside the window.
    pub(crate) completed: u64,
    /// The window's real length.
    pub(crate) elapsed: Duration,
    /// Their latencies.
    pub(crate) latency: Latency,
    /// CPU time the process spent, where the clocks say: over the window,
    /// or over the whole run where that is what could be measured.
    pub(crate) cpu: Option<CpuUse>,
    /// The commands completed while `cpu` was counted.
    pub(crate) cpu_commands: u64,
}

impl Measured {
    /// Commands per second.
    pub(crate) fn throughput(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.completed as f64 / s
        } else {
            0.0
        }
    }
}

/// The most commands `threads` threads may keep in flight on `regular` slots
/// without all of them waiting for a slot held by another waiting thread (a
/// thread's posted commands are only retired when it waits for them): the sum
/// of (share - 1) must stay below `regular`.
pub(crate) fn max_depth(regular: u32, threads: u32) -> u32 {
    regular + threads - 1
}

/// `depth` split over `threads` as evenly as possible.
pub(crate) fn shares(depth: u32, threads: u32) -> Vec<u32> {
    (0..threads)
        .map(|i| depth / threads + u32::from(i < depth % threads))
        .collect()
}

/// Runs `w` from `threads` threads keeping `depth` commands in flight in
/// total (capped by [`max_depth`]; every thread keeps at least one).
pub(crate) fn run(
    queue: &Queue,
    w: &Workload,
    threads: u32,
    depth: u32,
    win: Window,
    point: &str,
) -> Result<Measured, BenchError> {
    if threads == 0 || depth < threads {
        return Err(BenchError::Options(format!(
            "{point}: depth {depth} cannot keep {threads} threads busy"
        )));
    }
    let depth = depth.min(max_depth(queue.regular_slots(), threads));
    let phase = AtomicU8::new(WARMUP);
    let (results, elapsed, cpu_use) = std::thread::scope(|s| {
        let workers: Vec<_> = shares(depth, threads)
            .into_iter()
            .map(|share| {
                let phase = &phase;
                s.spawn(move || {
                    let r = submitter(queue, w, share as usize, phase);
                    if r.is_err() {
                        phase.store(STOP, Ordering::Release);
                    }
                    r
                })
            })
            .collect();
        window(&phase, win, workers)
    });
    measured(results, elapsed, cpu_use, w, point)
}

/// What one submitting thread returns: commands completed in the window and
/// their latencies.
pub(super) type ThreadResult = cxu_driver::Result<(u64, Vec<u64>)>;

/// Warm-up, then the measured window: moves `phase` from WARMUP to MEASURE
/// and to STOP around it, and joins `workers`. Returns their results, the
/// window's real length and the process CPU spent in it.
pub(super) fn window(
    phase: &AtomicU8,
    win: Window,
    workers: Vec<std::thread::ScopedJoinHandle<'_, ThreadResult>>,
) -> (Vec<ThreadResult>, Duration, Option<CpuUse>) {
    std::thread::sleep(win.warmup);
    let cpu0 = cpu::sample();
    let t0 = Instant::now();
    // Only from WARMUP: a failed thread may have stopped everything already.
    let _ = phase.compare_exchange(WARMUP, MEASURE, Ordering::AcqRel, Ordering::Acquire);
    std::thread::sleep(win.measure);
    phase.store(STOP, Ordering::Release);
    let elapsed = t0.elapsed();
    let cpu_use = cpu::sample_end().since(&cpu0);
    let results = workers
        .into_iter()
        .map(|h| {
            h.join().unwrap_or_else(|_| {
                Err(cxu_driver::Error::BadMessage(
                    "a bench thread panicked".into(),
                ))
            })
        })
        .collect();
    (results, elapsed, cpu_use)
}

/// The threads' results summed into one point (the first error, with its point).
pub(super) fn measured(
    results: Vec<ThreadResult>,
    elapsed: Duration,
    cpu_use: Option<CpuUse>,
    w: &Workload,
    point: &str,
) -> Result<Measured, BenchError> {
    let mut completed = 0;
    let mut samples = Vec::new();
    for r in results {
        let (n, lat) = r.map_err(|source| BenchError::Command {
            opcode: w.opcode,
            point: point.to_string(),
            source: Box::new(source),
        })?;
        completed += n;
        samples.extend_from_slice(&lat);
    }
    Ok(Measured {
        completed,
        elapsed,
        latency: Latency::from_samples(&mut samples),
        cpu: cpu_use,
        cpu_commands: completed,
    })
}

/// One submitting thread: keeps `share` commands posted until told to stop,
/// then waits for what it still has in flight.
fn submitter(
    queue: &Queue,
    w: &Workload,
    share: usize,
    phase: &AtomicU8,
) -> cxu_driver::Result<(u64, Vec<u64>)> {
    let mut inflight: VecDeque<CmdHandle<'_>> = VecDeque::with_capacity(share);
    let mut lat = Vec::with_capacity(RESERVED_SAMPLES);
    let mut completed = 0u64;
    let result = loop {
        if phase.load(Ordering::Acquire) == STOP {
            break Ok(());
        }
        while inflight.len() < share {
            match queue.submit(&w.msg, w.outlen, false) {
                Ok(h) => inflight.push_back(h),
                Err(e) => return Err(e),
            }
        }
        let Some(h) = inflight.pop_front() else {
            break Ok(());
        };
        let (res, latency) = h.wait_timed();
        if let Err(e) = res {
            break Err(e);
        }
        if phase.load(Ordering::Relaxed) == MEASURE {
            completed += 1;
            lat.push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        }
    };
    for h in inflight {
        h.wait()?;
    }
    result.map(|()| (completed, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        for depth in 1..=40 {
            for threads in 1..=depth.min(8) {
                let s = shares(depth, threads);
                assert_eq!(s.iter().sum::<u32>(), depth);
                let (lo, hi) = (s.iter().min().unwrap(), s.iter().max().unwrap());
                assert!(hi - lo <= 1 && *lo >= 1, "{depth}/{threads}: {s:?}");
            }
        }
    }

    /// At the cap, the threads' shares minus one (what a thread holds while it
    /// submits its last) leave a slot free; one more and they may not.
    #[test]
    fn max_depth_leaves_a_slot_for_the_last_waiting_thread() {
        for threads in 1..=4 {
            let cap = max_depth(31, threads);
            let held = |d: u32| shares(d, threads).iter().map(|s| s - 1).sum::<u32>();
            assert!(held(cap) < 31);
            assert!(held(cap + 1) >= 31);
        }
        assert_eq!(max_depth(31, 1), 31);
        assert_eq!(max_depth(31, 2), 32);
    }
}
