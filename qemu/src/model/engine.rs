//! The firmware's command engine: doorbell bits become jobs for a small pool of
//! worker threads, woken through a channel (no polling, no sleeping on the
//! zero-latency path). A command with a latency waits in a timer heap, not in a
//! worker, so any number of slow commands overlap while fast ones keep flowing.
//!
//! Slot ownership: a doorbell bit claims the slot's `busy` bit (0 -> 1) and
//! queues one fetch. A ring while the slot is busy is remembered in `rering`
//! and served when the slot is released, so a driver that reuses a slot the
//! instant ownership comes back is never lost. A slot is released after its
//! ownership bit is written; a command that never completes keeps it busy
//! until reset.
#![forbid(unsafe_code)]

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam::channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use super::cmdif::Request;

/// Capacity of the job queue: 32 slots, and room for the Stop messages.
const JOB_QUEUE_LEN: usize = 256;

/// A unit of work for a firmware worker.
pub enum Job {
    /// Read and run the command in `slot`.
    Fetch {
        /// Slot index.
        slot: u32,
        /// Reset generation of the doorbell.
        generation: u64,
    },
    /// Run an already fetched command whose latency has passed.
    Run(Box<Request>),
    /// Leave the worker loop.
    Stop,
}

struct Timed {
    at: Instant,
    seq: u64,
    req: Box<Request>,
}

impl PartialEq for Timed {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timed {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Slot bookkeeping, the job channel and the latency timer.
pub struct Engine {
    busy: AtomicU32,
    rering: AtomicU32,
    tx: Sender<Job>,
    rx: Receiver<Job>,
    timer: Mutex<BinaryHeap<Reverse<Timed>>>,
    timer_cv: Condvar,
    timer_seq: AtomicU64,
    stopping: AtomicBool,
}

impl Default for Engine {
    fn default() -> Self {
        // Each slot has at most one job queued (its busy bit serializes them),
        // so 32 slots plus the workers' Stop messages always fit: the bounded
        // (preallocated) channel never blocks and never allocates per command.
        let (tx, rx) = crossbeam::channel::bounded(JOB_QUEUE_LEN);
        Engine {
            busy: AtomicU32::new(0),
            rering: AtomicU32::new(0),
            tx,
            rx,
            timer: Mutex::new(BinaryHeap::new()),
            timer_cv: Condvar::new(),
            timer_seq: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        }
    }
}

impl Engine {
    /// The receiving end workers take jobs from.
    pub fn receiver(&self) -> Receiver<Job> {
        self.rx.clone()
    }

    fn send(&self, job: Job) {
        // The receiver lives in `self`, so the channel cannot be disconnected.
        let _ = self.tx.send(job);
    }

    /// A doorbell bit for `slot`: claims the slot and queues a fetch, or records
    /// a re-ring if the slot is still busy.
    pub fn ring(&self, slot: u32, generation: u64) {
        let bit = 1u32 << slot;
        if self.busy.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            self.send(Job::Fetch { slot, generation });
            return;
        }
        self.rering.fetch_or(bit, Ordering::AcqRel);
        // The slot may have been released between the two operations without
        // seeing the re-ring: try to claim it again.
        if self.busy.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            self.rering.fetch_and(!bit, Ordering::AcqRel);
            self.send(Job::Fetch { slot, generation });
        }
    }

