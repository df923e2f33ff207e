//! Receiving a frame a test delivers to the port.
//!
//! Steering: the NIC RX flow tables pick a TIR (`steering.rs`), the TIR its
//! RQ (an indirect TIR: the RQT entry its Toeplitz hash picks, `rss.rs`),
//! which must be a cyclic RQ in RDY. The CQE carries the hash
//! (`rss_hash_result`, `rss_hash_type`) and `l4_l3_hdr_type`.
//!
//! The RQ's next WQE is the one at its consumer counter, if the producer
//! counter in the first dword of its doorbell record is past it (none:
//! dropped, counted in its Q counter's `out_of_buffer`). A cyclic RQ's WQE
//! (`struct mlx5e_rx_wqe_cyc`) is a list of data segments filled in order,
//! each up to its `byte_count` (bit 31, `MLX5_HW_START_PADDING`, aside); an `lkey` of `MLX5_INVALID_LKEY` ends the
//! list. A frame longer than the list is dropped; a bad lkey or address
//! gets a responder error CQE (LOCAL_PROT_ERR) and the RQ goes to ERR.
//! Otherwise the WQE is consumed and a responder CQE (RESP_SEND) posted on
//! the RQ's CQ with `byte_cnt`, `wqe_counter` and the checksum fields mlx5e
//! reads: `check_sum`, the ones' complement sum of the IP packet (from the
//! L3 header, past any VLAN tag, to the IP length: what `mlx5e_handle_csum`
//! takes for CHECKSUM_COMPLETE), and `hds_ip_ext`'s L3_OK (IPv4 header
//! checksum right, or IPv6) and L4_OK (TCP or UDP checksum right). An RQ
//! that strips VLANs (`vsd` clear) takes an 802.1Q tag after the MAC
//! addresses out of the frame into the CQE (`vlan_info`, `cqe_has_vlan`).
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::wq::{dbr, state, wq_type};
use cxu_hal::ifc::cqe::{self, hds_ip_ext};
use cxu_hal::ifc::wqe::{data_seg, SEND_WQE_DS};

use super::super::{Env, Firmware};
use super::cq::NewCqe;
use super::inet::{self, fold, sum};
use super::wq;
use crate::model::wire::RxOutcome;

/// The checksum fields of a received frame whose layers are `layers`
/// (`inet::parse`'s, taken once per frame): (`check_sum`, `hds_ip_ext`).
pub fn checksums(frame: &[u8], layers: Option<inet::Layers>) -> (u16, u8) {
    let mut ok = hds_ip_ext::L2_OK;
    let Some((l, end)) = layers.and_then(|l| Some((l, l.end?))) else {
        return (
            fold(sum(frame.get(inet::l2(frame).1..).unwrap_or_default(), 0)),
            ok,
        );
    };
    match l.ip {
        inet::Ip::V4 { ihl } => {
            if fold(sum(&frame[l.l3..l.l3 + ihl], 0)) == 0xFFFF {
                ok |= hds_ip_ext::L3_OK;
            }
        }
        inet::Ip::V6 => ok |= hds_ip_ext::L3_OK,
    }
    let l4 = &frame[l.l4..end];
    let l4_ok = match l.proto {
        inet::IPPROTO_TCP | inet::IPPROTO_UDP if !l4.is_empty() && !l.fragment => {
            let udp_unchecked = l.proto == inet::IPPROTO_UDP && l4.get(6..8) == Some(&[0, 0]);
            udp_unchecked || fold(sum(l4, inet::pseudo(frame, &l, l4.len()))) == 0xFFFF
        }
        _ => false,
    };
    if l4_ok {
        ok |= hds_ip_ext::L4_OK;
    }
    (fold(sum(&frame[l.l3..end], 0)), ok)
}

