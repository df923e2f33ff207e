//! HPKT (0x7003), host packet trap: per-trap action and trap group (Spectrum
//! layout from `mlxsw/reg.h`, `MLXSW_REG_HPKT_LEN` = 0x10).
//!
//! dw0: ack bit 24, action 22:20, trap_group 17:12, trap_id 9:0 (10 bits since
//! the 2020 widening; it was 9). dw1: ctrl 17:16.

use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};

/// Register size.
pub const LEN: usize = 0x10;
/// `ack` (not supported by Spectrum FW; kept zero).
pub const ACK: Field = Field::new("ack", 0x00, 24, 1);
/// `action`.
pub const ACTION: Field = Field::new("action", 0x00, 20, 3);
/// `trap_group`.
pub const TRAP_GROUP: Field = Field::new("trap_group", 0x00, 12, 6);
/// `trap_id` (index).
pub const TRAP_ID: Field = Field::new("trap_id", 0x00, 0, 10);
/// `ctrl`: control-packet buffer use (0 default, 1 no buffer, 2 use buffer).
pub const CTRL: Field = Field::new("ctrl", 0x04, 16, 2);

/// Trap actions (`enum mlxsw_reg_hpkt_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapAction {
    /// 0: forward (no trap).
    Forward = 0,
    /// 1: trap to CPU (the CPU receives the only copy).
    TrapToCpu = 1,
    /// 2: mirror to CPU (the CPU receives a copy).
    MirrorToCpu = 2,
    /// 3: discard.
    Discard = 3,
    /// 4: soft discard (other traps may still act).
    SoftDiscard = 4,
    /// 5: trap and soft discard.
    TrapAndSoftDiscard = 5,
}

impl TrapAction {
    /// Decodes the 3-bit action.
    pub fn from_raw(v: u8) -> Result<Self> {
        Ok(match v {
            0 => Self::Forward,
            1 => Self::TrapToCpu,
            2 => Self::MirrorToCpu,
            3 => Self::Discard,
            4 => Self::SoftDiscard,
            5 => Self::TrapAndSoftDiscard,
            _ => {
                return Err(Error::BadValue {
                    what: "HPKT action",
                    value: u64::from(v),
                    expected: "0..=5",
                })
            }
        })
    }
}

/// The HPKT register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hpkt {
    /// What to do with packets hitting the trap.
    pub action: TrapAction,
    /// The trap's group (see HTGT).
    pub trap_group: u8,
    /// The trap.
    pub trap_id: u16,
    /// Control buffer use.
    pub ctrl: u8,
}

impl Hpkt {
    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        ACTION.set(&mut b, self.action as u64)?;
        TRAP_GROUP.set(&mut b, u64::from(self.trap_group))?;
        TRAP_ID.set(&mut b, u64::from(self.trap_id))?;
        CTRL.set(&mut b, u64::from(self.ctrl))?;
        Ok(b)
    }

    /// Decodes the first 16 bytes; an undefined action is an error.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("HPKT", buf, LEN)?;
        Ok(Self {
            action: TrapAction::from_raw(ACTION.get(buf)? as u8)?,
            trap_group: TRAP_GROUP.get(buf)? as u8,
            trap_id: TRAP_ID.get(buf)? as u16,
            ctrl: CTRL.get(buf)? as u8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpkt_round_trip() {
        let h = Hpkt {
            action: TrapAction::TrapToCpu,
            trap_group: 0x3F,
            trap_id: 0x3FF,
            ctrl: 2,
        };
        let b = h.encode().unwrap();
        assert_eq!(&b[..8], &[0x00, 0x13, 0xF3, 0xFF, 0, 0x02, 0, 0]);
        assert_eq!(Hpkt::decode(&b), Ok(h));
        let mut bad = b;
        bad[1] = 0x70; // action 7
        assert!(Hpkt::decode(&bad).is_err());
        assert!(Hpkt {
            trap_id: 0x400,
            ..h
        }
        .encode()
        .is_err());
    }
}
