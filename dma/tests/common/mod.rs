//! A PCI function for tests: records every DMA map and unmap, checks the
//! `dma_map` contract, can be told to fail, and can play the device by writing
//! mapped memory through the recorded host address.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cxu_hal::{EventFd, Mmio, PciFunction};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Map { iova: u64, size: u64, vaddr: usize },
    Unmap { iova: u64, size: u64 },
}

pub struct RecordingFunction {
    ranges: Vec<Range<u64>>,
    pub calls: Mutex<Vec<Call>>,
    /// Live mappings: iova → (size, vaddr).
    mapped: Mutex<BTreeMap<u64, (u64, usize)>>,
    /// The next this-many unmaps fail.
    pub fail_unmaps: AtomicUsize,
    /// The next this-many unmaps panic (leaving the mapping in place).
    pub panic_unmaps: AtomicUsize,
    pub fail_maps: AtomicBool,
    /// Maps succeed this many more times, then fail (`usize::MAX`: never).
    pub maps_before_failure: AtomicUsize,
}

impl RecordingFunction {
    pub fn new(ranges: Vec<Range<u64>>) -> Arc<RecordingFunction> {
        Arc::new(RecordingFunction {
            ranges,
            calls: Mutex::new(Vec::new()),
            mapped: Mutex::new(BTreeMap::new()),
            fail_unmaps: AtomicUsize::new(0),
            panic_unmaps: AtomicUsize::new(0),
            fail_maps: AtomicBool::new(false),
            maps_before_failure: AtomicUsize::new(usize::MAX),
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn live_mappings(&self) -> usize {
        self.mapped.lock().unwrap().len()
    }

    /// The host address behind `iova..iova+len`, if it lies in one live mapping.
    fn translate(&self, iova: u64, len: usize) -> Option<*mut u8> {
        let mapped = self.mapped.lock().unwrap();
        let (&base, &(size, vaddr)) = mapped.range(..=iova).next_back()?;
        (iova + len as u64 <= base + size).then(|| (vaddr + (iova - base) as usize) as *mut u8)
    }

    /// Plays the device: a DMA write of `data` at `iova`. Panics if not mapped.
    pub fn device_write(&self, iova: u64, data: &[u8]) {
        let p = self
            .translate(iova, data.len())
            .expect("device write to unmapped IOVA");
        for (i, b) in data.iter().enumerate() {
            // SAFETY: `p..p+len` is inside a live mapping, which the dma_map contract
            // keeps allocated until unmap; the write is volatile as the contract asks.
            unsafe { p.add(i).write_volatile(*b) };
        }
    }

    /// Plays the device: a DMA read of `len` bytes at `iova`. Panics if not mapped.
    pub fn device_read(&self, iova: u64, len: usize) -> Vec<u8> {
        let p = self
            .translate(iova, len)
            .expect("device read of unmapped IOVA");
        // SAFETY: as in `device_write`.
        (0..len)
            .map(|i| unsafe { p.add(i).read_volatile() })
            .collect()
    }
}

fn dma_map_err(iova: u64, size: u64, reason: &str) -> cxu_hal::Error {
    cxu_hal::Error::DmaMap {
        iova,
        size,
        reason: reason.into(),
    }
}

// SAFETY: the device this fake plays (`device_write`/`device_read`) reaches only
// ranges in `mapped`, with volatile accesses, and `dma_unmap` is `Ok` only after
// removing the range from `mapped`.
unsafe impl PciFunction for RecordingFunction {
    fn name(&self) -> String {
        "recording-fn".into()
    }
    fn config_read(&self, _offset: u16, data: &mut [u8]) -> cxu_hal::Result<()> {
        data.fill(0);
        Ok(())
    }
    fn config_write(&self, _offset: u16, _data: &[u8]) -> cxu_hal::Result<()> {
        Ok(())
    }
    fn bar(&self, index: u8) -> cxu_hal::Result<Arc<dyn Mmio>> {
        Err(cxu_hal::Error::NoSuchBar { bar: index })
    }
    fn msix_vectors(&self) -> u32 {
        0
    }
    fn enable_msix(&self, _count: u32) -> cxu_hal::Result<Vec<Arc<EventFd>>> {
        Err(cxu_hal::Error::NoMsix)
    }
    fn disable_msix(&self) -> cxu_hal::Result<()> {
        Ok(())
    }
    unsafe fn dma_map(&self, iova: u64, size: u64, vaddr: *mut u8) -> cxu_hal::Result<()> {
        self.calls.lock().unwrap().push(Call::Map {
            iova,
            size,
            vaddr: vaddr as usize,
        });
        let budget_spent = self
            .maps_before_failure
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                usize::MAX => Some(n),
                0 => None,
                n => Some(n - 1),
            })
            .is_err();
        if budget_spent || self.fail_maps.load(Ordering::SeqCst) {
            return Err(dma_map_err(iova, size, "told to fail"));
        }
        if iova % 4096 != 0 || size % 4096 != 0 || vaddr as usize % 4096 != 0 || size == 0 {
            return Err(dma_map_err(iova, size, "contract: 4 KiB alignment"));
        }
        if !self
            .ranges
            .iter()
            .any(|r| iova >= r.start && iova + size <= r.end)
        {
            return Err(dma_map_err(iova, size, "outside the valid IOVA ranges"));
        }
        let mut mapped = self.mapped.lock().unwrap();
        let overlaps = mapped
            .iter()
            .any(|(&b, &(s, _))| iova < b + s && b < iova + size);
        if overlaps {
            return Err(dma_map_err(iova, size, "overlaps a live mapping"));
        }
        mapped.insert(iova, (size, vaddr as usize));
        Ok(())
    }
    fn dma_unmap(&self, iova: u64, size: u64) -> cxu_hal::Result<()> {
        self.calls.lock().unwrap().push(Call::Unmap { iova, size });
        let panic = self
            .panic_unmaps
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        assert!(!panic, "told to panic in dma_unmap");
        let fail = self
            .fail_unmaps
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(cxu_hal::Error::DmaUnmap {
                iova,
                size,
                reason: "told to fail".into(),
            });
        }
        let mut mapped = self.mapped.lock().unwrap();
        match mapped.get(&iova) {
            Some(&(s, _)) if s == size => {
                mapped.remove(&iova);
                Ok(())
            }
            _ => Err(cxu_hal::Error::DmaUnmap {
                iova,
                size,
                reason: "no such mapping".into(),
            }),
        }
    }
    fn iova_ranges(&self) -> Vec<Range<u64>> {
        self.ranges.clone()
    }
    fn reset(&self) -> cxu_hal::Result<()> {
        Ok(())
    }
}
