//! Completion queue entries (`struct mlx5_cqe64`, `device.h`; `cq.h`): 64
//! bytes, or the second half of a 128-byte CQE (`cqe_sz` 1). Firmware writes
//! CQE `pi` at `(pi mod size) * cqe_size` with owner bit
//! `(pi >> log_size) & 1` in the last byte (`op_own`: opcode in bits 7:4,
//! owner in bit 0), which it writes last; software initialises every
//! `op_own` to 0xF1 (invalid opcode, owner 1), so the first pass writes 0.

use super::field::Field;

/// Size of the CQE fields (the last 64 bytes of a 128-byte CQE).
pub const CQE64_SIZE: usize = 64;
/// `rss_hash_result`: the RSS hash of a received frame.
pub const RSS_HASH_RESULT: Field = Field::be32_at("rss_hash_result", 0x0C);
/// `rss_hash_type`: which fields the hash covered (`CQE_RSS_HTYPE_*`).
pub const RSS_HASH_TYPE: Field = Field::u8_at("rss_hash_type", 0x10);
/// `rss_hash_type` values (`device.h`): the IP type in bits 3:2, the L4
/// type in bits 7:6 (`mlx5e_skb_set_hash` reads these two).
pub mod rss_hash_type {
    /// IPv4 addresses hashed (`CQE_RSS_IPV4 << 2`).
    pub const IPV4: u8 = 1 << 2;
    /// IPv6 addresses hashed.
    pub const IPV6: u8 = 2 << 2;
    /// TCP ports hashed (`CQE_RSS_L4_TCP << 6`).
    pub const TCP: u8 = 1 << 6;
    /// UDP ports hashed.
    pub const UDP: u8 = 2 << 6;
}
/// `l4_l3_hdr_type` values: `CQE_L4_HDR_TYPE_*` in bits 6:4 and the L3 type
/// (rdma-core's `MLX5_CQE_L3_HDR_TYPE_*`) in bits 3:2.
pub mod l4_l3_hdr_type {
    /// The 802.1Q tag was stripped into `vlan_info` (`cqe_has_vlan`).
    pub const VLAN: u8 = 1 << 0;
    /// IPv6.
    pub const L3_IPV6: u8 = 1 << 2;
    /// IPv4.
    pub const L3_IPV4: u8 = 2 << 2;
    /// TCP without ACK.
    pub const L4_TCP_NO_ACK: u8 = 1 << 4;
    /// UDP.
    pub const L4_UDP: u8 = 2 << 4;
    /// TCP, ACK and no data.
    pub const L4_TCP_ACK_NO_DATA: u8 = 3 << 4;
    /// TCP, ACK and data.
    pub const L4_TCP_ACK_AND_DATA: u8 = 4 << 4;
}
/// `check_sum`: the ones' complement sum (not inverted) of the received
/// frame's bytes after the Ethernet header, as mlx5e takes it for
/// CHECKSUM_COMPLETE.
pub const CHECK_SUM: Field = Field::be16_at("check_sum", 0x14);
/// `hds_ip_ext`: the `CQE_L2_OK` / `CQE_L3_OK` / `CQE_L4_OK` bits.
pub const HDS_IP_EXT: Field = Field::u8_at("hds_ip_ext", 0x1C);
/// `l4_l3_hdr_type`: L4 type (6:4), L3 type (3:2), VLAN stripped (0).
pub const L4_L3_HDR_TYPE: Field = Field::u8_at("l4_l3_hdr_type", 0x1D);
/// `vlan_info`: the TCI of the stripped 802.1Q tag.
pub const VLAN_INFO: Field = Field::be16_at("vlan_info", 0x1E);
/// `srqn`: LRO segment count (31:24) and SRQ number.
pub const SRQN: Field = Field::be32_at("srqn", 0x20);
/// `hds_ip_ext` bits (`CQE_L*_OK`, `device.h`).
pub mod hds_ip_ext {
    /// The L2 header is well formed.
    pub const L2_OK: u8 = 1 << 0;
    /// The IPv4 header checksum is right (or the packet is IPv6).
    pub const L3_OK: u8 = 1 << 1;
    /// The TCP / UDP checksum is right.
    pub const L4_OK: u8 = 1 << 2;
}
/// `byte_cnt`: bytes received (responder CQEs).
pub const BYTE_CNT: Field = Field::be32_at("byte_cnt", 0x2C);
/// `sop_drop_qpn`: the WQE's opcode (requester) in bits 31:24, the queue
/// number in bits 23:0.
pub const SOP_DROP_QPN: Field = Field::be32_at("sop_drop_qpn", 0x38);
/// The queue number (SQ or RQ) the CQE completes a WQE of.
pub const QPN: Field = Field::new("qpn", 0x38, 0, 24);
/// The requester WQE's opcode.
pub const SOP: Field = Field::new("sop", 0x38, 24, 8);
/// `wqe_counter`: the WQE counter (in basic blocks) of the completed WQE.
pub const WQE_COUNTER: Field = Field::be16_at("wqe_counter", 0x3C);
/// `signature`.
pub const SIGNATURE: Field = Field::u8_at("signature", 0x3E);
/// Byte offset of `op_own`.
pub const OP_OWN_OFFSET: usize = 0x3F;
/// Error CQE `syndrome` (`struct mlx5_err_cqe`).
pub const ERR_SYNDROME: Field = Field::u8_at("syndrome", 0x37);
/// Error CQE `vendor_err_synd`.
pub const ERR_VENDOR_SYNDROME: Field = Field::u8_at("vendor_err_synd", 0x36);

/// CQE opcodes (`op_own` bits 7:4, `MLX5_CQE_*`).
pub mod opcode {
    /// Requester: a send WQE completed.
    pub const REQ: u8 = 0;
    /// Responder: a received send.
    pub const RESP_SEND: u8 = 2;
    /// Requester error.
    pub const REQ_ERR: u8 = 13;
    /// Responder error.
    pub const RESP_ERR: u8 = 14;
    /// Not written by firmware (software's initial value).
    pub const INVALID: u8 = 15;
}

/// Error CQE syndromes (`MLX5_CQE_SYNDROME_*`).
pub mod syndrome {
    /// Local QP operation error (a malformed WQE).
    pub const LOCAL_QP_OP_ERR: u8 = 0x02;
    /// Local protection error (a bad address).
    pub const LOCAL_PROT_ERR: u8 = 0x04;
    /// Local length error (a send WQE whose frame, or LSO segment, is too long).
    pub const LOCAL_LENGTH_ERR: u8 = 0x01;
    /// WR flushed (the queue is in error).
    pub const WR_FLUSH_ERR: u8 = 0x05;
}

/// `op_own` for `opcode` with owner bit `owner`.
pub const fn op_own(opcode: u8, owner: u8) -> u8 {
    (opcode << 4) | (owner & 1)
}

/// The CQE opcode of an `op_own` byte.
pub const fn opcode_of(op_own: u8) -> u8 {
    op_own >> 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_where_mlx5_cqe64_puts_them() {
        let mut c = [0u8; CQE64_SIZE];
        QPN.set(&mut c, 0x12345).unwrap();
        SOP.set(&mut c, 0x0A).unwrap();
        WQE_COUNTER.set(&mut c, 0xBEEF).unwrap();
        c[OP_OWN_OFFSET] = op_own(opcode::REQ_ERR, 1);
        assert_eq!(
            &c[0x38..0x40],
            &[0x0A, 0x01, 0x23, 0x45, 0xBE, 0xEF, 0, 0xD1]
        );
        assert_eq!(opcode_of(c[OP_OWN_OFFSET]), opcode::REQ_ERR);
    }
}
