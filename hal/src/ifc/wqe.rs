//! Send work queue entries (`qp.h`): a WQE is one or more 64-byte basic
//! blocks (WQEBBs) starting with the 16-byte control segment
//! (`struct mlx5_wqe_ctrl_seg`); its `ds` counts the WQE's 16-byte segments,
//! control segment included. The doorbell is the WQE's first 8 bytes written
//! to the SQ's BlueFlame register in its UAR page (`mlx5e_notify_hw`), after
//! the producer counter in the doorbell record.

use super::field::Field;

/// Size of a send WQE basic block.
pub const SEND_WQE_BB: usize = 64;
/// Size of a WQE data segment (`ds` counts these).
pub const SEND_WQE_DS: usize = 16;
/// Size of the control segment.
pub const CTRL_SEG_SIZE: usize = 16;
/// `opmod_idx_opcode`: opcode modifier (31:24), WQE index (23:8), opcode (7:0).
pub const OPMOD_IDX_OPCODE: Field = Field::be32_at("opmod_idx_opcode", 0x00);
/// The WQE opcode.
pub const OPCODE: Field = Field::new("opcode", 0x00, 0, 8);
/// The WQE's index (the producer counter of its first WQEBB).
pub const WQE_INDEX: Field = Field::new("wqe_index", 0x00, 8, 16);
/// The opcode modifier.
pub const OPMOD: Field = Field::new("opmod", 0x00, 24, 8);
/// `qpn_ds`: the queue number (31:8) and `ds` (5:0).
pub const QPN_DS: Field = Field::be32_at("qpn_ds", 0x04);
/// The SQ number.
pub const QPN: Field = Field::new("qpn", 0x04, 8, 24);
/// The WQE's size in 16-byte segments.
pub const DS: Field = Field::new("ds", 0x04, 0, 6);
/// `fm_ce_se`: fence mode, completion request, solicited event.
pub const FM_CE_SE: Field = Field::u8_at("fm_ce_se", 0x0B);

/// The Ethernet segment (`struct mlx5_wqe_eth_seg`), right after the
/// control segment of a SEND or LSO WQE; offsets are from its start.
pub mod eth_seg {
    use super::Field;

    /// Offset of the Ethernet segment in the WQE.
    pub const OFFSET: usize = super::CTRL_SEG_SIZE;
    /// `cs_flags`: L3 / L4 checksum offload requests.
    pub const CS_FLAGS: Field = Field::u8_at("cs_flags", 0x04);
    /// `mss` (LSO).
    pub const MSS: Field = Field::be16_at("mss", 0x06);
    /// `inline_hdr.sz`: bytes of the frame inlined from `INLINE_HDR_START`
    /// on; overlaid by `insert.type` (bit 15 set: VLAN insertion).
    pub const INLINE_HDR_SZ: Field = Field::be16_at("inline_hdr.sz", 0x0C);
    /// `insert.vlan_tci`, when `insert.type` has [`INSERT_VLAN`].
    pub const INSERT_VLAN_TCI: Field = Field::be16_at("insert.vlan_tci", 0x0E);
    /// Byte offset of `inline_hdr.start`: the inline bytes run from here
    /// across the following 16-byte segments.
    pub const INLINE_HDR_START: usize = 0x0E;
    /// `MLX5_ETH_WQE_INSERT_VLAN` in `insert.type`.
    pub const INSERT_VLAN: u16 = 1 << 15;
    /// `MLX5_ETH_WQE_SVLAN` (`qp.h`: bit 0 of the big-endian `insert.type`,
    /// which mlx5e ORs in for an 802.1ad skb): insert an 802.1ad tag
    /// instead of 802.1Q.
    pub const SVLAN: u16 = 1 << 0;

    /// `cs_flags` bits (`MLX5_ETH_WQE_*_CSUM`, `qp.h`).
    pub mod cs_flags {
        /// Checksum the inner (tunnelled) IPv4 header.
        pub const L3_INNER_CSUM: u8 = 1 << 4;
        /// Checksum the inner (tunnelled) TCP or UDP header.
        pub const L4_INNER_CSUM: u8 = 1 << 5;
        /// Checksum the IPv4 header.
        pub const L3_CSUM: u8 = 1 << 6;
        /// Checksum the TCP or UDP header.
        pub const L4_CSUM: u8 = 1 << 7;
    }
}

/// A data segment (`struct mlx5_wqe_data_seg`): 16 bytes naming host
/// memory; an inline segment (`struct mlx5_wqe_inline_seg`) instead has
/// [`data_seg::INLINE`] in its first dword and the bytes after it.
pub mod data_seg {
    use super::Field;

    /// `byte_count`.
    pub const BYTE_COUNT: Field = Field::be32_at("byte_count", 0x00);
    /// `lkey`: the memory key the address is in.
    pub const LKEY: Field = Field::be32_at("lkey", 0x04);
    /// `addr`.
    pub const ADDR: Field = Field::be64_at("addr", 0x08);
    /// `MLX5_INLINE_SEG`: the segment carries `byte_count & 0x3ff` bytes inline.
    pub const INLINE: u32 = 0x8000_0000;
    /// `MLX5_INVALID_LKEY`: ends a receive WQE's scatter list.
    pub const INVALID_LKEY: u32 = 0x100;
}

/// `fm_ce_se` bits (`MLX5_WQE_CTRL_*`).
pub mod fm_ce_se {
    /// Write a CQE when this WQE completes.
    pub const CQ_UPDATE: u8 = 2 << 2;
    /// Solicited event.
    pub const SOLICITED: u8 = 1 << 1;
}

/// Send WQE opcodes (`MLX5_OPCODE_*`, `device.h`) an Ethernet SQ uses.
pub mod opcode {
    /// No operation (`mlx5e_post_nop`).
    pub const NOP: u8 = 0x00;
    /// Send.
    pub const SEND: u8 = 0x0A;
    /// Send with immediate.
    pub const SEND_IMM: u8 = 0x0B;
    /// Large send offload.
    pub const LSO: u8 = 0x0E;
    /// Set PSV.
    pub const SET_PSV: u8 = 0x20;
    /// Dump (TLS resync).
    pub const DUMP: u8 = 0x23;
    /// User memory registration (striding RQ pages on the ICOSQ).
    pub const UMR: u8 = 0x25;
    /// Enhanced multi-packet send.
    pub const ENHANCED_MPSW: u8 = 0x29;
}

/// The basic blocks a WQE of `ds` segments spans (at least one).
pub const fn wqebbs(ds: u32) -> u32 {
    let n = (ds as usize * SEND_WQE_DS).div_ceil(SEND_WQE_BB) as u32;
    if n == 0 {
        1
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_segment_fields() {
        let mut c = [0u8; CTRL_SEG_SIZE];
        OPCODE.set(&mut c, u64::from(opcode::SEND)).unwrap();
        WQE_INDEX.set(&mut c, 0x1234).unwrap();
        QPN.set(&mut c, 0x56).unwrap();
        DS.set(&mut c, 5).unwrap();
        FM_CE_SE
            .set(&mut c, u64::from(fm_ce_se::CQ_UPDATE))
            .unwrap();
        assert_eq!(&c[..12], &[0, 0x12, 0x34, 0x0A, 0, 0, 0x56, 5, 0, 0, 0, 8]);
        assert_eq!((wqebbs(1), wqebbs(4), wqebbs(5), wqebbs(0)), (1, 1, 2, 1));
    }
}
