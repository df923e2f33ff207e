//! Mailbox blocks (`struct mlx5_cmd_prot_block`, 576 bytes, reference §3.3) and how
//! a command message is split between the entry's 16 inline bytes and a chain of
//! blocks of 512 data bytes each.

use std::ops::Range;

use super::cmd_entry::{xor8, INLINE_SIZE};
use super::error::{check_len, Error, Result};
use super::field::{need, Field};

/// Size of one mailbox block.
pub const BLOCK_SIZE: usize = 576;
/// Data bytes per block (`MLX5_CMD_DATA_BLOCK_SIZE`).
pub const DATA_SIZE: usize = 512;
/// Alignment of each block: the kernel's DMA pool uses `roundup_pow_of_two(576)`.
/// Delivery statuses 4/5 report misaligned output/input pointers.
pub const BLOCK_ALIGN: usize = 1024;

/// `next` (BE64 at 0x230): DMA address of the next block, 0 in the last.
pub const NEXT: Field = Field::be64_at("next", 0x230);
/// `block_num` (BE32 at 0x238): 0 for the first block, then increasing.
pub const BLOCK_NUM: Field = Field::be32_at("block_num", 0x238);
/// `token` (byte 0x23D): same as the entry token.
pub const TOKEN: Field = Field::u8_at("token", 0x23D);
/// `ctrl_sig` (byte 0x23E): `~XOR(0x200..0x23E)`.
pub const CTRL_SIG: Field = Field::u8_at("ctrl_sig", 0x23E);
/// `sig` (byte 0x23F): `~XOR(0x000..0x23F)`.
pub const SIG: Field = Field::u8_at("sig", 0x23F);
/// Offset of the reserved area after the data (48 bytes).
pub const RSVD0: usize = 0x200;
/// Offset of `ctrl_sig`.
pub const CTRL_SIG_OFFSET: usize = 0x23E;
/// Offset of `sig`.
pub const SIG_OFFSET: usize = 0x23F;

/// The control part of a block (everything but the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockCtrl {
    /// DMA address of the next block (0 = last).
    pub next: u64,
    /// Position in the chain.
    pub block_num: u32,
    /// Command token.
    pub token: u8,
    /// Control signature as stored.
    pub ctrl_sig: u8,
    /// Block signature as stored.
    pub sig: u8,
}

impl BlockCtrl {
    /// The control part of block `block_num` of a chain with `token`, whose
    /// next block is at `next` (`None` for the last); signatures unset.
    pub fn chained(block_num: usize, next: Option<u64>, token: u8) -> Self {
        Self {
            next: next.unwrap_or(0),
            // A chain is never longer than the queue's longest message
            // (outlen is 32 bits, a block carries 512 bytes).
            block_num: u32::try_from(block_num).unwrap_or(u32::MAX),
            token,
            ctrl_sig: 0,
            sig: 0,
        }
    }

    /// Reads the control fields of a block (at least 576 bytes).
    pub fn decode(block: &[u8]) -> Result<Self> {
        need("mailbox block", block, BLOCK_SIZE)?;
        Ok(Self {
            next: NEXT.get(block)?,
            block_num: BLOCK_NUM.get32(block)?,
            token: TOKEN.get(block)? as u8,
            ctrl_sig: CTRL_SIG.get(block)? as u8,
            sig: SIG.get(block)? as u8,
        })
    }

    /// Writes `next`, `block_num` and `token` and zeroes the reserved bytes; the
    /// signatures are left zero (call [`sign_block`] if checksums are on).
    pub fn encode_into(&self, block: &mut [u8]) -> Result<()> {
        need("mailbox block", block, BLOCK_SIZE)?;
        block[RSVD0..BLOCK_SIZE].fill(0);
        NEXT.set(block, self.next)?;
        BLOCK_NUM.set(block, u64::from(self.block_num))?;
        TOKEN.set(block, u64::from(self.token))?;
        CTRL_SIG.set(block, u64::from(self.ctrl_sig))?;
        SIG.set(block, u64::from(self.sig))
    }
}

/// The 512 data bytes of a block.
pub fn data(block: &[u8]) -> Result<&[u8]> {
    check_len("mailbox data", block.len(), 0, DATA_SIZE)?;
    Ok(&block[..DATA_SIZE])
}

/// The 512 data bytes of a block, for writing.
pub fn data_mut(block: &mut [u8]) -> Result<&mut [u8]> {
    check_len("mailbox data", block.len(), 0, DATA_SIZE)?;
    Ok(&mut block[..DATA_SIZE])
}

