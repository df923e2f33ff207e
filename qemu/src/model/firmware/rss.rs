//! The receive-side hash of an indirect TIR: Toeplitz over the fields its
//! `rx_hash_field_selector_outer` names, with its 40-byte key; the result
//! picks the RQT entry (its low bits: `hash mod size`) and goes to the CQE
//! (`rss_hash_result`, with `rss_hash_type` saying what was hashed), where
//! mlx5e takes it for `skb->hash` (`mlx5e_skb_set_hash`).
//!
//! The input is the Microsoft RSS order: source address, destination
//! address, source port, destination port, each only if selected and
//! present: the addresses if the packet's IP version is the selector's
//! `l3_prot_type`, the ports if its transport is the selector's
//! `l4_prot_type` (TCP or UDP) and it is not a fragment. With
//! `rx_hash_symmetric` (mlx5e sets it with Toeplitz) a selected source and
//! destination pair is hashed as (src | dst, src ^ dst), ConnectX's
//! symmetric hash (what Linux later named `RXH_XFRM_SYM_OR_XOR` for mlx5).
//! Not modelled: the inverted-XOR8 function (its entry is the table's
//! first, its hash 0), the inner selector (tunnel offloads are not
//! advertised) and IPsec SPI.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::tir::tirc::hash_field as sel;
use cxu_hal::ifc::cqe::rss_hash_type;

use super::queues::inet::{self, Ip};

/// The 32-bit Toeplitz hash of `input` under `key` (RFC-less, as the
/// Microsoft RSS specification defines it): for every set input bit,
/// counting from the most significant bit of the first byte, the 32 key
/// bits starting at that bit position are XORed into the result.
pub fn toeplitz(key: &[u8; 40], input: &[u8]) -> u32 {
    let bit = |i: usize| {
        key.get(i / 8)
            .map_or(0, |b| u32::from(b >> (7 - i % 8)) & 1)
    };
    let mut window = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    let mut result = 0;
    for (n, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                result ^= window;
            }
            window = (window << 1) | bit(32 + 8 * n + b);
        }
    }
    result
}

/// A frame's hash and its `rss_hash_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hash {
    /// `rss_hash_result`.
    pub value: u32,
    /// `rss_hash_type`.
    pub kind: u8,
}

