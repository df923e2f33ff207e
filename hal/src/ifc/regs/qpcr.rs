//! QPCR (0x4004), QoS policer configuration, with the policer's drop counter
//! (Spectrum layout from `mlxsw/reg.h`, `MLXSW_REG_QPCR_LEN` = 0x28).
//!
//! dw0: g 15:14 (2 = global, 3 = storm control), pid 13:0. dw1: clear_counter
//! bit 31, color_aware bit 15, bytes bit 14 (rate in bytes, else packets),
//! ir_units bit 12 (0 = 10^6, 1 = 10^3), rate_type 9:8 (1 single, 2 double).
//! dw2: cbs 29:24 (burst size, log2). dw3: cir (committed rate). dw4: eir.
//! dw5: exceed_action 3:0. dw6: violate_action 3:0 (1 discard, 2 forward).
//! 0x20: violate_count, BE64: packets that hit violate_action (the drop counter
//! devlink reports as policer drops).

use crate::ifc::error::Result;
use crate::ifc::field::{need, Field};

/// Register size.
pub const LEN: usize = 0x28;
/// `g`: policer scope.
pub const G: Field = Field::new("g", 0x00, 14, 2);
/// `pid`: policer id (index).
pub const PID: Field = Field::new("pid", 0x00, 0, 14);
/// `clear_counter`: clear `violate_count` (on write, or after read).
pub const CLEAR_COUNTER: Field = Field::new("clear_counter", 0x04, 31, 1);
/// `color_aware`.
pub const COLOR_AWARE: Field = Field::new("color_aware", 0x04, 15, 1);
/// `bytes`: rates count bytes (else packets).
pub const BYTES: Field = Field::new("bytes", 0x04, 14, 1);
/// `ir_units`: 0 = mega, 1 = kilo.
pub const IR_UNITS: Field = Field::new("ir_units", 0x04, 12, 1);
/// `rate_type`: 1 single rate, 2 double rate.
pub const RATE_TYPE: Field = Field::new("rate_type", 0x04, 8, 2);
/// `cbs`: committed burst size, log2 (packets or bytes).
pub const CBS: Field = Field::new("cbs", 0x08, 24, 6);
/// `cir`: committed information rate.
pub const CIR: Field = Field::be32_at("cir", 0x0C);
/// `eir`: excess information rate.
pub const EIR: Field = Field::be32_at("eir", 0x10);
/// `exceed_action`.
pub const EXCEED_ACTION: Field = Field::new("exceed_action", 0x14, 0, 4);
/// `violate_action`.
pub const VIOLATE_ACTION: Field = Field::new("violate_action", 0x18, 0, 4);
/// `violate_count`: the drop counter.
pub const VIOLATE_COUNT: Field = Field::be64_at("violate_count", 0x20);

/// `g` values.
pub mod scope {
    /// Global policer.
    pub const GLOBAL: u8 = 2;
    /// Storm control policer.
    pub const STORM_CONTROL: u8 = 3;
}

/// Rate types.
pub mod rate_type {
    /// Single rate.
    pub const SINGLE: u8 = 1;
    /// Double rate.
    pub const DOUBLE: u8 = 2;
}

/// Policer actions.
pub mod action {
    /// Discard.
    pub const DISCARD: u8 = 1;
    /// Forward.
    pub const FORWARD: u8 = 2;
}

/// Packet-rate limits of Spectrum (`MLXSW_REG_QPCR_LOWEST_CIR` / `HIGHEST_CIR`, `LOWEST_CBS` / `HIGHEST_CBS`).
pub mod limits {
    /// Lowest committed rate, packets/s.
    pub const LOWEST_CIR: u32 = 1;
    /// Highest committed rate, packets/s (2 Gpps).
    pub const HIGHEST_CIR: u32 = 2_000_000_000;
    /// Lowest burst, log2 packets.
    pub const LOWEST_CBS: u8 = 4;
    /// Highest burst, log2 packets.
    pub const HIGHEST_CBS: u8 = 24;
}

