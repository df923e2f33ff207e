//! Errors of the hardware seam. Each message says what went wrong and, where the
//! fix is on the user's side (binding, permissions, IOMMU), what to do.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid PCI address {0:?}: expected DDDD:BB:DD.F, e.g. 0000:03:00.0")]
    BadAddress(String),

    #[error("PCI function {addr} not found (no {path}); check the address with `lspci -D`")]
    FunctionNotFound { addr: String, path: PathBuf },

    #[error(
        "PCI function {addr} is bound to {driver}, not vfio-pci; run `cxu bind {addr}` \
         (or echo vfio-pci > /sys/bus/pci/devices/{addr}/driver_override and reprobe)"
    )]
    NotBoundToVfio { addr: String, driver: String },

    #[error(
        "PCI function {addr} has no driver; bind it to vfio-pci with `cxu bind {addr}` \
         (modprobe vfio-pci first)"
    )]
    NoDriver { addr: String },

    #[error(
        "PCI function {addr} has no IOMMU group: the IOMMU is off or absent. Enable it \
         (intel_iommu=on / amd_iommu=on on the kernel command line, VT-d/AMD-Vi in firmware). \
         vfio's noiommu mode exists but is unsafe: the device can DMA anywhere, and cxu does not use it"
    )]
    NoIommu { addr: String },

    #[error(
        "IOMMU group {group} of {addr} is not viable: every device in it must be bound to \
         vfio-pci or have no driver; these are not: {others}"
    )]
    GroupNotViable {
        addr: String,
        group: u32,
        others: String,
    },

    #[error("{path} does not exist: the vfio-pci module is not loaded; run `modprobe vfio-pci`")]
    VfioMissing { path: PathBuf },

    #[error(
        "permission denied opening {path}: run as root, or give your user access to the \
         group node (chown/udev rule) and raise RLIMIT_MEMLOCK for DMA pinning"
    )]
    PermissionDenied { path: PathBuf },

    #[error("{path}: device or group busy: another process (QEMU, another cxu) holds it")]
    Busy { path: PathBuf },

    #[error("function has no MSI-X capability (interrupts unavailable); use polling")]
    NoMsix,

    #[error("MSI-X vector {vector} out of range: the function has {count}")]
    BadVector { vector: u32, count: u32 },

    #[error("BAR {bar} does not exist or is not a memory BAR")]
    NoSuchBar { bar: u8 },

    #[error("access of {len} bytes at offset {offset:#x} is outside {what} of {size:#x} bytes")]
    OutOfRange {
        what: &'static str,
        offset: u64,
        len: u64,
        size: u64,
    },

    #[error("DMA map of iova {iova:#x} size {size:#x} failed: {reason}")]
    DmaMap {
        iova: u64,
        size: u64,
        reason: String,
    },

    #[error("DMA unmap of iova {iova:#x} size {size:#x} failed: {reason}")]
    DmaUnmap {
        iova: u64,
        size: u64,
        reason: String,
    },

    #[error("refusing to take {addr} away from {driver}: {reason}. Nothing was changed")]
    BindRefused {
        addr: String,
        driver: String,
        reason: String,
    },

    #[error("moving {addr} to {target} failed: {reason}")]
    BindFailed {
        addr: String,
        target: String,
        reason: String,
    },

    #[error("function reset failed: {0}")]
    Reset(String),

    #[error("the device is gone (surprise removal or reset in progress)")]
    DeviceGone,

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },

    #[error("vfio: {0}")]
    Vfio(String),
}

impl Error {
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
