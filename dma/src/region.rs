//! A buffer mapped for the device: the unit the driver allocates.
//!
//! Teardown order is the safety rule of this crate: unmap first; only when the
//! unmap succeeded is the IOVA given back and the memory freed. When the unmap
//! fails the device may still reach the memory, so both the memory and the IOVA
//! range are leaked on purpose (and counted in [`crate::DmaStats`]).

use tracing::{error, trace};

use crate::buffer::{Buffer, LeakOnUnwind, PageSize};
use crate::context::DmaContext;
use crate::error::{Error, Result};
use crate::iova::IovaRange;
use crate::view::DmaView;

/// Pinned memory mapped at an IOVA for one function; unmapped on drop.
pub struct DmaRegion {
    /// `Some` while mapped; taken by `release`.
    buffer: Option<Buffer>,
    iova: IovaRange,
    ctx: DmaContext,
}

impl DmaRegion {
    pub(crate) fn new(buffer: Buffer, iova: IovaRange, ctx: DmaContext) -> DmaRegion {
        DmaRegion {
            buffer: Some(buffer),
            iova,
            ctx,
        }
    }

    fn buffer(&self) -> &Buffer {
        // `buffer` is only taken by `release`, which consumes or drops `self`.
        self.buffer
            .as_ref()
            .expect("a live DmaRegion always holds its buffer")
    }

    /// The device address of the first byte.
    pub fn iova(&self) -> u64 {
        self.iova.start
    }

    /// The device address of the byte at `offset` (`offset == len` is allowed, as an
    /// end address).
    pub fn iova_at(&self, offset: usize) -> Result<u64> {
        if offset > self.len() {
            return Err(Error::OutOfBounds {
                offset,
                len: 0,
                size: self.len(),
            });
        }
        Ok(self.iova.start + offset as u64)
    }

    /// Length in bytes (whole pages).
    pub fn len(&self) -> usize {
        self.buffer().len()
    }

    /// Never true: a region has at least one page.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page size of the memory behind the region.
    pub fn page_size(&self) -> PageSize {
        self.buffer().page_size()
    }

    /// A volatile view of the whole region.
    pub fn view(&self) -> DmaView<'_> {
        self.buffer().view()
    }

    /// A volatile view of `len` bytes at `offset`.
    pub fn subview(&self, offset: usize, len: usize) -> Result<DmaView<'_>> {
        self.view().subview(offset, len)
    }

    /// The context the region was allocated from.
    pub fn context(&self) -> &DmaContext {
        &self.ctx
    }

    /// Unmaps now and reports the outcome (drop does the same and logs it). On
    /// [`Error::Unmap`] the memory is leaked, never freed.
    pub fn unmap(mut self) -> Result<()> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        let Some(buffer) = self.buffer.take() else {
            return Ok(());
        };
        let shared = &self.ctx.shared;
        let (iova, len) = (self.iova.start, self.iova.len);
        // If the unmap panics, the guard leaks the buffer while unwinding: only an
        // unmap that returned `Ok` lets the memory be freed.
        let guard = LeakOnUnwind::new(buffer);
        let unmapped = shared.function.dma_unmap(iova, len);
        let buffer = guard.keep();
        match unmapped {
            Ok(()) => {
                shared.counters.unmapped(len);
                if let Err(e) = shared.iova.free(self.iova) {
                    // An allocator bookkeeping bug, not a safety problem: the device
                    // can no longer reach the range.
                    error!(error = %e, iova, len, "IOVA range of an unmapped region was not live");
                }
                drop(buffer);
                trace!(iova, len, "DMA region unmapped and freed");
                Ok(())
            }
            Err(source) => {
                shared.counters.unmapped(len);
                shared.counters.leaked(len);
                let err = Error::Unmap {
                    function: shared.function.name(),
                    iova,
                    len,
                    source,
                };
                error!(error = %err, "DMA unmap failed; leaking the region");
                buffer.leak();
                Err(err)
            }
        }
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        // Errors are logged (and counted) inside `release`.
        let _ = self.release();
    }
}

impl std::fmt::Debug for DmaRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaRegion")
            .field("iova", &format_args!("{:#x}", self.iova.start))
            .field("len", &self.iova.len)
            .field("buffer", &self.buffer)
            .finish()
    }
}
