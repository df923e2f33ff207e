//! The common input and output headers of every command (`mbox_in`/`mbox_out`,
//! reference §3.4).
//!
//! Input: dw0 = opcode (31:16) | uid (15:0); dw1 = op_mod (15:0); dw2..3 are
//! command specific. Output: dw0 = status (31:24); dw1 = syndrome; dw2..3 are
//! command specific.

use super::error::Result;
use super::field::{need, Field};
use super::opcode::Opcode;
use super::status::CmdStatus;

/// Size of the part of every inbox and outbox that precedes the command-specific
/// fields (`mbox_in`/`mbox_out` are 8 bytes; dw2..3 belong to the command).
pub const HEADER_SIZE: usize = 8;

/// `opcode` (dw0 31:16).
pub const OPCODE: Field = Field::new("opcode", 0x00, 16, 16);
/// `uid` (dw0 15:0): 0 = kernel, nonzero = a DEVX user context, 0xFFFF = shared.
pub const UID: Field = Field::new("uid", 0x00, 0, 16);
/// `op_mod` (dw1 15:0).
pub const OP_MOD: Field = Field::new("op_mod", 0x04, 0, 16);
/// `status` (output dw0 31:24).
pub const STATUS: Field = Field::new("status", 0x00, 24, 8);
/// `syndrome` (output dw1).
pub const SYNDROME: Field = Field::be32_at("syndrome", 0x04);

/// The input header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InHeader {
    /// Command opcode.
    pub opcode: Opcode,
    /// User context id (0 for the driver).
    pub uid: u16,
    /// Opcode modifier.
    pub op_mod: u16,
}

impl InHeader {
    /// A header with uid 0.
    pub const fn new(opcode: Opcode, op_mod: u16) -> Self {
        Self {
            opcode,
            uid: 0,
            op_mod,
        }
    }

    /// Reads the header from the start of an input message.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("input header", buf, HEADER_SIZE)?;
        Ok(Self {
            opcode: Opcode(OPCODE.get(buf)? as u16),
            uid: UID.get(buf)? as u16,
            op_mod: OP_MOD.get(buf)? as u16,
        })
    }

    /// Writes the header into the first 8 bytes (dw1 31:16 is written as zero).
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<()> {
        need("input header", buf, HEADER_SIZE)?;
        buf[..HEADER_SIZE].fill(0);
        OPCODE.set(buf, u64::from(self.opcode.0))?;
        UID.set(buf, u64::from(self.uid))?;
        OP_MOD.set(buf, u64::from(self.op_mod))
    }
}

/// The output header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutHeader {
    /// Command status.
    pub status: CmdStatus,
    /// FW-specific error detail.
    pub syndrome: u32,
}

impl OutHeader {
    /// A successful header.
    pub const OK: Self = Self {
        status: CmdStatus::OK,
        syndrome: 0,
    };

    /// Reads the header from the start of an output message.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("output header", buf, HEADER_SIZE)?;
        Ok(Self {
            status: CmdStatus(STATUS.get(buf)? as u8),
            syndrome: SYNDROME.get32(buf)?,
        })
    }

    /// Writes the header into the first 8 bytes (reserved bits zero).
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<()> {
        need("output header", buf, HEADER_SIZE)?;
        buf[..HEADER_SIZE].fill(0);
        STATUS.set(buf, u64::from(self.status.0))?;
        SYNDROME.set(buf, u64::from(self.syndrome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_with_documented_bytes() {
        let h = InHeader {
            opcode: Opcode::QUERY_HCA_CAP,
            uid: 0xFFFF,
            op_mod: 0x0001,
        };
        let mut b = [0xEEu8; 16];
        h.encode_into(&mut b).unwrap();
        assert_eq!(&b[..8], &[0x01, 0x00, 0xFF, 0xFF, 0, 0, 0x00, 0x01]);
        assert_eq!(b[8], 0xEE, "command-specific dwords untouched");
        assert_eq!(InHeader::decode(&b), Ok(h));
        let o = OutHeader {
            status: CmdStatus::BAD_PARAM_ERR,
            syndrome: 0xBADD_00DE,
        };
        o.encode_into(&mut b).unwrap();
        assert_eq!(&b[..8], &[0x03, 0, 0, 0, 0xBA, 0xDD, 0x00, 0xDE]);
        assert_eq!(OutHeader::decode(&b), Ok(o));
        assert!(InHeader::decode(&b[..7]).is_err());
        assert!(OutHeader::decode(&[]).is_err());
    }
}
