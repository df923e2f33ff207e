//! The bring-up sequence and every bring-up command in good and bad states,
//! driven with raw commands built from `cxu_hal::ifc` (no driver).

mod common;

use common::*;
use cxu_hal::ifc::caps::{general as cap, CapMode, CapType, HcaCap};
use cxu_hal::ifc::{caps, CmdStatus, Opcode};
use cxu_qemu::model::{syndrome, HcaState, Profile};

fn query_cap(h: &Harness, mode: CapMode) -> HcaCap {
    let c = h.exec(
        &msg(
            Opcode::QUERY_HCA_CAP,
            caps::query_op_mod(CapType::GENERAL, mode),
            16,
        ),
        16 + 4096,
    );
    c.ok();
    HcaCap::from_bytes(&c.out[16..]).unwrap()
}

#[test]
fn full_bring_up_and_teardown() {
    let p = Profile::default();
    let h = Harness::new(p.clone());
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);

    h.simple(Opcode::ENABLE_HCA, 0).ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Enabled);

    let q = h.exec(&msg(Opcode::QUERY_ISSI, 0, 16), 0x70);
    q.ok();
    assert_eq!(
        u16::from_be_bytes([q.out[0x0A], q.out[0x0B]]),
        0,
        "current ISSI at power-on"
    );
    assert_eq!(q.be32(0x6C), p.supported_issi);
    let mut set_issi = msg(Opcode::SET_ISSI, 0, 16);
    set_issi[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
    h.exec(&set_issi, 16).ok();
    assert_eq!(h.ctl.issi(), 1);

    let boot = h.simple(Opcode::QUERY_PAGES, 1);
    boot.ok();
    assert_eq!(boot.be32(0x0C), p.boot_pages);
    h.give_pages(&pages, 0, p.boot_pages as usize).ok();
    assert_eq!(
        h.simple(Opcode::QUERY_PAGES, 1).be32(0x0C),
        0,
        "boot pages satisfied"
    );

    let max = query_cap(&h, CapMode::Max);
    let cur = query_cap(&h, CapMode::Current);
    assert_eq!(max.num_ports(), u32::from(p.num_ports));
    assert_eq!(max.port_type(), caps::port_type::ETH);
    assert_eq!(max.log_max_qp(), u32::from(p.log_max_qp));
    assert_eq!(max.log_max_eq(), u32::from(p.log_max_eq));
    assert!(!cur.cmdif_checksum_enabled_for_test());

    // SET_HCA_CAP: the driver copies current caps and lowers log_max_qp.
    let mut new = cur.clone();
    new.set_log_max_qp(12).unwrap();
    new.set_pkey_table_size(1).unwrap(); // 256 entries
    new.set_num_ports(7).unwrap(); // read-only: ignored by firmware
    let mut m = msg(
        Opcode::SET_HCA_CAP,
        caps::set_op_mod(CapType::GENERAL),
        16 + 4096,
    );
    m[16..].copy_from_slice(new.as_bytes());
    h.exec(&m, 16).ok();
    let cur = query_cap(&h, CapMode::Current);
    assert_eq!(cur.log_max_qp(), 12);
    assert_eq!(cur.pkey_table_size(), 1);
    assert_eq!(
        cur.num_ports(),
        u32::from(p.num_ports),
        "read-only field unchanged"
    );
    assert_eq!(
        query_cap(&h, CapMode::Max).log_max_qp(),
        u32::from(p.log_max_qp),
        "max unchanged"
    );

    let init = h.simple(Opcode::QUERY_PAGES, 2);
    assert_eq!(init.be32(0x0C), p.init_pages);
    h.give_pages(&pages, p.boot_pages as usize, p.init_pages as usize)
        .ok();
    h.simple(Opcode::INIT_HCA, 0).ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Initialized);

    let mut v = msg(Opcode::SET_DRIVER_VERSION, 0, 0x50);
    v[0x10..0x10 + 20].copy_from_slice(b"Linux,cxu_test,0.1.0");
    h.exec(&v, 16).ok();
    assert_eq!(
        h.ctl.driver_version().as_deref(),
        Some("Linux,cxu_test,0.1.0")
    );

    let a = h.exec(&msg(Opcode::QUERY_ADAPTER, 0, 16), 0x110);
    a.ok();
    assert_eq!(&a.out[0x100..0x100 + p.psid.len()], p.psid.as_bytes());
    assert_eq!(a.be32(0x28) & 0xFF_FFFF, p.ieee_vendor_id);

    let u = h.simple(Opcode::ALLOC_UAR, 0);
    u.ok();
    let uar = u.be32(0x08) & 0xFF_FFFF;
    assert_eq!(h.ctl.uars(), vec![uar]);
    h.simple(Opcode::NOP, 0).ok();

    // Every given page holds the model's pattern: its IOVA, then 0xA5.
    let total = (p.boot_pages + p.init_pages) as usize;
    assert_eq!(h.ctl.counters().pages_held, total as u64);
    for i in 0..total {
        let b = pages.read(i * 4096, 4096);
        assert_eq!(
            u64::from_be_bytes(b[..8].try_into().unwrap()),
            pages.addr(i * 4096)
        );
        assert!(b[8..].iter().all(|&x| x == 0xA5), "page {i} pattern");
    }

    // Reclaim works in every state (the kernel's probe error path after
    // INIT_HCA reclaims and disables without TEARDOWN_HCA): the pages asked
    // for come back, newest first.
    let (c, mut got) = h.take_pages(3);
    c.ok();
    assert_eq!(got.len(), 3, "firmware keeps pages while initialized");
    assert_eq!(got[0], pages.addr((total - 1) * 4096));
    let mut d = msg(Opcode::DEALLOC_UAR, 0, 16);
    d[0x08..0x0C].copy_from_slice(&uar.to_be_bytes());
    h.exec(&d, 16).ok();
    let t = h.simple(Opcode::TEARDOWN_HCA, 0);
    t.ok();
    assert_eq!(t.out[0x0F] & 1, 0, "teardown state = success");
    assert_eq!(h.ctl.hca_state(), HcaState::Enabled);
    let (c, more) = h.take_pages(10);
    c.ok();
    assert_eq!(more.len(), 10);
    got.extend(more);
    let (_, rest) = h.take_pages(100);
    got.extend(rest);
    let mut given: Vec<u64> = (0..total).map(|i| pages.addr(i * 4096)).collect();
    got.sort_unstable();
    given.sort_unstable();
    assert_eq!(got, given, "the same pages come back");
    assert_eq!(h.ctl.counters().pages_held, 0);
    h.simple(Opcode::DISABLE_HCA, 0).ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

