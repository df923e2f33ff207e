//! MCDA (0x9063), management component data access: one block of a component
//! image (`mlx5_ifc_mcda_reg_bits`; `mlx5_reg_mcda_set` in fw.c).
//!
//! dw0: update_handle 23:0; dw1: offset (bytes into the component); dw2: size
//! 15:0 (bytes of data); dw3 reserved; data from 0x10. The register is
//! 0x10 + size bytes. Size is at most MCQI cap `mcda_max_write_size` and a
//! multiple of `1 << log_mcda_word_size`.

use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};

/// Size of the MCDA header, before the data.
pub const HEADER_LEN: usize = 0x10;
/// `update_handle`.
pub const UPDATE_HANDLE: Field = Field::new("update_handle", 0x00, 0, 24);
/// `offset`.
pub const OFFSET: Field = Field::be32_at("offset", 0x04);
/// `size`.
pub const SIZE: Field = Field::new("size", 0x08, 0, 16);

/// An MCDA write: a block of component data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mcda {
    /// Handle from MCC LOCK_UPDATE_HANDLE.
    pub update_handle: u32,
    /// Byte offset of the block in the component.
    pub offset: u32,
    /// The data (at most 65535 bytes).
    pub data: Vec<u8>,
}

impl Mcda {
    /// Encodes the register (0x10 + data bytes).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let size = u16::try_from(self.data.len()).map_err(|_| Error::Overflow {
            what: "MCDA size",
            value: self.data.len() as u64,
            width: 16,
        })?;
        let mut b = vec![0u8; HEADER_LEN + self.data.len()];
        UPDATE_HANDLE.set(&mut b, u64::from(self.update_handle))?;
        OFFSET.set(&mut b, u64::from(self.offset))?;
        SIZE.set(&mut b, u64::from(size))?;
        b[HEADER_LEN..].copy_from_slice(&self.data);
        Ok(b)
    }

    /// Decodes; `size` bytes must follow the header.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("MCDA", buf, HEADER_LEN)?;
        let size = SIZE.get(buf)? as usize;
        need("MCDA data", buf, HEADER_LEN + size)?;
        Ok(Self {
            update_handle: UPDATE_HANDLE.get32(buf)?,
            offset: OFFSET.get32(buf)?,
            data: buf[HEADER_LEN..HEADER_LEN + size].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcda_round_trip() {
        let m = Mcda {
            update_handle: 5,
            offset: 0x400,
            data: vec![1, 2, 3, 4],
        };
        let b = m.encode().unwrap();
        assert_eq!(&b[..12], &[0, 0, 0, 5, 0, 0, 4, 0, 0, 0, 0, 4]);
        assert_eq!(Mcda::decode(&b), Ok(m));
        assert!(Mcda::decode(&b[..19]).is_err());
        assert!(Mcda {
            data: vec![0; 65536],
            ..Default::default()
        }
        .encode()
        .is_err());
    }
}
