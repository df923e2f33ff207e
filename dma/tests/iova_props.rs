//! Property test of the IOVA allocator: random valid ranges, random allocations
//! and frees, checked against a brute-force model after every step.

use std::ops::Range;

use cxu_dma::{Error, IovaAllocator, IovaRange, IOVA_PAGE, IOVA_RESERVED_LOW};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// Size in bytes (not necessarily whole pages) and log2 of the alignment.
    Alloc { size: u64, align_log: u32 },
    /// Free the live range at this index (modulo the live count).
    Free(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..=40 * IOVA_PAGE, 0u32..=17).prop_map(|(size, align_log)| Op::Alloc { size, align_log }),
        2 => any::<usize>().prop_map(Op::Free),
    ]
}

/// Valid ranges in pages of a small space, possibly unaligned, overlapping, or in
/// the reserved low area, to exercise clipping and merging.
fn valid_ranges() -> impl Strategy<Value = Vec<Range<u64>>> {
    prop::collection::vec((0u64..0x20_0000, 1u64..0x8_0000), 1..5)
        .prop_map(|v| v.into_iter().map(|(s, l)| s..s + l).collect())
}

/// Whether a range of `size` bytes aligned to `align` fits in the space not covered
/// by `live`, by scanning every gap.
fn fits_somewhere(ranges: &[Range<u64>], live: &[IovaRange], size: u64, align: u64) -> bool {
    for r in ranges {
        let mut inside: Vec<&IovaRange> = live
            .iter()
            .filter(|l| l.start >= r.start && l.end() <= r.end)
            .collect();
        inside.sort_by_key(|l| l.start);
        let mut cursor = r.start;
        for gap_end in inside.iter().map(|l| l.start).chain([r.end]) {
            let start = cursor.next_multiple_of(align);
            if start + size <= gap_end {
                return true;
            }
            if let Some(l) = inside.iter().find(|l| l.start == gap_end) {
                cursor = l.end();
            }
        }
    }
    false
}

fn check_invariants(a: &IovaAllocator, live: &[IovaRange], aligns: &[u64]) {
    for (i, (x, align)) in live.iter().zip(aligns).enumerate() {
        assert_eq!(x.start % align, 0, "{x:?} not aligned to {align:#x}");
        assert_eq!(x.len % IOVA_PAGE, 0);
        assert!(
            x.start >= IOVA_RESERVED_LOW,
            "{x:?} in the reserved low space"
        );
        assert!(
            a.ranges()
                .iter()
                .any(|r| x.start >= r.start && x.end() <= r.end),
            "{x:?} outside the valid ranges {:?}",
            a.ranges()
        );
        for y in &live[i + 1..] {
            assert!(
                x.end() <= y.start || y.end() <= x.start,
                "{x:?} overlaps {y:?}"
            );
        }
    }
    let used: u64 = live.iter().map(|x| x.len).sum();
    assert_eq!(a.free_bytes(), a.capacity() - used);
    assert_eq!(a.live_count(), live.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn live_ranges_never_overlap_and_freeing_all_restores_capacity(
        valid in valid_ranges(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let a = match IovaAllocator::new(&valid) {
            Ok(a) => a,
            Err(Error::NoIovaRanges { .. }) => {
                // Only legitimate when nothing page-sized survives the clipping.
                let none_usable = valid.iter().all(|r| {
                    let s = r.start.max(IOVA_RESERVED_LOW).next_multiple_of(IOVA_PAGE);
                    s + IOVA_PAGE > r.end
                });
                prop_assert!(none_usable);
                return Ok(());
            }
            Err(e) => panic!("unexpected {e}"),
        };
        let mut live: Vec<IovaRange> = Vec::new();
        let mut aligns: Vec<u64> = Vec::new();
        for op in ops {
            match op {
                Op::Alloc { size, align_log } => {
                    let align = 1u64 << align_log;
                    let eff_align = align.max(IOVA_PAGE);
                    let eff_size = size.next_multiple_of(IOVA_PAGE);
                    match a.alloc(size, align) {
                        Ok(r) => {
                            prop_assert_eq!(r.len, eff_size);
                            live.push(r);
                            aligns.push(eff_align);
                        }
                        Err(Error::IovaExhausted { .. }) => {
                            prop_assert!(
                                !fits_somewhere(a.ranges(), &live, eff_size, eff_align),
                                "exhaustion reported although {eff_size:#x}@{eff_align:#x} fits"
                            );
                        }
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                Op::Free(i) if !live.is_empty() => {
                    let i = i % live.len();
                    let r = live.swap_remove(i);
                    aligns.swap_remove(i);
                    a.free(r).unwrap();
                    // A second free of the same range is refused.
                    let refused = matches!(a.free(r), Err(Error::IovaNotAllocated { .. }));
                    prop_assert!(refused, "double free of {:?} accepted", r);
                }
                Op::Free(_) => {}
            }
            check_invariants(&a, &live, &aligns);
        }
        for r in live.drain(..) {
            a.free(r).unwrap();
        }
        prop_assert_eq!(a.free_bytes(), a.capacity());
        prop_assert_eq!(a.free_fragments(), a.ranges().len());
        // Each valid range is whole again: it can be taken in one piece.
        let largest = a.ranges().iter().map(|r| r.end - r.start).max().unwrap();
        prop_assert!(a.alloc(largest, IOVA_PAGE).is_ok());
    }
}
