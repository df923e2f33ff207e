//! Function and HCA life-cycle commands: ENABLE_HCA, DISABLE_HCA, QUERY_ISSI,
//! SET_ISSI, INIT_HCA, TEARDOWN_HCA, SET_DRIVER_VERSION, QUERY_ADAPTER, NOP
//! (`mlx5_ifc.h`; reference §5 steps 6-19 and the teardown paragraph).

use super::{check_in, new_in, new_out, BASE_SIZE};
use crate::ifc::error::{Error, Result};
use crate::ifc::field::{get_bytes, need, put_bytes, Field};
use crate::ifc::opcode::Opcode;

// ---- ENABLE_HCA / DISABLE_HCA (0x104 / 0x105), 16 B in, 12 B out ----

/// `embedded_cpu_function` (in dw2 bit 31): the command targets the ECPF.
pub const HCA_EMBEDDED_CPU_FUNCTION: Field = Field::new("embedded_cpu_function", 0x08, 31, 1);
/// `function_id` (in dw2 15:0): 0 = this function.
pub const HCA_FUNCTION_ID: Field = Field::new("function_id", 0x08, 0, 16);

/// ENABLE_HCA / DISABLE_HCA input (the two share one layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunctionIn {
    /// Target the embedded-CPU function.
    pub embedded_cpu_function: bool,
    /// Function id (0 = self).
    pub function_id: u16,
}

impl FunctionIn {
    /// Encodes as ENABLE_HCA (`enable`) or DISABLE_HCA.
    pub fn encode(&self, enable: bool) -> [u8; BASE_SIZE] {
        let op = if enable {
            Opcode::ENABLE_HCA
        } else {
            Opcode::DISABLE_HCA
        };
        let mut b = new_in::<BASE_SIZE>(op, 0);
        b[0x08] = (u8::from(self.embedded_cpu_function)) << 7;
        b[0x0A..0x0C].copy_from_slice(&self.function_id.to_be_bytes());
        b
    }

    /// Decodes an ENABLE_HCA (`enable`) or DISABLE_HCA input.
    pub fn decode(buf: &[u8], enable: bool) -> Result<Self> {
        let op = if enable {
            Opcode::ENABLE_HCA
        } else {
            Opcode::DISABLE_HCA
        };
        check_in(buf, op, BASE_SIZE)?;
        Ok(Self {
            embedded_cpu_function: HCA_EMBEDDED_CPU_FUNCTION.get_bool(buf)?,
            function_id: HCA_FUNCTION_ID.get(buf)? as u16,
        })
    }
}

/// A successful header-only output (ENABLE/DISABLE_HCA, SET_ISSI, INIT_HCA,
/// SET_HCA_CAP, SET_DRIVER_VERSION, NOP, DESTROY_EQ, DEALLOC_UAR...).
pub fn ok_out() -> [u8; BASE_SIZE] {
    new_out::<BASE_SIZE>()
}

// ---- QUERY_ISSI (0x10A): 16 B in, 112 B out ----

/// QUERY_ISSI output size (needs one output mailbox).
pub const QUERY_ISSI_OUT_SIZE: usize = 0x70;
/// `current_issi` (out BE16 at 0x0A).
pub const QUERY_ISSI_CURRENT: Field = Field::be16_at("current_issi", 0x0A);
/// `supported_issi_dw0` (out BE32 at 0x6C): bit n set = ISSI n supported.
pub const QUERY_ISSI_SUPPORTED_DW0: Field = Field::be32_at("supported_issi_dw0", 0x6C);

/// QUERY_ISSI input.
pub fn query_issi_in() -> [u8; BASE_SIZE] {
    new_in::<BASE_SIZE>(Opcode::QUERY_ISSI, 0)
}

/// QUERY_ISSI output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryIssiOut {
    /// The ISSI in use.
    pub current_issi: u16,
    /// Bitmask of supported ISSIs (first dword of the 80-byte bitmask).
    pub supported_issi_dw0: u32,
}

impl QueryIssiOut {
    /// Encodes a successful output.
    pub fn encode(&self) -> [u8; QUERY_ISSI_OUT_SIZE] {
        let mut b = new_out::<QUERY_ISSI_OUT_SIZE>();
        b[0x0A..0x0C].copy_from_slice(&self.current_issi.to_be_bytes());
        b[0x6C..0x70].copy_from_slice(&self.supported_issi_dw0.to_be_bytes());
        b
    }

    /// Decodes an output.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("QUERY_ISSI output", buf, QUERY_ISSI_OUT_SIZE)?;
        Ok(Self {
            current_issi: QUERY_ISSI_CURRENT.get(buf)? as u16,
            supported_issi_dw0: QUERY_ISSI_SUPPORTED_DW0.get32(buf)?,
        })
    }

    /// The ISSI the kernel picks: 1 if bit 1 is supported, else 0 (`mlx5_core_set_issi`).
    pub const fn chosen_issi(&self) -> u16 {
        if self.supported_issi_dw0 & (1 << 1) != 0 {
            1
        } else {
            0
        }
    }
}

