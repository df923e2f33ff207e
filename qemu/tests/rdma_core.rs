//! rdma-core's userspace mlx5 over VFIO (56.1, `providers/mlx5/mlx5_vfio.c`),
//! replayed against the model in process: its open (`mlx5_vfio_setup_function`
//! and `create_async_eqs`), its DEVX general commands and UMEMs, and its close
//! (`destroy_async_eqs`, `mlx5_vfio_teardown_hca`, then vfio-pci's function
//! reset when the device file closes), with the sizes, slots and fields
//! rdma-core sends. rdma-core's own `mlx5_ifc.h` puts `fast_teardown` at bit
//! 0x111 of `cmd_hca_cap`, where Linux's (the model's authority) has a
//! reserved bit and puts it at 0xfb: so rdma-core sees no fast teardown and
//! closes with the graceful one. The fast teardown (TEARDOWN_HCA with the fast
//! profile, then `nic_interface` DISABLED) is the kernel's, tested here too. The real library runs against the model in
//! the QEMU guest (`tests/tests/qemu_guest/rdma.rs`); this says, without a
//! guest, what the model must accept from it.

mod common;

use std::time::Duration;

use common::*;
use cxu_hal::ifc::caps::general as cap;
use cxu_hal::ifc::commands::{hca, nic_vport as nv, umem};
use cxu_hal::ifc::eq::{EqContext, EventMask};
use cxu_hal::ifc::eqe::EventType;
use cxu_hal::ifc::{CmdStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::{HcaState, Profile};

/// rdma-core's command slots: everything in slot 0, page gifts in slot 31.
const SLOT_PAGES: u32 = 31;
/// `MLX5_REG_HOST_ENDIANNESS`.
const REG_HOST_ENDIANNESS: u16 = 0x7004;
/// The IOVA of the UMEM memory.
const UMEM_IOVA: u64 = 0x400_0000;
/// `cmdq_addr_l_sz` in the init segment, and its `nic_interface` bits.
const CMDQ_ADDR_L_SZ: u64 = 0x14;
const NIC_IFC_SHIFT: u32 = 8;
const NIC_IFC_DISABLED: u32 = 1;

fn be16(m: &mut [u8], off: usize, v: u16) {
    m[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

fn be32(m: &mut [u8], off: usize, v: u32) {
    m[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// `mlx5_vfio_satisfy_startup_pages`: QUERY_PAGES (boot 1, init 2), then
/// MANAGE_PAGES GIVE of that many pages in slot 31.
fn startup_pages(h: &Harness, pages: &DmaMem, first: usize, op_mod: u16) -> usize {
    let q = h.exec(&msg(Opcode::QUERY_PAGES, op_mod, 16), 16);
    q.ok();
    let func = (q.be32(0x08) & 0xFFFF) as u16;
    let n = q.be32(0x0C) as usize;
    let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 8 * n);
    be16(&mut m, 0x0A, func);
    be32(&mut m, 0x0C, n as u32);
    for i in 0..n {
        let a = pages.addr((first + i) * 4096);
        m[0x10 + 8 * i..0x18 + 8 * i].copy_from_slice(&a.to_be_bytes());
    }
    h.exec_in(SLOT_PAGES, &m, 16).ok();
    n
}

/// rdma-core's open up to its async EQ, as `mlx5_vfio_alloc_context` sends
/// it; returns the page memory, the EQ memory, the UAR and the EQ number.
fn open(h: &Harness) -> (DmaMem, DmaMem, u32, u8) {
    // mlx5_vfio_enable_hca: 16-byte input, 12-byte output (enable_hca_out).
    h.exec(&msg(Opcode::ENABLE_HCA, 0, 16), 12).ok();
    // mlx5_vfio_set_issi: rdma-core insists on ISSI 1.
    let q = h.exec(&msg(Opcode::QUERY_ISSI, 0, 16), hca::QUERY_ISSI_OUT_SIZE);
    q.ok();
    assert_ne!(q.be32(0x6C) & 2, 0, "ISSI 1 supported");
    let mut m = msg(Opcode::SET_ISSI, 0, 16);
    be16(&mut m, 0x0A, 1);
    h.exec(&m, 16).ok();
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    let boot = startup_pages(h, &pages, 0, 1);
    // mlx5_vfio_set_hca_ctrl: ACCESS_REG write (op_mod 0) of HOST_ENDIANNESS,
    // 16 bytes of register each way.
    let mut m = msg(Opcode::ACCESS_REG, 0, 32);
    be16(&mut m, 0x0A, REG_HOST_ENDIANNESS);
    h.exec(&m, 32).ok();
    // handle_hca_cap: the general caps, current then maximum; SET_HCA_CAP of
    // the current page with cmdif_checksum 0 and log_uar_page_sz 0 (4 KiB
    // system pages); mkey_by_name only if the maximum has it.
    let cur = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 0x1010);
    cur.ok();
    let max = h.exec(&msg(Opcode::QUERY_HCA_CAP, 0, 16), 0x1010);
    max.ok();
    let mut set = msg(Opcode::SET_HCA_CAP, 0, 0x1010);
    set[0x10..].copy_from_slice(&cur.out[0x10..0x1010]);
    cap::CMDIF_CHECKSUM.set(&mut set[0x10..], 0).unwrap();
    cap::LOG_UAR_PAGE_SZ.set(&mut set[0x10..], 0).unwrap();
    h.exec(&set, 16).ok();
    // Without roce, handle_hca_cap_roce sends nothing. Then the gate that
    // stopped rdma-core's open: the current caps must have umem_uid_0.
    assert_eq!(cap::ROCE.get(&cur.out[0x10..]).unwrap(), 0);
    assert_eq!(
        cap::UMEM_UID_0.get(&cur.out[0x10..]).unwrap(),
        1,
        "rdma-core fails its open with EOPNOTSUPP without umem_uid_0"
    );
    startup_pages(h, &pages, boot, 2);
    // mlx5_vfio_init_hca: the 16-byte form (no sw_owner_id).
    h.exec(&msg(Opcode::INIT_HCA, 0, 16), 16).ok();
    // An Ethernet port: mlx5_vfio_nic_vport_update_roce_state turns RoCE on
    // in the NIC vport context (its 512-byte modify_nic_vport_context_in).
    assert_eq!(cap::PORT_TYPE.get(&cur.out[0x10..]).unwrap(), 1);
    let mut m = msg(
        Opcode::MODIFY_NIC_VPORT_CONTEXT,
        0,
        nv::MODIFY_NIC_VPORT_CONTEXT_IN_SIZE,
    );
    nv::field_select::ROCE_EN.set(&mut m, 1).unwrap();
    nv::ctx::ROCE_EN
        .set(&mut m[nv::MODIFY_CONTEXT_OFFSET..], 1)
        .unwrap();
    h.exec(&m, 16).ok();
    let q = h.exec(
        &msg(Opcode::QUERY_NIC_VPORT_CONTEXT, 0, 16),
        nv::QUERY_NIC_VPORT_CONTEXT_OUT_SIZE,
    );
    q.ok();
    assert_eq!(
        nv::ctx::ROCE_EN
            .get(&q.out[nv::QUERY_CONTEXT_OFFSET..])
            .unwrap(),
        1
    );
    // create_async_eqs: one UAR, one EQ of 256 entries (32 + 128 spare,
    // rounded up) in one 16 KiB page (log_page_size 2), on MSI-X vector 0,
    // for command completions and page requests; armed at once.
    let u = h.exec(&msg(Opcode::ALLOC_UAR, 0, 16), 16);
    u.ok();
    let uar = u.be32(0x08) & 0xFF_FFFF;
    let eq = DmaMem::new(&h.f, EQ_IOVA, 16384);
    for i in 0..256 {
        eq.write(i * 64 + 0x3F, &[1]);
    }
    let mut m = msg(Opcode::CREATE_EQ, 0, 0x110 + 8);
    EqContext {
        log_eq_size: 8,
        uar_page: uar,
        intr: 0,
        log_page_size: 2,
        ..Default::default()
    }
    .encode_into(&mut m[0x10..0x50])
    .unwrap();
    m[0x58..0x78]
        .copy_from_slice(&EventMask::of(&[EventType::CMD, EventType::PAGE_REQUEST]).encode());
    m[0x110..0x118].copy_from_slice(&eq.addr(0).to_be_bytes());
    let c = h.exec(&m, 16);
    c.ok();
    let eqn = (c.be32(0x08) & 0xFF) as u8;
    eq_doorbell(h, uar, eqn, 0, true);
    (pages, eq, uar, eqn)
}

/// `destroy_async_eqs`: DESTROY_EQ, DEALLOC_UAR.
fn destroy_async_eqs(h: &Harness, uar: u32, eqn: u8) {
    let mut m = msg(Opcode::DESTROY_EQ, 0, 16);
    m[0x0B] = eqn;
    h.exec(&m, 16).ok();
    let mut m = msg(Opcode::DEALLOC_UAR, 0, 16);
    be32(&mut m, 0x08, uar);
    h.exec(&m, 16).ok();
}

/// rdma-core's close as it runs on the model: its `fast_teardown` bit (0x111)
/// reads 0, so TEARDOWN_HCA graceful; it neither reclaims its pages nor
/// disables the HCA (it frees its DMA memory and closes the device file);
/// vfio-pci then resets the function.
fn close(h: &Harness, uar: u32, eqn: u8) {
    destroy_async_eqs(h, uar, eqn);
    let t = h.exec(&msg(Opcode::TEARDOWN_HCA, 0, 16), 16);
    t.ok();
    assert_eq!(h.ctl.hca_state(), HcaState::Enabled);
    h.f.reset().expect("vfio-pci's function reset");
}

/// The kernel's fast teardown (`mlx5_cmd_fast_teardown_hca`): TEARDOWN_HCA
/// with the fast profile, then `nic_interface` DISABLED, polled until it
/// reads back.
fn fast_teardown(h: &Harness) {
    let mut m = msg(Opcode::TEARDOWN_HCA, 0, 16);
    be16(&mut m, 0x0A, 2);
    let t = h.exec(&m, 16);
    t.ok();
    assert_eq!(
        hca::TEARDOWN_STATE.get(&t.out).unwrap(),
        0,
        "not FORCE_STATE_FAIL"
    );
    let cur = h.bar.read32_be(CMDQ_ADDR_L_SZ);
    h.bar.write32_be(
        CMDQ_ADDR_L_SZ,
        (cur & 0xFFFF_F000) | (NIC_IFC_DISABLED << NIC_IFC_SHIFT),
    );
    assert_eq!(
        (h.bar.read32_be(CMDQ_ADDR_L_SZ) >> NIC_IFC_SHIFT) & 7,
        NIC_IFC_DISABLED
    );
}

fn harness() -> Harness {
    Harness::new(Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    })
}

#[test]
fn rdma_core_opens_runs_devx_commands_and_closes() {
    let h = harness();
    let (pages, eq, uar, eqn) = open(&h);
    assert_eq!(h.ctl.hca_state(), HcaState::Initialized);
    // Where the two vendor headers put fast_teardown: the model follows Linux.
    let caps = h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 0x1010);
    let bit = |b: usize| (caps.out[0x10 + b / 8] >> (7 - b % 8)) & 1;
    assert_eq!(
        (bit(0xfb), bit(0x111)),
        (1, 0),
        "Linux's fast_teardown, not rdma-core's"
    );
    let p = Profile::default();
    assert_eq!(
        h.ctl.pages().len() as u64,
        u64::from(p.boot_pages + p.init_pages)
    );
    // DEVX general commands: NOP and QUERY_HCA_CAP, each completed with an
    // EQE on the async EQ (rdma-core waits for it in events mode).
    let before = h.ctl.eqs()[0].producer_index;
    for _ in 0..50 {
        h.exec(&msg(Opcode::NOP, 0, 16), 16).ok();
        h.exec(&msg(Opcode::QUERY_HCA_CAP, 1, 16), 0x1010).ok();
    }
    wait_until("a command EQE per command", || {
        h.ctl.eqs()[0].producer_index >= before + 100
    });
    close(&h, uar, eqn);
    // vfio-pci's reset took what rdma-core left: disabled, no page held
    // (rdma-core never reclaims them), no EQ or UAR.
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    assert!(h.ctl.pages().is_empty(), "{:?}", h.ctl.pages());
    assert!(h.ctl.eqs().is_empty() && h.ctl.uars().is_empty());
    // And rdma-core's open works again on the fresh function.
    drop((pages, eq));
    h.wait_ready();
    h.program_cmdq();
    let (_pages, _eq, uar, eqn) = open(&h);
    close(&h, uar, eqn);
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

#[test]
fn the_fast_teardown_stops_the_function_and_releases_its_pages() {
    let h = harness();
    let (pages, eq, uar, eqn) = open(&h);
    destroy_async_eqs(&h, uar, eqn);
    fast_teardown(&h);
    // Disabled, no page held (the driver frees them itself), no EQ or UAR,
    // without a reset.
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
    assert!(h.ctl.pages().is_empty(), "{:?}", h.ctl.pages());
    assert!(h.ctl.eqs().is_empty() && h.ctl.uars().is_empty());
    // ENABLE_HCA starts over.
    drop((pages, eq));
    let (_pages, _eq, uar, eqn) = open(&h);
    destroy_async_eqs(&h, uar, eqn);
    fast_teardown(&h);
    assert_eq!(h.ctl.hca_state(), HcaState::Disabled);
}

#[test]
fn nic_interface_disabled_without_a_fast_teardown_stops_nothing() {
    let h = harness();
    let (_pages, _eq, _uar, _eqn) = open(&h);
    let held = h.ctl.pages().len();
    let cur = h.bar.read32_be(CMDQ_ADDR_L_SZ);
    h.bar.write32_be(
        CMDQ_ADDR_L_SZ,
        (cur & 0xFFFF_F000) | (NIC_IFC_DISABLED << NIC_IFC_SHIFT),
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Initialized);
    assert_eq!(h.ctl.pages().len(), held);
    // A graceful teardown does not prepare one either.
    h.exec(&msg(Opcode::TEARDOWN_HCA, 0, 16), 16).ok();
    h.bar.write32_be(
        CMDQ_ADDR_L_SZ,
        (cur & 0xFFFF_F000) | (NIC_IFC_DISABLED << NIC_IFC_SHIFT),
    );
    assert_eq!(h.ctl.hca_state(), HcaState::Enabled);
    assert_eq!(h.ctl.pages().len(), held);
}

/// CREATE_UMEM as `_vfio_devx_umem_reg` builds it: uid 0, one page list entry
/// per (up to 2 MiB) page with read and write enabled.
fn create_umem(h: &Harness, uid: u16, log_page_size: u64, offset: u64, mtts: &[u64]) -> Completion {
    let mut m = msg(Opcode::CREATE_UMEM, 0, umem::MTT_OFFSET + 8 * mtts.len());
    umem::UID.set(&mut m, u64::from(uid)).unwrap();
    umem::UMEM_LOG_PAGE_SIZE.set(&mut m, log_page_size).unwrap();
    umem::UMEM_PAGE_OFFSET.set(&mut m, offset).unwrap();
    umem::UMEM_NUM_OF_MTT
        .set(&mut m, mtts.len() as u64)
        .unwrap();
    for (i, a) in mtts.iter().enumerate() {
        let at = umem::MTT_OFFSET + 8 * i;
        m[at..at + 8].copy_from_slice(&a.to_be_bytes());
    }
    h.exec(&m, 16)
}

fn destroy_umem(h: &Harness, id: u32) -> Completion {
    // rdma-core sends it in a create_umem_in-sized (48-byte) buffer.
    let mut m = msg(Opcode::DESTROY_UMEM, 0, 48);
    umem::UMEM_ID.set(&mut m, u64::from(id)).unwrap();
    h.exec(&m, 16)
}

#[test]
fn umems_with_uid_0_are_created_checked_and_destroyed() {
    let h = harness();
    let (_pages, _eq, _uar, _eqn) = open(&h);
    let mem = DmaMem::new(&h.f, UMEM_IOVA, 4 * 4096);
    let rw = umem::MTT_RD_EN | umem::MTT_WR_EN;
    // One 16 KiB page (log_page_size 2), starting 0x40 into it.
    let c = create_umem(&h, 0, 2, 0x40, &[mem.addr(0) | rw]);
    c.ok();
    let id = c.be32(0x08) & 0xFF_FFFF;
    assert_ne!(id, 0);
    // Four 4 KiB pages.
    let list: Vec<u64> = (0..4)
        .map(|i| mem.addr(i * 4096) | umem::MTT_RD_EN)
        .collect();
    let c2 = create_umem(&h, 0, 0, 0, &list);
    c2.ok();
    let id2 = c2.be32(0x08) & 0xFF_FFFF;
    assert_ne!(id, id2);
    assert_eq!(h.ctl.umems(), (2, 5));
    let refused = |c: Completion, status: CmdStatus| {
        assert_eq!(c.status(), status, "syndrome {:#x}", c.header().syndrome);
    };
    // What firmware refuses: a user context the model does not have, a page
    // not aligned to the UMEM's page size, a page the IOMMU does not map, an
    // entry with neither read nor write, an offset past the first page, a list
    // shorter than num_of_mtt.
    refused(
        create_umem(&h, 7, 0, 0, &[mem.addr(0) | rw]),
        CmdStatus::BAD_PARAM_ERR,
    );
    refused(
        create_umem(&h, 0, 1, 0, &[mem.addr(4096) | rw]),
        CmdStatus::BAD_PARAM_ERR,
    );
    refused(
        create_umem(&h, 0, 0, 0, &[0x7000_0000 | rw]),
        CmdStatus::BAD_PARAM_ERR,
    );
    refused(
        create_umem(&h, 0, 2, 0, &[mem.addr(0) | rw, (UMEM_IOVA + 0x10000) | rw]),
        CmdStatus::BAD_PARAM_ERR,
    );
    refused(
        create_umem(&h, 0, 0, 0, &[mem.addr(0)]),
        CmdStatus::BAD_PARAM_ERR,
    );
    refused(
        create_umem(&h, 0, 0, 4096, &[mem.addr(0) | rw]),
        CmdStatus::BAD_PARAM_ERR,
    );
    let mut short = msg(Opcode::CREATE_UMEM, 0, umem::MTT_OFFSET + 8);
    umem::UMEM_NUM_OF_MTT.set(&mut short, 2).unwrap();
    short[umem::MTT_OFFSET..umem::MTT_OFFSET + 8]
        .copy_from_slice(&(mem.addr(0) | rw).to_be_bytes());
    refused(h.exec(&short, 16), CmdStatus::BAD_INP_LEN_ERR);
    assert_eq!(h.ctl.umems(), (2, 5));
    destroy_umem(&h, id).ok();
    refused(destroy_umem(&h, id), CmdStatus::BAD_RES_ERR);
    assert_eq!(h.ctl.umems(), (1, 4));
    // A teardown destroys what is left.
    h.exec(&msg(Opcode::TEARDOWN_HCA, 0, 16), 16).ok();
    assert_eq!(h.ctl.umems(), (0, 0));
}

#[test]
fn umems_need_an_initialized_hca() {
    let h = harness();
    h.exec(&msg(Opcode::ENABLE_HCA, 0, 16), 12).ok();
    let c = create_umem(&h, 0, 0, 0, &[PAGES_IOVA | 3]);
    assert_eq!(c.status(), CmdStatus::BAD_SYS_STATE_ERR);
}
