//! The DMA context of one PCI function: the function, its IOVA space, and the
//! accounting of what is mapped and what was leaked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cxu_hal::PciFunction;
use tracing::debug;

use crate::buffer::{Buffer, LeakOnUnwind, PageSize};
use crate::error::{Error, Result};
use crate::iova::IovaAllocator;
use crate::region::DmaRegion;

/// What a context has mapped, and what it had to leak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaStats {
    /// Regions mapped now (a leaked region counts under `leaked_*` only).
    pub mapped_regions: u64,
    /// Bytes of those regions.
    pub mapped_bytes: u64,
    /// Regions whose unmap failed: memory and IOVA kept forever.
    pub leaked_regions: u64,
    /// Bytes of those regions.
    pub leaked_bytes: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    mapped_regions: AtomicU64,
    mapped_bytes: AtomicU64,
    leaked_regions: AtomicU64,
    leaked_bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn mapped(&self, len: u64) {
        self.mapped_regions.fetch_add(1, Ordering::Relaxed);
        self.mapped_bytes.fetch_add(len, Ordering::Relaxed);
    }

    pub(crate) fn unmapped(&self, len: u64) {
        self.mapped_regions.fetch_sub(1, Ordering::Relaxed);
        self.mapped_bytes.fetch_sub(len, Ordering::Relaxed);
    }

    pub(crate) fn leaked(&self, len: u64) {
        self.leaked_regions.fetch_add(1, Ordering::Relaxed);
        self.leaked_bytes.fetch_add(len, Ordering::Relaxed);
    }
}

pub(crate) struct Shared {
    pub(crate) function: Arc<dyn PciFunction>,
    pub(crate) iova: Arc<IovaAllocator>,
    pub(crate) counters: Counters,
}

/// Allocates DMA regions for one function. Cheap to clone; regions keep it alive.
#[derive(Clone)]
pub struct DmaContext {
    pub(crate) shared: Arc<Shared>,
}

impl DmaContext {
    /// A context with its own IOVA allocator over `function.iova_ranges()`.
    pub fn new(function: Arc<dyn PciFunction>) -> Result<DmaContext> {
        let iova = Arc::new(IovaAllocator::new(&function.iova_ranges())?);
        debug!(function = %function.name(), ranges = ?iova.ranges(), "DMA context created");
        Ok(DmaContext::with_allocator(function, iova))
    }

    /// A context sharing `iova` with other functions (one VFIO container is one
    /// IOVA space).
    pub fn with_allocator(function: Arc<dyn PciFunction>, iova: Arc<IovaAllocator>) -> DmaContext {
        DmaContext {
            shared: Arc::new(Shared {
                function,
                iova,
                counters: Counters::default(),
            }),
        }
    }

    /// The function the regions are mapped for.
    pub fn function(&self) -> &Arc<dyn PciFunction> {
        &self.shared.function
    }

    /// The IOVA allocator.
    pub fn iova_allocator(&self) -> &Arc<IovaAllocator> {
        &self.shared.iova
    }

    /// Allocates at least `len` bytes of pinned, zeroed memory with `page_size` pages
    /// (huge pages fall back to 4 KiB, see [`Buffer::new`]) and maps it for the device.
    pub fn alloc(&self, len: usize, page_size: PageSize) -> Result<DmaRegion> {
        self.map(Buffer::new(len, page_size)?)
    }

    /// Maps `buffer` for the device at a fresh IOVA aligned to its page size (so the
    /// IOMMU can use pages as large as the buffer's). On failure the buffer is freed:
    /// it was never reachable by the device.
    pub fn map(&self, buffer: Buffer) -> Result<DmaRegion> {
        let len = buffer.len() as u64;
        let iova = self
            .shared
            .iova
            .alloc(len, buffer.page_size().bytes() as u64)?;
        let function = &self.shared.function;
        // A panic inside `dma_map` may leave the range mapped: leak, do not free.
        let guard = LeakOnUnwind::new(buffer);
        // SAFETY: `buffer` is moved into the returned region, which frees it only
        // after `dma_unmap` of this exact range returned Ok, and leaks it otherwise
        // (`DmaRegion::release`); a panic in the map or unmap call leaks it too
        // (`LeakOnUnwind`). The host reaches it only through volatile/atomic views,
        // and no reference into it exists. `iova` is 4 KiB aligned by the allocator;
        // the buffer's address and length are whole pages of at least 4 KiB.
        let mapped = unsafe { function.dma_map(iova.start, iova.len, guard.buffer().as_mut_ptr()) };
        let buffer = guard.keep();
        if let Err(source) = mapped {
            if let Err(e) = self.shared.iova.free(iova) {
                tracing::error!(error = %e, "freeing the IOVA of a failed mapping");
            }
            return Err(Error::Map {
                function: function.name(),
                iova: iova.start,
                len: iova.len,
                source,
            });
        }
        self.shared.counters.mapped(iova.len);
        debug!(function = %function.name(), iova = iova.start, len = iova.len, page_size = %buffer.page_size(), "DMA region mapped");
        Ok(DmaRegion::new(buffer, iova, self.clone()))
    }

    /// What is mapped now and what was leaked.
    pub fn stats(&self) -> DmaStats {
        let c = &self.shared.counters;
        DmaStats {
            mapped_regions: c.mapped_regions.load(Ordering::Relaxed),
            mapped_bytes: c.mapped_bytes.load(Ordering::Relaxed),
            leaked_regions: c.leaked_regions.load(Ordering::Relaxed),
            leaked_bytes: c.leaked_bytes.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for DmaContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaContext")
            .field("function", &self.shared.function.name())
            .field("stats", &self.stats())
            .finish()
    }
}
