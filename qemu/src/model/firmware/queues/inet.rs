//! What the NIC's packet parser finds in a frame: the EtherType past any
//! 802.1Q / 802.1ad tags, the IPv4 or IPv6 header (IPv6 past its
//! hop-by-hop, routing and destination-options headers), the TCP or UDP
//! header; and the Internet checksum (RFC 1071) over them. The send path
//! uses it for checksum offload and LSO (`offload.rs`), the receive path
//! for the CQE's checksum fields (`recv.rs`).
#![forbid(unsafe_code)]

/// Bytes of the Ethernet header before the EtherType.
pub const ETH_ADDRS: usize = 12;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Size of an IPv4 header without options.
pub const IPV4_HDR: usize = 20;
/// Size of the fixed IPv6 header.
pub const IPV6_HDR: usize = 40;
/// Size of a TCP header without options.
pub const TCP_HDR: usize = 20;
/// Size of a UDP header.
pub const UDP_HDR: usize = 8;
/// Offset of the checksum in a TCP header.
pub const TCP_CHECK: usize = 16;
/// Offset of the checksum in a UDP header.
pub const UDP_CHECK: usize = 6;

/// The ones' complement sum of `bytes` as big-endian 16-bit words (an odd
/// last byte padded with zero), added to `acc`, not folded.
pub fn sum(bytes: &[u8], acc: u64) -> u64 {
    bytes.chunks(2).fold(acc, |a, c| {
        a + (u64::from(c[0]) << 8) + u64::from(c.get(1).copied().unwrap_or(0))
    })
}

/// Folds a sum to 16 bits.
pub fn fold(mut s: u64) -> u16 {
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    s as u16
}

/// The EtherType after any VLAN tags, and where the L3 header starts.
pub fn l2(frame: &[u8]) -> (u16, usize) {
    let mut l3 = ETH_ADDRS;
    let mut ethertype = 0u16;
    while let Some(t) = frame.get(l3..l3 + 2) {
        ethertype = u16::from_be_bytes([t[0], t[1]]);
        l3 += 2;
        if !matches!(ethertype, 0x8100 | 0x88A8) {
            break;
        }
        l3 += 2;
    }
    (ethertype, l3)
}

/// The IP version of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ip {
    /// IPv4, with its header length (options included).
    V4 {
        /// `ihl * 4`.
        ihl: usize,
    },
    /// IPv6.
    V6,
}

/// An IP frame's layers as the parser finds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Offset of the IP header.
    pub l3: usize,
    /// IPv4 or IPv6.
    pub ip: Ip,
    /// Offset of the transport header (past IPv6 extension headers).
    pub l4: usize,
    /// The transport protocol (`protocol` / the last `next_header`).
    pub proto: u8,
    /// End of the IP packet by its length field, when that is consistent
    /// with the frame (an IPv6 payload length of 0, a jumbogram or an LSO
    /// header, has none).
    pub end: Option<usize>,
    /// An IPv4 fragment (MF or an offset) or an IPv6 fragment header: its
    /// transport header, if any, covers bytes the frame does not hold.
    pub fragment: bool,
}

/// The layers of an IPv4 or IPv6 frame whose IP header the frame holds.
pub fn parse(frame: &[u8]) -> Option<Layers> {
    let (ethertype, l3) = l2(frame);
    let ip = frame.get(l3..)?;
    match ethertype {
        ETHERTYPE_IPV4 if ip.len() >= IPV4_HDR && ip[0] >> 4 == 4 => {
            let ihl = usize::from(ip[0] & 0xF) * 4;
            if ihl < IPV4_HDR || ihl > ip.len() {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let frag = u16::from_be_bytes([ip[6], ip[7]]);
            Some(Layers {
                l3,
                ip: Ip::V4 { ihl },
                l4: l3 + ihl,
                proto: ip[9],
                end: (len >= ihl && len <= ip.len()).then_some(l3 + len),
                // MF, or a fragment offset.
                fragment: frag & 0x3FFF != 0,
            })
        }
        ETHERTYPE_IPV6 if ip.len() >= IPV6_HDR && ip[0] >> 4 == 6 => {
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let (mut proto, mut at, mut fragment) = (ip[6], IPV6_HDR, false);
            // Hop-by-hop, routing, destination options: 8 * (1 + len) bytes.
            while let (0 | 43 | 60, Some(h)) = (proto, ip.get(at..at + 2)) {
                proto = h[0];
                at += 8 * (1 + usize::from(h[1]));
            }
            if proto == 44 {
                fragment = true;
            }
            if at > ip.len() {
                return None;
            }
            let len = IPV6_HDR + plen;
            Some(Layers {
                l3,
                ip: Ip::V6,
                l4: l3 + at,
                proto,
                end: (plen != 0 && len >= at && len <= ip.len()).then_some(l3 + len),
                fragment,
            })
        }
        _ => None,
    }
}

/// The TCP/UDP pseudo-header's sum for `l4_len` transport bytes.
pub fn pseudo(frame: &[u8], l: &Layers, l4_len: usize) -> u64 {
    let addrs = match l.ip {
        Ip::V4 { .. } => frame.get(l.l3 + 12..l.l3 + 20),
        Ip::V6 => frame.get(l.l3 + 8..l.l3 + 40),
    };
    sum(
        addrs.unwrap_or_default(),
        u64::from(l.proto) + l4_len as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_extension_headers_are_skipped_and_a_fragment_is_seen() {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&(8u16 + 8 + 20).to_be_bytes());
        ip[6] = 0; // hop-by-hop
        f.extend_from_slice(&ip);
        // Hop-by-hop (8 bytes) -> destination options (8 bytes) -> TCP.
        f.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[IPPROTO_TCP, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0u8; 20]);
        let l = parse(&f).unwrap();
        assert_eq!(
            (l.l3, l.ip, l.l4, l.proto, l.end, l.fragment),
            (14, Ip::V6, 14 + 56, IPPROTO_TCP, Some(f.len()), false)
        );
        f[14 + 40 + 8] = 44;
        let l = parse(&f).unwrap();
        assert_eq!((l.proto, l.fragment), (44, true));
    }

    #[test]
    fn vlan_tags_are_skipped_and_a_bad_ipv4_header_is_no_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xA8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0x20, 0, 64, 17]);
        f.resize(22 + 28, 0);
        let l = parse(&f).unwrap();
        assert_eq!(
            (l.l3, l.l4, l.proto, l.end, l.fragment),
            (22, 42, IPPROTO_UDP, Some(50), true)
        );
        f[22] = 0x44; // ihl 4
        assert_eq!(parse(&f), None);
    }
}
