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

    /// Prepares the chain for an output of `outlen` bytes: links and stamps the
    /// control part of each block (the device writes the data). Returns the
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
        let mut ctrl = [0u8; BLOCK_SIZE];
        for i in 0..n {
            self.ctrl(i, n, token).encode_into(&mut ctrl)?;
            if checksum {
                // The control signature covers only the control part.
                ctrl[mb::CTRL_SIG_OFFSET] = mb::ctrl_signature(&ctrl)?;
            }
            self.blocks[i]
                .view()
                .write_bytes(mb::RSVD0, &ctrl[mb::RSVD0..])?;
        }
        Ok(self.head(n))
    }

    fn ctrl(&self, i: usize, n: usize, token: u8) -> BlockCtrl {
        BlockCtrl {
            next: if i + 1 < n {
                self.blocks[i + 1].iova()
            } else {
                0
            },
            block_num: i as u32,
            token,
            ctrl_sig: 0,
            sig: 0,
        }
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
