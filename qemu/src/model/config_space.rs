//! PCI configuration space of the function: identity, BAR0, and the capability
//! list a driver walks (PCI Express, MSI-X, vendor-specific).
//!
//! Only the bits a real function lets software change are writable (a
//! per-byte write mask); the rest read back what the device put there. Side
//! effects (bus master, MSI-X enable, function-level reset) are applied by the
//! [`super::Device`] after each write.
#![forbid(unsafe_code)]

use cxu_hal::pci::config as cfg;

use super::layout::*;
use super::profile::Profile;

/// Config space bytes and their write masks.
pub struct ConfigSpace {
    bytes: Vec<u8>,
    wmask: Vec<u8>,
    /// The vital product data the VPD capability serves.
    vpd: Vec<u8>,
}

/// What a config write asked the device to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfigEffects {
    /// The command register's bus-master bit after the write.
    pub bus_master: bool,
    /// MSI-X enable and function mask after the write.
    pub msix_enable: bool,
    /// MSI-X function mask after the write.
    pub msix_mask_all: bool,
    /// Software asked for a function-level reset.
    pub flr: bool,
}

impl ConfigSpace {
    /// The power-on config space of a function with `profile`.
    pub fn new(profile: &Profile) -> Self {
        let mut c = ConfigSpace {
            bytes: vec![0; CONFIG_SIZE],
            wmask: vec![0; CONFIG_SIZE],
            vpd: super::vpd::image(
                "cxu ConnectX-style model",
                profile.part_number,
                "A1",
                profile.serial_number,
            ),
        };
        c.put16(cfg::VENDOR_ID.into(), profile.vendor_id);
        c.put16(cfg::DEVICE_ID.into(), profile.device_id);
        c.put16(cfg::STATUS.into(), cfg::STATUS_CAP_LIST);
        // Class 0x020000: network controller, Ethernet.
        c.bytes[usize::from(cfg::CLASS_CODE) + 2] = 0x02;
        c.put16(cfg::SUBSYSTEM_VENDOR_ID.into(), profile.vendor_id);
        c.put16(cfg::SUBSYSTEM_ID.into(), 0x0008);
        c.bytes[usize::from(cfg::CAPABILITIES_PTR)] = CAP_PCIE as u8;
        // BAR0: 64-bit (type 10b) prefetchable memory BAR; BAR1 holds its upper half.
        c.put32(cfg::BAR0.into(), 0b1100);
        c.wmask32(cfg::BAR0.into(), !(BAR0_SIZE as u32 - 1));
        c.wmask32(usize::from(cfg::BAR0) + 4, u32::MAX);
        c.wmask16(
            cfg::COMMAND.into(),
            cfg::COMMAND_MEMORY | cfg::COMMAND_BUS_MASTER | cfg::COMMAND_INTX_DISABLE,
        );

        // PCI Express capability v2, endpoint, FLR capable, link 8 GT/s x16 (a
        // ConnectX-5's PCIe 3.0 x16: the kernel prints 126.016 Gb/s available).
        // Linux takes the maximum speed from LNKCAP2's supported speeds vector
        // (2.5, 5 and 8 GT/s), and a function without RBER as pre-1.1 PCIe.
        let p = CAP_PCIE;
        c.bytes[p] = cfg::CAP_ID_EXP;
        c.bytes[p + 1] = CAP_MSIX as u8;
        c.put16(p + 2, 0x0002);
        c.put32(p + PCIE_DEVCAP, PCIE_DEVCAP_FLR | PCIE_DEVCAP_RBER | 0x2);
        c.wmask16(p + PCIE_DEVCTL, 0x7CFF | PCIE_DEVCTL_BCR_FLR);
        c.put32(p + PCIE_LNKCAP, (16 << 4) | 3);
        c.put16(p + PCIE_LNKSTA, (16 << 4) | 3);
        c.put32(p + PCIE_LNKCAP2, 0b1110);

        // MSI-X: table and PBA in BAR0.
        let m = CAP_MSIX;
        c.bytes[m] = cfg::CAP_ID_MSIX;
        c.bytes[m + 1] = CAP_VNDR as u8;
        c.put16(
            m + 2,
            profile.msix_vectors.saturating_sub(1) & cfg::MSIX_FLAGS_QSIZE,
        );
        c.wmask16(m + 2, cfg::MSIX_FLAGS_ENABLE | MSIX_FLAGS_MASKALL);
        c.put32(m + 4, MSIX_TABLE_OFFSET as u32);
        c.put32(m + 8, MSIX_PBA_OFFSET as u32);

        // Vendor-specific capability: header and length only.
        c.bytes[CAP_VNDR] = cfg::CAP_ID_VNDR;
        c.bytes[CAP_VNDR + 1] = CAP_VPD as u8;
        c.bytes[CAP_VNDR + 2] = CAP_VNDR_LEN;

        // VPD, end of the list: software writes an address with the flag
        // clear, the device answers 4 bytes in the data register and sets the
        // flag (reads only: a VPD write completes without changing anything).
        c.bytes[CAP_VPD] = cfg::CAP_ID_VPD;
        c.bytes[CAP_VPD + 1] = 0;
        c.wmask16(CAP_VPD + 2, 0xFFFF);
        c
    }

