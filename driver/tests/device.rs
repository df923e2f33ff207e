//! The whole driver against the device model's in-process backend: probe and
//! remove, events mode, page requests during a storm, removal with commands in
//! flight, fatal errors and recovery.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::nop;
use cxu_driver::{Device, DriverConfig, Error, FatalCause, Features, Mode, PortType, QueueConfig};
use cxu_hal::ifc::eqe::port_change;
use cxu_hal::ifc::{CmdStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::{Fault, HcaState, Profile};
use cxu_qemu::LocalFunction;

fn cfg() -> DriverConfig {
    DriverConfig {
        queue: QueueConfig {
            timeout: Duration::from_secs(5),
            slot_wait: Duration::from_secs(5),
            ..QueueConfig::default()
        },
        health_interval: Duration::from_millis(20),
        eq_poll: Duration::from_millis(20),
        fw_pages: 512,
        ..DriverConfig::default()
    }
}

fn function(p: Profile) -> Arc<LocalFunction> {
    Arc::new(LocalFunction::new(p))
}

fn probe(f: &Arc<LocalFunction>, c: DriverConfig) -> Arc<Device> {
    let pf: Arc<dyn PciFunction> = f.clone();
    Device::probe(pf, c).expect("probe")
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Events mode under load: the waiters consume a busy EQ themselves and keep
/// it unarmed (no interrupt per completion), and still tell the device how
/// far they have read, so the ring wraps many times without an overrun or a
/// lost command.
#[test]
fn a_busy_eq_is_polled_without_overruns_or_an_interrupt_per_command() {
    let f = function(Profile::default());
    let ctl = f.control();
    let d = probe(&f, cfg());
    assert_eq!(d.summary().unwrap().mode, Mode::Events);
    let entries = 1u64 << ctl.eqs()[0].log_size;
    let per_thread = 4 * entries;
    let before = d.eq_counters().interrupts.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per_thread {
                    d.exec(&nop(), 16).expect("NOP in events mode");
                }
            });
        }
    });
    let commands = 4 * per_thread;
    let interrupts = d.eq_counters().interrupts.load(Ordering::Relaxed) - before;
    let eq = &ctl.eqs()[0];
    assert_eq!(eq.overruns, 0, "{eq:?}");
    assert!(
        u64::from(eq.producer_index) > 4 * entries,
        "the ring wrapped: {eq:?}"
    );
    wait_until(
        "every command's EQE consumed",
        Duration::from_secs(10),
        || d.eq_counters().cmd_eqes.load(Ordering::Relaxed) >= commands,
    );
    assert!(
        interrupts < commands,
        "{interrupts} interrupts for {commands} commands: the busy EQ was not polled"
    );
    d.remove().unwrap();
}

#[test]
fn probe_and_remove_twice_on_one_function() {
    let p = Profile::default();
    let boot_init = u64::from(p.boot_pages + p.init_pages);
    let f = function(p);
    let ctl = f.control();
    for round in 0..2 {
        let d = probe(&f, cfg());
        let s = d.summary().unwrap();
        assert_eq!(s.fw_version.to_string(), "16.35.2000");
        assert_eq!((s.ports, s.port_type), (1, PortType::Eth));
        assert!(
            s.features
                .contains(Features::TRAPS | Features::TRAP_POLICERS | Features::PAGE_REQUESTS),
            "{:?}",
            s.features
        );
        assert!(!s.features.contains(Features::CMDIF_CHECKSUM));
        assert_eq!(s.mode, Mode::Events);
        assert_eq!(s.fw_pages, boot_init);
        assert!(s.to_string().contains("firmware:  16.35.2000"));
        assert_eq!(ctl.hca_state(), HcaState::Initialized);
        assert_eq!(ctl.pages().len() as u64, boot_init);
        assert_eq!(ctl.issi(), 1);
        assert_eq!(ctl.eqs().len(), 1);
        assert_eq!(ctl.uars().len(), 1);
        assert!(ctl.driver_version().unwrap().starts_with("cxu,cxu-driver,"));
        let caps = d.caps().unwrap();
        assert_eq!(caps.log_max_eq, 4);
        assert!(caps.max_trap_policers > 0);

        d.exec(&nop(), 16).unwrap();
        // Its waiter may find the entry back before the EQE is written: the
        // EQE is consumed all the same, by the EQ thread's next look.
        wait_until(
            &format!("round {round}: the completion's event"),
            Duration::from_secs(10),
            || d.eq_counters().cmd_eqes.load(Ordering::Relaxed) > 0,
        );

        let report = d.remove().unwrap();
        assert_eq!(report.pages.outstanding, 0);
        assert_eq!(report.pages.given, boot_init);
        assert_eq!(report.pages.reclaimed, boot_init);
        assert_eq!(report.dma.mapped_regions, 0, "all DMA memory unmapped");
        assert_eq!(report.dma.leaked_regions, 0);
        assert_eq!(ctl.hca_state(), HcaState::Disabled);
        assert!(ctl.pages().is_empty());
        assert!(ctl.eqs().is_empty());
        assert!(ctl.uars().is_empty());
        assert!(matches!(d.exec(&nop(), 16), Err(Error::DeviceRemoved)));
        assert!(matches!(d.remove(), Err(Error::DeviceRemoved)));
        assert!(matches!(d.summary(), Err(Error::DeviceRemoved)));
    }
}

