//! Events mode with waiters that consume the event queue themselves
//! (`cmd::lead`), under stress: many threads, varying depth and waiting
//! order, firmware switching between instant and slow (so waiters go from
//! leading to sleeping on the interrupt and back), port events arriving in
//! the middle. Every command must complete exactly once, the driver's and
//! the device's counts must agree, and the EQ must end consumed and armed.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, nop};
use cxu_driver::{Device, DriverConfig, Mode, QueueConfig};
use cxu_hal::ifc::eqe::port_change;
use cxu_hal::ifc::Opcode;
use cxu_hal::PciFunction;
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

const THREADS: u64 = 8;
const ROUNDS: u64 = 600;
/// Deepest a thread goes: `THREADS * (MAX_DEPTH - 1)` must stay under the
/// 31 slots, or threads that wait for a slot while holding theirs deadlock.
const MAX_DEPTH: u64 = 4;

#[test]
fn many_waiters_lead_follow_and_sleep_and_every_command_completes_once() {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let ctl = f.control();
    let pf: Arc<dyn PciFunction> = f.clone();
    let cfg = DriverConfig {
        queue: QueueConfig {
            timeout: Duration::from_secs(20),
            slot_wait: Duration::from_secs(20),
            ..QueueConfig::default()
        },
        ..DriverConfig::default()
    };
    let d = Device::probe(pf, cfg).expect("probe");
    assert_eq!(d.summary().unwrap().mode, Mode::Events);
    let nops_before = ctl.completions(Opcode::NOP);
    let stats_before = d.cmd_stats(Opcode::NOP).unwrap().count;
    let eqes_before = d.eq_counters().cmd_eqes.load(Ordering::Relaxed);
    let ok = AtomicU64::new(0);
    let submitted = AtomicU64::new(0);
    let mut port_events = 0u64;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (d, ok, submitted) = (&d, &ok, &submitted);
                s.spawn(move || {
                    let msg = nop();
                    for round in 0..ROUNDS {
                        // Depth 1 to 4 per thread, up to 32 wanted in all
                        // (31 slots): some submitters wait for a slot too.
                        // Not 5: a thread holds its posted commands while it
                        // waits for a slot for the next, and eight threads
                        // each holding 4 could take all 31 slots and wait on
                        // each other for good (it hit the 20 s slot wait
                        // once); holding at most 3 each, 24, leaves a slot.
                        let depth = 1 + ((t + round) % MAX_DEPTH) as usize;
                        d.with_queue(|q| {
                            let mut hs: Vec<_> = (0..depth)
                                .map(|_| q.submit(&msg, 16, true))
                                .collect::<Result<_, _>>()?;
                            submitted.fetch_add(depth as u64, Ordering::Relaxed);
                            // Not always the oldest first: a waiter's command
                            // may complete before or after the others'.
                            if round % 2 == 1 {
                                hs.reverse();
                            }
                            for h in hs {
                                assert_eq!(h.wait()?[0], 0);
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(())
                        })
                        .expect("NOP in events mode");
                    }
                })
            })
            .collect();
        // Firmware flips between instant and slow NOPs (waiters then sleep
        // and are woken through the interrupt), and the port flaps: EQEs
        // that are no command's reach the port counters all the same.
        let mut slow = false;
        while workers.iter().any(|w| !w.is_finished()) {
            slow = !slow;
            let lat = if slow { 300 } else { 0 };
            ctl.set_latency(Opcode::NOP, Duration::from_micros(lat));
            let sub = if slow {
                port_change::DOWN
            } else {
                port_change::ACTIVE
            };
            if ctl.port_change_event(1, sub) {
                port_events += 1;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        ctl.set_latency(Opcode::NOP, Duration::ZERO);
    });
    let total = (0..THREADS)
        .map(|t| (0..ROUNDS).map(|r| 1 + (t + r) % MAX_DEPTH).sum::<u64>())
        .sum::<u64>();
    assert_eq!(submitted.load(Ordering::Relaxed), total);
    assert_eq!(ok.load(Ordering::Relaxed), total, "every command once");
    assert_eq!(
        d.cmd_stats(Opcode::NOP).unwrap().count - stats_before,
        total,
        "the driver's count"
    );
    assert_eq!(
        ctl.completions(Opcode::NOP) - nops_before,
        total,
        "the device's count"
    );
    assert!(port_events > 0);
    // A waiter that finds its own entry back returns before its EQE is read;
    // every EQE is consumed all the same, once.
    eventually("every completion EQE consumed", || {
        d.eq_counters().cmd_eqes.load(Ordering::Relaxed) - eqes_before >= total
    });
    assert_eq!(
        d.eq_counters().cmd_eqes.load(Ordering::Relaxed) - eqes_before,
        total,
        "one completion EQE per command, each consumed once"
    );
    eventually("the port events", || d.port_events(1).0 == port_events);
    assert_eq!(d.slots().unwrap().busy, 0);
    // Idle: the EQ thread's looks re-arm the EQ with every EQE consumed.
    eventually("the EQ armed and consumed", || {
        let eq = &ctl.eqs()[0];
        eq.armed && eq.consumer_index == eq.producer_index
    });
    assert_eq!(ctl.eqs()[0].overruns, 0);
    assert_eq!(ctl.counters().events_dropped, 0, "no EQE lost");
    // And the interrupt still works: an unsolicited event after all this.
    assert!(ctl.port_change_event(1, port_change::ACTIVE));
    eventually("the last port event", || {
        d.port_events(1).0 == port_events + 1
    });
    d.remove().unwrap();
}
