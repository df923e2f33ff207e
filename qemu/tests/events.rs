//! Event queues: CREATE_EQ/DESTROY_EQ, command-completion, page-request and
//! port-change EQEs with the owner bit, the EQ doorbell (arm / no arm), MSI-X
//! interrupts through eventfds, overruns.

mod common;

use std::time::Duration;

use common::*;
use cxu_hal::ifc::eqe::{port_change, EventType};
use cxu_hal::ifc::{CmdStatus, Opcode};
use cxu_hal::os::wait_eventfd;
use cxu_hal::PciFunction;
use cxu_qemu::model::{syndrome, Profile};

const SHORT: Duration = Duration::from_millis(30);
const LONG: Duration = Duration::from_secs(5);

#[test]
fn command_completions_post_eqes_and_interrupt_when_armed() {
    let h = Harness::new(Profile::default());
    let (_pages, uar) = initialized(&h);
    let irq = h.f.enable_msix(2).unwrap();
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    // 4 entries: small enough to wrap.
    let c = create_eq(&h, &mem, 2, uar, 1, &[EventType::CMD]);
    c.ok();
    let eqn = c.out[0x0B];
    // The CREATE_EQ that made the only command EQ gets no completion event:
    // Linux polls it and switches to events after it, and a stale EQE for
    // its slot would complete the next command there. The next command does.
    assert_eq!(h.ctl.eqs()[0].producer_index, 0);
    h.exec_in(0, &msg(Opcode::NOP, 0, 16), 16).ok();
    wait_eqes(&h, 1);
    let e = eqe(&mem, 0);
    assert_eq!((e.event_type, e.owner & 1), (EventType::CMD, 0));
    assert_eq!(e.cmd_vector(), 1 << 0);
    // Not armed yet: no interrupt.
    assert_eq!(wait_eventfd(&irq[1], Some(SHORT)).unwrap(), None);

    // Arming with an unconsumed EQE fires at once.
    eq_doorbell(&h, uar, eqn, 0, true);
    assert!(wait_eventfd(&irq[1], Some(LONG)).unwrap().is_some());
    assert_eq!(
        wait_eventfd(&irq[0], Some(SHORT)).unwrap(),
        None,
        "wrong vector fired"
    );

    // Consume it and re-arm: the next completion (slot 5) fires again.
    eq_doorbell(&h, uar, eqn, 1, true);
    h.exec_in(5, &msg(Opcode::NOP, 0, 16), 16).ok();
    assert!(wait_eventfd(&irq[1], Some(LONG)).unwrap().is_some());
    wait_eqes(&h, 2);
    let e = eqe(&mem, 1);
    assert_eq!(
        (e.event_type, e.cmd_vector(), e.owner & 1),
        (EventType::CMD, 1 << 5, 0)
    );

    // Disarmed after firing: the next EQE arrives without an interrupt.
    h.exec_in(6, &msg(Opcode::NOP, 0, 16), 16).ok();
    wait_eqes(&h, 3);
    assert_eq!(eqe(&mem, 2).cmd_vector(), 1 << 6);
    assert_eq!(wait_eventfd(&irq[1], Some(SHORT)).unwrap(), None);
    // The no-arm doorbell moves the consumer index only.
    eq_doorbell(&h, uar, eqn, 3, false);
    h.exec_in(7, &msg(Opcode::NOP, 0, 16), 16).ok();
    assert_eq!(wait_eventfd(&irq[1], Some(SHORT)).unwrap(), None);
    // Entry 3, then the ring wraps: entry 0 gets owner 1 on the second pass.
    h.exec_in(8, &msg(Opcode::NOP, 0, 16), 16).ok();
    wait_eqes(&h, 5);
    let (e3, e0) = (eqe(&mem, 3), eqe(&mem, 0));
    assert_eq!((e3.cmd_vector(), e3.owner & 1), (1 << 7, 0));
    assert_eq!((e0.cmd_vector(), e0.owner & 1), (1 << 8, 1));
    let info = h.ctl.eqs();
    assert_eq!((info[0].producer_index, info[0].consumer_index), (5, 3));
}

#[test]
fn a_full_eq_drops_events_and_counts_the_overrun() {
    let h = Harness::new(Profile::default());
    let (_pages, uar) = initialized(&h);
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    create_eq(&h, &mem, 2, uar, 0, &[EventType::CMD]).ok();
    // Four completions fill the four entries (CREATE_EQ itself posts none).
    for s in 0..4 {
        h.exec_in(s, &msg(Opcode::NOP, 0, 16), 16).ok();
    }
    let before = h.ctl.counters().events_dropped;
    h.exec_in(4, &msg(Opcode::NOP, 0, 16), 16).ok();
    wait_until("the overrun", || h.ctl.counters().events_dropped > before);
    assert_eq!(h.ctl.counters().events_dropped, before + 1);
    assert_eq!(h.ctl.eqs()[0].overruns, 1);
    // The entry that would have been overwritten still holds the first event.
    assert_eq!(eqe(&mem, 0).cmd_vector(), 1);
}

