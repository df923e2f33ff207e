//! RPC scopes and the opcode allow-list.
//!
//! A caller states a scope; a command runs only if its minimum scope is at
//! or below it (scopes are cumulative, as in the kernel). Only queries and
//! non-allocating sets are allowed: firmware objects an RPC created could
//! not be cleaned up when the handle goes away. `SET_HCA_CAP`, which the
//! kernel allows at configuration scope because firmware limits it to the
//! tools UID, is refused here: cxu has no per-handle UID yet, so firmware
//! could not limit it.
//!
//! For the same reason ACCESS_REG is decided per register and per direction
//! ([`access_reg_scope`]): an RPC runs with the driver's own privilege, so a
//! write to a register devlink owns (traps, trap groups, policers, port
//! state) or to the flash registers (MCC, MCDA) needs
//! [`Scope::DebugWriteFull`], whatever else the scope allows.

use cxu_hal::ifc::commands::access_reg::REGISTER_ID;
use cxu_hal::ifc::header::InHeader;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::Opcode;

/// `enum fwctl_rpc_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Function and child configuration, non-disruptive runtime settings.
    Configuration = 0,
    /// Reading firmware debug objects.
    DebugReadOnly = 1,
    /// Lockdown-compatible debug writes (the kernel taints).
    DebugWrite = 2,
    /// Anything (the kernel needs `CAP_SYS_RAWIO` and taints).
    DebugWriteFull = 3,
}

impl Scope {
    /// The name `cxu rpc scope NAME` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Configuration => "configuration",
            Scope::DebugReadOnly => "debug_read_only",
            Scope::DebugWrite => "debug_write",
            Scope::DebugWriteFull => "debug_write_full",
        }
    }

    /// Parses a name or the uAPI number.
    pub fn parse(s: &str) -> Option<Scope> {
        [
            Scope::Configuration,
            Scope::DebugReadOnly,
            Scope::DebugWrite,
            Scope::DebugWriteFull,
        ]
        .into_iter()
        .find(|x| x.as_str() == s || (*x as u8).to_string() == s)
    }
}

/// Opcodes allowed from [`Scope::Configuration`] up.
const CONFIGURATION: &[Opcode] = &[
    Opcode::QUERY_ADAPTER,
    Opcode::QUERY_ESW_FUNCTIONS,
    Opcode::QUERY_HCA_CAP,
    Opcode::QUERY_HCA_VPORT_CONTEXT,
];

/// Opcodes allowed from [`Scope::DebugReadOnly`] up.
const DEBUG_READ_ONLY: &[Opcode] = &[
    Opcode::NOP,
    Opcode::QUERY_CQ,
    Opcode::QUERY_DCT,
    Opcode::QUERY_EQ,
    Opcode::QUERY_ESW_VPORT_CONTEXT,
    Opcode::QUERY_FLOW_COUNTER,
    Opcode::QUERY_FLOW_GROUP,
    Opcode::QUERY_FLOW_TABLE,
    Opcode::QUERY_FLOW_TABLE_ENTRY,
    Opcode::QUERY_GENERAL_OBJECT,
    Opcode::QUERY_HCA_VPORT_GID,
    Opcode::QUERY_HCA_VPORT_PKEY,
    Opcode::QUERY_ISSI,
    Opcode::QUERY_LAG,
    Opcode::QUERY_MKEY,
    Opcode::QUERY_MODIFY_HEADER_CONTEXT,
    Opcode::QUERY_NIC_VPORT_CONTEXT,
    Opcode::QUERY_PAGES,
    Opcode::QUERY_Q_COUNTER,
    Opcode::QUERY_QP,
    Opcode::QUERY_RQ,
    Opcode::QUERY_RQT,
    Opcode::QUERY_SCHEDULING_ELEMENT,
    Opcode::QUERY_SF_PARTITION,
    Opcode::QUERY_SPECIAL_CONTEXTS,
    Opcode::QUERY_SQ,
    Opcode::QUERY_SRQ,
    Opcode::QUERY_TIR,
    Opcode::QUERY_TIS,
    Opcode::QUERY_VHCA_STATE,
    Opcode::QUERY_VPORT_COUNTER,
    Opcode::QUERY_VPORT_STATE,
    Opcode::QUERY_XRC_SRQ,
];

