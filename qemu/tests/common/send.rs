//! An SQ and its CQ in RDY on a set-up function ([`path`]), and the send
//! WQEs the data-path tests post on it as mlx5e builds them.

use super::queues::*;
use super::*;
use cxu_hal::ifc::cqe;
use cxu_hal::ifc::doorbell::{cq_arm_word, CQ_DB_REQ_NOT};
use cxu_hal::ifc::wqe::{self, fm_ce_se, opcode};
use cxu_hal::ifc::Opcode;

/// Doorbell records: the CQ's at 0, the SQ's at 64 (send counter at +4).
pub const CQ_DBR: usize = 0;
pub const SQ_DBR: usize = 64;
/// CQ of 4 entries, SQ of 8 basic blocks.
pub const LOG_CQ: u8 = 2;
pub const LOG_SQ: u8 = 3;

pub struct Path {
    pub s: Setup,
    pub cqn: u32,
    pub sqn: u32,
}

pub fn path() -> Path {
    let s = setup();
    // Software's initial CQEs: invalid opcode, owner 1.
    for i in 0..(1usize << LOG_CQ) {
        s.cqmem.write(i * 64 + 63, &[0xF1]);
    }
    let c = s.h.exec(
        &cq_in(LOG_CQ, s.uar, s.eqn, &s.cqmem, s.dbr.addr(CQ_DBR)),
        16,
    );
    c.ok();
    let cqn = c.be32(0x08) & 0xFF_FFFF;
    let q =
        s.h.exec(&sq_in(LOG_SQ, s.uar, cqn, &s.wqmem, s.dbr.addr(SQ_DBR)), 16);
    q.ok();
    let sqn = q.be32(0x08) & 0xFF_FFFF;
    s.h.exec(&modify(Opcode::MODIFY_SQ, sqn, 0, 1), 16).ok();
    Path { s, cqn, sqn }
}

impl Path {
    /// Writes a WQE's control segment at counter `pc` (ring position).
    pub fn wqe(&self, pc: u16, op: u8, ds: u8, flags: u8) -> [u8; 8] {
        self.wqe_for(pc, self.sqn, op, ds, flags)
    }

    pub fn wqe_for(&self, pc: u16, sqn: u32, op: u8, ds: u8, flags: u8) -> [u8; 8] {
        let mut c = [0u8; wqe::CTRL_SEG_SIZE];
        wqe::OPCODE.set(&mut c, op.into()).unwrap();
        wqe::WQE_INDEX.set(&mut c, pc.into()).unwrap();
        wqe::QPN.set(&mut c, sqn.into()).unwrap();
        wqe::DS.set(&mut c, ds.into()).unwrap();
        wqe::FM_CE_SE.set(&mut c, flags.into()).unwrap();
        let at = usize::from(pc & ((1 << LOG_SQ) - 1)) * 64;
        self.s.wqmem.write(at, &c);
        c[..8].try_into().unwrap()
    }

    /// `mlx5e_notify_hw`: the producer counter in the doorbell record, then
    /// the WQE's first 8 bytes to the BlueFlame register.
    pub fn ring(&self, pc: u16, ctrl: [u8; 8]) {
        self.s.dbr.write(SQ_DBR + 4, &u32::from(pc).to_be_bytes());
        self.s.h.bar.write64_be(
            u64::from(self.s.uar) * 4096 + 0x800,
            u64::from_be_bytes(ctrl),
        );
    }

    /// `mlx5_cq_arm`: the arm word in the record, then `{word, cqn}` at 0x20.
    pub fn arm(&self, sn: u32, ci: u32) {
        let word = cq_arm_word(sn, CQ_DB_REQ_NOT, ci);
        self.s.dbr.write(CQ_DBR + 4, &word.to_be_bytes());
        self.s.h.bar.write64_be(
            u64::from(self.s.uar) * 4096 + 0x20,
            (u64::from(word) << 32) | u64::from(self.cqn),
        );
    }

    /// Software consumed CQEs up to `ci` (`mlx5_cq_set_ci`).
    pub fn set_ci(&self, ci: u32) {
        self.s.dbr.write(CQ_DBR, &(ci & 0xFF_FFFF).to_be_bytes());
    }

    /// (opcode, owner, wqe_counter, qpn) of CQE `i`.
    pub fn cqe(&self, i: usize) -> (u8, u8, u16, u32) {
        let b = self.s.cqmem.read((i % (1 << LOG_CQ)) * 64, 64);
        (
            cqe::opcode_of(b[cqe::OP_OWN_OFFSET]),
            b[cqe::OP_OWN_OFFSET] & 1,
            cqe::WQE_COUNTER.get(&b).unwrap() as u16,
            cqe::QPN.get(&b).unwrap() as u32,
        )
    }

    pub fn eqes(&self) -> u32 {
        self.s.h.ctl.eqs()[0].producer_index
    }
}

/// `mkey_7_0` of the test's memory key: an lkey is `index << 8 | key`.
pub const KEY: u8 = 0x5A;

