//! MCC (0x9062), management component control: the FW update state machine
//! (`mlx5_ifc_mcc_reg_bits`, 32 bytes; instructions from fw.c, states and errors
//! from `mlxfw/mlxfw.h` and fw.c).
//!
//! dw0: time_elapsed_since_last_cmd 27:16, instruction 7:0. dw1: component_index
//! 15:0. dw2: update_handle 23:0. dw3: handle_owner_type 31:28,
//! handle_owner_host_id 27:24, control_progress 22:16, error_code 15:8,
//! control_state 3:0. dw4: component_size.
//!
//! Flash flow (mlxfw_fsm.c): LOCK_UPDATE_HANDLE (IDLE → LOCKED, FW returns the
//! handle) → UPDATE_COMPONENT with the size (→ DOWNLOAD) → MCDA writes →
//! VERIFY_COMPONENT (→ VERIFY → LOCKED when done) → ACTIVATE (→ APPLY/ACTIVATE →
//! LOCKED) → RELEASE_UPDATE_HANDLE (→ IDLE). CANCEL aborts. Errors appear in
//! `error_code` with the state machine stuck where it failed.

use crate::ifc::error::Result;
use crate::ifc::field::{need, Field};
use crate::ifc::named::named_values;

/// Register size.
pub const LEN: usize = 0x20;
/// `time_elapsed_since_last_cmd` (seconds).
pub const TIME_ELAPSED_SINCE_LAST_CMD: Field =
    Field::new("time_elapsed_since_last_cmd", 0x00, 16, 12);
/// `instruction`.
pub const INSTRUCTION: Field = Field::new("instruction", 0x00, 0, 8);
/// `component_index`.
pub const COMPONENT_INDEX: Field = Field::new("component_index", 0x04, 0, 16);
/// `update_handle`.
pub const UPDATE_HANDLE: Field = Field::new("update_handle", 0x08, 0, 24);
/// `handle_owner_type`.
pub const HANDLE_OWNER_TYPE: Field = Field::new("handle_owner_type", 0x0C, 28, 4);
/// `handle_owner_host_id`.
pub const HANDLE_OWNER_HOST_ID: Field = Field::new("handle_owner_host_id", 0x0C, 24, 4);
/// `control_progress` (percent).
pub const CONTROL_PROGRESS: Field = Field::new("control_progress", 0x0C, 16, 7);
/// `error_code`.
pub const ERROR_CODE: Field = Field::new("error_code", 0x0C, 8, 8);
/// `control_state`.
pub const CONTROL_STATE: Field = Field::new("control_state", 0x0C, 0, 4);
/// `component_size` (bytes).
pub const COMPONENT_SIZE: Field = Field::be32_at("component_size", 0x10);

/// An MCC instruction (`MLX5_REG_MCC_INSTRUCTION_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Instruction(pub u8);

named_values!(Instruction: u8 {
    /// No instruction (a query).
    NONE = 0x00,
    /// Take the update handle (IDLE → LOCKED).
    LOCK_UPDATE_HANDLE = 0x01,
    /// Give the handle back (→ IDLE).
    RELEASE_UPDATE_HANDLE = 0x02,
    /// Start downloading a component of `component_size` bytes (→ DOWNLOAD).
    UPDATE_COMPONENT = 0x03,
    /// Verify the downloaded component (→ VERIFY).
    VERIFY_COMPONENT = 0x04,
    /// Activate the new image (→ APPLY / ACTIVATE).
    ACTIVATE = 0x06,
    /// Abort the update.
    CANCEL = 0x08,
});

/// The update state machine state (`MLXFW_FSM_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ControlState(pub u8);

named_values!(ControlState: u8 {
    /// No update in progress.
    IDLE = 0,
    /// A handle is held.
    LOCKED = 1,
    /// Initializing.
    INITIALIZE = 2,
    /// Receiving MCDA data.
    DOWNLOAD = 3,
    /// Verifying.
    VERIFY = 4,
    /// Applying.
    APPLY = 5,
    /// Activating.
    ACTIVATE = 6,
});

/// FSM error codes (`MLXFW_FSM_STATE_ERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ErrorCode(pub u8);

