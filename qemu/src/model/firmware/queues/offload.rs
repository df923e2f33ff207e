//! The Ethernet send offloads the model advertises (`csum_cap`,
//! `max_lso_cap`), done on the frame as it leaves (after VLAN insertion),
//! with the headers the parser finds (`inet.rs`).
//!
//! Checksums (`cs_flags`, `mlx5e_txwqe_build_eseg_csum`): L3_CSUM writes
//! the IPv4 header checksum (IPv6 has none); L4_CSUM writes the TCP or UDP
//! checksum over the pseudo-header and the transport bytes up to the IP
//! length, whatever the field held (Linux leaves the pseudo-header sum
//! there; the NIC computes from scratch, as it must for LSO); a UDP sum of
//! 0 is sent as 0xFFFF. Frames the parser does not know (not IP, another
//! protocol, a fragment, a length past the frame) leave as they are. The
//! inner flags (L3/L4_INNER_CSUM) are for tunnels, which are not
//! advertised: mlx5e sets them only for an `skb->encapsulation` packet,
//! which the stack hands it with the checksum still partial only when
//! `hw_enc_features` has a checksum feature, and mlx5e sets those only
//! with `mlx5e_tunnel_any_tx_proto_supported`. So the kernel never posts
//! them here; the model ignores them (no error: the flags ask for work on
//! headers the parser would not find), and the outer flags still apply.
//!
//! LSO (`mlx5e_sq_xmit_wqe` with MLX5_OPCODE_LSO): the frame is the
//! headers (L2 to the end of the TCP header with its options, or of the UDP
//! header for UDP segmentation) and a payload cut into `mss`-byte segments,
//! each sent with a copy of the headers, as Linux's software GSO
//! (`inet_gso_segment`, `ipv6_gso_segment`, `tcp_gso_segment`) would cut
//! it. Segment n gets: the IPv4 total length, IP ID plus n and the header
//! checksum; the IPv6 payload length (mlx5e leaves it 0 for a BIG TCP
//! packet); the TCP sequence number plus n times `mss`, FIN and PSH only
//! on the last segment, CWR only on the first; its own transport checksum.
//! The UDP length is left as written: mlx5e writes `mss + 8`
//! (`mlx5e_udp_gso_handle_tx_skb`) and has the stack send only whole-`mss`
//! multiples (GSO_PARTIAL), the hardware not rewriting it. An LSO whose
//! headers the parser cannot find (not TCP or UDP over IPv4/IPv6, a
//! fragment, headers past the frame) or with `mss` 0 is a malformed WQE
//! (LOCAL_QP_OP_ERR).
#![forbid(unsafe_code)]

use cxu_hal::ifc::cqe::syndrome;
use cxu_hal::ifc::wqe::eth_seg::cs_flags;

use super::inet::{self, fold, sum, Ip, Layers};

/// TCP flags byte (offset 13 of the header): FIN, PSH and CWR.
const TCP_FLAGS: usize = 13;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

/// Writes the checksums `flags` (`cs_flags`) asks for into `frame`.
pub fn checksum(frame: &mut [u8], flags: u8) {
    let Some(l) = inet::parse(frame) else {
        return;
    };
    if flags & cs_flags::L3_CSUM != 0 {
        ipv4_header_checksum(frame, &l);
    }
    if flags & cs_flags::L4_CSUM != 0 {
        if let Some(end) = l.end {
            l4_checksum(frame, &l, end);
        }
    }
}

