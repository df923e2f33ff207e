//! ACCESS_REG (0x805): read or write a device register (reference §5.1 "selected
//! command layouts"; `mlx5_ifc_access_register_in_bits`/`_out_bits`).
//!
//! In: header, `register_id` (BE16 at 0x0A), `argument` (BE32 at 0x0C), register
//! data from 0x10. op_mod 0 = write, 1 = read. Out: header, data from 0x10. The
//! kernel sends the register in both directions (`mlx5_core_access_reg` copies
//! `data_in` for reads too, so index fields such as a port number select what is
//! read) and expects an output of 16 + the register size.

use super::{check_in, new_in_vec, BASE_SIZE};
use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};
use crate::ifc::header::OutHeader;
use crate::ifc::opcode::Opcode;
use crate::ifc::regs::RegisterId;

/// `register_id` (in BE16 at 0x0A).
pub const REGISTER_ID: Field = Field::be16_at("register_id", 0x0A);
/// `argument` (in BE32 at 0x0C).
pub const ARGUMENT: Field = Field::be32_at("argument", 0x0C);
/// Byte offset of the register data in the input and the output.
pub const DATA_OFFSET: usize = 0x10;

/// Direction (op_mod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegOp {
    /// 0: write the register.
    Write = 0,
    /// 1: read the register.
    Read = 1,
}

/// An ACCESS_REG input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRegIn {
    /// Read or write.
    pub op: RegOp,
    /// Which register.
    pub register_id: RegisterId,
    /// Register-specific argument (usually 0).
    pub argument: u32,
    /// The register contents (for a read: the index fields, rest zero).
    pub data: Vec<u8>,
}

impl AccessRegIn {
    /// Encodes (16 + data bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = new_in_vec(
            Opcode::ACCESS_REG,
            self.op as u16,
            DATA_OFFSET + self.data.len(),
        );
        b[0x0A..0x0C].copy_from_slice(&self.register_id.0.to_be_bytes());
        b[0x0C..0x10].copy_from_slice(&self.argument.to_be_bytes());
        b[DATA_OFFSET..].copy_from_slice(&self.data);
        b
    }

    /// Decodes; the data is everything after the 16-byte header.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = check_in(buf, Opcode::ACCESS_REG, BASE_SIZE)?;
        let op = match h.op_mod {
            0 => RegOp::Write,
            1 => RegOp::Read,
            v => {
                return Err(Error::BadValue {
                    what: "ACCESS_REG op_mod",
                    value: u64::from(v),
                    expected: "0 (write) or 1 (read)",
                })
            }
        };
        Ok(Self {
            op,
            register_id: RegisterId(REGISTER_ID.get(buf)? as u16),
            argument: ARGUMENT.get32(buf)?,
            data: buf[DATA_OFFSET..].to_vec(),
        })
    }
}

/// A successful ACCESS_REG output carrying `data`.
pub fn access_reg_out(data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; DATA_OFFSET + data.len()];
    let _ = OutHeader::OK.encode_into(&mut b);
    b[DATA_OFFSET..].copy_from_slice(data);
    b
}

/// The register data of an ACCESS_REG output (everything after 16 bytes).
pub fn access_reg_out_data(buf: &[u8]) -> Result<&[u8]> {
    need("ACCESS_REG output", buf, BASE_SIZE)?;
    Ok(&buf[DATA_OFFSET..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_reg_round_trip() {
        let a = AccessRegIn {
            op: RegOp::Read,
            register_id: RegisterId::PAOS,
            argument: 0,
            data: vec![0, 1, 0, 0],
        };
        let b = a.encode();
        assert_eq!(&b[..12], &[0x08, 0x05, 0, 0, 0, 0, 0, 1, 0, 0, 0x50, 0x06]);
        assert_eq!(AccessRegIn::decode(&b), Ok(a));
        let mut bad = b.clone();
        bad[7] = 2;
        assert!(AccessRegIn::decode(&bad).is_err());
        let o = access_reg_out(&[9, 9]);
        assert_eq!(access_reg_out_data(&o), Ok(&[9u8, 9][..]));
        assert!(access_reg_out_data(&o[..15]).is_err());
    }
}
