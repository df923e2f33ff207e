//! The command transport: reading a command entry and its mailbox chains from
//! host memory with every check the hardware makes, and writing the output and
//! the status back with the ownership bit cleared last.
//!
//! Checks on fetch, in order, each giving a delivery status (firmware does not
//! run the command): descriptor type (0x10), entry signature when checksums are
//! on (0x01), input/output lengths (0x07/0x08), then for each block of the input
//! chain: a missing block (0x07), alignment to 1 KiB (0x05), token (0x02), block
//! number (0x03), block signatures when checksums are on (0x01); and the same for
//! the output chain (0x08, 0x04, 0x02, 0x03). The walk visits exactly the number
//! of blocks the length needs, so a chain that loops cannot hang the device: its
//! block numbers stop matching.
//!
//! An IOMMU fault while reading a chain fails the command with delivery status
//! 0x05 (input side) or 0x04 (output side), the "bad pointer" statuses; nothing
//! else is written. That choice is the model's: the PRM is not public here.
#![forbid(unsafe_code)]

use cxu_hal::ifc::cmd_entry::{self as ce, ENTRY_SIZE, INLINE_SIZE};
use cxu_hal::ifc::header::HEADER_SIZE;
use cxu_hal::ifc::mailbox::{self as mb, BLOCK_SIZE, DATA_SIZE};
use cxu_hal::ifc::DeliveryStatus;

use super::control::Fault;
use super::iommu::{DmaError, Iommu};

/// Longest input or output message the model accepts (2048 mailbox blocks).
pub const MAX_MSG_LEN: usize = INLINE_SIZE + 2048 * DATA_SIZE;
/// Offset of the control part of a block (`next`, `block_num`, token, signatures).
const CTRL_OFFSET: usize = 0x230;

/// A fetched command: its entry and input, and where its output goes.
#[derive(Clone)]
pub struct Request {
    /// Slot index.
    pub slot: u32,
    /// Reset generation the command was fetched in.
    pub generation: u64,
    /// IOVA of the entry.
    pub entry_addr: u64,
    /// The entry as read.
    pub entry: [u8; ENTRY_SIZE],
    /// The whole input message (inline bytes and block data).
    pub input: Vec<u8>,
    /// IOVAs of the output blocks, in order.
    pub out_blocks: Vec<u64>,
    /// A fault to apply when a delayed command runs.
    pub fault: Option<Fault>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            slot: 0,
            generation: 0,
            entry_addr: 0,
            entry: [0; ENTRY_SIZE],
            input: Vec::with_capacity(4096),
            out_blocks: Vec::with_capacity(16),
            fault: None,
        }
    }
}

impl Request {
    /// The command token.
    pub fn token(&self) -> u8 {
        self.entry[0x3C]
    }

    /// Output length the driver allows.
    pub fn outlen(&self) -> usize {
        ce::OUTLEN.get(&self.entry).unwrap_or(0) as usize
    }
}

/// What fetching a slot found.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetch {
    /// A well-formed command: execute it.
    Run,
    /// The entry is not HW-owned: nothing to do.
    NotOwned,
    /// The entry itself could not be read: the command is lost.
    Lost(DmaError),
    /// Reject with this delivery status.
    Reject(DeliveryStatus),
}

fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn be64(b: &[u8], off: usize) -> u64 {
    (u64::from(be32(b, off)) << 32) | u64::from(be32(b, off + 4))
}

