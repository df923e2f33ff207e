//! The PCI function and the init segment: identity, BAR0, the capability list,
//! bus-master gating of DMA and MSI-X, MSI-X masking and pending bits, boot
//! timing, the command queue registers, the health counter and timer, resets.

mod common;

use std::time::{Duration, Instant};

use common::*;
use cxu_hal::ifc::eqe::{port_change, EventType};
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::Opcode;
use cxu_hal::os::wait_eventfd;
use cxu_hal::pci::config as cfg;
use cxu_hal::PciFunction;
use cxu_qemu::model::layout::{BAR0_SIZE, MSIX_PBA_OFFSET, MSIX_TABLE_OFFSET};
use cxu_qemu::model::{HcaState, Profile};
use cxu_qemu::LocalFunction;

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn identity_bar0_and_capabilities() {
    let f = LocalFunction::new(Profile::default());
    assert_eq!(f.config_read16(cfg::VENDOR_ID).unwrap(), 0x15B3);
    assert_eq!(f.config_read16(cfg::DEVICE_ID).unwrap(), 0x1017);
    assert_eq!(
        f.config_read32(0x08).unwrap() >> 8,
        0x02_0000,
        "Ethernet controller"
    );
    // BAR0: 64-bit prefetchable memory; sizing reads back the size mask.
    assert_eq!(f.config_read32(cfg::BAR0).unwrap() & 0xF, 0b1100);
    f.config_write(cfg::BAR0, &u32::MAX.to_le_bytes()).unwrap();
    assert_eq!(
        f.config_read32(cfg::BAR0).unwrap(),
        !(BAR0_SIZE as u32 - 1) | 0b1100
    );
    assert_eq!(f.bar(0).unwrap().len(), BAR0_SIZE);
    assert!(f.bar(2).is_err());
    // Read-only registers stay.
    f.config_write(cfg::VENDOR_ID, &[0, 0]).unwrap();
    assert_eq!(f.config_read16(cfg::VENDOR_ID).unwrap(), 0x15B3);

    let exp = f
        .find_capability(cfg::CAP_ID_EXP)
        .unwrap()
        .expect("PCIe capability");
    let msix = f
        .find_capability(cfg::CAP_ID_MSIX)
        .unwrap()
        .expect("MSI-X capability");
    let vndr = f
        .find_capability(cfg::CAP_ID_VNDR)
        .unwrap()
        .expect("vendor capability");
    assert!(exp < msix && msix < vndr);
    assert_eq!(f.find_capability(cfg::CAP_ID_PM).unwrap(), None);
    let ctrl = f.config_read16(msix + cfg::MSIX_FLAGS).unwrap();
    assert_eq!(
        u32::from(ctrl & cfg::MSIX_FLAGS_QSIZE) + 1,
        f.msix_vectors()
    );
    assert_eq!(
        f.config_read32(msix + cfg::MSIX_TABLE).unwrap(),
        MSIX_TABLE_OFFSET as u32,
        "BIR 0"
    );
    assert_eq!(
        f.config_read32(msix + cfg::MSIX_PBA).unwrap(),
        MSIX_PBA_OFFSET as u32
    );
    assert!(f.config_read(0x1000, &mut [0u8; 4]).is_err());
}

#[test]
fn init_segment_registers() {
    let h = Harness::raw(Profile {
        boot_time: Duration::from_millis(150),
        ..Profile::default()
    });
    let rd = |off: usize| h.bar.read32_be(off as u64);
    assert_eq!(
        iseg::INITIALIZING.extract(rd(0x1FC)),
        1,
        "firmware is booting"
    );
    // A doorbell while booting is ignored.
    h.ring(1);
    assert_eq!(h.ctl.counters().doorbell_bits_ignored, 1);
    let t = Instant::now();
    h.wait_ready();
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "boot time not honoured"
    );

    let rev = rd(0x000);
    assert_eq!(
        (
            iseg::FW_REV_MAJOR.extract(rev),
            iseg::FW_REV_MINOR.extract(rev)
        ),
        (16, 35)
    );
    let sub = rd(0x004);
    assert_eq!(
        (
            iseg::CMDIF_REV.extract(sub),
            iseg::FW_REV_SUBMINOR.extract(sub)
        ),
        (5, 2000)
    );
    assert_eq!(rd(0x014) & 0xFF, 0x56, "32 entries of 64 bytes");

    // addr_h then addr_l; bits 7:0 stay read-only, 10:8 take nic_interface.
    h.bar.write32_be(0x10, 0x0000_0001);
    h.bar.write32_be(0x14, 0x2345_6000);
    assert_eq!(rd(0x010), 1);
    assert_eq!(rd(0x014), 0x2345_6056);
    assert_eq!(h.ctl.cmdq_addr(), 0x1_2345_6000);
    h.bar.write32_be(
        0x14,
        iseg::nic_state_write(rd(0x014), iseg::NicInterface::Disabled),
    );
    assert_eq!(iseg::NIC_INTERFACE.extract(rd(0x014)), 1);
    assert_eq!(h.ctl.cmdq_addr(), 0x1_2345_6000);
    // Byte writes to read-only registers change nothing.
    h.bar.write8(0x000, 0xFF);
    assert_eq!(rd(0x000), rev);

    let hc = rd(0x1010);
    std::thread::sleep(Duration::from_millis(5));
    assert_ne!(rd(0x1010), hc, "health counter ticks");
    assert_eq!(hc >> 24, 0, "no health syndrome");
    assert_eq!(rd(0x23C) & 0x00FF_0000, 0, "health buffer synd 0");
    assert_ne!(rd(0x230), iseg::PCI_DEAD);
    let t1 = (u64::from(rd(0x1000)) << 32) | u64::from(rd(0x1004));
    let t2 = (u64::from(rd(0x1000)) << 32) | u64::from(rd(0x1004));
    assert!(t2 > t1, "internal timer runs");
    assert_eq!(
        h.bar.read64(0x1000).to_le_bytes()[..4],
        rd(0x1000).to_be_bytes(),
        "64-bit read = two BE dwords"
    );
}

