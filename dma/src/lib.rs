//! cxu-dma: DMA memory for the driver.
//!
//! * [`Buffer`]: pinned (`mlock`), zeroed, page-aligned anonymous memory, 4 KiB or
//!   2 MiB pages (with a logged fallback), unmapped on drop.
//! * [`IovaAllocator`]: device addresses from the function's valid IOVA ranges.
//! * [`DmaContext`] / [`DmaRegion`]: a buffer mapped for a function at an IOVA;
//!   unmapped on drop, and freed only after the unmap succeeded (leaked otherwise).
//! * [`DmaView`]: the only way into DMA memory: bounds-checked volatile and atomic
//!   accesses, never a Rust reference (see [`view`] for the ordering rules).
//! * [`BlockPool`]: fixed-size blocks (command mailboxes, FW pages) with a lock-free
//!   free list and in-use/leak accounting.
//! * [`fence`]: `dma_rmb`, `dma_wmb`, `wmb` for the doorbell.
//!
//! ```no_run
//! # fn demo(function: std::sync::Arc<dyn cxu_hal::PciFunction>) -> cxu_dma::Result<()> {
//! use cxu_dma::{DmaContext, PageSize};
//! let dma = DmaContext::new(function)?;
//! let cmdq = dma.alloc(4096, PageSize::Base4K)?; // the command page
//! let entry = cmdq.subview(0, 64)?;
//! entry.write_u8(0x00, 7)?; // type = PCI transport
//! entry.store_u8_release(0x3F, 1)?; // status_own: hand it to the device
//! let _iova = cmdq.iova(); // goes into the init segment's cmdq address
//! # Ok(()) }
//! ```
//!
//! `unsafe` lives here (mmap, mlock, volatile pointers, `dma_map`); every block
//! carries a `// SAFETY:` line. The driver uses only the safe API.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod buffer;
pub mod context;
pub mod error;
pub mod fence;
pub mod iova;
pub mod pool;
pub mod region;
pub mod view;
mod volatile_copy;

pub use buffer::{Buffer, PageSize};
pub use context::{DmaContext, DmaStats};
pub use error::{Error, Result};
pub use iova::{IovaAllocator, IovaRange, IOVA_PAGE, IOVA_RESERVED_LOW};
pub use pool::{
    Block, BlockPool, BlockPoolConfig, PoolStats, FW_PAGE_SIZE, MAILBOX_BLOCK_ALIGN,
    MAILBOX_BLOCK_SIZE,
};
pub use region::DmaRegion;
pub use view::DmaView;

#[cfg(test)]
mod tests {
    /// The driver shares these across submitter threads; losing `Send`/`Sync`
    /// (e.g. by adding a raw pointer field) must fail the build here, not there.
    #[test]
    fn shared_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Buffer>();
        check::<crate::DmaRegion>();
        check::<crate::DmaContext>();
        check::<crate::IovaAllocator>();
        check::<crate::BlockPool>();
        check::<crate::Block>();
    }
}