/// The QPCR register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Qpcr {
    /// Scope ([`scope`]).
    pub g: u8,
    /// Policer id.
    pub pid: u16,
    /// Clear the drop counter.
    pub clear_counter: bool,
    /// Color aware.
    pub color_aware: bool,
    /// Rates in bytes (else packets).
    pub bytes: bool,
    /// Rate units: false = 10^6, true = 10^3.
    pub ir_units_kilo: bool,
    /// Rate type ([`rate_type`]).
    pub rate_type: u8,
    /// Burst size, log2.
    pub cbs: u8,
    /// Committed rate.
    pub cir: u32,
    /// Excess rate.
    pub eir: u32,
    /// Exceed action.
    pub exceed_action: u8,
    /// Violate action ([`action`]).
    pub violate_action: u8,
    /// Drop counter.
    pub violate_count: u64,
}

impl Qpcr {
    /// A global single-rate packet policer that discards, as mlxsw packs it for
    /// trap policers (`mlxsw_reg_qpcr_pack` with `bytes` false).
    pub fn packet_policer(pid: u16, rate_pps: u32, burst_log2: u8) -> Self {
        Self {
            g: scope::GLOBAL,
            pid,
            rate_type: rate_type::SINGLE,
            violate_action: action::DISCARD,
            cir: rate_pps,
            cbs: burst_log2,
            ..Self::default()
        }
    }

    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        G.set(&mut b, u64::from(self.g))?;
        PID.set(&mut b, u64::from(self.pid))?;
        CLEAR_COUNTER.set_bool(&mut b, self.clear_counter)?;
        COLOR_AWARE.set_bool(&mut b, self.color_aware)?;
        BYTES.set_bool(&mut b, self.bytes)?;
        IR_UNITS.set_bool(&mut b, self.ir_units_kilo)?;
        RATE_TYPE.set(&mut b, u64::from(self.rate_type))?;
        CBS.set(&mut b, u64::from(self.cbs))?;
        CIR.set(&mut b, u64::from(self.cir))?;
        EIR.set(&mut b, u64::from(self.eir))?;
        EXCEED_ACTION.set(&mut b, u64::from(self.exceed_action))?;
        VIOLATE_ACTION.set(&mut b, u64::from(self.violate_action))?;
        VIOLATE_COUNT.set(&mut b, self.violate_count)?;
        Ok(b)
    }

    /// Decodes the first 40 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("QPCR", buf, LEN)?;
        Ok(Self {
            g: G.get(buf)? as u8,
            pid: PID.get(buf)? as u16,
            clear_counter: CLEAR_COUNTER.get_bool(buf)?,
            color_aware: COLOR_AWARE.get_bool(buf)?,
            bytes: BYTES.get_bool(buf)?,
            ir_units_kilo: IR_UNITS.get_bool(buf)?,
            rate_type: RATE_TYPE.get(buf)? as u8,
            cbs: CBS.get(buf)? as u8,
            cir: CIR.get32(buf)?,
            eir: EIR.get32(buf)?,
            exceed_action: EXCEED_ACTION.get(buf)? as u8,
            violate_action: VIOLATE_ACTION.get(buf)? as u8,
            violate_count: VIOLATE_COUNT.get(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qpcr_round_trip() {
        let mut q = Qpcr::packet_policer(0x3FFF, 1000, 10);
        q.violate_count = 0x0000_0001_0000_0002;
        q.clear_counter = true;
        let b = q.encode().unwrap();
        assert_eq!(&b[..12], &[0, 0, 0xBF, 0xFF, 0x80, 0, 0x01, 0, 10, 0, 0, 0]);
        assert_eq!(&b[0x0C..0x10], &1000u32.to_be_bytes());
        assert_eq!(b[0x1B], action::DISCARD);
        assert_eq!(&b[0x20..0x28], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(Qpcr::decode(&b), Ok(q));
        assert!(Qpcr { pid: 0x4000, ..q }.encode().is_err());
        assert!(Qpcr { cbs: 64, ..q }.encode().is_err());
        assert!(Qpcr::decode(&b[..39]).is_err());
    }
}