#[test]
fn bus_master_off_blocks_dma_and_interrupts() {
    let h = Harness::new(Profile::default());
    h.f.set_bus_master(false).unwrap();
    let p = h.prepare(0, &msg(Opcode::ENABLE_HCA, 0, 16), 16);
    h.post(&p);
    assert!(
        h.wait(&p, Duration::from_millis(100)).is_none(),
        "DMA with bus mastering off"
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    assert_eq!(h.ctl.counters().iommu_faults, 0);
    h.f.set_bus_master(true).unwrap();
    h.ring(1);
    h.wait(&p, WAIT).unwrap().ok();
    h.simple(Opcode::DISABLE_HCA, 0).ok();

    let (_pages, uar) = initialized(&h);
    let irq = h.f.enable_msix(1).unwrap();
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    let c = create_eq(&h, &mem, 3, uar, 0, &[EventType::PORT_CHANGE]);
    let eqn = c.out[0x0B];
    eq_doorbell(&h, uar, eqn, 0, true);
    // Bus mastering off: the EQE cannot be written, nothing fires.
    h.f.set_bus_master(false).unwrap();
    assert!(!h.ctl.port_change_event(1, port_change::DOWN));
    assert_eq!(
        wait_eventfd(&irq[0], Some(Duration::from_millis(30))).unwrap(),
        None
    );
    h.f.set_bus_master(true).unwrap();
    assert!(h.ctl.port_change_event(1, port_change::ACTIVE));
    assert!(wait_eventfd(&irq[0], Some(WAIT)).unwrap().is_some());
}

#[test]
fn a_masked_vector_holds_its_message_as_pending() {
    let h = Harness::new(Profile::default());
    let (_pages, uar) = initialized(&h);
    let irq = h.f.enable_msix(2).unwrap();
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    let c = create_eq(&h, &mem, 3, uar, 1, &[EventType::PORT_CHANGE]);
    let eqn = c.out[0x0B];
    eq_doorbell(&h, uar, eqn, 0, true);
    let ctrl = MSIX_TABLE_OFFSET + 16 + 12; // vector 1, vector control
    h.bar.write32(ctrl, 1);
    assert_eq!(h.bar.read32(ctrl), 1);
    assert!(h.ctl.port_change_event(1, port_change::ACTIVE));
    assert_eq!(
        wait_eventfd(&irq[1], Some(Duration::from_millis(30))).unwrap(),
        None
    );
    assert_eq!(h.bar.read32(MSIX_PBA_OFFSET), 0b10, "vector 1 pending");
    h.bar.write32(ctrl, 0);
    assert!(wait_eventfd(&irq[1], Some(WAIT)).unwrap().is_some());
    assert_eq!(h.bar.read32(MSIX_PBA_OFFSET), 0);
    // disable_msix: the eventfds no longer fire.
    h.f.disable_msix().unwrap();
    eq_doorbell(&h, uar, eqn, 1, true);
    assert!(h.ctl.port_change_event(1, port_change::DOWN));
    assert_eq!(
        wait_eventfd(&irq[1], Some(Duration::from_millis(30))).unwrap(),
        None
    );
    assert!(h.f.enable_msix(17).is_err());
}

/// Reads the function's whole VPD through its capability, 4 bytes at a time,
/// as the kernel's `pci_vpd_read` does: address with the flag clear, then the
/// flag set by the device, then the data register.
fn read_vpd(f: &LocalFunction, len: usize) -> Vec<u8> {
    let vpd = f
        .find_capability(cfg::CAP_ID_VPD)
        .unwrap()
        .expect("VPD capability");
    let mut v = Vec::new();
    for addr in (0..len).step_by(4) {
        f.config_write16(vpd + 2, addr as u16).unwrap();
        assert_ne!(f.config_read16(vpd + 2).unwrap() & 0x8000, 0, "flag set");
        v.extend_from_slice(&f.config_read32(vpd + 4).unwrap().to_le_bytes());
    }
    v
}

#[test]
fn vpd_carries_the_serial_number_with_a_valid_checksum() {
    let p = Profile::default();
    let f = LocalFunction::new(p.clone());
    let v = read_vpd(&f, 128);
    assert_eq!(v[0], 0x82, "identifier string first");
    let sn = v.windows(2).position(|w| w == b"SN").expect("SN keyword");
    let n = usize::from(v[sn + 2]);
    assert_eq!(&v[sn + 3..sn + 3 + n], p.serial_number.as_bytes());
    let rv = v.windows(2).position(|w| w == b"RV").expect("RV keyword");
    let sum = v[..=rv + 3].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    assert_eq!(sum, 0, "RV checksum");
    assert_eq!(v[rv + 4], 0x78, "end tag");
    // A VPD write completes (flag cleared) and changes nothing.
    let vpd = f.find_capability(cfg::CAP_ID_VPD).unwrap().unwrap();
    f.config_write16(vpd + 2, 0x8000).unwrap();
    assert_eq!(f.config_read16(vpd + 2).unwrap() & 0x8000, 0);
    assert_eq!(read_vpd(&f, 128), v);
}

#[test]
fn function_level_reset_reboots_firmware_and_forgets_state() {
    let h = Harness::new(Profile {
        boot_time: Duration::from_millis(20),
        ..Profile::default()
    });
    let (_pages, _uar) = initialized(&h);
    assert_eq!(h.ctl.hca_state(), HcaState::Initialized);
    // FLR through the PCIe capability's device control register.
    let exp = h.f.find_capability(cfg::CAP_ID_EXP).unwrap().unwrap();
    let devctl = h.f.config_read16(exp + 8).unwrap();
    h.f.config_write16(exp + 8, devctl | 1 << 15).unwrap();
    assert_eq!(
        h.f.config_read16(exp + 8).unwrap() & (1 << 15),
        0,
        "initiate-FLR reads 0"
    );
    assert_eq!(iseg::INITIALIZING.extract(h.bar.read32_be(0x1FC)), 1);
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    assert!(h.ctl.pages().is_empty() && h.ctl.uars().is_empty());
    assert_eq!(h.ctl.cmdq_addr(), 0);
    // Bus mastering and the DMA mappings survive; the driver starts over.
    h.wait_ready();
    h.program_cmdq();
    h.simple(Opcode::ENABLE_HCA, 0).ok();
}

#[test]
fn a_reset_drops_commands_in_flight() {
    let h = Harness::new(Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    });
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    h.ctl.set_latency(Opcode::NOP, Duration::from_millis(100));
    let p = h.prepare(0, &msg(Opcode::NOP, 0, 16), 16);
    h.post(&p);
    h.f.reset().unwrap();
    h.program_cmdq();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        h.owned_by_hw(0),
        "a command of the old generation completed after reset"
    );
    assert_eq!(h.ctl.counters().commands_executed, 1);
}