#[test]
fn events_mode_storm_from_four_threads() {
    let f = function(Profile::default());
    let d = probe(&f, cfg());
    let before = d.eq_counters().cmd_eqes.load(Ordering::Relaxed);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let d = d.clone();
            std::thread::spawn(move || {
                let msg = nop();
                for _ in 0..500 {
                    d.with_queue(|q| {
                        let hs: Vec<_> = (0..8)
                            .map(|_| q.submit(&msg, 16, true))
                            .collect::<Result<_, _>>()?;
                        for h in hs {
                            assert_eq!(h.wait()?[0], 0);
                        }
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(d.cmd_stats(Opcode::NOP).unwrap().count, 16_000);
    // A waiter that finds its own entry back returns before its EQE is
    // read; the EQE is consumed all the same, by a later waiter or the EQ
    // thread's next look.
    wait_until(
        "one completion EQE per command",
        Duration::from_secs(10),
        || d.eq_counters().cmd_eqes.load(Ordering::Relaxed) - before >= 16_000,
    );
    assert_eq!(d.slots().unwrap().busy, 0);
    d.remove().unwrap();
}

/// Firmware asks for pages, then offers some back, while four threads keep the
/// regular slots busy; the page worker serves both on the reserved slot.
#[test]
fn page_requests_in_the_middle_of_a_command_storm() {
    let p = Profile::default();
    let boot_init = u64::from(p.boot_pages + p.init_pages);
    let f = function(p);
    let ctl = f.control();
    let d = probe(&f, cfg());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let storm: Vec<_> = (0..4)
        .map(|_| {
            let (d, stop, done) = (d.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let msg = nop();
                while !stop.load(Ordering::Relaxed) {
                    d.with_queue(|q| {
                        let hs: Vec<_> = (0..8)
                            .map(|_| q.submit(&msg, 16, true))
                            .collect::<Result<_, _>>()?;
                        for h in hs {
                            h.wait()?;
                        }
                        Ok(())
                    })
                    .unwrap();
                    done.fetch_add(8, Ordering::Relaxed);
                }
            })
        })
        .collect();
    wait_until("storm start", Duration::from_secs(5), || {
        done.load(Ordering::Relaxed) > 1000
    });
    assert!(ctl.request_pages(300), "an EQ took the page request");
    wait_until("pages given", Duration::from_secs(10), || {
        d.page_stats().unwrap().outstanding == boot_init + 300
    });
    assert!(ctl.request_pages(-120));
    wait_until("pages reclaimed", Duration::from_secs(10), || {
        d.page_stats().unwrap().reclaimed == 120
    });
    stop.store(true, Ordering::Relaxed);
    for t in storm {
        t.join().unwrap();
    }
    assert_eq!(ctl.pages().len() as u64, boot_init + 180);
    let ps = d.page_stats().unwrap();
    assert_eq!((ps.given, ps.failed_requests), (boot_init + 300, 0));
    assert!(d.cmd_stats(Opcode::MANAGE_PAGES).unwrap().count >= 4);
    let report = d.remove().unwrap();
    assert_eq!(report.pages.outstanding, 0);
    assert_eq!(report.pages.reclaimed, boot_init + 300);
    assert!(ctl.pages().is_empty());
    assert_eq!(report.dma.mapped_regions, 0);
}

#[test]
fn remove_while_commands_are_in_flight() {
    let f = function(Profile::default());
    let ctl = f.control();
    let d = probe(&f, cfg());
    ctl.set_latency(Opcode::NOP, Duration::from_millis(300));
    let users: Vec<_> = (0..6)
        .map(|_| {
            let d = d.clone();
            std::thread::spawn(move || d.exec(&nop(), 16))
        })
        .collect();
    wait_until("commands in flight", Duration::from_secs(5), || {
        d.slots().map(|s| s.busy.count_ones() >= 6).unwrap_or(false)
    });
    let t = Instant::now();
    let report = d.remove().unwrap();
    for u in users {
        match u.join().unwrap() {
            Err(Error::DeviceRemoved) => {}
            other => panic!("in-flight command got {other:?}"),
        }
    }
    // Teardown waited for the device to give the slots back before DESTROY_EQ.
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(report.pages.outstanding, 0);
    assert_eq!(report.dma.mapped_regions, 0);
    assert_eq!(ctl.hca_state(), HcaState::Disabled);
    assert_eq!(ctl.busy_slots(), 0);
}

#[test]
fn fatal_error_fails_commands_and_recovery_brings_the_device_back() {
    let f = function(Profile::default());
    let ctl = f.control();
    let d = probe(&f, cfg());
    ctl.set_latency(Opcode::NOP, Duration::from_secs(2));
    let inflight = {
        let d = d.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            (d.exec(&nop(), 16), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    ctl.fatal_error(0x07); // DEAD_IRISC
    wait_until("fatal detected", Duration::from_secs(2), || d.is_fatal());
    let (res, took) = inflight.join().unwrap();
    match res {
        Err(Error::FwFatal {
            cause: FatalCause::Syndrome(s),
        }) => assert_eq!(s.0, 0x07),
        other => panic!("in-flight command got {other:?}"),
    }
    // The NOP's 2 s latency is below the 5 s timeout: a waiter that missed the
    // fatal error would time out, never fail before the timeout.
    assert!(
        took < cfg().queue.timeout,
        "failed at the fatal error, not at the timeout: {took:?}"
    );
    let e = d.exec(&nop(), 16).unwrap_err();
    assert!(e.to_string().contains("DEAD_IRISC"), "{e}");
    let report = d.health_report().unwrap();
    assert_eq!(report.syndrome.0, 0x07);
    assert_eq!(report.buffer[0x3D], 0x07, "health buffer recorded");

    ctl.set_latency(Opcode::NOP, Duration::ZERO);
    d.recover().unwrap();
    assert!(!d.is_fatal());
    d.exec(&nop(), 16).unwrap();
    assert_eq!(ctl.hca_state(), HcaState::Initialized);
    let r = d.remove().unwrap();
    assert_eq!(r.pages.outstanding, 0);
    assert_eq!(r.dma.mapped_regions, 0);
}

#[test]
fn stopped_health_counter_is_fatal_after_three_misses() {
    // The counter stops once the device is up (stopped from power-on, a
    // probe slower than three polls, as on a loaded machine, would fail).
    let f = function(Profile::default());
    let d = probe(&f, cfg());
    f.control().stop_health_counter();
    wait_until("fatal", Duration::from_secs(10), || d.is_fatal());
    match d.exec(&nop(), 16) {
        Err(Error::FwFatal {
            cause: FatalCause::HealthCounterStuck(3),
        }) => {}
        other => panic!("{other:?}"),
    }
    d.remove().unwrap();
}

#[test]
fn port_change_events_are_recorded() {
    let f = function(Profile {
        num_ports: 2,
        ..Profile::default()
    });
    let ctl = f.control();
    let d = probe(&f, cfg());
    assert!(ctl.port_change_event(2, port_change::ACTIVE));
    assert!(ctl.port_change_event(2, port_change::DOWN));
    wait_until("port events", Duration::from_secs(2), || {
        d.port_events(2).0 == 2
    });
    assert_eq!(d.port_events(2), (2, port_change::DOWN));
    assert_eq!(d.port_events(1).0, 0);
    d.remove().unwrap();
}

#[test]
fn firmware_that_never_boots_is_a_bounded_wait() {
    let f = function(Profile {
        boot_time: Duration::from_secs(3600),
        ..Profile::default()
    });
    let pf: Arc<dyn PciFunction> = f.clone();
    let c = DriverConfig {
        fw_pre_init_timeout: Duration::from_millis(50),
        ..cfg()
    };
    match Device::probe(pf, c) {
        Err(Error::FwInitTimeout {
            stage: "pre-init", ..
        }) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("probe succeeded"),
    }
}

/// A step failing in the middle of bring-up undoes what was done: pages come
/// back, the HCA is disabled, and a later probe works.
#[test]
fn failed_bring_up_cleans_up_after_itself() {
    let f = function(Profile::default());
    let ctl = f.control();
    ctl.inject(
        Some(Opcode::INIT_HCA),
        Fault::Status {
            status: CmdStatus::BAD_SYS_STATE_ERR,
            syndrome: 0xABCD,
        },
        Some(1),
    );
    let pf: Arc<dyn PciFunction> = f.clone();
    let e = match Device::probe(pf, cfg()) {
        Err(e) => e,
        Ok(_) => panic!("probe succeeded"),
    };
    assert!(
        e.to_string()
            .starts_with("INIT_HCA: INIT_HCA(0x102): status BAD_SYS_STATE_ERR"),
        "{e}"
    );
    assert!(matches!(
        e.root(),
        Error::Command {
            syndrome: 0xABCD,
            ..
        }
    ));
    assert!(ctl.pages().is_empty());
    assert_eq!(ctl.hca_state(), HcaState::Disabled);
    let d = probe(&f, cfg());
    d.remove().unwrap();
}

/// Firmware releases every page by itself (release-all page request): the
/// driver takes them back without a command, and teardown has nothing to reclaim.
#[test]
fn release_all_pages_event_returns_every_page_without_a_command() {
    let p = Profile::default();
    let boot_init = u64::from(p.boot_pages + p.init_pages);
    let f = function(p);
    let ctl = f.control();
    let d = probe(&f, cfg());
    let manage_before = d.cmd_stats(Opcode::MANAGE_PAGES).unwrap().count;
    assert!(ctl.release_all_pages());
    wait_until("release all", Duration::from_secs(2), || {
        d.page_stats().unwrap().outstanding == 0
    });
    let ps = d.page_stats().unwrap();
    assert_eq!((ps.given, ps.reclaimed), (boot_init, boot_init));
    assert_eq!(
        d.cmd_stats(Opcode::MANAGE_PAGES).unwrap().count,
        manage_before
    );
    assert!(ctl.pages().is_empty());
    let r = d.remove().unwrap();
    assert_eq!(r.pages.outstanding, 0);
    assert_eq!(r.dma.mapped_regions, 0);
}

/// In events mode a command the device never completes times out for its
/// caller; the rest of the queue keeps working.
#[test]
fn events_mode_timeout_keeps_the_slot_and_the_queue_works() {
    let f = function(Profile::default());
    let ctl = f.control();
    // Probe and the commands that must succeed run with the 5 s timeout; only
    // the command that must time out gets a short one.
    let d = probe(&f, cfg());
    ctl.inject(Some(Opcode::NOP), Fault::NeverComplete, Some(1));
    let set_timeout = |t| {
        d.with_queue(|q| {
            q.set_timeout(t);
            Ok(())
        })
        .unwrap()
    };
    set_timeout(Duration::from_millis(100));
    let timed_out = d.exec(&nop(), 16);
    set_timeout(cfg().queue.timeout);
    match timed_out {
        Err(Error::Timeout {
            opcode: Opcode::NOP,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(d.slots().unwrap().stalled.count_ones(), 1);
    d.exec(&nop(), 16).unwrap();
    assert_eq!(d.cmd_stats(Opcode::NOP).unwrap().timeouts, 1);
    // Teardown does not wait for a slot given up to the device (nobody waits
    // for it; its late completion would be reclaimed in either mode): with a
    // timeout of a minute in force, removal is still done at once, not after
    // a minute holding every other slot.
    set_timeout(Duration::from_secs(60));
    let t = Instant::now();
    let r = d
        .remove()
        .expect("teardown switches to polling past the stale slot");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(r.pages.outstanding, 0);
    assert!(matches!(d.exec(&nop(), 16), Err(Error::DeviceRemoved)));
}

/// The gate is fair: a stream of callers that always has one inside (each
/// holds the shared side 20 ms, four of them staggered) cannot starve
/// removal. Each caller stops on "device removed" or after 200 rounds (4 s
/// of holding, about 100x what removal needs); removal must end the stream,
/// not wait for it to dry up.
#[test]
fn a_stream_of_callers_cannot_starve_removal() {
    const ROUNDS: u32 = 200;
    let f = function(Profile::default());
    let d = probe(&f, cfg());
    let inside = Arc::new(std::sync::Barrier::new(5));
    let callers: Vec<_> = (0..4)
        .map(|i| {
            let (d, inside) = (d.clone(), inside.clone());
            std::thread::spawn(move || {
                let mut first = true;
                for round in 0..ROUNDS {
                    let r = d.with_queue(|_| {
                        let mut hold = Duration::from_millis(20);
                        if first {
                            // All inside; then staggered, caller i leaving
                            // i x 5 ms after the first, so that at any time
                            // some are inside while others re-enter.
                            first = false;
                            inside.wait();
                            hold += Duration::from_millis(5 * i);
                        }
                        std::thread::sleep(hold);
                        Ok(())
                    });
                    if matches!(r, Err(Error::DeviceRemoved)) {
                        return round;
                    }
                    r.unwrap();
                }
                ROUNDS
            })
        })
        .collect();
    // Every caller is inside (or about to re-enter) before removal starts.
    inside.wait();
    d.remove().unwrap();
    for c in callers {
        let rounds = c.join().unwrap();
        assert!(rounds < ROUNDS, "removal waited for the stream to end");
    }
}

/// Surprise removal: reads return all ones; the health poller sees the dead
/// link, commands fail at once, and remove still finishes.
#[test]
fn surprise_removal_is_detected_and_remove_completes() {
    let f = function(Profile::default());
    let ctl = f.control();
    let d = probe(&f, cfg());
    ctl.surprise_remove();
    wait_until("dead link detected", Duration::from_secs(2), || {
        d.is_fatal()
    });
    match d.exec(&nop(), 16) {
        Err(Error::FwFatal {
            cause: FatalCause::PciDead,
        }) => {}
        other => panic!("{other:?}"),
    }
    let r = d.remove().unwrap();
    assert_eq!(r.dma.mapped_regions, 0);
}

/// A page request larger than the page pool: the driver tells firmware it
/// cannot give (MANAGE_PAGES CANT_GIVE), counts the failure, and nothing leaks.
#[test]
fn page_request_beyond_the_pool_is_refused_and_counted() {
    let p = Profile::default();
    let boot_init = u64::from(p.boot_pages + p.init_pages);
    let f = function(p);
    let ctl = f.control();
    let d = probe(
        &f,
        DriverConfig {
            fw_pages: boot_init as usize + 10,
            ..cfg()
        },
    );
    assert!(ctl.request_pages(100));
    wait_until("refusal", Duration::from_secs(2), || {
        d.page_stats().unwrap().failed_requests == 1
    });
    let ps = d.page_stats().unwrap();
    assert_eq!((ps.given, ps.outstanding), (boot_init, boot_init));
    assert_eq!(ctl.pages().len() as u64, boot_init);
    let r = d.remove().unwrap();
    assert_eq!(r.pages.outstanding, 0);
    assert_eq!(r.dma.mapped_regions, 0);
}

/// A device that powers up with command checksums on: the driver signs what it
/// posts until it has read the caps, then turns checksums off with
/// SET_HCA_CAP (the kernel's `cmdif_checksum = 0`).
#[test]
fn checksums_on_at_power_up_are_turned_off_by_set_hca_cap() {
    let f = function(Profile {
        cmdif_checksum: true,
        ..Profile::default()
    });
    let ctl = f.control();
    assert!(ctl.checksum_enabled());
    let d = probe(&f, cfg());
    assert!(!ctl.checksum_enabled());
    assert_eq!(d.cmd_stats(Opcode::SET_HCA_CAP).unwrap().count, 1);
    assert!(!d.features().unwrap().contains(Features::CMDIF_CHECKSUM));
    d.exec(&nop(), 16).unwrap();
    d.remove().unwrap();
}
