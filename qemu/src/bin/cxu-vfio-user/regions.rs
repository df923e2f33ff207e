//! The regions and interrupt indexes the server announces to QEMU.
//!
//! All nine PCI regions exist, indexed by `VFIO_PCI_*_REGION_INDEX`, as vfio-pci
//! has them: BAR0 and config space have a size, the others are empty. BAR0 is
//! trapped (no mmap area): every access reaches the model, because doorbells
//! and the init segment have side effects. QEMU virtualizes the MSI-X table
//! that lives inside BAR0, so the model never sees table accesses.

use cxu_qemu::Device;
use vfio_bindings::bindings::vfio::{
    vfio_region_info, VFIO_IRQ_INFO_EVENTFD, VFIO_PCI_BAR0_REGION_INDEX,
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS,
    VFIO_PCI_REQ_IRQ_INDEX, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_user::{IrqInfo, ServerRegion};

/// Region index of BAR0.
pub const BAR0: u32 = VFIO_PCI_BAR0_REGION_INDEX;
/// Region index of config space.
pub const CONFIG: u32 = VFIO_PCI_CONFIG_REGION_INDEX;
/// Interrupt index of MSI-X.
pub const MSIX: u32 = VFIO_PCI_MSIX_IRQ_INDEX;
/// Interrupt index of the AER error notification.
pub const ERR: u32 = VFIO_PCI_ERR_IRQ_INDEX;
/// Interrupt index of the device request (unplug) notification.
pub const REQ: u32 = VFIO_PCI_REQ_IRQ_INDEX;

/// Region `index` is at `index << 40` in the device fd's offset space, as vfio-pci
/// lays it out; nothing is mmapped from it here, so the value is only informative.
fn region_offset(index: u32) -> u64 {
    u64::from(index) << 40
}

/// The nine PCI regions of the function.
pub fn regions(device: &Device) -> Vec<ServerRegion> {
    (0..VFIO_PCI_NUM_REGIONS)
        .map(|index| {
            let size = match index {
                BAR0 => device.bar0_size(),
                CONFIG => device.config_size() as u64,
                _ => 0,
            };
            let flags = if size == 0 {
                0
            } else {
                VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
            };
            ServerRegion {
                region_info: vfio_region_info {
                    argsz: std::mem::size_of::<vfio_region_info>() as u32,
                    flags,
                    index,
                    cap_offset: 0,
                    size,
                    offset: region_offset(index),
                },
                sparse_areas: Vec::new(),
                mmap_fd: None,
            }
        })
        .collect()
}

/// The five interrupt indexes. No INTx (the function has no interrupt pin) and no
/// MSI; MSI-X with the model's vector count, resizable (QEMU then enables vectors
/// one by one instead of tearing MSI-X down for each new one); ERR and REQ with one
/// eventfd each, as vfio-pci reports for a PCI Express function (the model never
/// signals them, but QEMU stops warning that error recovery is unavailable).
pub fn irqs(device: &Device) -> Vec<IrqInfo> {
    (0..VFIO_PCI_NUM_IRQS)
        .map(|index| {
            let count = match index {
                MSIX => u32::from(device.msix().vectors()),
                ERR | REQ => 1,
                VFIO_PCI_INTX_IRQ_INDEX | VFIO_PCI_MSI_IRQ_INDEX => 0,
                _ => 0,
            };
            IrqInfo {
                index,
                flags: if count == 0 { 0 } else { VFIO_IRQ_INFO_EVENTFD },
                count,
            }
        })
        .collect()
}
