//! The `kernel` baseline (issue 17): Linux's mlx5 command path, rebuilt on the
//! driver's [`Queue`] without touching the driver's own path.
//!
//! What Linux does (drivers/net/ethernet/mellanox/mlx5/core/cmd.c):
//! `mlx5_cmd_invoke` allocates a work entry, queues it on `cmd->wq` (one
//! ordered, single-threaded workqueue: `create_singlethread_workqueue`) and
//! sleeps on the entry's completions. The one worker, `cmd_work_handler`,
//! takes the counting semaphore `cmd->vars.sem` (`max_reg_cmds` units; while
//! every regular slot is busy it blocks, and every command queued behind it
//! waits too), takes the lowest free slot under `alloc_lock`, writes the entry
//! and rings the doorbell. In events mode it goes on to the next work item and
//! the EQ's interrupt handler (`cmd_comp_notifier` → `mlx5_cmd_comp_handler`)
//! copies the inline output, checks the signature and `complete(&ent->done)`s
//! the sleeping caller. In polling mode the worker itself spins on the entry's
//! ownership byte (`poll_timeout`: `READ_ONCE`, `cond_resched`) and runs the
//! completion handler: one command at a time. The woken caller drops the last
//! reference to the entry, which frees the slot and ups the semaphore
//! (`cmd_ent_put`), and copies the output out of the mailboxes.
//!
//! Here: each submitting thread sends a work item to one dispatcher thread
//! over a channel (the workqueue) and sleeps on the command's [`Completion`]
//! (a mutex and a condvar: like `wait_for_completion`, it sleeps at once).
//! The dispatcher takes a [`Semaphore`] of `regular_slots` units and posts the
//! command with [`Queue::submit`] on a queue with the kernel's slot allocator
//! (`SlotPolicy::MutexSemaphore`: the lowest free bit under a lock; its own
//! semaphore never waits, since ours admits no more commands than it has
//! units). In polling mode the dispatcher polls the command itself
//! ([`CmdHandle::is_done`], yielding between looks as `cond_resched` would) and
//! completes the waiter. In events mode it hands the command to a completion
//! thread, which the driver's EQ thread wakes and which completes the waiter.
//! The waiter ups the semaphore once woken, as the kernel's last
//! `cmd_ent_put` does. What this leaves out is in docs/performance.md.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::error::BenchError;
use super::load::{self, Measured, Window, Workload, MEASURE, STOP, WARMUP};
use cxu_driver::cmd::{CmdHandle, Mode, Queue};

/// Latency samples a thread reserves up front.
const RESERVED_SAMPLES: usize = 1 << 16;

/// A counting semaphore, as the kernel's `struct semaphore`: `down` sleeps at
/// once while no unit is free.
pub(crate) struct Semaphore {
    units: Mutex<u32>,
    freed: Condvar,
}

