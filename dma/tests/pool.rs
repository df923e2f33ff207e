//! Block pools: geometry, exhaustion, accounting, leaks, and a many-thread stress.

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};

use common::{Call, RecordingFunction};
use cxu_dma::{BlockPool, BlockPoolConfig, DmaContext, Error, PageSize, PoolStats};

fn ctx() -> (Arc<RecordingFunction>, DmaContext) {
    let f = RecordingFunction::new(vec![0..0xFEE0_0000, 0xFEF0_0000..0x1_0000_0000]);
    let dma = DmaContext::new(f.clone()).unwrap();
    (f, dma)
}

#[test]
fn mailbox_blocks_are_1024_aligned_distinct_and_inside_the_mapped_regions() {
    let (f, dma) = ctx();
    // 2 MiB regions of 1024-byte strides hold 2048 blocks: 3000 blocks need two.
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(3000)).unwrap();
    let maps: Vec<(u64, u64, usize)> = f
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Map { iova, size, vaddr } => Some((iova, size, vaddr)),
            _ => None,
        })
        .collect();
    assert_eq!(maps.len(), 2);
    assert_eq!(maps[0].1, 2 << 20);
    assert_eq!(maps[1].1, (3000 - 2048) * 1024);

    let blocks: Vec<_> = (0..3000).map(|_| pool.alloc().unwrap()).collect();
    let mut iovas = HashSet::new();
    for b in &blocks {
        assert_eq!(b.len(), 576);
        assert_eq!(b.iova() % 1024, 0, "{b:?}");
        assert_eq!(b.view().addr() % 1024, 0, "{b:?}");
        assert!(iovas.insert(b.iova()), "duplicate {b:?}");
        let (base, size, vaddr) = *maps
            .iter()
            .find(|(i, s, _)| b.iova() >= *i && b.iova() + 576 <= i + s)
            .expect("block outside every mapping");
        // The host address of the view is the host address the IOVA was mapped to.
        assert_eq!(b.view().addr(), vaddr + (b.iova() - base) as usize);
        assert!(b.iova() + 576 <= base + size);
        assert!(pool.contains_block_iova(b.iova()));
    }
    assert!(!pool.contains_block_iova(blocks[0].iova() + 8));
    assert!(matches!(
        pool.alloc(),
        Err(Error::PoolExhausted {
            count: 3000,
            block_size: 576,
            ..
        })
    ));
    assert_eq!(
        pool.stats(),
        PoolStats {
            count: 3000,
            in_use: 3000,
            free: 0,
            leaked: 0
        }
    );
    drop(blocks);
    assert_eq!(pool.stats().free, 3000);
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn a_block_written_by_the_host_is_what_the_device_reads_at_its_iova() {
    let (f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(4)).unwrap();
    let b = pool.alloc().unwrap();
    b.view().write_u64_be(0x230, 0).unwrap();
    b.view().write_u32_be(0x238, 3).unwrap();
    b.view().write_u8(0x23D, 0xAB).unwrap();
    assert_eq!(f.device_read(b.iova() + 0x238, 4), vec![0, 0, 0, 3]);
    f.device_write(b.iova(), b"out");
    let mut got = [0u8; 3];
    b.view().read_bytes(0, &mut got).unwrap();
    assert_eq!(&got, b"out");
    assert!(matches!(
        b.view().read_u8(576),
        Err(Error::OutOfBounds { .. })
    ));
}

#[test]
fn alloc_zeroed_clears_what_the_last_user_left() {
    let (_f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(1)).unwrap();
    let b = pool.alloc().unwrap();
    b.view().fill(0, 576, 0xFF).unwrap();
    drop(b);
    let b = pool.alloc_zeroed().unwrap();
    let mut bytes = vec![1u8; 576];
    b.view().read_bytes(0, &mut bytes).unwrap();
    assert!(bytes.iter().all(|&x| x == 0));
}

#[test]
fn fw_pages_are_4k_aligned_whatever_page_size_backs_them() {
    let (_f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::fw_pages(600)).unwrap();
    let pages: Vec<_> = (0..600).map(|_| pool.alloc().unwrap()).collect();
    for p in &pages {
        assert_eq!(p.iova() % 4096, 0);
        assert_eq!(p.view().addr() % 4096, 0);
        assert_eq!(p.len(), 4096);
    }
    let distinct: HashSet<u64> = pages.iter().map(|p| p.iova()).collect();
    assert_eq!(distinct.len(), 600);
}

#[test]
fn a_leaked_block_is_never_reused_and_keeps_its_region_mapped() {
    let (f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(2)).unwrap();
    let a = pool.alloc().unwrap();
    let leaked_iova = a.iova();
    a.leak();
    assert_eq!(
        pool.stats(),
        PoolStats {
            count: 2,
            in_use: 1,
            free: 1,
            leaked: 1
        }
    );
    for _ in 0..4 {
        let b = pool.alloc().unwrap();
        assert_ne!(b.iova(), leaked_iova);
        assert!(matches!(pool.alloc(), Err(Error::PoolExhausted { .. })));
    }
    drop(pool);
    // The device may still write the leaked block: nothing was unmapped.
    assert!(f.calls().iter().all(|c| matches!(c, Call::Map { .. })));
    f.device_write(leaked_iova, &[1]);
    assert_eq!(dma.stats().mapped_regions, 1);
}

