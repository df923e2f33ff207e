//! MCQI (0x9061), management component query information (`mlx5_ifc_mcqi_reg_bits`
//! and its data union; `mlx5_reg_mcqi_query` in fw.c).
//!
//! Header (0x18 bytes): dw0 read_pending_component bit 31 (1 = the stored,
//! pending image; 0 = the running one), component_index 15:0; dw2 info_type 4:0;
//! dw3 info_size; dw4 offset; dw5 data_size 15:0. The data starts at 0x18 and
//! is one of: capabilities (`mcqi_cap`, 20 bytes), version (`mcqi_version`, 124
//! bytes), activation method (4 bytes). The kernel reads with
//! `data_size = sizeof(data type)` and a register of 0x18 + data_size bytes.

use crate::ifc::error::{Error, Result};
use crate::ifc::field::{get_bytes, need, put_bytes, Field};

/// Size of the MCQI header, before the data.
pub const HEADER_LEN: usize = 0x18;
/// `read_pending_component`.
pub const READ_PENDING_COMPONENT: Field = Field::new("read_pending_component", 0x00, 31, 1);
/// `component_index`.
pub const COMPONENT_INDEX: Field = Field::new("component_index", 0x00, 0, 16);
/// `info_type`.
pub const INFO_TYPE: Field = Field::new("info_type", 0x08, 0, 5);
/// `info_size`: total size of the information.
pub const INFO_SIZE: Field = Field::be32_at("info_size", 0x0C);
/// `offset` into the information.
pub const OFFSET: Field = Field::be32_at("offset", 0x10);
/// `data_size` of this read.
pub const DATA_SIZE: Field = Field::new("data_size", 0x14, 0, 16);

/// `info_type` values (`MCQI_INFO_TYPE_*`, fw.c).
pub mod info_type {
    /// Capabilities (`mcqi_cap`).
    pub const CAPABILITIES: u8 = 0x0;
    /// Version (`mcqi_version`).
    pub const VERSION: u8 = 0x1;
    /// Activation method.
    pub const ACTIVATION_METHOD: u8 = 0x5;
}

/// `mcqi_cap` size.
pub const CAP_LEN: usize = 0x14;
/// Cap `supported_info_bitmask` (data offset 0x00).
pub const CAP_SUPPORTED_INFO_BITMASK: Field = Field::be32_at("supported_info_bitmask", 0x00);
/// Cap `component_size` (0x04).
pub const CAP_COMPONENT_SIZE: Field = Field::be32_at("component_size", 0x04);
/// Cap `max_component_size` (0x08).
pub const CAP_MAX_COMPONENT_SIZE: Field = Field::be32_at("max_component_size", 0x08);
/// Cap `log_mcda_word_size` (dw 0x0C, 31:28): MCDA data alignment.
pub const CAP_LOG_MCDA_WORD_SIZE: Field = Field::new("log_mcda_word_size", 0x0C, 28, 4);
/// Cap `mcda_max_write_size` (dw 0x0C, 15:0): the most bytes per MCDA write.
pub const CAP_MCDA_MAX_WRITE_SIZE: Field = Field::new("mcda_max_write_size", 0x0C, 0, 16);
/// Cap `rd_en` (dw 0x10 bit 31): the component can be read back.
pub const CAP_RD_EN: Field = Field::new("rd_en", 0x10, 31, 1);
/// Cap `match_psid` (dw 0x10 bit 28).
pub const CAP_MATCH_PSID: Field = Field::new("match_psid", 0x10, 28, 1);

/// `mcqi_version` size.
pub const VERSION_LEN: usize = 0x7C;
/// Version `build_time_valid` (dw0 bit 29).
pub const VERSION_BUILD_TIME_VALID: Field = Field::new("build_time_valid", 0x00, 29, 1);
/// Version `user_defined_time_valid` (dw0 bit 28).
pub const VERSION_USER_DEFINED_TIME_VALID: Field =
    Field::new("user_defined_time_valid", 0x00, 28, 1);
