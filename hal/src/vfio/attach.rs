//! Opening a function: preflight checks, then the container, group and device
//! through vfio-ioctls, then the region, IRQ and IOMMU queries.
//!
//! This is the only part that needs a real `/dev/vfio`; it cannot run on the
//! build machine (no IOMMU) and is exercised inside the QEMU guest. It is kept to
//! calls and error mapping; the decisions are in `preflight`, `region`, `iommu`,
//! `irq` and `function`, which are tested here.

use std::fs::File;
use std::mem::ManuallyDrop;
use std::os::fd::BorrowedFd;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vfio_ioctls::{VfioContainer, VfioDevice, VfioError};
use vmm_sys_util::eventfd::EventFd;

use super::function::{Kernel, Parts, VfioFunction, BAR_COUNT};
use super::ioctl;
use super::iommu::{IommuInfo, FALLBACK_IOVA_RANGES};
use super::irq::MSIX_IRQ_INDEX;
use super::preflight::{map_open_error, preflight, Preflight, SystemOpener, DEV_VFIO_ROOT};
use super::region::{RegionInfo, CONFIG_REGION_INDEX};
use super::sysfs::{Sysfs, SYSFS_ROOT};
use crate::{Error, PciAddress, Result};

/// `VFIO_DEVICE_FLAGS_RESET`.
const DEVICE_FLAGS_RESET: u32 = 1 << 0;

impl VfioFunction {
    /// Opens the function at `addr`, which must be bound to vfio-pci.
    ///
    /// Every way this can fail for a reason the user can fix (no such function,
    /// wrong driver, no IOMMU, group not viable, vfio not loaded, permissions, busy)
    /// is a distinct [`Error`] whose message says what to do.
    pub fn open(addr: PciAddress) -> Result<Self> {
        Self::open_with(Path::new(SYSFS_ROOT), Path::new(DEV_VFIO_ROOT), addr)
    }

    /// [`VfioFunction::open`] with other roots for sysfs and `/dev/vfio`.
    ///
    /// vfio-ioctls 0.10 opens `/dev/vfio/vfio` and `/dev/vfio/N` itself, so a
    /// `dev_vfio_root` other than `/dev/vfio` can only be used for the checks:
    /// when they pass, this returns an error saying so instead of opening nodes
    /// other than the ones checked.
    pub fn open_with(sysfs_root: &Path, dev_vfio_root: &Path, addr: PciAddress) -> Result<Self> {
        let pre = preflight(&Sysfs::new(sysfs_root), dev_vfio_root, addr, &SystemOpener)?;
        if dev_vfio_root != Path::new(DEV_VFIO_ROOT) {
            return Err(Error::Vfio(format!(
                "{addr}: checks passed against {}, but vfio-ioctls opens only {DEV_VFIO_ROOT}",
                dev_vfio_root.display()
            )));
        }
        attach(&pre)
    }
}

/// The container, group and device through vfio-ioctls (`VfioContainer::new`
/// checks the API version and type1v2; `VfioDevice::new` opens the group, sets
/// its container and IOMMU type and gets the device fd), then our own queries.
fn attach(pre: &Preflight) -> Result<VfioFunction> {
    let name = pre.addr.to_string();
    let container = Arc::new(VfioContainer::new(None).map_err(|e| map_vfio_error(e, pre))?);
    let device = VfioDevice::new(&pre.device_dir, container.clone(), false)
        .map_err(|e| map_vfio_error(e, pre))?;

    // Our own handle on the device fd for positioned I/O and mmap; vfio-ioctls
    // keeps its `File` private.
    // SAFETY: the fd belongs to `device`, which is alive for this call; the
    // borrow is only used to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(device.as_raw_fd()) };
    let file =
        Arc::new(File::from(borrowed.try_clone_to_owned().map_err(|e| {
            Error::io(format!("{name}: dup the VFIO device fd"), e)
        })?));

    let flags = ioctl::device_flags(file.as_ref())
        .map_err(|e| Error::io(format!("{name}: VFIO_DEVICE_GET_INFO"), e))?;
    let config = region(file.as_ref(), CONFIG_REGION_INDEX)
        .map_err(|e| Error::Vfio(format!("{name}: config region: {e}")))?;
    let mut bars: [Option<RegionInfo>; BAR_COUNT] = Default::default();
    for (i, slot) in bars.iter_mut().enumerate() {
        match region(file.as_ref(), i as u32) {
            Ok(info) => *slot = Some(info),
            Err(e) => {
                tracing::debug!(function = %name, bar = i, error = %e, "no region info for BAR")
            }
        }
    }
    let msix_count = device
        .get_irq_info(MSIX_IRQ_INDEX)
        .map(|irq| irq.count)
        .unwrap_or(0);
    let iova_ranges = match ioctl::iommu_info(container.as_ref())
        .map_err(|e| Error::io("VFIO_IOMMU_GET_INFO", e))
        .and_then(|b| IommuInfo::from_bytes(&b))
    {
        Ok(info) => info.usable_ranges(),
        Err(e) => {
            tracing::warn!(function = %name, error = %e, "no IOMMU info; using the fallback IOVA ranges");
            FALLBACK_IOVA_RANGES.to_vec()
        }
    };
    tracing::info!(
        function = %name,
        group = pre.group,
        msix = msix_count,
        reset = flags & DEVICE_FLAGS_RESET != 0,
        "opened through VFIO"
    );
    let parts = Parts {
        name,
        file: file.clone(),
        config,
        bars,
        msix_count,
        has_reset: flags & DEVICE_FLAGS_RESET != 0,
        iova_ranges,
    };
    VfioFunction::from_parts(
        parts,
        Box::new(VfioKernel {
            device: ManuallyDrop::new(device),
            container,
            file: Some(file),
            device_dir: pre.device_dir.clone(),
        }),
    )
}