    /// A write touched the VPD address register: serve the read it asks for.
    fn vpd_access(&mut self) {
        let a = self.get16(CAP_VPD + 2);
        let addr = usize::from(a & !VPD_ADDR_F);
        if a & VPD_ADDR_F == 0 {
            let mut d = [0u8; 4];
            for (i, b) in d.iter_mut().enumerate() {
                *b = self.vpd.get(addr + i).copied().unwrap_or(0);
            }
            self.bytes[CAP_VPD + 4..CAP_VPD + 8].copy_from_slice(&d);
        }
        // A read completes with the flag set, a write with it clear.
        self.put16(CAP_VPD + 2, (a & !VPD_ADDR_F) | (!a & VPD_ADDR_F));
    }

    fn put16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn put32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn wmask16(&mut self, off: usize, v: u16) {
        self.wmask[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn wmask32(&mut self, off: usize, v: u32) {
        self.wmask[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn get16(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.bytes[off], self.bytes[off + 1]])
    }

    /// Copies config bytes at `offset` into `data`; false if out of range.
    pub fn read(&self, offset: usize, data: &mut [u8]) -> bool {
        match offset.checked_add(data.len()) {
            Some(end) if end <= self.bytes.len() => {
                data.copy_from_slice(&self.bytes[offset..end]);
                true
            }
            _ => false,
        }
    }

    /// Writes `data` at `offset` through the write masks; `None` if out of range.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Option<ConfigEffects> {
        let end = offset
            .checked_add(data.len())
            .filter(|e| *e <= self.bytes.len())?;
        for (i, &b) in (offset..end).zip(data) {
            let m = self.wmask[i];
            self.bytes[i] = (self.bytes[i] & !m) | (b & m);
        }
        if offset < CAP_VPD + 4 && end > CAP_VPD + 2 {
            self.vpd_access();
        }
        let devctl = CAP_PCIE + PCIE_DEVCTL;
        let flr = self.get16(devctl) & PCIE_DEVCTL_BCR_FLR != 0;
        if flr {
            // "Initiate FLR" always reads 0.
            let v = self.get16(devctl) & !PCIE_DEVCTL_BCR_FLR;
            self.put16(devctl, v);
        }
        Some(ConfigEffects {
            flr,
            ..self.effects()
        })
    }

    /// The state of the bits with side effects.
    pub fn effects(&self) -> ConfigEffects {
        let cmd = self.get16(cfg::COMMAND.into());
        let msix = self.get16(CAP_MSIX + 2);
        ConfigEffects {
            bus_master: cmd & cfg::COMMAND_BUS_MASTER != 0,
            msix_enable: msix & cfg::MSIX_FLAGS_ENABLE != 0,
            msix_mask_all: msix & MSIX_FLAGS_MASKALL != 0,
            flr: false,
        }
    }

    /// Sets or clears MSI-X enable (what VFIO's MSI-X ioctl does for the driver).
    pub fn set_msix_enable(&mut self, on: bool) -> ConfigEffects {
        let v = self.get16(CAP_MSIX + 2);
        let v = if on {
            (v | cfg::MSIX_FLAGS_ENABLE) & !MSIX_FLAGS_MASKALL
        } else {
            v & !cfg::MSIX_FLAGS_ENABLE
        };
        self.put16(CAP_MSIX + 2, v);
        self.effects()
    }
}
