//! The PCI function the driver programs against.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use vmm_sys_util::eventfd::EventFd;

use crate::{Error, Mmio, Result};

/// PCI config-space offsets the driver and the backends share.
pub mod config {
    pub const VENDOR_ID: u16 = 0x00;
    pub const DEVICE_ID: u16 = 0x02;
    pub const COMMAND: u16 = 0x04;
    pub const STATUS: u16 = 0x06;
    pub const REVISION_ID: u16 = 0x08;
    pub const CLASS_CODE: u16 = 0x09;
    pub const HEADER_TYPE: u16 = 0x0E;
    pub const BAR0: u16 = 0x10;
    pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
    pub const SUBSYSTEM_ID: u16 = 0x2E;
    pub const CAPABILITIES_PTR: u16 = 0x34;
    pub const INTERRUPT_PIN: u16 = 0x3D;

    /// COMMAND register bits.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
    pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
    /// STATUS bit: a capability list is present.
    pub const STATUS_CAP_LIST: u16 = 1 << 4;

    /// Capability ids.
    pub const CAP_ID_PM: u8 = 0x01;
    pub const CAP_ID_VPD: u8 = 0x03;
    pub const CAP_ID_VNDR: u8 = 0x09;
    pub const CAP_ID_EXP: u8 = 0x10;
    pub const CAP_ID_MSIX: u8 = 0x11;
    /// MSI-X capability: message control at +2 (bits 10:0 = table size - 1, bit 15 = enable),
    /// table offset/BIR at +4, PBA offset/BIR at +8.
    pub const MSIX_FLAGS: u16 = 2;
    pub const MSIX_TABLE: u16 = 4;
    pub const MSIX_PBA: u16 = 8;
    pub const MSIX_FLAGS_QSIZE: u16 = 0x07FF;
    pub const MSIX_FLAGS_ENABLE: u16 = 1 << 15;
}

/// A PCI address `domain:bus:device.function`, e.g. `0000:03:00.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddress {
    pub domain: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl FromStr for PciAddress {
    type Err = Error;

    /// Accepts `DDDD:BB:DD.F` and the short `BB:DD.F` (domain 0), as lspci prints them.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::BadAddress(s.to_string());
        let parts: Vec<&str> = s.split(':').collect();
        let (domain, bus, devfn) = match parts.as_slice() {
            [d, b, df] => (*d, *b, *df),
            [b, df] => ("0000", *b, *df),
            _ => return Err(bad()),
        };
        let (dev, func) = devfn.split_once('.').ok_or_else(bad)?;
        let hex = |t: &str, max_len: usize| {
            if t.is_empty() || t.len() > max_len || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
                None
            } else {
                u32::from_str_radix(t, 16).ok()
            }
        };
        let domain = hex(domain, 4).ok_or_else(bad)? as u16;
        let bus = hex(bus, 2).ok_or_else(bad)? as u8;
        let device = hex(dev, 2).filter(|d| *d < 32).ok_or_else(bad)? as u8;
        let function = hex(func, 1).filter(|f| *f < 8).ok_or_else(bad)? as u8;
        Ok(PciAddress {
            domain,
            bus,
            device,
            function,
        })
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

