//! Injected faults and what the hardware gives for each: commands that never
//! complete or complete late, wrong status, bad token or signature, oversized
//! output, looped output chains, stray DMA, firmware fatal error, surprise
//! removal, IOMMU faults, function reset.

mod common;

use std::time::Duration;

use common::*;
use cxu_hal::ifc::cmd_entry as ce;
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::mailbox as mb;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::{syndrome, Fault, HcaState, Profile};

const WAIT: Duration = Duration::from_secs(5);
const SHORT: Duration = Duration::from_millis(100);

fn enabled(p: Profile) -> Harness {
    let h = Harness::new(p);
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    h
}

fn nop(h: &Harness, slot: u32) -> Prepared {
    let p = h.prepare(slot, &msg(Opcode::NOP, 0, 16), 16);
    h.post(&p);
    p
}

#[test]
fn a_command_that_never_completes_keeps_its_slot_until_reset() {
    let h = enabled(Profile::default());
    h.ctl
        .inject(Some(Opcode::NOP), Fault::NeverComplete, Some(1));
    let stuck = nop(&h, 0);
    assert!(h.wait(&stuck, SHORT).is_none());
    assert_eq!(h.ctl.busy_slots() & 1, 1);
    // Other slots keep working, and the rule was used up.
    h.wait(&nop(&h, 1), WAIT).unwrap().ok();
    h.ring(1); // ringing the stuck slot again does nothing
    assert!(h.wait(&stuck, SHORT).is_none());
    h.f.reset().unwrap();
    assert_eq!(h.ctl.busy_slots(), 0);
    assert!(
        h.owned_by_hw(0),
        "reset does not complete the stuck command"
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

#[test]
fn a_late_completion_arrives_after_the_callers_timeout() {
    let h = enabled(Profile::default());
    h.ctl.inject(
        Some(Opcode::QUERY_ADAPTER),
        Fault::Delay(Duration::from_millis(300)),
        Some(1),
    );
    let p = h.prepare(2, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    assert!(
        h.wait(&p, Duration::from_millis(50)).is_none(),
        "completed before the delay"
    );
    let c = h.wait(&p, WAIT).expect("late completion never came");
    c.ok();
    assert_eq!(&c.out[0x100..0x10D], b"MT_0000000008");
}

#[test]
fn an_injected_status_is_returned_and_the_command_does_not_run() {
    let h = Harness::new(Profile::default());
    let f = Fault::Status {
        status: CmdStatus::BAD_RES_STATE_ERR,
        syndrome: 0x1234_5678,
    };
    h.ctl.inject(Some(Opcode::ENABLE_HCA), f, Some(1));
    let c = h.simple(Opcode::ENABLE_HCA, 0);
    assert_eq!(
        (c.ds, c.header().status, c.header().syndrome),
        (
            DeliveryStatus::OK,
            CmdStatus::BAD_RES_STATE_ERR,
            0x1234_5678
        )
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    h.simple(Opcode::ENABLE_HCA, 0).ok();

    // A delivery status, any opcode, twice.
    h.ctl.inject(
        None,
        Fault::Delivery(DeliveryStatus::FW_INTERNAL_ERR),
        Some(2),
    );
    assert_eq!(h.simple(Opcode::NOP, 0).ds, DeliveryStatus::FW_INTERNAL_ERR);
    assert_eq!(h.simple(Opcode::NOP, 0).ds, DeliveryStatus::FW_INTERNAL_ERR);
    h.simple(Opcode::NOP, 0).ok();
}

#[test]
fn bad_token_bad_signature_and_oversized_output_are_written_back() {
    let h = enabled(Profile {
        cmdif_checksum: true,
        ..Profile::default()
    });
    h.ctl
        .inject(Some(Opcode::QUERY_ADAPTER), Fault::BadToken, Some(1));
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    let token = p.entry[0x3C];
    assert_ne!(c.entry[0x3C], token);
    assert!(c.out_blocks.iter().all(|b| b[0x23D] != token));

    h.ctl
        .inject(Some(Opcode::QUERY_ADAPTER), Fault::BadSignature, Some(1));
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    assert!(!ce::signature_ok(&c.entry));
    assert!(c
        .out_blocks
        .iter()
        .all(|b| !mb::block_signature_ok(b).unwrap()));
    // Without the fault both verify.
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    assert!(ce::signature_ok(&c.entry));

    h.ctl.inject(
        Some(Opcode::NOP),
        Fault::OversizedOutput { extra: 4096 },
        Some(1),
    );
    let c = h.simple(Opcode::NOP, 0);
    assert_eq!(
        u32::from_be_bytes(c.entry[0x38..0x3C].try_into().unwrap()),
        16 + 4096
    );
}

#[test]
fn firmware_fatal_error_sets_the_syndrome_and_stops_the_counter_and_commands() {
    let h = enabled(Profile::default());
    let counter = || h.bar.read32_be(iseg::HEALTH_COUNTER.byte as u64);
    let a = counter();
    std::thread::sleep(Duration::from_millis(5));
    assert_ne!(
        counter(),
        a,
        "health counter must tick while firmware is alive"
    );
    h.ctl.inject(
        Some(Opcode::NOP),
        Fault::Delay(Duration::from_millis(100)),
        Some(1),
    );
    let in_flight = nop(&h, 3);
    h.ctl.fatal_error(0x08);
    let synd = h.bar.read32_be(iseg::HEALTH_SYND.byte as u64);
    assert_eq!(iseg::HEALTH_SYND.extract(synd), 0x08);
    let c1 = counter();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(counter(), c1, "health counter must stop");
    assert_eq!(c1 >> 24, 0x08, "syndrome in health_counter bits 31:24");
    assert!(
        h.wait(&in_flight, Duration::from_millis(300)).is_none(),
        "in-flight command completed after fatal"
    );
    assert!(h.wait(&nop(&h, 4), SHORT).is_none());
}

#[test]
fn surprise_removal_reads_all_ones_and_stops_dma() {
    let h = enabled(Profile::default());
    h.ctl.surprise_remove();
    assert_eq!(h.bar.read32(0), u32::MAX);
    assert_eq!(
        h.bar.read32_be(iseg::HEALTH_FW_VER.byte as u64),
        iseg::PCI_DEAD
    );
    assert_eq!(iseg::NIC_INTERFACE.extract(h.bar.read32_be(0x14)), 7);
    assert_eq!(h.f.config_read16(0).unwrap(), 0xFFFF);
    let before = h.ctl.counters();
    let p = nop(&h, 0);
    assert!(h.wait(&p, SHORT).is_none());
    let after = h.ctl.counters();
    assert_eq!(after.commands_executed, before.commands_executed);
    assert_eq!(
        after.iommu_faults, before.iommu_faults,
        "blocked DMA is not an IOMMU fault"
    );
}

#[test]
fn dma_to_unmapped_iovas_is_an_iommu_fault_and_fails_the_command() {
    let h = enabled(Profile::default());
    const HOLE: u64 = 0x7000_0000;
    // Input chain in unmapped memory: delivery status 0x05, nothing written.
    let mut p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 600), 16);
    p.entry[0x08..0x10].copy_from_slice(&HOLE.to_be_bytes());
    ce::sign(&mut p.entry);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    assert_eq!(c.ds, DeliveryStatus::INPUT_POINTER_NOT_ALIGNED);
    assert_eq!(c.entry[0x20..0x30], [0u8; 16], "no output written");
    let f = *h.ctl.iommu_faults().last().unwrap();
    assert_eq!((f.iova, f.write), (HOLE, false));

    // Output chain in unmapped memory: 0x04.
    let mut p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    p.entry[0x30..0x38].copy_from_slice(&HOLE.to_be_bytes());
    ce::sign(&mut p.entry);
    h.post(&p);
    assert_eq!(
        h.wait(&p, WAIT).unwrap().ds,
        DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED
    );

    // A page in a GIVE is unmapped: BAD_PARAM, fault recorded, no page written or held.
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 2 * 4096);
    let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 24);
    m[0x0C..0x10].copy_from_slice(&3u32.to_be_bytes());
    m[16..24].copy_from_slice(&pages.addr(0).to_be_bytes());
    m[24..32].copy_from_slice(&pages.addr(4096).to_be_bytes());
    m[32..40].copy_from_slice(&HOLE.to_be_bytes());
    let faults = h.ctl.counters().iommu_faults;
    let c = h.exec_in(31, &m, 16);
    assert_eq!(
        (c.header().status, c.header().syndrome),
        (CmdStatus::BAD_PARAM_ERR, syndrome::PAGE_UNMAPPED)
    );
    assert_eq!(h.ctl.counters().iommu_faults, faults + 1);
    assert_eq!(h.ctl.iommu_faults().last().unwrap().iova, HOLE);
    assert!(h.ctl.pages().is_empty());
    assert!(
        pages.read(0, 8192).iter().all(|&b| b == 0),
        "mapped pages of a failed give were written"
    );
}

