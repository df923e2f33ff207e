//! The in-process backend: the model behind [`cxu_hal::PciFunction`].
//!
//! MMIO accesses call straight into the model; `dma_map` turns the caller's
//! host range into a guest memory region of the model's IOMMU table; MSI-X
//! vectors are eventfds. This is the only module of the crate with `unsafe`:
//! one block, building a memory region from the caller's pointer.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::ops::Range;
use std::sync::Arc;

use cxu_hal::{Error, EventFd, Mmio, PciFunction, Result};
use vm_memory::{GuestAddress, GuestRegionMmap, MmapRegion};

use crate::model::access::{Bar0Access, Bar0Counts};
use crate::model::{Control, Device, Profile, TableMode};

/// IOVAs the emulated IOMMU accepts (like the aperture VFIO reports).
pub const IOVA_RANGE: Range<u64> = 0x1000..(1 << 48);
/// DMA mappings must be aligned to this.
const DMA_ALIGN: u64 = 4096;

/// BAR0 of the model as an [`Mmio`] region, counting its accesses (what a
/// trapped BAR would cost a driver in a VM: `LocalFunction::bar0_counts`).
struct Bar0(Arc<Device>, Bar0Access);

impl Bar0 {
    fn read<const N: usize>(&self, offset: u64) -> [u8; N] {
        self.1.read(offset);
        let mut b = [0u8; N];
        self.0.bar0_read(offset, &mut b);
        b
    }

    fn write(&self, offset: u64, data: &[u8]) {
        self.1.write(offset);
        self.0.bar0_write(offset, data);
    }
}

impl Mmio for Bar0 {
    fn len(&self) -> u64 {
        self.0.bar0_size()
    }
    fn read8(&self, offset: u64) -> u8 {
        self.read::<1>(offset)[0]
    }
    fn read16(&self, offset: u64) -> u16 {
        u16::from_le_bytes(self.read(offset))
    }
    fn read32(&self, offset: u64) -> u32 {
        u32::from_le_bytes(self.read(offset))
    }
    fn read64(&self, offset: u64) -> u64 {
        u64::from_le_bytes(self.read(offset))
    }
    fn write8(&self, offset: u64, value: u8) {
        self.write(offset, &[value]);
    }
    fn write16(&self, offset: u64, value: u16) {
        self.write(offset, &value.to_le_bytes());
    }
    fn write32(&self, offset: u64, value: u32) {
        self.write(offset, &value.to_le_bytes());
    }
    fn write64(&self, offset: u64, value: u64) {
        self.write(offset, &value.to_le_bytes());
    }
}

/// The model as a PCI function, in this process.
pub struct LocalFunction {
    device: Arc<Device>,
    bar0: Arc<Bar0>,
    vectors: parking_lot::Mutex<Vec<Arc<EventFd>>>,
}

impl LocalFunction {
    /// The result of a config space access the device did (`done`) or refused
    /// as out of range.
    fn config_access(&self, done: bool, offset: u16, len: usize) -> Result<()> {
        if done {
            Ok(())
        } else {
            Err(Error::OutOfRange {
                what: "config space",
                offset: u64::from(offset),
                len: len as u64,
                size: self.device.config_size() as u64,
            })
        }
    }

