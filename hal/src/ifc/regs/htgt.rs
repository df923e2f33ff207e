//! HTGT (0x7002), host trap group table: trap group → policer, priority and CPU
//! queue (Spectrum layout from `mlxsw/reg.h`; `MLXSW_REG_HTGT_LEN` = 0x20 in
//! recent kernels, 0x100 in old ones: the fields below are the same).
//!
//! dw0: swid 31:24, type 11:8 (0 = local CPU path), trap_group 7:0.
//! dw1: pide (policer enable) bit 15, pid 7:0. dw2: mirror_action 9:8,
//! mirroring_agent 2:0. dw3: priority 3:0. dw4: local_path_cpu_tclass 21:16,
//! local_path_rdq 5:0.

use crate::ifc::error::Result;
use crate::ifc::field::{need, Field};

/// Register size.
pub const LEN: usize = 0x20;
/// `swid`.
pub const SWID: Field = Field::new("swid", 0x00, 24, 8);
/// `type` (CPU path type; 0 = local).
pub const TYPE: Field = Field::new("type", 0x00, 8, 4);
/// `trap_group` (index).
pub const TRAP_GROUP: Field = Field::new("trap_group", 0x00, 0, 8);
/// `pide`: the `pid` policer is enabled.
pub const PIDE: Field = Field::new("pide", 0x04, 15, 1);
/// `pid`: policer id.
pub const PID: Field = Field::new("pid", 0x04, 0, 8);
/// `mirror_action`.
pub const MIRROR_ACTION: Field = Field::new("mirror_action", 0x08, 8, 2);
/// `mirroring_agent`.
pub const MIRRORING_AGENT: Field = Field::new("mirroring_agent", 0x08, 0, 3);
/// `priority` (0-7, 7 highest).
pub const PRIORITY: Field = Field::new("priority", 0x0C, 0, 4);
/// `local_path_cpu_tclass`.
pub const LOCAL_PATH_CPU_TCLASS: Field = Field::new("local_path_cpu_tclass", 0x10, 16, 6);
/// `local_path_rdq`: receive descriptor queue.
pub const LOCAL_PATH_RDQ: Field = Field::new("local_path_rdq", 0x10, 0, 6);

/// The HTGT register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Htgt {
    /// Switch partition.
    pub swid: u8,
    /// CPU path type (0 = local).
    pub path_type: u8,
    /// The trap group.
    pub trap_group: u8,
    /// The policer is bound (`pide`).
    pub policer_enabled: bool,
    /// Policer id.
    pub pid: u8,
    /// Trap priority.
    pub priority: u8,
    /// CPU traffic class.
    pub local_path_cpu_tclass: u8,
    /// Receive descriptor queue.
    pub local_path_rdq: u8,
}

impl Htgt {
    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        SWID.set(&mut b, u64::from(self.swid))?;
        TYPE.set(&mut b, u64::from(self.path_type))?;
        TRAP_GROUP.set(&mut b, u64::from(self.trap_group))?;
        PIDE.set_bool(&mut b, self.policer_enabled)?;
        PID.set(&mut b, u64::from(self.pid))?;
        PRIORITY.set(&mut b, u64::from(self.priority))?;
        LOCAL_PATH_CPU_TCLASS.set(&mut b, u64::from(self.local_path_cpu_tclass))?;
        LOCAL_PATH_RDQ.set(&mut b, u64::from(self.local_path_rdq))?;
        Ok(b)
    }

    /// Decodes the first 32 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("HTGT", buf, LEN)?;
        Ok(Self {
            swid: SWID.get(buf)? as u8,
            path_type: TYPE.get(buf)? as u8,
            trap_group: TRAP_GROUP.get(buf)? as u8,
            policer_enabled: PIDE.get_bool(buf)?,
            pid: PID.get(buf)? as u8,
            priority: PRIORITY.get(buf)? as u8,
            local_path_cpu_tclass: LOCAL_PATH_CPU_TCLASS.get(buf)? as u8,
            local_path_rdq: LOCAL_PATH_RDQ.get(buf)? as u8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htgt_round_trip() {
        let h = Htgt {
            trap_group: 2,
            policer_enabled: true,
            pid: 7,
            priority: 5,
            local_path_rdq: 0x13,
            ..Default::default()
        };
        let b = h.encode().unwrap();
        assert_eq!(&b[..8], &[0, 0, 0, 2, 0, 0, 0x80, 7]);
        assert_eq!(b[0x0F], 5);
        assert_eq!(b[0x13], 0x13);
        assert_eq!(Htgt::decode(&b), Ok(h));
        assert!(Htgt { priority: 16, ..h }.encode().is_err());
        assert!(Htgt::decode(&b[..31]).is_err());
    }
}
