//! Reading the kernel's view of a PCI function from sysfs.
//!
//! Every path is built from a root (normally `/sys`) so tests run against a fake
//! tree in a temporary directory. Only symlinks and small text files are read; no
//! write happens here (writes are in [`super::bind`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::{Error, PciAddress, Result};

/// The default sysfs mount point.
pub const SYSFS_ROOT: &str = "/sys";

/// The name of the generic VFIO PCI driver.
pub const VFIO_PCI: &str = "vfio-pci";

/// A sysfs tree rooted at `root` (`/sys` on a real system).
#[derive(Clone, Debug)]
pub struct Sysfs {
    root: PathBuf,
}

/// One device of an IOMMU group and the driver it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// The device name, for PCI the address (`0000:03:00.1`).
    pub name: String,
    /// The bound driver, `None` when no driver is bound.
    pub driver: Option<String>,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new(SYSFS_ROOT)
    }
}

impl Sysfs {
    /// A tree rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
    }

    /// The root this tree reads from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `/sys/bus/pci/devices/ADDR`.
    pub fn function_dir(&self, addr: PciAddress) -> PathBuf {
        self.root.join("bus/pci/devices").join(addr.to_string())
    }

    /// `/sys/bus/pci/drivers/NAME`.
    pub fn driver_dir(&self, driver: &str) -> PathBuf {
        self.root.join("bus/pci/drivers").join(driver)
    }

    /// `/sys/bus/pci/drivers_probe`.
    pub fn drivers_probe(&self) -> PathBuf {
        self.root.join("bus/pci/drivers_probe")
    }

    /// `/sys/kernel/iommu_groups/N/devices`.
    pub fn group_devices_dir(&self, group: u32) -> PathBuf {
        self.root
            .join("kernel/iommu_groups")
            .join(group.to_string())
            .join("devices")
    }

    /// The function directory if it exists, else [`Error::FunctionNotFound`].
    pub fn existing_function_dir(&self, addr: PciAddress) -> Result<PathBuf> {
        let dir = self.function_dir(addr);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Error::FunctionNotFound {
                addr: addr.to_string(),
                path: dir,
            })
        }
    }

    /// The driver bound to the device at `dev_dir` (the last component of its
    /// `driver` symlink), or `None` when it has no driver.
    pub fn driver_of(&self, dev_dir: &Path) -> Result<Option<String>> {
        link_name(&dev_dir.join("driver"))
    }

    /// The IOMMU group of the device at `dev_dir` (the number its `iommu_group`
    /// symlink points at), or `None` when the device has no group.
    pub fn iommu_group_of(&self, dev_dir: &Path) -> Result<Option<u32>> {
        let link = dev_dir.join("iommu_group");
        match link_name(&link)? {
            None => Ok(None),
            Some(name) => name.parse::<u32>().map(Some).map_err(|_| {
                Error::Vfio(format!(
                    "{} points at {name:?}, which is not an IOMMU group number",
                    link.display()
                ))
            }),
        }
    }

    /// Every device of IOMMU group `group` with its driver, sorted by name.
    pub fn group_members(&self, group: u32) -> Result<Vec<GroupMember>> {
        let dir = self.group_devices_dir(group);
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        let mut members = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let driver = self.driver_of(&entry.path())?;
            members.push(GroupMember { name, driver });
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(members)
    }

    /// The contents of `driver_override` of the device at `dev_dir`, trimmed;
    /// `None` when the file says `(null)` (nothing set) or is empty.
    pub fn driver_override_of(&self, dev_dir: &Path) -> Result<Option<String>> {
        let path = dev_dir.join("driver_override");
        let text = read_text(&path)?;
        let text = text.trim();
        if text.is_empty() || text == "(null)" {
            Ok(None)
        } else {
            Ok(Some(text.to_string()))
        }
    }
}

/// The file name a symlink points at, `None` when the link does not exist.
fn link_name(link: &Path) -> Result<Option<String>> {
    match std::fs::read_link(link) {
        Ok(target) => match target.file_name() {
            Some(name) => Ok(Some(name.to_string_lossy().into_owned())),
            None => Err(Error::Vfio(format!(
                "{} points at {}, which has no final component",
                link.display(),
                target.display()
            ))),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("readlink {}", link.display()), e)),
    }
}

/// Reads a small sysfs text file.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(format!("read {}", path.display()), e))
}
