//! What the command hot path costs in BAR accesses, counted by the in-process
//! backend (`LocalFunction::bar0_counts`). Behind a trapped BAR (a VM, the
//! QEMU guest) every access is a guest exit and a message to the device, a
//! read a whole round trip (~80 us in the QEMU guest against ~50 us for a
//! NOP end to end): the hot path reads nothing, writes one command doorbell
//! per command, and one per batch with `Queue::submit_batch`
//! (docs/performance.md, "Through real VFIO"). The counts are exact: nothing
//! here depends on timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cxu_driver::{Device, DriverConfig, Mode, QueueConfig};
use cxu_hal::PciFunction;
use cxu_qemu::model::access::{Bar0Class, Bar0Counts};
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

const N: u64 = 200;

fn nop() -> [u8; 16] {
    common::nop()
}

/// `(reads, command doorbell writes, other writes)` of `d`.
fn split(d: &Bar0Counts) -> (u64, u64, u64) {
    let db = d.writes_of(Bar0Class::CmdDoorbell);
    (d.total_reads(), db, d.total_writes() - db)
}

/// A probed device whose health poller stays out of the measured window.
fn probed(events: bool) -> (Arc<LocalFunction>, Arc<Device>) {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let pf: Arc<dyn PciFunction> = f.clone();
    let cfg = DriverConfig {
        health_interval: Duration::from_secs(3600),
        use_events: events,
        ..DriverConfig::default()
    };
    let d = Device::probe(pf, cfg).expect("probe");
    (f, d)
}

#[test]
fn depth_one_commands_read_nothing_and_ring_once_each_in_both_modes() {
    for events in [false, true] {
        let (f, d) = probed(events);
        let mode = d.summary().expect("summary").mode;
        assert_eq!(mode == Mode::Events, events);
        let before = f.bar0_counts();
        for _ in 0..N {
            d.exec(&nop(), 16).expect("NOP");
        }
        let (reads, doorbells, other) = split(&f.bar0_counts().since(&before));
        println!("{mode:?}: {N} NOPs one at a time: {reads} BAR reads, {doorbells} command doorbell writes, {other} other writes");
        assert_eq!(reads, 0, "{mode:?}: BAR reads on the command path");
        assert_eq!(doorbells, N, "{mode:?}: one doorbell write per command");
        d.remove().expect("remove");
    }
}

#[test]
fn a_batch_is_one_doorbell_write_and_reads_nothing() {
    let r = common::rig(Profile::default(), QueueConfig::default());
    let depth = r.queue.regular_slots() as usize;
    let input = nop();
    let batch: Vec<(&[u8], usize)> = (0..depth).map(|_| (&input[..], 16)).collect();
    let rounds = 10u64;
    let before = r.function.bar0_counts();
    for _ in 0..rounds {
        let hs = r.queue.submit_batch(&batch, false).expect("submit_batch");
        assert_eq!(hs.len(), depth);
        for h in hs {
            h.wait().expect("NOP");
        }
    }
    let (reads, doorbells, other) = split(&r.function.bar0_counts().since(&before));
    println!(
        "{rounds} batches of {depth} NOPs: {reads} BAR reads, {doorbells} command doorbell writes, {other} other writes"
    );
    assert_eq!((reads, doorbells, other), (0, rounds, 0));
}

#[test]
fn a_batch_larger_than_the_slots_is_refused_before_anything_is_posted() {
    let r = common::rig(Profile::default(), QueueConfig::default());
    let depth = r.queue.regular_slots() as usize;
    let input = nop();
    // Its last command would wait for a slot only its own handles free.
    let batch: Vec<(&[u8], usize)> = (0..=depth).map(|_| (&input[..], 16)).collect();
    let before = r.function.bar0_counts();
    assert!(r.queue.submit_batch(&batch, false).is_err());
    assert_eq!(r.function.bar0_counts(), before, "nothing was rung");
    assert_eq!(r.queue.snapshot().busy, 0, "every slot is free");
    // One that fits runs.
    for h in r.queue.submit_batch(&batch[..depth], false).expect("batch") {
        h.wait().expect("NOP");
    }
}

#[test]
fn a_batch_with_an_undecodable_header_is_refused_before_anything_is_posted() {
    let r = common::rig(Profile::default(), QueueConfig::default());
    let input = nop();
    // The last command's header is cut short: the first two must not go.
    let batch: Vec<(&[u8], usize)> = vec![(&input[..], 16), (&input[..], 16), (&input[..3], 16)];
    let before = r.function.bar0_counts();
    assert!(r.queue.submit_batch(&batch, false).is_err());
    assert_eq!(r.function.bar0_counts(), before, "nothing was rung");
    assert_eq!(r.queue.snapshot().busy, 0, "every slot is free");
}

/// An idle device in events mode costs no EQ doorbell writes: the EQ thread
/// wakes every `eq_poll` to look, and re-arming an EQ that is still armed,
/// with nothing consumed, was one trapped write per look (10 a second at the
/// default 100 ms) for nothing.
#[test]
fn an_idle_eq_is_not_rearmed_on_every_look() {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let pf: Arc<dyn PciFunction> = f.clone();
    let cfg = DriverConfig {
        health_interval: Duration::from_secs(3600),
        use_events: true,
        eq_poll: Duration::from_millis(5),
        ..DriverConfig::default()
    };
    let d = Device::probe(pf, cfg).expect("probe");
    assert_eq!(d.summary().expect("summary").mode, Mode::Events);
    d.exec(&nop(), 16).expect("NOP");
    // Settle: the EQ thread's next looks arm the EQ once nobody leads.
    std::thread::sleep(Duration::from_millis(100));
    let before = f.bar0_counts();
    std::thread::sleep(Duration::from_millis(500));
    let d2 = f.bar0_counts().since(&before);
    let eq = d2.writes_of(Bar0Class::EqDoorbell);
    println!(
        "idle 500 ms at a 5 ms look: {eq} EQ doorbell writes, {} BAR reads",
        d2.total_reads()
    );
    assert!(eq <= 2, "{eq} EQ doorbell writes while idle");
    assert_eq!(d2.total_reads(), 0);
    d.remove().expect("remove");
}