#[test]
fn dropping_the_pool_and_its_blocks_unmaps_every_region() {
    let (f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(5000)).unwrap();
    let b = pool.alloc().unwrap();
    drop(pool);
    // A live block keeps the regions mapped.
    assert_eq!(f.live_mappings(), 3);
    drop(b);
    assert_eq!(f.live_mappings(), 0);
    assert_eq!(dma.stats().mapped_regions, 0);
    assert_eq!(
        dma.iova_allocator().free_bytes(),
        dma.iova_allocator().capacity()
    );
}

#[test]
fn bad_configurations_are_refused() {
    let (_f, dma) = ctx();
    let base = BlockPoolConfig::mailboxes(4);
    for cfg in [
        BlockPoolConfig {
            block_size: 0,
            ..base.clone()
        },
        BlockPoolConfig {
            align: 1000,
            ..base.clone()
        },
        BlockPoolConfig {
            align: 8192,
            ..base.clone()
        },
        BlockPoolConfig {
            count: 0,
            ..base.clone()
        },
        BlockPoolConfig {
            max_region_bytes: 512,
            ..base.clone()
        },
    ] {
        assert!(matches!(
            BlockPool::new(&dma, cfg),
            Err(Error::Invalid { .. })
        ));
    }
    let huge = BlockPoolConfig {
        page_size: PageSize::Huge2M,
        ..base
    };
    assert!(BlockPool::new(&dma, huge).is_ok());
}

#[test]
fn a_failed_region_map_fails_the_pool_and_unmaps_the_regions_already_mapped() {
    let (f, dma) = ctx();
    // 3000 mailboxes need two regions: the first maps, the second fails.
    f.maps_before_failure.store(1, Ordering::SeqCst);
    let err = BlockPool::new(&dma, BlockPoolConfig::mailboxes(3000)).unwrap_err();
    assert!(matches!(err, Error::Map { .. }), "{err}");
    let calls = f.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    let Call::Map { iova, size, .. } = calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(calls[2], Call::Unmap { iova, size });
    assert_eq!(f.live_mappings(), 0);
    assert_eq!(
        dma.iova_allocator().free_bytes(),
        dma.iova_allocator().capacity()
    );
}

/// Many threads take and return blocks (holding several at once, hitting
/// exhaustion), stamp each block they own with their id and check the stamp is
/// still theirs before giving it back: two owners of one block would overwrite
/// each other's stamps. At the end every block is free, exactly once.
#[test]
fn stress_many_threads_never_share_a_block_and_all_blocks_come_back() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 3000;
    const COUNT: usize = 24; // fewer than THREADS * max held, so exhaustion happens
    let (_f, dma) = ctx();
    let pool = BlockPool::new(&dma, BlockPoolConfig::mailboxes(COUNT)).unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let exhausted: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let pool = pool.clone();
                let barrier = barrier.clone();
                s.spawn(move || {
                    barrier.wait();
                    let mut held = Vec::new();
                    let mut exhausted = 0;
                    for round in 0..ROUNDS {
                        let want = 1 + (round + t) % 5;
                        while held.len() < want {
                            match pool.alloc() {
                                Ok(b) => {
                                    let stamp = ((t as u64) << 32) | round as u64;
                                    b.view().write_u64(0, stamp).unwrap();
                                    b.view().write_u64(568, stamp).unwrap();
                                    held.push((b, stamp));
                                }
                                Err(Error::PoolExhausted { .. }) => {
                                    exhausted += 1;
                                    break;
                                }
                                Err(e) => panic!("{e}"),
                            }
                        }
                        std::thread::yield_now();
                        let n = held.len().div_ceil(2);
                        for (b, stamp) in held.drain(..n) {
                            assert_eq!(b.view().read_u64(0).unwrap(), stamp, "block shared");
                            assert_eq!(b.view().read_u64(568).unwrap(), stamp, "block shared");
                        }
                    }
                    for (b, stamp) in held {
                        assert_eq!(b.view().read_u64(0).unwrap(), stamp);
                    }
                    exhausted
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(exhausted > 0, "the stress never ran the pool dry");
    assert_eq!(
        pool.stats(),
        PoolStats {
            count: COUNT,
            in_use: 0,
            free: COUNT,
            leaked: 0
        }
    );
    let all: Vec<_> = (0..COUNT).map(|_| pool.alloc().unwrap()).collect();
    let indices: HashSet<usize> = all.iter().map(|b| b.index()).collect();
    assert_eq!(indices, (0..COUNT).collect());
    assert!(matches!(pool.alloc(), Err(Error::PoolExhausted { .. })));
}
