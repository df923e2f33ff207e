//! Delivery status (the entry's `status_own >> 1`, reference §4.3) and command
//! status (outbox byte 0, §4.4), with the kernel's errno mapping, plus the
//! driver-internal status and syndrome the kernel fakes when the device is dead.

use super::named::named_values;

/// Transport-level status in `status_own` bits 7:1: FW did not run the command if
/// nonzero. Our names are descriptive; the kernel's (`MLX5_CMD_DELIVERY_STAT_*`)
/// are given on each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeliveryStatus(pub u8);

named_values!(DeliveryStatus: u8 {
    /// Delivered (`MLX5_CMD_DELIVERY_STAT_OK`).
    OK = 0x00,
    /// Signature error (`..._SIGNAT_ERR`).
    SIGNATURE_ERR = 0x01,
    /// Token error: a block's token differs from the entry's (`..._TOK_ERR`).
    TOKEN_ERR = 0x02,
    /// Bad block number in the mailbox chain (`..._BAD_BLK_NUM_ERR`).
    BAD_BLOCK_NUMBER = 0x03,
    /// Output pointer not aligned to the block size (`..._OUT_PTR_ALIGN_ERR`).
    OUTPUT_POINTER_NOT_ALIGNED = 0x04,
    /// Input pointer not aligned to the block size (`..._IN_PTR_ALIGN_ERR`).
    INPUT_POINTER_NOT_ALIGNED = 0x05,
    /// FW internal error (`..._FW_ERR`).
    FW_INTERNAL_ERR = 0x06,
    /// Input length error (`..._IN_LENGTH_ERR`).
    INPUT_LEN_ERR = 0x07,
    /// Output length error (`..._OUT_LENGTH_ERR`).
    OUTPUT_LEN_ERR = 0x08,
    /// Reserved fields not cleared (`..._RES_FLD_NOT_CLR_ERR`).
    RESERVED_NOT_CLEARED = 0x09,
    /// Bad command descriptor type: entry `type` is not 7 (`..._CMD_DESCR_ERR`).
    BAD_TYPE = 0x10,
    /// Driver-internal: the command was aborted (treated as 0 by the kernel).
    ABORTED = 0xFE,
});

impl DeliveryStatus {
    /// The negative errno the kernel returns for this status (`deliv_status_to_err`);
    /// unknown values map to -EIO.
    pub const fn errno(self) -> i32 {
        match self.0 {
            0x00 | 0xFE => 0,
            0x01 | 0x02 => -libc::EBADR,
            0x03..=0x05 => -libc::EFAULT,
            0x06 => -libc::EIO,
            0x07..=0x09 | 0x10 => -libc::ENOMSG,
            _ => -libc::EIO,
        }
    }
}

/// Command return status (outbox dw0 bits 31:24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CmdStatus(pub u8);

named_values!(CmdStatus: u8 {
    /// Success.
    OK = 0x00,
    /// Internal error.
    INT_ERR = 0x01,
    /// Bad or unsupported opcode.
    BAD_OP_ERR = 0x02,
    /// Bad parameter.
    BAD_PARAM_ERR = 0x03,
    /// Bad system state.
    BAD_SYS_STATE_ERR = 0x04,
    /// Bad resource.
    BAD_RES_ERR = 0x05,
    /// Resource busy.
    RES_BUSY = 0x06,
    /// FW not ready (newer FW; absent from old kernels).
    NOT_READY = 0x07,
    /// Limits exceeded.
    LIM_ERR = 0x08,
    /// Bad resource state.
    BAD_RES_STATE_ERR = 0x09,
    /// Bad index.
    IX_ERR = 0x0A,
    /// No resources.
    NO_RES_ERR = 0x0F,
    /// Bad QP state.
    BAD_QP_STATE_ERR = 0x10,
    /// Bad packet (discarded).
    BAD_PKT_ERR = 0x30,
    /// Too many outstanding CQEs.
    BAD_SIZE_OUTS_CQES_ERR = 0x40,
    /// Bad input length.
    BAD_INP_LEN_ERR = 0x50,
    /// Bad output length.
    BAD_OUTP_LEN_ERR = 0x51,
    /// Driver-internal: the kernel fakes this status for create/query commands
    /// when the device is dead (`MLX5_DRIVER_STATUS_ABORTED`).
    DRIVER_ABORTED = 0xFE,
});

impl CmdStatus {
    /// The negative errno `mlx5_cmd_exec` returns (`cmd_status_to_err`); unknown → -EIO.
    pub const fn errno(self) -> i32 {
        match self.0 {
            0x00 => 0,
            0x01 | 0x04 | 0x50 | 0x51 => -libc::EIO,
            0x02 | 0x03 | 0x05 | 0x09 | 0x0A | 0x10 | 0x30 | 0x40 => -libc::EINVAL,
            0x06 => -libc::EBUSY,
            0x07 | 0x0F => -libc::EAGAIN,
            0x08 => -libc::ENOMEM,
            _ => -libc::EIO,
        }
    }
}

/// The syndrome the kernel fakes with [`CmdStatus::DRIVER_ABORTED`] when the
/// device is dead (`MLX5_DRIVER_SYND`).
pub const DRIVER_SYND: u32 = 0xBADD_00DE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_errnos() {
        assert_eq!(CmdStatus(0x51).name(), Some("BAD_OUTP_LEN_ERR"));
        assert_eq!(CmdStatus(0x52).name(), None);
        assert_eq!(CmdStatus::NO_RES_ERR.errno(), -libc::EAGAIN);
        assert_eq!(CmdStatus::LIM_ERR.errno(), -libc::ENOMEM);
        assert_eq!(DeliveryStatus(0x10).name(), Some("BAD_TYPE"));
        assert_eq!(DeliveryStatus::BAD_BLOCK_NUMBER.errno(), -libc::EFAULT);
        assert_eq!(DeliveryStatus::ABORTED.errno(), 0);
        assert_eq!(format!("{}", CmdStatus(0x99)), "unknown(0x99)");
        assert_eq!(format!("{}", DeliveryStatus::TOKEN_ERR), "TOKEN_ERR(0x2)");
    }
}
