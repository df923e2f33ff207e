//! PPCNT (0x5008), port counters (`mlx5_ifc_ppcnt_reg_bits`, 256 bytes).
//!
//! dw0: swid 31:24, local_port 23:16, pnat 15:14, grp 5:0. dw1: clr bit 31
//! (clear after read), plane_ind 11:8, prio_tc 4:0 (recent kernels; older ones
//! had a 3-bit prio_tc). The counter set (248 bytes) starts at 0x08; every
//! counter is a `_high`/`_low` dword pair, i.e. a BE64. We lay out the IEEE 802.3
//! group (grp 0, `eth_802_3_cntrs_grp_data_layout`); other groups read as 31 raw
//! BE64 counters.

use crate::ifc::error::Result;
use crate::ifc::field::{need, Field};

/// Register size.
pub const LEN: usize = 0x100;
/// Byte offset of the counter set.
pub const COUNTER_SET: usize = 0x08;
/// 64-bit counters in the 248-byte counter set.
pub const COUNTER_SLOTS: usize = 31;
/// `swid`.
pub const SWID: Field = Field::new("swid", 0x00, 24, 8);
/// `local_port`.
pub const LOCAL_PORT: Field = Field::new("local_port", 0x00, 16, 8);
/// `pnat` (port number access type).
pub const PNAT: Field = Field::new("pnat", 0x00, 14, 2);
/// `grp`: counter group.
pub const GRP: Field = Field::new("grp", 0x00, 0, 6);
/// `clr`: clear the counters after reading.
pub const CLR: Field = Field::new("clr", 0x04, 31, 1);
/// `plane_ind`.
pub const PLANE_IND: Field = Field::new("plane_ind", 0x04, 8, 4);
/// `prio_tc`: priority or traffic class for per-prio/per-TC groups.
pub const PRIO_TC: Field = Field::new("prio_tc", 0x04, 0, 5);

/// Counter groups (`MLX5_*_COUNTERS_GROUP`).
pub mod group {
    /// IEEE 802.3 counters.
    pub const IEEE_802_3: u8 = 0x00;
    /// RFC 2863 counters.
    pub const RFC_2863: u8 = 0x01;
    /// RFC 2819 counters.
    pub const RFC_2819: u8 = 0x02;
    /// RFC 3635 counters.
    pub const RFC_3635: u8 = 0x03;
    /// Ethernet extended counters.
    pub const ETHERNET_EXTENDED: u8 = 0x05;
    /// Ethernet discard counters.
    pub const ETHERNET_DISCARD: u8 = 0x06;
    /// Per-priority counters.
    pub const PER_PRIORITY: u8 = 0x10;
    /// Per-traffic-class counters.
    pub const PER_TRAFFIC_CLASS: u8 = 0x11;
    /// Physical layer counters.
    pub const PHYSICAL_LAYER: u8 = 0x12;
}

/// Names of the IEEE 802.3 group counters, in order: counter `i` is the BE64 at
/// register byte `0x08 + 8 * i`.
pub const IEEE_802_3_NAMES: [&str; 19] = [
    "a_frames_transmitted_ok",
    "a_frames_received_ok",
    "a_frame_check_sequence_errors",
    "a_alignment_errors",
    "a_octets_transmitted_ok",
    "a_octets_received_ok",
    "a_multicast_frames_xmitted_ok",
    "a_broadcast_frames_xmitted_ok",
    "a_multicast_frames_received_ok",
    "a_broadcast_frames_received_ok",
    "a_in_range_length_errors",
    "a_out_of_range_length_field",
    "a_frame_too_long_errors",
    "a_symbol_error_during_carrier",
    "a_mac_control_frames_transmitted",
    "a_mac_control_frames_received",
    "a_unsupported_opcodes_received",
    "a_pause_mac_ctrl_frames_received",
    "a_pause_mac_ctrl_frames_transmitted",
];

