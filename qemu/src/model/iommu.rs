//! The device's view of host memory: an emulated IOMMU table of mapped IOVA
//! ranges, exposed to the model as a `vm_memory::GuestMemory`.
//!
//! Backends add and remove mappings (`dma_map`/`dma_unmap`); the model reads and
//! writes through [`Iommu::read`] and [`Iommu::write`]. An access that touches an
//! IOVA with no mapping is an IOMMU fault: it is recorded (address, length,
//! direction), counted, and nothing of it reaches memory. Accesses while bus
//! mastering is off or after surprise removal are blocked, as on a real bus:
//! they fail without being recorded as faults.
//!
//! Every access holds the table's read lock for the length of one copy, and
//! `unmap` takes the write lock: when `unmap` returns no access can still be
//! using the removed memory, which is what `PciFunction::dma_unmap` promises.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap, GuestMemoryRegion, GuestRegionMmap};

/// How many recent faults are kept for inspection.
const FAULT_LOG_LEN: usize = 64;

/// A DMA that hit an IOVA with no mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IommuFault {
    /// First IOVA of the access.
    pub iova: u64,
    /// Length of the access in bytes.
    pub len: u64,
    /// True for a device write (to host memory), false for a read.
    pub write: bool,
}

/// Why a DMA did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DmaError {
    /// The IOMMU has no mapping for part of the range.
    #[error("IOMMU fault: {} of {len} bytes at iova {iova:#x} is not mapped", if *.write { "write" } else { "read" })]
    Fault {
        /// First IOVA of the access.
        iova: u64,
        /// Length of the access.
        len: u64,
        /// Direction (true = device writes host memory).
        write: bool,
    },
    /// Bus mastering is off, or the device was removed: the access never left it.
    #[error("DMA blocked: bus mastering is off or the device is gone")]
    Blocked,
}

/// Why a mapping change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The new range overlaps an existing mapping.
    #[error("iova {iova:#x} size {size:#x} overlaps an existing mapping")]
    Overlap {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
    },
    /// A zero-sized or wrapping range.
    #[error("iova {iova:#x} size {size:#x} is not a valid range")]
    BadRange {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
    },
    /// An unmap would split a mapping (VFIO type1 v2 refuses that too).
    #[error("unmap of iova {iova:#x} size {size:#x} would split the mapping at {mapping:#x}")]
    Split {
        /// Requested IOVA.
        iova: u64,
        /// Requested size.
        size: u64,
        /// Start of the mapping that straddles the range.
        mapping: u64,
    },
}

#[derive(Default)]
struct Table {
    regions: BTreeMap<u64, Arc<GuestRegionMmap>>,
    /// The same regions as one `GuestMemory`; `None` while nothing is mapped.
    mem: Option<GuestMemoryMmap>,
}

impl Table {
    fn rebuild(&mut self) {
        let regions: Vec<_> = self.regions.values().cloned().collect();
        // Regions are sorted (BTreeMap order) and non-overlapping (checked on insert),
        // so this only fails for an empty list, which means "nothing mapped".
        self.mem = GuestMemoryMmap::from_arc_regions(regions).ok();
    }
}

/// The emulated IOMMU and DMA engine gate of one function.
#[derive(Default)]
pub struct Iommu {
    table: RwLock<Table>,
    faults: Mutex<VecDeque<IommuFault>>,
    fault_count: AtomicU64,
    /// DMA reads and writes attempted (faults included), for the cost counts.
    dma_reads: AtomicU64,
    dma_writes: AtomicU64,
    bus_master: AtomicBool,
    removed: AtomicBool,
}

impl Iommu {
    /// An empty table with bus mastering off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a mapping: `region` covers `region.start_addr() ..+ region.len()` in IOVA space.
    pub fn map(&self, region: GuestRegionMmap) -> Result<(), MapError> {
        let iova = region.start_addr().0;
        let size = region.len();
        let end = iova
            .checked_add(size)
            .filter(|_| size != 0)
            .ok_or(MapError::BadRange { iova, size })?;
        let mut t = self.table.write();
        let overlaps = t
            .regions
            .range(..end)
            .next_back()
            .is_some_and(|(&start, r)| start + r.len() > iova);
        if overlaps {
            return Err(MapError::Overlap { iova, size });
        }
        t.regions.insert(iova, Arc::new(region));
        t.rebuild();
        Ok(())
    }

    /// Removes every mapping inside `iova..iova+size` and returns how many bytes
    /// were unmapped (0 when the range held none, which is not an error). A
    /// mapping that straddles the range boundary is refused.
    pub fn unmap(&self, iova: u64, size: u64) -> Result<u64, MapError> {
        let end = iova
            .checked_add(size)
            .filter(|_| size != 0)
            .ok_or(MapError::BadRange { iova, size })?;
        let mut t = self.table.write();
        let mut inside = Vec::new();
        // The mapping that starts before `iova` may reach into the range.
        if let Some((&start, r)) = t.regions.range(..iova).next_back() {
            if start + r.len() > iova {
                return Err(MapError::Split {
                    iova,
                    size,
                    mapping: start,
                });
            }
        }
        for (&start, r) in t.regions.range(iova..end) {
            if start + r.len() > end {
                return Err(MapError::Split {
                    iova,
                    size,
                    mapping: start,
                });
            }
            inside.push((start, r.len()));
        }
        let mut bytes = 0;
        for (start, len) in inside {
            t.regions.remove(&start);
            bytes += len;
        }
        if bytes != 0 {
            t.rebuild();
        }
        Ok(bytes)
    }

