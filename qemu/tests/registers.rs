//! ACCESS_REG: port state and counters, traps, trap groups, policers, the
//! firmware flash flow, host endianness and DTOR; what reached the device is
//! checked through the control handle.

mod common;

use common::*;
use cxu_hal::ifc::caps::HcaCap;
use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
use cxu_hal::ifc::eqe::{port_change, EventType};
use cxu_hal::ifc::regs::hpkt::{Hpkt, TrapAction};
use cxu_hal::ifc::regs::htgt::Htgt;
use cxu_hal::ifc::regs::mcc::{ControlState, ErrorCode, Instruction, Mcc};
use cxu_hal::ifc::regs::mcda::Mcda;
use cxu_hal::ifc::regs::mcqi::{self, identifier, info_type, McqiCap, McqiHeader, McqiVersion};
use cxu_hal::ifc::regs::paos::{self, admin, oper, Paos};
use cxu_hal::ifc::regs::ppcnt::{group, ieee_802_3, Ppcnt};
use cxu_hal::ifc::regs::qpcr::Qpcr;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::{CmdStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::{syndrome, FwFeatures, Profile, FLASH_IMAGE_MAGIC};

fn reg(h: &Harness, id: RegisterId, op: RegOp, data: &[u8]) -> Completion {
    let m = AccessRegIn {
        op,
        register_id: id,
        argument: 0,
        data: data.to_vec(),
    }
    .encode();
    h.exec(&m, 16 + data.len())
}

fn ok_reg(h: &Harness, id: RegisterId, op: RegOp, data: &[u8]) -> Vec<u8> {
    let c = reg(h, id, op, data);
    c.ok();
    c.out[16..].to_vec()
}

fn paos(port: u8, admin_status: u8) -> [u8; paos::LEN] {
    Paos {
        local_port: port,
        admin_status,
        ase: admin_status != 0,
        ..Paos::default()
    }
    .encode()
    .unwrap()
}

#[test]
fn port_admin_and_oper_state_with_events() {
    let h = Harness::new(Profile {
        num_ports: 2,
        ..Profile::default()
    });
    let (_pages, uar) = initialized(&h);
    let mem = DmaMem::new(&h.f, EQ_IOVA, 4096);
    create_eq(&h, &mem, 3, uar, 0, &[EventType::PORT_CHANGE]).ok();

    let r = Paos::decode(&ok_reg(&h, RegisterId::PAOS, RegOp::Read, &paos(2, 0))).unwrap();
    assert_eq!(
        (r.local_port, r.admin_status, r.oper_status),
        (2, admin::DOWN, oper::DOWN)
    );
    let r = Paos::decode(&ok_reg(
        &h,
        RegisterId::PAOS,
        RegOp::Write,
        &paos(2, admin::UP),
    ))
    .unwrap();
    assert_eq!((r.admin_status, r.oper_status), (admin::UP, oper::UP));
    let s = h.ctl.port(2).unwrap();
    assert_eq!((s.admin, s.oper), (admin::UP, oper::UP));
    assert_eq!(h.ctl.port(1).unwrap().admin, admin::DOWN);
    let e = eqe(&mem, 0);
    assert_eq!(
        (e.event_type, e.sub_type, e.port()),
        (EventType::PORT_CHANGE, port_change::ACTIVE, 2)
    );

    // The link partner goes away: oper follows, with an event.
    assert!(h.ctl.set_link(2, false));
    assert_eq!(h.ctl.port(2).unwrap().oper, oper::DOWN);
    assert_eq!(eqe(&mem, 1).sub_type, port_change::DOWN);
    // Admin down while the link is down: no change of oper, no event.
    ok_reg(&h, RegisterId::PAOS, RegOp::Write, &paos(2, admin::DOWN));
    assert_eq!(h.ctl.eqs()[0].producer_index, 2);

    fails(
        &reg(&h, RegisterId::PAOS, RegOp::Read, &paos(3, 0)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
    fails(
        &reg(&h, RegisterId::PAOS, RegOp::Write, &paos(1, 7)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
    fails(
        &reg(&h, RegisterId::PAOS, RegOp::Read, &[0; 8]),
        CmdStatus::BAD_INP_LEN_ERR,
        syndrome::BAD_INPUT_LEN,
    );
    let m = AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::PAOS,
        argument: 0,
        data: paos(1, 0).to_vec(),
    }
    .encode();
    fails(
        &h.exec(&m, 16),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );
    fails(
        &reg(&h, RegisterId(0x1234), RegOp::Read, &[0; 16]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_UNKNOWN,
    );
}

#[test]
fn port_counters_read_and_clear() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    assert!(h
        .ctl
        .add_port_counter(1, ieee_802_3::A_FRAMES_RECEIVED_OK, 42));
    let q = Ppcnt::query(1, group::IEEE_802_3).encode().unwrap();
    let r = Ppcnt::decode(&ok_reg(&h, RegisterId::PPCNT, RegOp::Read, &q)).unwrap();
    assert_eq!(r.counters[ieee_802_3::A_FRAMES_RECEIVED_OK], 42);
    let clr = Ppcnt {
        clr: true,
        ..Ppcnt::query(1, group::IEEE_802_3)
    }
    .encode()
    .unwrap();
    let r = Ppcnt::decode(&ok_reg(&h, RegisterId::PPCNT, RegOp::Read, &clr)).unwrap();
    assert_eq!(
        r.counters[ieee_802_3::A_FRAMES_RECEIVED_OK],
        42,
        "clear returns the value read"
    );
    let r = Ppcnt::decode(&ok_reg(&h, RegisterId::PPCNT, RegOp::Read, &q)).unwrap();
    assert_eq!(r.counters, [0; 31]);
    fails(
        &reg(&h, RegisterId::PPCNT, RegOp::Write, &q),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
}

#[test]
fn traps_groups_and_policers() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let trap = Hpkt {
        action: TrapAction::TrapToCpu,
        trap_group: 2,
        trap_id: 0x10,
        ctrl: 0,
    };
    // The group must exist before a trap joins it, the policer before the group binds it.
    fails(
        &reg(&h, RegisterId::HPKT, RegOp::Write, &trap.encode().unwrap()),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
    let group = Htgt {
        trap_group: 2,
        policer_enabled: true,
        pid: 1,
        priority: 3,
        ..Htgt::default()
    };
    fails(
        &reg(&h, RegisterId::HTGT, RegOp::Write, &group.encode().unwrap()),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );

    let pol = Qpcr::packet_policer(1, 1000, 10);
    ok_reg(&h, RegisterId::QPCR, RegOp::Write, &pol.encode().unwrap());
    ok_reg(&h, RegisterId::HTGT, RegOp::Write, &group.encode().unwrap());
    ok_reg(&h, RegisterId::HPKT, RegOp::Write, &trap.encode().unwrap());
    assert_eq!(h.ctl.trap(0x10), Some(trap));
    assert_eq!(h.ctl.trap_group(2), Some(group));
    let p = h.ctl.policer(1).unwrap();
    assert_eq!((p.cir, p.cbs, p.violate_count), (1000, 10, 0));

    // Read back through the device.
    let q = Hpkt {
        action: TrapAction::Forward,
        trap_group: 0,
        trap_id: 0x10,
        ctrl: 0,
    }
    .encode()
    .unwrap();
    assert_eq!(
        Hpkt::decode(&ok_reg(&h, RegisterId::HPKT, RegOp::Read, &q)).unwrap(),
        trap
    );
    let changed = Hpkt {
        action: TrapAction::Discard,
        ..trap
    };
    ok_reg(
        &h,
        RegisterId::HPKT,
        RegOp::Write,
        &changed.encode().unwrap(),
    );
    assert_eq!(h.ctl.trap(0x10).unwrap().action, TrapAction::Discard);

    // Drop counter: reported, then cleared by a read with clear_counter.
    assert!(h.ctl.add_policer_drops(1, 5));
    let rd = Qpcr {
        pid: 1,
        ..Qpcr::default()
    }
    .encode()
    .unwrap();
    assert_eq!(
        Qpcr::decode(&ok_reg(&h, RegisterId::QPCR, RegOp::Read, &rd))
            .unwrap()
            .violate_count,
        5
    );
    let rc = Qpcr {
        pid: 1,
        clear_counter: true,
        ..Qpcr::default()
    }
    .encode()
    .unwrap();
    assert_eq!(
        Qpcr::decode(&ok_reg(&h, RegisterId::QPCR, RegOp::Read, &rc))
            .unwrap()
            .violate_count,
        5
    );
    assert_eq!(h.ctl.policer(1).unwrap().violate_count, 0);
    // Changing the rate keeps the counter semantics and checks limits.
    ok_reg(
        &h,
        RegisterId::QPCR,
        RegOp::Write,
        &Qpcr::packet_policer(1, 5000, 12).encode().unwrap(),
    );
    assert_eq!(h.ctl.policer(1).unwrap().cir, 5000);
    let bad_burst = Qpcr::packet_policer(1, 5000, 30).encode().unwrap();
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Write, &bad_burst),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
    let bad_rate = Qpcr::packet_policer(1, 0, 10).encode().unwrap();
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Write, &bad_rate),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
    let bad_pid = Qpcr::packet_policer(16, 100, 10).encode().unwrap();
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Write, &bad_pid),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
    let mut bad_action = trap.encode().unwrap();
    bad_action[1] = 0x70; // action 7
    fails(
        &reg(&h, RegisterId::HPKT, RegOp::Write, &bad_action),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
}

#[test]
fn a_device_without_traps_does_not_have_their_registers() {
    let h = Harness::new(Profile {
        trap_support: false,
        policer_support: false,
        ..Profile::default()
    });
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    for id in [RegisterId::HPKT, RegisterId::HTGT] {
        fails(
            &reg(&h, id, RegOp::Read, &[0; 32]),
            CmdStatus::BAD_PARAM_ERR,
            syndrome::REG_UNKNOWN,
        );
    }
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Read, &[0; 0x28]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_UNKNOWN,
    );
    let c = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    let cap = HcaCap::from_bytes(&c.out[16..]).unwrap();
    assert!(!cap.cxu_traps() && !cap.cxu_trap_policers());
    assert_eq!(
        (cap.cxu_max_trap_groups(), cap.cxu_max_trap_policers()),
        (0, 0)
    );
}

#[test]
fn trap_capabilities_follow_the_profile_and_bound_the_indexes() {
    let h = Harness::new(Profile {
        max_trap_groups: 4,
        max_policers: 2,
        ..Profile::default()
    });
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let c = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    let cap = HcaCap::from_bytes(&c.out[16..]).unwrap();
    assert!(cap.cxu_traps() && cap.cxu_trap_policers());
    assert_eq!(
        (cap.cxu_max_trap_groups(), cap.cxu_max_trap_policers()),
        (4, 2)
    );
    let group = |g| {
        Htgt {
            trap_group: g,
            ..Htgt::default()
        }
        .encode()
        .unwrap()
    };
    ok_reg(&h, RegisterId::HTGT, RegOp::Write, &group(3));
    fails(
        &reg(&h, RegisterId::HTGT, RegOp::Write, &group(4)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
    let pol = |pid| Qpcr::packet_policer(pid, 100, 8).encode().unwrap();
    ok_reg(&h, RegisterId::QPCR, RegOp::Write, &pol(1));
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Write, &pol(2)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
}

fn mcc(h: &Harness, instruction: Instruction, handle: u32, size: u32) -> Completion {
    let m = Mcc {
        instruction,
        component_index: identifier::BOOT_IMG,
        update_handle: handle,
        component_size: size,
        ..Mcc::default()
    };
    reg(h, RegisterId::MCC, RegOp::Write, &m.encode().unwrap())
}

fn mcc_query(h: &Harness) -> Mcc {
    let q = Mcc {
        component_index: identifier::BOOT_IMG,
        ..Mcc::default()
    }
    .encode()
    .unwrap();
    Mcc::decode(&ok_reg(h, RegisterId::MCC, RegOp::Read, &q)).unwrap()
}

fn running_version(h: &Harness) -> McqiVersion {
    let q = McqiHeader::request(
        identifier::BOOT_IMG,
        false,
        info_type::VERSION,
        mcqi::VERSION_LEN as u16,
    )
    .unwrap();
    McqiVersion::decode(&ok_reg(h, RegisterId::MCQI, RegOp::Read, &q)[mcqi::HEADER_LEN..]).unwrap()
}

/// One MCDA write of `data` at `offset` of the component being updated.
fn mcda(h: &Harness, handle: u32, offset: u32, data: &[u8]) -> Completion {
    let b = Mcda {
        update_handle: handle,
        offset,
        data: data.to_vec(),
    };
    reg(h, RegisterId::MCDA, RegOp::Write, &b.encode().unwrap())
}

fn write_image(h: &Harness, handle: u32, image: &[u8]) {
    for (i, chunk) in image.chunks(256).enumerate() {
        mcda(h, handle, (i * 256) as u32, chunk).ok();
    }
}

#[test]
fn firmware_flash_flow_changes_the_version_on_activate() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let v = running_version(&h);
    assert_eq!(
        (v.version, v.version_string.as_str()),
        (16 << 24 | 35 << 16 | 2000, "16.35.2000")
    );
    let q = McqiHeader::request(
        identifier::BOOT_IMG,
        false,
        info_type::CAPABILITIES,
        mcqi::CAP_LEN as u16,
    )
    .unwrap();
    let cap = McqiCap::decode(&ok_reg(&h, RegisterId::MCQI, RegOp::Read, &q)[mcqi::HEADER_LEN..])
        .unwrap();
    assert_eq!(cap.mcda_max_write_size, 256);

    let idle = mcc_query(&h);
    assert_eq!(idle.control_state, ControlState::IDLE);
    let handle = idle.update_handle;
    // MCDA before the update starts, and a wrong handle, are refused.
    fails(
        &mcda(&h, handle, 0, &[0; 4]),
        CmdStatus::BAD_SYS_STATE_ERR,
        syndrome::FLASH_BAD_STATE,
    );
    fails(
        &mcc(&h, Instruction::LOCK_UPDATE_HANDLE, handle + 1, 0),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::FLASH_BAD_HANDLE,
    );

    mcc(&h, Instruction::LOCK_UPDATE_HANDLE, handle, 0).ok();
    fails(
        &mcc(&h, Instruction::ACTIVATE, handle, 0),
        CmdStatus::BAD_SYS_STATE_ERR,
        syndrome::FLASH_BAD_STATE,
    );
    let new_version: u32 = 16 << 24 | 36 << 16 | 1000;
    let mut image = FLASH_IMAGE_MAGIC.to_vec();
    image.extend(new_version.to_be_bytes());
    image.resize(1000, 0x5A);
    // A first attempt with a corrupt image is rejected at verify.
    mcc(
        &h,
        Instruction::UPDATE_COMPONENT,
        handle,
        image.len() as u32,
    )
    .ok();
    let mut corrupt = image.clone();
    corrupt[0] = b'X';
    write_image(&h, handle, &corrupt);
    mcc(&h, Instruction::VERIFY_COMPONENT, handle, 0).ok();
    let s = mcc_query(&h);
    assert_eq!(
        (s.control_state, s.error_code),
        (ControlState::LOCKED, ErrorCode::REJECTED_BAD_FORMAT)
    );
    assert_eq!(h.ctl.flash().pending, None);
    // Then the good one.
    mcc(
        &h,
        Instruction::UPDATE_COMPONENT,
        handle,
        image.len() as u32,
    )
    .ok();
    assert_eq!(mcc_query(&h).control_state, ControlState::DOWNLOAD);
    write_image(&h, handle, &image);
    mcc(&h, Instruction::VERIFY_COMPONENT, handle, 0).ok();
    assert_eq!(mcc_query(&h).error_code, ErrorCode::OK);
    assert_eq!(h.ctl.flash().pending, Some(new_version));
    assert_eq!(
        running_version(&h).version,
        16 << 24 | 35 << 16 | 2000,
        "not running before activate"
    );
    mcc(&h, Instruction::ACTIVATE, handle, 0).ok();
    mcc(&h, Instruction::RELEASE_UPDATE_HANDLE, handle, 0).ok();
    assert_eq!(mcc_query(&h).control_state, ControlState::IDLE);
    let v = running_version(&h);
    assert_eq!(
        (v.version, v.version_string.as_str()),
        (new_version, "16.36.1000")
    );
    // The new image keeps running after a function reset.
    h.f.reset().unwrap();
    h.wait_ready();
    h.program_cmdq();
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    assert_eq!(running_version(&h).version, new_version);
}

/// Flashes and activates an image whose firmware has `features`.
fn activate_image_with(h: &Harness, features: FwFeatures) {
    let handle = mcc_query(h).update_handle;
    let mut image = FLASH_IMAGE_MAGIC.to_vec();
    image.extend((16u32 << 24 | 37 << 16).to_be_bytes());
    image.extend(features.encode());
    image.resize(64, 0);
    mcc(h, Instruction::LOCK_UPDATE_HANDLE, handle, 0).ok();
    mcc(h, Instruction::UPDATE_COMPONENT, handle, image.len() as u32).ok();
    write_image(h, handle, &image);
    mcc(h, Instruction::VERIFY_COMPONENT, handle, 0).ok();
    assert_eq!(mcc_query(h).error_code, ErrorCode::OK);
    mcc(h, Instruction::ACTIVATE, handle, 0).ok();
    mcc(h, Instruction::RELEASE_UPDATE_HANDLE, handle, 0).ok();
}

fn trap_caps(h: &Harness) -> (bool, bool, u32, u32) {
    let c = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096);
    let cap = HcaCap::from_bytes(&c.out[16..]).unwrap();
    (
        cap.cxu_traps(),
        cap.cxu_trap_policers(),
        cap.cxu_max_trap_groups(),
        cap.cxu_max_trap_policers(),
    )
}

#[test]
fn an_activated_image_brings_its_trap_features_and_a_reset_keeps_them() {
    let h = Harness::new(Profile {
        policer_support: false,
        ..Profile::default()
    });
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let p = Profile::default();
    assert_eq!(
        trap_caps(&h),
        (true, false, u32::from(p.max_trap_groups), 0)
    );
    let pol = Qpcr::packet_policer(0, 100, 8).encode().unwrap();
    fails(
        &reg(&h, RegisterId::QPCR, RegOp::Write, &pol),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_UNKNOWN,
    );
    // Firmware with policers and without traps.
    activate_image_with(
        &h,
        FwFeatures {
            traps: false,
            policers: true,
        },
    );
    assert_eq!(trap_caps(&h), (false, true, 0, u32::from(p.max_policers)));
    ok_reg(&h, RegisterId::QPCR, RegOp::Write, &pol);
    fails(
        &reg(&h, RegisterId::HPKT, RegOp::Read, &[0; 32]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_UNKNOWN,
    );
    // A function reset runs the activated firmware, with its features.
    h.f.reset().unwrap();
    h.wait_ready();
    h.program_cmdq();
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    assert_eq!(trap_caps(&h), (false, true, 0, u32::from(p.max_policers)));
}

#[test]
fn an_incomplete_image_is_rejected() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let handle = mcc_query(&h).update_handle;
    mcc(&h, Instruction::LOCK_UPDATE_HANDLE, handle, 0).ok();
    mcc(&h, Instruction::UPDATE_COMPONENT, handle, 512).ok();
    let mut first = FLASH_IMAGE_MAGIC.to_vec();
    first.resize(256, 0);
    write_image(&h, handle, &first);
    fails(
        &mcda(&h, handle, 512, &[0; 4]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
    mcc(&h, Instruction::VERIFY_COMPONENT, handle, 0).ok();
    assert_eq!(mcc_query(&h).error_code, ErrorCode::REJECTED_BAD_FORMAT);
    mcc(&h, Instruction::CANCEL, handle, 0).ok();
    mcc(&h, Instruction::RELEASE_UPDATE_HANDLE, handle, 0).ok();
    assert_eq!(h.ctl.flash().state, ControlState::IDLE);
}

#[test]
fn host_endianness_and_dtor() {
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let mut he = [0u8; 16];
    he[0] = 0x80;
    ok_reg(&h, RegisterId::HOST_ENDIANNESS, RegOp::Write, &he);
    assert_eq!(
        ok_reg(&h, RegisterId::HOST_ENDIANNESS, RegOp::Read, &[0; 16])[0],
        0x80
    );
    assert!(ok_reg(&h, RegisterId::DTOR, RegOp::Read, &[0xFF; 0x40])
        .iter()
        .all(|&b| b == 0));
}

/// What Linux's `mlx5_fw_version_query` does: MCAM says MCQS and MCQI exist,
/// MCQS is walked to the boot image, MCQI gives its running version.
#[test]
fn mcam_and_mcqs_lead_the_kernel_to_the_running_version() {
    use cxu_hal::ifc::regs::{mcam, mcqs};
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    let mut q = [0u8; mcam::LEN];
    let g0 = ok_reg(&h, RegisterId::MCAM, RegOp::Read, &q);
    for f in [mcam::MCQS, mcam::MCQI, mcam::MCC, mcam::MCDA] {
        assert_eq!(f.get(&g0).unwrap(), 1, "{}", f.name);
    }
    // Other groups: nothing (the kernel reads groups 1 and 2 at probe).
    mcam::ACCESS_REG_GROUP.set(&mut q, 1).unwrap();
    let g1 = ok_reg(&h, RegisterId::MCAM, RegOp::Read, &q);
    assert!(g1[8..].iter().all(|&b| b == 0));

    let mut index = 0u64;
    let boot = loop {
        let mut r = [0u8; mcqs::LEN];
        mcqs::COMPONENT_INDEX.set(&mut r, index).unwrap();
        let o = ok_reg(&h, RegisterId::MCQS, RegOp::Read, &r);
        if mcqs::IDENTIFIER.get(&o).unwrap() == u64::from(identifier::BOOT_IMG) {
            assert_eq!(mcqs::COMPONENT_UPDATE_STATE.get(&o).unwrap(), 0, "idle");
            break index;
        }
        assert_eq!(
            mcqs::LAST_INDEX_FLAG.get(&o).unwrap(),
            0,
            "boot image not found"
        );
        index += 1;
    };
    assert_eq!(boot, 1);
    let mut past = [0u8; mcqs::LEN];
    mcqs::COMPONENT_INDEX.set(&mut past, 2).unwrap();
    fails(
        &reg(&h, RegisterId::MCQS, RegOp::Read, &past),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
    let (ma, mi, sub) = Profile::default().fw_version;
    let want = u32::from(ma) << 24 | u32::from(mi) << 16 | u32::from(sub);
    assert_eq!(running_version(&h).version, want);
    // The kernel's MCQI request is the header alone (`data` is a flexible
    // array in mlx5_ifc.h); the answer carries `data_size` bytes.
    let req = McqiHeader::request(
        identifier::BOOT_IMG,
        false,
        info_type::VERSION,
        mcqi::VERSION_LEN as u16,
    )
    .unwrap();
    let m = AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::MCQI,
        argument: 0,
        data: req[..mcqi::HEADER_LEN].to_vec(),
    }
    .encode();
    let c = h.exec(&m, 16 + req.len());
    c.ok();
    let v = McqiVersion::decode(&c.out[16 + mcqi::HEADER_LEN..]).unwrap();
    assert_eq!(v.version, want);
    // An output without room for the answer.
    fails(
        &h.exec(&m, 16 + mcqi::HEADER_LEN),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );
}