/// Indices into [`Ppcnt::counters`] for the IEEE 802.3 group.
pub mod ieee_802_3 {
    /// Frames transmitted OK.
    pub const A_FRAMES_TRANSMITTED_OK: usize = 0;
    /// Frames received OK.
    pub const A_FRAMES_RECEIVED_OK: usize = 1;
    /// FCS errors.
    pub const A_FRAME_CHECK_SEQUENCE_ERRORS: usize = 2;
    /// Octets transmitted OK.
    pub const A_OCTETS_TRANSMITTED_OK: usize = 4;
    /// Octets received OK.
    pub const A_OCTETS_RECEIVED_OK: usize = 5;
    /// Frames too long.
    pub const A_FRAME_TOO_LONG_ERRORS: usize = 12;
}

/// The PPCNT register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ppcnt {
    /// Switch partition.
    pub swid: u8,
    /// Port number.
    pub local_port: u8,
    /// Port number access type.
    pub pnat: u8,
    /// Counter group.
    pub grp: u8,
    /// Clear after read.
    pub clr: bool,
    /// Plane index.
    pub plane_ind: u8,
    /// Priority / traffic class.
    pub prio_tc: u8,
    /// The counter set as 31 BE64 counters.
    pub counters: [u64; COUNTER_SLOTS],
}

impl Default for Ppcnt {
    fn default() -> Self {
        Self {
            swid: 0,
            local_port: 0,
            pnat: 0,
            grp: 0,
            clr: false,
            plane_ind: 0,
            prio_tc: 0,
            counters: [0; COUNTER_SLOTS],
        }
    }
}

impl Ppcnt {
    /// A read request for `grp` of `local_port`.
    pub fn query(local_port: u8, grp: u8) -> Self {
        Self {
            local_port,
            grp,
            ..Self::default()
        }
    }

    /// Encodes; fails if a value is wider than its field.
    pub fn encode(&self) -> Result<[u8; LEN]> {
        let mut b = [0u8; LEN];
        SWID.set(&mut b, u64::from(self.swid))?;
        LOCAL_PORT.set(&mut b, u64::from(self.local_port))?;
        PNAT.set(&mut b, u64::from(self.pnat))?;
        GRP.set(&mut b, u64::from(self.grp))?;
        CLR.set_bool(&mut b, self.clr)?;
        PLANE_IND.set(&mut b, u64::from(self.plane_ind))?;
        PRIO_TC.set(&mut b, u64::from(self.prio_tc))?;
        for (i, c) in self.counters.iter().enumerate() {
            let o = COUNTER_SET + 8 * i;
            b[o..o + 8].copy_from_slice(&c.to_be_bytes());
        }
        Ok(b)
    }

    /// Decodes the first 256 bytes.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("PPCNT", buf, LEN)?;
        let mut counters = [0u64; COUNTER_SLOTS];
        for (i, c) in counters.iter_mut().enumerate() {
            *c = Field::be64_at("counter", COUNTER_SET + 8 * i).get(buf)?;
        }
        Ok(Self {
            swid: SWID.get(buf)? as u8,
            local_port: LOCAL_PORT.get(buf)? as u8,
            pnat: PNAT.get(buf)? as u8,
            grp: GRP.get(buf)? as u8,
            clr: CLR.get_bool(buf)?,
            plane_ind: PLANE_IND.get(buf)? as u8,
            prio_tc: PRIO_TC.get(buf)? as u8,
            counters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppcnt_round_trip() {
        let mut p = Ppcnt::query(1, group::IEEE_802_3);
        p.clr = true;
        p.counters[ieee_802_3::A_FRAMES_RECEIVED_OK] = 0x0102_0304_0506_0708;
        p.counters[18] = 9;
        let b = p.encode().unwrap();
        assert_eq!(&b[..8], &[0, 1, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(&b[0x10..0x18], &[1, 2, 3, 4, 5, 6, 7, 8]);
        // a_pause_mac_ctrl_frames_transmitted_low is at register byte 0x9C (mlxsw reg.h).
        assert_eq!(b[0x9F], 9);
        assert_eq!(Ppcnt::decode(&b), Ok(p));
        assert!(Ppcnt::decode(&b[..255]).is_err());
        assert!(Ppcnt { grp: 64, ..p }.encode().is_err());
    }
}