    /// A new device with `profile`, powered on (firmware starts booting now).
    pub fn new(profile: Profile) -> Self {
        let device = Arc::new(Device::new(profile, TableMode::Emulated));
        LocalFunction {
            bar0: Arc::new(Bar0(device.clone(), Bar0Access::default())),
            device,
            vectors: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// The test-control handle.
    pub fn control(&self) -> Control {
        self.device.control()
    }

    /// The device itself.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// BAR0 accesses so far, by register class (one per `Mmio` call).
    pub fn bar0_counts(&self) -> Bar0Counts {
        self.bar0.1.snapshot()
    }
}

impl Drop for LocalFunction {
    fn drop(&mut self) {
        // Nothing may reach the caller's memory once the function is gone.
        self.device.iommu().unmap_all();
    }
}

// SAFETY: `dma_unmap` is `Ok` only when the emulated IOMMU removed the whole
// range from its table (`Iommu::unmap`); the model reaches guest memory only
// through that table, and a DMA that looked a mapping up before the unmap holds
// the table's read side, so it has finished when the unmap (the write side)
// returns. `dma_map` only records the range; the model reaches it through
// vm-memory's `Bytes` (raw-pointer copies and atomics, never a Rust reference).
unsafe impl PciFunction for LocalFunction {
    fn name(&self) -> String {
        let p = self.device.profile();
        format!("cxu-model {:04x}:{:04x}", p.vendor_id, p.device_id)
    }

    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        let done = self.device.config_read(usize::from(offset), data);
        self.config_access(done, offset, data.len())
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        let done = self.device.config_write(usize::from(offset), data);
        self.config_access(done, offset, data.len())
    }

    fn bar(&self, index: u8) -> Result<Arc<dyn Mmio>> {
        match index {
            0 => Ok(self.bar0.clone()),
            _ => Err(Error::NoSuchBar { bar: index }),
        }
    }

    fn msix_vectors(&self) -> u32 {
        u32::from(self.device.msix().vectors())
    }

    fn enable_msix(&self, count: u32) -> Result<Vec<Arc<EventFd>>> {
        let have = self.msix_vectors();
        if have == 0 {
            return Err(Error::NoMsix);
        }
        if count == 0 || count > have {
            return Err(Error::BadVector {
                vector: count,
                count: have,
            });
        }
        let mut fds = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let fd = EventFd::new(libc::EFD_NONBLOCK).map_err(|e| Error::io("eventfd", e))?;
            fds.push(Arc::new(fd));
        }
        let msix = self.device.msix();
        for (v, fd) in fds.iter().enumerate() {
            let v = v as u16;
            msix.set_line(v, Some(fd.clone()));
            // VFIO programs and unmasks every vector it enables.
            msix.set_vector_masked(v, false);
        }
        self.device.set_msix_enable(true);
        *self.vectors.lock() = fds.clone();
        Ok(fds)
    }

    fn disable_msix(&self) -> Result<()> {
        self.device.set_msix_enable(false);
        let msix = self.device.msix();
        for v in 0..msix.vectors() {
            msix.set_line(v, None);
        }
        self.vectors.lock().clear();
        Ok(())
    }

    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> Result<()> {
        let err = |reason: String| Error::DmaMap { iova, size, reason };
        if iova % DMA_ALIGN != 0
            || size % DMA_ALIGN != 0
            || (vaddr as u64) % DMA_ALIGN != 0
            || size == 0
        {
            return Err(err(
                "iova, size and vaddr must be 4 KiB aligned and size nonzero".into(),
            ));
        }
        let end = iova
            .checked_add(size)
            .ok_or_else(|| err("range wraps".into()))?;
        if iova < IOVA_RANGE.start || end > IOVA_RANGE.end {
            return Err(err(format!("outside the IOVA aperture {IOVA_RANGE:#x?}")));
        }
        let len = usize::try_from(size).map_err(|_| err("size does not fit in usize".into()))?;
        // SAFETY: the caller keeps `vaddr..vaddr+size` allocated and untouched by
        // Rust references until the matching dma_unmap has returned (the trait's
        // contract); the region does not own the memory (`build_raw`), so dropping
        // it never unmaps the caller's memory. The model only accesses it through
        // vm-memory's volatile copies while the mapping is in the IOMMU table.
        let region = unsafe {
            MmapRegion::<()>::build_raw(
                vaddr,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
            )
        }
        .map_err(|e| err(e.to_string()))?;
        let region = GuestRegionMmap::new(region, GuestAddress(iova))
            .ok_or_else(|| err("region wraps".into()))?;
        self.device
            .iommu()
            .map(region)
            .map_err(|e| err(e.to_string()))
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        self.device
            .iommu()
            .unmap(iova, size)
            .map(|_| ())
            .map_err(|e| Error::DmaUnmap {
                iova,
                size,
                reason: e.to_string(),
            })
    }

    fn iova_ranges(&self) -> Vec<Range<u64>> {
        vec![IOVA_RANGE]
    }

    fn reset(&self) -> Result<()> {
        self.device.reset();
        Ok(())
    }
}