/// The CQE's `l4_l3_hdr_type`: the L3 type, and the L4 type of an
/// unfragmented TCP or UDP packet (a TCP segment by its ACK flag and
/// payload), for a frame whose layers are `layers`. The VLAN bit (0) is the
/// caller's: set when it stripped a tag.
pub fn hdr_type(frame: &[u8], layers: Option<inet::Layers>) -> u8 {
    use cxu_hal::ifc::cqe::l4_l3_hdr_type as t;
    let Some(l) = layers else {
        return 0;
    };
    let l3 = match l.ip {
        inet::Ip::V4 { .. } => t::L3_IPV4,
        inet::Ip::V6 => t::L3_IPV6,
    };
    let end = l.end.unwrap_or(frame.len());
    let l4 = match (l.proto, frame.get(l.l4..end)) {
        _ if l.fragment => 0,
        (inet::IPPROTO_UDP, Some(u)) if u.len() >= inet::UDP_HDR => t::L4_UDP,
        (inet::IPPROTO_TCP, Some(h)) if h.len() >= inet::TCP_HDR => {
            let doff = usize::from(h[12] >> 4) * 4;
            match (h[13] & 0x10 != 0, h.len() > doff) {
                (false, _) => t::L4_TCP_NO_ACK,
                (true, false) => t::L4_TCP_ACK_NO_DATA,
                (true, true) => t::L4_TCP_ACK_AND_DATA,
            }
        }
        _ => 0,
    };
    l3 | l4
}

/// `frame` without the 802.1Q tag after its MAC addresses, and the tag's
/// TCI; None if it has none.
fn strip_vlan(frame: &[u8]) -> Option<(Vec<u8>, u16)> {
    let addrs = inet::ETH_ADDRS;
    let tag = frame.get(addrs..addrs + 4)?;
    if tag[..2] != [0x81, 0x00] || frame.len() < addrs + 4 + 2 {
        return None;
    }
    let tci = u16::from_be_bytes([tag[2], tag[3]]);
    Some(([&frame[..addrs], &frame[addrs + 4..]].concat(), tci))
}

impl Firmware {
    /// Delivers `frame` to port `port` (1-based).
    pub fn receive(&mut self, env: &Env<'_>, port: u8, frame: &[u8]) -> RxOutcome {
        let outcome = self.receive_inner(env, port, frame);
        let delivered = matches!(outcome, RxOutcome::Delivered { .. });
        if delivered {
            self.eth.vport_counters.count_rx(frame);
        }
        env.ctl
            .wire
            .lock()
            .received(delivered.then_some(frame.len()));
        outcome
    }