// ---- SET_ISSI (0x10B): 16 B in, 16 B out ----

/// `current_issi` (in BE16 at 0x0A).
pub const SET_ISSI_CURRENT: Field = Field::be16_at("current_issi", 0x0A);

/// SET_ISSI input.
pub fn set_issi_in(issi: u16) -> [u8; BASE_SIZE] {
    let mut b = new_in::<BASE_SIZE>(Opcode::SET_ISSI, 0);
    b[0x0A..0x0C].copy_from_slice(&issi.to_be_bytes());
    b
}

/// Decodes a SET_ISSI input: the requested ISSI.
pub fn decode_set_issi_in(buf: &[u8]) -> Result<u16> {
    check_in(buf, Opcode::SET_ISSI, BASE_SIZE)?;
    Ok(SET_ISSI_CURRENT.get(buf)? as u16)
}

// ---- INIT_HCA (0x102): 32 B in, 16 B out ----

/// INIT_HCA input size (with `sw_owner_id`).
pub const INIT_HCA_IN_SIZE: usize = 0x20;
/// `sw_vhca_id` (in dw3 29:16).
pub const INIT_HCA_SW_VHCA_ID: Field = Field::new("sw_vhca_id", 0x0C, 16, 14);
/// Byte offset of `sw_owner_id[4]` (four BE32, used if cap `sw_owner_id`).
pub const INIT_HCA_SW_OWNER_ID: usize = 0x10;

/// INIT_HCA input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitHcaIn {
    /// Software vHCA id (14 bits).
    pub sw_vhca_id: u16,
    /// Software owner id (128 bits).
    pub sw_owner_id: [u32; 4],
}

impl InitHcaIn {
    /// Encodes; fails if `sw_vhca_id` does not fit 14 bits.
    pub fn encode(&self) -> Result<[u8; INIT_HCA_IN_SIZE]> {
        let mut b = new_in::<INIT_HCA_IN_SIZE>(Opcode::INIT_HCA, 0);
        INIT_HCA_SW_VHCA_ID.set(&mut b, u64::from(self.sw_vhca_id))?;
        for (i, w) in self.sw_owner_id.iter().enumerate() {
            let o = INIT_HCA_SW_OWNER_ID + 4 * i;
            b[o..o + 4].copy_from_slice(&w.to_be_bytes());
        }
        Ok(b)
    }

    /// Decodes. A 16-byte input (older kernels, no `sw_owner_id`) is accepted
    /// with a zero owner id.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        check_in(buf, Opcode::INIT_HCA, BASE_SIZE)?;
        let mut sw_owner_id = [0u32; 4];
        if buf.len() >= INIT_HCA_IN_SIZE {
            for (i, w) in sw_owner_id.iter_mut().enumerate() {
                *w = Field::be32_at("sw_owner_id", INIT_HCA_SW_OWNER_ID + 4 * i).get32(buf)?;
            }
        }
        Ok(Self {
            sw_vhca_id: INIT_HCA_SW_VHCA_ID.get(buf)? as u16,
            sw_owner_id,
        })
    }
}

// ---- TEARDOWN_HCA (0x103): 16 B in, 16 B out ----

/// `profile` (in BE16 at 0x0A).
pub const TEARDOWN_PROFILE: Field = Field::be16_at("profile", 0x0A);
/// `state` (out byte 0x0F bit 0; `force_state` in older kernels): 1 = FAIL.
pub const TEARDOWN_STATE: Field = Field::new("state", 0x0C, 0, 1);

/// TEARDOWN_HCA profiles (`MLX5_TEARDOWN_HCA_IN_PROFILE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeardownProfile {
    /// 0: graceful close.
    GracefulClose = 0,
    /// 1: force close (sent in polling mode).
    ForceClose = 1,
    /// 2: prepare fast teardown (then nic_interface = DISABLED).
    PrepareFastTeardown = 2,
}

impl TeardownProfile {
    /// Decodes the profile field.
    pub fn from_raw(v: u16) -> Result<Self> {
        match v {
            0 => Ok(Self::GracefulClose),
            1 => Ok(Self::ForceClose),
            2 => Ok(Self::PrepareFastTeardown),
            _ => Err(Error::BadValue {
                what: "teardown profile",
                value: u64::from(v),
                expected: "0, 1 or 2",
            }),
        }
    }
}

