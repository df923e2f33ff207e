//! CREATE_EQ (0x301) and DESTROY_EQ (0x302) (reference §5.1 "selected command
//! layouts", §7).
//!
//! CREATE_EQ in: header, the 64-byte EQ context at 0x10, the 256-bit event bitmask
//! at 0x58, then `pas[]` (BE64 page addresses of the EQ buffer) at 0x110.
//! CREATE_EQ out: `eq_number` at byte 0x0B. DESTROY_EQ in: `eq_number` at 0x0B.

use super::{check_in, new_in, new_in_vec, new_out, read_pas, write_pas, BASE_SIZE};
use crate::ifc::eq::{EqContext, EventMask, EQC_SIZE};
use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};
use crate::ifc::opcode::Opcode;

/// Byte offset of the EQ context.
pub const EQ_CONTEXT_OFFSET: usize = 0x10;
/// Byte offset of `event_bitmask[4]`.
pub const EVENT_BITMASK_OFFSET: usize = 0x58;
/// Byte offset of `pas[]`.
pub const PAS_OFFSET: usize = 0x110;
/// CREATE_EQ input size without the page array.
pub const CREATE_EQ_IN_SIZE: usize = PAS_OFFSET;
/// `eq_number` (byte 0x0B) in CREATE_EQ out and DESTROY_EQ in.
pub const EQ_NUMBER: Field = Field::u8_at("eq_number", 0x0B);

/// CREATE_EQ input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateEqIn {
    /// The EQ context.
    pub ctx: EqContext,
    /// Event types this EQ receives.
    pub events: EventMask,
    /// Page addresses of the EQ buffer (4 KiB << log_page_size each).
    pub pas: Vec<u64>,
}

impl CreateEqIn {
    /// Encodes (272 + 8 × pages bytes).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut b = new_in_vec(Opcode::CREATE_EQ, 0, PAS_OFFSET + 8 * self.pas.len());
        self.ctx
            .encode_into(&mut b[EQ_CONTEXT_OFFSET..EQ_CONTEXT_OFFSET + EQC_SIZE])?;
        b[EVENT_BITMASK_OFFSET..EVENT_BITMASK_OFFSET + EventMask::SIZE]
            .copy_from_slice(&self.events.encode());
        write_pas("pas", &mut b, PAS_OFFSET, &self.pas)?;
        Ok(b)
    }

    /// Decodes. The page count is not in the command: it is taken from the input
    /// length, which must be 272 + 8n. The EQ must fit: `1 << log_eq_size` 64-byte
    /// entries need `ceil(64 << log_eq_size, 4096 << log_page_size)` pages.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        check_in(buf, Opcode::CREATE_EQ, CREATE_EQ_IN_SIZE)?;
        let extra = buf.len() - PAS_OFFSET;
        if extra % 8 != 0 {
            return Err(Error::BadValue {
                what: "CREATE_EQ inlen",
                value: buf.len() as u64,
                expected: "272 + 8 bytes per page",
            });
        }
        let ctx = EqContext::decode(&buf[EQ_CONTEXT_OFFSET..])?;
        let events = EventMask::decode(&buf[EVENT_BITMASK_OFFSET..])?;
        let pas = read_pas("pas", buf, PAS_OFFSET, extra / 8)?;
        let eq = Self { ctx, events, pas };
        let needed = eq.pages_needed()?;
        if (eq.pas.len() as u64) < needed {
            return Err(Error::BadValue {
                what: "CREATE_EQ pas count",
                value: eq.pas.len() as u64,
                expected: "enough pages for 64 << log_eq_size bytes",
            });
        }
        Ok(eq)
    }

    /// Pages the context's size requires.
    pub fn pages_needed(&self) -> Result<u64> {
        let log_size = u32::from(self.ctx.log_eq_size);
        let log_page = u32::from(self.ctx.log_page_size);
        if log_size > 24 || log_page > 20 {
            return Err(Error::BadValue {
                what: "log_eq_size / log_page_size",
                value: u64::from(log_size.max(log_page)),
                expected: "log_eq_size <= 24 and log_page_size <= 20",
            });
        }
        let bytes = 64u64 << log_size;
        let page = 4096u64 << log_page;
        Ok(bytes.div_ceil(page))
    }
}

/// CREATE_EQ output carrying `eq_number`.
pub fn create_eq_out(eq_number: u8) -> [u8; BASE_SIZE] {
    let mut b = new_out::<BASE_SIZE>();
    b[0x0B] = eq_number;
    b
}

/// Decodes a CREATE_EQ output: the EQ number.
pub fn decode_create_eq_out(buf: &[u8]) -> Result<u8> {
    need("CREATE_EQ output", buf, BASE_SIZE)?;
    Ok(EQ_NUMBER.get(buf)? as u8)
}

/// DESTROY_EQ input.
pub fn destroy_eq_in(eq_number: u8) -> [u8; BASE_SIZE] {
    let mut b = new_in::<BASE_SIZE>(Opcode::DESTROY_EQ, 0);
    b[0x0B] = eq_number;
    b
}

/// Decodes a DESTROY_EQ input: the EQ number.
pub fn decode_destroy_eq_in(buf: &[u8]) -> Result<u8> {
    check_in(buf, Opcode::DESTROY_EQ, BASE_SIZE)?;
    Ok(EQ_NUMBER.get(buf)? as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ifc::eqe::EventType;

    #[test]
    fn create_eq_round_trip() {
        let ctx = EqContext {
            log_eq_size: 8,
            uar_page: 1,
            intr: 0,
            st: 0,
            ..Default::default()
        };
        let eq = CreateEqIn {
            ctx,
            events: EventMask::of(&[EventType::CMD]),
            pas: vec![0x10000, 0x11000, 0x12000, 0x13000],
        };
        let b = eq.encode().unwrap();
        assert_eq!(b.len(), 272 + 32);
        assert_eq!(&b[..4], &[0x03, 0x01, 0, 0]);
        assert_eq!(b[0x10 + 0x0C], 8, "log_eq_size in eqc dw3");
        assert_eq!(b[0x58 + 6], 0x04, "bit 10 of the first BE64 word");
        assert_eq!(&b[0x110..0x118], &[0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(CreateEqIn::decode(&b), Ok(eq.clone()));
        // 256 entries x 64 B = 16 KiB = 4 pages; three are not enough.
        let short = CreateEqIn {
            pas: eq.pas[..3].to_vec(),
            ..eq
        };
        assert!(CreateEqIn::decode(&short.encode().unwrap()).is_err());
        assert!(CreateEqIn::decode(&b[..b.len() - 1]).is_err());
        assert_eq!(decode_create_eq_out(&create_eq_out(7)), Ok(7));
        assert_eq!(decode_destroy_eq_in(&destroy_eq_in(7)), Ok(7));
    }
}
