//! QUERY_PAGES (0x107) and MANAGE_PAGES (0x108): how many 4 KiB pages FW wants,
//! and handing them over or taking them back (reference §5, pagealloc.c).

use super::{check_in, new_in, new_in_vec, new_out, read_pas, write_pas, BASE_SIZE};
use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};
use crate::ifc::opcode::Opcode;

/// FW pages are always 4 KiB ("adapter pages").
pub const ADAPTER_PAGE_SIZE: u64 = 4096;

/// `embedded_cpu_function` (dw2 bit 31, in both inputs and QUERY_PAGES out).
pub const EMBEDDED_CPU_FUNCTION: Field = Field::new("embedded_cpu_function", 0x08, 31, 1);
/// `function_id` (BE16 at 0x0A, in both inputs and QUERY_PAGES out).
pub const FUNCTION_ID: Field = Field::be16_at("function_id", 0x0A);
/// QUERY_PAGES out `num_pages` (BE32 at 0x0C, signed).
pub const QUERY_PAGES_NUM_PAGES: Field = Field::be32_at("num_pages", 0x0C);
/// MANAGE_PAGES in `input_num_entries` (BE32 at 0x0C).
pub const MANAGE_PAGES_INPUT_NUM_ENTRIES: Field = Field::be32_at("input_num_entries", 0x0C);
/// MANAGE_PAGES out `output_num_entries` (BE32 at 0x08).
pub const MANAGE_PAGES_OUTPUT_NUM_ENTRIES: Field = Field::be32_at("output_num_entries", 0x08);
/// Byte offset of `pas[]` (BE64 page addresses) in MANAGE_PAGES in and out.
pub const PAS_OFFSET: usize = 0x10;

/// Pages per MANAGE_PAGES TAKE the kernel asks for: what fits in 12 mailbox blocks,
/// `(16 + 12 * 512 - 16) / 8` = 768 (reference §5, teardown).
pub const MAX_RECLAIM_PAGES: u32 = 768;

/// QUERY_PAGES op_mod (`MLX5_BOOT_PAGES`, `MLX5_INIT_PAGES`, `MLX5_POST_INIT_PAGES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryPagesMode {
    /// 1: pages needed to boot.
    Boot = 1,
    /// 2: pages needed by INIT_HCA.
    Init = 2,
    /// 3: pages needed at run time.
    Regular = 3,
}

impl QueryPagesMode {
    /// Decodes the op_mod.
    pub fn from_raw(v: u16) -> Result<Self> {
        match v {
            1 => Ok(Self::Boot),
            2 => Ok(Self::Init),
            3 => Ok(Self::Regular),
            _ => Err(Error::BadValue {
                what: "QUERY_PAGES op_mod",
                value: u64::from(v),
                expected: "1, 2 or 3",
            }),
        }
    }
}

/// MANAGE_PAGES op_mod (`MLX5_PAGES_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagePagesOp {
    /// 0: the driver could not allocate the pages FW asked for.
    CantGive = 0,
    /// 1: give pages to FW.
    Give = 1,
    /// 2: take pages back from FW.
    Take = 2,
}

impl ManagePagesOp {
    /// Decodes the op_mod.
    pub fn from_raw(v: u16) -> Result<Self> {
        match v {
            0 => Ok(Self::CantGive),
            1 => Ok(Self::Give),
            2 => Ok(Self::Take),
            _ => Err(Error::BadValue {
                what: "MANAGE_PAGES op_mod",
                value: u64::from(v),
                expected: "0, 1 or 2",
            }),
        }
    }
}

/// QUERY_PAGES input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryPagesIn {
    /// Boot, init or regular.
    pub mode: QueryPagesMode,
    /// Target the embedded-CPU function.
    pub embedded_cpu_function: bool,
    /// Function id (0 = self).
    pub function_id: u16,
}

impl QueryPagesIn {
    /// Encodes.
    pub fn encode(&self) -> [u8; BASE_SIZE] {
        let mut b = new_in::<BASE_SIZE>(Opcode::QUERY_PAGES, self.mode as u16);
        b[0x08] = u8::from(self.embedded_cpu_function) << 7;
        b[0x0A..0x0C].copy_from_slice(&self.function_id.to_be_bytes());
        b
    }