impl Semaphore {
    pub(crate) fn new(units: u32) -> Semaphore {
        Semaphore {
            units: Mutex::new(units),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn down(&self) {
        let mut u = self.units.lock();
        while *u == 0 {
            self.freed.wait(&mut u);
        }
        *u -= 1;
    }

    pub(crate) fn up(&self) {
        *self.units.lock() += 1;
        self.freed.notify_one();
    }

    #[cfg(test)]
    pub(crate) fn available(&self) -> u32 {
        *self.units.lock()
    }
}

/// What a completed command hands its waiter.
struct Done {
    result: cxu_driver::Result<Vec<u8>>,
    /// The command holds a semaphore unit the waiter must give back (it was
    /// posted; a command that failed before posting gave its unit back).
    holds_unit: bool,
}

/// One command's completion, as the kernel's `struct completion`.
pub(crate) struct Completion {
    done: Mutex<Option<Done>>,
    woken: Condvar,
}

impl Completion {
    fn new() -> Arc<Completion> {
        Arc::new(Completion {
            done: Mutex::new(None),
            woken: Condvar::new(),
        })
    }

    fn complete(&self, result: cxu_driver::Result<Vec<u8>>, holds_unit: bool) {
        *self.done.lock() = Some(Done { result, holds_unit });
        self.woken.notify_one();
    }

    fn wait(&self) -> Done {
        let mut d = self.done.lock();
        loop {
            if let Some(done) = d.take() {
                return done;
            }
            self.woken.wait(&mut d);
        }
    }
}

/// The ordered workqueue's one worker (`cmd_work_handler`).
fn dispatcher<'q>(
    queue: &'q Queue,
    w: &Workload,
    work: Receiver<Arc<Completion>>,
    sem: &Semaphore,
    events: Option<Sender<(CmdHandle<'q>, Arc<Completion>)>>,
) {
    while let Ok(c) = work.recv() {
        sem.down();
        let h = match queue.submit(&w.msg, w.outlen, false) {
            Ok(h) => h,
            Err(e) => {
                sem.up();
                c.complete(Err(e), false);
                continue;
            }
        };
        match &events {
            Some(tx) => {
                if let Err(mpsc::SendError((h, c))) = tx.send((h, c)) {
                    c.complete(h.wait(), true);
                }
            }
            None => {
                poll(queue, &h);
                c.complete(h.wait(), true);
            }
        }
    }
}

/// `poll_timeout`: look at the ownership byte until the device gives the entry
/// back, rescheduling between looks; past the queue's timeout, leave the
/// verdict to the driver's own wait.
fn poll(queue: &Queue, h: &CmdHandle<'_>) {
    let end = Instant::now() + queue.timeout();
    while !h.is_done() {
        if Instant::now() >= end {
            return;
        }
        std::thread::yield_now();
    }
}

/// The completion side in events mode: woken by the driver's EQ thread for
/// each command in posting order, it completes the command's waiter.
fn completer(commands: Receiver<(CmdHandle<'_>, Arc<Completion>)>) {
    while let Ok((h, c)) = commands.recv() {
        c.complete(h.wait(), true);
    }
}

/// A caller keeping `share` commands in flight: queues work, sleeps on the
/// oldest command's completion, gives its semaphore unit back.
fn submitter(
    work: Sender<Arc<Completion>>,
    sem: &Semaphore,
    share: usize,
    phase: &AtomicU8,
) -> cxu_driver::Result<(u64, Vec<u64>)> {
    let gone = || cxu_driver::Error::BadMessage("the kernel-style dispatcher stopped".into());
    let mut inflight: VecDeque<(Arc<Completion>, Instant)> = VecDeque::with_capacity(share);
    let mut lat = Vec::with_capacity(RESERVED_SAMPLES);
    let mut completed = 0u64;
    let result = loop {
        if phase.load(Ordering::Acquire) == STOP {
            break Ok(());
        }
        while inflight.len() < share {
            let c = Completion::new();
            let t = Instant::now();
            if work.send(c.clone()).is_err() {
                return Err(gone());
            }
            inflight.push_back((c, t));
        }
        let Some((c, t)) = inflight.pop_front() else {
            break Ok(());
        };
        let done = c.wait();
        let latency = t.elapsed();
        if done.holds_unit {
            sem.up();
        }
        if let Err(e) = done.result {
            break Err(e);
        }
        if phase.load(Ordering::Relaxed) == MEASURE {
            completed += 1;
            lat.push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
        }
    };
    for (c, _) in inflight {
        if c.wait().holds_unit {
            sem.up();
        }
    }
    result.map(|()| (completed, lat))
}

/// Runs `w` through the kernel's design from `threads` threads keeping `depth`
/// commands in flight in total (capped as the driver's load is, so that both
/// keep the same number in the device).
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
    let depth = depth.min(load::max_depth(queue.regular_slots(), threads));
    let events = queue.mode() == Mode::Events;
    let sem = Semaphore::new(queue.regular_slots());
    let phase = AtomicU8::new(WARMUP);
    let (results, elapsed, cpu_use) = std::thread::scope(|s| {
        let (work_tx, work_rx) = mpsc::channel();
        let (comp_tx, comp_rx) = if events {
            let (tx, rx) = mpsc::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        if let Some(rx) = comp_rx {
            s.spawn(move || completer(rx));
        }
        let sem = &sem;
        s.spawn(move || dispatcher(queue, w, work_rx, sem, comp_tx));
        let workers: Vec<_> = load::shares(depth, threads)
            .into_iter()
            .map(|share| {
                let phase = &phase;
                let tx = work_tx.clone();
                s.spawn(move || {
                    let r = submitter(tx, sem, share as usize, phase);
                    if r.is_err() {
                        phase.store(STOP, Ordering::Release);
                    }
                    r
                })
            })
            .collect();
        // The dispatcher stops once every submitter has dropped its sender,
        // and the completion thread once the dispatcher has.
        drop(work_tx);
        load::window(&phase, win, workers)
    });
    load::measured(results, elapsed, cpu_use, w, point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Never longer than this for a unit test's wait on another thread.
    const TEST_WAIT: Duration = Duration::from_secs(10);

    /// `down` sleeps while no unit is free and wakes on `up`; units are
    /// conserved.
    #[test]
    fn the_semaphore_blocks_at_zero_and_wakes_on_up() {
        let sem = Semaphore::new(2);
        sem.down();
        sem.down();
        assert_eq!(sem.available(), 0);
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                sem.down();
                tx.send(()).unwrap();
            });
            // Still blocked: nothing arrives while no unit is free.
            assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
            sem.up();
            rx.recv_timeout(TEST_WAIT).expect("woken by up");
        });
        assert_eq!(sem.available(), 0);
        sem.up();
        sem.up();
        assert_eq!(sem.available(), 2);
    }

    /// A waiter sleeping on a completion gets exactly what was completed,
    /// whichever comes first.
    #[test]
    fn a_completion_hands_its_result_to_the_waiter() {
        let c = Completion::new();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| c.wait());
            std::thread::sleep(Duration::from_millis(5));
            c.complete(Ok(vec![7, 8]), true);
            let d = waiter.join().unwrap();
            assert_eq!(d.result.unwrap(), vec![7, 8]);
            assert!(d.holds_unit);
        });
        let c = Completion::new();
        c.complete(Err(cxu_driver::Error::DeviceRemoved), false);
        let d = c.wait();
        assert!(matches!(d.result, Err(cxu_driver::Error::DeviceRemoved)));
        assert!(!d.holds_unit);
    }
}