    /// The command in `slot` is finished: serve a pending re-ring or free the slot.
    pub fn release(&self, slot: u32, generation: u64) {
        let bit = 1u32 << slot;
        loop {
            if self.rering.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
                self.send(Job::Fetch { slot, generation });
                return;
            }
            self.busy.fetch_and(!bit, Ordering::AcqRel);
            if self.rering.load(Ordering::Acquire) & bit == 0 {
                return;
            }
            if self.busy.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
                return;
            }
        }
    }

    /// Slots currently busy (fetched and not yet completed).
    pub fn busy_slots(&self) -> u32 {
        self.busy.load(Ordering::Acquire)
    }

    /// Forgets every slot (function reset); in-flight jobs of the old
    /// generation are dropped by their workers.
    pub fn reset(&self) {
        self.busy.store(0, Ordering::Release);
        self.rering.store(0, Ordering::Release);
        self.timer.lock().clear();
    }

    /// Runs `req` once `at` has come.
    pub fn schedule(&self, at: Instant, req: Box<Request>) {
        let seq = self.timer_seq.fetch_add(1, Ordering::Relaxed);
        self.timer.lock().push(Reverse(Timed { at, seq, req }));
        self.timer_cv.notify_one();
    }

    /// The timer thread: moves due commands to the workers.
    pub fn timer_loop(&self) {
        let mut heap = self.timer.lock();
        while !self.stopping.load(Ordering::Acquire) {
            let now = Instant::now();
            match heap.peek() {
                Some(Reverse(t)) if t.at <= now => {
                    if let Some(Reverse(t)) = heap.pop() {
                        self.send(Job::Run(t.req));
                    }
                }
                Some(Reverse(t)) => {
                    let at = t.at;
                    self.timer_cv.wait_until(&mut heap, at);
                }
                None => self.timer_cv.wait(&mut heap),
            }
        }
    }

    /// Stops the timer thread and `workers` workers.
    pub fn stop(&self, workers: usize) {
        self.stopping.store(true, Ordering::Release);
        {
            let _g = self.timer.lock();
            self.timer_cv.notify_all();
        }
        for _ in 0..workers {
            self.send(Job::Stop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    /// Many threads ring and release slots. Invariants checked: a slot is
    /// never fetched twice at once, every ring is followed by a fetch that
    /// starts after it (no lost ring), and nothing is left busy at the end.
    #[test]
    fn ring_and_release_never_lose_a_ring_nor_double_claim() {
        const SLOTS: usize = 4;
        let e = Arc::new(Engine::default());
        let rx = e.receiver();
        let running: Arc<Vec<AtomicBool>> =
            Arc::new((0..SLOTS).map(|_| AtomicBool::new(false)).collect());
        // Set by a ringer before it rings, cleared by a fetch when it starts.
        let unserved: Arc<Vec<AtomicBool>> =
            Arc::new((0..SLOTS).map(|_| AtomicBool::new(false)).collect());
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (e, rx, running, unserved) =
                    (e.clone(), rx.clone(), running.clone(), unserved.clone());
                thread::spawn(move || {
                    let mut fetches = 0u64;
                    while let Ok(job) = rx.recv() {
                        match job {
                            Job::Fetch { slot, generation } => {
                                let s = slot as usize;
                                assert!(
                                    !running[s].swap(true, Ordering::AcqRel),
                                    "slot {slot} fetched twice at once"
                                );
                                unserved[s].store(false, Ordering::Release);
                                fetches += 1;
                                running[s].store(false, Ordering::Release);
                                e.release(slot, generation);
                            }
                            Job::Stop => break,
                            Job::Run(_) => unreachable!(),
                        }
                    }
                    fetches
                })
            })
            .collect();
        let ringers: Vec<_> = (0..4)
            .map(|t| {
                let (e, unserved) = (e.clone(), unserved.clone());
                thread::spawn(move || {
                    for i in 0..20_000u32 {
                        let slot = (i + t) % SLOTS as u32;
                        unserved[slot as usize].store(true, Ordering::Release);
                        e.ring(slot, 0);
                    }
                })
            })
            .collect();
        for r in ringers {
            r.join().unwrap();
        }
        while e.busy_slots() != 0 {
            thread::yield_now();
        }
        e.stop(3);
        let fetches: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(e.busy_slots(), 0);
        assert_eq!(e.rering.load(Ordering::Acquire), 0);
        assert!(
            unserved.iter().all(|u| !u.load(Ordering::Acquire)),
            "a ring was never followed by a fetch"
        );
        assert!(
            (SLOTS as u64..=80_000).contains(&fetches),
            "fetches {fetches}"
        );
    }
}