#[test]
fn page_requests_ask_for_and_offer_back_pages() {
    let h = Harness::new(Profile::default());
    let (_pages, uar) = initialized(&h);
    let irq = h.f.enable_msix(1).unwrap();
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    let c = create_eq(&h, &mem, 4, uar, 0, &[EventType::PAGE_REQUEST]);
    c.ok();
    let eqn = c.out[0x0B];
    eq_doorbell(&h, uar, eqn, 0, true);

    assert!(h.ctl.request_pages(5));
    assert!(wait_eventfd(&irq[0], Some(LONG)).unwrap().is_some());
    let r = eqe(&mem, 0).page_request();
    assert_eq!((r.func_id, r.num_pages, r.release_all), (0, 5, false));
    let q = h.simple(Opcode::QUERY_PAGES, 3);
    assert_eq!(q.be32(0x0C), 5);
    let more = DmaMem::new(&h.f, PAGES_IOVA + 0x10_0000, 5 * 4096);
    h.give_pages(&more, 0, 5).ok();
    assert_eq!(h.simple(Opcode::QUERY_PAGES, 3).be32(0x0C), 0);

    // Firmware offers 3 back; the kernel takes exactly what was offered.
    assert!(h.ctl.request_pages(-3));
    assert_eq!(eqe(&mem, 1).page_request().num_pages, -3);
    let (c, got) = h.take_pages(3);
    c.ok();
    assert_eq!(got.len(), 3);
    assert_eq!(h.simple(Opcode::QUERY_PAGES, 3).be32(0x0C), 0);
    // Reclaim returns what is asked in any state (the kernel's probe error
    // path reclaims everything without TEARDOWN_HCA); firmware then asks for
    // the pages it still needs.
    let (c, got) = h.take_pages(2);
    c.ok();
    assert_eq!(got.len(), 2);
    assert_eq!(h.simple(Opcode::QUERY_PAGES, 3).be32(0x0C), 2);
}

#[test]
fn port_change_events_name_the_port() {
    let h = Harness::new(Profile {
        num_ports: 2,
        ..Profile::default()
    });
    let (_pages, uar) = initialized(&h);
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    create_eq(&h, &mem, 3, uar, 0, &[EventType::PORT_CHANGE]).ok();
    assert!(h.ctl.port_change_event(2, port_change::DOWN));
    assert!(h.ctl.port_change_event(1, port_change::ACTIVE));
    let (a, b) = (eqe(&mem, 0), eqe(&mem, 1));
    assert_eq!(
        (a.event_type, a.sub_type, a.port()),
        (EventType::PORT_CHANGE, port_change::DOWN, 2)
    );
    assert_eq!((b.sub_type, b.port()), (port_change::ACTIVE, 1));
}

#[test]
fn events_without_a_subscribed_eq_are_dropped() {
    let h = Harness::new(Profile::default());
    let (_pages, _uar) = initialized(&h);
    assert!(!h.ctl.request_pages(1));
    assert!(!h.ctl.port_change_event(1, port_change::ACTIVE));
    assert_eq!(h.ctl.counters().eqes_posted, 0);
}

#[test]
fn create_eq_checks_its_context_and_pages() {
    let h = Harness::new(Profile {
        log_max_eq: 1,
        log_max_eq_sz: 8,
        ..Profile::default()
    });
    let (_pages, uar) = initialized(&h);
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4 * 4096);
    let fail = |c: Completion, st: CmdStatus, synd: u32| {
        assert_eq!((c.header().status, c.header().syndrome), (st, synd));
    };
    fail(
        create_eq(&h, &mem, 9, uar, 0, &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::EQ_SIZE,
    );
    fail(
        create_eq(&h, &mem, 2, uar + 1, 0, &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::UAR_NOT_ALLOCATED,
    );
    fail(
        create_eq(&h, &mem, 2, uar, 200, &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::EQ_BAD_VECTOR,
    );

    let unmapped = DmaMem::new(&h.f, EQ_IOVA + 0x10_0000, 4096);
    unmapped.unmap();
    let faults = h.ctl.counters().iommu_faults;
    fail(
        create_eq(&h, &unmapped, 2, uar, 0, &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::EQ_PAS_UNMAPPED,
    );
    assert_eq!(h.ctl.counters().iommu_faults, faults + 1);
    assert_eq!(h.ctl.iommu_faults().last().unwrap().iova, unmapped.iova);
    assert!(h.ctl.eqs().is_empty());

    // 256 entries = 4 pages but only one pas entry given.
    let mut m = msg(Opcode::CREATE_EQ, 0, 0x118);
    m[0x1C] = 8;
    m[0x1D..0x20].copy_from_slice(&uar.to_be_bytes()[1..]);
    m[0x110..0x118].copy_from_slice(&mem.addr(0).to_be_bytes());
    fail(
        h.exec(&m, 16),
        CmdStatus::BAD_INP_LEN_ERR,
        syndrome::EQ_PAS_MISSING,
    );

    let a = create_eq(&h, &mem, 2, uar, 0, &[]);
    a.ok();
    create_eq(&h, &mem, 2, uar, 0, &[]).ok();
    fail(
        create_eq(&h, &mem, 2, uar, 0, &[]),
        CmdStatus::LIM_ERR,
        syndrome::EQ_LIMIT,
    );
    let mut d = msg(Opcode::DEALLOC_UAR, 0, 16);
    d[0x08..0x0C].copy_from_slice(&uar.to_be_bytes());
    fail(h.exec(&d, 16), CmdStatus::RES_BUSY, syndrome::UAR_IN_USE);
    let mut x = msg(Opcode::DESTROY_EQ, 0, 16);
    x[0x0B] = a.out[0x0B];
    h.exec(&x, 16).ok();
    assert_eq!(h.ctl.eqs().len(), 1);
}

#[test]
fn release_all_pages_drops_every_page_with_one_event() {
    let h = Harness::new(Profile::default());
    let (_pages, uar) = initialized(&h);
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    create_eq(&h, &mem, 3, uar, 0, &[EventType::PAGE_REQUEST]).ok();
    let held = h.ctl.pages().len();
    assert!(held > 0);
    assert!(h.ctl.release_all_pages());
    let r = eqe(&mem, 0).page_request();
    assert!(r.release_all);
    assert_eq!(r.num_pages, -(held as i32));
    assert!(h.ctl.pages().is_empty());
    let (_, none) = h.take_pages(10);
    assert!(none.is_empty(), "released pages cannot be taken again");
}
