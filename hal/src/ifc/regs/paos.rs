//! PAOS (0x5006), port administrative and operational status
//! (`mlx5_ifc_paos_reg_bits`, 16 bytes).
//!
//! dw0: swid 31:24, local_port 23:16, admin_status 11:8, oper_status 3:0.
//! dw1: ase (admin status enable: the write changes admin_status) bit 31,
//! ee (event enable: the write changes `e`) bit 30, e (event generation) 1:0.

use crate::ifc::error::{Error, Result};
use crate::ifc::field::{need, Field};

/// Register size.
pub const LEN: usize = 16;
/// `swid`.
pub const SWID: Field = Field::new("swid", 0x00, 24, 8);
/// `local_port` (1-based).
pub const LOCAL_PORT: Field = Field::new("local_port", 0x00, 16, 8);
/// `admin_status`.
pub const ADMIN_STATUS: Field = Field::new("admin_status", 0x00, 8, 4);
/// `oper_status` (read-only).
pub const OPER_STATUS: Field = Field::new("oper_status", 0x00, 0, 4);
/// `ase`: apply `admin_status` on write.
pub const ASE: Field = Field::new("ase", 0x04, 31, 1);
/// `ee`: apply `e` on write.
pub const EE: Field = Field::new("ee", 0x04, 30, 1);
/// `e`: event generation (0 none, 1 generate, 2 generate once).
pub const E: Field = Field::new("e", 0x04, 0, 2);

/// Administrative status values (`MLX5_PORT_UP`/`MLX5_PORT_DOWN`, PRM up-once).
pub mod admin {
    /// Up.
    pub const UP: u8 = 1;
    /// Down.
    pub const DOWN: u8 = 2;
    /// Up once (until the link goes down).
    pub const UP_ONCE: u8 = 3;
}

/// Operational status values.
pub mod oper {
    /// Up.
    pub const UP: u8 = 1;
    /// Down.
    pub const DOWN: u8 = 2;
    /// Down by port failure.
    pub const DOWN_BY_PORT_FAILURE: u8 = 4;
}

/// The PAOS register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paos {
    /// Switch partition (0 on a NIC).
    pub swid: u8,
    /// Port number.
    pub local_port: u8,
    /// Administrative status (see [`admin`]).
    pub admin_status: u8,
    /// Operational status (see [`oper`]).
    pub oper_status: u8,
    /// Admin status enable.
    pub ase: bool,
    /// Event enable.
    pub ee: bool,
    /// Event generation mode.
    pub e: u8,
}

impl Paos {
    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        SWID.set(&mut b, u64::from(self.swid))?;
        LOCAL_PORT.set(&mut b, u64::from(self.local_port))?;
        ADMIN_STATUS.set(&mut b, u64::from(self.admin_status))?;
        OPER_STATUS.set(&mut b, u64::from(self.oper_status))?;
        ASE.set_bool(&mut b, self.ase)?;
        EE.set_bool(&mut b, self.ee)?;
        E.set(&mut b, u64::from(self.e))?;
        Ok(b)
    }

    /// Decodes the first 16 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("PAOS", buf, LEN)?;
        Ok(Self {
            swid: SWID.get(buf)? as u8,
            local_port: LOCAL_PORT.get(buf)? as u8,
            admin_status: ADMIN_STATUS.get(buf)? as u8,
            oper_status: OPER_STATUS.get(buf)? as u8,
            ase: ASE.get_bool(buf)?,
            ee: EE.get_bool(buf)?,
            e: E.get(buf)? as u8,
        })
    }

    /// Checks `admin_status` for a write with `ase` set: 1, 2 or 3.
    pub fn check_admin(&self) -> Result<()> {
        match self.admin_status {
            admin::UP | admin::DOWN | admin::UP_ONCE => Ok(()),
            v => Err(Error::BadValue {
                what: "PAOS admin_status",
                value: u64::from(v),
                expected: "1 (up), 2 (down) or 3 (up once)",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paos_round_trip() {
        let p = Paos {
            swid: 0,
            local_port: 1,
            admin_status: admin::UP,
            oper_status: oper::DOWN,
            ase: true,
            ee: false,
            e: 1,
        };
        let b = p.encode().unwrap();
        assert_eq!(&b[..8], &[0, 1, 0x01, 0x02, 0x80, 0, 0, 0x01]);
        assert_eq!(Paos::decode(&b), Ok(p));
        assert!(p.check_admin().is_ok());
        assert!(Paos {
            admin_status: 0,
            ..p
        }
        .check_admin()
        .is_err());
        assert!(Paos {
            admin_status: 16,
            ..p
        }
        .encode()
        .is_err());
        assert!(Paos::decode(&b[..15]).is_err());
    }
}
