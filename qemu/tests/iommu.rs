//! The emulated IOMMU behind `dma_map`/`dma_unmap`: alignment and aperture
//! checks, overlaps refused, range unmaps (several mappings, none, or one that
//! would be split), and what the device then sees.

mod common;

use std::sync::Arc;

use common::DmaMem;
use cxu_hal::{Error, PciFunction};
use cxu_qemu::model::{DmaError, Profile};
use cxu_qemu::LocalFunction;

fn function() -> Arc<LocalFunction> {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    f.set_bus_master(true).unwrap();
    f
}

#[test]
fn device_reads_and_writes_mapped_memory_only() {
    let f = function();
    let a = DmaMem::new(&f, 0x10_0000, 8192);
    let iommu = f.device().iommu();
    a.write(100, b"hello");
    let mut buf = [0u8; 5];
    iommu.read(0x10_0000 + 100, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    iommu.write(0x10_0000 + 4096, b"world").unwrap();
    assert_eq!(a.read(4096, 5), b"world");
    // A write that runs past the mapping faults and writes nothing.
    let e = iommu.write(0x10_0000 + 8190, b"xyz").unwrap_err();
    assert_eq!(
        e,
        DmaError::Fault {
            iova: 0x10_0000 + 8190,
            len: 3,
            write: true
        }
    );
    assert_eq!(a.read(8190, 2), [0, 0]);
    assert_eq!(f.control().counters().iommu_faults, 1);
    // Bus mastering off: blocked, not a fault.
    f.set_bus_master(false).unwrap();
    assert_eq!(iommu.read(0x10_0000, &mut buf), Err(DmaError::Blocked));
    assert_eq!(f.control().counters().iommu_faults, 1);
}

#[test]
fn map_checks_alignment_aperture_and_overlap() {
    let f = function();
    let _a = DmaMem::new(&f, 0x20_0000, 3 * 4096);
    let mut host = vec![0u8; 3 * 4096];
    let p = host.as_mut_ptr();
    let aligned = ((p as usize + 4095) & !4095) as *mut u8;
    // SAFETY: refused (unaligned IOVA); the buffer outlives the call anyway.
    let r = unsafe { f.dma_map(0x30_0000 + 8, 4096, aligned) };
    assert!(matches!(r, Err(Error::DmaMap { .. })));
    // SAFETY: refused (unaligned host address).
    let r = unsafe { f.dma_map(0x30_0000, 4096, aligned.wrapping_add(1)) };
    assert!(matches!(r, Err(Error::DmaMap { .. })));
    // SAFETY: refused (outside the aperture).
    let r = unsafe { f.dma_map(0, 4096, aligned) };
    assert!(
        matches!(r, Err(Error::DmaMap { .. })),
        "IOVA 0 is outside the aperture"
    );
    // SAFETY: refused (overlap); the region built for the check does not own
    // the memory, and `host` outlives the call.
    let r = unsafe { f.dma_map(0x20_1000, 4096, aligned) };
    assert!(matches!(r, Err(Error::DmaMap { .. })), "overlap");
    assert_eq!(f.device().iommu().mappings(), 1);
    assert_eq!(f.iova_ranges(), vec![0x1000..1 << 48]);
    drop(host);
}

#[test]
fn unmap_has_range_semantics() {
    let f = function();
    let a = DmaMem::new(&f, 0x40_0000, 4096);
    let b = DmaMem::new(&f, 0x40_1000, 4096);
    let c = DmaMem::new(&f, 0x50_0000, 2 * 4096);
    let iommu = f.device().iommu();
    // A range that would split `c` is refused and changes nothing.
    assert!(matches!(
        f.dma_unmap(0x50_0000, 4096),
        Err(Error::DmaUnmap { .. })
    ));
    assert!(matches!(
        f.dma_unmap(0x4F_F000, 0x2000),
        Err(Error::DmaUnmap { .. })
    ));
    assert_eq!(iommu.mappings(), 3);
    // A range covering nothing is fine.
    f.dma_unmap(0x100_0000, 0x10_0000).unwrap();
    // One range covering both small mappings removes both.
    f.dma_unmap(0x3F_0000, 0x2_0000).unwrap();
    assert_eq!(iommu.mappings(), 1);
    let mut buf = [0u8; 4];
    assert!(matches!(
        iommu.read(0x40_0000, &mut buf),
        Err(DmaError::Fault { .. })
    ));
    iommu.read(0x50_1000, &mut buf).unwrap();
    f.dma_unmap(0x50_0000, 0x2000).unwrap();
    assert_eq!(iommu.mappings(), 0);
    // The memory is freed by the DmaMem drops; nothing is mapped any more.
    a.mark_unmapped();
    b.mark_unmapped();
    c.mark_unmapped();
}

#[test]
fn test_memory_whose_unmap_failed_is_leaked_not_freed() {
    use std::sync::atomic::Ordering;
    let f = function();
    let a = DmaMem::new(&f, 0x60_0000, 4096);
    // Replace `a`'s mapping by a larger one around it: `a`'s unmap of exactly
    // its own range would now split that mapping, and fails.
    f.dma_unmap(0x60_0000, 4096).unwrap();
    let b = DmaMem::new(&f, 0x5F_F000, 2 * 4096);
    let before = common::LEAKED_BYTES.load(Ordering::Relaxed);
    drop(a);
    assert_eq!(
        common::LEAKED_BYTES.load(Ordering::Relaxed) - before,
        4096,
        "a failed unmap must leak the memory"
    );
    assert_eq!(f.device().iommu().mappings(), 1);
    drop(b);
    assert_eq!(f.device().iommu().mappings(), 0);
}
