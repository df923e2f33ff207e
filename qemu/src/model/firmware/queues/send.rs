//! The frame a SEND or LSO WQE puts on the wire, gathered as the NIC does:
//! the Ethernet segment's inline headers (`inline_hdr.sz` bytes from
//! `inline_hdr.start` on, across the following 16-byte segments), then each
//! data segment's bytes read from host memory through the IOMMU (or an
//! inline segment's own bytes), then the VLAN tag the Ethernet segment asks
//! to insert. A data segment's `lkey` must name a live mkey of the SQ's PD
//! (mlx5e's is its physical-address key, so `addr` is the IOVA); anything
//! else, or an address the IOMMU refuses, is a local protection error.
//!
//!
//! The gathered frame then goes through the send offloads (`offload.rs`):
//! a SEND's checksums as its `cs_flags` ask; an LSO is cut into frames of
//! at most `mss` payload bytes each, every checksum written.
#![forbid(unsafe_code)]

use cxu_hal::ifc::cqe::syndrome;
use cxu_hal::ifc::wqe::{data_seg, eth_seg, opcode, CTRL_SEG_SIZE, SEND_WQE_DS};

use super::super::eth::Eth;
use super::super::Env;

/// The largest frame a WQE may describe (an LSO of 256 KiB).
pub const MAX_FRAME: usize = 256 * 1024;
/// The shortest frame on the wire, FCS aside (`ETH_ZLEN`).
pub const ETH_ZLEN: usize = 60;
/// Bytes of `inline_hdr.start` inside the Ethernet segment
/// (`INL_HDR_START_SZ`).
const INL_HDR_START_SZ: usize = 2;

/// The frames the SEND or LSO (`op`) WQE whose `ds * 16` bytes are `wqe`
/// puts on the wire, for an SQ of PD `pd`. Err is the error CQE's syndrome.
pub fn frames(env: &Env<'_>, eth: &Eth, pd: u32, op: u8, wqe: &[u8]) -> Result<Vec<Vec<u8>>, u8> {
    let mut frame = gather(env, eth, pd, wqe)?;
    let eseg = wqe.get(eth_seg::OFFSET..).unwrap_or_default();
    let mut frames = if op == opcode::LSO {
        let mss = eth_seg::MSS.get(eseg).unwrap_or(0) as usize;
        super::offload::segment(&frame, mss)?
    } else {
        let flags = eth_seg::CS_FLAGS.get(eseg).unwrap_or(0) as u8;
        super::offload::checksum(&mut frame, flags);
        vec![frame]
    };
    // The MAC pads a short frame to the Ethernet minimum (mlx5e counts such
    // a frame as ETH_ZLEN bytes for the same reason: `mlx5e_txwqe_build_attr`).
    for f in &mut frames {
        if f.len() < ETH_ZLEN {
            f.resize(ETH_ZLEN, 0);
        }
    }
    Ok(frames)
}

/// Gathers the frame of the WQE whose `ds * 16` bytes are `wqe`, for an SQ
/// of PD `pd`. Err is the error CQE's syndrome.
fn gather(env: &Env<'_>, eth: &Eth, pd: u32, wqe: &[u8]) -> Result<Vec<u8>, u8> {
    let eseg = wqe
        .get(eth_seg::OFFSET..eth_seg::OFFSET + SEND_WQE_DS)
        .ok_or(syndrome::LOCAL_QP_OP_ERR)?;
    let get = |f: cxu_hal::ifc::Field| f.get(eseg).unwrap_or(0);
    let sz = get(eth_seg::INLINE_HDR_SZ) as u16;
    let mut frame = Vec::new();
    let (ihs, vlan) = if sz & eth_seg::INSERT_VLAN != 0 {
        let tpid: u16 = if sz & eth_seg::SVLAN != 0 {
            0x88A8
        } else {
            0x8100
        };
        (0, Some((tpid, get(eth_seg::INSERT_VLAN_TCI) as u16)))
    } else {
        (usize::from(sz), None)
    };
    let start = eth_seg::OFFSET + eth_seg::INLINE_HDR_START;
    frame.extend_from_slice(
        wqe.get(start..start + ihs)
            .ok_or(syndrome::LOCAL_QP_OP_ERR)?,
    );
    // Data segments start after the segments the inline bytes spill into.
    let spill = ihs.saturating_sub(INL_HDR_START_SZ).div_ceil(SEND_WQE_DS);
    let mut at = CTRL_SEG_SIZE + SEND_WQE_DS * (1 + spill);
    while at + SEND_WQE_DS <= wqe.len() {
        let seg = &wqe[at..at + SEND_WQE_DS];
        let count = data_seg::BYTE_COUNT.get(seg).unwrap_or(0) as u32;
        if count & data_seg::INLINE != 0 {
            let len = (count & 0x3FF) as usize;
            let bytes = wqe
                .get(at + 4..at + 4 + len)
                .ok_or(syndrome::LOCAL_QP_OP_ERR)?;
            frame.extend_from_slice(bytes);
            at += (4 + len).div_ceil(SEND_WQE_DS) * SEND_WQE_DS;
            continue;
        }
        let len = count as usize;
        let lkey = data_seg::LKEY.get(seg).unwrap_or(0) as u32;
        let addr = data_seg::ADDR.get(seg).unwrap_or(0);
        if frame.len() + len > MAX_FRAME {
            return Err(syndrome::LOCAL_LENGTH_ERR);
        }
        if !eth.lkey_valid(lkey, pd) {
            tracing::warn!(lkey, pd, "send data segment with a bad lkey");
            return Err(syndrome::LOCAL_PROT_ERR);
        }
        let from = frame.len();
        frame.resize(from + len, 0);
        if env.iommu.read(addr, &mut frame[from..]).is_err() {
            return Err(syndrome::LOCAL_PROT_ERR);
        }
        at += SEND_WQE_DS;
    }
    if let Some((tpid, tci)) = vlan {
        if frame.len() < 12 {
            return Err(syndrome::LOCAL_LENGTH_ERR);
        }
        let mut tag = [0u8; 4];
        tag[..2].copy_from_slice(&tpid.to_be_bytes());
        tag[2..].copy_from_slice(&tci.to_be_bytes());
        frame.splice(12..12, tag);
    }
    Ok(frame)
}