/// Registers devlink owns: an RPC write would change the hardware behind
/// what devlink shows (and programs again at reload and recovery).
pub const DEVLINK_OWNED_REGISTERS: &[RegisterId] = &[
    RegisterId::HPKT,
    RegisterId::HTGT,
    RegisterId::QPCR,
    RegisterId::PAOS,
];

/// The flash registers: a write can stage or activate firmware.
pub const FLASH_REGISTERS: &[RegisterId] = &[RegisterId::MCC, RegisterId::MCDA];

/// The lowest scope that may access `register`: writes (`op_mod` 0) to the
/// registers devlink owns and to the flash registers need
/// [`Scope::DebugWriteFull`], other writes [`Scope::Configuration`], reads
/// [`Scope::DebugReadOnly`].
pub fn access_reg_scope(op_mod: u16, register: RegisterId) -> Scope {
    if op_mod != 0 {
        Scope::DebugReadOnly
    } else if DEVLINK_OWNED_REGISTERS.contains(&register) || FLASH_REGISTERS.contains(&register) {
        Scope::DebugWriteFull
    } else {
        Scope::Configuration
    }
}

/// The lowest scope that may run the whole message `input` (header first),
/// register-aware for ACCESS_REG; `None`: never (or no header).
pub fn min_scope_of(input: &[u8]) -> Option<Scope> {
    let h = InHeader::decode(input).ok()?;
    if h.opcode == Opcode::ACCESS_REG {
        let register = RegisterId(REGISTER_ID.get(input).ok()? as u16);
        return Some(access_reg_scope(h.op_mod, register));
    }
    min_scope(h.opcode, h.op_mod)
}

/// The register an ACCESS_REG message names, if it is one.
pub fn access_reg_register(input: &[u8]) -> Option<RegisterId> {
    let h = InHeader::decode(input).ok()?;
    (h.opcode == Opcode::ACCESS_REG)
        .then(|| REGISTER_ID.get(input).ok())
        .flatten()
        .map(|r| RegisterId(r as u16))
}

/// The lowest scope that may run `opcode` with `op_mod`, not knowing the
/// message; `None`: never. For ACCESS_REG this is the floor (a register
/// nobody owns): [`min_scope_of`] decides per register.
pub fn min_scope(opcode: Opcode, op_mod: u16) -> Option<Scope> {
    if opcode == Opcode::ACCESS_REG {
        // op_mod 0 is a register write (configuration), anything else a read.
        return Some(if op_mod == 0 {
            Scope::Configuration
        } else {
            Scope::DebugReadOnly
        });
    }
    if CONFIGURATION.contains(&opcode) {
        Some(Scope::Configuration)
    } else if DEBUG_READ_ONLY.contains(&opcode) {
        Some(Scope::DebugReadOnly)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_cumulative_and_unknown_opcodes_never_run() {
        assert_eq!(
            min_scope(Opcode::QUERY_HCA_CAP, 1),
            Some(Scope::Configuration)
        );
        assert_eq!(min_scope(Opcode::NOP, 0), Some(Scope::DebugReadOnly));
        assert_eq!(min_scope(Opcode::ACCESS_REG, 0), Some(Scope::Configuration));
        assert_eq!(min_scope(Opcode::ACCESS_REG, 1), Some(Scope::DebugReadOnly));
        for op in [
            Opcode::SET_HCA_CAP,
            Opcode::INIT_HCA,
            Opcode::MANAGE_PAGES,
            Opcode::CREATE_EQ,
            Opcode(0xFFFF),
        ] {
            assert_eq!(min_scope(op, 0), None, "{op}");
        }
        assert!(Scope::Configuration < Scope::DebugWriteFull);
        // Per register and direction.
        for r in [
            RegisterId::HPKT,
            RegisterId::HTGT,
            RegisterId::QPCR,
            RegisterId::PAOS,
            RegisterId::MCC,
            RegisterId::MCDA,
        ] {
            assert_eq!(access_reg_scope(0, r), Scope::DebugWriteFull, "{r:?}");
            assert_eq!(access_reg_scope(1, r), Scope::DebugReadOnly, "{r:?}");
        }
        assert_eq!(access_reg_scope(0, RegisterId::PPCNT), Scope::Configuration);
        assert_eq!(Scope::parse("debug_read_only"), Some(Scope::DebugReadOnly));
        assert_eq!(Scope::parse("3"), Some(Scope::DebugWriteFull));
        assert_eq!(Scope::parse("root"), None);
    }
}