/// Version `version_string_length` (dw0 7:0).
pub const VERSION_STRING_LENGTH: Field = Field::new("version_string_length", 0x00, 0, 8);
/// Version `version` (BE32 at 0x04): packed, for FW `major << 24 | minor << 16 | subminor`
/// (`mlx5_fw_ver_major` & co in fw.c).
pub const VERSION_VERSION: Field = Field::be32_at("version", 0x04);
/// Version `build_time` (BE64 at 0x08).
pub const VERSION_BUILD_TIME: Field = Field::be64_at("build_time", 0x08);
/// Version `user_defined_time` (BE64 at 0x10).
pub const VERSION_USER_DEFINED_TIME: Field = Field::be64_at("user_defined_time", 0x10);
/// Version `build_tool_version` (BE32 at 0x18).
pub const VERSION_BUILD_TOOL_VERSION: Field = Field::be32_at("build_tool_version", 0x18);
/// Byte offset of `version_string[92]`.
pub const VERSION_STRING: usize = 0x20;
/// Length of `version_string`.
pub const VERSION_STRING_MAX: usize = 92;

/// The MCQI header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct McqiHeader {
    /// Read the pending (stored) image instead of the running one.
    pub read_pending_component: bool,
    /// Component index (from MCQS).
    pub component_index: u16,
    /// What to read (see [`info_type`]).
    pub info_type: u8,
    /// Total size of the information (FW fills it).
    pub info_size: u32,
    /// Offset into the information.
    pub offset: u32,
    /// Bytes of data in this access.
    pub data_size: u16,
}

impl McqiHeader {
    /// Encodes into the first 0x18 bytes of `buf`.
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<()> {
        need("MCQI", buf, HEADER_LEN)?;
        buf[..HEADER_LEN].fill(0);
        READ_PENDING_COMPONENT.set_bool(buf, self.read_pending_component)?;
        COMPONENT_INDEX.set(buf, u64::from(self.component_index))?;
        INFO_TYPE.set(buf, u64::from(self.info_type))?;
        INFO_SIZE.set(buf, u64::from(self.info_size))?;
        OFFSET.set(buf, u64::from(self.offset))?;
        DATA_SIZE.set(buf, u64::from(self.data_size))
    }

    /// Decodes an answer; checks that the `data_size` bytes follow the header.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let h = Self::decode_header(buf)?;
        need("MCQI data", buf, HEADER_LEN + usize::from(h.data_size))?;
        Ok(h)
    }

    /// Decodes a request: the header alone. `data` is a flexible array in
    /// `mlx5_ifc_mcqi_reg_bits`, so the kernel sends 0x18 bytes and leaves the
    /// `data_size` bytes to the output.
    pub fn decode_header(buf: &[u8]) -> Result<Self> {
        need("MCQI", buf, HEADER_LEN)?;
        Ok(Self {
            read_pending_component: READ_PENDING_COMPONENT.get_bool(buf)?,
            component_index: COMPONENT_INDEX.get(buf)? as u16,
            info_type: INFO_TYPE.get(buf)? as u8,
            info_size: INFO_SIZE.get32(buf)?,
            offset: OFFSET.get32(buf)?,
            data_size: DATA_SIZE.get(buf)? as u16,
        })
    }

    /// A read request for `info_type` with room for `data_size` bytes: returns the
    /// whole register (header + zeroed data).
    pub fn request(
        component_index: u16,
        read_pending: bool,
        info_type: u8,
        data_size: u16,
    ) -> Result<Vec<u8>> {
        let h = Self {
            read_pending_component: read_pending,
            component_index,
            info_type,
            info_size: 0,
            offset: 0,
            data_size,
        };
        let mut b = vec![0u8; HEADER_LEN + usize::from(data_size)];
        h.encode_into(&mut b)?;
        Ok(b)
    }
}