/// A PCI function handed to a userspace driver.
///
/// Backends: [`crate::vfio::VfioFunction`] (a function bound to vfio-pci) and the
/// in-process device model of `cxu-qemu`. The driver must not know which one it has.
///
/// # Safety
/// Callers free DMA memory on the word of [`PciFunction::dma_unmap`], so an
/// implementation promises: when `dma_unmap(iova, size)` returns `Ok(())`, neither
/// the device nor the backend can read or write any byte that was mapped in
/// `iova..iova+size` any more (an unmap that cannot promise that returns an
/// error), and `dma_map` never touches memory outside `vaddr..vaddr+size`, and
/// touches it only with volatile or atomic accesses or DMA.
///
/// So a backend is written with `unsafe impl`, with a `// SAFETY:` line saying
/// why its unmap keeps that promise; without `unsafe` it does not compile:
///
/// ```compile_fail,E0200
/// # use std::ops::Range;
/// # use std::sync::Arc;
/// # use cxu_hal::{Error, EventFd, Mmio, PciFunction, Result};
/// struct Fake;
/// impl PciFunction for Fake {
///     fn name(&self) -> String { "fake".into() }
///     fn config_read(&self, _: u16, d: &mut [u8]) -> Result<()> { d.fill(0); Ok(()) }
///     fn config_write(&self, _: u16, _: &[u8]) -> Result<()> { Ok(()) }
///     fn bar(&self, bar: u8) -> Result<Arc<dyn Mmio>> { Err(Error::NoSuchBar { bar }) }
///     fn msix_vectors(&self) -> u32 { 0 }
///     fn enable_msix(&self, _: u32) -> Result<Vec<Arc<EventFd>>> { Err(Error::NoMsix) }
///     fn disable_msix(&self) -> Result<()> { Ok(()) }
///     unsafe fn dma_map(&self, _: u64, _: u64, _: *mut u8) -> Result<()> { Ok(()) }
///     fn dma_unmap(&self, _: u64, _: u64) -> Result<()> { Ok(()) }
///     fn iova_ranges(&self) -> Vec<Range<u64>> { Vec::new() }
///     fn reset(&self) -> Result<()> { Ok(()) }
/// }
/// ```
///
/// ```
/// # use std::ops::Range;
/// # use std::sync::Arc;
/// # use cxu_hal::{Error, EventFd, Mmio, PciFunction, Result};
/// struct Fake;
/// // SAFETY: maps nothing, touches no memory.
/// unsafe impl PciFunction for Fake {
///     fn name(&self) -> String { "fake".into() }
///     fn config_read(&self, _: u16, d: &mut [u8]) -> Result<()> { d.fill(0); Ok(()) }
///     fn config_write(&self, _: u16, _: &[u8]) -> Result<()> { Ok(()) }
///     fn bar(&self, bar: u8) -> Result<Arc<dyn Mmio>> { Err(Error::NoSuchBar { bar }) }
///     fn msix_vectors(&self) -> u32 { 0 }
///     fn enable_msix(&self, _: u32) -> Result<Vec<Arc<EventFd>>> { Err(Error::NoMsix) }
///     fn disable_msix(&self) -> Result<()> { Ok(()) }
///     unsafe fn dma_map(&self, _: u64, _: u64, _: *mut u8) -> Result<()> { Ok(()) }
///     fn dma_unmap(&self, _: u64, _: u64) -> Result<()> { Ok(()) }
///     fn iova_ranges(&self) -> Vec<Range<u64>> { Vec::new() }
///     fn reset(&self) -> Result<()> { Ok(()) }
/// }
/// ```
pub unsafe trait PciFunction: Send + Sync {
    /// A name for logs: the PCI address, or the model's name.
    fn name(&self) -> String;

    /// Reads `data.len()` bytes of config space at `offset`.
    fn config_read(&self, offset: u16, data: &mut [u8]) -> Result<()>;

    /// Writes `data` to config space at `offset`.
    fn config_write(&self, offset: u16, data: &[u8]) -> Result<()>;

    /// The memory BAR `index` as an MMIO region. Repeated calls return the same region.
    fn bar(&self, index: u8) -> Result<Arc<dyn Mmio>>;

    /// Number of MSI-X vectors the function has; 0 when it has no MSI-X capability.
    fn msix_vectors(&self) -> u32;

    /// Enables MSI-X with `count` vectors and returns one eventfd per vector, in order.
    /// Fails with [`Error::NoMsix`] when the function has none, [`Error::BadVector`]
    /// when it has fewer than `count`. Bus mastering must be on for MSI-X to arrive.
    fn enable_msix(&self, count: u32) -> Result<Vec<Arc<EventFd>>>;

    /// Disables MSI-X; the eventfds returned before no longer fire.
    fn disable_msix(&self) -> Result<()>;

