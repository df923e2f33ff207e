//! Issue 14: events a lying device writes, against the whole stack on the
//! model: release-all for another function (or without the capability),
//! an EQE storm during removal, bogus EQEs, init-segment timeouts at both
//! extremes, and a page-request flood. Every case ends with a removal that
//! leaves no firmware page, no mailbox block in flight and no DMA mapping.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fast_profile, short_config, wait_for, Stack};
use cxu_driver::iseg_timeouts::{MAX_CMD_EXEC_TO, MIN_CMD_EXEC_TO};
use cxu_driver::{Device, DriverConfig};
use cxu_hal::ifc::eqe::{self, port_change, EventType};
use cxu_hal::ifc::iseg::encode_timeout;
use cxu_hal::ifc::Opcode;
use cxu_hal::PciFunction;
use cxu_qemu::LocalFunction;

const CMD_TIMEOUT: Duration = Duration::from_secs(5);
const BOUND: Duration = Duration::from_secs(10);

fn stack() -> Stack {
    Stack::up(
        Arc::new(LocalFunction::new(fast_profile())),
        short_config(CMD_TIMEOUT),
    )
    .expect("stack")
}

/// Removal leaves nothing behind, as every fault-matrix cell checks.
fn remove_clean(s: Stack) {
    let t = Instant::now();
    let r = s.remove().expect("remove");
    assert!(t.elapsed() < BOUND, "removal took {:?}", t.elapsed());
    assert_eq!(r.pages.outstanding, 0, "{r:?}");
    assert_eq!(
        (r.dma.mapped_regions, r.dma.leaked_regions),
        (0, 0),
        "{r:?}"
    );
    assert!(s.control.pages().is_empty(), "the model still holds pages");
    let f = s.function.clone();
    drop(s);
    assert_eq!(f.device().iommu().mappings(), 0);
}

fn page_requests_seen(s: &Stack) -> u64 {
    s.device.eq_counters().page_requests.load(Ordering::Relaxed)
}

#[test]
fn release_all_for_another_function_leaves_the_accounting_alone() {
    let s = stack();
    let held = s.device.page_stats().unwrap().outstanding;
    assert!(held > 0 && held == s.control.pages().len() as u64);
    let before = page_requests_seen(&s);
    // Another function, the embedded CPU: not this function's pages.
    assert!(s.control.page_request_event(3, false, true, -(held as i32)));
    assert!(s.control.page_request_event(0, true, true, -(held as i32)));
    assert!(wait_for(BOUND, || page_requests_seen(&s) >= before + 2));
    // A NOP through the queue: the EQ thread has dispatched both by now.
    s.device.exec(&nop(), 16).expect("NOP");
    let now = s.device.page_stats().unwrap();
    assert_eq!(now.outstanding, held, "{now:?}");
    assert_eq!(now.reclaimed, 0, "{now:?}");
    remove_clean(s);
}

fn nop() -> [u8; 16] {
    cxu_hal::ifc::commands::hca::nop_in()
}

#[test]
fn an_eqe_storm_does_not_keep_removal_from_finishing() {
    let s = stack();
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (c, stop) = (s.control.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // A ring's worth a millisecond: far more than the driver
                // ever gets from a healthy device, with a pause so the
                // model's command workers still get the firmware lock on a
                // 2-core machine (a ring kept full is `eq::tests`).
                for _ in 0..256 {
                    n += u64::from(c.port_change_event(1, port_change::ACTIVE));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            n
        })
    };
    assert!(wait_for(BOUND, || s.device.port_events(1).0 > 1000));
    // Commands still complete under the storm.
    for _ in 0..50 {
        s.device.exec(&nop(), 16).expect("NOP under the storm");
    }
    let t = Instant::now();
    let r = s.remove().expect("remove under the storm");
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let posted = storm.join().unwrap();
    assert!(took < BOUND, "removal took {took:?} under {posted} EQEs");
    assert_eq!((r.pages.outstanding, r.dma.mapped_regions), (0, 0), "{r:?}");
}