/// CREATE_MKEY of a PA key over all memory on PD `pd` (as mlx5e's
/// `mlx5e_create_mkey`); returns the full lkey.
pub fn pa_mkey(h: &Harness, pd: u32) -> u32 {
    use cxu_hal::ifc::commands::transport as t;
    let mut m = msg(Opcode::CREATE_MKEY, 0, t::CREATE_MKEY_IN_SIZE);
    let k = |f: cxu_hal::ifc::Field| f.at(t::MKC_OFFSET);
    set(&mut m, k(t::mkc::LW), 1);
    set(&mut m, k(t::mkc::LR), 1);
    set(&mut m, k(t::mkc::PD), pd.into());
    set(&mut m, k(t::mkc::LENGTH64), 1);
    set(&mut m, k(t::mkc::QPN), 0xFF_FFFF);
    set(&mut m, k(t::mkc::MKEY_7_0), KEY.into());
    let c = h.exec(&m, 16);
    c.ok();
    (t::MKEY_INDEX.get32(&c.out).unwrap() << 8) | u32::from(KEY)
}

/// A data segment: `len` bytes at `addr` under `lkey`.
pub fn dseg(len: u32, lkey: u32, addr: u64) -> [u8; 16] {
    let mut d = [0u8; 16];
    wqe::data_seg::BYTE_COUNT.set(&mut d, len.into()).unwrap();
    wqe::data_seg::LKEY.set(&mut d, lkey.into()).unwrap();
    wqe::data_seg::ADDR.set(&mut d, addr).unwrap();
    d
}

/// Where the send tests keep packet data: past the SQ's ring in its memory.
pub const DATA: usize = 2 * 4096;

/// A SEND as `mlx5e_sq_xmit_wqe` builds it at counter `pc`: `inline`
/// bytes in the Ethernet segment, then one data segment per `(len, lkey,
/// offset in wqmem)`. Returns its first 8 bytes and its block count.
pub fn send_wqe(p: &Path, pc: u16, inline: &[u8], dsegs: &[(u32, u32, usize)]) -> ([u8; 8], u16) {
    post(p, pc, &Eseg::default(), inline, dsegs)
}

/// The Ethernet segment fields [`post`] sets besides the inline header.
#[derive(Clone, Copy, Debug, Default)]
pub struct Eseg {
    /// The WQE opcode (SEND when 0).
    pub opcode: u8,
    /// `cs_flags`.
    pub cs_flags: u8,
    /// `mss` (LSO).
    pub mss: u16,
    /// `insert.vlan_tci` with `insert.type` INSERT_VLAN (no inline header).
    pub vlan: Option<u16>,
    /// `insert.type` as mlx5e writes it for an 802.1ad skb: INSERT_VLAN
    /// with `MLX5_ETH_WQE_SVLAN` (bit 0, `qp.h`) too.
    pub svlan: bool,
}

/// A SEND or LSO WQE at counter `pc` with `e`'s Ethernet segment, as
/// [`send_wqe`].
pub fn post(
    p: &Path,
    pc: u16,
    e: &Eseg,
    inline: &[u8],
    dsegs: &[(u32, u32, usize)],
) -> ([u8; 8], u16) {
    let spill = inline.len().saturating_sub(2).div_ceil(16);
    let ds = 2 + spill + dsegs.len();
    let mut w = vec![0u8; ds * 16];
    let at = |f: cxu_hal::ifc::Field| f.at(wqe::eth_seg::OFFSET);
    let es = wqe::eth_seg::OFFSET;
    at(wqe::eth_seg::CS_FLAGS)
        .set(&mut w, e.cs_flags.into())
        .unwrap();
    at(wqe::eth_seg::MSS).set(&mut w, e.mss.into()).unwrap();
    if let Some(tci) = e.vlan {
        assert!(inline.is_empty(), "insert.type overlays inline_hdr.sz");
        // qp.h's values, not the hal's constants: this checks those.
        let svlan: u16 = if e.svlan { 1 } else { 0 };
        at(wqe::eth_seg::INLINE_HDR_SZ)
            .set(&mut w, u64::from(0x8000 | svlan))
            .unwrap();
        at(wqe::eth_seg::INSERT_VLAN_TCI)
            .set(&mut w, tci.into())
            .unwrap();
    } else {
        at(wqe::eth_seg::INLINE_HDR_SZ)
            .set(&mut w, inline.len() as u64)
            .unwrap();
    }
    let start = es + wqe::eth_seg::INLINE_HDR_START;
    w[start..start + inline.len()].copy_from_slice(inline);
    for (i, &(len, lkey, off)) in dsegs.iter().enumerate() {
        let at = 32 + 16 * (spill + i);
        w[at..at + 16].copy_from_slice(&dseg(len, lkey, p.s.wqmem.addr(off)));
    }
    // The control segment last (wqe_for writes it), the rest first.
    let at = usize::from(pc & ((1 << LOG_SQ) - 1)) * 64;
    p.s.wqmem.write(at + 16, &w[16..]);
    let op = if e.opcode == 0 {
        opcode::SEND
    } else {
        e.opcode
    };
    let c = p.wqe(pc, op, ds as u8, fm_ce_se::CQ_UPDATE);
    (c, wqe::wqebbs(ds as u32) as u16)
}

/// The ones' complement sum of `b` as big-endian words, folded.
pub fn csum(b: &[u8], mut s: u32) -> u16 {
    for c in b.chunks(2) {
        s += (u32::from(c[0]) << 8) | u32::from(c.get(1).copied().unwrap_or(0));
    }
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    s as u16
}