/// Reads the entry at `entry_addr` and its chains into `req`.
pub fn fetch(iommu: &Iommu, checksum: bool, entry_addr: u64, req: &mut Request) -> Fetch {
    req.entry_addr = entry_addr;
    req.fault = None;
    if let Err(e) = iommu.read(entry_addr, &mut req.entry) {
        return Fetch::Lost(e);
    }
    let e = &req.entry;
    if !ce::owner_is_hw(e[ce::STATUS_OWN_OFFSET]) {
        return Fetch::NotOwned;
    }
    if e[0] != ce::PCI_CMD_XPORT {
        return Fetch::Reject(DeliveryStatus::BAD_TYPE);
    }
    if checksum && !ce::signature_ok(e) {
        return Fetch::Reject(DeliveryStatus::SIGNATURE_ERR);
    }
    let inlen = be32(e, 0x04) as usize;
    let in_ptr = be64(e, 0x08);
    let out_ptr = be64(e, 0x30);
    let outlen = be32(e, 0x38) as usize;
    let token = e[0x3C];
    if !(HEADER_SIZE..=MAX_MSG_LEN).contains(&inlen) {
        return Fetch::Reject(DeliveryStatus::INPUT_LEN_ERR);
    }
    if !(HEADER_SIZE..=MAX_MSG_LEN).contains(&outlen) {
        return Fetch::Reject(DeliveryStatus::OUTPUT_LEN_ERR);
    }

    req.input.clear();
    req.input.resize(inlen, 0);
    let inline = inlen.min(INLINE_SIZE);
    req.input[..inline].copy_from_slice(&req.entry[ce::IN_INLINE..ce::IN_INLINE + inline]);
    let mut block = [0u8; BLOCK_SIZE];
    let mut ptr = in_ptr;
    for n in 0..mb::blocks_for_len(inlen) {
        if ptr == 0 {
            return Fetch::Reject(DeliveryStatus::INPUT_LEN_ERR);
        }
        if !mb::is_aligned(ptr) {
            return Fetch::Reject(DeliveryStatus::INPUT_POINTER_NOT_ALIGNED);
        }
        if iommu.read(ptr, &mut block).is_err() {
            return Fetch::Reject(DeliveryStatus::INPUT_POINTER_NOT_ALIGNED);
        }
        if let Some(ds) = check_ctrl(&block[CTRL_OFFSET..], token, n) {
            return Fetch::Reject(ds);
        }
        if checksum && !mb::block_signature_ok(&block).unwrap_or(false) {
            return Fetch::Reject(DeliveryStatus::SIGNATURE_ERR);
        }
        let start = INLINE_SIZE + n * DATA_SIZE;
        let end = inlen.min(start + DATA_SIZE);
        req.input[start..end].copy_from_slice(&block[..end - start]);
        ptr = be64(&block, CTRL_OFFSET);
    }

    req.out_blocks.clear();
    let mut ctrl = [0u8; BLOCK_SIZE - CTRL_OFFSET];
    let mut ptr = out_ptr;
    for n in 0..mb::blocks_for_len(outlen) {
        if ptr == 0 {
            return Fetch::Reject(DeliveryStatus::OUTPUT_LEN_ERR);
        }
        if !mb::is_aligned(ptr) {
            return Fetch::Reject(DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED);
        }
        if iommu
            .read(ptr.wrapping_add(CTRL_OFFSET as u64), &mut ctrl)
            .is_err()
        {
            return Fetch::Reject(DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED);
        }
        if let Some(ds) = check_ctrl(&ctrl, token, n) {
            return Fetch::Reject(ds);
        }
        req.out_blocks.push(ptr);
        ptr = be64(&ctrl, 0);
    }
    Fetch::Run
}

/// Checks a block's control part (16 bytes from 0x230): token and block number.
fn check_ctrl(ctrl: &[u8], token: u8, n: usize) -> Option<DeliveryStatus> {
    let block_num = be32(ctrl, 0x08) as usize;
    if ctrl[0x0D] != token {
        Some(DeliveryStatus::TOKEN_ERR)
    } else if block_num != n {
        Some(DeliveryStatus::BAD_BLOCK_NUMBER)
    } else {
        None
    }
}

/// Outcome of writing a completion.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Output and status written, ownership returned.
    Done(DeliveryStatus),
    /// The entry could not be written: the command stays HW-owned.
    Lost(DmaError),
}