fn region(fd: &dyn AsRawFd, index: u32) -> Result<RegionInfo> {
    let bytes = ioctl::region_info(fd, index)
        .map_err(|e| Error::io(format!("VFIO_DEVICE_GET_REGION_INFO {index}"), e))?;
    RegionInfo::from_bytes(&bytes)
}

/// Maps vfio-ioctls' errors to the ones that say what to do.
pub(crate) fn map_vfio_error(e: VfioError, pre: &Preflight) -> Error {
    match e {
        VfioError::OpenContainer(io) => map_open_error(&Path::new(DEV_VFIO_ROOT).join("vfio"), io),
        VfioError::OpenGroup(io, id) => map_open_error(&Path::new(DEV_VFIO_ROOT).join(id), io),
        VfioError::GroupViable => Error::GroupNotViable {
            addr: pre.addr.to_string(),
            group: pre.group,
            others: format!(
                "the kernel says so although sysfs showed none; a device may have just been \
                 bound; see /sys/kernel/iommu_groups/{}/devices",
                pre.group
            ),
        },
        VfioError::VfioExtension | VfioError::VfioInvalidType | VfioError::ContainerSetIOMMU(_) => {
            Error::Vfio(format!(
                "the kernel offers no type1v2 IOMMU for {}: load vfio_iommu_type1 ({e})",
                pre.addr
            ))
        }
        other => Error::Vfio(format!("{}: {other}", pre.addr)),
    }
}

/// [`Kernel`] over the real device and container.
///
/// vfio-ioctls: MSI-X enable/disable (`VfioDevice::enable_msix`/`disable_msix`)
/// and DMA map/unmap (`VfioContainer::vfio_dma_map`/`vfio_dma_unmap`, which also
/// checks that an unmap removed the whole size). Raw ioctl: reset, whose result
/// vfio-ioctls discards.
struct VfioKernel {
    /// Dropped by hand, before the container (see `Drop`).
    device: ManuallyDrop<VfioDevice>,
    container: Arc<VfioContainer>,
    /// Our dup of the device fd; closed before the device goes (see `Drop`).
    file: Option<Arc<File>>,
    /// The function's sysfs directory, which vfio-ioctls reads again on drop.
    device_dir: PathBuf,
}

impl Drop for VfioKernel {
    fn drop(&mut self) {
        // The group is detached from the container when the device goes, and
        // the kernel refuses (EBUSY) while any fd of the device is open: our
        // dup closes first (the function's own clone and the BARs' have gone
        // with the fields dropped before this one).
        drop(self.file.take());
        // vfio-ioctls' `VfioDevice::drop` re-reads `iommu_group` from sysfs and
        // unwraps the result: after a surprise removal that would panic in drop.
        // Then leak the device (its fd closes at exit) rather than abort.
        if std::fs::read_link(self.device_dir.join("iommu_group")).is_ok() {
            // SAFETY: dropped exactly once, here; not used afterwards.
            unsafe { ManuallyDrop::drop(&mut self.device) };
        } else {
            tracing::warn!(
                dir = %self.device_dir.display(),
                "function gone from sysfs; leaking its VFIO device handle instead of panicking"
            );
        }
    }
}

// SAFETY: `dma_unmap` is `Ok` only when vfio-ioctls' `vfio_dma_unmap` succeeded,
// which checks that the kernel removed the whole size, so the IOMMU no longer
// translates any of it; `dma_map` passes the range to the kernel untouched.
unsafe impl Kernel for VfioKernel {
    fn enable_msix(&self, fds: &[&EventFd]) -> Result<()> {
        self.device.enable_msix(fds.to_vec()).map_err(|e| {
            Error::Vfio(format!(
                "VFIO_DEVICE_SET_IRQS (MSI-X, {} vectors): {e}",
                fds.len()
            ))
        })
    }