/// `ctrl_sig` for a block: `~XOR(bytes 0x200..0x23E)` (token included).
pub fn ctrl_signature(block: &[u8]) -> Result<u8> {
    need("mailbox block", block, BLOCK_SIZE)?;
    Ok(!xor8(&block[RSVD0..CTRL_SIG_OFFSET]))
}

/// `sig` for a block: `~XOR(bytes 0x000..0x23F)` (ctrl_sig included, so compute it after).
pub fn block_signature(block: &[u8]) -> Result<u8> {
    need("mailbox block", block, BLOCK_SIZE)?;
    Ok(!xor8(&block[..SIG_OFFSET]))
}

/// Computes and stores `ctrl_sig`, then `sig` (`calc_block_sig`).
pub fn sign_block(block: &mut [u8]) -> Result<()> {
    let c = ctrl_signature(block)?;
    block[CTRL_SIG_OFFSET] = c;
    let s = block_signature(block)?;
    block[SIG_OFFSET] = s;
    Ok(())
}

/// Verifies a block as the kernel does (`verify_block_sig`): XOR(0x200..=0x23E) and
/// XOR of all 576 bytes are both 0xFF.
pub fn block_signature_ok(block: &[u8]) -> Result<bool> {
    need("mailbox block", block, BLOCK_SIZE)?;
    Ok(xor8(&block[RSVD0..SIG_OFFSET]) == 0xFF && xor8(&block[..BLOCK_SIZE]) == 0xFF)
}

/// True if `addr` is a valid block address (1024-byte aligned).
pub const fn is_aligned(addr: u64) -> bool {
    addr % BLOCK_ALIGN as u64 == 0
}

/// Number of mailbox blocks for a message of `len` bytes: the first 16 bytes go
/// inline, the rest in `ceil((len - 16) / 512)` blocks.
pub const fn blocks_for_len(len: usize) -> usize {
    len.saturating_sub(INLINE_SIZE).div_ceil(DATA_SIZE)
}

/// The byte range of the message carried by block `n` (0-based) of a `len`-byte
/// message. Block n holds bytes `16 + 512n .. min(len, 16 + 512(n+1))`.
pub fn block_range(len: usize, n: usize) -> Result<Range<usize>> {
    if n >= blocks_for_len(len) {
        return Err(Error::BadValue {
            what: "mailbox block index",
            value: n as u64,
            expected: "less than blocks_for_len(len)",
        });
    }
    let start = INLINE_SIZE + n * DATA_SIZE;
    Ok(start..len.min(start + DATA_SIZE))
}

/// Message bytes carried inline in the entry: `0..min(len, 16)`.
pub const fn inline_range(len: usize) -> Range<usize> {
    0..if len < INLINE_SIZE { len } else { INLINE_SIZE }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_arithmetic_matches_the_reference_examples() {
        assert_eq!(blocks_for_len(0), 0);
        assert_eq!(blocks_for_len(16), 0);
        assert_eq!(blocks_for_len(17), 1);
        assert_eq!(blocks_for_len(16 + 512), 1);
        assert_eq!(blocks_for_len(16 + 513), 2);
        // QUERY_HCA_CAP output: 16 + 4096 bytes -> 8 blocks.
        assert_eq!(blocks_for_len(4112), 8);
        // MANAGE_PAGES with N pages: 16 + 8N bytes -> ceil(N/64) blocks.
        for n in [1usize, 63, 64, 65, 128, 768] {
            assert_eq!(blocks_for_len(16 + 8 * n), n.div_ceil(64));
        }
        assert_eq!(block_range(4112, 7), Ok(16 + 7 * 512..4112));
        assert_eq!(block_range(100, 0), Ok(16..100));
        assert!(block_range(100, 1).is_err());
        assert_eq!(inline_range(8), 0..8);
        assert_eq!(inline_range(4112), 0..16);
    }

    #[test]
    fn signed_block_verifies_and_ctrl_round_trips() {
        let mut b = vec![0xA5u8; BLOCK_SIZE];
        let ctrl = BlockCtrl {
            next: 0x2000,
            block_num: 3,
            token: 0x77,
            ctrl_sig: 0,
            sig: 0,
        };
        ctrl.encode_into(&mut b).unwrap();
        assert!(b[0x200..0x230].iter().all(|&x| x == 0));
        sign_block(&mut b).unwrap();
        assert_eq!(block_signature_ok(&b), Ok(true));
        let d = BlockCtrl::decode(&b).unwrap();
        assert_eq!((d.next, d.block_num, d.token), (0x2000, 3, 0x77));
        b[5] ^= 0x10;
        assert_eq!(block_signature_ok(&b), Ok(false));
        assert!(BlockCtrl::decode(&b[..575]).is_err());
        assert!(is_aligned(0x4_0400) && !is_aligned(0x4_0240));
    }
}
