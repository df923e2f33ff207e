//! The Ethernet send offloads the model advertises (`csum_cap`,
//! `max_lso_cap`): a SEND's `cs_flags` checksums and an LSO's segments,
//! byte-exact against frames this file builds with its own checksums.

mod common;

use common::queues::*;
use common::send::*;
use cxu_hal::ifc::commands::vport::traffic;
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::wqe::eth_seg::cs_flags::{L3_CSUM, L3_INNER_CSUM, L4_CSUM, L4_INNER_CSUM};
use cxu_hal::ifc::wqe::opcode;

const DMAC: [u8; 6] = [0x02, 0xC9, 0x5E, 0, 0, 1];
const SMAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;
const TCP_FIN: u8 = 0x01;
const TCP_CWR: u8 = 0x80;

/// A TCP or UDP packet over IPv4 or IPv6, maybe 802.1Q-tagged.
#[derive(Clone, Copy, Debug, Default)]
struct Pkt {
    v6: bool,
    udp: bool,
    vlan: Option<u16>,
    /// IPv4 identification.
    id: u16,
    /// TCP sequence number and flags.
    seq: u32,
    flags: u8,
}

impl Pkt {
    /// Offset of the IP header.
    fn l3(&self) -> usize {
        14 + if self.vlan.is_some() { 4 } else { 0 }
    }

    /// Offset of the TCP/UDP header.
    fn l4(&self) -> usize {
        self.l3() + if self.v6 { 40 } else { 20 }
    }

    /// Offset of the TCP/UDP checksum.
    fn l4_check(&self) -> usize {
        self.l4() + if self.udp { 6 } else { 16 }
    }

    /// Bytes of headers (TCP with 12 bytes of timestamp options).
    fn hdr(&self) -> usize {
        self.l4() + if self.udp { 8 } else { 32 }
    }