/// Writes the output message `out` (header included; empty for a delivery
/// error) and returns the entry to software. `ds` is the delivery status;
/// an IOMMU fault on an output block turns it into 0x04 and stops the output.
/// `handing_over` runs with the final status just before ownership returns,
/// so that whatever it records is visible to a driver that sees the entry.
pub fn complete(
    iommu: &Iommu,
    checksum: bool,
    req: &Request,
    mut ds: DeliveryStatus,
    out: &[u8],
    fault: Option<Fault>,
    handing_over: impl FnOnce(DeliveryStatus),
) -> Written {
    let outlen = req.outlen();
    let token = match fault {
        Some(Fault::BadToken) => !req.token(),
        _ => req.token(),
    };
    let bad_sig = fault == Some(Fault::BadSignature);
    let looped = fault == Some(Fault::LoopedOutputChain);
    if fault == Some(Fault::StrayDma)
        && ds == DeliveryStatus::OK
        && iommu.write(super::control::STRAY_IOVA, &[0u8; 64]).is_err()
    {
        ds = DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED;
    }
    if ds == DeliveryStatus::OK && fault != Some(Fault::SkipOutputBlocks) {
        let rewrite_ctrl = checksum || bad_sig || looped || token != req.token();
        let mut block = [0u8; BLOCK_SIZE];
        for (n, &ptr) in req.out_blocks.iter().enumerate() {
            let start = INLINE_SIZE + n * DATA_SIZE;
            let end = outlen.min(start + DATA_SIZE);
            if rewrite_ctrl && iommu.read(ptr, &mut block).is_err() {
                ds = DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED;
                break;
            }
            block[..DATA_SIZE].fill(0);
            if start < out.len() {
                let have = out.len().min(end);
                block[..have - start].copy_from_slice(&out[start..have]);
            }
            let res = if rewrite_ctrl {
                block[CTRL_OFFSET + 0x0D] = token;
                if looped {
                    block[CTRL_OFFSET..CTRL_OFFSET + 8].copy_from_slice(&ptr.to_be_bytes());
                }
                if checksum || bad_sig {
                    let _ = mb::sign_block(&mut block);
                }
                if bad_sig {
                    block[mb::SIG_OFFSET] ^= 0x5A;
                }
                iommu.write(ptr, &block)
            } else {
                iommu.write(ptr, &block[..end - start])
            };
            if res.is_err() {
                ds = DeliveryStatus::OUTPUT_POINTER_NOT_ALIGNED;
                break;
            }
        }
    }

    let mut e = req.entry;
    if ds == DeliveryStatus::OK || !out.is_empty() {
        let n = out.len().min(INLINE_SIZE).min(outlen);
        e[ce::OUT_INLINE..ce::OUT_INLINE + INLINE_SIZE].fill(0);
        e[ce::OUT_INLINE..ce::OUT_INLINE + n].copy_from_slice(&out[..n]);
    }
    if let Some(Fault::OversizedOutput { extra }) = fault {
        let v = (outlen as u32).saturating_add(extra);
        e[0x38..0x3C].copy_from_slice(&v.to_be_bytes());
    }
    e[0x3C] = token;
    e[ce::STATUS_OWN_OFFSET] = ce::status_own(ds, false);
    if checksum || bad_sig {
        ce::sign(&mut e);
    }
    if bad_sig {
        e[ce::SIG_OFFSET] ^= 0x5A;
    }
    // Everything but status_own first; status_own (ownership) last, released.
    let a = req.entry_addr;
    if let Err(err) = iommu.write(
        a.wrapping_add(ce::OUT_INLINE as u64),
        &e[ce::OUT_INLINE..ce::STATUS_OWN_OFFSET],
    ) {
        return Written::Lost(err);
    }
    handing_over(ds);
    if let Err(err) = iommu.write_u8_release(
        a.wrapping_add(ce::STATUS_OWN_OFFSET as u64),
        e[ce::STATUS_OWN_OFFSET],
    ) {
        return Written::Lost(err);
    }
    Written::Done(ds)
}