trait ChecksumCap {
    fn cmdif_checksum_enabled_for_test(&self) -> bool;
}
impl ChecksumCap for HcaCap {
    fn cmdif_checksum_enabled_for_test(&self) -> bool {
        self.read(cap::CMDIF_CHECKSUM) != 0
    }
}

#[test]
fn commands_in_the_wrong_state_fail_with_bad_sys_state() {
    let h = Harness::new(Profile::default());
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    let bad = CmdStatus::BAD_SYS_STATE_ERR;
    // Disabled: only ENABLE_HCA.
    for op in [
        Opcode::INIT_HCA,
        Opcode::QUERY_ISSI,
        Opcode::QUERY_PAGES,
        Opcode::NOP,
        Opcode::DISABLE_HCA,
        Opcode::TEARDOWN_HCA,
        Opcode::ALLOC_UAR,
    ] {
        fails(&h.simple(op, 1), bad, syndrome::HCA_NOT_ENABLED);
    }
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    fails(
        &h.simple(Opcode::ENABLE_HCA, 0),
        bad,
        syndrome::HCA_ALREADY_ENABLED,
    );
    // Enabled, before INIT_HCA.
    fails(&h.simple(Opcode::INIT_HCA, 0), bad, syndrome::PAGES_MISSING);
    for op in [
        Opcode::TEARDOWN_HCA,
        Opcode::ALLOC_UAR,
        Opcode::DEALLOC_UAR,
        Opcode::DESTROY_EQ,
    ] {
        fails(&h.simple(op, 0), bad, syndrome::HCA_NOT_INITIALIZED);
    }
    fails(
        &h.exec(&msg(Opcode::CREATE_EQ, 0, 0x118), 16),
        bad,
        syndrome::HCA_NOT_INITIALIZED,
    );
    // Initialized.
    h.simple(Opcode::DISABLE_HCA, 0).ok();
    h.bring_up(&pages);
    fails(
        &h.simple(Opcode::INIT_HCA, 0),
        bad,
        syndrome::HCA_ALREADY_INITIALIZED,
    );
    fails(
        &h.simple(Opcode::SET_ISSI, 0),
        bad,
        syndrome::HCA_ALREADY_INITIALIZED,
    );
    fails(
        &h.exec(&msg(Opcode::SET_HCA_CAP, 0, 16 + 4096), 16),
        bad,
        syndrome::HCA_ALREADY_INITIALIZED,
    );
    // DISABLE_HCA straight from the initialized state, as the kernel's probe
    // error path after INIT_HCA sends it: the HCA is disabled.
    h.simple(Opcode::DISABLE_HCA, 0).ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

#[test]
fn header_only_outputs_need_only_status_and_syndrome() {
    // The kernel posts ENABLE_HCA with its 12-byte `enable_hca_out`; firmware
    // writes 8 bytes (status, syndrome) for every status-only output.
    let h = Harness::new(Profile::default());
    h.exec(&msg(Opcode::ENABLE_HCA, 0, 16), 12).ok();
    h.exec(&msg(Opcode::NOP, 0, 16), 8).ok();
    // An output that carries data still needs room for it.
    fails(
        &h.exec(&msg(Opcode::QUERY_PAGES, 1, 16), 12),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );
    // INIT_HCA's 16-byte form (rdma-core's) is accepted like the kernel's 32 bytes.
    let p = Profile::default();
    let n = (p.boot_pages + p.init_pages) as usize;
    let pages = DmaMem::new(&h.f, PAGES_IOVA, n * 4096);
    h.give_pages(&pages, 0, n).ok();
    h.exec(&msg(Opcode::INIT_HCA, 0, 16), 16).ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Initialized);
}

