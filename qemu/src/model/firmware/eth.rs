//! The Ethernet control plane a netdev driver (Linux's mlx5e) uses besides the
//! queues: the NIC vport context, PDs, transport domains, Q counters, memory
//! keys, TIS/TIR/RQT and the flow tables (each in its own file), and
//! QUERY_VPORT_STATE. One struct, so the shared firmware state and dispatch
//! gain one field and one arm.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::vport as vs;
use cxu_hal::ifc::Opcode;

use super::eth_caps as limits;
use super::flow_table::{FlowInfo, FlowTables};
use super::nic_vport::{NicVport, NicVportState};
use super::objects::Objects;
use super::rqt::Rqt;
use super::tir::Tir;
use super::tis::Tis;
use super::transport::{Mkey, QCounter};
use super::vport_counter::VportCounters;
use super::{syndrome, Cmd, CmdError, CmdResult, Env, Firmware};
use crate::model::profile::Profile;

/// The Ethernet control-plane state of the function.
#[derive(Clone, Debug)]
pub struct Eth {
    pub(crate) vport: NicVport,
    pub(crate) pds: Objects<()>,
    pub(crate) tds: Objects<()>,
    pub(crate) mkeys: Objects<Mkey>,
    pub(crate) q_counters: Objects<QCounter>,
    pub(crate) tises: Objects<Tis>,
    pub(crate) tirs: Objects<Tir>,
    pub(crate) rqts: Objects<Rqt>,
    pub(crate) flow: FlowTables,
    pub(crate) vport_counters: VportCounters,
}

/// What a test (or the server's state line) can see of the Ethernet objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EthInfo {
    /// Live PDs.
    pub pds: Vec<u32>,
    /// Live transport domains.
    pub tds: Vec<u32>,
    /// Live memory key indexes.
    pub mkeys: Vec<u32>,
    /// Live Q counter sets.
    pub q_counters: Vec<u32>,
    /// Live TISes.
    pub tises: Vec<u32>,
    /// Live TIRs.
    pub tirs: Vec<u32>,
    /// Live RQTs.
    pub rqts: Vec<u32>,
    /// The flow tables, groups and entries.
    pub flow: FlowInfo,
}

impl EthInfo {
    /// Whether no object is left.
    pub fn is_empty(&self) -> bool {
        self.pds.is_empty()
            && self.tds.is_empty()
            && self.mkeys.is_empty()
            && self.q_counters.is_empty()
            && self.tises.is_empty()
            && self.tirs.is_empty()
            && self.rqts.is_empty()
            && self.flow.tables.is_empty()
            && self.flow.groups == 0
            && self.flow.entries == 0
    }
}

const NUMBER: u32 = 0xFF_FFFF;

impl Eth {
    /// At power-on.
    pub fn new(p: &Profile) -> Self {
        Eth {
            vport: NicVport::new(p),
            pds: Objects::new(1 << limits::LOG_MAX_PD, NUMBER),
            tds: Objects::new(1 << limits::LOG_MAX_TRANSPORT_DOMAIN, NUMBER),
            // Index 1 is never handed out: with key byte 0 it would be lkey
            // 0x100, MLX5_TERMINATE_SCATTER_LIST_LKEY, which ends receive
            // scatter lists (mlx5e pads its RQ WQEs with it).
            mkeys: Objects::new(1 << limits::LOG_MAX_MKEY, NUMBER).reserving_through(1),
            q_counters: Objects::new(usize::from(limits::MAX_QP_CNT), 0xFF),
            tises: Objects::new(1 << limits::LOG_MAX_TIS, NUMBER),
            tirs: Objects::new(1 << limits::LOG_MAX_TIR, NUMBER),
            rqts: Objects::new(1 << limits::LOG_MAX_RQT, NUMBER),
            flow: FlowTables::default(),
            vport_counters: Default::default(),
        }
    }

    /// The state after a teardown or reset: no objects, the vport context
    /// back to its power-on values (the same permanent MAC).
    pub fn reset_clone(&self) -> Self {
        Eth {
            vport: self.vport.reset_clone(),
            ..Eth::new(&Profile::default())
        }
    }

    /// Whether PD `n` exists (an SQ's or RQ's `wq.pd`).
    pub fn pd_exists(&self, n: u32) -> bool {
        self.pds.contains(n)
    }

    /// Whether TIS `n` exists (an SQ's `tis_num_0`).
    pub fn tis_exists(&self, n: u32) -> bool {
        self.tises.contains(n)
    }

    /// Whether Q counter set `n` exists (an RQ's `counter_set_id`).
    pub fn q_counter_exists(&self, n: u32) -> bool {
        self.q_counters.contains(n)
    }

    /// Snapshot.
    pub fn info(&self) -> EthInfo {
        EthInfo {
            pds: self.pds.numbers(),
            tds: self.tds.numbers(),
            mkeys: self.mkeys.numbers(),
            q_counters: self.q_counters.numbers(),
            tises: self.tises.numbers(),
            tirs: self.tirs.numbers(),
            rqts: self.rqts.numbers(),
            flow: self.flow.info(),
        }
    }
}

