//! PCI config space through the VFIO config region, with positioned reads and
//! writes on the device fd so that failures reach the caller (vfio-ioctls'
//! `region_read`/`region_write` only log them).
//!
//! vfio-pci virtualizes config space: the COMMAND register's bus-master and
//! memory bits are passed through, so `PciFunction::set_bus_master` (a
//! read-modify-write of COMMAND) works over this path unchanged.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::region::RegionInfo;
use crate::{Error, Result};

/// The config region of one device.
pub struct ConfigSpace {
    file: Arc<File>,
    offset: u64,
    size: u64,
    name: String,
}

impl ConfigSpace {
    /// Config space of device `name` (for messages), region `info` of `file`.
    pub fn new(file: Arc<File>, info: &RegionInfo, name: String) -> Result<Self> {
        if !info.readable() || info.size == 0 {
            return Err(Error::Vfio(format!(
                "{name}: the config region (index {}) is not readable or empty (flags {:#x}, size {:#x})",
                info.index, info.flags, info.size
            )));
        }
        Ok(ConfigSpace {
            file,
            offset: info.offset,
            size: info.size,
            name,
        })
    }

    fn check(&self, offset: u16, len: usize) -> Result<u64> {
        let off = u64::from(offset);
        let len = len as u64;
        if len == 0 || off.checked_add(len).is_none_or(|end| end > self.size) {
            return Err(Error::OutOfRange {
                what: "config space",
                offset: off,
                len,
                size: self.size,
            });
        }
        Ok(self.offset + off)
    }

    /// Reads `data.len()` bytes at `offset`.
    pub fn read(&self, offset: u16, data: &mut [u8]) -> Result<()> {
        let at = self.check(offset, data.len())?;
        self.file.read_exact_at(data, at).map_err(|e| {
            Error::io(
                format!(
                    "{}: read {} bytes of config space at {offset:#x}",
                    self.name,
                    data.len()
                ),
                e,
            )
        })
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: u16, data: &[u8]) -> Result<()> {
        let at = self.check(offset, data.len())?;
        self.file.write_all_at(data, at).map_err(|e| {
            Error::io(
                format!(
                    "{}: write {} bytes of config space at {offset:#x}",
                    self.name,
                    data.len()
                ),
                e,
            )
        })
    }
}