/// The `mcqi_cap` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct McqiCap {
    /// Bit n set = info_type n supported.
    pub supported_info_bitmask: u32,
    /// Size of the component.
    pub component_size: u32,
    /// Largest component accepted.
    pub max_component_size: u32,
    /// log2 of the MCDA word size.
    pub log_mcda_word_size: u8,
    /// Most bytes per MCDA write.
    pub mcda_max_write_size: u16,
    /// Component can be read back.
    pub rd_en: bool,
    /// FW checks the PSID of the image.
    pub match_psid: bool,
}

impl McqiCap {
    /// Encodes the 20-byte data part.
    pub fn encode(&self) -> Result<[u8; CAP_LEN]> {
        let mut b = [0u8; CAP_LEN];
        CAP_SUPPORTED_INFO_BITMASK.set(&mut b, u64::from(self.supported_info_bitmask))?;
        CAP_COMPONENT_SIZE.set(&mut b, u64::from(self.component_size))?;
        CAP_MAX_COMPONENT_SIZE.set(&mut b, u64::from(self.max_component_size))?;
        CAP_LOG_MCDA_WORD_SIZE.set(&mut b, u64::from(self.log_mcda_word_size))?;
        CAP_MCDA_MAX_WRITE_SIZE.set(&mut b, u64::from(self.mcda_max_write_size))?;
        CAP_RD_EN.set_bool(&mut b, self.rd_en)?;
        CAP_MATCH_PSID.set_bool(&mut b, self.match_psid)?;
        Ok(b)
    }

    /// Decodes the data part (at least 20 bytes).
    pub fn decode(data: &[u8]) -> Result<Self> {
        need("mcqi_cap", data, CAP_LEN)?;
        Ok(Self {
            supported_info_bitmask: CAP_SUPPORTED_INFO_BITMASK.get32(data)?,
            component_size: CAP_COMPONENT_SIZE.get32(data)?,
            max_component_size: CAP_MAX_COMPONENT_SIZE.get32(data)?,
            log_mcda_word_size: CAP_LOG_MCDA_WORD_SIZE.get(data)? as u8,
            mcda_max_write_size: CAP_MCDA_MAX_WRITE_SIZE.get(data)? as u16,
            rd_en: CAP_RD_EN.get_bool(data)?,
            match_psid: CAP_MATCH_PSID.get_bool(data)?,
        })
    }
}

/// The `mcqi_version` data: a component version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct McqiVersion {
    /// `build_time` is valid.
    pub build_time_valid: bool,
    /// `user_defined_time` is valid.
    pub user_defined_time_valid: bool,
    /// Packed version number.
    pub version: u32,
    /// Build time.
    pub build_time: u64,
    /// User-defined time.
    pub user_defined_time: u64,
    /// Build tool version.
    pub build_tool_version: u32,
    /// Version string (at most 92 bytes).
    pub version_string: String,
}

impl McqiVersion {
    /// Encodes the 124-byte data part; fails if the string is longer than 92 bytes.
    pub fn encode(&self) -> Result<[u8; VERSION_LEN]> {
        let s = self.version_string.as_bytes();
        if s.len() > VERSION_STRING_MAX {
            return Err(Error::BadValue {
                what: "version_string",
                value: s.len() as u64,
                expected: "at most 92 bytes",
            });
        }
        let mut b = [0u8; VERSION_LEN];
        VERSION_BUILD_TIME_VALID.set_bool(&mut b, self.build_time_valid)?;
        VERSION_USER_DEFINED_TIME_VALID.set_bool(&mut b, self.user_defined_time_valid)?;
        VERSION_STRING_LENGTH.set(&mut b, s.len() as u64)?;
        VERSION_VERSION.set(&mut b, u64::from(self.version))?;
        VERSION_BUILD_TIME.set(&mut b, self.build_time)?;
        VERSION_USER_DEFINED_TIME.set(&mut b, self.user_defined_time)?;
        VERSION_BUILD_TOOL_VERSION.set(&mut b, u64::from(self.build_tool_version))?;
        put_bytes("version_string", &mut b, VERSION_STRING, s)?;
        Ok(b)
    }

