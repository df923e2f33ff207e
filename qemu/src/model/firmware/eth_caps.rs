//! The capabilities of the Ethernet control plane: the `cmd_hca_cap` fields
//! that size the NIC vport's lists and the objects mlx5e creates, the
//! Ethernet offloads page (cap type 0x1) and the NIC flow-table page (cap
//! type 0x7). Each value is what the model implements and checks (see
//! `docs/fidelity.md`): no LRO, no tunnel offloads, no striding RQ, no UMR,
//! no flow counters, no header rewrite.
#![forbid(unsafe_code)]

use cxu_hal::ifc::caps::general as cap;
use cxu_hal::ifc::eth_caps::{eth_offloads as off, flow_table as ft, general as eth};
use cxu_hal::ifc::Field;

use super::flow_table::{
    LOG_MAX_DESTINATION, LOG_MAX_FLOW, LOG_MAX_FT_NUM, LOG_MAX_FT_SIZE, MAX_FT_LEVEL,
};
use super::nic_vport::{LOG_MAX_MC_LIST, LOG_MAX_UC_LIST, LOG_MAX_VLAN_LIST};
use super::rqt::LOG_MAX_RQT_SIZE;

/// Whether the Ethernet capabilities are advertised (see [`general`]).
const ADVERTISE_ETH: bool = true;

/// `log_max_pd`.
pub const LOG_MAX_PD: u8 = 8;
/// `log_max_transport_domain`.
pub const LOG_MAX_TRANSPORT_DOMAIN: u8 = 8;
/// `log_max_mkey`.
pub const LOG_MAX_MKEY: u8 = 10;
/// `max_qp_cnt`: Q counter sets.
pub const MAX_QP_CNT: u16 = 32;
/// `log_max_tis`.
pub const LOG_MAX_TIS: u8 = 8;
/// `log_max_tir`.
pub const LOG_MAX_TIR: u8 = 10;
/// `log_max_rqt`.
pub const LOG_MAX_RQT: u8 = 8;
/// `max_lso_cap`: log2 of the largest LSO payload (64 KiB).
const MAX_LSO_CAP: u64 = 16;

fn setter(c: &mut [u8]) -> impl FnMut(Field, u64) + '_ {
    move |f: Field, v: u64| {
        let _ = f.set(c, v & f.max());
    }
}

/// Sets the Ethernet fields of a general capability page `c`.
pub fn general(c: &mut [u8]) {
    let mut set = setter(c);
    // The Ethernet offloads and NIC flow-table pages are answered; the bits
    // that make Linux create its `eth` device wait for the queues (CQ, SQ,
    // RQ), without which mlx5e cannot attach.
    set(cap::ETH_NET_OFFLOADS, u64::from(ADVERTISE_ETH));
    set(cap::NIC_FLOW_TABLE, u64::from(ADVERTISE_ETH));
    set(eth::LOG_MAX_CURRENT_UC_LIST, u64::from(LOG_MAX_UC_LIST));
    set(eth::LOG_MAX_CURRENT_MC_LIST, u64::from(LOG_MAX_MC_LIST));
    set(eth::LOG_MAX_VLAN_LIST, u64::from(LOG_MAX_VLAN_LIST));
    set(cap::LOG_MAX_PD, u64::from(LOG_MAX_PD));
    set(
        cap::LOG_MAX_TRANSPORT_DOMAIN,
        u64::from(LOG_MAX_TRANSPORT_DOMAIN),
    );
    set(cap::LOG_MAX_MKEY, u64::from(LOG_MAX_MKEY));
    set(eth::MAX_QP_CNT, u64::from(MAX_QP_CNT));
    set(cap::LOG_MAX_TIS, u64::from(LOG_MAX_TIS));
    set(cap::LOG_MAX_TIR, u64::from(LOG_MAX_TIR));
    set(cap::LOG_MAX_RQT, u64::from(LOG_MAX_RQT));
    set(eth::LOG_MAX_RQT_SIZE, u64::from(LOG_MAX_RQT_SIZE));
    set(eth::LOG_MAX_TIS_PER_SQ, 0);
}

/// The Ethernet offloads page (both maximum and current).
pub fn eth_offloads() -> Vec<u8> {
    let mut c = vec![0u8; cxu_hal::ifc::caps::CAP_UNION_SIZE];
    let mut set = setter(&mut c);
    set(off::CSUM_CAP, 1);
    set(off::VLAN_CAP, 1);
    set(off::MAX_LSO_CAP, MAX_LSO_CAP);
    set(off::WQE_INLINE_MODE, off::inline_mode::NOT_REQUIRED);
    set(off::RSS_IND_TBL_CAP, u64::from(LOG_MAX_RQT_SIZE));
    set(off::SELF_LB_EN_MODIFIABLE, 1);
    drop(set);
    c
}

/// The NIC flow-table page (both maximum and current).
pub fn flow_table() -> Vec<u8> {
    let mut c = vec![0u8; cxu_hal::ifc::caps::CAP_UNION_SIZE];
    let mut set = setter(&mut c);
    for block in [ft::NIC_RECEIVE, ft::NIC_TRANSMIT] {
        set(ft::prop::FT_SUPPORT.at(block), 1);
        set(ft::prop::MODIFY_ROOT.at(block), 1);
        set(ft::prop::IDENTIFIED_MISS_TABLE_MODE.at(block), 1);
        set(ft::prop::FLOW_TABLE_MODIFY.at(block), 1);
        set(
            ft::prop::LOG_MAX_FT_SIZE.at(block),
            u64::from(LOG_MAX_FT_SIZE),
        );
        set(ft::prop::MAX_FT_LEVEL.at(block), u64::from(MAX_FT_LEVEL));
        set(
            ft::prop::LOG_MAX_FT_NUM.at(block),
            u64::from(LOG_MAX_FT_NUM),
        );
        set(
            ft::prop::LOG_MAX_DESTINATION.at(block),
            u64::from(LOG_MAX_DESTINATION),
        );
        set(ft::prop::LOG_MAX_FLOW.at(block), u64::from(LOG_MAX_FLOW));
        for f in [
            ft::fields::OUTER_DMAC,
            ft::fields::OUTER_ETHER_TYPE,
            ft::fields::OUTER_IP_VERSION,
            ft::fields::OUTER_FIRST_VID,
            ft::fields::OUTER_IP_PROTOCOL,
        ] {
            set(f.at(block + ft::prop::FT_FIELD_SUPPORT), 1);
        }
    }
    drop(set);
    c
}
