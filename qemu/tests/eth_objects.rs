//! The Ethernet control objects as Linux's mlx5e creates them: PDs, transport
//! domains, memory keys, Q counters, TISes, TIRs, RQTs and the NIC flow
//! tables; unique numbers, checked references, refused destroys of what is
//! still used, nothing left after teardown.

mod common;

use common::objects::*;
use common::*;
use cxu_hal::ifc::commands::flow_table::{
    self as ft, dest, dest::dest_type, flow_ctx, flow_ctx::action, ft_ctx, table_type,
};
use cxu_hal::ifc::commands::{rqt, tir, tis, transport as t, vport as vs};
use cxu_hal::ifc::{CmdStatus, Field, Opcode};
use cxu_qemu::model::{syndrome, Profile};

fn mkey_in(pd: u32, mode: u64) -> Vec<(Field, u64)> {
    let m = |f: Field| f.at(t::MKC_OFFSET);
    vec![
        (m(t::mkc::ACCESS_MODE_1_0), mode),
        (m(t::mkc::LW), 1),
        (m(t::mkc::LR), 1),
        (m(t::mkc::PD), u64::from(pd)),
        (m(t::mkc::LENGTH64), 1),
        (m(t::mkc::QPN), 0xFF_FFFF),
    ]
}

#[test]
fn pds_tds_mkeys_and_q_counters_have_unique_numbers_and_checked_references() {
    let h = Harness::new(Profile::default());
    fails(
        &run(&h, Opcode::ALLOC_PD, 16, &[]),
        CmdStatus::BAD_SYS_STATE_ERR,
        syndrome::HCA_NOT_ENABLED,
    );
    let (_pages, _uar) = initialized(&h);
    let (pd1, pd2) = (alloc_pd(&h), alloc_pd(&h));
    assert_ne!(pd1, pd2);
    let td = alloc_td(&h);
    assert_eq!(h.ctl.eth().pds, vec![pd1, pd2]);
    assert_eq!(h.ctl.eth().tds, vec![td]);

    // mlx5e's whole-memory key: physical addresses, length64, on its PD.
    let mkey = create(
        &h,
        Opcode::CREATE_MKEY,
        t::CREATE_MKEY_IN_SIZE,
        &mkey_in(pd1, 0),
        t::MKEY_INDEX,
    );
    // Not index 0 nor 1: with key byte 0, index 1 is lkey 0x100, the
    // terminate-scatter-list key that ends mlx5e's receive WQEs.
    assert_eq!(mkey, 2);
    fails(
        &run(
            &h,
            Opcode::CREATE_MKEY,
            t::CREATE_MKEY_IN_SIZE,
            &mkey_in(0x777, 0),
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    // MTT keys need translation tables the model does not have.
    fails(
        &run(
            &h,
            Opcode::CREATE_MKEY,
            t::CREATE_MKEY_IN_SIZE,
            &mkey_in(pd1, 1),
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_CONTEXT_FIELD,
    );
    // The PD the key uses cannot go; the other one can.
    fails(
        &dealloc_pd(&h, pd1),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    dealloc_pd(&h, pd2).ok();
    fails(
        &dealloc_pd(&h, pd2),
        CmdStatus::BAD_RES_ERR,
        syndrome::OBJECT_NOT_FOUND,
    );
    run(
        &h,
        Opcode::DESTROY_MKEY,
        16,
        &[(t::MKEY_INDEX, u64::from(mkey))],
    )
    .ok();
    dealloc_pd(&h, pd1).ok();

    // Q counters: numbered from 1 (mlx5e reads 0 as "none"), queried, freed.
    let q = alloc_q_counter(&h);
    assert!(q >= 1);
    let query = || {
        h.exec(
            &cmd(
                Opcode::QUERY_Q_COUNTER,
                0,
                t::QUERY_Q_COUNTER_IN_SIZE,
                &[(t::QUERY_COUNTER_SET_ID, u64::from(q))],
            ),
            t::QUERY_Q_COUNTER_OUT_SIZE,
        )
    };
    let c = query();
    c.ok();
    assert_eq!(t::OUT_OF_BUFFER.get(&c.out).unwrap(), 0);
    dealloc_q_counter(&h, q).ok();
    fails(&query(), CmdStatus::BAD_RES_ERR, syndrome::OBJECT_NOT_FOUND);
    // The status-only outputs need 8 bytes.
    let pd = alloc_pd(&h);
    h.exec(
        &cmd(Opcode::DEALLOC_PD, 0, 16, &[(t::PD, u64::from(pd))]),
        8,
    )
    .ok();
    dealloc_td(&h, td).ok();
    assert!(h.ctl.eth().is_empty(), "{:?}", h.ctl.eth());
}

#[test]
fn tises_need_their_transport_domain_and_keep_it() {
    let h = Hca::up();
    let td = alloc_td(&h);
    fails(
        &run(&h, Opcode::CREATE_TIS, tis::TIS_IN_SIZE, &tis_in(td + 1, 0)),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    // LAG affinity to a port the function does not have.
    let mut lag = tis_in(td, 0);
    lag.push((tis::tisc::LAG_TX_PORT_AFFINITY.at(tis::CTX_OFFSET), 2));
    fails(
        &run(&h, Opcode::CREATE_TIS, tis::TIS_IN_SIZE, &lag),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_CONTEXT_FIELD,
    );
    let tisn: Vec<u32> = (0..8).map(|p| create_tis(&h, td, p)).collect();
    let mut unique = tisn.clone();
    unique.dedup();
    assert_eq!(unique.len(), 8, "{tisn:?}");
    fails(
        &dealloc_td(&h, td),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    let mut m = tis_in(td, 3);
    m.push((tis::TISN, u64::from(tisn[0])));
    m.push((tis::BITMASK, tis::BITMASK_PRIO));
    run(&h, Opcode::MODIFY_TIS, tis::TIS_IN_SIZE, &m).ok();
    for n in &tisn {
        destroy_tis(&h, *n).ok();
    }
    fails(
        &destroy_tis(&h, tisn[0]),
        CmdStatus::BAD_RES_ERR,
        syndrome::OBJECT_NOT_FOUND,
    );
    dealloc_td(&h, td).ok();
}

#[test]
fn tirs_and_rqts_name_existing_queues_and_tables() {
    let h = Hca::up();
    let td = alloc_td(&h);
    let c = |f: Field| f.at(tir::CTX_OFFSET);
    // A TIR on `td` with the fields of `set`.
    let new_tir = |set: &[(Field, u64)]| {
        let mut m = vec![(c(tir::tirc::TRANSPORT_DOMAIN), u64::from(td))];
        m.extend_from_slice(set);
        run(&h, Opcode::CREATE_TIR, tir::TIR_IN_SIZE, &m)
    };
    // A direct TIR to an RQ that does not exist; an indirect one to no RQT.
    fails(
        &new_tir(&[(c(tir::tirc::INLINE_RQN), 5)]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    fails(
        &new_tir(&[
            (c(tir::tirc::DISP_TYPE), 1),
            (c(tir::tirc::INDIRECT_TABLE), 1),
        ]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    // LRO is not advertised.
    fails(
        &new_tir(&[(c(tir::tirc::PACKET_MERGE_MASK), 1)]),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_CONTEXT_FIELD,
    );
    // An RQT of RQs that do not exist, an RQT above log_max_rqt_size, one
    // whose list the input does not hold.
    let r = |f: Field| f.at(rqt::CTX_OFFSET);
    fails(
        &h.exec(&rqt_in(&[9]), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    fails(
        &run(
            &h,
            Opcode::CREATE_RQT,
            rqt::RQT_IN_SIZE,
            &[
                (r(rqt::rqtc::RQT_MAX_SIZE), 1024),
                (r(rqt::rqtc::RQT_ACTUAL_SIZE), 1),
            ],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_SIZE,
    );
    assert_eq!(
        run(
            &h,
            Opcode::CREATE_RQT,
            rqt::RQT_IN_SIZE,
            &[
                (r(rqt::rqtc::RQT_MAX_SIZE), 8),
                (r(rqt::rqtc::RQT_ACTUAL_SIZE), 2)
            ]
        )
        .status(),
        CmdStatus::BAD_INP_LEN_ERR
    );
    fails(
        &run(&h, Opcode::DESTROY_TIR, 16, &[(tir::TIRN, 1)]),
        CmdStatus::BAD_RES_ERR,
        syndrome::OBJECT_NOT_FOUND,
    );
    fails(
        &run(&h, Opcode::DESTROY_RQT, 16, &[(rqt::RQTN, 1)]),
        CmdStatus::BAD_RES_ERR,
        syndrome::OBJECT_NOT_FOUND,
    );
    assert!(h.ctl.eth().tirs.is_empty() && h.ctl.eth().rqts.is_empty());
}

fn table(h: &Harness, level: u64, log_size: u64, miss: Option<u32>) -> u32 {
    let x = |f: Field| f.at(ft::FT_CTX_OFFSET);
    let mut set = vec![
        (ft::TABLE_TYPE, table_type::NIC_RX),
        (x(ft_ctx::LEVEL), level),
        (x(ft_ctx::LOG_SIZE), log_size),
    ];
    if let Some(m) = miss {
        set.push((x(ft_ctx::TABLE_MISS_ACTION), 1));
        set.push((x(ft_ctx::TABLE_MISS_ID), u64::from(m)));
    }
    create(
        h,
        Opcode::CREATE_FLOW_TABLE,
        ft::FLOW_TABLE_IN_SIZE,
        &set,
        ft::CREATED_TABLE_ID,
    )
}

/// A group on the outer destination MAC's first byte.
fn group_in(table: u32, start: u64, end: u64) -> Vec<u8> {
    let mut m = cmd(
        Opcode::CREATE_FLOW_GROUP,
        0,
        ft::CREATE_FLOW_GROUP_IN_SIZE,
        &[
            (ft::TABLE_TYPE, table_type::NIC_RX),
            (ft::TABLE_ID, u64::from(table)),
            (ft::START_FLOW_INDEX, start),
            (ft::END_FLOW_INDEX, end),
            (ft::MATCH_CRITERIA_ENABLE, 1),
        ],
    );
    // outer_headers.dmac_47_16 is at byte 8 of fte_match_set_lyr_2_4.
    m[ft::MATCH_CRITERIA_OFFSET + 8] = 0xFF;
    m
}

fn fte_in(
    table: u32,
    group: u32,
    index: u64,
    dmac0: u8,
    act: u64,
    dests: &[(u64, u32)],
) -> Vec<u8> {
    let x = |f: Field| f.at(ft::FLOW_CTX_OFFSET);
    let mut m = cmd(
        Opcode::SET_FLOW_TABLE_ENTRY,
        0,
        ft::SET_FTE_IN_SIZE + ft::DEST_SIZE * dests.len(),
        &[
            (ft::TABLE_TYPE, table_type::NIC_RX),
            (ft::TABLE_ID, u64::from(table)),
            (ft::FLOW_INDEX, index),
            (x(flow_ctx::GROUP_ID), u64::from(group)),
            (x(flow_ctx::ACTION), act),
            (x(flow_ctx::DESTINATION_LIST_SIZE), dests.len() as u64),
        ],
    );
    m[ft::FLOW_CTX_OFFSET + flow_ctx::MATCH_VALUE_OFFSET + 8] = dmac0;
    for (i, (ty, id)) in dests.iter().enumerate() {
        let at = ft::FLOW_CTX_OFFSET + flow_ctx::DESTINATION_OFFSET + i * ft::DEST_SIZE;
        dest::DESTINATION_TYPE.at(at).set(&mut m, *ty).unwrap();
        dest::DESTINATION_ID
            .at(at)
            .set(&mut m, u64::from(*id))
            .unwrap();
    }
    m
}

fn table_cmd(op: Opcode, table: u32, extra: &[(Field, u64)]) -> Vec<u8> {
    let mut set = vec![
        (ft::TABLE_TYPE, table_type::NIC_RX),
        (ft::TABLE_ID, u64::from(table)),
    ];
    set.extend_from_slice(extra);
    cmd(op, 0, ft::SHORT_IN_SIZE, &set)
}

#[test]
fn flow_tables_groups_and_entries_follow_firmware_rules() {
    let h = Hca::up();
    let deep = table(&h, 2, 4, None);
    let top = table(&h, 1, 4, Some(deep));
    assert_ne!(deep, top);
    // A miss to a shallower table, a bad type, a level above max_ft_level.
    let x = |f: Field| f.at(ft::FT_CTX_OFFSET);
    fails(
        &run(
            &h,
            Opcode::CREATE_FLOW_TABLE,
            ft::FLOW_TABLE_IN_SIZE,
            &[
                (x(ft_ctx::LEVEL), 3),
                (x(ft_ctx::TABLE_MISS_ACTION), 1),
                (x(ft_ctx::TABLE_MISS_ID), u64::from(top)),
            ],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    fails(
        &run(
            &h,
            Opcode::CREATE_FLOW_TABLE,
            ft::FLOW_TABLE_IN_SIZE,
            &[(ft::TABLE_TYPE, 4)],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_TABLE_TYPE,
    );
    fails(
        &run(
            &h,
            Opcode::CREATE_FLOW_TABLE,
            ft::FLOW_TABLE_IN_SIZE,
            &[(x(ft_ctx::LEVEL), 200)],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_SIZE,
    );

    let g = h.exec(&group_in(top, 0, 7), 16);
    g.ok();
    let g = ft::CREATED_GROUP_ID.get32(&g.out).unwrap();
    fails(
        &h.exec(&group_in(top, 7, 9), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::GROUP_OVERLAP,
    );
    fails(
        &h.exec(&group_in(top, 8, 16), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_SIZE,
    );

    // Entries: forward to the deeper table, drop; outside the group, a match
    // value outside the criteria, a destination that does not exist.
    h.exec(
        &fte_in(
            top,
            g,
            0,
            0x02,
            action::FWD_DEST,
            &[(dest_type::FLOW_TABLE, deep)],
        ),
        16,
    )
    .ok();
    h.exec(&fte_in(top, g, 1, 0x01, action::DROP, &[]), 16).ok();
    fails(
        &h.exec(&fte_in(top, g, 1, 0x01, action::DROP, &[]), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::FTE_OUTSIDE_GROUP,
    );
    fails(
        &h.exec(&fte_in(top, g, 8, 0x01, action::DROP, &[]), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::FTE_OUTSIDE_GROUP,
    );
    let mut m = fte_in(top, g, 2, 0x01, action::DROP, &[]);
    m[ft::FLOW_CTX_OFFSET + flow_ctx::MATCH_VALUE_OFFSET + 9] = 1;
    fails(
        &h.exec(&m, 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::FTE_OUTSIDE_GROUP,
    );
    fails(
        &h.exec(
            &fte_in(top, g, 3, 0x02, action::FWD_DEST, &[(dest_type::TIR, 77)]),
            16,
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    fails(
        &h.exec(&fte_in(deep, g, 3, 0x02, action::DROP, &[]), 16),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::BAD_REFERENCE,
    );
    let e = h.ctl.eth().flow;
    assert_eq!((e.tables.len(), e.groups, e.entries), (2, 1, 2));

    // Root, then teardown in the kernel's order, with the refusals on the way.
    h.exec(&table_cmd(Opcode::SET_FLOW_TABLE_ROOT, top, &[]), 16)
        .ok();
    assert_eq!(h.ctl.eth().flow.rx_root, Some(top));
    let gid = |g: u32| (ft::GROUP_ID, u64::from(g));
    fails(
        &h.exec(&table_cmd(Opcode::DESTROY_FLOW_GROUP, top, &[gid(g)]), 16),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    fails(
        &h.exec(&table_cmd(Opcode::DESTROY_FLOW_TABLE, top, &[]), 16),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    fails(
        &h.exec(&table_cmd(Opcode::DESTROY_FLOW_TABLE, deep, &[]), 16),
        CmdStatus::RES_BUSY,
        syndrome::OBJECT_IN_USE,
    );
    for i in [0, 1] {
        h.exec(
            &table_cmd(Opcode::DELETE_FLOW_TABLE_ENTRY, top, &[(ft::FLOW_INDEX, i)]),
            16,
        )
        .ok();
    }
    fails(
        &h.exec(
            &table_cmd(Opcode::DELETE_FLOW_TABLE_ENTRY, top, &[(ft::FLOW_INDEX, 0)]),
            16,
        ),
        CmdStatus::BAD_RES_ERR,
        syndrome::OBJECT_NOT_FOUND,
    );
    h.exec(&table_cmd(Opcode::DESTROY_FLOW_GROUP, top, &[gid(g)]), 16)
        .ok();
    // `top` still misses to `deep`: un-chain it (MODIFY_FLOW_TABLE), as fs_core does.
    let mut m = cmd(
        Opcode::MODIFY_FLOW_TABLE,
        0,
        ft::FLOW_TABLE_IN_SIZE,
        &[
            (ft::TABLE_TYPE, 0),
            (ft::TABLE_ID, u64::from(top)),
            (ft::MODIFY_FIELD_SELECT, 1),
        ],
    );
    ft_ctx::TABLE_MISS_ACTION
        .at(ft::FT_CTX_OFFSET)
        .set(&mut m, 0)
        .unwrap();
    h.exec(&m, 16).ok();
    h.exec(&table_cmd(Opcode::DESTROY_FLOW_TABLE, deep, &[]), 16)
        .ok();
    // The root table is destroyed last, still root, as fs_core does it.
    h.exec(&table_cmd(Opcode::DESTROY_FLOW_TABLE, top, &[]), 16)
        .ok();
    assert_eq!(h.ctl.eth().flow, Default::default());
}

#[test]
fn vport_state_follows_the_port_and_teardown_drops_every_object() {
    let h = Hca::up();
    let state = |h: &Harness| {
        let c = run(h, Opcode::QUERY_VPORT_STATE, 16, &[]);
        c.ok();
        vs::STATE.get(&c.out).unwrap()
    };
    assert_eq!(state(&h), vs::state::DOWN, "PAOS admin down at power-on");
    use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
    use cxu_hal::ifc::regs::paos::{admin, Paos};
    use cxu_hal::ifc::regs::RegisterId;
    let up = AccessRegIn {
        op: RegOp::Write,
        register_id: RegisterId::PAOS,
        argument: 0,
        data: Paos {
            local_port: 1,
            admin_status: admin::UP,
            ase: true,
            ..Paos::default()
        }
        .encode()
        .unwrap()
        .to_vec(),
    };
    h.exec(&up.encode(), 16 + up.data.len()).ok();
    assert_eq!(state(&h), vs::state::UP);
    h.ctl.set_link(1, false);
    assert_eq!(state(&h), vs::state::DOWN, "the link partner left");
    h.ctl.set_link(1, true);
    assert_eq!(state(&h), vs::state::UP);
    fails(
        &run(
            &h,
            Opcode::QUERY_VPORT_STATE,
            16,
            &[(vs::OTHER_VPORT, 1), (vs::VPORT_NUMBER, 1)],
        ),
        CmdStatus::BAD_PARAM_ERR,
        syndrome::VPORT_NOT_MANAGED,
    );

    let pd = alloc_pd(&h);
    let td = alloc_td(&h);
    create(
        &h,
        Opcode::CREATE_MKEY,
        t::CREATE_MKEY_IN_SIZE,
        &mkey_in(pd, 0),
        t::MKEY_INDEX,
    );
    create_tis(&h, td, 0);
    table(&h, 0, 2, None);
    assert!(!h.ctl.eth().is_empty());
    h.simple(Opcode::TEARDOWN_HCA, 0).ok();
    assert!(h.ctl.eth().is_empty(), "{:?}", h.ctl.eth());
}
