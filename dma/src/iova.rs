//! The IOVA allocator: which device addresses DMA memory is mapped at.
//!
//! The space is the function's valid ranges ([`cxu_hal::PciFunction::iova_ranges`],
//! from `VFIO_IOMMU_GET_INFO` on VFIO), cut to whole 4 KiB pages, minus the low
//! 64 KiB: address 0 means "no mailbox" / "last block" in the command interface
//! (entry `in_ptr`/`out_ptr`, mailbox `next`), so no buffer may live there; QEMU's
//! VFIO helpers keep the same floor (`QEMU_VFIO_IOVA_MIN` = 0x10000).
//!
//! First fit from the lowest address keeps IOVAs small (some IOMMUs only translate
//! 39 bits). Freed ranges are merged with free neighbours, so freeing everything
//! gives back the full space. One VFIO container is one IOVA space: functions that
//! share a container must share one allocator (hold it in an `Arc`).

use std::collections::BTreeMap;
use std::ops::Range;

use parking_lot::Mutex;
use tracing::trace;

use crate::error::{Error, Result};

/// The IOVA granule: every range starts and ends on a 4 KiB boundary.
pub const IOVA_PAGE: u64 = 4096;

/// IOVAs below this are never handed out (0 is the null pointer of mailbox chains).
pub const IOVA_RESERVED_LOW: u64 = 0x10000;

/// A range of device addresses handed out by an [`IovaAllocator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IovaRange {
    /// First address.
    pub start: u64,
    /// Length in bytes (a multiple of [`IOVA_PAGE`]).
    pub len: u64,
}

impl IovaRange {
    /// One past the last address.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

#[derive(Debug)]
struct Inner {
    /// Free ranges: start → end (exclusive), disjoint, never touching (merged).
    free: BTreeMap<u64, u64>,
    /// Live ranges: start → len.
    live: BTreeMap<u64, u64>,
    free_bytes: u64,
}

/// Hands out page-aligned IOVA ranges from a function's valid ranges. Thread-safe.
#[derive(Debug)]
pub struct IovaAllocator {
    ranges: Vec<Range<u64>>,
    capacity: u64,
    inner: Mutex<Inner>,
}

fn align_up(x: u64, align: u64) -> Option<u64> {
    x.checked_next_multiple_of(align)
}

impl IovaAllocator {
    /// An allocator over `valid` (half-open ranges, in any order, may overlap).
    pub fn new(valid: &[Range<u64>]) -> Result<IovaAllocator> {
        let mut clipped: Vec<Range<u64>> = valid
            .iter()
            .filter_map(|r| {
                let start = align_up(r.start.max(IOVA_RESERVED_LOW), IOVA_PAGE)?;
                let end = r.end - r.end % IOVA_PAGE;
                (start < end).then_some(start..end)
            })
            .collect();
        clipped.sort_by_key(|r| r.start);
        let mut ranges: Vec<Range<u64>> = Vec::with_capacity(clipped.len());
        for r in clipped {
            match ranges.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => ranges.push(r),
            }
        }
        if ranges.is_empty() {
            return Err(Error::NoIovaRanges {
                reserved: IOVA_RESERVED_LOW,
            });
        }
        let capacity = ranges.iter().map(|r| r.end - r.start).sum();
        let free = ranges.iter().map(|r| (r.start, r.end)).collect();
        Ok(IovaAllocator {
            ranges,
            capacity,
            inner: Mutex::new(Inner {
                free,
                live: BTreeMap::new(),
                free_bytes: capacity,
            }),
        })
    }

    /// The usable ranges after clipping and merging.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Total usable bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes not handed out.
    pub fn free_bytes(&self) -> u64 {
        self.inner.lock().free_bytes
    }

    /// Number of live (allocated, not freed) ranges.
    pub fn live_count(&self) -> usize {
        self.inner.lock().live.len()
    }

    /// Allocates `size` bytes (rounded up to 4 KiB) at an address aligned to `align`
    /// (a power of two; at least 4 KiB is used).
    pub fn alloc(&self, size: u64, align: u64) -> Result<IovaRange> {
        if size == 0 {
            return Err(Error::invalid("IOVA size", "zero bytes"));
        }
        if !align.is_power_of_two() {
            return Err(Error::invalid(
                "IOVA alignment",
                format!("{align:#x} is not a power of two"),
            ));
        }
        let align = align.max(IOVA_PAGE);
        let size = align_up(size, IOVA_PAGE)
            .ok_or_else(|| Error::invalid("IOVA size", format!("{size:#x} overflows")))?;
        let mut inner = self.inner.lock();
        let found = inner.free.iter().find_map(|(&fs, &fe)| {
            let start = align_up(fs, align)?;
            let end = start.checked_add(size)?;
            (end <= fe).then_some((fs, fe, start, end))
        });
        let Some((fs, fe, start, end)) = found else {
            let largest = inner.free.iter().map(|(s, e)| e - s).max().unwrap_or(0);
            return Err(Error::IovaExhausted {
                size,
                align,
                free: inner.free_bytes,
                largest,
            });
        };
        inner.free.remove(&fs);
        if fs < start {
            inner.free.insert(fs, start);
        }
        if end < fe {
            inner.free.insert(end, fe);
        }
        inner.live.insert(start, size);
        inner.free_bytes -= size;
        trace!(start, size, align, "IOVA range allocated");
        Ok(IovaRange { start, len: size })
    }

