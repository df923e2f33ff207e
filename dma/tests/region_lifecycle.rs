//! A region's life against a function that records map and unmap calls.

#![allow(clippy::single_range_in_vec_init)] // one-range IOVA spaces are what some tests want

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::{Call, RecordingFunction};
use cxu_dma::{DmaContext, DmaStats, Error, IovaAllocator, PageSize};

const RANGES: [std::ops::Range<u64>; 2] = [0..0xFEE0_0000, 0xFEF0_0000..0x10_0000_0000];

#[test]
fn alloc_maps_once_and_drop_unmaps_the_same_range_then_frees_the_iova() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    let capacity = dma.iova_allocator().capacity();

    let region = dma.alloc(10_000, PageSize::Base4K).unwrap();
    assert_eq!(region.len(), 12_288);
    assert_eq!(region.iova() % 4096, 0);
    assert!(region.iova() >= cxu_dma::IOVA_RESERVED_LOW);
    let calls = f.calls();
    assert_eq!(calls.len(), 1);
    let Call::Map { iova, size, vaddr } = calls[0] else {
        panic!("expected a map, got {calls:?}");
    };
    assert_eq!((iova, size), (region.iova(), 12_288));
    assert_eq!(vaddr, region.view().addr());
    assert_eq!(dma.stats().mapped_regions, 1);
    assert_eq!(dma.iova_allocator().free_bytes(), capacity - 12_288);

    // Host writes are what the device reads at the IOVA, and the other way round.
    region.view().write_u32_be(0x1004, 0xC0FF_EE00).unwrap();
    assert_eq!(
        f.device_read(region.iova() + 0x1004, 4),
        vec![0xC0, 0xFF, 0xEE, 0x00]
    );
    f.device_write(region.iova_at(0x2FFF).unwrap(), &[0x5A]);
    assert_eq!(region.view().read_u8(0x2FFF).unwrap(), 0x5A);

    let iova = region.iova();
    drop(region);
    assert_eq!(f.calls()[1..], [Call::Unmap { iova, size: 12_288 }]);
    assert_eq!(f.live_mappings(), 0);
    assert_eq!(dma.stats(), DmaStats::default());
    assert_eq!(dma.iova_allocator().free_bytes(), capacity);
}

#[test]
fn failed_unmap_leaks_the_memory_and_the_iova_and_says_so() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    let capacity = dma.iova_allocator().capacity();

    let region = dma.alloc(4096, PageSize::Base4K).unwrap();
    let iova = region.iova();
    region.view().write_u64(0, 0x0123_4567_89AB_CDEF).unwrap();
    f.fail_unmaps.store(1, Ordering::SeqCst);
    let err = region.unmap().unwrap_err();
    assert!(
        matches!(err, Error::Unmap { iova: i, len: 4096, .. } if i == iova),
        "{err}"
    );
    assert!(err.to_string().contains("leaked on purpose"), "{err}");

    // The device can still reach the memory, so it must still be there: reading it
    // through the mapping gives what the host wrote (a freed page would fault).
    assert_eq!(
        f.device_read(iova, 8),
        0x0123_4567_89AB_CDEFu64.to_le_bytes().to_vec()
    );
    f.device_write(iova, &[1, 2, 3]);
    // The IOVA stays taken, so the next region cannot be mapped over it.
    assert_eq!(dma.iova_allocator().free_bytes(), capacity - 4096);
    let next = dma.alloc(4096, PageSize::Base4K).unwrap();
    assert_ne!(next.iova(), iova);
    let stats = dma.stats();
    assert_eq!(stats.leaked_regions, 1);
    assert_eq!(stats.leaked_bytes, 4096);
    assert_eq!(stats.mapped_regions, 1);
}

/// Whether the page at `addr` is mapped in this process (`mincore` fails with
/// ENOMEM on an unmapped range).
fn page_is_mapped(addr: usize) -> bool {
    let mut vec = [0u8; 1];
    // SAFETY: `mincore` only reports on the range; `vec` has room for one page.
    unsafe { libc::mincore(addr as *mut libc::c_void, 4096, vec.as_mut_ptr()) == 0 }
}