    /// The frame carrying `payload`, every length and checksum right.
    fn frame(&self, payload: &[u8]) -> Vec<u8> {
        let proto = if self.udp { 17u8 } else { 6 };
        let mut l4 = if self.udp {
            let mut u = vec![0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0];
            u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            u
        } else {
            let mut t = vec![0x30, 0x39, 0x00, 0x50];
            t.extend_from_slice(&self.seq.to_be_bytes());
            t.extend_from_slice(&[1, 2, 3, 4, 0x80, self.flags, 0xFF, 0xFF, 0, 0, 0, 0]);
            t.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
            t
        };
        l4.extend_from_slice(payload);
        let mut ip = if self.v6 {
            let mut h = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
            h[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
            h.extend_from_slice(&[0x20, 0x01, 0x0D, 0xB8]);
            h.extend_from_slice(&[0; 11]);
            h.push(2);
            h.extend_from_slice(&[0x20, 0x01, 0x0D, 0xB8]);
            h.extend_from_slice(&[0; 11]);
            h.push(1);
            h
        } else {
            let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
            h[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            h[4..6].copy_from_slice(&self.id.to_be_bytes());
            h.extend_from_slice(&[192, 0, 2, 2, 192, 0, 2, 1]);
            let c = !csum(&h, 0);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h
        };
        let addrs = if self.v6 { &ip[8..40] } else { &ip[12..20] };
        let pseudo = u32::from(csum(addrs, 0)) + u32::from(proto) + l4.len() as u32;
        let mut c = !csum(&l4, pseudo);
        if self.udp && c == 0 {
            c = 0xFFFF;
        }
        let at = if self.udp { 6 } else { 16 };
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        let mut f = [DMAC, SMAC].concat();
        if let Some(tci) = self.vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(if self.v6 {
            &[0x86, 0xDD]
        } else {
            &[0x08, 0x00]
        });
        f.append(&mut ip);
        f.append(&mut l4);
        f
    }

    /// `f` (this packet's frame) with the checksums software might leave:
    /// garbage, which the NIC must not take into its sums.
    fn unsummed(&self, f: &[u8]) -> Vec<u8> {
        let mut f = f.to_vec();
        if !self.v6 {
            let at = self.l3() + 10;
            f[at..at + 2].copy_from_slice(&[0xBE, 0xEF]);
        }
        let at = self.l4_check();
        f[at..at + 2].copy_from_slice(&[0x12, 0x34]);
        f
    }
}

/// A payload of `n` bytes that is not all one value.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Posts `frame` from memory at DATA in one data segment, with Ethernet
/// segment `e`, at counter `pc`; returns the frames that left.
fn send(p: &Path, pc: u16, e: &Eseg, frame: &[u8]) -> Vec<Vec<u8>> {
    let lkey = pa_mkey(&p.s.h, PD);
    p.s.wqmem.write(DATA, frame);
    let before = p.s.h.ctl.wire_counters().tx_frames as usize;
    let (c, bbs) = post(p, pc, e, &[], &[(frame.len() as u32, lkey, DATA)]);
    p.ring(pc + bbs, c);
    let after = p.s.h.ctl.wire_counters().tx_frames as usize;
    let sent = p.s.h.ctl.tx_frames();
    sent[sent.len() - (after - before)..]
        .iter()
        .map(|f| f.bytes.clone())
        .collect()
}

fn csum_flags(flags: u8) -> Eseg {
    Eseg {
        cs_flags: flags,
        ..Eseg::default()
    }
}

#[test]
fn a_send_gets_the_checksums_its_cs_flags_ask_for() {
    let p = path();
    let pkt = Pkt {
        udp: true,
        id: 7,
        ..Pkt::default()
    };
    let right = pkt.frame(&payload(100));
    let posted = pkt.unsummed(&right);
    let ip_sum = 14 + 10..14 + 12;
    let udp_sum = pkt.l4_check()..pkt.l4_check() + 2;
    // No flags: the frame leaves as software wrote it.
    assert_eq!(
        send(&p, 0, &csum_flags(0), &posted),
        std::slice::from_ref(&posted)
    );
    p.set_ci(1);
    // L3 only: the IPv4 header checksum, the UDP one as written.
    let mut want = posted.clone();
    want[ip_sum.clone()].copy_from_slice(&right[ip_sum.clone()]);
    assert_eq!(send(&p, 1, &csum_flags(L3_CSUM), &posted), [want]);
    p.set_ci(2);
    // L4 only: the UDP checksum, the IP header's as written.
    let mut want = posted.clone();
    want[udp_sum.clone()].copy_from_slice(&right[udp_sum]);
    assert_eq!(send(&p, 2, &csum_flags(L4_CSUM), &posted), [want]);
    p.set_ci(3);
    // Both, as mlx5e asks for a CHECKSUM_PARTIAL skb.
    let both = csum_flags(L3_CSUM | L4_CSUM);
    assert_eq!(send(&p, 3, &both, &posted), std::slice::from_ref(&right));
    assert_eq!(p.cqe(3), (cqe::opcode::REQ, 0, 3, p.sqn));
    assert_eq!(
        p.s.h.ctl.vport_counter(traffic::TX_ETH_UNICAST),
        (4, 4 * right.len() as u64)
    );
}

#[test]
fn tcp_and_udp_checksums_over_ipv4_and_ipv6() {
    let p = path();
    let both = csum_flags(L3_CSUM | L4_CSUM);
    let mut pc = 0;
    for v6 in [false, true] {
        for udp in [false, true] {
            let pkt = Pkt {
                v6,
                udp,
                id: 0x4321,
                seq: 0x0102_0304,
                flags: TCP_ACK | TCP_PSH,
                ..Pkt::default()
            };
            // An odd length: the last byte is summed padded with zero.
            let right = pkt.frame(&payload(101));
            let got = send(&p, pc, &both, &pkt.unsummed(&right));
            assert_eq!(got, [right], "v6 {v6} udp {udp}");
            pc += 1;
            p.set_ci(u32::from(pc));
        }
    }
}

#[test]
fn a_udp_checksum_that_sums_to_zero_is_sent_as_all_ones() {
    let p = path();
    let pkt = Pkt {
        udp: true,
        ..Pkt::default()
    };
    // The last two payload bytes make the sum all ones: checksum 0.
    let mut data = payload(30);
    data.extend_from_slice(&[0, 0]);
    let c = pkt.frame(&data)[pkt.l4_check()..pkt.l4_check() + 2].to_vec();
    data[30..].copy_from_slice(&c);
    let right = pkt.frame(&data);
    assert_eq!(
        right[pkt.l4_check()..pkt.l4_check() + 2],
        [0xFF, 0xFF],
        "the zero case"
    );
    let got = send(&p, 0, &csum_flags(L4_CSUM), &pkt.unsummed(&right));
    let mut want = pkt.unsummed(&right);
    want[pkt.l4_check()..pkt.l4_check() + 2].fill(0xFF);
    assert_eq!(got, [want]);
}

#[test]
fn checksums_are_written_past_an_inserted_vlan_tag() {
    let p = path();
    for (i, v6) in [false, true].into_iter().enumerate() {
        let untagged = Pkt {
            v6,
            seq: 99,
            flags: TCP_ACK,
            id: 3,
            ..Pkt::default()
        };
        let tagged = Pkt {
            vlan: Some(0x0123),
            ..untagged
        };
        let data = payload(64);
        let e = Eseg {
            cs_flags: L3_CSUM | L4_CSUM,
            vlan: Some(0x0123),
            ..Eseg::default()
        };
        let posted = untagged.unsummed(&untagged.frame(&data));
        let got = send(&p, i as u16, &e, &posted);
        assert_eq!(got, [tagged.frame(&data)], "v6 {v6}");
        p.set_ci(i as u32 + 1);
    }
}

#[test]
fn an_802_1ad_insertion_gets_the_s_tag_ethertype() {
    let p = path();
    let pkt = Pkt {
        udp: true,
        ..Pkt::default()
    };
    let f = pkt.frame(&payload(20));
    let e = Eseg {
        vlan: Some(0x0042),
        svlan: true,
        ..Eseg::default()
    };
    let mut want = f[..12].to_vec();
    want.extend_from_slice(&[0x88, 0xA8, 0x00, 0x42]);
    want.extend_from_slice(&f[12..]);
    assert_eq!(send(&p, 0, &e, &f), [want]);
}

#[test]
fn the_inner_checksum_flags_are_ignored_without_tunnel_offloads() {
    let p = path();
    let pkt = Pkt {
        udp: true,
        ..Pkt::default()
    };
    let right = pkt.frame(&payload(40));
    let posted = pkt.unsummed(&right);
    let inner = csum_flags(L3_INNER_CSUM | L4_INNER_CSUM);
    assert_eq!(send(&p, 0, &inner, &posted), std::slice::from_ref(&posted));
    p.set_ci(1);
    // What mlx5e posts for an encapsulated skb: the outer L3 is done, the
    // outer L4 is not asked for.
    let encap = csum_flags(L3_CSUM | L3_INNER_CSUM | L4_INNER_CSUM);
    let mut want = posted.clone();
    want[24..26].copy_from_slice(&right[24..26]);
    assert_eq!(send(&p, 1, &encap, &posted), [want]);
    assert_eq!(p.cqe(1).0, cqe::opcode::REQ, "no error CQE");
}

/// Posts an LSO of `whole` (its first `hdr` bytes the headers) as mlx5e
/// does: the headers inline, the payload in two data segments split at
/// `split`. Returns the frames that left.
fn lso(p: &Path, whole: &[u8], hdr: usize, mss: u16, split: usize) -> Vec<Vec<u8>> {
    let lkey = pa_mkey(&p.s.h, PD);
    let (headers, body) = whole.split_at(hdr);
    p.s.wqmem.write(DATA, &body[..split]);
    p.s.wqmem.write(DATA + 4096, &body[split..]);
    let e = Eseg {
        opcode: opcode::LSO,
        cs_flags: L3_CSUM | L4_CSUM,
        mss,
        ..Eseg::default()
    };
    let segs = [
        (split as u32, lkey, DATA),
        ((body.len() - split) as u32, lkey, DATA + 4096),
    ];
    let before = p.s.h.ctl.wire_counters().tx_frames as usize;
    let (c, bbs) = post(p, 0, &e, headers, &segs);
    p.ring(bbs, c);
    let after = p.s.h.ctl.wire_counters().tx_frames as usize;
    let sent = p.s.h.ctl.tx_frames();
    sent[sent.len() - (after - before)..]
        .iter()
        .map(|f| f.bytes.clone())
        .collect()
}

#[test]
fn an_ipv4_tcp_lso_leaves_as_mss_sized_segments() {
    let p = path();
    let pkt = Pkt {
        id: 0xFFFE,
        // The sequence number wraps inside the train.
        seq: 0xFFFF_F800,
        flags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR,
        ..Pkt::default()
    };
    let data = payload(3500);
    // As the stack leaves them: checksums unsummed, the IP length of the
    // whole.
    let got = lso(&p, &pkt.unsummed(&pkt.frame(&data)), pkt.hdr(), 1448, 1000);
    assert_eq!(p.cqe(0), (cqe::opcode::REQ, 0, 0, p.sqn), "one CQE");
    let chunks: Vec<&[u8]> = data.chunks(1448).collect();
    assert_eq!(chunks.len(), 3);
    let flags = [TCP_ACK | TCP_CWR, TCP_ACK, TCP_ACK | TCP_PSH | TCP_FIN];
    let want: Vec<Vec<u8>> = chunks
        .iter()
        .enumerate()
        .map(|(n, c)| {
            Pkt {
                id: pkt.id.wrapping_add(n as u16),
                seq: pkt.seq.wrapping_add(1448 * n as u32),
                flags: flags[n],
                ..pkt
            }
            .frame(c)
        })
        .collect();
    assert_eq!(got.len(), 3);
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "segment {n}");
    }
    // Each segment is a frame on the wire and in the vport's counters.
    let bytes: usize = want.iter().map(Vec::len).sum();
    let w = p.s.h.ctl.wire_counters();
    assert_eq!((w.tx_frames, w.tx_bytes), (3, bytes as u64));
    assert_eq!(
        p.s.h.ctl.vport_counter(traffic::TX_ETH_UNICAST),
        (3, bytes as u64)
    );
}

