//! A raw cache-line ping-pong between two threads: the floor under any
//! hand-off between a submitter and whatever completes its command.
//!
//! Thread A writes an odd number into a line and spins until thread B, which
//! spins on the same line, answers with the next even number. One round trip
//! is two transfers of the line. The result is the median over batches of the
//! mean round trip of each batch, so a batch in which one of the threads lost
//! its CPU (likely on a busy 2-core machine) does not decide it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The line the two threads share (128 bytes: adjacent-line prefetch pairs).
#[repr(align(128))]
struct Line(AtomicU64);

/// Tells thread B to leave.
const QUIT: u64 = u64::MAX;

/// Median round trip over `batches` batches of `trips` round trips.
pub(crate) fn round_trip(batches: u32, trips: u32) -> Duration {
    let line = Line(AtomicU64::new(0));
    let mut means = Vec::with_capacity(batches as usize);
    std::thread::scope(|s| {
        s.spawn(|| loop {
            let v = line.0.load(Ordering::Acquire);
            if v == QUIT {
                break;
            }
            if v % 2 == 1 {
                line.0.store(v + 1, Ordering::Release);
            } else {
                std::hint::spin_loop();
            }
        });
        let mut v = 0u64;
        for _ in 0..batches {
            let t = Instant::now();
            for _ in 0..trips {
                v += 1;
                line.0.store(v, Ordering::Release);
                v += 1;
                while line.0.load(Ordering::Acquire) != v {
                    std::hint::spin_loop();
                }
            }
            means.push(t.elapsed() / trips.max(1));
        }
        line.0.store(QUIT, Ordering::Release);
    });
    means.sort_unstable();
    means.get(means.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round trip is two cache-line transfers plus a little work: it takes
    /// some time, and (even with both threads losing their CPUs to a loaded
    /// test run on two cores, where every round trip can wait out a scheduler
    /// slice: 5 ms was seen to fail there) far less than 50 ms.
    #[test]
    fn a_round_trip_is_measured_and_plausible() {
        let rtt = round_trip(9, 200);
        assert!(rtt > Duration::ZERO);
        assert!(rtt < Duration::from_millis(50), "{rtt:?}");
    }
}
