//! Mailbox chains: writing an input message into a slot's input blocks and
//! reading an output message back from its output blocks.
//!
//! Each slot keeps its two chains between commands and grows them from the
//! shared [`BlockPool`] on demand, so the hot path allocates no DMA memory once
//! warm. The `next` pointers and block numbers are the driver's own: on
//! completion only the data, the token (every block) and, with checksums on,
//! the signatures are read back and checked.

use cxu_dma::{Block, BlockPool};
use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_SIZE, DATA_SIZE};

use crate::error::Result;

/// Blocks a chain keeps after a command; longer chains give the rest back.
const KEEP_BLOCKS: usize = 16;

/// One chain of mailbox blocks.
#[derive(Default)]
pub(crate) struct Chain {
    blocks: Vec<Block>,
}

/// A problem found in an output block.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BlockFault {
    Token { block: usize, found: u8 },
    Signature { block: usize },
}

impl Chain {
    /// Makes the chain at least `n` blocks long.
    fn reserve(&mut self, pool: &BlockPool, n: usize) -> Result<()> {
        while self.blocks.len() < n {
            self.blocks.push(pool.alloc()?);
        }
        Ok(())
    }

    /// Gives blocks beyond [`KEEP_BLOCKS`] back to the pool.
    pub(crate) fn trim(&mut self) {
        self.blocks.truncate(KEEP_BLOCKS);
    }

    /// Address of the first block, or 0 when the message fits inline.
    fn head(&self, n: usize) -> u64 {
        if n == 0 {
            0
        } else {
            self.blocks[0].iova()
        }
    }

    /// Writes the part of `msg` past the inline bytes into the chain, linked and
    /// stamped with `token`; signs each block if `checksum`. Returns the address
    /// of the first block (0 if none).
    pub(crate) fn write_input(
        &mut self,
        pool: &BlockPool,
        msg: &[u8],
        token: u8,
        checksum: bool,
    ) -> Result<u64> {
        let n = mb::blocks_for_len(msg.len());
        self.reserve(pool, n)?;
        let mut buf = [0u8; BLOCK_SIZE];
        for i in 0..n {
            let range = mb::block_range(msg.len(), i)?;
            let len = range.len();
            buf[..len].copy_from_slice(&msg[range]);
            buf[len..DATA_SIZE].fill(0);
            self.ctrl(i, n, token).encode_into(&mut buf)?;
            if checksum {
                mb::sign_block(&mut buf)?;
            }
            self.blocks[i].view().write_bytes(0, &buf)?;
        }
        Ok(self.head(n))
    }

    /// Prepares the chain for an output of `outlen` bytes: zeroes each block's
    /// data and links and stamps its control part. The data is zeroed as the
    /// kernel does, so a block the device skips reads back as zeros, never as
    /// an earlier command's (maybe another caller's) output. Returns the
    /// address of the first block (0 if none).
    pub(crate) fn prepare_output(
        &mut self,
        pool: &BlockPool,
        outlen: usize,
        token: u8,
        checksum: bool,
    ) -> Result<u64> {
        let n = mb::blocks_for_len(outlen);
        self.reserve(pool, n)?;
        let mut block = [0u8; BLOCK_SIZE];
        for i in 0..n {
            self.ctrl(i, n, token).encode_into(&mut block)?;
            if checksum {
                // The control signature covers only the control part.
                block[mb::CTRL_SIG_OFFSET] = mb::ctrl_signature(&block)?;
            }
            // `block[..DATA_SIZE]` is never written here: it stays zero.
            self.blocks[i].view().write_bytes(0, &block)?;
        }
        Ok(self.head(n))
    }

    fn ctrl(&self, i: usize, n: usize, token: u8) -> BlockCtrl {
        let next = (i + 1 < n).then(|| self.blocks[i + 1].iova());
        BlockCtrl::chained(i, next, token)
    }

    /// Reads the bytes past the 16 inline ones of output from the chain into `out[16..]`,
    /// checking every block's token and, if `checksum`, its signatures.
    pub(crate) fn read_output(
        &self,
        out: &mut [u8],
        token: u8,
        checksum: bool,
    ) -> Result<Option<BlockFault>> {
        let n = mb::blocks_for_len(out.len());
        let mut buf = [0u8; BLOCK_SIZE];
        for i in 0..n {
            let Some(block) = self.blocks.get(i) else {
                // prepare_output reserved n blocks for this length.
                return Err(crate::Error::BadMessage(format!(
                    "output chain has {} blocks, {n} needed",
                    self.blocks.len()
                )));
            };
            block.view().read_bytes(0, &mut buf)?;
            let found = mb::TOKEN.get(&buf)? as u8;
            if found != token {
                return Ok(Some(BlockFault::Token { block: i, found }));
            }
            if checksum && !mb::block_signature_ok(&buf)? {
                return Ok(Some(BlockFault::Signature { block: i }));
            }
            let range = mb::block_range(out.len(), i)?;
            let len = range.len();
            out[range].copy_from_slice(&buf[..len]);
        }
        Ok(None)
    }
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use std::sync::Arc;

    use cxu_dma::DmaContext;
    use cxu_hal::PciFunction;
    use cxu_qemu::model::Profile;
    use cxu_qemu::LocalFunction;

    use super::*;

    fn pool() -> (Arc<LocalFunction>, BlockPool) {
        let f = Arc::new(LocalFunction::new(Profile::default()));
        let pf: Arc<dyn PciFunction> = f.clone();
        let dma = DmaContext::new(pf).unwrap();
        let pool = BlockPool::new(&dma, cxu_dma::BlockPoolConfig::mailboxes(8)).unwrap();
        (f, pool)
    }