#[test]
fn sw_reset_through_nic_interface_reboots_and_reads_disabled() {
    let h = Harness::new(Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    });
    let (_pages, _uar) = initialized(&h);
    h.ctl.set_boot_time(Duration::from_millis(50));
    let cur = h.bar.read32_be(0x14);
    h.bar.write32_be(
        0x14,
        iseg::nic_state_write(cur, iseg::NicInterface::SwReset),
    );
    assert_eq!(
        iseg::NIC_INTERFACE.extract(h.bar.read32_be(0x14)),
        iseg::NicInterface::Disabled.raw()
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    assert!(h.ctl.pages().is_empty());
    // The boot time set through the control handle holds for this boot too.
    assert_eq!(iseg::INITIALIZING.extract(h.bar.read32_be(0x1FC)), 1);
    let t = Instant::now();
    h.wait_ready();
    assert!(t.elapsed() >= Duration::from_millis(30));
}

#[test]
fn a_profile_can_report_a_geometry_the_driver_must_refuse() {
    let h = Harness::new(Profile {
        log_cmdq_size: 6,
        ..Profile::default()
    });
    let low = h.bar.read32_be(0x14);
    assert_eq!(low & 0xFF, 0x66);
    assert!(iseg::CmdqGeometry::from_addr_l_sz(low).is_err());
    // Ringing all 32 bits (no entry is HW-owned) is served without upsetting the model.
    h.ring(u32::MAX);
    let t = Instant::now();
    while h.ctl.counters().doorbell_bits_ignored < 32 {
        assert!(t.elapsed() < WAIT, "not every bit was looked at");
        std::thread::yield_now();
    }
    assert_eq!(h.ctl.busy_slots(), 0);
}
