//! QUERY_HCA_CAP (0x100) and SET_HCA_CAP (0x109): the 4096-byte capability union
//! at byte 0x10 (reference §5 steps 14-16, §6).

use super::{check_in, new_in, BASE_SIZE};
use crate::ifc::caps::{split_op_mod, CapMode, CapType, HcaCap, CAP_UNION_SIZE};
use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};
use crate::ifc::header::OutHeader;
use crate::ifc::opcode::Opcode;

/// Byte offset of the capability union in QUERY_HCA_CAP out and SET_HCA_CAP in.
pub const CAPABILITY_OFFSET: usize = 0x10;
/// QUERY_HCA_CAP output size: 16 + 4096 (8 output mailbox blocks).
pub const QUERY_HCA_CAP_OUT_SIZE: usize = CAPABILITY_OFFSET + CAP_UNION_SIZE;
/// SET_HCA_CAP input size: 16 + 4096.
pub const SET_HCA_CAP_IN_SIZE: usize = CAPABILITY_OFFSET + CAP_UNION_SIZE;
/// `other_function` (in dw2 bit 31): query/set another function's caps.
pub const OTHER_FUNCTION: Field = Field::new("other_function", 0x08, 31, 1);
/// `function_id` (in dw2 15:0).
pub const FUNCTION_ID: Field = Field::new("function_id", 0x08, 0, 16);

/// QUERY_HCA_CAP input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryHcaCapIn {
    /// Which capability page.
    pub cap_type: CapType,
    /// Current or maximum values.
    pub mode: CapMode,
    /// Query another function.
    pub other_function: bool,
    /// That function's id.
    pub function_id: u16,
}

impl QueryHcaCapIn {
    /// This function's caps of `cap_type`.
    pub const fn new(cap_type: CapType, mode: CapMode) -> Self {
        Self {
            cap_type,
            mode,
            other_function: false,
            function_id: 0,
        }
    }

    /// Encodes.
    pub fn encode(&self) -> [u8; BASE_SIZE] {
        let op_mod = crate::ifc::caps::query_op_mod(self.cap_type, self.mode);
        let mut b = new_in::<BASE_SIZE>(Opcode::QUERY_HCA_CAP, op_mod);
        b[0x08] = u8::from(self.other_function) << 7;
        b[0x0A..0x0C].copy_from_slice(&self.function_id.to_be_bytes());
        b
    }

    /// Decodes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = check_in(buf, Opcode::QUERY_HCA_CAP, BASE_SIZE)?;
        let (cap_type, mode) = split_op_mod(h.op_mod);
        Ok(Self {
            cap_type,
            mode,
            other_function: OTHER_FUNCTION.get_bool(buf)?,
            function_id: FUNCTION_ID.get(buf)? as u16,
        })
    }
}

/// Encodes a successful QUERY_HCA_CAP output carrying `caps`.
pub fn query_hca_cap_out(caps: &HcaCap) -> Vec<u8> {
    let mut b = vec![0u8; QUERY_HCA_CAP_OUT_SIZE];
    let _ = OutHeader::OK.encode_into(&mut b);
    b[CAPABILITY_OFFSET..].copy_from_slice(caps.as_bytes());
    b
}

/// Decodes a QUERY_HCA_CAP output: the capability union.
pub fn decode_query_hca_cap_out(buf: &[u8]) -> Result<HcaCap> {
    need("QUERY_HCA_CAP output", buf, QUERY_HCA_CAP_OUT_SIZE)?;
    HcaCap::from_bytes(&buf[CAPABILITY_OFFSET..])
}

/// SET_HCA_CAP input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetHcaCapIn {
    /// Which capability page (op_mod = cap_type << 1).
    pub cap_type: CapType,
    /// Set another function's caps.
    pub other_function: bool,
    /// That function's id.
    pub function_id: u16,
    /// The capability values.
    pub caps: HcaCap,
}

impl SetHcaCapIn {
    /// Encodes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; SET_HCA_CAP_IN_SIZE];
        let op_mod = crate::ifc::caps::set_op_mod(self.cap_type);
        let _ = crate::ifc::header::InHeader::new(Opcode::SET_HCA_CAP, op_mod).encode_into(&mut b);
        b[0x08] = u8::from(self.other_function) << 7;
        b[0x0A..0x0C].copy_from_slice(&self.function_id.to_be_bytes());
        b[CAPABILITY_OFFSET..].copy_from_slice(self.caps.as_bytes());
        b
    }

    /// Decodes; op_mod bit 0 must be 0.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = check_in(buf, Opcode::SET_HCA_CAP, SET_HCA_CAP_IN_SIZE)?;
        if h.op_mod & 1 != 0 {
            return Err(Error::BadValue {
                what: "SET_HCA_CAP op_mod",
                value: u64::from(h.op_mod),
                expected: "cap_type << 1 (bit 0 clear)",
            });
        }
        Ok(Self {
            cap_type: CapType(h.op_mod >> 1),
            other_function: OTHER_FUNCTION.get_bool(buf)?,
            function_id: FUNCTION_ID.get(buf)? as u16,
            caps: HcaCap::from_bytes(&buf[CAPABILITY_OFFSET..])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_set_round_trip() {
        let q = QueryHcaCapIn::new(CapType::GENERAL, CapMode::Current);
        let b = q.encode();
        assert_eq!(&b[..8], &[0x01, 0x00, 0, 0, 0, 0, 0, 1]);
        assert_eq!(QueryHcaCapIn::decode(&b), Ok(q));

        let mut caps = HcaCap::zeroed();
        caps.set_log_max_eq(4).unwrap();
        caps.set_cmdif_checksum(0).unwrap();
        caps.set_num_ports(1).unwrap();
        let out = query_hca_cap_out(&caps);
        assert_eq!(out.len(), 4112);
        assert_eq!(out[0x10 + 0x1F], 4);
        assert_eq!(decode_query_hca_cap_out(&out), Ok(caps.clone()));
        assert!(decode_query_hca_cap_out(&out[..4111]).is_err());

        let s = SetHcaCapIn {
            cap_type: CapType::GENERAL,
            other_function: false,
            function_id: 0,
            caps,
        };
        let sb = s.encode();
        assert_eq!(&sb[..8], &[0x01, 0x09, 0, 0, 0, 0, 0, 0]);
        assert_eq!(SetHcaCapIn::decode(&sb), Ok(s));
        let mut odd = sb.clone();
        odd[7] = 1;
        assert!(SetHcaCapIn::decode(&odd).is_err());
    }
}