/// Writes the IPv4 header checksum (nothing for IPv6).
fn ipv4_header_checksum(frame: &mut [u8], l: &Layers) {
    if let Ip::V4 { ihl } = l.ip {
        let h = &mut frame[l.l3..l.l3 + ihl];
        h[10..12].fill(0);
        let c = !fold(sum(h, 0));
        h[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// Writes the TCP or UDP checksum over `frame[l.l4..end]`.
fn l4_checksum(frame: &mut [u8], l: &Layers, end: usize) {
    let (check, min) = match l.proto {
        inet::IPPROTO_TCP => (inet::TCP_CHECK, inet::TCP_HDR),
        inet::IPPROTO_UDP => (inet::UDP_CHECK, inet::UDP_HDR),
        _ => return,
    };
    if l.fragment || end < l.l4 + min {
        return;
    }
    let pseudo = inet::pseudo(frame, l, end - l.l4);
    let seg = &mut frame[l.l4..end];
    seg[check..check + 2].fill(0);
    let mut c = !fold(sum(seg, pseudo));
    if c == 0 && l.proto == inet::IPPROTO_UDP {
        // RFC 768: a computed 0 is sent as all ones (0 means "none").
        c = 0xFFFF;
    }
    seg[check..check + 2].copy_from_slice(&c.to_be_bytes());
}

/// The frames an LSO of `frame` leaves as, `mss` payload bytes each (the
/// last may be shorter), checksums written. Err is the error CQE's
/// syndrome.
pub fn segment(frame: &[u8], mss: usize) -> Result<Vec<Vec<u8>>, u8> {
    let l = inet::parse(frame).ok_or(syndrome::LOCAL_QP_OP_ERR)?;
    let hdr = match l.proto {
        inet::IPPROTO_TCP => {
            let doff = frame.get(l.l4 + 12).map_or(0, |d| usize::from(d >> 4) * 4);
            (doff >= inet::TCP_HDR).then_some(l.l4 + doff)
        }
        inet::IPPROTO_UDP => Some(l.l4 + inet::UDP_HDR),
        _ => None,
    };
    let hdr = hdr
        .filter(|&h| h <= frame.len() && mss > 0 && !l.fragment)
        .ok_or(syndrome::LOCAL_QP_OP_ERR)?;
    let (headers, payload) = frame.split_at(hdr);
    // Each segment's IP length must fit its 16-bit field.
    if hdr - l.l3 + mss.min(payload.len()) > 0xFFFF {
        return Err(syndrome::LOCAL_LENGTH_ERR);
    }
    let id = u16::from_be_bytes([frame[l.l3 + 4], frame[l.l3 + 5]]);
    let seq = frame
        .get(l.l4 + 4..l.l4 + 8)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![payload]
    } else {
        payload.chunks(mss).collect()
    };
    let last = chunks.len() - 1;
    let mut frames = Vec::with_capacity(chunks.len());
    for (n, chunk) in chunks.into_iter().enumerate() {
        let mut f = Vec::with_capacity(hdr + chunk.len());
        f.extend_from_slice(headers);
        f.extend_from_slice(chunk);
        let ip_len = (f.len() - l.l3) as u16;
        match l.ip {
            Ip::V4 { .. } => {
                f[l.l3 + 2..l.l3 + 4].copy_from_slice(&ip_len.to_be_bytes());
                let id = id.wrapping_add(n as u16);
                f[l.l3 + 4..l.l3 + 6].copy_from_slice(&id.to_be_bytes());
            }
            Ip::V6 => {
                let plen = ip_len - inet::IPV6_HDR as u16;
                f[l.l3 + 4..l.l3 + 6].copy_from_slice(&plen.to_be_bytes());
            }
        }
        if l.proto == inet::IPPROTO_TCP {
            let s = seq.wrapping_add((n * mss) as u32);
            f[l.l4 + 4..l.l4 + 8].copy_from_slice(&s.to_be_bytes());
            if n != last {
                f[l.l4 + TCP_FLAGS] &= !(TCP_FIN | TCP_PSH);
            }
            if n != 0 {
                f[l.l4 + TCP_FLAGS] &= !TCP_CWR;
            }
        }
        let end = f.len();
        ipv4_header_checksum(&mut f, &l);
        l4_checksum(&mut f, &l, end);
        frames.push(f);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_that_is_not_tcp_or_udp_is_left_alone_and_an_lso_of_it_is_refused() {
        // An ARP request: no IP header.
        let mut arp = vec![0xFF; 6];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.resize(60, 0xA5);
        let before = arp.clone();
        checksum(&mut arp, cs_flags::L3_CSUM | cs_flags::L4_CSUM);
        assert_eq!(arp, before);
        assert_eq!(segment(&arp, 100), Err(syndrome::LOCAL_QP_OP_ERR));
    }
}
