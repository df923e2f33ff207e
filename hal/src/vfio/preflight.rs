//! The checks made before any VFIO ioctl, each failure a typed error that says
//! what to do: the function exists, it is bound to vfio-pci, it has an IOMMU
//! group, the group is viable, and the `/dev/vfio` nodes can be opened.
//!
//! The kernel makes the same decisions (and has the last word: `VfioContainer`
//! and `VfioDevice` of vfio-ioctls fail after us if we were wrong), but its
//! answers are bare errnos. Doing them first from sysfs turns "EINVAL" or
//! "group is not viable" into a message naming the device and driver at fault.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::sysfs::{GroupMember, Sysfs, VFIO_PCI};
use crate::{Error, PciAddress, Result};

/// The default directory of the VFIO character devices.
pub const DEV_VFIO_ROOT: &str = "/dev/vfio";

/// What the checks found: enough to open the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preflight {
    /// The function.
    pub addr: PciAddress,
    /// Its sysfs directory (`/sys/bus/pci/devices/ADDR`), which vfio-ioctls reads.
    pub device_dir: PathBuf,
    /// The driver it is bound to (vfio-pci or a vfio-pci variant driver).
    pub driver: String,
    /// Its IOMMU group.
    pub group: u32,
    /// `/dev/vfio/N`.
    pub group_node: PathBuf,
}

/// Opens a device node read-write. The real one calls `open(2)`; tests supply one
/// that fails with a chosen errno, since CI runs as root and `chmod 000` does not
/// stop root.
pub trait NodeOpener {
    /// Opens `path` for reading and writing.
    fn open_rw(&self, path: &Path) -> io::Result<File>;
}

/// [`NodeOpener`] over `open(2)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemOpener;

impl NodeOpener for SystemOpener {
    fn open_rw(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }
}

/// Whether a function bound to `driver` can be driven through VFIO: vfio-pci
/// itself or one of its variant drivers (`mlx5_vfio_pci`, `xe-vfio-pci`, ...),
/// which register the same VFIO device interface.
pub fn is_vfio_pci_driver(driver: &str) -> bool {
    driver == VFIO_PCI || driver.ends_with("_vfio_pci") || driver.ends_with("-vfio-pci")
}

/// Whether a device bound to `driver` may share an IOMMU group with a device
/// handed to userspace.
///
/// The kernel's rule (since Linux 5.19, `iommu_group_claim_dma_owner` and
/// `__iommu_group_dma_first_claim_owner`) is that every bound driver must set
/// `driver_managed_dma`: the VFIO drivers (vfio-pci, its variants, vfio-platform,
/// vfio-cdx, ...), `pci-stub`, and `pcieport` (PCIe ports do no DMA of their
/// own, so a bridge in the group is fine). That flag is not visible in sysfs, so
/// this follows the kernel's list by name. Before 5.19 the rule was "vfio, or
/// pci-stub, or not a normal header type (bridges)"; `pcieport` covers the bridge
/// case there too. The kernel still checks (`VFIO_GROUP_FLAGS_VIABLE`) after us.
pub fn driver_allows_user_dma(driver: &str) -> bool {
    driver.contains("vfio") || driver == "pci-stub" || driver == "pcieport"
}

/// The members of a group that make it not viable for userspace DMA.
pub fn blocking_members(members: &[GroupMember], me: &str) -> Vec<GroupMember> {
    members
        .iter()
        .filter(|m| m.name != me)
        .filter(|m| {
            m.driver
                .as_deref()
                .is_some_and(|d| !driver_allows_user_dma(d))
        })
        .cloned()
        .collect()
}

/// `0000:00:1f.3 (snd_hda_intel), 0000:00:1f.4 (i801_smbus)`.
pub fn describe_members(members: &[GroupMember]) -> String {
    members
        .iter()
        .map(|m| {
            format!(
                "{} ({})",
                m.name,
                m.driver.as_deref().unwrap_or("no driver")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sysfs part of the checks, in the order a user would fix them.
pub fn check_sysfs(sysfs: &Sysfs, addr: PciAddress) -> Result<(PathBuf, String, u32)> {
    let name = addr.to_string();
    let dir = sysfs.existing_function_dir(addr)?;
    let driver = match sysfs.driver_of(&dir)? {
        None => return Err(Error::NoDriver { addr: name }),
        Some(d) if !is_vfio_pci_driver(&d) => {
            return Err(Error::NotBoundToVfio {
                addr: name,
                driver: d,
            })
        }
        Some(d) => d,
    };
    let group = sysfs
        .iommu_group_of(&dir)?
        .ok_or_else(|| Error::NoIommu { addr: name.clone() })?;
    let blocking = blocking_members(&sysfs.group_members(group)?, &name);
    if !blocking.is_empty() {
        return Err(Error::GroupNotViable {
            addr: name,
            group,
            others: describe_members(&blocking),
        });
    }
    Ok((dir, driver, group))
}

/// Maps the failure to open a VFIO node to the error that says what to do.
pub fn map_open_error(path: &Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => Error::VfioMissing {
            path: path.to_path_buf(),
        },
        Some(libc::EACCES) | Some(libc::EPERM) => Error::PermissionDenied {
            path: path.to_path_buf(),
        },
        Some(libc::EBUSY) => Error::Busy {
            path: path.to_path_buf(),
        },
        _ => Error::io(format!("open {}", path.display()), e),
    }
}

/// The `/dev/vfio` part of the checks: the container node exists and the group
/// node opens. The group fd is closed again before returning because a VFIO group
/// can be open only once and vfio-ioctls opens it itself.
pub fn check_dev_nodes(dev_vfio: &Path, group: u32, opener: &dyn NodeOpener) -> Result<PathBuf> {
    let container = dev_vfio.join("vfio");
    if let Err(e) = std::fs::symlink_metadata(&container) {
        return Err(map_open_error(&container, e));
    }
    let node = dev_vfio.join(group.to_string());
    match opener.open_rw(&node) {
        Ok(file) => drop(file),
        // The container node exists, so vfio is loaded: a missing group node means
        // this /dev is not the host's (a container, no devtmpfs), not a missing module.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Vfio(format!(
                "{} does not exist although {} does: this /dev lacks the group node; \
                 give the process the host's /dev/vfio (e.g. --device /dev/vfio/{group})",
                node.display(),
                container.display()
            )))
        }
        Err(e) => return Err(map_open_error(&node, e)),
    }
    Ok(node)
}

/// All checks, sysfs first, then `/dev/vfio`.
pub fn preflight(
    sysfs: &Sysfs,
    dev_vfio: &Path,
    addr: PciAddress,
    opener: &dyn NodeOpener,
) -> Result<Preflight> {
    let (device_dir, driver, group) = check_sysfs(sysfs, addr)?;
    let group_node = check_dev_nodes(dev_vfio, group, opener)?;
    Ok(Preflight {
        addr,
        device_dir,
        driver,
        group,
        group_node,
    })
}
