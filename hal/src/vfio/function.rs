//! [`VfioFunction`]: a PCI function bound to vfio-pci, as a [`PciFunction`].
//!
//! The decisions (which BAR exists, how many vectors, whether a DMA request is
//! well formed, whether the device can be reset) are made here; the few calls
//! that need the kernel go through [`Kernel`], implemented over vfio-ioctls and
//! raw ioctls in `attach.rs` and by a recording fake in the tests. Config space
//! and BARs use the device fd directly (positioned I/O and mmap), which a
//! regular file stands in for in the tests.

use std::fs::File;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use vmm_sys_util::eventfd::EventFd;

use super::bar::VfioBar;
use super::config::ConfigSpace;
use super::irq::{check_msix_request, new_eventfds};
use super::region::RegionInfo;
use crate::pci::config;
use crate::{Error, Mmio, PciFunction, Result};

/// Number of BARs of a type-0 header.
pub const BAR_COUNT: usize = 6;
/// DMA mappings must be aligned to this (the contract of [`PciFunction::dma_map`]).
pub const DMA_ALIGN: u64 = 4096;

/// The calls that need the VFIO kernel interface. Kept small so the rest of
/// [`VfioFunction`] is tested without `/dev/vfio`.
/// # Safety
/// As [`PciFunction`]'s: an `Ok` from `dma_unmap` means the device can no longer
/// reach the range, and `dma_map` touches no host memory itself.
pub(crate) unsafe trait Kernel: Send + Sync {
    /// `VFIO_DEVICE_SET_IRQS` on the MSI-X index with these eventfds.
    fn enable_msix(&self, fds: &[&EventFd]) -> Result<()>;
    /// `VFIO_DEVICE_SET_IRQS` disabling the MSI-X index.
    fn disable_msix(&self) -> Result<()>;
    /// `VFIO_DEVICE_RESET`.
    fn reset(&self) -> Result<()>;
    /// `VFIO_IOMMU_MAP_DMA` on the container.
    ///
    /// # Safety
    /// The contract of [`PciFunction::dma_map`].
    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> Result<()>;
    /// `VFIO_IOMMU_UNMAP_DMA` on the container.
    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()>;
}

/// What an opened device told us, gathered before building a [`VfioFunction`].
pub(crate) struct Parts {
    pub name: String,
    /// The device fd (a dup of vfio-ioctls' one).
    pub file: Arc<File>,
    pub config: RegionInfo,
    pub bars: [Option<RegionInfo>; BAR_COUNT],
    pub msix_count: u32,
    /// `VFIO_DEVICE_FLAGS_RESET`.
    pub has_reset: bool,
    pub iova_ranges: Vec<Range<u64>>,
}

/// A PCI function bound to vfio-pci. Open it with [`VfioFunction::open`].
///
/// BARs handed out by [`PciFunction::bar`] keep their mapping and a handle on the
/// device fd after this is dropped; drop them first so that the group is released
/// cleanly (vfio-ioctls detaches the group from the container when the function
/// goes, and the kernel refuses while a mapping still holds the device open).
pub struct VfioFunction {
    name: String,
    bars: Mutex<[Option<Arc<VfioBar>>; BAR_COUNT]>,
    bar_info: [Option<RegionInfo>; BAR_COUNT],
    config: ConfigSpace,
    file: Arc<File>,
    msix_count: u32,
    /// The eventfds of the enabled vectors; `None` while MSI-X is off.
    msix: Mutex<Option<Vec<Arc<EventFd>>>>,
    has_reset: bool,
    iova_ranges: Vec<Range<u64>>,
    kernel: Box<dyn Kernel>,
}

