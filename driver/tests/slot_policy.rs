//! The queue with the kernel-style slot allocator (the benchmark's mutex
//! baseline) runs commands exactly as the lock-free one does.

mod common;

use std::time::Duration;

use common::{nop, rig};
use cxu_driver::cmd::SlotPolicy;
use cxu_driver::{Mode, QueueConfig};
use cxu_hal::ifc::Opcode;
use cxu_qemu::model::Profile;

/// Eight threads share 31 slots through the semaphore; each keeps up to four
/// NOPs in flight (32 wanted: someone always waits for a slot; a thread never
/// holds so many that all could wait on each other). Every command completes, the counters match, and at the end
/// every slot is free and the mode switch (which takes every slot) works.
#[test]
fn mutex_semaphore_queue_runs_a_many_thread_nop_storm() {
    let cfg = QueueConfig {
        slot_policy: SlotPolicy::MutexSemaphore,
        timeout: Duration::from_secs(20),
        slot_wait: Duration::from_secs(20),
        ..QueueConfig::default()
    };
    let r = rig(Profile::default(), cfg);
    let q = &r.queue;
    const THREADS: usize = 8;
    const PER_THREAD: usize = 2_000;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut inflight = std::collections::VecDeque::new();
                for _ in 0..PER_THREAD {
                    if inflight.len() == 4 {
                        let h: cxu_driver::CmdHandle<'_> = inflight.pop_front().unwrap();
                        h.wait().expect("NOP");
                    }
                    inflight.push_back(q.submit(&nop(), 16, false).expect("submit"));
                }
                for h in inflight {
                    h.wait().expect("NOP");
                }
            });
        }
    });
    let st = q.stats(Opcode::NOP);
    assert_eq!(st.count, (THREADS * PER_THREAD) as u64);
    assert_eq!(st.errors + st.timeouts, 0);
    assert_eq!(q.snapshot().busy, 0);
    q.set_mode(Mode::Polling, Duration::from_secs(1))
        .expect("every slot can be taken once the storm is over");
    assert_eq!(q.snapshot().busy, 0);
    q.exec(&nop(), 16).expect("NOP after the mode switch");
}