named_values!(ErrorCode: u8 {
    /// No error.
    OK = 0,
    /// General error.
    ERROR = 1,
    /// Component hash mismatch.
    REJECTED_DIGEST_ERR = 2,
    /// Component not applicable.
    REJECTED_NOT_APPLICABLE = 3,
    /// Unknown key.
    REJECTED_UNKNOWN_KEY = 4,
    /// Authentication failed.
    REJECTED_AUTH_FAILED = 5,
    /// Component not signed.
    REJECTED_UNSIGNED = 6,
    /// Key not applicable.
    REJECTED_KEY_NOT_APPLICABLE = 7,
    /// Bad format.
    REJECTED_BAD_FORMAT = 8,
    /// Blocked: a reset is pending.
    BLOCKED_PENDING_RESET = 9,
});

/// The MCC register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mcc {
    /// Seconds since the last instruction.
    pub time_elapsed_since_last_cmd: u16,
    /// The instruction (write) or 0 (query).
    pub instruction: Instruction,
    /// Component index (from MCQS).
    pub component_index: u16,
    /// Update handle (24 bits).
    pub update_handle: u32,
    /// Owner of the handle.
    pub handle_owner_type: u8,
    /// Owner host id.
    pub handle_owner_host_id: u8,
    /// Progress in percent.
    pub control_progress: u8,
    /// Error of the last instruction.
    pub error_code: ErrorCode,
    /// State machine state.
    pub control_state: ControlState,
    /// Component size for UPDATE_COMPONENT.
    pub component_size: u32,
}

impl Mcc {
    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        TIME_ELAPSED_SINCE_LAST_CMD.set(&mut b, u64::from(self.time_elapsed_since_last_cmd))?;
        INSTRUCTION.set(&mut b, u64::from(self.instruction.0))?;
        COMPONENT_INDEX.set(&mut b, u64::from(self.component_index))?;
        UPDATE_HANDLE.set(&mut b, u64::from(self.update_handle))?;
        HANDLE_OWNER_TYPE.set(&mut b, u64::from(self.handle_owner_type))?;
        HANDLE_OWNER_HOST_ID.set(&mut b, u64::from(self.handle_owner_host_id))?;
        CONTROL_PROGRESS.set(&mut b, u64::from(self.control_progress))?;
        ERROR_CODE.set(&mut b, u64::from(self.error_code.0))?;
        CONTROL_STATE.set(&mut b, u64::from(self.control_state.0))?;
        COMPONENT_SIZE.set(&mut b, u64::from(self.component_size))?;
        Ok(b)
    }

    /// Decodes the first 32 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("MCC", buf, LEN)?;
        Ok(Self {
            time_elapsed_since_last_cmd: TIME_ELAPSED_SINCE_LAST_CMD.get(buf)? as u16,
            instruction: Instruction(INSTRUCTION.get(buf)? as u8),
            component_index: COMPONENT_INDEX.get(buf)? as u16,
            update_handle: UPDATE_HANDLE.get32(buf)?,
            handle_owner_type: HANDLE_OWNER_TYPE.get(buf)? as u8,
            handle_owner_host_id: HANDLE_OWNER_HOST_ID.get(buf)? as u8,
            control_progress: CONTROL_PROGRESS.get(buf)? as u8,
            error_code: ErrorCode(ERROR_CODE.get(buf)? as u8),
            control_state: ControlState(CONTROL_STATE.get(buf)? as u8),
            component_size: COMPONENT_SIZE.get32(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcc_round_trip() {
        let m = Mcc {
            instruction: Instruction::UPDATE_COMPONENT,
            component_index: 1,
            update_handle: 0xABCDEF,
            control_progress: 100,
            error_code: ErrorCode::REJECTED_BAD_FORMAT,
            control_state: ControlState::DOWNLOAD,
            component_size: 0x0010_0000,
            ..Default::default()
        };
        let b = m.encode().unwrap();
        assert_eq!(
            &b[..16],
            &[0, 0, 0, 3, 0, 0, 0, 1, 0, 0xAB, 0xCD, 0xEF, 0, 100, 8, 3]
        );
        assert_eq!(&b[0x10..0x14], &[0, 0x10, 0, 0]);
        assert_eq!(Mcc::decode(&b), Ok(m));
        assert!(Mcc {
            update_handle: 1 << 24,
            ..m
        }
        .encode()
        .is_err());
        assert!(Mcc {
            control_progress: 128,
            ..m
        }
        .encode()
        .is_err());
        assert_eq!(ControlState::VERIFY.name(), Some("VERIFY"));
    }
}