    /// Decodes the data part (at least 124 bytes); the string is
    /// `version_string_length` bytes (capped at 92), lossy UTF-8.
    pub fn decode(data: &[u8]) -> Result<Self> {
        need("mcqi_version", data, VERSION_LEN)?;
        let raw: [u8; VERSION_STRING_MAX] = get_bytes("version_string", data, VERSION_STRING)?;
        let n = (VERSION_STRING_LENGTH.get(data)? as usize).min(VERSION_STRING_MAX);
        Ok(Self {
            build_time_valid: VERSION_BUILD_TIME_VALID.get_bool(data)?,
            user_defined_time_valid: VERSION_USER_DEFINED_TIME_VALID.get_bool(data)?,
            version: VERSION_VERSION.get32(data)?,
            build_time: VERSION_BUILD_TIME.get(data)?,
            user_defined_time: VERSION_USER_DEFINED_TIME.get(data)?,
            build_tool_version: VERSION_BUILD_TOOL_VERSION.get32(data)?,
            version_string: String::from_utf8_lossy(&raw[..n]).into_owned(),
        })
    }
}

/// MCQS component identifiers (`MCQS_IDENTIFIER_*`, fw.c): which component an
/// index names. The boot image (the FW) is 0x1.
pub mod identifier {
    /// Boot image (the firmware).
    pub const BOOT_IMG: u16 = 0x1;
    /// OEM NVCONFIG.
    pub const OEM_NVCONFIG: u16 = 0x4;
    /// MLNX NVCONFIG.
    pub const MLNX_NVCONFIG: u16 = 0x5;
    /// CS token.
    pub const CS_TOKEN: u16 = 0x6;
    /// Debug token.
    pub const DBG_TOKEN: u16 = 0x7;
    /// Gearbox.
    pub const GEARBOX: u16 = 0xA;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_cap_version_round_trip() {
        let r = McqiHeader::request(3, true, info_type::VERSION, VERSION_LEN as u16).unwrap();
        assert_eq!(r.len(), 0x18 + 0x7C);
        assert_eq!(&r[..4], &[0x80, 0, 0, 3]);
        assert_eq!(r[0x0B], 1);
        assert_eq!(&r[0x14..0x18], &[0, 0, 0, 0x7C]);
        let h = McqiHeader::decode(&r).unwrap();
        assert_eq!((h.component_index, h.info_type, h.data_size), (3, 1, 0x7C));
        assert!(
            McqiHeader::decode(&r[..0x18 + 0x7B]).is_err(),
            "data_size bytes must follow in an answer"
        );
        assert_eq!(
            McqiHeader::decode_header(&r[..0x18]).unwrap(),
            h,
            "a request is the header alone"
        );

        let c = McqiCap {
            supported_info_bitmask: 0b100011,
            component_size: 1 << 20,
            max_component_size: 1 << 24,
            log_mcda_word_size: 2,
            mcda_max_write_size: 128,
            rd_en: false,
            match_psid: true,
        };
        let cb = c.encode().unwrap();
        assert_eq!(&cb[0x0C..0x10], &[0x20, 0, 0, 128]);
        assert_eq!(McqiCap::decode(&cb), Ok(c));

        let v = McqiVersion {
            build_time_valid: true,
            version: (16 << 24) | (35 << 16) | 1000,
            version_string: "16.35.1000".into(),
            ..Default::default()
        };
        let vb = v.encode().unwrap();
        assert_eq!(vb[3], 10);
        assert_eq!(&vb[0x20..0x2A], b"16.35.1000");
        assert_eq!(McqiVersion::decode(&vb), Ok(v));
        assert!(McqiVersion {
            version_string: "x".repeat(93),
            ..Default::default()
        }
        .encode()
        .is_err());
    }
}
