//! Fixed-size blocks of DMA memory: the command mailboxes (576 bytes, 1024-byte
//! aligned, as the kernel's `dma_pool`) and firmware pages (4 KiB).
//!
//! The blocks live in one or more [`DmaRegion`]s made at creation; the pool never
//! grows. The free list is a lock-free bounded queue of block indices
//! (`crossbeam::queue::ArrayQueue`), so allocation and release are one atomic queue
//! operation each. A [`Block`] goes back to the pool on drop. A block the device may
//! still write (a command that timed out) is [`Block::leak`]ed instead: it is never
//! reused and its memory stays mapped for the life of the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam::queue::ArrayQueue;
use tracing::{debug, error, warn};

use crate::buffer::PageSize;
use crate::context::DmaContext;
use crate::error::{Error, Result};
use crate::region::DmaRegion;
use crate::view::DmaView;

/// Size of one command mailbox block (`struct mlx5_cmd_prot_block`).
pub const MAILBOX_BLOCK_SIZE: usize = 576;
/// Alignment of mailbox blocks: `roundup_pow_of_two(576)`, as the kernel's pool.
pub const MAILBOX_BLOCK_ALIGN: usize = 1024;
/// Size (and alignment) of a firmware page (`MLX5_ADAPTER_PAGE_SIZE`).
pub const FW_PAGE_SIZE: usize = 4096;

/// The shape of a [`BlockPool`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockPoolConfig {
    /// A name for logs and errors.
    pub name: String,
    /// Bytes per block.
    pub block_size: usize,
    /// Alignment of every block's address and IOVA: a power of two, at most 4096.
    pub align: usize,
    /// Number of blocks.
    pub count: usize,
    /// Pages of the regions behind the pool.
    pub page_size: PageSize,
    /// Upper bound of one region's size; the pool uses as many regions as needed.
    pub max_region_bytes: usize,
}

impl BlockPoolConfig {
    /// `count` command mailbox blocks: 576 bytes, 1024-byte aligned.
    pub fn mailboxes(count: usize) -> BlockPoolConfig {
        BlockPoolConfig {
            name: "cmd mailboxes".into(),
            block_size: MAILBOX_BLOCK_SIZE,
            align: MAILBOX_BLOCK_ALIGN,
            count,
            page_size: PageSize::Base4K,
            max_region_bytes: 2 << 20,
        }
    }

    /// `count` firmware pages of 4 KiB, in 2 MiB huge-page regions where available.
    pub fn fw_pages(count: usize) -> BlockPoolConfig {
        BlockPoolConfig {
            name: "fw pages".into(),
            block_size: FW_PAGE_SIZE,
            align: FW_PAGE_SIZE,
            count,
            page_size: PageSize::Huge2M,
            max_region_bytes: 2 << 20,
        }
    }
}

/// Counts of a pool, to make leaks visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Blocks in the pool.
    pub count: usize,
    /// Blocks handed out and not returned (leaked ones included).
    pub in_use: usize,
    /// Blocks ready to hand out.
    pub free: usize,
    /// Blocks leaked on purpose with [`Block::leak`].
    pub leaked: usize,
}

struct PoolShared {
    name: String,
    block_size: usize,
    stride: usize,
    per_region: usize,
    count: usize,
    regions: Vec<DmaRegion>,
    free: ArrayQueue<u32>,
    in_use: AtomicUsize,
    leaked: AtomicUsize,
}

impl PoolShared {
    fn locate(&self, index: u32) -> (&DmaRegion, usize) {
        let i = index as usize;
        (
            &self.regions[i / self.per_region],
            (i % self.per_region) * self.stride,
        )
    }
}

/// N blocks of S bytes at alignment A, each with its own IOVA. Cheap to clone.
#[derive(Clone)]
pub struct BlockPool {
    shared: Arc<PoolShared>,
}