#[test]
fn bogus_eqes_are_counted_and_ignored() {
    let s = stack();
    let before = s.device.eq_counters().cmd_eqes.load(Ordering::Relaxed);
    let mut vector = [0u8; eqe::DATA_SIZE];
    vector[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    // Completions for every slot, none posted; a port the device does not
    // have; a reclaim far past what the kernel allows.
    for _ in 0..100 {
        assert!(s.control.raw_event(EventType::CMD, 0, vector));
    }
    assert!(s.control.port_change_event(15, port_change::DOWN));
    assert!(s.control.page_request_event(0, false, false, i32::MIN));
    assert!(wait_for(BOUND, || {
        s.device.eq_counters().cmd_eqes.load(Ordering::Relaxed) >= before + 100
    }));
    // The page worker may still be serving the reclaim on the page slot;
    // no bogus completion may leave a slot busy once it is done.
    let idle = wait_for(BOUND, || {
        s.device
            .slots()
            .is_ok_and(|x| x.busy == 0 && x.stalled == 0)
    });
    assert!(idle, "{:?}", s.device.slots());
    for _ in 0..50 {
        s.device.exec(&nop(), 16).expect("NOP after bogus EQEs");
    }
    remove_clean(s);
}

fn probe_with_iseg_timeouts(exec: u32, init: u32) -> (Arc<LocalFunction>, Arc<Device>) {
    let f = Arc::new(LocalFunction::new(fast_profile()));
    f.control().set_iseg_timeouts(exec, init);
    let pf: Arc<dyn PciFunction> = f.clone();
    let cfg = DriverConfig {
        use_device_timeouts: true,
        ..short_config(CMD_TIMEOUT)
    };
    (f, Device::probe(pf, cfg).expect("probe"))
}

#[test]
fn init_segment_timeouts_are_clamped_at_both_ends() {
    let huge = encode_timeout(3, 0xF_FFFF).unwrap();
    let tiny = encode_timeout(0, 1).unwrap();
    for (exec, init, want) in [(huge, tiny, MAX_CMD_EXEC_TO), (tiny, huge, MIN_CMD_EXEC_TO)] {
        let (f, d) = probe_with_iseg_timeouts(exec, init);
        assert_eq!(d.cmd_timeout().unwrap(), want);
        // A 1 ms command timeout would fail this at once.
        f.control()
            .set_latency(Opcode::NOP, Duration::from_millis(20));
        d.exec(&nop(), 16).expect("a 20 ms NOP");
        let r = d.remove().expect("remove");
        assert_eq!((r.pages.outstanding, r.dma.mapped_regions), (0, 0));
    }
}

#[test]
fn a_page_request_flood_is_coalesced() {
    let s = stack();
    let d = &s.device;
    let gives = |d: &Device| d.cmd_stats(Opcode::MANAGE_PAGES).unwrap().count;
    // Each MANAGE_PAGES takes a while: requests pile up behind the first.
    s.control
        .set_latency(Opcode::MANAGE_PAGES, Duration::from_millis(50));
    let before = (gives(d), page_requests_seen(&s));
    let mut taken = 0u64;
    for n in 1..=2000 {
        taken += u64::from(s.control.page_request_event(0, false, false, n % 8 + 1));
    }
    assert!(taken >= 100, "the EQ took only {taken} requests");
    assert!(wait_for(BOUND, || page_requests_seen(&s) >= before.1 + taken));
    // The worker serves the last one waiting; then it is idle.
    let settled = wait_for(BOUND, || {
        let a = gives(d);
        std::thread::sleep(Duration::from_millis(200));
        a == gives(d)
    });
    assert!(settled);
    let served = gives(d) - before.0;
    assert!(
        served * 4 < taken,
        "{served} MANAGE_PAGES for {taken} requests: not coalesced"
    );
    s.control.set_latency(Opcode::MANAGE_PAGES, Duration::ZERO);
    assert_eq!(d.page_stats().unwrap().failed_requests, 0);
    remove_clean(s);
}