#[test]
fn an_unreadable_command_queue_loses_the_command() {
    let h = enabled(Profile::default());
    let p = h.prepare(0, &msg(Opcode::NOP, 0, 16), 16);
    h.write(&p);
    h.cmdq().unmap();
    let before = h.ctl.counters();
    h.ring(1);
    let t = std::time::Instant::now();
    while h.ctl.counters().commands_lost == before.commands_lost {
        assert!(t.elapsed() < WAIT);
        std::thread::yield_now();
    }
    assert_eq!(h.ctl.counters().iommu_faults, before.iommu_faults + 1);
    assert_eq!(h.ctl.iommu_faults().last().unwrap().iova, CMDQ_IOVA);
}

#[test]
fn a_sw_reset_recovers_from_a_fatal_error() {
    let h = enabled(Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    });
    assert_eq!(iseg::FW_RESET_SUPPORTED.extract(h.bar.read32_be(0x1FC)), 1);
    h.ctl.fatal_error(0x07);
    let rfr = h.bar.read32_be(iseg::HEALTH_RFR.byte as u64);
    assert_eq!(
        iseg::HEALTH_RFR.extract(rfr),
        1,
        "fatal errors request a reset"
    );
    // The kernel's recovery: nic_interface = SW_RESET, wait for DISABLED.
    let cur = h.bar.read32_be(0x14);
    h.bar.write32_be(
        0x14,
        iseg::nic_state_write(cur, iseg::NicInterface::SwReset),
    );
    assert_eq!(iseg::NIC_INTERFACE.extract(h.bar.read32_be(0x14)), 1);
    let synd = h.bar.read32_be(iseg::HEALTH_SYND.byte as u64);
    assert_eq!(
        (
            iseg::HEALTH_SYND.extract(synd),
            iseg::HEALTH_RFR.extract(h.bar.read32_be(0x238))
        ),
        (0, 0)
    );
    let c = h.bar.read32_be(0x1010);
    std::thread::sleep(Duration::from_millis(5));
    assert_ne!(h.bar.read32_be(0x1010), c, "health counter runs again");
    h.wait_ready();
    h.program_cmdq();
    h.simple(Opcode::ENABLE_HCA, 0).ok();
}

