//! A fake sysfs and /dev/vfio in a temporary directory, laid out like the
//! kernel's: function directories under `devices/pci0000:00/`, reached through
//! `bus/pci/devices/ADDR` symlinks, with `driver` and `iommu_group` symlinks and
//! `kernel/iommu_groups/N/devices/*` pointing back at them.

#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

pub struct FakeTree {
    _dir: tempfile::TempDir,
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl FakeTree {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let dev = dir.path().join("dev/vfio");
        for d in [
            "bus/pci/devices",
            "bus/pci/drivers",
            "devices/pci0000:00",
            "kernel/iommu_groups",
        ] {
            std::fs::create_dir_all(sys.join(d)).unwrap();
        }
        std::fs::write(sys.join("bus/pci/drivers_probe"), "").unwrap();
        std::fs::create_dir_all(&dev).unwrap();
        FakeTree {
            _dir: dir,
            sys,
            dev,
        }
    }

    /// `bus/pci/drivers/NAME` with its bind/unbind attributes.
    pub fn driver(&self, name: &str) -> PathBuf {
        let d = self.sys.join("bus/pci/drivers").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("bind"), "").unwrap();
        std::fs::write(d.join("unbind"), "").unwrap();
        d
    }

    /// The real directory of a function.
    pub fn real_dir(&self, addr: &str) -> PathBuf {
        self.sys.join("devices/pci0000:00").join(addr)
    }

    /// A function, optionally bound to `driver` and in IOMMU group `group`.
    pub fn function(&self, addr: &str, driver: Option<&str>, group: Option<u32>) -> PathBuf {
        let real = self.real_dir(addr);
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("vendor"), "0x15b3\n").unwrap();
        std::fs::write(real.join("device"), "0x101d\n").unwrap();
        std::fs::write(real.join("class"), "0x020000\n").unwrap();
        std::fs::write(real.join("driver_override"), "(null)\n").unwrap();
        symlink(&real, self.sys.join("bus/pci/devices").join(addr)).unwrap();
        if let Some(d) = driver {
            self.bind_link(addr, d);
        }
        if let Some(g) = group {
            let gdir = self.sys.join("kernel/iommu_groups").join(g.to_string());
            std::fs::create_dir_all(gdir.join("devices")).unwrap();
            symlink(&gdir, real.join("iommu_group")).unwrap();
            symlink(&real, gdir.join("devices").join(addr)).unwrap();
        }
        real
    }

    /// Points the function's `driver` link at `driver` (creating the driver).
    pub fn bind_link(&self, addr: &str, driver: &str) {
        let d = self.driver(driver);
        let link = self.real_dir(addr).join("driver");
        let _ = std::fs::remove_file(&link);
        symlink(d, link).unwrap();
    }

    /// `/dev/vfio/vfio` and `/dev/vfio/N` for each group.
    pub fn vfio_nodes(&self, groups: &[u32]) {
        std::fs::write(self.dev.join("vfio"), "").unwrap();
        for g in groups {
            std::fs::write(self.dev.join(g.to_string()), "").unwrap();
        }
    }

    /// A network interface of the function.
    pub fn net(&self, addr: &str, name: &str, operstate: &str, flags: &str) {
        let d = self.real_dir(addr).join("net").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("operstate"), format!("{operstate}\n")).unwrap();
        std::fs::write(d.join("flags"), format!("{flags}\n")).unwrap();
    }

    /// A directory below the function (e.g. `nvme/nvme0/nvme0n1/queue`).
    pub fn subdir(&self, addr: &str, rel: &str) -> PathBuf {
        let d = self.real_dir(addr).join(rel);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    pub fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}
