//! The raw VFIO ioctls cxu issues itself, kept thin: fill a buffer, call, hand the
//! bytes to the checked parsers in `region` and `iommu`.
//!
//! Why not vfio-ioctls for these (0.10, default features off):
//! * `VFIO_DEVICE_GET_INFO`: vfio-ioctls keeps the device flags private, and we
//!   need `VFIO_DEVICE_FLAGS_RESET` to say "this device cannot be reset".
//! * `VFIO_DEVICE_RESET`: `VfioDevice::reset` discards the ioctl's result.
//! * `VFIO_DEVICE_GET_REGION_INFO`: vfio-ioctls stores regions in a `Vec` that
//!   skips indices whose query failed (so `regions[i]` need not be region `i`) and
//!   walks the capability chain trusting the kernel's offsets.
//! * `VFIO_IOMMU_GET_INFO`: not exposed at all; we need its IOVA-range capability.

use std::io;
use std::os::unix::io::AsRawFd;

use vfio_bindings::bindings::vfio::{VFIO_BASE, VFIO_TYPE};
use vmm_sys_util::ioctl::{ioctl, ioctl_with_mut_ptr};
use vmm_sys_util::ioctl_io_nr;

ioctl_io_nr!(VFIO_DEVICE_GET_INFO, VFIO_TYPE.into(), VFIO_BASE + 7);
ioctl_io_nr!(VFIO_DEVICE_GET_REGION_INFO, VFIO_TYPE.into(), VFIO_BASE + 8);
ioctl_io_nr!(VFIO_DEVICE_RESET, VFIO_TYPE.into(), VFIO_BASE + 11);
ioctl_io_nr!(VFIO_IOMMU_GET_INFO, VFIO_TYPE.into(), VFIO_BASE + 12);

/// `sizeof(struct vfio_device_info)`.
const DEVICE_INFO_LEN: usize = 24;
/// `sizeof(struct vfio_region_info)`.
pub const REGION_INFO_LEN: usize = 32;
/// `sizeof(struct vfio_iommu_type1_info)`.
pub const IOMMU_INFO_LEN: usize = 24;
/// Larger than any capability chain the kernel builds; a bigger `argsz` is refused.
const MAX_INFO_LEN: usize = 64 * 1024;

/// Calls an info ioctl whose argument starts with `u32 argsz` and may grow a
/// capability chain: the first call with the fixed size tells how much the kernel
/// wants, the second fills it. `prefill` writes input fields (e.g. the region
/// index) after `argsz`. Returns the bytes the kernel filled in.
fn info_ioctl(
    fd: &dyn AsRawFd,
    request: libc::c_ulong,
    fixed_len: usize,
    prefill: &dyn Fn(&mut [u8]),
) -> io::Result<Vec<u8>> {
    let mut len = fixed_len;
    for _ in 0..2 {
        // u64 storage: the info structs need 8-byte alignment.
        let mut storage = vec![0u64; len.div_ceil(8)];
        let bytes = storage.len() * 8;
        {
            let view = as_bytes_mut(&mut storage);
            view[..4].copy_from_slice(&(len as u32).to_ne_bytes());
            prefill(view);
        }
        // SAFETY: `storage` is a live, writable, 8-aligned buffer of `bytes >= len`
        // bytes whose first word (argsz) tells the kernel it may write `len` bytes.
        let rc = unsafe { ioctl_with_mut_ptr(&fd.as_raw_fd(), request, storage.as_mut_ptr()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let view = as_bytes_mut(&mut storage);
        let wanted = u32::from_ne_bytes([view[0], view[1], view[2], view[3]]) as usize;
        if wanted <= len {
            return Ok(view[..len.min(bytes)].to_vec());
        }
        if wanted > MAX_INFO_LEN {
            return Err(io::Error::other(format!(
                "kernel asked for a {wanted}-byte info buffer (limit {MAX_INFO_LEN})"
            )));
        }
        len = wanted;
    }
    Err(io::Error::other(
        "kernel asked for a larger info buffer twice",
    ))
}

fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    let len = std::mem::size_of_val(words);
    // SAFETY: u8 has no alignment or validity requirements; the slice covers exactly
    // the memory of `words` and borrows it mutably for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

/// `VFIO_DEVICE_GET_INFO`: the device flags (`VFIO_DEVICE_FLAGS_*`).
pub fn device_flags(device: &dyn AsRawFd) -> io::Result<u32> {
    let info = info_ioctl(device, VFIO_DEVICE_GET_INFO(), DEVICE_INFO_LEN, &|_| {})?;
    Ok(u32::from_ne_bytes([info[4], info[5], info[6], info[7]]))
}

/// `VFIO_DEVICE_GET_REGION_INFO` for region `index`, capability chain included.
pub fn region_info(device: &dyn AsRawFd, index: u32) -> io::Result<Vec<u8>> {
    info_ioctl(
        device,
        VFIO_DEVICE_GET_REGION_INFO(),
        REGION_INFO_LEN,
        &|b| b[8..12].copy_from_slice(&index.to_ne_bytes()),
    )
}

/// `VFIO_IOMMU_GET_INFO` on a container with its type1 IOMMU set.
pub fn iommu_info(container: &dyn AsRawFd) -> io::Result<Vec<u8>> {
    info_ioctl(container, VFIO_IOMMU_GET_INFO(), IOMMU_INFO_LEN, &|_| {})
}

/// `VFIO_DEVICE_RESET`.
pub fn device_reset(device: &dyn AsRawFd) -> io::Result<()> {
    // SAFETY: VFIO_DEVICE_RESET takes no argument and only acts on the device fd.
    let rc = unsafe { ioctl(&device.as_raw_fd(), VFIO_DEVICE_RESET()) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