    /// Removes every mapping (used when the backend goes away).
    pub fn unmap_all(&self) {
        let mut t = self.table.write();
        t.regions.clear();
        t.mem = None;
    }

    /// Number of mappings.
    pub fn mappings(&self) -> usize {
        self.table.read().regions.len()
    }

    /// Follows the PCI command register's bus-master-enable bit.
    pub fn set_bus_master(&self, on: bool) {
        self.bus_master.store(on, Ordering::Release);
    }

    /// Whether bus mastering is on.
    pub fn bus_master(&self) -> bool {
        self.bus_master.load(Ordering::Acquire)
    }

    /// Surprise removal: from now on every DMA is blocked.
    pub fn set_removed(&self, removed: bool) {
        self.removed.store(removed, Ordering::Release);
    }

    fn gate(&self) -> Result<(), DmaError> {
        if self.bus_master() && !self.removed.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(DmaError::Blocked)
        }
    }

    fn fault(&self, iova: u64, len: usize, write: bool) -> DmaError {
        let f = IommuFault {
            iova,
            len: len as u64,
            write,
        };
        tracing::warn!(iova = format_args!("{iova:#x}"), len, write, "IOMMU fault");
        self.fault_count.fetch_add(1, Ordering::Relaxed);
        let mut log = self.faults.lock();
        if log.len() == FAULT_LOG_LEN {
            log.pop_front();
        }
        log.push_back(f);
        DmaError::Fault {
            iova,
            len: len as u64,
            write,
        }
    }

    /// Reads `buf.len()` bytes at `iova`.
    pub fn read(&self, iova: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        self.dma_reads.fetch_add(1, Ordering::Relaxed);
        self.gate()?;
        let t = self.table.read();
        match &t.mem {
            Some(m)
                if Self::covers(m, iova, buf.len())
                    && m.read_slice(buf, GuestAddress(iova)).is_ok() =>
            {
                Ok(())
            }
            _ => Err(self.fault(iova, buf.len(), false)),
        }
    }

    /// Writes `buf` at `iova`. The whole range is checked first, so a faulting
    /// write leaves memory untouched.
    pub fn write(&self, iova: u64, buf: &[u8]) -> Result<(), DmaError> {
        self.dma_writes.fetch_add(1, Ordering::Relaxed);
        self.gate()?;
        let t = self.table.read();
        match &t.mem {
            Some(m) if Self::covers(m, iova, buf.len()) => m
                .write_slice(buf, GuestAddress(iova))
                .map_err(|_| self.fault(iova, buf.len(), true)),
            _ => Err(self.fault(iova, buf.len(), true)),
        }
    }

    /// Writes one byte with release ordering: every earlier write of this thread
    /// is visible before it (the ownership bit of a command entry, an EQE owner).
    pub fn write_u8_release(&self, iova: u64, value: u8) -> Result<(), DmaError> {
        self.dma_writes.fetch_add(1, Ordering::Relaxed);
        self.gate()?;
        let t = self.table.read();
        match &t.mem {
            Some(m) => m
                .store(value, GuestAddress(iova), Ordering::Release)
                .map_err(|_| self.fault(iova, 1, true)),
            None => Err(self.fault(iova, 1, true)),
        }
    }

    /// Whether `iova..iova+len` is entirely mapped (no fault is recorded).
    pub fn is_mapped(&self, iova: u64, len: usize) -> bool {
        let t = self.table.read();
        t.mem.as_ref().is_some_and(|m| Self::covers(m, iova, len))
    }

    fn covers(m: &GuestMemoryMmap, iova: u64, len: usize) -> bool {
        use vm_memory::GuestMemoryBackend;
        len != 0 && iova.checked_add(len as u64).is_some() && m.check_range(GuestAddress(iova), len)
    }

    /// Total IOMMU faults since creation.
    pub fn fault_count(&self) -> u64 {
        self.fault_count.load(Ordering::Relaxed)
    }

    /// DMA accesses since creation: `(reads, writes)`, one per access of the
    /// model's firmware (an entry, a mailbox block, an EQE, an ownership byte).
    /// Through vfio-user they are plain memory accesses of QEMU's shared
    /// memory, not messages.
    pub fn access_counts(&self) -> (u64, u64) {
        (
            self.dma_reads.load(Ordering::Relaxed),
            self.dma_writes.load(Ordering::Relaxed),
        )
    }

    /// The most recent faults, oldest first.
    pub fn recent_faults(&self) -> Vec<IommuFault> {
        self.faults.lock().iter().copied().collect()
    }
}
