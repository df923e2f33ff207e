//! Receive steering: which TIR a received frame reaches through the NIC RX
//! flow tables, as firmware evaluates them.
//!
//! The frame's outer headers are laid out as `fte_match_set_lyr_2_4`
//! (`mlx5_ifc.h`): MACs, the L3 EtherType past any VLAN tag, the first
//! tag's `cvlan_tag` / `first_prio` / `first_cfi` / `first_vid`, IP version,
//! protocol, DSCP/ECN, fragment bit, TTL, addresses, TCP/UDP ports and TCP
//! flags; the other parts of `fte_match_param` (misc, inner headers,
//! metadata) read as zero. From the root table, the entries are tried in
//! index order: the first whose value equals the frame under its group's
//! criteria decides (forward to a TIR: delivered there; to a table: go on
//! there; drop: dropped). A table no entry of which matches goes on to its
//! miss table; the default miss drops.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::flow_table::{flow_ctx::action, MATCH_PARAM_SIZE};

use super::flow_table::{Dest, FlowTables};

/// Where steering sends a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steered {
    /// To this TIR.
    Tir(u32),
    /// Dropped by an entry, a default miss, or no root table.
    Dropped,
}

/// The frame's `fte_match_param` (outer headers only).
pub fn match_param(frame: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; MATCH_PARAM_SIZE];
    let Some(macs) = frame.get(..12) else {
        return m;
    };
    m[0..6].copy_from_slice(&macs[6..12]);
    m[8..12].copy_from_slice(&macs[..4]);
    m[12..14].copy_from_slice(&macs[4..6]);
    let mut at = 12;
    let mut ethertype = 0u16;
    let mut first_tag = true;
    while let Some(t) = frame.get(at..at + 2) {
        ethertype = u16::from_be_bytes([t[0], t[1]]);
        at += 2;
        if !matches!(ethertype, 0x8100 | 0x88A8) {
            break;
        }
        if first_tag {
            if let Some(tci) = frame.get(at..at + 2) {
                m[0x0E..0x10].copy_from_slice(tci);
            }
            m[0x12] |= if ethertype == 0x8100 { 0x80 } else { 0x40 };
            first_tag = false;
        }
        at += 2;
    }
    m[6..8].copy_from_slice(&ethertype.to_be_bytes());
    let l3 = frame.get(at..).unwrap_or_default();
    let (l4, proto) = match ethertype {
        0x0800 if l3.len() >= 20 && l3[0] >> 4 == 4 => {
            let ihl = usize::from(l3[0] & 0xF) * 4;
            m[0x11] = l3[1];
            m[0x12] |= 4 << 1;
            let frag = u16::from_be_bytes([l3[6], l3[7]]) & 0x3FFF != 0;
            if frag {
                m[0x12] |= 0x20;
            }
            m[0x1A] = (l3[0] & 0xF) << 4;
            m[0x1B] = l3[8];
            m[0x10] = l3[9];
            m[0x2C..0x30].copy_from_slice(&l3[12..16]);
            m[0x3C..0x40].copy_from_slice(&l3[16..20]);
            (l3.get(ihl..).filter(|_| !frag), l3[9])
        }
        0x86DD if l3.len() >= 40 && l3[0] >> 4 == 6 => {
            m[0x11] = (l3[0] << 4) | (l3[1] >> 4);
            m[0x12] |= 6 << 1;
            m[0x1B] = l3[7];
            m[0x10] = l3[6];
            m[0x20..0x30].copy_from_slice(&l3[8..24]);
            m[0x30..0x40].copy_from_slice(&l3[24..40]);
            (l3.get(40..), l3[6])
        }
        _ => (None, 0),
    };
    match (proto, l4) {
        (6, Some(t)) if t.len() >= 14 => {
            m[0x14..0x18].copy_from_slice(&t[..4]);
            m[0x12] |= t[12] & 1;
            m[0x13] = t[13];
            m[0x18] = 1 << 6;
        }
        (17, Some(u)) if u.len() >= 8 => {
            m[0x1C..0x20].copy_from_slice(&u[..4]);
            m[0x18] = 2 << 6;
        }
        _ => {}
    }
    m
}

/// Longest chain of tables a frame walks (tables go to deeper levels only,
/// and there are at most 64 levels).
const MAX_HOPS: usize = 64;

impl FlowTables {
    /// The TIR the NIC RX tables send `frame` to.
    pub fn steer(&self, frame: &[u8]) -> Steered {
        let pkt = match_param(frame);
        let mut table = self.roots[0];
        for _ in 0..MAX_HOPS {
            let Some(id) = table else {
                return Steered::Dropped;
            };
            let hit = self.ftes.range((id, 0)..=(id, u32::MAX)).find(|(_, e)| {
                self.groups.get(e.group).is_some_and(|g| {
                    g.criteria
                        .iter()
                        .zip(&e.value)
                        .zip(&pkt)
                        .all(|((c, v), p)| v & c == p & c)
                })
            });
            tracing::debug!(table = id, hit = ?hit.map(|(k, e)| (k.1, e.action, &e.dests)), "steering");
            table = match hit {
                Some((_, e)) if e.action & action::FWD_DEST != 0 => match e.dests.first() {
                    Some(Dest::Tir(n)) => return Steered::Tir(*n),
                    Some(Dest::Table(t)) => Some(*t),
                    None => return Steered::Dropped,
                },
                Some(_) => return Steered::Dropped,
                None => match self.tables.get(id) {
                    Some(t) => t.miss,
                    None => None,
                },
            };
        }
        Steered::Dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_udp_frame_lays_out_as_fte_match_set_lyr_2_4() {
        let mut f = vec![
            2, 0xC9, 0x5E, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x20, 0x05,
        ];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0xB8, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1,
        ]);
        f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
        let m = match_param(&f);
        assert_eq!(&m[0..8], &[2, 0, 0, 0, 0, 2, 0x08, 0x00], "smac, ethertype");
        assert_eq!(
            &m[8..16],
            &[2, 0xC9, 0x5E, 0, 0, 1, 0x20, 0x05],
            "dmac, tci"
        );
        // ip_protocol, dscp/ecn, cvlan_tag | ip_version 4, no TCP flags.
        assert_eq!(&m[0x10..0x14], &[17, 0xB8, 0x80 | 4 << 1, 0]);
        assert_eq!((m[0x18], m[0x1A], m[0x1B]), (2 << 6, 0x50, 64));
        assert_eq!(&m[0x1C..0x20], &[0x30, 0x39, 0x00, 0x35], "udp ports");
        assert_eq!(&m[0x2C..0x30], &[192, 0, 2, 2]);
        assert_eq!(&m[0x3C..0x40], &[192, 0, 2, 1]);
        assert!(m[0x40..].iter().all(|&b| b == 0));
    }
}