/// TEARDOWN_HCA input.
pub fn teardown_hca_in(profile: TeardownProfile) -> [u8; BASE_SIZE] {
    let mut b = new_in::<BASE_SIZE>(Opcode::TEARDOWN_HCA, 0);
    b[0x0A..0x0C].copy_from_slice(&(profile as u16).to_be_bytes());
    b
}

/// Decodes a TEARDOWN_HCA input: the profile.
pub fn decode_teardown_hca_in(buf: &[u8]) -> Result<TeardownProfile> {
    check_in(buf, Opcode::TEARDOWN_HCA, BASE_SIZE)?;
    TeardownProfile::from_raw(TEARDOWN_PROFILE.get(buf)? as u16)
}

/// TEARDOWN_HCA output with `state` = FAIL (`fail`) or success.
pub fn teardown_hca_out(fail: bool) -> [u8; BASE_SIZE] {
    let mut b = new_out::<BASE_SIZE>();
    b[0x0F] = u8::from(fail);
    b
}

/// Decodes a TEARDOWN_HCA output: true if `state` = FAIL.
pub fn decode_teardown_hca_out(buf: &[u8]) -> Result<bool> {
    need("TEARDOWN_HCA output", buf, BASE_SIZE)?;
    TEARDOWN_STATE.get_bool(buf)
}

// ---- SET_DRIVER_VERSION (0x10D): 80 B in, 16 B out ----

/// SET_DRIVER_VERSION input size.
pub const SET_DRIVER_VERSION_IN_SIZE: usize = 0x50;
/// Byte offset of the 64-byte `driver_version` string.
pub const DRIVER_VERSION_OFFSET: usize = 0x10;
/// Length of the version string field.
pub const DRIVER_VERSION_LEN: usize = 64;

/// SET_DRIVER_VERSION input, e.g. "Linux,mlx5_core,6.8". The string must be
/// shorter than 64 bytes (it is NUL-terminated in the field).
pub fn set_driver_version_in(version: &str) -> Result<[u8; SET_DRIVER_VERSION_IN_SIZE]> {
    if version.len() >= DRIVER_VERSION_LEN {
        return Err(Error::BadValue {
            what: "driver_version",
            value: version.len() as u64,
            expected: "a string shorter than 64 bytes",
        });
    }
    let mut b = new_in::<SET_DRIVER_VERSION_IN_SIZE>(Opcode::SET_DRIVER_VERSION, 0);
    put_bytes(
        "driver_version",
        &mut b,
        DRIVER_VERSION_OFFSET,
        version.as_bytes(),
    )?;
    Ok(b)
}

/// Decodes a SET_DRIVER_VERSION input: the string up to the first NUL (lossy UTF-8).
pub fn decode_set_driver_version_in(buf: &[u8]) -> Result<String> {
    check_in(buf, Opcode::SET_DRIVER_VERSION, SET_DRIVER_VERSION_IN_SIZE)?;
    let raw: [u8; DRIVER_VERSION_LEN] = get_bytes("driver_version", buf, DRIVER_VERSION_OFFSET)?;
    let end = raw
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(DRIVER_VERSION_LEN);
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

// ---- QUERY_ADAPTER (0x101): 16 B in, 272 B out ----

/// QUERY_ADAPTER output size (header + 256-byte `query_adapter_param_block`).
pub const QUERY_ADAPTER_OUT_SIZE: usize = 0x110;
/// Byte offset of the parameter block in the output.
pub const QUERY_ADAPTER_PARAM_BLOCK: usize = 0x10;
/// `ieee_vendor_id` (param block dw 0x18, bits 23:0).
pub const ADAPTER_IEEE_VENDOR_ID: Field = Field::new("ieee_vendor_id", 0x18, 0, 24);
/// `vsd_vendor_id` (param block dw 0x1C, bits 15:0).
pub const ADAPTER_VSD_VENDOR_ID: Field = Field::new("vsd_vendor_id", 0x1C, 0, 16);
/// Byte offset of `vsd_contd_psid[16]` in the param block (the board PSID).
pub const ADAPTER_PSID: usize = 0xF0;

/// QUERY_ADAPTER input.
pub fn query_adapter_in() -> [u8; BASE_SIZE] {
    new_in::<BASE_SIZE>(Opcode::QUERY_ADAPTER, 0)
}

/// The fields of QUERY_ADAPTER's parameter block we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryAdapterOut {
    /// IEEE vendor id (OUI, 24 bits).
    pub ieee_vendor_id: u32,
    /// VSD vendor id.
    pub vsd_vendor_id: u16,
    /// Board PSID, NUL padded (e.g. "MT_0000000012").
    pub psid: [u8; 16],
}