    /// Decodes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = check_in(buf, Opcode::QUERY_PAGES, BASE_SIZE)?;
        Ok(Self {
            mode: QueryPagesMode::from_raw(h.op_mod)?,
            embedded_cpu_function: EMBEDDED_CPU_FUNCTION.get_bool(buf)?,
            function_id: FUNCTION_ID.get(buf)? as u16,
        })
    }
}

/// QUERY_PAGES output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryPagesOut {
    /// Embedded-CPU function.
    pub embedded_cpu_function: bool,
    /// Function id.
    pub function_id: u16,
    /// Pages FW wants (> 0) or offers back (< 0).
    pub num_pages: i32,
}

impl QueryPagesOut {
    /// Encodes a successful output.
    pub fn encode(&self) -> [u8; BASE_SIZE] {
        let mut b = new_out::<BASE_SIZE>();
        b[0x08] = u8::from(self.embedded_cpu_function) << 7;
        b[0x0A..0x0C].copy_from_slice(&self.function_id.to_be_bytes());
        b[0x0C..0x10].copy_from_slice(&self.num_pages.to_be_bytes());
        b
    }

    /// Decodes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("QUERY_PAGES output", buf, BASE_SIZE)?;
        Ok(Self {
            embedded_cpu_function: EMBEDDED_CPU_FUNCTION.get_bool(buf)?,
            function_id: FUNCTION_ID.get(buf)? as u16,
            num_pages: QUERY_PAGES_NUM_PAGES.get32(buf)? as i32,
        })
    }
}

/// MANAGE_PAGES input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagePagesIn {
    /// Give, take or can't give.
    pub op: ManagePagesOp,
    /// Target the embedded-CPU function.
    pub embedded_cpu_function: bool,
    /// Function id.
    pub function_id: u16,
    /// For TAKE and CANT_GIVE: the number of pages; for GIVE: `pas.len()`.
    pub num_entries: u32,
    /// For GIVE: the 4 KiB-aligned page addresses (empty otherwise).
    pub pas: Vec<u64>,
}

impl ManagePagesIn {
    /// GIVE `pas` to FW.
    pub fn give(function_id: u16, pas: Vec<u64>) -> Result<Self> {
        let n = u32::try_from(pas.len()).map_err(|_| Error::Overflow {
            what: "input_num_entries",
            value: pas.len() as u64,
            width: 32,
        })?;
        Ok(Self {
            op: ManagePagesOp::Give,
            embedded_cpu_function: false,
            function_id,
            num_entries: n,
            pas,
        })
    }

    /// TAKE `n` pages back.
    pub fn take(function_id: u16, n: u32) -> Self {
        Self {
            op: ManagePagesOp::Take,
            embedded_cpu_function: false,
            function_id,
            num_entries: n,
            pas: Vec::new(),
        }
    }

    /// Input length on the wire: 16 + 8 × `pas.len()`.
    pub fn len(&self) -> usize {
        PAS_OFFSET + 8 * self.pas.len()
    }

    /// True if no page addresses are carried.
    pub fn is_empty(&self) -> bool {
        self.pas.is_empty()
    }

    /// Encodes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut b = new_in_vec(Opcode::MANAGE_PAGES, self.op as u16, self.len());
        EMBEDDED_CPU_FUNCTION.set_bool(&mut b, self.embedded_cpu_function)?;
        FUNCTION_ID.set(&mut b, u64::from(self.function_id))?;
        MANAGE_PAGES_INPUT_NUM_ENTRIES.set(&mut b, u64::from(self.num_entries))?;
        write_pas("pas", &mut b, PAS_OFFSET, &self.pas)?;
        Ok(b)
    }

    /// Decodes. For GIVE, `input_num_entries` addresses must follow the header;
    /// each must be 4 KiB aligned.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = check_in(buf, Opcode::MANAGE_PAGES, BASE_SIZE)?;
        let op = ManagePagesOp::from_raw(h.op_mod)?;
        let num_entries = MANAGE_PAGES_INPUT_NUM_ENTRIES.get32(buf)?;
        let pas = if op == ManagePagesOp::Give {
            let pas = read_pas("pas", buf, PAS_OFFSET, num_entries as usize)?;
            if let Some(bad) = pas.iter().find(|&&p| p % ADAPTER_PAGE_SIZE != 0) {
                return Err(Error::BadValue {
                    what: "pas",
                    value: *bad,
                    expected: "4 KiB aligned page addresses",
                });
            }
            pas
        } else {
            Vec::new()
        };
        Ok(Self {
            op,
            embedded_cpu_function: EMBEDDED_CPU_FUNCTION.get_bool(buf)?,
            function_id: FUNCTION_ID.get(buf)? as u16,
            num_entries,
            pas,
        })
    }
}