#[test]
fn a_command_queue_at_the_top_of_the_address_space_only_faults() {
    let h = enabled(Profile::default());
    h.bar.write32_be(0x10, u32::MAX);
    h.bar.write32_be(0x14, 0xFFFF_F000);
    let before = h.ctl.counters();
    h.ring(1 << 31);
    let t = std::time::Instant::now();
    while h.ctl.counters().commands_lost == before.commands_lost {
        assert!(t.elapsed() < WAIT);
        std::thread::yield_now();
    }
    assert_eq!(h.ctl.counters().iommu_faults, before.iommu_faults + 1);
    // Back to the real queue: the device still works.
    h.program_cmdq();
    h.simple(Opcode::NOP, 0).ok();
}

#[test]
fn a_looped_output_chain_and_a_stray_dma_write_are_what_a_hostile_device_does() {
    let h = enabled(Profile::default());
    // 0x110 bytes of output: one block, written back linking to itself;
    // the data is still there.
    h.ctl.inject(
        Some(Opcode::QUERY_ADAPTER),
        Fault::LoopedOutputChain,
        Some(1),
    );
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    assert_eq!((c.ds, c.status()), (DeliveryStatus::OK, CmdStatus::OK));
    assert!(!p.out_blocks.is_empty());
    for (sent, b) in p.out_blocks.iter().zip(&c.out_blocks) {
        let addr = sent.iova;
        assert_eq!(mb::NEXT.get(b).unwrap(), addr, "block at {addr:#x}");
        assert_eq!(b[0x23D], p.entry[0x3C], "token kept");
    }
    // Without the fault the driver's links are left alone.
    let p = h.prepare(0, &msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    h.post(&p);
    let c = h.wait(&p, WAIT).unwrap();
    assert!(c.out_blocks.iter().all(|b| mb::NEXT.get(b).unwrap() == 0));

    // A stray write: recorded by the IOMMU at STRAY_IOVA, delivery 0x04.
    let before = h.ctl.counters().iommu_faults;
    h.ctl.inject(Some(Opcode::NOP), Fault::StrayDma, Some(1));
    let c = h.simple(Opcode::NOP, 0);
    assert_eq!(c.ds, DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED);
    assert_eq!(h.ctl.counters().iommu_faults, before + 1);
    let f = *h.ctl.iommu_faults().last().unwrap();
    assert_eq!((f.iova, f.write), (cxu_qemu::model::STRAY_IOVA, true));
    assert_eq!(h.simple(Opcode::NOP, 0).ds, DeliveryStatus::OK);
}