    /// Makes `size` bytes of host memory at `vaddr` visible to the device at `iova`.
    ///
    /// # Safety
    /// `vaddr..vaddr+size` must stay allocated, and must not be freed or remapped,
    /// until [`PciFunction::dma_unmap`] of the same `iova` and `size` has *succeeded*
    /// (returned `Ok`; vfio-ioctls' contract for `vfio_dma_map`). When the unmap
    /// fails, or panics, the device may still reach the memory: it must then be
    /// leaked, never freed. While it is mapped the device may read and write it at
    /// any time, so the host may touch it only through volatile or atomic accesses,
    /// never through a Rust reference, and no Rust reference to it may be live when
    /// this is called. `iova`, `vaddr` and `size` must be 4 KiB aligned.
    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> Result<()>;

    /// Removes a mapping made by [`PciFunction::dma_map`]. When it returns `Ok` the
    /// device can no longer reach the memory (the trait's safety promise); on an
    /// error it may, and the memory must not be freed.
    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()>;

    /// IOVA ranges the IOMMU accepts (from `VFIO_IOMMU_GET_INFO` on VFIO).
    fn iova_ranges(&self) -> Vec<Range<u64>>;

    /// Resets the function (function-level reset). DMA mappings survive; device state
    /// does not.
    fn reset(&self) -> Result<()>;

    /// Reads a little-endian 16-bit config register.
    fn config_read16(&self, offset: u16) -> Result<u16> {
        let mut b = [0u8; 2];
        self.config_read(offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Reads a little-endian 32-bit config register.
    fn config_read32(&self, offset: u16) -> Result<u32> {
        let mut b = [0u8; 4];
        self.config_read(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn config_write16(&self, offset: u16, value: u16) -> Result<()> {
        self.config_write(offset, &value.to_le_bytes())
    }

    /// Turns bus mastering on or off. Without it the device's DMA and its MSI-X
    /// messages are blocked (vfio-pci does not turn it on for us).
    fn set_bus_master(&self, enable: bool) -> Result<()> {
        let cmd = self.config_read16(config::COMMAND)?;
        let new = if enable {
            cmd | config::COMMAND_BUS_MASTER | config::COMMAND_MEMORY
        } else {
            cmd & !config::COMMAND_BUS_MASTER
        };
        if new != cmd {
            self.config_write16(config::COMMAND, new)?;
        }
        Ok(())
    }

    /// Walks the capability list and returns the config offset of capability `id`.
    /// The walk is bounded, so a looping list (a broken or hostile device) ends.
    fn find_capability(&self, id: u8) -> Result<Option<u16>> {
        if self.config_read16(config::STATUS)? & config::STATUS_CAP_LIST == 0 {
            return Ok(None);
        }
        let mut b = [0u8; 1];
        self.config_read(config::CAPABILITIES_PTR, &mut b)?;
        let mut ptr = u16::from(b[0] & 0xFC);
        for _ in 0..48 {
            if ptr < 0x40 {
                return Ok(None);
            }
            let mut hdr = [0u8; 2];
            self.config_read(ptr, &mut hdr)?;
            if hdr[0] == id {
                return Ok(Some(ptr));
            }
            ptr = u16::from(hdr[1] & 0xFC);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_short_addresses() {
        let a: PciAddress = "0000:03:00.0".parse().unwrap();
        assert_eq!(
            a,
            PciAddress {
                domain: 0,
                bus: 3,
                device: 0,
                function: 0
            }
        );
        assert_eq!(a.to_string(), "0000:03:00.0");
        let b: PciAddress = "af:1f.7".parse().unwrap();
        assert_eq!(b.to_string(), "0000:af:1f.7");
        assert!("10000:00:00.0".parse::<PciAddress>().is_err());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for s in [
            "",
            "0000:03:00",
            "0000:03:20.0",
            "0000:03:00.8",
            "zz:00.0",
            "0000:003:00.0",
            "1:2:3:4.0",
            "0000:03:00.0 ",
        ] {
            let e = s.parse::<PciAddress>().unwrap_err();
            assert!(matches!(e, Error::BadAddress(_)), "{s:?} gave {e}");
        }
    }
}
