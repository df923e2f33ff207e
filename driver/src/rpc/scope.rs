//! RPC scopes and the opcode allow-list.
//!
//! A caller states a scope; a command runs only if its minimum scope is at
//! or below it (scopes are cumulative, as in the kernel). Only queries and
//! non-allocating sets are allowed: firmware objects an RPC created could
//! not be cleaned up when the handle goes away. `SET_HCA_CAP`, which the
//! kernel allows at configuration scope because firmware limits it to the
//! tools UID, is refused here: cxu has no per-handle UID yet, so firmware
//! could not limit it.

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

/// The lowest scope that may run `opcode` with `op_mod`; `None`: never.
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
        assert_eq!(Scope::parse("debug_read_only"), Some(Scope::DebugReadOnly));
        assert_eq!(Scope::parse("3"), Some(Scope::DebugWriteFull));
        assert_eq!(Scope::parse("root"), None);
    }
}