    fn disable_msix(&self) -> Result<()> {
        self.device
            .disable_msix()
            .map_err(|e| Error::Vfio(format!("VFIO_DEVICE_SET_IRQS (disable MSI-X): {e}")))
    }

    fn reset(&self) -> Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| Error::Reset("the VFIO device is being closed".into()))?;
        ioctl::device_reset(file.as_ref())
            .map_err(|e| Error::Reset(format!("VFIO_DEVICE_RESET: {e}")))
    }

    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> Result<()> {
        let len = usize::try_from(size).map_err(|_| Error::DmaMap {
            iova,
            size,
            reason: "size does not fit usize".into(),
        })?;
        // SAFETY: the caller keeps the contract of `PciFunction::dma_map`, which is
        // vfio-ioctls' contract for `vfio_dma_map` (memory stays allocated and is
        // touched only through volatile/atomic accesses until unmapped).
        unsafe { self.container.vfio_dma_map(iova, len, vaddr) }.map_err(|e| Error::DmaMap {
            iova,
            size,
            reason: e.to_string(),
        })
    }

    fn dma_unmap(&self, iova: u64, size: u64) -> Result<()> {
        let len = usize::try_from(size).map_err(|_| Error::DmaUnmap {
            iova,
            size,
            reason: "size does not fit usize".into(),
        })?;
        self.container
            .vfio_dma_unmap(iova, len)
            .map_err(|e| Error::DmaUnmap {
                iova,
                size,
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn pre() -> Preflight {
        Preflight {
            addr: "0000:03:00.0".parse().unwrap(),
            device_dir: PathBuf::from("/sys/bus/pci/devices/0000:03:00.0"),
            driver: "vfio-pci".into(),
            group: 12,
            group_node: PathBuf::from("/dev/vfio/12"),
        }
    }

    #[test]
    fn vfio_ioctls_open_errors_become_actionable_errors() {
        let e = map_vfio_error(
            VfioError::OpenGroup(io::Error::from_raw_os_error(libc::EBUSY), "12".into()),
            &pre(),
        );
        assert!(
            matches!(&e, Error::Busy { path } if path == Path::new("/dev/vfio/12")),
            "{e}"
        );
        let e = map_vfio_error(
            VfioError::OpenGroup(io::Error::from_raw_os_error(libc::EACCES), "12".into()),
            &pre(),
        );
        assert!(matches!(e, Error::PermissionDenied { .. }), "{e}");
        let e = map_vfio_error(
            VfioError::OpenContainer(io::Error::from_raw_os_error(libc::ENOENT)),
            &pre(),
        );
        assert!(matches!(&e, Error::VfioMissing { path } if path == Path::new("/dev/vfio/vfio")));
        assert!(e.to_string().contains("modprobe vfio-pci"), "{e}");
        let e = map_vfio_error(VfioError::GroupViable, &pre());
        assert!(matches!(e, Error::GroupNotViable { group: 12, .. }), "{e}");
        let e = map_vfio_error(VfioError::VfioExtension, &pre());
        assert!(e.to_string().contains("vfio_iommu_type1"), "{e}");
    }

    #[test]
    fn another_dev_root_stops_after_the_checks() {
        // Needs a tree where every check passes; built in tests/vfio_open.rs style here.
        let t = tempfile::tempdir().unwrap();
        let sys = t.path().join("sys");
        let dev = t.path().join("dev/vfio");
        let fdir = sys.join("bus/pci/devices/0000:03:00.0");
        std::fs::create_dir_all(&fdir).unwrap();
        std::fs::create_dir_all(sys.join("bus/pci/drivers/vfio-pci")).unwrap();
        std::os::unix::fs::symlink("../../drivers/vfio-pci", fdir.join("driver")).unwrap();
        let gdir = sys.join("kernel/iommu_groups/12/devices");
        std::fs::create_dir_all(&gdir).unwrap();
        std::os::unix::fs::symlink("../../12", fdir.join("iommu_group")).unwrap();
        std::os::unix::fs::symlink(&fdir, gdir.join("0000:03:00.0")).unwrap();
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("vfio"), "").unwrap();
        std::fs::write(dev.join("12"), "").unwrap();
        let e = VfioFunction::open_with(&sys, &dev, "0000:03:00.0".parse().unwrap())
            .err()
            .unwrap();
        assert!(
            matches!(&e, Error::Vfio(m) if m.contains("checks passed")),
            "{e}"
        );
    }
}