impl Firmware {
    /// The RQs that exist (a TIR or RQT naming another is refused).
    fn rq_numbers(&self) -> std::collections::BTreeSet<u32> {
        self.queues.rq_numbers()
    }

    /// Whether an SQ sends through TIS `n`.
    fn sq_uses_tis(&self, n: u32) -> bool {
        self.queues.sq_uses_tis(n)
    }

    /// Runs `op` if it is an Ethernet control command, else `None`.
    pub(super) fn eth_command(
        &mut self,
        env: &Env<'_>,
        op: Opcode,
        cmd: &mut Cmd<'_>,
    ) -> Option<CmdResult> {
        let ports = env.profile.num_ports;
        Some(match op {
            Opcode::QUERY_NIC_VPORT_CONTEXT => self.eth.vport.query(cmd),
            Opcode::MODIFY_NIC_VPORT_CONTEXT => self.eth.vport.modify(cmd),
            Opcode::QUERY_VPORT_STATE => self.query_vport_state(cmd),
            Opcode::QUERY_VPORT_COUNTER => self.eth.query_vport_counter(cmd),
            Opcode::ALLOC_PD => self.eth.alloc_pd(cmd),
            Opcode::DEALLOC_PD => {
                let pd = cmd.get(cxu_hal::ifc::commands::transport::PD) as u32;
                let used = self.queues.uses_pd(pd);
                self.eth.dealloc_pd(cmd, used)
            }
            Opcode::ALLOC_TRANSPORT_DOMAIN => self.eth.alloc_td(cmd),
            Opcode::DEALLOC_TRANSPORT_DOMAIN => self.eth.dealloc_td(cmd),
            Opcode::ALLOC_Q_COUNTER => self.eth.alloc_q_counter(cmd),
            Opcode::DEALLOC_Q_COUNTER => {
                let id = cmd.get(cxu_hal::ifc::commands::transport::COUNTER_SET_ID) as u32;
                let used = self.queues.uses_q_counter(id);
                self.eth.dealloc_q_counter(cmd, used)
            }
            Opcode::QUERY_Q_COUNTER => self.eth.query_q_counter(cmd),
            Opcode::CREATE_MKEY => self.eth.create_mkey(cmd),
            Opcode::DESTROY_MKEY => self.eth.destroy_mkey(cmd),
            Opcode::CREATE_TIS => self.eth.create_tis(cmd, ports),
            Opcode::MODIFY_TIS => self.eth.modify_tis(cmd, ports),
            Opcode::DESTROY_TIS => {
                let used = self.sq_uses_tis(cmd.get(cxu_hal::ifc::commands::tis::TISN) as u32);
                self.eth.destroy_tis(cmd, used)
            }
            Opcode::CREATE_TIR | Opcode::CREATE_RQT | Opcode::MODIFY_RQT => {
                let rqs = self.rq_numbers();
                let exists = |n: u32| rqs.contains(&n);
                match op {
                    Opcode::CREATE_TIR => self.eth.create_tir(cmd, &exists),
                    Opcode::CREATE_RQT => self.eth.create_rqt(cmd, &exists),
                    _ => self.eth.modify_rqt(cmd, &exists),
                }
            }
            Opcode::MODIFY_TIR => self.eth.modify_tir(cmd),
            Opcode::DESTROY_TIR => self.eth.destroy_tir(cmd),
            Opcode::DESTROY_RQT => self.eth.destroy_rqt(cmd),
            _ => return self.eth.flow_command(op, cmd),
        })
    }

    /// QUERY_VPORT_STATE of the function's own NIC vport (op_mod 0): `state`
    /// follows port 1's operational state (PAOS admin up and the link there),
    /// `admin_state` is "follow the uplink".
    fn query_vport_state(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if cmd.op_mod != 0 || cmd.get(vs::OTHER_VPORT) != 0 || cmd.get(vs::VPORT_NUMBER) != 0 {
            return Err(CmdError::bad_param(syndrome::VPORT_NOT_MANAGED));
        }
        let up = self
            .port_state(1)
            .is_some_and(|p| p.oper == cxu_hal::ifc::regs::paos::oper::UP);
        let out = cmd.out_len(16);
        let _ = vs::ADMIN_STATE.set(out, vs::state::FOLLOW);
        let _ = vs::STATE.set(out, if up { vs::state::UP } else { vs::state::DOWN });
        Ok(())
    }

    /// The NIC vport context.
    pub fn nic_vport(&self) -> NicVportState {
        self.eth.vport.state()
    }

    /// The NIC vport's traffic counter pair `index` (packets, octets).
    pub fn vport_counter(&self, index: usize) -> (u64, u64) {
        self.eth.vport_counters.get(index)
    }

    /// The Ethernet objects that exist.
    pub fn eth_info(&self) -> EthInfo {
        self.eth.info()
    }
}
