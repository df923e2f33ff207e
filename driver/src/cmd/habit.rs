//! How long an events-mode waiter looks before it sleeps, learnt per opcode.
//!
//! A waiter that finds no completion arriving sleeps after [`EVENT_IDLE`]:
//! long enough that a device answering in microseconds is never waited for
//! asleep (issue 17 part 3). But for a command that takes longer than that
//! (firmware of 100 µs or 1 ms), those 50 µs of looking are CPU spent for
//! nothing before the sleep it ends in anyway: most of events mode's CPU per
//! command there (issue 17 part 2). So each opcode remembers how its recent
//! waits ended. After [`SLOW_AFTER`] waits in a row that looked in full and
//! still had to sleep, its waits look only [`SHORT_LOOK`] (completions that
//! keep arriving from other commands still keep a waiter looking, as ever);
//! one wait in [`PROBE_EVERY`] looks in full again, so a device that became
//! fast is noticed. A wait that finds its completion while looking resets it.
//!
//! Only how long a waiter looks hangs on it, never whether a completion is
//! seen: a plain atomic, updated without ordering, racy by design.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use super::core::{BUSY_SPIN, EVENT_IDLE};

/// Full looks in a row that ended asleep before the looks are cut short.
const SLOW_AFTER: u32 = 3;
/// One short-look wait in this many looks in full.
const PROBE_EVERY: u32 = 8;
/// The look of a wait for a command known to be slow: its own first spin.
pub(crate) const SHORT_LOOK: Duration = BUSY_SPIN;

/// One opcode's record: full looks that slept in a row (low byte), and a
/// count of short-look waits (the rest) for the probes.
#[derive(Default)]
pub(crate) struct Habit(AtomicU32);

/// How long one wait looks, and whether that is the full look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    pub(crate) idle: Duration,
    pub(crate) full: bool,
}

impl Look {
    /// The look in full, [`EVENT_IDLE`].
    pub(crate) const FULL: Look = Look {
        idle: EVENT_IDLE,
        full: true,
    };
}

impl Habit {
    /// The look of the next wait.
    pub(crate) fn look(&self) -> Look {
        let v = self.0.load(Relaxed);
        if v & 0xff < SLOW_AFTER {
            return Look::FULL;
        }
        let n = self.0.fetch_add(0x100, Relaxed) >> 8;
        if n % PROBE_EVERY == PROBE_EVERY - 1 {
            Look::FULL
        } else {
            Look {
                idle: SHORT_LOOK,
                full: false,
            }
        }
    }

    /// A wait ended: its completion was found while looking (`found`), or
    /// it slept after a look of `look`.
    pub(crate) fn ended(&self, look: Look, found: bool) {
        let v = self.0.load(Relaxed);
        let sleeps = v & 0xff;
        let next = if found {
            0
        } else if look.full {
            (sleeps + 1).min(SLOW_AFTER)
        } else {
            return;
        };
        if next != sleeps {
            self.0.store((v & !0xff) | next, Relaxed);
        }
    }

    /// True if the next waits look short.
    #[cfg(all(test, not(cxu_driver_loom)))]
    pub(crate) fn is_slow(&self) -> bool {
        self.0.load(Relaxed) & 0xff >= SLOW_AFTER
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use super::*;

    #[test]
    fn full_looks_that_sleep_make_the_next_looks_short_and_a_find_undoes_it() {
        let h = Habit::default();
        for _ in 0..SLOW_AFTER {
            let l = h.look();
            assert!(l.full);
            h.ended(l, false);
        }
        assert!(h.is_slow());
        let looks: Vec<Look> = (0..PROBE_EVERY * 2).map(|_| h.look()).collect();
        let full = looks.iter().filter(|l| l.full).count() as u32;
        assert_eq!(full, 2, "one probe in {PROBE_EVERY}");
        assert!(looks.iter().all(|l| l.full || l.idle == SHORT_LOOK));
        // A short look that sleeps tells nothing; a probe that finds does.
        h.ended(looks[0], false);
        assert!(h.is_slow());
        let probe = *looks.iter().find(|l| l.full).unwrap();
        h.ended(probe, true);
        assert!(!h.is_slow());
        assert_eq!(h.look().idle, EVENT_IDLE);
    }

    #[test]
    fn a_short_look_that_finds_its_completion_also_undoes_it() {
        let h = Habit::default();
        for _ in 0..SLOW_AFTER {
            h.ended(h.look(), false);
        }
        let l = h.look();
        assert!(!l.full);
        h.ended(l, true);
        assert!(!h.is_slow());
    }
}
