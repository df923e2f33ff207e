//! The real VFIO path, for a machine that has one (the QEMU guest): opens the
//! function named by `CXU_VFIO_ADDR` and exercises every ioctl cxu uses.
//!
//! Ignored by default because the build machine has no IOMMU and no /dev/vfio.
//! In the guest: `CXU_VFIO_ADDR=0000:00:01.0 ./vfio_guest-* --ignored --test-threads 1`.

use std::time::Duration;

use cxu_hal::pci::config;
use cxu_hal::vfio::VfioFunction;
use cxu_hal::{PciAddress, PciFunction};

fn open() -> (VfioFunction, PciAddress) {
    let addr: PciAddress = std::env::var("CXU_VFIO_ADDR")
        .expect("set CXU_VFIO_ADDR to a function bound to vfio-pci")
        .parse()
        .unwrap();
    (VfioFunction::open(addr).unwrap(), addr)
}

#[test]
#[ignore = "needs a function bound to vfio-pci (run in the QEMU guest)"]
fn real_function_config_bars_msix_dma() {
    let (f, addr) = open();

    // Config space agrees with sysfs.
    let vendor = std::fs::read_to_string(format!("/sys/bus/pci/devices/{addr}/vendor")).unwrap();
    let vendor = u16::from_str_radix(vendor.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(f.config_read16(config::VENDOR_ID).unwrap(), vendor);

    // Bus master through the VFIO config region.
    f.set_bus_master(true).unwrap();
    let cmd = f.config_read16(config::COMMAND).unwrap();
    assert_ne!(cmd & config::COMMAND_BUS_MASTER, 0, "COMMAND {cmd:#x}");

    // BAR0 is there and reads back something other than "device gone".
    let bar0 = f.bar(0).unwrap();
    assert!(bar0.len() >= 4);
    assert_ne!(bar0.read32(0), u32::MAX);
    eprintln!(
        "BAR0 {:#x} bytes, mapped {:?}",
        bar0.len(),
        f.bar_info(0).map(|i| i.mmap_plan(4096))
    );

    // MSI-X vectors as eventfds.
    let n = f.msix_vectors();
    eprintln!("MSI-X vectors: {n}, reset: {}", f.can_reset());
    if n > 0 {
        let fds = f.enable_msix(n.min(4)).unwrap();
        assert_eq!(fds.len() as u32, n.min(4));
        assert_eq!(
            cxu_hal::os::wait_eventfd(&fds[0], Some(Duration::ZERO)).unwrap(),
            None
        );
        f.disable_msix().unwrap();
    }

    // DMA map/unmap of two pages at the start of the first IOVA range.
    let ranges = f.iova_ranges();
    eprintln!("IOVA ranges: {ranges:x?}");
    let iova = ranges[0].start.max(0x10000).next_multiple_of(4096);
    let len = 8192usize;
    // SAFETY: a fresh anonymous mapping, released below after the unmap.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(mem, libc::MAP_FAILED);
    // SAFETY: `mem` stays mapped until after dma_unmap and no reference into it exists.
    unsafe { f.dma_map(iova, len as u64, mem.cast()) }.unwrap();
    f.dma_unmap(iova, len as u64).unwrap();
    // SAFETY: unmapped from the IOMMU above; nothing else uses it.
    assert_eq!(unsafe { libc::munmap(mem, len) }, 0);

    if f.can_reset() {
        f.reset().unwrap();
    }
    drop(bar0);
}