/// Output length of MANAGE_PAGES TAKE for `n` pages (16 + 8n); GIVE and
/// CANT_GIVE outputs are 16 bytes.
pub const fn manage_pages_out_len(op: ManagePagesOp, n: u32) -> usize {
    match op {
        ManagePagesOp::Take => PAS_OFFSET + 8 * n as usize,
        _ => BASE_SIZE,
    }
}

/// MANAGE_PAGES output: the pages FW returned (TAKE).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagePagesOut {
    /// Page addresses returned.
    pub pas: Vec<u64>,
}

impl ManagePagesOut {
    /// Encodes a successful output into `len` bytes (at least 16 + 8 × pages).
    pub fn encode(&self, len: usize) -> Result<Vec<u8>> {
        let n = u32::try_from(self.pas.len()).map_err(|_| Error::Overflow {
            what: "output_num_entries",
            value: self.pas.len() as u64,
            width: 32,
        })?;
        let mut b = vec![0u8; len.max(BASE_SIZE)];
        crate::ifc::header::OutHeader::OK.encode_into(&mut b)?;
        MANAGE_PAGES_OUTPUT_NUM_ENTRIES.set(&mut b, u64::from(n))?;
        write_pas("pas", &mut b, PAS_OFFSET, &self.pas)?;
        Ok(b)
    }

    /// Decodes; `output_num_entries` addresses must be present.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("MANAGE_PAGES output", buf, BASE_SIZE)?;
        let n = MANAGE_PAGES_OUTPUT_NUM_ENTRIES.get32(buf)?;
        Ok(Self {
            pas: read_pas("pas", buf, PAS_OFFSET, n as usize)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pages_round_trip() {
        let q = QueryPagesIn {
            mode: QueryPagesMode::Init,
            embedded_cpu_function: false,
            function_id: 0,
        };
        let b = q.encode();
        assert_eq!(&b[..8], &[0x01, 0x07, 0, 0, 0, 0, 0, 2]);
        assert_eq!(QueryPagesIn::decode(&b), Ok(q));
        let o = QueryPagesOut {
            embedded_cpu_function: false,
            function_id: 3,
            num_pages: -50_000,
        };
        assert_eq!(QueryPagesOut::decode(&o.encode()), Ok(o));
        let mut bad = b;
        bad[7] = 4;
        assert!(QueryPagesIn::decode(&bad).is_err());
    }

    #[test]
    fn manage_pages_give_take() {
        let g = ManagePagesIn::give(0, vec![0x1000, 0x2_0000_0000]).unwrap();
        let b = g.encode().unwrap();
        assert_eq!(b.len(), 32);
        assert_eq!(&b[0x0C..0x10], &[0, 0, 0, 2]);
        assert_eq!(&b[0x18..0x20], &[0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(ManagePagesIn::decode(&b), Ok(g));
        // Claims 3 entries, carries 2: short.
        let mut lie = b.clone();
        lie[0x0F] = 3;
        assert!(ManagePagesIn::decode(&lie).is_err());
        // Misaligned page.
        let mut mis = b.clone();
        mis[0x17] = 0x08;
        assert!(ManagePagesIn::decode(&mis).is_err());

        let t = ManagePagesIn::take(0, 768);
        let tb = t.encode().unwrap();
        assert_eq!(tb.len(), 16);
        assert_eq!(ManagePagesIn::decode(&tb), Ok(t));
        assert_eq!(manage_pages_out_len(ManagePagesOp::Take, 768), 16 + 768 * 8);

        let o = ManagePagesOut {
            pas: vec![0x1000, 0x3000],
        };
        let ob = o
            .encode(manage_pages_out_len(ManagePagesOp::Take, 4))
            .unwrap();
        assert_eq!(ob.len(), 48);
        assert_eq!(ManagePagesOut::decode(&ob), Ok(o));
        assert!(ManagePagesOut::decode(&ob[..20]).is_err());
    }
}
