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
    ///
    /// QEMU unmaps "everything above" with a range that ends exactly at 2^64
    /// (seen: iova 0xfef00000 size 0xffffffff01100000), which does not fit a
    /// u64 end; it is clamped to end at `u64::MAX`, the last byte no mapping can
    /// include anyway.
    pub fn unmap(&mut self, iommu: &Iommu, iova: u64, size: u64) -> Result<u64, DmaError> {
        let size = if iova.checked_add(size).is_none() {
            u64::MAX - iova
        } else {
            size
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// An unlinked file of its own: tests of this binary run in parallel in one process.
    fn file(len: u64) -> File {
        let f = tempfile::tempfile().unwrap();
        f.set_len(len).unwrap();
        f
    }

    #[test]
    fn maps_share_one_file_per_inode_and_reach_its_bytes() {
        let iommu = Iommu::new();
        iommu.set_bus_master(true);
        let mut m = GuestMemory::default();
        let f = file(0x3000);
        // Page 2 of the file at IOVA 0x1000, page 0 at 0x5000: scattered, as VT-d sends them.
        let r = m.map(&iommu, 0x2000, 0x1000, 0x1000, Some(f.try_clone().unwrap()));
        assert_eq!(r.unwrap(), Mapped::Memory);
        m.map(&iommu, 0, 0x5000, 0x1000, Some(f.try_clone().unwrap()))
            .unwrap();
        assert_eq!(
            m.stats().files,
            1,
            "second descriptor of the same memfd kept open"
        );
        iommu.write(0x1008, b"cxu").unwrap();
        let mut b = [0u8; 3];
        f.read_exact_at(&mut b, 0x2008).unwrap();
        assert_eq!(&b, b"cxu");
        f.write_all_at(b"dma", 0x10).unwrap();
        iommu.read(0x5010, &mut b).unwrap();
        assert_eq!(&b, b"dma");
        // Not mapped: a fault, not a crash.
        assert!(iommu.read(0x3000, &mut b).is_err());
    }

    #[test]
    fn fdless_maps_are_ignored_and_unmaps_have_range_semantics() {
        let iommu = Iommu::new();
        let mut m = GuestMemory::default();
        assert_eq!(
            m.map(&iommu, 0, 0xFEBE_0000, 0x1000, None).unwrap(),
            Mapped::Ignored
        );
        assert_eq!(iommu.mappings(), 0);
        let f = file(0x4000);
        for i in 0..4u64 {
            m.map(
                &iommu,
                i * 0x1000,
                0x10_0000 + i * 0x1000,
                0x1000,
                Some(f.try_clone().unwrap()),
            )
            .unwrap();
        }
        // Overlap refused, nothing changed.
        assert!(matches!(
            m.map(&iommu, 0, 0x10_0800, 0x1000, Some(f.try_clone().unwrap())),
            Err(DmaError::Iommu(MapError::Overlap { .. }))
        ));
        // A range splitting a mapping is refused; a range covering two is fine.
        assert!(m.unmap(&iommu, 0x10_0800, 0x1000).is_err());
        assert_eq!(m.unmap(&iommu, 0x10_1000, 0x2000).unwrap(), 0x2000);
        assert_eq!(m.unmap(&iommu, 0xFF00_0000, 0x100_0000).unwrap(), 0);
        // QEMU's "everything above" range ends at 2^64.
        assert_eq!(
            m.unmap(&iommu, 0x10_3000, 0u64.wrapping_sub(0x10_3000))
                .unwrap(),
            0x1000
        );
        assert_eq!(iommu.mappings(), 1);
        assert!(matches!(
            m.map(&iommu, 0, 0x1000, 0, Some(f.try_clone().unwrap())),
            Err(DmaError::BadRange { .. })
        ));
        let s = m.stats();
        assert_eq!(
            (s.maps, s.fdless_maps, s.unmaps, s.unmapped_bytes),
            (4, 1, 3, 0x3000)
        );
        m.clear(&iommu);
        assert_eq!((iommu.mappings(), m.stats().files), (0, 0));
    }
}
