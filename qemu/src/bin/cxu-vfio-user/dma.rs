//! `DMA_MAP` and `DMA_UNMAP`: QEMU's guest memory as regions of the model's IOMMU.
//!
//! QEMU sends one map per range the guest's IOMMU (VT-d, caching mode) makes
//! visible to the device, with the file descriptor of the memory backend
//! (a memfd with `share=on`) and the offset into it. Each map becomes a
//! `MAP_SHARED` mapping of that file, added to the model's IOMMU table at the
//! IOVA: the model's DMA then lands in the guest's RAM.
//!
//! * Maps without a file descriptor (ROMs, other devices' BARs) are accepted and
//!   ignored: the model cannot reach that memory, and a DMA there is an IOMMU
//!   fault in the model. Refusing them only makes QEMU log an error per map.
//! * Unmaps have range semantics: one unmap may cover many maps, or none.
//! * Behind VT-d every 4 KiB page of a guest buffer arrives as its own map,
//!   each with a fresh descriptor of the same memfd. The file is kept open once
//!   per inode and the extra descriptors are closed, so thousands of maps hold
//!   one descriptor, not thousands.
//! * The mapping is always read-write: the model's IOMMU has no per-mapping
//!   permission, and a device write through a read-only host mapping would
//!   crash the server instead of faulting. Drivers map their buffers read-write.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use cxu_qemu::model::{Iommu, MapError};
use vm_memory::mmap::MmapRegionError;
use vm_memory::{FileOffset, GuestAddress, GuestRegionMmap, MmapRegion};

/// Why a `DMA_MAP` or `DMA_UNMAP` was refused.
#[derive(Debug, thiserror::Error)]
pub enum DmaError {
    /// Zero size, a wrapping range, or a size the host cannot map.
    #[error("iova {iova:#x} size {size:#x}: not a valid range")]
    BadRange {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
    },
    /// The memory backend file could not be inspected.
    #[error("iova {iova:#x}: fstat of the memory file failed: {source}")]
    Stat {
        /// Requested IOVA.
        iova: u64,
        /// The OS error.
        source: std::io::Error,
    },
    /// mmap of the file failed.
    #[error("iova {iova:#x} size {size:#x} file offset {offset:#x}: mmap failed: {source}")]
    Mmap {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
        /// Offset into the file.
        offset: u64,
        /// What vm-memory reported.
        source: MmapRegionError,
    },
    /// The model's IOMMU refused the change (overlap, split).
    #[error(transparent)]
    Iommu(#[from] MapError),
}

impl From<DmaError> for std::io::Error {
    fn from(e: DmaError) -> Self {
        // InvalidInput is what makes the vfio_user crate answer EINVAL.
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

/// What a map request turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// The range is now reachable by the model.
    Memory,
    /// No file descriptor: accepted, not reachable.
    Ignored,
}

/// Counters of the DMA messages served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaStats {
    /// Maps added to the IOMMU.
    pub maps: u64,
    /// Maps without a file descriptor (accepted, ignored).
    pub fdless_maps: u64,
    /// Unmap messages.
    pub unmaps: u64,
    /// Bytes removed by unmaps.
    pub unmapped_bytes: u64,
    /// Distinct backing files held open.
    pub files: usize,
}

/// Guest memory mappings of one connection.
#[derive(Default)]
pub struct GuestMemory {
    /// One open file per backing inode (device, inode).
    files: HashMap<(u64, u64), Arc<File>>,
    stats: DmaStats,
}

impl GuestMemory {
    /// Serves a `DMA_MAP` of `size` bytes at `iova`, backed by `fd` at `offset`.
    pub fn map(
        &mut self,
        iommu: &Iommu,
        offset: u64,
        iova: u64,
        size: u64,
        fd: Option<File>,
    ) -> Result<Mapped, DmaError> {
        let bad = DmaError::BadRange { iova, size };
        let len = usize::try_from(size).map_err(|_| DmaError::BadRange { iova, size })?;
        if size == 0 || iova.checked_add(size).is_none() || offset.checked_add(size).is_none() {
            return Err(bad);
        }
        let Some(fd) = fd else {
            self.stats.fdless_maps += 1;
            tracing::debug!(
                iova = format_args!("{iova:#x}"),
                size = format_args!("{size:#x}"),
                "DMA map without a file descriptor: ignored"
            );
            return Ok(Mapped::Ignored);
        };
        let file = self.file(iova, fd)?;
        let region = MmapRegion::<()>::from_file(FileOffset::from_arc(file, offset), len).map_err(
            |source| DmaError::Mmap {
                iova,
                size,
                offset,
                source,
            },
        )?;
        let region = GuestRegionMmap::new(region, GuestAddress(iova)).ok_or(bad)?;
        iommu.map(region)?;
        self.stats.maps += 1;
        tracing::debug!(
            iova = format_args!("{iova:#x}"),
            size = format_args!("{size:#x}"),
            offset = format_args!("{offset:#x}"),
            "DMA map"
        );
        Ok(Mapped::Memory)
    }

    /// The open file for `fd`'s inode: the first descriptor seen is kept, later
    /// ones of the same file are closed here.
    fn file(&mut self, iova: u64, fd: File) -> Result<Arc<File>, DmaError> {
        let meta = fd
            .metadata()
            .map_err(|source| DmaError::Stat { iova, source })?;
        let file = self
            .files
            .entry((meta.dev(), meta.ino()))
            .or_insert_with(|| Arc::new(fd))
            .clone();
        self.stats.files = self.files.len();
        Ok(file)
    }

    /// Serves a `DMA_UNMAP`: removes every mapping inside the range. Returns the
    /// bytes removed (0 when the range held none, which is not an error).
    pub fn unmap(&mut self, iommu: &Iommu, iova: u64, size: u64) -> Result<u64, DmaError> {
        let bytes = iommu.unmap(iova, size)?;
        self.stats.unmaps += 1;
        self.stats.unmapped_bytes += bytes;
        tracing::debug!(
            iova = format_args!("{iova:#x}"),
            size = format_args!("{size:#x}"),
            bytes,
            "DMA unmap"
        );
        Ok(bytes)
    }

    /// Forgets every mapping (the connection ended) and closes the files.
    pub fn clear(&mut self, iommu: &Iommu) {
        iommu.unmap_all();
        self.files.clear();
        self.stats.files = 0;
    }

    /// What was served so far.
    pub fn stats(&self) -> DmaStats {
        self.stats
    }
}
