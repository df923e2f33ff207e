//! The NIC vport context: QUERY_NIC_VPORT_CONTEXT and MODIFY_NIC_VPORT_CONTEXT
//! as Linux's mlx5e and rdma-core send them, and the refusals firmware gives.

mod common;

use common::*;
use cxu_hal::ifc::commands::nic_vport::{self as nv, ctx, field_select as sel, list_type};
use cxu_hal::ifc::{CmdStatus, Field, Opcode};
use cxu_qemu::model::{syndrome, Profile};

fn query(h: &Harness, list: u8, outlen: usize) -> Completion {
    h.exec(&nv::query_in(list), outlen)
}

fn qget(c: &Completion, f: Field) -> u64 {
    f.at(nv::QUERY_CONTEXT_OFFSET).get(&c.out).unwrap()
}

fn modify(h: &Harness, select: Field, set: &[(Field, u64)], list: &[[u8; 8]]) -> Completion {
    let mut m = nv::modify_in(list.len());
    select.set(&mut m, 1).unwrap();
    for (f, v) in set {
        f.at(nv::MODIFY_CONTEXT_OFFSET).set(&mut m, *v).unwrap();
    }
    let at = nv::MODIFY_CONTEXT_OFFSET + ctx::LIST_OFFSET;
    for (i, e) in list.iter().enumerate() {
        m[at + i * 8..at + i * 8 + 8].copy_from_slice(e);
    }
    h.exec(&m, 16)
}

