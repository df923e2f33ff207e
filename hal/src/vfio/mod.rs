//! The VFIO backend of [`crate::PciFunction`]: a function bound to vfio-pci,
//! driven from userspace through `/dev/vfio`.
//!
//! ```no_run
//! use cxu_hal::{vfio::VfioFunction, PciFunction};
//! let f = VfioFunction::open("0000:03:00.0".parse()?)?;
//! f.set_bus_master(true)?; // vfio-pci leaves it off; without it MSI-X is lost
//! let bar0 = f.bar(0)?;
//! let fw_rev = bar0.read32_be(0);
//! # let _ = fw_rev; Ok::<(), cxu_hal::Error>(())
//! ```
//!
//! Files, one concern each:
//! * `sysfs`, `preflight`: what the kernel says about the function (driver,
//!   IOMMU group, the group's other devices) and the checks made before any
//!   ioctl, each failure an [`crate::Error`] that says what to do.
//! * `attach`: opening, and the [`function::Kernel`] calls on the real device.
//! * `function`: [`VfioFunction`], the [`crate::PciFunction`] implementation.
//! * `config`, `bar`, `region`: config space by positioned I/O; BARs as
//!   [`crate::Mmio`] (mmap where allowed, pread/pwrite elsewhere).
//! * `irq`, `iommu`, `caps`: MSI-X eventfds; IOVA ranges; capability chains.
//! * `ioctl`: the raw ioctls.
//! * `bind`: moving a function to and from vfio-pci (`cxu bind/unbind`).
//!
//! What goes through vfio-ioctls 0.10 (default features off) and what does not:
//! * vfio-ioctls: the container (`VfioContainer::new`: API version, type1v2),
//!   the group and device (`VfioDevice::new`: open `/dev/vfio/N`, set container
//!   and IOMMU, get the device fd, IRQ info), MSI-X (`enable_msix`,
//!   `disable_msix`) and DMA (`vfio_dma_map`, `vfio_dma_unmap`). These do what we
//!   need and report their errors.
//! * The device fd directly (positioned I/O, mmap): config space and BARs.
//!   vfio-ioctls' `region_read`/`region_write` only log failures, and it has no
//!   mmap helper.
//! * Raw ioctls (`ioctl`): `VFIO_DEVICE_GET_INFO` (the reset flag is private in
//!   vfio-ioctls), `VFIO_DEVICE_RESET` (vfio-ioctls drops its result),
//!   `VFIO_DEVICE_GET_REGION_INFO` (vfio-ioctls' table may shift indices and trusts
//!   the capability offsets), `VFIO_IOMMU_GET_INFO` (not in vfio-ioctls).

mod attach;
pub mod bar;
pub mod bind;
pub mod caps;
pub mod config;
pub mod function;
mod ioctl;
pub mod iommu;
pub mod irq;
pub mod preflight;
pub mod region;
pub mod sysfs;

pub use bar::VfioBar;
pub use function::VfioFunction;
pub use preflight::{preflight, NodeOpener, Preflight, SystemOpener, DEV_VFIO_ROOT};
pub use sysfs::{Sysfs, SYSFS_ROOT, VFIO_PCI};