    /// Plays the device: writes `data` into the output blocks of `chain`,
    /// stamping each with `tokens[i]`, signed if `sign`.
    fn device_writes(chain: &Chain, data: &[u8], tokens: &[u8], sign: bool) {
        for (i, b) in chain.blocks.iter().enumerate().take(tokens.len()) {
            let mut buf = [0u8; BLOCK_SIZE];
            b.view().read_bytes(0, &mut buf).unwrap();
            let chunk = &data[i * DATA_SIZE..((i + 1) * DATA_SIZE).min(data.len())];
            buf[..chunk.len()].copy_from_slice(chunk);
            mb::TOKEN.set(&mut buf, u64::from(tokens[i])).unwrap();
            if sign {
                mb::sign_block(&mut buf).unwrap();
            }
            b.view().write_bytes(0, &buf).unwrap();
        }
    }

    #[test]
    fn output_chain_is_linked_and_read_back_with_every_token_checked() {
        let (_f, pool) = pool();
        let mut c = Chain::default();
        let outlen = 16 + 600; // two blocks
        let head = c.prepare_output(&pool, outlen, 7, false).unwrap();
        assert_eq!(head, c.blocks[0].iova());
        let ctrl = |i: usize| {
            let mut b = [0u8; BLOCK_SIZE];
            c.blocks[i].view().read_bytes(0, &mut b).unwrap();
            BlockCtrl::decode(&b).unwrap()
        };
        assert_eq!((ctrl(0).next, ctrl(0).block_num), (c.blocks[1].iova(), 0));
        assert_eq!((ctrl(1).next, ctrl(1).block_num, ctrl(1).token), (0, 1, 7));

        let data: Vec<u8> = (0..600).map(|i| i as u8).collect();
        device_writes(&c, &data, &[7, 7], false);
        let mut out = vec![0u8; outlen];
        assert_eq!(c.read_output(&mut out, 7, false).unwrap(), None);
        assert_eq!(&out[16..], &data[..]);

        device_writes(&c, &data, &[7, 9], false);
        assert_eq!(
            c.read_output(&mut out, 7, false).unwrap(),
            Some(BlockFault::Token { block: 1, found: 9 })
        );
    }

    /// Issue 14 item 5: a device that skips an output block (token left as
    /// the driver stamped it) hands the caller zeros, not the bytes an
    /// earlier command left in that block.
    #[test]
    fn a_skipped_output_block_reads_as_zeros_not_an_earlier_output() {
        let (_f, pool) = pool();
        let mut c = Chain::default();
        let outlen = 16 + 2 * DATA_SIZE;
        c.prepare_output(&pool, outlen, 5, false).unwrap();
        let secret = vec![0xA5u8; 2 * DATA_SIZE];
        device_writes(&c, &secret, &[5, 5], false);
        let mut out = vec![0u8; outlen];
        assert_eq!(c.read_output(&mut out, 5, false).unwrap(), None);
        assert_eq!(&out[16..], &secret[..]);

        // The next command on the chain: the device writes block 0 only.
        c.prepare_output(&pool, outlen, 6, false).unwrap();
        let fresh = vec![0x11u8; DATA_SIZE];
        device_writes(&c, &fresh, &[6], false);
        let mut out = vec![0xFFu8; outlen];
        assert_eq!(c.read_output(&mut out, 6, false).unwrap(), None);
        assert_eq!(&out[16..16 + DATA_SIZE], &fresh[..]);
        assert!(
            out[16 + DATA_SIZE..].iter().all(|&b| b == 0),
            "the skipped block leaked the earlier output"
        );
    }

    #[test]
    fn output_signatures_are_checked_only_with_checksums_on() {
        let (_f, pool) = pool();
        let mut c = Chain::default();
        let outlen = 16 + 100;
        c.prepare_output(&pool, outlen, 3, true).unwrap();
        let data = vec![0x5Au8; 100];
        device_writes(&c, &data, &[3], true);
        let mut out = vec![0u8; outlen];
        assert_eq!(c.read_output(&mut out, 3, true).unwrap(), None);
        // Corrupt one data byte after signing.
        c.blocks[0].view().write_u8(10, 0).unwrap();
        assert_eq!(
            c.read_output(&mut out, 3, true).unwrap(),
            Some(BlockFault::Signature { block: 0 })
        );
        assert_eq!(c.read_output(&mut out, 3, false).unwrap(), None);
    }

    #[test]
    fn input_is_split_across_blocks_and_signed() {
        let (_f, pool) = pool();
        let mut c = Chain::default();
        let msg: Vec<u8> = (0..(16 + 1100)).map(|i| (i * 3) as u8).collect();
        let head = c.write_input(&pool, &msg, 0x42, true).unwrap();
        assert_eq!(head, c.blocks[0].iova());
        assert_eq!(c.blocks.len(), 3);
        for i in 0..3 {
            let mut b = [0u8; BLOCK_SIZE];
            c.blocks[i].view().read_bytes(0, &mut b).unwrap();
            assert_eq!(mb::block_signature_ok(&b), Ok(true));
            let r = mb::block_range(msg.len(), i).unwrap();
            assert_eq!(&b[..r.len()], &msg[r.clone()]);
            assert!(b[r.len()..DATA_SIZE].iter().all(|&x| x == 0));
            assert_eq!(BlockCtrl::decode(&b).unwrap().token, 0x42);
        }
        // Short messages need no block.
        assert_eq!(c.write_input(&pool, &msg[..16], 1, false).unwrap(), 0);
        c.trim();
        assert_eq!(c.blocks.len(), 3, "short chains are kept for reuse");
    }
}