/// A poisoned lock only means another thread panicked while holding it; the data
/// (a cache, or the list of eventfds) is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl VfioFunction {
    pub(crate) fn from_parts(parts: Parts, kernel: Box<dyn Kernel>) -> Result<Self> {
        let config = ConfigSpace::new(parts.file.clone(), &parts.config, parts.name.clone())?;
        Ok(VfioFunction {
            name: parts.name,
            bars: Mutex::new(Default::default()),
            bar_info: parts.bars,
            config,
            file: parts.file,
            msix_count: parts.msix_count,
            msix: Mutex::new(None),
            has_reset: parts.has_reset,
            iova_ranges: parts.iova_ranges,
            kernel,
        })
    }

    /// Region info of BAR `index` as VFIO reported it (`None`: no such region).
    pub fn bar_info(&self, index: u8) -> Option<&RegionInfo> {
        self.bar_info.get(usize::from(index))?.as_ref()
    }

    /// Whether the kernel can reset this function (`VFIO_DEVICE_FLAGS_RESET`).
    pub fn can_reset(&self) -> bool {
        self.has_reset
    }

    /// Whether BAR `index` is an I/O-space BAR (bit 0 of the BAR register).
    fn is_io_bar(&self, index: u8) -> Result<bool> {
        let reg = self.config_read32(config::BAR0 + 4 * u16::from(index))?;
        Ok(reg & 1 != 0)
    }

    /// Checks a map (`map`) or unmap request before the kernel sees it, so a bad one
    /// fails with a reason instead of a bare EINVAL.
    fn check_dma(&self, iova: u64, size: u64, map: bool) -> Result<()> {
        let reason = if size == 0 {
            Some("size is zero".to_string())
        } else if iova % DMA_ALIGN != 0 || size % DMA_ALIGN != 0 {
            Some(format!("iova and size must be {DMA_ALIGN}-byte aligned"))
        } else if usize::try_from(size).is_err() {
            Some("size does not fit the address space".to_string())
        } else {
            match iova.checked_add(size) {
                None => Some("iova + size overflows".to_string()),
                Some(end) => (!self
                    .iova_ranges
                    .iter()
                    .any(|r| r.start <= iova && end <= r.end))
                .then(|| {
                    format!(
                        "{iova:#x}..{end:#x} is not inside one IOVA range the IOMMU accepts ({})",
                        describe_ranges(&self.iova_ranges)
                    )
                }),
            }
        };
        match reason {
            None => Ok(()),
            Some(reason) if map => Err(Error::DmaMap { iova, size, reason }),
            Some(reason) => Err(Error::DmaUnmap { iova, size, reason }),
        }
    }
}

fn describe_ranges(r: &[Range<u64>]) -> String {
    r.iter()
        .map(|r| format!("{:#x}..{:#x}", r.start, r.end))
        .collect::<Vec<_>>()
        .join(", ")
}