#[test]
fn every_advertised_capability_type_is_answered() {
    // `event_cap` is advertised, so the device event page (type 0x14) is
    // answered, as the kernel asks for it at probe (op_mod 0x29).
    let h = Harness::new(Profile::default());
    h.simple(Opcode::ENABLE_HCA, 0).ok();
    assert!(query_cap(&h, CapMode::Current).event_cap());
    let q = h.exec(
        &msg(
            Opcode::QUERY_HCA_CAP,
            caps::query_op_mod(CapType::DEV_EVENT, CapMode::Current),
            16,
        ),
        16 + 4096,
    );
    q.ok();
    assert_eq!(q.out.len(), 16 + 4096);
    // Every command the model answered is in its history, in order.
    let h2 = h.ctl.history();
    let ops: Vec<(Opcode, u16)> = h2.commands.iter().map(|c| (c.opcode, c.op_mod)).collect();
    assert_eq!(
        ops,
        [
            (Opcode::ENABLE_HCA, 0),
            (Opcode::QUERY_HCA_CAP, 1),
            (Opcode::QUERY_HCA_CAP, 0x29)
        ]
    );
}

/// Every command `ifc` lays out reaches a handler: none is BAD_OP in the
/// state it runs in. The model has no opcode list of its own past the HCA
/// commands (an Ethernet or queue command is whatever eth.rs's or queues/'s
/// dispatch match takes), so this is what keeps them and `LAID_OUT` in step.
#[test]
fn every_laid_out_command_reaches_its_handler() {
    let h = Harness::new(Profile::default());
    let (_pages, _uar) = initialized(&h);
    // TEARDOWN_HCA and DISABLE_HCA leave the initialized state: last.
    let ends = [Opcode::TEARDOWN_HCA, Opcode::DISABLE_HCA];
    let laid_out = cxu_hal::ifc::commands::LAID_OUT;
    let order = laid_out.iter().filter(|op| !ends.contains(op)).chain(&ends);
    for &op in order {
        let s = cxu_hal::ifc::commands::sizes(op).expect("laid out");
        let c = h.exec(&msg(op, 0, s.inlen), s.outlen);
        assert_ne!(c.status(), CmdStatus::BAD_OP_ERR, "{op}");
    }
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

#[test]
fn bad_parameters_and_lengths_fail_with_the_real_status() {
    let h = Harness::new(Profile::default());
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    fails(
        &h.simple(Opcode(0x999), 0),
        CmdStatus::BAD_OP_ERR,
        syndrome::BAD_OPCODE,
    );
    let mut en = msg(Opcode::ENABLE_HCA, 0, 16);
    en[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
    fails(
        &h.exec(&en, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_FUNCTION_ID,
    );
    h.simple(Opcode::ENABLE_HCA, 0).ok();

    fails(
        &h.exec(&msg(Opcode::QUERY_ISSI, 0, 16), 16),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );
    fails(
        &h.exec(&msg(Opcode::SET_DRIVER_VERSION, 0, 16), 16),
        CmdStatus::BAD_INP_LEN_ERR,
        syndrome::BAD_INPUT_LEN,
    );
    let mut issi = msg(Opcode::SET_ISSI, 0, 16);
    issi[0x0A..0x0C].copy_from_slice(&5u16.to_be_bytes());
    fails(
        &h.exec(&issi, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::ISSI_UNSUPPORTED,
    );
    assert_eq!(h.ctl.issi(), 0);
    fails(
        &h.simple(Opcode::QUERY_PAGES, 7),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_OP_MOD,
    );
    fails(
        &h.simple(Opcode::MANAGE_PAGES, 9),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_OP_MOD,
    );
    let q = h.exec(
        &msg(
            Opcode::QUERY_HCA_CAP,
            caps::query_op_mod(CapType::ROCE, CapMode::Current),
            16,
        ),
        16 + 4096,
    );
    fails(&q, CmdStatus::BAD_PARAM_ERR, syndrome::CAP_TYPE_UNSUPPORTED);
    fails(
        &h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 512),
        CmdStatus::BAD_OUTP_LEN_ERR,
        syndrome::BAD_OUTPUT_LEN,
    );

    let mut cap = query_cap(&h, CapMode::Current);
    cap.set_log_max_qp(31).unwrap();
    let mut m = msg(Opcode::SET_HCA_CAP, 0, 16 + 4096);
    m[16..].copy_from_slice(cap.as_bytes());
    fails(
        &h.exec(&m, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::CAP_ABOVE_MAX,
    );

    // MANAGE_PAGES: count larger than the input, unaligned, duplicate, unmapped.
    let mut give = msg(Opcode::MANAGE_PAGES, 1, 16 + 8);
    give[0x0C..0x10].copy_from_slice(&2u32.to_be_bytes());
    give[16..24].copy_from_slice(&pages.addr(0).to_be_bytes());
    fails(
        &h.exec_in(31, &give, 16),
        CmdStatus::BAD_INP_LEN_ERR,
        syndrome::PAGES_NUM_ENTRIES,
    );
    give[0x0C..0x10].copy_from_slice(&1u32.to_be_bytes());
    give[16..24].copy_from_slice(&(pages.addr(0) + 8).to_be_bytes());
    fails(
        &h.exec_in(31, &give, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::PAGE_NOT_ALIGNED,
    );
    h.give_pages(&pages, 0, 1).ok();
    fails(
        &h.give_pages(&pages, 0, 1),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::PAGE_DUPLICATE,
    );
    assert_eq!(h.ctl.pages(), vec![pages.addr(0)]);
    assert_eq!(h.ctl.counters().iommu_faults, 0);
    let mut dup = msg(Opcode::MANAGE_PAGES, 1, 32);
    dup[0x0C..0x10].copy_from_slice(&2u32.to_be_bytes());
    dup[16..24].copy_from_slice(&pages.addr(4096).to_be_bytes());
    dup[24..32].copy_from_slice(&pages.addr(4096).to_be_bytes());
    fails(
        &h.exec_in(31, &dup, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::PAGE_DUPLICATE,
    );
    assert_eq!(h.ctl.pages().len(), 1, "nothing of a failed give is held");

    let mut t = msg(Opcode::TEARDOWN_HCA, 0, 16);
    t[0x0A..0x0C].copy_from_slice(&9u16.to_be_bytes());
    // TEARDOWN_HCA is checked for state before the profile.
    fails(
        &h.exec(&t, 16),
        CmdStatus::BAD_SYS_STATE_ERR,
        syndrome::HCA_NOT_INITIALIZED,
    );
}

#[test]
fn resources_after_init_hca() {
    let h = Harness::new(Profile {
        max_uars: 2,
        ..Profile::default()
    });
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    h.bring_up(&pages);
    let a = h.simple(Opcode::ALLOC_UAR, 0);
    let b = h.simple(Opcode::ALLOC_UAR, 0);
    a.ok();
    b.ok();
    assert_ne!(a.be32(8), b.be32(8));
    fails(
        &h.simple(Opcode::ALLOC_UAR, 0),
        CmdStatus::NO_RES_ERR,
        syndrome::UAR_EXHAUSTED,
    );
    let mut d = msg(Opcode::DEALLOC_UAR, 0, 16);
    d[0x08..0x0C].copy_from_slice(&0x77u32.to_be_bytes());
    fails(
        &h.exec(&d, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::UAR_NOT_ALLOCATED,
    );
    let mut e = msg(Opcode::DESTROY_EQ, 0, 16);
    e[0x0B] = 3;
    fails(
        &h.exec(&e, 16),
        CmdStatus::BAD_RES_ERR,
        syndrome::EQ_NOT_FOUND,
    );
    let mut t = msg(Opcode::TEARDOWN_HCA, 0, 16);
    t[0x0A..0x0C].copy_from_slice(&9u16.to_be_bytes());
    fails(
        &h.exec(&t, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_TEARDOWN_PROFILE,
    );
    // Force teardown (profile 1) is accepted and frees the resources.
    t[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
    h.exec(&t, 16).ok();
    assert!(h.ctl.uars().is_empty());
    assert!(h.ctl.counters().commands_executed > 10);
}
