//! Where things are in BAR0 and in config space. The init segment layout itself
//! comes from `cxu_hal::ifc`; this file only places the model's regions.
#![forbid(unsafe_code)]

/// BAR0 size: 1 MiB (a power of two, 64-bit memory BAR).
pub const BAR0_SIZE: u64 = 0x10_0000;
/// The initialization segment spans BAR0 0x0000..0x2010 (pages 0..=2).
pub const ISEG_END: u64 = 0x3000;
/// MSI-X table in BAR0 (BIR 0), past the init segment.
pub const MSIX_TABLE_OFFSET: u64 = 0x3000;
/// MSI-X pending bit array in BAR0 (BIR 0).
pub const MSIX_PBA_OFFSET: u64 = 0x3800;
/// UAR page size.
pub const UAR_PAGE_SIZE: u64 = 0x1000;
/// First UAR index ALLOC_UAR hands out (index i is at BAR0 + i * 4 KiB); the
/// pages below hold the init segment and the MSI-X structures.
pub const FIRST_UAR_INDEX: u32 = 4;
/// Number of UAR pages BAR0 has room for.
pub const BAR0_UAR_PAGES: u32 = (BAR0_SIZE / UAR_PAGE_SIZE) as u32;

/// Config space size (PCI Express: 4 KiB; no extended capabilities).
pub const CONFIG_SIZE: usize = 0x1000;
/// PCI Express capability.
pub const CAP_PCIE: usize = 0x40;
/// Length of the PCI Express capability structure (v2, endpoint).
pub const CAP_PCIE_LEN: usize = 0x3C;
/// MSI-X capability.
pub const CAP_MSIX: usize = 0x80;
/// Vendor-specific capability (the mlx5 "VSC" gateway; only its header is modelled).
pub const CAP_VNDR: usize = 0x90;
/// Length of the vendor-specific capability.
pub const CAP_VNDR_LEN: u8 = 0x18;
/// VPD capability (address register at +2, data at +4), after the vendor one.
pub const CAP_VPD: usize = 0xA8;
/// VPD address register: flag bit (set by the device when a read completed).
pub const VPD_ADDR_F: u16 = 1 << 15;

/// PCIe device capabilities: function-level reset supported (bit 28).
pub const PCIE_DEVCAP_FLR: u32 = 1 << 28;
/// PCIe device control: initiate function-level reset (bit 15, reads 0).
pub const PCIE_DEVCTL_BCR_FLR: u16 = 1 << 15;
/// Offsets inside the PCIe capability.
pub const PCIE_DEVCAP: usize = 0x04;
/// Device control register offset inside the PCIe capability.
pub const PCIE_DEVCTL: usize = 0x08;
/// Link capabilities offset inside the PCIe capability.
pub const PCIE_LNKCAP: usize = 0x0C;
/// Link status offset inside the PCIe capability.
pub const PCIE_LNKSTA: usize = 0x12;
/// Link capabilities 2 (the supported link speeds vector, bits 7:1) in the PCIe capability.
pub const PCIE_LNKCAP2: usize = 0x2C;
/// Device capabilities: role-based error reporting (every PCIe 1.1+ function sets it).
pub const PCIE_DEVCAP_RBER: u32 = 1 << 15;
/// MSI-X message control: function mask bit.
pub const MSIX_FLAGS_MASKALL: u16 = 1 << 14;