/// The Toeplitz hash of `frame` under `selector` (outer), `key` and
/// `symmetric`.
pub fn hash(selector: u32, symmetric: bool, key: &[u8; 40], frame: &[u8]) -> Hash {
    let Some(l) = inet::parse(frame) else {
        return Hash::default();
    };
    let (addrs, len, ip_kind) = match l.ip {
        Ip::V4 { .. } if selector & sel::L3_PROT_IPV6 == 0 => (l.l3 + 12, 4, rss_hash_type::IPV4),
        Ip::V6 if selector & sel::L3_PROT_IPV6 != 0 => (l.l3 + 8, 16, rss_hash_type::IPV6),
        _ => return Hash::default(),
    };
    let mut input = Vec::with_capacity(36);
    let mut kind = 0;
    let pair = |input: &mut Vec<u8>, at: usize, len: usize, src: bool, dst: bool| -> bool {
        let (Some(s), Some(d)) = (frame.get(at..at + len), frame.get(at + len..at + 2 * len))
        else {
            return false;
        };
        if symmetric && src && dst {
            input.extend(s.iter().zip(d).map(|(a, b)| a | b));
            input.extend(s.iter().zip(d).map(|(a, b)| a ^ b));
        } else {
            if src {
                input.extend_from_slice(s);
            }
            if dst {
                input.extend_from_slice(d);
            }
        }
        src || dst
    };
    if pair(
        &mut input,
        addrs,
        len,
        selector & sel::SRC_IP != 0,
        selector & sel::DST_IP != 0,
    ) {
        kind |= ip_kind;
    }
    let (want, l4_kind) = if selector & sel::L4_PROT_UDP != 0 {
        (inet::IPPROTO_UDP, rss_hash_type::UDP)
    } else {
        (inet::IPPROTO_TCP, rss_hash_type::TCP)
    };
    if l.proto == want
        && !l.fragment
        && pair(
            &mut input,
            l.l4,
            2,
            selector & sel::L4_SPORT != 0,
            selector & sel::L4_DPORT != 0,
        )
    {
        kind |= l4_kind;
    }
    Hash {
        value: toeplitz(key, &input),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of the Microsoft RSS verification suite.
    const KEY: [u8; 40] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f,
        0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    /// (source, source port, destination, destination port, IP-only hash,
    /// IP + TCP hash).
    type Vector = ([u8; 4], u16, [u8; 4], u16, u32, u32);

    /// The suite's IPv4 vectors.
    const V4: [Vector; 5] = [
        (
            [66, 9, 149, 187],
            2794,
            [161, 142, 100, 80],
            1766,
            0x323e8fc2,
            0x51ccc178,
        ),
        (
            [199, 92, 111, 2],
            14230,
            [65, 69, 140, 83],
            4739,
            0xd718262a,
            0xc626b0ea,
        ),
        (
            [24, 19, 198, 95],
            12898,
            [12, 22, 207, 184],
            38024,
            0xd2d0a5de,
            0x5c2b394a,
        ),
        (
            [38, 27, 205, 30],
            48228,
            [209, 142, 163, 6],
            2217,
            0x82989176,
            0xafc7327f,
        ),
        (
            [153, 39, 163, 191],
            44251,
            [202, 188, 127, 2],
            1303,
            0x5d1809c5,
            0x10e828a2,
        ),
    ];

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn toeplitz_gives_the_microsoft_verification_suite_values() {
        for (src, sport, dst, dport, ip, tcp) in V4 {
            let mut input = [src, dst].concat();
            assert_eq!(toeplitz(&KEY, &input), ip, "{src:?} -> {dst:?}");
            input.extend_from_slice(&sport.to_be_bytes());
            input.extend_from_slice(&dport.to_be_bytes());
            assert_eq!(toeplitz(&KEY, &input), tcp, "{src:?} -> {dst:?} TCP");
        }
        let v6_vectors = [
            (
                "3ffe:2501:200:1fff::7",
                2794,
                "3ffe:2501:200:3::1",
                1766,
                0x2cc18cd5,
                0x40207d3d,
            ),
            (
                "3ffe:501:8::260:97ff:fe40:efab",
                14230,
                "ff02::1",
                4739,
                0x0f0c461c,
                0xdde51bbf,
            ),
            (
                "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
                44251,
                "fe80::200:f8ff:fe21:67cf",
                38024,
                0x4b61e985,
                0x02d1feef,
            ),
        ];
        for (src, sport, dst, dport, ip, tcp) in v6_vectors {
            let mut input = [v6(src), v6(dst)].concat();
            assert_eq!(toeplitz(&KEY, &input), ip, "{src} -> {dst}");
            input.extend_from_slice(&u16::to_be_bytes(sport));
            input.extend_from_slice(&u16::to_be_bytes(dport));
            assert_eq!(toeplitz(&KEY, &input), tcp, "{src} -> {dst} TCP");
        }
    }

    /// An Ethernet + IPv6 + UDP frame of the suite's first IPv6 vector.
    fn udp6() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xDD, 0x60, 0, 0, 0, 0, 12, inet::IPPROTO_UDP, 64]);
        f.extend_from_slice(&v6("3ffe:2501:200:1fff::7"));
        f.extend_from_slice(&v6("3ffe:2501:200:3::1"));
        f.extend_from_slice(&2794u16.to_be_bytes());
        f.extend_from_slice(&1766u16.to_be_bytes());
        f.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
        f
    }

    #[test]
    fn the_selector_decides_what_is_hashed() {
        let all = sel::SRC_IP | sel::DST_IP | sel::L4_SPORT | sel::L4_DPORT;
        let v6_udp = sel::L3_PROT_IPV6 | sel::L4_PROT_UDP;
        let f = udp6();
        let h = hash(v6_udp | all, false, &KEY, &f);
        assert_eq!(
            h,
            Hash {
                value: 0x40207d3d,
                kind: rss_hash_type::IPV6 | rss_hash_type::UDP
            }
        );
        // A TCP selector: the addresses only.
        let h = hash(sel::L3_PROT_IPV6 | all, false, &KEY, &f);
        assert_eq!(
            h,
            Hash {
                value: 0x2cc18cd5,
                kind: rss_hash_type::IPV6
            }
        );
        // An IPv4 selector: nothing.
        assert_eq!(hash(all, false, &KEY, &f), Hash::default());
        // The destination address alone.
        let h = hash(v6_udp | sel::DST_IP, false, &KEY, &f);
        assert_eq!(h.value, toeplitz(&KEY, &v6("3ffe:2501:200:3::1")));
        // Symmetric: (src | dst, src ^ dst) per pair, the same both ways.
        let h = hash(v6_udp | all, true, &KEY, &f);
        let (s, d) = (v6("3ffe:2501:200:1fff::7"), v6("3ffe:2501:200:3::1"));
        let mut input: Vec<u8> = s.iter().zip(&d).map(|(a, b)| a | b).collect();
        input.extend(s.iter().zip(&d).map(|(a, b)| a ^ b));
        input.extend_from_slice(&(2794u16 | 1766).to_be_bytes());
        input.extend_from_slice(&(2794u16 ^ 1766).to_be_bytes());
        assert_eq!(h.value, toeplitz(&KEY, &input));
        let mut back = f.clone();
        back[22..38].copy_from_slice(&d);
        back[38..54].copy_from_slice(&s);
        back[54..56].copy_from_slice(&1766u16.to_be_bytes());
        back[56..58].copy_from_slice(&2794u16.to_be_bytes());
        assert_eq!(hash(v6_udp | all, true, &KEY, &back), h);
        assert_ne!(hash(v6_udp | all, false, &KEY, &back).value, 0x40207d3d);
    }
}
