//! ALLOC_UAR (0x802) and DEALLOC_UAR (0x803): UAR pages for doorbells (reference
//! §5 step 21, §9). 16-byte inputs and outputs; the UAR index is 24 bits at byte 0x09.

use super::{check_in, new_in, new_out, BASE_SIZE};
use crate::ifc::error::Result;
use crate::ifc::field::{need, Field};
use crate::ifc::opcode::Opcode;

/// `uar` (dw2 23:0) in the ALLOC_UAR output and the DEALLOC_UAR input.
pub const UAR: Field = Field::new("uar", 0x08, 0, 24);

/// ALLOC_UAR input.
pub fn alloc_uar_in() -> [u8; BASE_SIZE] {
    new_in::<BASE_SIZE>(Opcode::ALLOC_UAR, 0)
}

/// ALLOC_UAR output carrying `uar`; fails if it does not fit 24 bits.
pub fn alloc_uar_out(uar: u32) -> Result<[u8; BASE_SIZE]> {
    let mut b = new_out::<BASE_SIZE>();
    UAR.set(&mut b, u64::from(uar))?;
    Ok(b)
}

/// Decodes an ALLOC_UAR output: the UAR index.
pub fn decode_alloc_uar_out(buf: &[u8]) -> Result<u32> {
    need("ALLOC_UAR output", buf, BASE_SIZE)?;
    UAR.get32(buf)
}

/// DEALLOC_UAR input; fails if `uar` does not fit 24 bits.
pub fn dealloc_uar_in(uar: u32) -> Result<[u8; BASE_SIZE]> {
    let mut b = new_in::<BASE_SIZE>(Opcode::DEALLOC_UAR, 0);
    UAR.set(&mut b, u64::from(uar))?;
    Ok(b)
}

/// Decodes a DEALLOC_UAR input: the UAR index.
pub fn decode_dealloc_uar_in(buf: &[u8]) -> Result<u32> {
    check_in(buf, Opcode::DEALLOC_UAR, BASE_SIZE)?;
    UAR.get32(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uar_round_trip() {
        let o = alloc_uar_out(0xABCDEF).unwrap();
        assert_eq!(&o[0x08..0x0C], &[0, 0xAB, 0xCD, 0xEF]);
        assert_eq!(decode_alloc_uar_out(&o), Ok(0xABCDEF));
        assert!(alloc_uar_out(1 << 24).is_err());
        assert_eq!(decode_dealloc_uar_in(&dealloc_uar_in(7).unwrap()), Ok(7));
        assert!(
            decode_dealloc_uar_in(&alloc_uar_in()).is_err(),
            "wrong opcode"
        );
    }
}