#[test]
fn an_ipv6_tcp_lso_behind_an_inline_vlan_tag() {
    let p = path();
    // mlx5e puts the tag in the inline headers for an LSO.
    let pkt = Pkt {
        v6: true,
        vlan: Some(0x0A05),
        seq: 1000,
        flags: TCP_ACK | TCP_PSH,
        ..Pkt::default()
    };
    // Two whole segments and one byte.
    let data = payload(2001);
    // mlx5e leaves a BIG TCP packet's payload length 0.
    let mut whole = pkt.unsummed(&pkt.frame(&data));
    whole[pkt.l3() + 4..pkt.l3() + 6].fill(0);
    let got = lso(&p, &whole, pkt.hdr(), 1000, 1500);
    let want: Vec<Vec<u8>> = data
        .chunks(1000)
        .enumerate()
        .map(|(n, c)| {
            Pkt {
                seq: 1000 + 1000 * n as u32,
                flags: if n == 2 { TCP_ACK | TCP_PSH } else { TCP_ACK },
                ..pkt
            }
            .frame(c)
        })
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got, want);
}

#[test]
fn a_udp_lso_is_cut_into_datagrams_each_with_its_checksum() {
    let p = path();
    // UDP segmentation: mlx5e writes the UDP length of one segment
    // (mss + 8) and the stack sends whole multiples of mss.
    let pkt = Pkt {
        udp: true,
        id: 10,
        ..Pkt::default()
    };
    let data = payload(1500);
    let mut whole = pkt.unsummed(&pkt.frame(&data));
    whole[pkt.l4() + 4..pkt.l4() + 6].copy_from_slice(&508u16.to_be_bytes());
    let got = lso(&p, &whole, pkt.hdr(), 500, 700);
    let want: Vec<Vec<u8>> = data
        .chunks(500)
        .enumerate()
        .map(|(n, c)| {
            Pkt {
                id: 10 + n as u16,
                ..pkt
            }
            .frame(c)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn an_lso_with_mss_zero_or_headers_the_nic_cannot_parse_is_a_bad_wqe() {
    let p = path();
    let pkt = Pkt::default();
    let whole = pkt.frame(&payload(100));
    assert!(lso(&p, &whole, pkt.hdr(), 0, 50).is_empty());
    let b = p.s.cqmem.read(0, 64);
    assert_eq!(p.cqe(0).0, cqe::opcode::REQ_ERR);
    assert_eq!(
        cqe::ERR_SYNDROME.get(&b).unwrap() as u8,
        cqe::syndrome::LOCAL_QP_OP_ERR
    );
    assert_eq!(p.s.h.ctl.queues().sqs[0].state, 3, "the SQ is in ERR");
    assert_eq!(p.s.h.ctl.wire_counters().tx_frames, 0);
}
