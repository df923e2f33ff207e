//! The command path's clock.
//!
//! A command reads the clock twice on its fast path (the start, for its
//! timeout and latency, and the completion); slot waits and spins read it more.
//! `std::time::Instant::now` is a vDSO `clock_gettime`, about 27 ns on this
//! project's VMs; quanta reads the TSC itself (about 10 ns) where the CPU
//! says the TSC is invariant, and falls back to the OS clock where it is not.
//! Time here only bounds waits and measures latencies: it never leaves the
//! driver as a wall-clock time.

use std::time::Duration;

pub(crate) use quanta::Instant;

/// The longest wait the command path adds to an instant: far enough to mean
/// "no deadline", near enough never to overflow.
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// `t + d`, saturating at [`FAR`] (a timeout may be set to anything).
pub(crate) fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(FAR)).unwrap_or(t)
}

/// Reads the clock once so that its calibration (about half a millisecond)
/// is paid when a queue is set up, not by the first command.
pub(crate) fn calibrate() {
    let _ = Instant::now();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_saturates_instead_of_panicking() {
        let t = Instant::now();
        assert!(after(t, Duration::MAX) > after(t, Duration::from_secs(3600)));
        assert_eq!(
            after(t, Duration::from_millis(5)) - t,
            Duration::from_millis(5)
        );
    }

    #[test]
    fn the_clock_moves_forward() {
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        let e = t.elapsed();
        // The OS slept at least 2 ms by its clock; the TSC clock is calibrated
        // against it, not identical to it (seen 0.02% apart): 10% either side.
        assert!(
            e >= Duration::from_micros(1800) && e < Duration::from_secs(2),
            "{e:?}"
        );
    }
}