#[test]
fn the_permanent_mac_comes_from_the_profile_and_modify_changes_only_what_is_selected() {
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let h = Harness::new(Profile {
        mac,
        ..Profile::default()
    });
    // Before INIT_HCA there is no vport.
    let c = query(&h, list_type::UC, 0x110);
    assert_eq!(c.status(), CmdStatus::BAD_SYS_STATE_ERR);
    let (_pages, _uar) = initialized(&h);

    let c = query(&h, list_type::UC, nv::QUERY_NIC_VPORT_CONTEXT_OUT_SIZE);
    c.ok();
    let at = nv::QUERY_CONTEXT_OFFSET + ctx::PERMANENT_ADDRESS_OFFSET;
    assert_eq!(&c.out[at..at + 6], &mac);
    assert_eq!(h.ctl.nic_vport().mac, mac);
    let mtu0 = qget(&c, ctx::MTU);
    assert!(mtu0 >= 1500, "a usable default MTU, got {mtu0}");
    assert_eq!(qget(&c, ctx::NODE_GUID), 0x0211_22FF_FE33_4455);

    // MTU, selected.
    modify(&h, sel::MTU, &[(ctx::MTU, 9000), (ctx::ROCE_EN, 1)], &[]).ok();
    let c = query(&h, list_type::UC, 0x110);
    assert_eq!(qget(&c, ctx::MTU), 9000);
    assert_eq!(qget(&c, ctx::ROCE_EN), 0, "roce_en was not selected");
    // roce_en, as rdma-core's mlx5_vfio sends it.
    modify(&h, sel::ROCE_EN, &[(ctx::ROCE_EN, 1)], &[]).ok();
    assert!(h.ctl.nic_vport().roce_en);
    // Promiscuous bits.
    modify(
        &h,
        sel::PROMISC,
        &[(ctx::PROMISC_MC, 1), (ctx::PROMISC_ALL, 1)],
        &[],
    )
    .ok();
    assert_eq!(h.ctl.nic_vport().promisc, [false, true, true]);
    let c = query(&h, list_type::UC, 0x110);
    assert_eq!(
        (
            qget(&c, ctx::PROMISC_UC),
            qget(&c, ctx::PROMISC_MC),
            qget(&c, ctx::PROMISC_ALL)
        ),
        (0, 1, 1)
    );

    // A zero MTU and fields a non-manager may not change are refused, and
    // leave the context as it was.
    fails(
        &modify(&h, sel::MTU, &[(ctx::MTU, 0)], &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_MTU,
    );
    fails(
        &modify(&h, sel::PERMANENT_ADDRESS, &[], &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::FIELD_NOT_MODIFIABLE,
    );
    assert_eq!(h.ctl.nic_vport().mtu, 9000);
    // Another vport is not this function's.
    let mut q = nv::query_in(list_type::UC);
    nv::OTHER_VPORT.set(&mut q, 1).unwrap();
    nv::VPORT_NUMBER.set(&mut q, 1).unwrap();
    fails(
        &h.exec(&q, 0x110),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::VPORT_NOT_MANAGED,
    );
    // The output must hold the context; the status-only MODIFY needs 8 bytes.
    assert_eq!(
        query(&h, list_type::UC, 0x100).status(),
        CmdStatus::BAD_OUTP_LEN_ERR
    );
    let mut m = nv::modify_in(0);
    sel::MTU.set(&mut m, 1).unwrap();
    ctx::MTU
        .at(nv::MODIFY_CONTEXT_OFFSET)
        .set(&mut m, 1600)
        .unwrap();
    h.exec(&m, 8).ok();
    assert_eq!(h.ctl.nic_vport().mtu, 1600);
    assert_eq!(h.exec(&m[..0x100], 16).status(), CmdStatus::BAD_INP_LEN_ERR);
}

#[test]
fn allowed_lists_are_stored_per_type_and_bounded() {
    let h = Hca::up();
    let macs = [[0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]];
    let entries: Vec<[u8; 8]> = macs.iter().map(|m| nv::mac_entry(*m)).collect();
    let list = |t: u8, n: usize| {
        [
            (ctx::ALLOWED_LIST_TYPE, u64::from(t)),
            (ctx::ALLOWED_LIST_SIZE, n as u64),
        ]
    };
    modify(&h, sel::ADDRESSES_LIST, &list(list_type::UC, 2), &entries).ok();
    let mc = [nv::mac_entry([0x01, 0x00, 0x5E, 0, 0, 1])];
    modify(&h, sel::ADDRESSES_LIST, &list(list_type::MC, 1), &mc).ok();
    let s = h.ctl.nic_vport();
    assert_eq!(s.uc, macs.to_vec());
    assert_eq!(s.mc, vec![[0x01, 0x00, 0x5E, 0, 0, 1]]);

    // QUERY returns the list asked for, after the context.
    let c = query(&h, list_type::UC, 0x110 + 8 * 128);
    c.ok();
    assert_eq!(qget(&c, ctx::ALLOWED_LIST_SIZE), 2);
    assert_eq!(qget(&c, ctx::ALLOWED_LIST_TYPE), u64::from(list_type::UC));
    let at = nv::QUERY_CONTEXT_OFFSET + ctx::LIST_OFFSET;
    assert_eq!(&c.out[at..at + 16], &[entries[0], entries[1]].concat()[..]);
    let c = query(&h, list_type::MC, 0x110 + 8);
    assert_eq!(qget(&c, ctx::ALLOWED_LIST_SIZE), 1);
    // An output with no room for the entries is too short.
    assert_eq!(
        query(&h, list_type::UC, 0x110).status(),
        CmdStatus::BAD_OUTP_LEN_ERR
    );

    // Size above the capability, list type 3, entries missing from the input.
    let uc_max = 1u64 << h_cap_log_uc(&h);
    fails(
        &modify(
            &h,
            sel::ADDRESSES_LIST,
            &[
                (ctx::ALLOWED_LIST_TYPE, 0),
                (ctx::ALLOWED_LIST_SIZE, uc_max + 1),
            ],
            &[],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::LIST_TOO_LONG,
    );
    fails(
        &modify(&h, sel::ADDRESSES_LIST, &list(3, 0), &[]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_LIST_TYPE,
    );
    assert_eq!(
        modify(&h, sel::ADDRESSES_LIST, &list(list_type::UC, 3), &entries).status(),
        CmdStatus::BAD_INP_LEN_ERR
    );
    assert_eq!(
        h.ctl.nic_vport().uc,
        macs.to_vec(),
        "refusals change nothing"
    );
    // An empty list clears it.
    modify(&h, sel::ADDRESSES_LIST, &list(list_type::UC, 0), &[]).ok();
    assert!(h.ctl.nic_vport().uc.is_empty());
}

/// `log_max_current_uc_list` from the current general capabilities.
fn h_cap_log_uc(h: &Harness) -> u32 {
    let c = h.simple(Opcode::QUERY_HCA_CAP, 1);
    c.ok();
    cxu_hal::ifc::eth_caps::general::LOG_MAX_CURRENT_UC_LIST
        .at(0x10)
        .get32(&c.out)
        .unwrap()
}

fn reg(h: &Harness, id: cxu_hal::ifc::regs::RegisterId, write: bool, data: Vec<u8>) -> Completion {
    use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
    let m = AccessRegIn {
        op: if write { RegOp::Write } else { RegOp::Read },
        register_id: id,
        argument: 0,
        data,
    };
    h.exec(&m.encode(), 16 + m.data.len())
}

#[test]
fn pmtu_and_ptys_answer_for_the_port() {
    use cxu_hal::ifc::regs::{pmtu, ptys, RegisterId};
    let h = Hca::up();
    let mut p = vec![0u8; pmtu::LEN];
    pmtu::LOCAL_PORT.set(&mut p, 1).unwrap();
    let c = reg(&h, RegisterId::PMTU, false, p.clone());
    c.ok();
    let max = pmtu::MAX_MTU.get(&c.out[16..]).unwrap();
    assert!(max >= 9000, "jumbo frames: {max}");
    pmtu::ADMIN_MTU.set(&mut p, 9000).unwrap();
    reg(&h, RegisterId::PMTU, true, p.clone()).ok();
    let c = reg(&h, RegisterId::PMTU, false, p.clone());
    assert_eq!(pmtu::OPER_MTU.get(&c.out[16..]).unwrap(), 9000);
    pmtu::ADMIN_MTU.set(&mut p, max + 1).unwrap();
    fails(
        &reg(&h, RegisterId::PMTU, true, p.clone()),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_MTU,
    );
    pmtu::LOCAL_PORT.set(&mut p, 2).unwrap();
    fails(
        &reg(&h, RegisterId::PMTU, false, p),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );

    // PTYS: Ethernet modes; no oper mode while the port is down.
    let mut t = vec![0u8; ptys::LEN];
    ptys::LOCAL_PORT.set(&mut t, 1).unwrap();
    ptys::PROTO_MASK.set(&mut t, ptys::PROTO_ETH).unwrap();
    let c = reg(&h, RegisterId::PTYS, false, t.clone());
    c.ok();
    let cap = ptys::ETH_PROTO_CAPABILITY.get(&c.out[16..]).unwrap();
    assert_ne!(cap & 1 << ptys::link_mode::GBASE_100_CR4, 0);
    assert_eq!(ptys::ETH_PROTO_OPER.get(&c.out[16..]).unwrap(), 0);
    // Admin limited to a mode the port lacks: refused.
    ptys::ETH_PROTO_ADMIN
        .set(&mut t, 1 << ptys::link_mode::GBASE_25_CR)
        .unwrap();
    fails(
        &reg(&h, RegisterId::PTYS, true, t.clone()),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
    ptys::PROTO_MASK.set(&mut t, 1).unwrap();
    fails(
        &reg(&h, RegisterId::PTYS, false, t),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_FIELD,
    );
}

#[test]
fn vport_counters_read_and_clear() {
    use cxu_hal::ifc::commands::vport as vs;
    let h = Hca::up();
    let mut m = vec![0u8; vs::QUERY_VPORT_COUNTER_IN_SIZE];
    m[..16].copy_from_slice(&msg(Opcode::QUERY_VPORT_COUNTER, 0, 16));
    let c = h.exec(&m, vs::QUERY_VPORT_COUNTER_OUT_SIZE);
    c.ok();
    assert_eq!(c.out.len(), vs::QUERY_VPORT_COUNTER_OUT_SIZE);
    assert_eq!(h.exec(&m, 0x100).status(), CmdStatus::BAD_OUTP_LEN_ERR);
    vs::OTHER_VPORT.set(&mut m, 1).unwrap();
    fails(
        &h.exec(&m, vs::QUERY_VPORT_COUNTER_OUT_SIZE),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::VPORT_NOT_MANAGED,
    );
}

#[test]
fn pfcc_keeps_pause_and_per_priority_flow_control() {
    use cxu_hal::ifc::regs::{pfcc, RegisterId};
    let h = Hca::up();
    let mut r = vec![0u8; pfcc::LEN];
    pfcc::LOCAL_PORT.set(&mut r, 1).unwrap();
    let read = |h: &Harness, r: &[u8]| {
        let c = reg(h, RegisterId::PFCC, false, r.to_vec());
        c.ok();
        let o = c.out[16..].to_vec();
        let g = |f: Field| f.get(&o).unwrap();
        (g(pfcc::PPTX), g(pfcc::PPRX), g(pfcc::PFCTX), g(pfcc::PFCRX))
    };
    assert_eq!(read(&h, &r), (1, 1, 0, 0), "global pause at power-on");
    // mlx5_set_port_pfc: priorities 3 and 5 both ways, masks all ones; the
    // global pause bits it leaves 0 turn pause off.
    let mut w = r.clone();
    pfcc::PFCTX.set(&mut w, 0x28).unwrap();
    pfcc::PFCRX.set(&mut w, 0x28).unwrap();
    pfcc::PRIO_MASK_TX.set(&mut w, 0xFF).unwrap();
    pfcc::PRIO_MASK_RX.set(&mut w, 0xFF).unwrap();
    reg(&h, RegisterId::PFCC, true, w).ok();
    assert_eq!(read(&h, &r), (0, 0, 0x28, 0x28));
    // Pause back on, PFC untouched (no priority mask), rx pause masked out.
    let mut w = r.clone();
    pfcc::PPTX.set(&mut w, 1).unwrap();
    pfcc::PPRX_MASK_N.set(&mut w, 1).unwrap();
    reg(&h, RegisterId::PFCC, true, w).ok();
    assert_eq!(read(&h, &r), (1, 0, 0x28, 0x28));
    pfcc::LOCAL_PORT.set(&mut r, 9).unwrap();
    fails(
        &reg(&h, RegisterId::PFCC, false, r),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::REG_BAD_INDEX,
    );
}