// SAFETY: `dma_unmap` returns `Ok` only when `VFIO_IOMMU_UNMAP_DMA` succeeded
// (through `Kernel`, whose implementations promise the same), after which the
// IOMMU no longer translates the range; `dma_map` hands the range to the kernel
// and touches none of it.
unsafe impl PciFunction for VfioFunction {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        self.config.read(offset, data)
    }

    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()> {
        self.config.write(offset, data)
    }

    fn bar(&self, index: u8) -> Result<Arc<dyn Mmio>> {
        let slot = usize::from(index);
        let info = match self.bar_info.get(slot) {
            Some(Some(info)) if info.size > 0 => info,
            _ => return Err(Error::NoSuchBar { bar: index }),
        };
        let mut bars = lock(&self.bars);
        if let Some(bar) = &bars[slot] {
            return Ok(bar.clone());
        }
        if self.is_io_bar(index)? {
            return Err(Error::NoSuchBar { bar: index });
        }
        let bar = Arc::new(VfioBar::new(self.file.clone(), info));
        bars[slot] = Some(bar.clone());
        Ok(bar)
    }

    fn msix_vectors(&self) -> u32 {
        self.msix_count
    }

    /// Enabling again with MSI-X already on first disables it (the old eventfds
    /// stop firing) and then enables `count` new vectors.
    fn enable_msix(&self, count: u32) -> Result<Vec<Arc<EventFd>>> {
        check_msix_request(count, self.msix_count)?;
        let mut state = lock(&self.msix);
        if state.take().is_some() {
            self.kernel.disable_msix()?;
        }
        let fds = new_eventfds(count)?;
        let refs: Vec<&EventFd> = fds.iter().map(|f| f.as_ref()).collect();
        self.kernel.enable_msix(&refs)?;
        tracing::debug!(function = %self.name, count, "MSI-X enabled");
        *state = Some(fds.clone());
        Ok(fds)
    }

    fn disable_msix(&self) -> Result<()> {
        if self.msix_count == 0 {
            return Err(Error::NoMsix);
        }
        let mut state = lock(&self.msix);
        if state.is_some() {
            self.kernel.disable_msix()?;
            *state = None;
        }
        Ok(())
    }

    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> Result<()> {
        self.check_dma(iova, size, true)?;
        if vaddr.is_null() || (vaddr as usize as u64) % DMA_ALIGN != 0 {
            return Err(Error::DmaMap {
                iova,
                size,
                reason: format!("host address {vaddr:p} is null or not {DMA_ALIGN}-byte aligned"),
            });
        }
        // SAFETY: the caller keeps the contract of `PciFunction::dma_map`, which is
        // the contract of `Kernel::dma_map`.
        unsafe { self.kernel.dma_map(iova, size, vaddr) }
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        self.check_dma(iova, size, false)?;
        self.kernel.dma_unmap(iova, size)
    }

    fn iova_ranges(&self) -> Vec<Range<u64>> {
        self.iova_ranges.clone()
    }

    fn reset(&self) -> Result<()> {
        if !self.has_reset {
            return Err(Error::Reset(format!(
                "{} has no reset vfio-pci can use (VFIO_DEVICE_FLAGS_RESET is clear: no FLR, \
                 no PM reset, and it does not own its slot or bus for a secondary bus reset); \
                 recover by unbinding and rebinding the function, or reset its slot",
                self.name
            )));
        }
        self.kernel.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfio::region::{CONFIG_REGION_INDEX, FLAG_MMAP, FLAG_READ, FLAG_WRITE};
    use std::os::unix::fs::FileExt;

    /// Records what the function asked of the kernel.
    #[derive(Default)]
    struct FakeKernel {
        calls: Arc<Mutex<Vec<String>>>,
        /// VFIO_DEVICE_SET_IRQS fails (e.g. the kernel cannot allocate vectors).
        fail_enable: bool,
    }

    // SAFETY: the fake maps nothing and never touches the memory it is given.
    unsafe impl Kernel for FakeKernel {
        fn enable_msix(&self, fds: &[&EventFd]) -> Result<()> {
            lock(&self.calls).push(format!("enable_msix {}", fds.len()));
            if self.fail_enable {
                return Err(Error::Vfio("VFIO_DEVICE_SET_IRQS: ENOSPC".into()));
            }
            Ok(())
        }
        fn disable_msix(&self) -> Result<()> {
            lock(&self.calls).push("disable_msix".into());
            Ok(())
        }
        fn reset(&self) -> Result<()> {
            lock(&self.calls).push("reset".into());
            Ok(())
        }
        unsafe fn dma_map(&self, iova: u64, size: u64, _vaddr: *mut u8) -> Result<()> {
            lock(&self.calls).push(format!("map {iova:#x} {size:#x}"));
            Ok(())
        }
        fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
            lock(&self.calls).push(format!("unmap {iova:#x} {size:#x}"));
            Ok(())
        }
    }

    const CONFIG_AT: u64 = 0x7_0000;
    const RW: u32 = FLAG_READ | FLAG_WRITE;

    /// A function over a temporary file laid out like a vfio-pci device fd: BAR0
    /// (64-bit memory, 0x4000 bytes, mmappable) at 0, BAR2 (I/O) at 0x2_0000,
    /// config space (256 bytes) at 0x7_0000.
    fn function(msix: u32, has_reset: bool) -> (VfioFunction, Arc<File>, Arc<Mutex<Vec<String>>>) {
        function_with(msix, has_reset, FakeKernel::default())
    }

    fn function_with(
        msix: u32,
        has_reset: bool,
        kernel: FakeKernel,
    ) -> (VfioFunction, Arc<File>, Arc<Mutex<Vec<String>>>) {
        let f = tempfile::tempfile().unwrap();
        f.set_len(CONFIG_AT + 0x100).unwrap();
        let mut cfg = [0u8; 0x40];
        cfg[0..2].copy_from_slice(&0x15b3u16.to_le_bytes());
        cfg[2..4].copy_from_slice(&0x101du16.to_le_bytes());
        cfg[4..6].copy_from_slice(&0x0000u16.to_le_bytes());
        cfg[0x10..0x14].copy_from_slice(&0x0000_000Cu32.to_le_bytes()); // 64-bit prefetchable memory
        cfg[0x18..0x1C].copy_from_slice(&0x0000_E001u32.to_le_bytes()); // I/O BAR
        f.write_all_at(&cfg, CONFIG_AT).unwrap();
        let file = Arc::new(f);
        let region = |index: u32, flags: u32, size: u64, offset: u64| RegionInfo {
            index,
            flags,
            size,
            offset,
            sparse: None,
            msix_mappable: false,
        };
        let calls = kernel.calls.clone();
        let parts = Parts {
            name: "0000:03:00.0".into(),
            file: file.clone(),
            config: region(CONFIG_REGION_INDEX, RW, 0x100, CONFIG_AT),
            bars: [
                Some(region(0, RW | FLAG_MMAP, 0x4000, 0)),
                Some(region(1, 0, 0, 0x1_0000)),
                Some(region(2, RW, 0x100, 0x2_0000)),
                None,
                None,
                None,
            ],
            msix_count: msix,
            has_reset,
            iova_ranges: vec![0x1_0000..0xFEE0_0000, 0xFEF0_0000..1 << 39],
        };
        let func = VfioFunction::from_parts(parts, Box::new(kernel)).unwrap();
        (func, file, calls)
    }

    #[test]
    fn config_space_goes_through_the_config_region() {
        let (f, file, _) = function(4, true);
        assert_eq!(f.config_read16(config::VENDOR_ID).unwrap(), 0x15b3);
        assert_eq!(f.config_read16(config::DEVICE_ID).unwrap(), 0x101d);
        f.config_write16(0x40, 0xBEEF).unwrap();
        let mut b = [0u8; 2];
        file.read_exact_at(&mut b, CONFIG_AT + 0x40).unwrap();
        assert_eq!(u16::from_le_bytes(b), 0xBEEF);
    }

    #[test]
    fn config_accesses_past_the_region_are_out_of_range_errors() {
        let (f, _, _) = function(4, true);
        let mut b = [0u8; 4];
        let e = f.config_read(0xFE, &mut b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutOfRange {
                    what: "config space",
                    offset: 0xFE,
                    len: 4,
                    size: 0x100
                }
            ),
            "{e}"
        );
        assert!(f.config_write(0x100, &[0]).is_err());
        assert!(f.config_read(0, &mut []).is_err());
    }

    #[test]
    fn bus_master_enable_sets_command_bits_through_vfio_config() {
        let (f, file, _) = function(4, true);
        f.set_bus_master(true).unwrap();
        let mut b = [0u8; 2];
        file.read_exact_at(&mut b, CONFIG_AT + u64::from(config::COMMAND))
            .unwrap();
        let cmd = u16::from_le_bytes(b);
        assert_eq!(cmd & config::COMMAND_BUS_MASTER, config::COMMAND_BUS_MASTER);
        assert_eq!(cmd & config::COMMAND_MEMORY, config::COMMAND_MEMORY);
        f.set_bus_master(false).unwrap();
        assert_eq!(
            f.config_read16(config::COMMAND).unwrap() & config::COMMAND_BUS_MASTER,
            0
        );
    }

    #[test]
    fn config_errors_propagate() {
        let (f, file, _) = function(4, true);
        // The "device" shrinks under us: the read fails and says what it was doing.
        file.set_len(CONFIG_AT + 8).unwrap();
        let e = f.config_read32(0x10).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(e.to_string().contains("config space at 0x10"), "{e}");
    }

    #[test]
    fn bars_are_cached_and_missing_or_io_bars_are_refused() {
        let (f, _, _) = function(4, true);
        let a = f.bar(0).unwrap();
        let b = f.bar(0).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.len(), 0x4000);
        a.write32(0x100, 0x1234_5678);
        assert_eq!(b.read32(0x100), 0x1234_5678);
        for i in [1u8, 2, 3, 6, 255] {
            let e = f.bar(i).err().unwrap();
            assert!(
                matches!(e, Error::NoSuchBar { bar } if bar == i),
                "{i}: {e}"
            );
        }
    }

    #[test]
    fn msix_enable_checks_the_count_and_passes_eventfds() {
        let (f, _, calls) = function(8, true);
        assert_eq!(f.msix_vectors(), 8);
        let fds = f.enable_msix(3).unwrap();
        assert_eq!(fds.len(), 3);
        let e = f.enable_msix(9).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadVector {
                    vector: 8,
                    count: 8
                }
            ),
            "{e}"
        );
        // Enabling again replaces the vectors.
        f.enable_msix(8).unwrap();
        f.disable_msix().unwrap();
        f.disable_msix().unwrap();
        assert_eq!(
            *lock(&calls),
            vec![
                "enable_msix 3",
                "disable_msix",
                "enable_msix 8",
                "disable_msix"
            ]
        );
        // Distinct eventfds, usable with wait_eventfd.
        fds[1].write(1).unwrap();
        assert_eq!(
            crate::os::wait_eventfd(&fds[1], Some(std::time::Duration::ZERO)).unwrap(),
            Some(1)
        );
        assert_eq!(
            crate::os::wait_eventfd(&fds[0], Some(std::time::Duration::ZERO)).unwrap(),
            None
        );
    }

    #[test]
    fn a_failed_enable_leaves_msix_off() {
        let kernel = FakeKernel {
            fail_enable: true,
            ..Default::default()
        };
        let (f, _, calls) = function_with(4, true, kernel);
        let e = f.enable_msix(2).unwrap_err();
        assert!(e.to_string().contains("ENOSPC"), "{e}");
        // Nothing to disable: the kernel is not asked.
        f.disable_msix().unwrap();
        assert_eq!(*lock(&calls), vec!["enable_msix 2"]);
    }

    #[test]
    fn no_msix_is_reported_as_such() {
        let (f, _, calls) = function(0, true);
        assert_eq!(f.msix_vectors(), 0);
        let e = f.enable_msix(1).unwrap_err();
        assert!(matches!(e, Error::NoMsix));
        assert!(e.to_string().contains("use polling"), "{e}");
        assert!(matches!(f.disable_msix(), Err(Error::NoMsix)));
        assert!(lock(&calls).is_empty());
    }

    #[test]
    fn dma_requests_are_checked_before_the_kernel_sees_them() {
        let (f, _, calls) = function(1, true);
        let page = 0x1000 as *mut u8;
        // SAFETY: the fake kernel does not touch memory.
        unsafe {
            f.dma_map(0x10_0000, 0x2000, page).unwrap();
            for (iova, size, addr) in [
                (0x10_0800, 0x1000, page),              // misaligned iova
                (0x10_0000, 0x1800, page),              // misaligned size
                (0x10_0000, 0, page),                   // empty
                (0x10_0000, 0x1000, 0x1234 as *mut u8), // misaligned host address
                (0xFEE0_0000, 0x1000, page),            // the MSI window
                (1 << 39, 0x1000, page),                // above the IOMMU's reach
                (!0xFFF, 0x2000, page),                 // overflow
            ] {
                let e = f.dma_map(iova, size, addr).unwrap_err();
                assert!(matches!(e, Error::DmaMap { .. }), "{iova:#x}: {e}");
            }
        }
        f.dma_unmap(0x10_0000, 0x2000).unwrap();
        assert!(matches!(
            f.dma_unmap(0x10_0001, 0x1000),
            Err(Error::DmaUnmap { .. })
        ));
        assert_eq!(
            *lock(&calls),
            vec!["map 0x100000 0x2000", "unmap 0x100000 0x2000"]
        );
        assert_eq!(
            f.iova_ranges(),
            vec![0x1_0000..0xFEE0_0000, 0xFEF0_0000..1 << 39]
        );
    }

    #[test]
    fn reset_without_kernel_support_says_so() {
        let (f, _, calls) = function(1, false);
        let e = f.reset().unwrap_err();
        assert!(matches!(e, Error::Reset(_)));
        assert!(e.to_string().contains("VFIO_DEVICE_FLAGS_RESET"), "{e}");
        assert!(e.to_string().contains("rebinding"), "{e}");
        assert!(lock(&calls).is_empty());
        let (f, _, calls) = function(1, true);
        f.reset().unwrap();
        assert_eq!(*lock(&calls), vec!["reset"]);
    }
}