    fn receive_inner(&mut self, env: &Env<'_>, port: u8, frame: &[u8]) -> RxOutcome {
        if port != 1 {
            return RxOutcome::NoPort;
        }
        if frame.len() < inet::ETH_ADDRS + 2 {
            return RxOutcome::Runt;
        }
        let Some((target, rq)) = self
            .eth
            .rx_rq(frame)
            .and_then(|t| Some((t, self.queues.rqs.get(&t.rqn)?)))
            .filter(|(_, r)| r.state == state::RDY && r.wq.wq_type == wq_type::CYCLIC)
        else {
            return RxOutcome::NoQueue;
        };
        let (rqn, hash) = (target.rqn, target.hash);
        // An 802.1Q tag right after the MAC addresses goes into the CQE
        // (`vlan_info`) when the RQ strips (`vsd` clear), as mlx5e's
        // NETIF_F_HW_VLAN_CTAG_RX expects; the buffer gets the frame without it.
        let stripped = rq.strips_vlan().then(|| strip_vlan(frame)).flatten();
        let (frame, vlan): (&[u8], _) = match &stripped {
            Some((f, tci)) => (f, Some(*tci)),
            None => (frame, None),
        };
        let pc = wq::read_be32(env, rq.wq.dbr + dbr::RCV).unwrap_or(0) as u16;
        let (cc, cqn, pd) = (rq.cc, rq.cqn, rq.wq.pd);
        if pc == cc {
            let set = rq.counter_set();
            if let Ok(c) = self.eth.q_counters.get_mut(set) {
                c.out_of_buffer = c.out_of_buffer.wrapping_add(1);
            }
            return RxOutcome::OutOfBuffer { rqn };
        }
        let stride = 1usize << rq.wq.buf.log_stride;
        let mut wqe = vec![0u8; stride];
        let read = rq
            .wq
            .buf
            .entry_addr(u32::from(cc))
            .is_some_and(|a| env.iommu.read(a, &mut wqe).is_ok());
        // The scatter list: (lkey, addr, room) until the invalid lkey.
        let segs: Vec<(u32, u64, usize)> = wqe
            .chunks_exact(SEND_WQE_DS)
            .map(|s| {
                (
                    data_seg::LKEY.get(s).unwrap_or(0) as u32,
                    data_seg::ADDR.get(s).unwrap_or(0),
                    // Bit 31 is `MLX5_HW_START_PADDING` (mlx5e sets it).
                    (data_seg::BYTE_COUNT.get(s).unwrap_or(0) & 0x7FFF_FFFF) as usize,
                )
            })
            .take_while(|&(lkey, _, _)| lkey != data_seg::INVALID_LKEY)
            .collect();
        let room = segs.iter().map(|s| s.2).sum::<usize>();
        if read && room < frame.len() {
            tracing::info!(
                rqn,
                cc,
                pc,
                ?segs,
                len = frame.len(),
                "received frame longer than the WQE: dropped"
            );
            return RxOutcome::TooLong { rqn, room };
        }
        let mut body = [0u8; cqe::CQE64_SIZE];
        let _ = cqe::QPN.set(&mut body, u64::from(rqn));
        let _ = cqe::WQE_COUNTER.set(&mut body, u64::from(cc));
        let mut left = frame;
        let mut fault = !read;
        for &(lkey, addr, room) in &segs {
            if left.is_empty() || fault {
                break;
            }
            let n = room.min(left.len());
            if !self.eth.lkey_valid(lkey, pd) || env.iommu.write(addr, &left[..n]).is_err() {
                fault = true;
            }
            left = &left[n..];
        }
        if let Some(rq) = self.queues.rqs.get_mut(&rqn) {
            rq.cc = cc.wrapping_add(1);
            if fault {
                rq.state = state::ERR;
            } else {
                rq.received += 1;
            }
        }
        if fault {
            tracing::warn!(
                rqn,
                cc,
                "receive WQE with a bad lkey or address: RQ to error"
            );
            let _ = cqe::ERR_SYNDROME.set(&mut body, u64::from(cqe::syndrome::LOCAL_PROT_ERR));
            let e = NewCqe {
                body,
                opcode: cqe::opcode::RESP_ERR,
                solicited: false,
            };
            self.post_cqe(env, cqn, &e);
            return RxOutcome::WqeError { rqn };
        }
        let layers = inet::parse(frame);
        let (check_sum, ok) = checksums(frame, layers);
        let _ = cqe::RSS_HASH_RESULT.set(&mut body, u64::from(hash.value));
        let _ = cqe::RSS_HASH_TYPE.set(&mut body, u64::from(hash.kind));
        let vlan_bit = if vlan.is_some() {
            cqe::l4_l3_hdr_type::VLAN
        } else {
            0
        };
        let _ = cqe::L4_L3_HDR_TYPE.set(&mut body, u64::from(hdr_type(frame, layers) | vlan_bit));
        let _ = cqe::VLAN_INFO.set(&mut body, u64::from(vlan.unwrap_or(0)));
        let _ = cqe::BYTE_CNT.set(&mut body, frame.len() as u64);
        let _ = cqe::CHECK_SUM.set(&mut body, u64::from(check_sum));
        let _ = cqe::HDS_IP_EXT.set(&mut body, u64::from(ok));
        let e = NewCqe {
            body,
            opcode: cqe::opcode::RESP_SEND,
            solicited: false,
        };
        self.post_cqe(env, cqn, &e);
        RxOutcome::Delivered {
            rqn,
            wqe_counter: cc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_of_an_ipv4_udp_frame() {
        // 14 bytes Ethernet, 20 IPv4 (checksum 0xB861), 8 UDP + 2 bytes.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let ip = [
            0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        let mut ip = ip.to_vec();
        let c = !fold(sum(&ip, 0));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        let mut udp = vec![0x12, 0x34, 0x56, 0x78, 0, 10, 0, 0, 0xAB, 0xCD];
        let pseudo = sum(&ip[12..20], 17 + 10);
        let c = !fold(sum(&udp, pseudo));
        udp[6..8].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&udp);
        f.extend_from_slice(&[0xEE; 4]); // Ethernet padding: not in check_sum.
        let (cs, ok) = checksums(&f, inet::parse(&f));
        assert_eq!(cs, fold(sum(&f[14..44], 0)));
        assert_eq!(
            ok,
            hds_ip_ext::L2_OK | hds_ip_ext::L3_OK | hds_ip_ext::L4_OK
        );
        f[43] ^= 1;
        assert_eq!(
            checksums(&f, inet::parse(&f)).1,
            hds_ip_ext::L2_OK | hds_ip_ext::L3_OK
        );
        f[14 + 8] ^= 1; // the TTL: the IPv4 header checksum breaks
        assert_eq!(checksums(&f, inet::parse(&f)).1 & hds_ip_ext::L3_OK, 0);
    }
}