impl BlockPool {
    /// Allocates and maps the regions for `cfg.count` blocks.
    pub fn new(ctx: &DmaContext, cfg: BlockPoolConfig) -> Result<BlockPool> {
        if cfg.block_size == 0 {
            return Err(Error::invalid("block size", "zero bytes"));
        }
        if !cfg.align.is_power_of_two() || cfg.align > PageSize::Base4K.bytes() {
            return Err(Error::invalid(
                "block alignment",
                format!("{} is not a power of two of at most 4096", cfg.align),
            ));
        }
        if cfg.count == 0 || cfg.count > u32::MAX as usize {
            return Err(Error::invalid(
                "block count",
                format!("{} is not in 1..=2^32-1", cfg.count),
            ));
        }
        let stride = cfg.block_size.next_multiple_of(cfg.align);
        let per_region = cfg.max_region_bytes / stride;
        if per_region == 0 {
            return Err(Error::invalid(
                "max region size",
                format!(
                    "{} bytes do not hold one block of {stride}",
                    cfg.max_region_bytes
                ),
            ));
        }
        let n_regions = cfg.count.div_ceil(per_region);
        let mut regions = Vec::with_capacity(n_regions);
        for r in 0..n_regions {
            let blocks = per_region.min(cfg.count - r * per_region);
            regions.push(ctx.alloc(blocks * stride, cfg.page_size)?);
        }
        let free = ArrayQueue::new(cfg.count);
        for i in 0..cfg.count as u32 {
            // Cannot fail: the queue holds exactly `count` entries.
            let _ = free.push(i);
        }
        debug!(pool = %cfg.name, count = cfg.count, block_size = cfg.block_size, stride, regions = n_regions, "block pool created");
        Ok(BlockPool {
            shared: Arc::new(PoolShared {
                name: cfg.name,
                block_size: cfg.block_size,
                stride,
                per_region,
                count: cfg.count,
                regions,
                free,
                in_use: AtomicUsize::new(0),
                leaked: AtomicUsize::new(0),
            }),
        })
    }

    /// Takes a free block; its contents are whatever its last user left.
    pub fn alloc(&self) -> Result<Block> {
        let s = &self.shared;
        match s.free.pop() {
            Some(index) => {
                s.in_use.fetch_add(1, Ordering::Relaxed);
                Ok(Block {
                    pool: self.shared.clone(),
                    index,
                })
            }
            None => Err(Error::PoolExhausted {
                pool: s.name.clone(),
                count: s.count,
                block_size: s.block_size,
            }),
        }
    }

    /// Takes a free block and zeroes it.
    pub fn alloc_zeroed(&self) -> Result<Block> {
        let block = self.alloc()?;
        block.view().fill(0, block.len(), 0)?;
        Ok(block)
    }

    /// Bytes per block.
    pub fn block_size(&self) -> usize {
        self.shared.block_size
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Blocks in the pool (fixed at creation).
    pub fn count(&self) -> usize {
        self.shared.count
    }

    /// Current counts. Exact when no allocation or release runs at the same time.
    pub fn stats(&self) -> PoolStats {
        let s = &self.shared;
        PoolStats {
            count: s.count,
            in_use: s.in_use.load(Ordering::Relaxed),
            free: s.free.len(),
            leaked: s.leaked.load(Ordering::Relaxed),
        }
    }

    /// True if `iova` is the address of one of this pool's blocks (for checking
    /// addresses the device hands back, e.g. pages returned by MANAGE_PAGES).
    pub fn contains_block_iova(&self, iova: u64) -> bool {
        let s = &self.shared;
        s.regions.iter().any(|r| {
            let base = r.iova();
            iova >= base
                && iova < base + r.len() as u64
                && ((iova - base) as usize) % s.stride == 0
                && ((iova - base) as usize) / s.stride < s.per_region
        })
    }
}

impl std::fmt::Debug for BlockPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockPool")
            .field("name", &self.shared.name)
            .field("block_size", &self.shared.block_size)
            .field("stats", &self.stats())
            .finish()
    }
}

/// One block of a [`BlockPool`], owned until dropped (back to the pool) or leaked.
pub struct Block {
    pool: Arc<PoolShared>,
    index: u32,
}

impl Block {
    /// The device address of the block.
    pub fn iova(&self) -> u64 {
        let (region, offset) = self.pool.locate(self.index);
        region.iova() + offset as u64
    }

    /// A volatile view of the block's `block_size` bytes.
    pub fn view(&self) -> DmaView<'_> {
        let (region, offset) = self.pool.locate(self.index);
        region
            .subview(offset, self.pool.block_size)
            .expect("a block lies inside its region by construction")
    }

    /// Bytes in the block.
    pub fn len(&self) -> usize {
        self.pool.block_size
    }

    /// Never true.
    pub fn is_empty(&self) -> bool {
        self.pool.block_size == 0
    }

    /// The block's index in its pool (stable, `0..count`).
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// Gives up the block for good: for memory the device may still write (a command
    /// that timed out). It is never handed out again, and the pool's regions stay
    /// mapped for the life of the process.
    pub fn leak(self) {
        self.pool.leaked.fetch_add(1, Ordering::Relaxed);
        warn!(pool = %self.pool.name, index = self.index, iova = self.iova(), "DMA block leaked on purpose");
        std::mem::forget(self);
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.pool.in_use.fetch_sub(1, Ordering::Relaxed);
        if self.pool.free.push(self.index).is_err() {
            error!(pool = %self.pool.name, index = self.index, "block pool free list full on release (bookkeeping bug)");
        }
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("pool", &self.pool.name)
            .field("index", &self.index)
            .field("iova", &format_args!("{:#x}", self.iova()))
            .finish()
    }
}