#[test]
fn a_panicking_unmap_leaks_the_memory_instead_of_freeing_it() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    let region = dma.alloc(4096, PageSize::Base4K).unwrap();
    let (iova, addr) = (region.iova(), region.view().addr());
    region.view().write_u64(0, 0x0123_4567_89AB_CDEF).unwrap();
    f.panic_unmaps.store(1, Ordering::SeqCst);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| region.unmap().is_ok()));
    assert!(r.is_err(), "the unmap was told to panic");
    // The mapping is still live, so the memory must be too.
    assert!(page_is_mapped(addr), "memory freed after a panicking unmap");
    assert_eq!(
        f.device_read(iova, 8),
        0x0123_4567_89AB_CDEFu64.to_le_bytes().to_vec()
    );
}

#[test]
fn failed_unmap_on_drop_is_leaked_too() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    let region = dma.alloc(8192, PageSize::Base4K).unwrap();
    let iova = region.iova();
    f.fail_unmaps.store(1, Ordering::SeqCst);
    drop(region);
    assert_eq!(dma.stats().leaked_regions, 1);
    f.device_write(iova + 8191, &[9]);
    assert_eq!(f.device_read(iova + 8191, 1), vec![9]);
}

#[test]
fn failed_map_gives_the_iova_back_and_never_unmaps() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    f.fail_maps.store(true, Ordering::SeqCst);
    let err = dma.alloc(4096, PageSize::Base4K).unwrap_err();
    assert!(matches!(err, Error::Map { len: 4096, .. }), "{err}");
    assert_eq!(
        dma.iova_allocator().free_bytes(),
        dma.iova_allocator().capacity()
    );
    assert!(f.calls().iter().all(|c| matches!(c, Call::Map { .. })));
    assert_eq!(dma.stats(), DmaStats::default());
}

#[test]
fn a_region_is_mapped_at_an_iova_aligned_to_its_page_size() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f.clone()).unwrap();
    let small = dma.alloc(4096, PageSize::Base4K).unwrap();
    let big = dma.alloc(1 << 20, PageSize::Huge2M).unwrap();
    let ps = big.page_size().bytes() as u64;
    assert_eq!(big.iova() % ps, 0);
    assert_eq!(big.view().addr() as u64 % ps, 0);
    assert!(big.iova() >= small.iova() + 4096);
}

#[test]
fn iova_at_and_subviews_are_bounds_checked() {
    let f = RecordingFunction::new(RANGES.to_vec());
    let dma = DmaContext::new(f).unwrap();
    let r = dma.alloc(4096, PageSize::Base4K).unwrap();
    assert_eq!(r.iova_at(4096).unwrap(), r.iova() + 4096);
    assert!(matches!(r.iova_at(4097), Err(Error::OutOfBounds { .. })));
    assert!(matches!(
        r.subview(4000, 97),
        Err(Error::OutOfBounds { .. })
    ));
    let v = r.subview(0x40, 0x40).unwrap();
    v.write_u8(0x3F, 1).unwrap();
    assert_eq!(r.view().read_u8(0x7F).unwrap(), 1);
}

#[test]
fn functions_sharing_a_container_share_one_iova_space() {
    let f1 = RecordingFunction::new(RANGES.to_vec());
    let f2 = RecordingFunction::new(RANGES.to_vec());
    let iova = Arc::new(IovaAllocator::new(&RANGES).unwrap());
    let d1 = DmaContext::with_allocator(f1, iova.clone());
    let d2 = DmaContext::with_allocator(f2, iova.clone());
    let a = d1.alloc(8192, PageSize::Base4K).unwrap();
    let b = d2.alloc(8192, PageSize::Base4K).unwrap();
    assert!(a.iova() + 8192 <= b.iova() || b.iova() + 8192 <= a.iova());
    assert_eq!(iova.live_count(), 2);
}

#[test]
fn a_function_without_usable_iova_ranges_is_an_error() {
    let f = RecordingFunction::new(vec![0..0x1000]);
    assert!(matches!(
        DmaContext::new(f),
        Err(Error::NoIovaRanges { .. })
    ));
}
