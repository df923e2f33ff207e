//! The Ethernet control plane a netdev driver (Linux's mlx5e) uses besides the
//! queues: the NIC vport context, and (in their own files) the objects and
//! registers it creates at probe and on `ip link set up/down`. One struct, so
//! the shared firmware state and dispatch gain one field and one arm.
#![forbid(unsafe_code)]

use cxu_hal::ifc::Opcode;

use super::nic_vport::{NicVport, NicVportState};
use super::{Cmd, CmdResult, Env, Firmware};
use crate::model::profile::Profile;

/// The Ethernet control-plane state of the function.
#[derive(Clone, Debug)]
pub struct Eth {
    pub(crate) vport: NicVport,
}

impl Eth {
    /// At power-on.
    pub fn new(p: &Profile) -> Self {
        Eth {
            vport: NicVport::new(p),
        }
    }

    /// The state after a teardown or reset: no objects, the vport context
    /// back to its power-on values (the same permanent MAC).
    pub fn reset_clone(&self) -> Self {
        Eth {
            vport: self.vport.reset_clone(),
        }
    }

    /// Whether `op` is one of the commands this part of the firmware runs
    /// (all of them after INIT_HCA).
    pub fn handles(op: Opcode) -> bool {
        matches!(
            op,
            Opcode::QUERY_NIC_VPORT_CONTEXT | Opcode::MODIFY_NIC_VPORT_CONTEXT
        )
    }
}

impl Eth {
    /// Whether `op`'s output is only status and syndrome (8 bytes suffice).
    pub fn status_only(op: Opcode) -> bool {
        matches!(op, Opcode::MODIFY_NIC_VPORT_CONTEXT)
    }
}

impl Firmware {
    /// Runs an Ethernet control command (`Eth::handles(op)`).
    pub(super) fn eth_command(
        &mut self,
        _env: &Env<'_>,
        op: Opcode,
        cmd: &mut Cmd<'_>,
    ) -> CmdResult {
        match op {
            Opcode::QUERY_NIC_VPORT_CONTEXT => self.eth.vport.query(cmd),
            Opcode::MODIFY_NIC_VPORT_CONTEXT => self.eth.vport.modify(cmd),
            _ => Err(super::CmdError::new(
                cxu_hal::ifc::CmdStatus::BAD_OP_ERR,
                super::syndrome::BAD_OPCODE,
            )),
        }
    }

    /// The NIC vport context.
    pub fn nic_vport(&self) -> NicVportState {
        self.eth.vport.state()
    }
}