    /// Gives `range` back. It must be exactly a range [`IovaAllocator::alloc`] returned
    /// and has not been freed since.
    pub fn free(&self, range: IovaRange) -> Result<()> {
        let mut inner = self.inner.lock();
        if inner.live.get(&range.start) != Some(&range.len) {
            return Err(Error::IovaNotAllocated {
                start: range.start,
                len: range.len,
            });
        }
        inner.live.remove(&range.start);
        let (mut start, mut end) = (range.start, range.end());
        if let Some((&ps, &pe)) = inner.free.range(..start).next_back() {
            if pe == start {
                inner.free.remove(&ps);
                start = ps;
            }
        }
        if let Some(ne) = inner.free.get(&end).copied() {
            inner.free.remove(&end);
            end = ne;
        }
        inner.free.insert(start, end);
        inner.free_bytes += range.len;
        trace!(start = range.start, len = range.len, "IOVA range freed");
        Ok(())
    }

    /// Number of free fragments (for tests and diagnostics: 1 per valid range when
    /// nothing is allocated).
    pub fn free_fragments(&self) -> usize {
        self.inner.lock().free.len()
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one-range IOVA spaces are what these tests want
mod tests {
    use super::*;

    #[test]
    fn ranges_are_clipped_to_pages_and_the_reserved_low_space_and_merged() {
        let a = IovaAllocator::new(&[
            0..0xFEE0_0000,
            0xFEF0_0000..0x1_0000_0800,
            0x1_0000_0000..0x2_0000_0000,
            0x10..0x20,
        ])
        .unwrap();
        assert_eq!(
            a.ranges(),
            &[IOVA_RESERVED_LOW..0xFEE0_0000, 0xFEF0_0000..0x2_0000_0000]
        );
        assert_eq!(
            a.capacity(),
            (0xFEE0_0000 - IOVA_RESERVED_LOW) + (0x2_0000_0000 - 0xFEF0_0000)
        );
        assert!(matches!(
            IovaAllocator::new(&[0..0x8000]),
            Err(Error::NoIovaRanges { .. })
        ));
        assert!(matches!(
            IovaAllocator::new(&[]),
            Err(Error::NoIovaRanges { .. })
        ));
    }

    #[test]
    fn allocation_is_first_fit_aligned_and_skips_gaps() {
        let a = IovaAllocator::new(&[0x10000..0x13000, 0x200000..0x800000]).unwrap();
        let r1 = a.alloc(0x1000, 0x1000).unwrap();
        assert_eq!(
            r1,
            IovaRange {
                start: 0x10000,
                len: 0x1000
            }
        );
        // Does not fit in the 0x2000 left of the first range: goes to the second.
        let r2 = a.alloc(0x3000, 0x1000).unwrap();
        assert_eq!(r2.start, 0x200000);
        let r3 = a.alloc(1, 0x200000).unwrap();
        assert_eq!(
            r3,
            IovaRange {
                start: 0x400000,
                len: 0x1000
            }
        );
        // The alignment hole before r3 is still usable.
        let r4 = a.alloc(0x1000, 0).unwrap_err();
        assert!(matches!(r4, Error::Invalid { .. }));
        let r4 = a.alloc(0x1000, 0x1000).unwrap();
        assert_eq!(r4.start, 0x11000);
        assert_eq!(a.live_count(), 4);
    }

    #[test]
    fn exhaustion_is_an_error_that_reports_the_free_space() {
        let a = IovaAllocator::new(&[0x10000..0x14000]).unwrap();
        let _r = a.alloc(0x2000, 0x1000).unwrap();
        match a.alloc(0x3000, 0x1000) {
            Err(Error::IovaExhausted {
                size: 0x3000,
                free: 0x2000,
                largest: 0x2000,
                ..
            }) => {}
            other => panic!("expected exhaustion, got {other:?}"),
        }
        assert!(matches!(
            a.alloc(u64::MAX, 0x1000),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn freeing_coalesces_and_double_free_is_refused() {
        let a = IovaAllocator::new(&[0x10000..0x20000]).unwrap();
        let rs: Vec<_> = (0..4).map(|_| a.alloc(0x1000, 0x1000).unwrap()).collect();
        a.free(rs[1]).unwrap();
        a.free(rs[3]).unwrap();
        assert_eq!(a.free_fragments(), 2); // [1] and [3..end]
        a.free(rs[2]).unwrap();
        assert_eq!(a.free_fragments(), 1); // [1..end]
        assert!(matches!(a.free(rs[2]), Err(Error::IovaNotAllocated { .. })));
        assert!(matches!(
            a.free(IovaRange {
                start: rs[0].start,
                len: 0x2000
            }),
            Err(Error::IovaNotAllocated { .. })
        ));
        // The freed space is reused from the lowest address.
        assert_eq!(a.alloc(0x3000, 0x1000).unwrap().start, rs[1].start);
        a.free(rs[0]).unwrap();
        assert_eq!(a.free_bytes(), a.capacity() - 0x3000);
    }
}
