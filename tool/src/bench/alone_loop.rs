//! The measuring loop of the device-alone submitters: polled
//! ([`super::alone`]) and with completions found through an EQ
//! ([`super::alone_events`]). Every slot is posted, each one found complete is
//! posted again until the window closes, a completion inside the window is a
//! latency sample, the submitter spins and then yields while nothing
//! completes, and nothing completing for [`STALL`] is an error. How the next
//! completions are found is the one thing the two differ in: that is
//! [`Completions`].

use std::time::{Duration, Instant};

use cxu_hal::ifc::Opcode;

use super::cpu::{self, CpuSample};
use super::error::BenchError;
use super::latency::Latency;
use super::load::{Measured, Window};

/// No completion for this long: the device is stuck.
pub(super) const STALL: Duration = Duration::from_secs(5);
/// How long the submitter spins without a completion before it yields the
/// CPU between looks. Longer than a command of the in-process device takes
/// (about 1 us), short enough not to starve the device's own threads when
/// they share the CPUs with it.
const IDLE_SPIN: Duration = Duration::from_micros(20);
/// Latency samples reserved up front (more are pushed if needed).
const RESERVED_SAMPLES: usize = 1 << 17;

/// How one device-alone submitter finds its completions.
pub(super) trait Completions {
    /// How long it looks without finding a completion before it
    /// [`sleep`](Completions::sleep)s instead of yielding (`MAX`: never).
    const SLEEP_AFTER: Duration = Duration::MAX;
    /// Hands `slot` to the device and rings its doorbell bit.
    fn ring(&self, slot: u32) -> Result<(), BenchError>;
    /// One look: the slots of `live` that may have completed, and whether
    /// the device showed it is busy (an EQE) even if none of them did.
    fn look(&mut self, live: u64) -> Result<(u64, bool), BenchError>;
    /// Whether `slot`, one of [`look`](Completions::look)'s, came back, with
    /// a good status (anything else is an error: the numbers would lie).
    fn done(&self, slot: u32) -> Result<bool, BenchError>;
    /// Waits for the device, after `SLEEP_AFTER` without a completion.
    fn sleep(&mut self) -> Result<(), BenchError> {
        std::thread::yield_now();
        Ok(())
    }
}

/// What one submitter's slots did.
pub(super) struct Run {
    /// Latency of each command completed inside the window, ns.
    samples: Vec<u64>,
    /// Every command completed, warm-up and drain included.
    pub(super) all: u64,
}

/// The `n` slots from `first` on, as a bit mask.
pub(super) fn slots(first: u32, n: u32) -> u64 {
    let ones = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    ones.checked_shl(first).unwrap_or(0)
}

/// Keeps every slot of `slots` (their entries written) in flight until the
/// window closes, then lets them drain. The warm-up starts at `start`, or
/// once every slot is posted.
pub(super) fn measure<C: Completions>(
    c: &mut C,
    slots: u64,
    start: Option<Instant>,
    win: Window,
    opcode: Opcode,
) -> Result<Run, BenchError> {
    let mut posted = vec![Instant::now(); 64 - slots.leading_zeros() as usize];
    let mut live = slots;
    let mut bits = slots;
    while bits != 0 {
        let s = bits.trailing_zeros();
        bits &= bits - 1;
        posted[s as usize] = Instant::now();
        c.ring(s)?;
    }
    let from = start.unwrap_or_else(Instant::now) + win.warmup;
    let to = from + win.measure;
    let mut samples = Vec::with_capacity(RESERVED_SAMPLES);
    let mut all: u64 = 0;
    let mut last = Instant::now();
    let mut idle_since: Option<Instant> = None;
    while live != 0 {
        let (mut bits, mut any) = c.look(live)?;
        while bits != 0 {
            let s = bits.trailing_zeros();
            bits &= bits - 1;
            if !c.done(s)? {
                continue;
            }
            any = true;
            all += 1;
            let now = Instant::now();
            last = now;
            if now >= from && now < to {
                samples
                    .push(u64::try_from((now - posted[s as usize]).as_nanos()).unwrap_or(u64::MAX));
            }
            if now >= to {
                live &= !(1u64 << s);
            } else {
                posted[s as usize] = now;
                c.ring(s)?;
            }
        }
        if any {
            idle_since = None;
            continue;
        }
        // Nothing done: spin a little, then yield, so that the device's
        // workers get a CPU on a machine with fewer cores than threads.
        let now = Instant::now();
        let idle = now - *idle_since.get_or_insert(now);
        if idle < IDLE_SPIN {
            std::hint::spin_loop();
        } else if idle < C::SLEEP_AFTER {
            std::thread::yield_now();
        } else {
            c.sleep()?;
            idle_since = None;
        }
        if now - last > STALL {
            return Err(BenchError::Raw(format!(
                "{opcode}: no completion for {STALL:?}"
            )));
        }
    }
    Ok(Run { samples, all })
}

impl Run {
    /// `runs`, taken over the same window, as one point; the CPU since
    /// `cpu0` over every command of them.
    pub(super) fn measured(runs: Vec<Run>, win: Window, cpu0: &CpuSample) -> Measured {
        let all = runs.iter().map(|r| r.all).sum();
        let mut samples = match <[Run; 1]>::try_from(runs) {
            Ok([one]) => one.samples,
            Err(runs) => runs.into_iter().flat_map(|r| r.samples).collect(),
        };
        Measured {
            completed: samples.len() as u64,
            elapsed: win.measure,
            latency: Latency::from_samples(&mut samples),
            cpu: cpu::sample_end().since(cpu0),
            cpu_commands: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slots;

    #[test]
    fn slot_masks() {
        assert_eq!(slots(0, 1), 0b1);
        assert_eq!(slots(0, 31), 0x7fff_ffff);
        assert_eq!(slots(4, 3), 0b111_0000);
        assert_eq!(slots(0, 0), 0);
        assert_eq!(slots(0, 64), u64::MAX);
    }
}