impl QueryAdapterOut {
    /// Encodes a successful output; fails if `ieee_vendor_id` is wider than 24 bits.
    pub fn encode(&self) -> Result<[u8; QUERY_ADAPTER_OUT_SIZE]> {
        let mut b = new_out::<QUERY_ADAPTER_OUT_SIZE>();
        let pb = QUERY_ADAPTER_PARAM_BLOCK;
        ADAPTER_IEEE_VENDOR_ID
            .at(pb)
            .set(&mut b, u64::from(self.ieee_vendor_id))?;
        ADAPTER_VSD_VENDOR_ID
            .at(pb)
            .set(&mut b, u64::from(self.vsd_vendor_id))?;
        put_bytes("vsd_contd_psid", &mut b, pb + ADAPTER_PSID, &self.psid)?;
        Ok(b)
    }

    /// Decodes an output.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("QUERY_ADAPTER output", buf, QUERY_ADAPTER_OUT_SIZE)?;
        let pb = QUERY_ADAPTER_PARAM_BLOCK;
        Ok(Self {
            ieee_vendor_id: ADAPTER_IEEE_VENDOR_ID.at(pb).get32(buf)?,
            vsd_vendor_id: ADAPTER_VSD_VENDOR_ID.at(pb).get(buf)? as u16,
            psid: get_bytes("vsd_contd_psid", buf, pb + ADAPTER_PSID)?,
        })
    }

    /// The PSID as text, up to the first NUL.
    pub fn psid_str(&self) -> String {
        let end = self
            .psid
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.psid.len());
        String::from_utf8_lossy(&self.psid[..end]).into_owned()
    }
}

// ---- NOP (0x80D): 16 B in, 16 B out ----

/// NOP input.
pub fn nop_in() -> [u8; BASE_SIZE] {
    new_in::<BASE_SIZE>(Opcode::NOP, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_disable_round_trip() {
        let f = FunctionIn {
            embedded_cpu_function: true,
            function_id: 0x1234,
        };
        let b = f.encode(true);
        assert_eq!(&b[..4], &[0x01, 0x04, 0, 0]);
        assert_eq!(&b[8..12], &[0x80, 0, 0x12, 0x34]);
        assert_eq!(FunctionIn::decode(&b, true), Ok(f));
        assert!(FunctionIn::decode(&b, false).is_err(), "opcode mismatch");
        assert!(FunctionIn::decode(&b[..15], true).is_err());
    }

    #[test]
    fn issi_and_teardown() {
        let o = QueryIssiOut {
            current_issi: 0,
            supported_issi_dw0: 0b11,
        };
        let b = o.encode();
        assert_eq!(QueryIssiOut::decode(&b), Ok(o));
        assert_eq!(o.chosen_issi(), 1);
        assert_eq!(
            QueryIssiOut {
                supported_issi_dw0: 1,
                ..o
            }
            .chosen_issi(),
            0
        );
        assert_eq!(decode_set_issi_in(&set_issi_in(1)), Ok(1));
        let t = teardown_hca_in(TeardownProfile::PrepareFastTeardown);
        assert_eq!(
            decode_teardown_hca_in(&t),
            Ok(TeardownProfile::PrepareFastTeardown)
        );
        assert_eq!(decode_teardown_hca_out(&teardown_hca_out(true)), Ok(true));
        assert_eq!(teardown_hca_out(true)[0x0F], 1);
    }

    #[test]
    fn init_hca_and_driver_version() {
        let i = InitHcaIn {
            sw_vhca_id: 0x3FFF,
            sw_owner_id: [1, 2, 3, 4],
        };
        let b = i.encode().unwrap();
        assert_eq!(&b[0x0C..0x10], &[0x3F, 0xFF, 0, 0]);
        assert_eq!(&b[0x1C..0x20], &[0, 0, 0, 4]);
        assert_eq!(InitHcaIn::decode(&b), Ok(i));
        assert!(InitHcaIn {
            sw_vhca_id: 0x4000,
            ..i
        }
        .encode()
        .is_err());
        let v = set_driver_version_in("Linux,cxu,0.1").unwrap();
        assert_eq!(
            decode_set_driver_version_in(&v).as_deref(),
            Ok("Linux,cxu,0.1")
        );
        assert!(set_driver_version_in(&"x".repeat(64)).is_err());
    }

    #[test]
    fn query_adapter_round_trip() {
        let mut psid = [0u8; 16];
        psid[..13].copy_from_slice(b"MT_0000000012");
        let q = QueryAdapterOut {
            ieee_vendor_id: 0x0002C9,
            vsd_vendor_id: 0x15B3,
            psid,
        };
        let b = q.encode().unwrap();
        assert_eq!(&b[0x28..0x2C], &[0, 0x00, 0x02, 0xC9]);
        assert_eq!(&b[0x100..0x10D], b"MT_0000000012");
        let d = QueryAdapterOut::decode(&b).unwrap();
        assert_eq!(d, q);
        assert_eq!(d.psid_str(), "MT_0000000012");
    }
}
