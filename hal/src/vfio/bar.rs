//! A BAR of a VFIO device as [`Mmio`]: volatile accesses on the mmapped areas,
//! pread/pwrite on the device fd for the rest (regions without
//! `VFIO_REGION_INFO_FLAG_MMAP`, and the holes of a sparse mapping such as the
//! MSI-X table).
//!
//! Following the [`Mmio`] contract, an access never fails: out of range,
//! misaligned, to a region without read (write) permission, or a failed
//! pread/pwrite reads all ones (is dropped) and is logged.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::ptr::NonNull;
use std::sync::Arc;

use super::region::RegionInfo;
use crate::mmio::{check_access, Mmio};

/// One mmapped area of the BAR.
struct Mapping {
    /// Region offsets this mapping serves.
    range: Range<u64>,
    /// Start of the mapping (region offset `range.start`).
    base: NonNull<u8>,
    /// Length passed to mmap (and munmap).
    map_len: usize,
}

/// A BAR of a VFIO device. Cheap to share (`Arc`); unmapped on drop.
pub struct VfioBar {
    index: u32,
    size: u64,
    readable: bool,
    writable: bool,
    /// The device fd; `file_offset` is where the region starts in it.
    file: Arc<File>,
    file_offset: u64,
    maps: Vec<Mapping>,
}

// SAFETY: the mappings are device memory shared with the device itself; every
// access through them is a single volatile load or store of an aligned word, which
// is what concurrent MMIO from several threads means. Nothing holds a reference
// into the mapping, and it stays mapped until `drop`, which needs `&mut self`.
unsafe impl Send for VfioBar {}
// SAFETY: as above: shared access is only volatile word accesses through raw pointers.
unsafe impl Sync for VfioBar {}

/// The system page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

impl VfioBar {
    /// Sets up region `info` of the device `file`: mmaps what
    /// [`RegionInfo::mmap_plan`] allows; an mmap that fails is logged and its area
    /// is served by pread/pwrite.
    pub fn new(file: Arc<File>, info: &RegionInfo) -> Self {
        let mut maps = Vec::new();
        let mut prot = 0;
        if info.readable() {
            prot |= libc::PROT_READ;
        }
        if info.writable() {
            prot |= libc::PROT_WRITE;
        }
        for range in info.mmap_plan(page_size()) {
            match map_area(&file, info.offset, &range, prot) {
                Ok((base, map_len)) => maps.push(Mapping {
                    range,
                    base,
                    map_len,
                }),
                Err(e) => tracing::warn!(
                    region = info.index,
                    start = range.start,
                    end = range.end,
                    error = %e,
                    "mmap of BAR area failed; using pread/pwrite for it"
                ),
            }
        }
        tracing::debug!(
            region = info.index,
            size = info.size,
            mapped = ?maps.iter().map(|m| m.range.clone()).collect::<Vec<_>>(),
            "BAR ready"
        );
        VfioBar {
            index: info.index,
            size: info.size,
            readable: info.readable(),
            writable: info.writable(),
            file,
            file_offset: info.offset,
            maps,
        }
    }

    /// The region offsets served by mmap; everything else goes through pread/pwrite.
    pub fn mapped_areas(&self) -> Vec<Range<u64>> {
        self.maps.iter().map(|m| m.range.clone()).collect()
    }

    /// Pointer to `len` bytes at region `offset` if they lie inside one mapping.
    fn mapped(&self, offset: u64, len: u64) -> Option<NonNull<u8>> {
        let m = self
            .maps
            .iter()
            .find(|m| m.range.start <= offset && offset + len <= m.range.end)?;
        // `offset - start < map_len <= isize::MAX`, so the add stays inside the mapping.
        let delta = (offset - m.range.start) as usize;
        // SAFETY: `delta + len <= range.len() <= map_len`: the result points into the mapping.
        Some(unsafe { m.base.add(delta) })
    }

    fn checked(&self, offset: u64, len: u64, write: bool) -> bool {
        let allowed = if write { self.writable } else { self.readable };
        if !check_access(offset, len, self.size) {
            tracing::warn!(
                bar = self.index,
                offset,
                len,
                size = self.size,
                write,
                "BAR access out of range or misaligned"
            );
            false
        } else if !allowed {
            tracing::warn!(
                bar = self.index,
                offset,
                len,
                write,
                "BAR region does not allow this access"
            );
            false
        } else {
            true
        }
    }

    fn pread(&self, offset: u64, buf: &mut [u8]) -> bool {
        match self.file.read_exact_at(buf, self.file_offset + offset) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(bar = self.index, offset, len = buf.len(), error = %e, "BAR pread failed; reading all ones");
                false
            }
        }
    }

    fn pwrite(&self, offset: u64, buf: &[u8]) {
        if let Err(e) = self.file.write_all_at(buf, self.file_offset + offset) {
            tracing::warn!(bar = self.index, offset, len = buf.len(), error = %e, "BAR pwrite failed; write dropped");
        }
    }
}

fn map_area(
    file: &File,
    region_offset: u64,
    range: &Range<u64>,
    prot: libc::c_int,
) -> std::io::Result<(NonNull<u8>, usize)> {
    let len = usize::try_from(range.end - range.start)
        .map_err(|_| std::io::Error::other("area larger than the address space"))?;
    let off = region_offset
        .checked_add(range.start)
        .and_then(|o| libc::off_t::try_from(o).ok())
        .ok_or_else(|| std::io::Error::other("area offset does not fit off_t"))?;
    // SAFETY: a fresh shared mapping chosen by the kernel (null hint, no MAP_FIXED),
    // so no existing memory is replaced; the result is checked before use.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            off,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    NonNull::new(p.cast::<u8>())
        .map(|p| (p, len))
        .ok_or_else(|| std::io::Error::other("mmap returned null"))
}

impl Drop for VfioBar {
    fn drop(&mut self) {
        for m in self.maps.drain(..) {
            // SAFETY: `base`/`map_len` are exactly what mmap returned, mapped once and
            // unmapped once here; `&mut self` means no access is in flight.
            let rc = unsafe { libc::munmap(m.base.as_ptr().cast(), m.map_len) };
            if rc != 0 {
                tracing::warn!(bar = self.index, error = %std::io::Error::last_os_error(), "munmap of BAR failed");
            }
        }
    }
}

macro_rules! access {
    ($read:ident, $write:ident, $t:ty) => {
        fn $read(&self, offset: u64) -> $t {
            const N: u64 = std::mem::size_of::<$t>() as u64;
            if !self.checked(offset, N, false) {
                return <$t>::MAX;
            }
            if let Some(p) = self.mapped(offset, N) {
                // SAFETY: `p` is inside a live mapping of this BAR with `N` bytes after
                // it, naturally aligned (mapping is page aligned, offset checked), and
                // MMIO is only ever touched through single volatile accesses on raw
                // pointers (no reference, no claim that other threads stay away:
                // other threads and the device do access the BAR concurrently).
                let v = unsafe { p.cast::<$t>().as_ptr().read_volatile() };
                return <$t>::from_le(v);
            }
            let mut b = [0u8; N as usize];
            if self.pread(offset, &mut b) {
                <$t>::from_le_bytes(b)
            } else {
                <$t>::MAX
            }
        }

        fn $write(&self, offset: u64, value: $t) {
            const N: u64 = std::mem::size_of::<$t>() as u64;
            if !self.checked(offset, N, true) {
                return;
            }
            if let Some(p) = self.mapped(offset, N) {
                // SAFETY: as for the read: inside a live, writable mapping, aligned,
                // written with one volatile store.
                unsafe { p.cast::<$t>().as_ptr().write_volatile(value.to_le()) };
                return;
            }
            self.pwrite(offset, &value.to_le_bytes());
        }
    };
}

impl Mmio for VfioBar {
    fn len(&self) -> u64 {
        self.size
    }
    access!(read8, write8, u8);
    access!(read16, write16, u16);
    access!(read32, write32, u32);
    access!(read64, write64, u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfio::region::{FLAG_MMAP, FLAG_READ, FLAG_WRITE};

    /// A regular file standing in for the device fd: mmap and pread/pwrite behave
    /// the same on it. The region starts at file offset 0x1000.
    fn device_file(len: u64) -> Arc<File> {
        let f = tempfile::tempfile().unwrap();
        f.set_len(len).unwrap();
        Arc::new(f)
    }

    fn region(flags: u32, size: u64, sparse: Option<Vec<(u64, u64)>>) -> RegionInfo {
        RegionInfo {
            index: 0,
            flags,
            size,
            offset: 0x1000,
            sparse,
            msix_mappable: false,
        }
    }

    fn file_u32(f: &File, at: u64) -> u32 {
        let mut b = [0u8; 4];
        f.read_exact_at(&mut b, at).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn sparse_areas_are_mapped_and_the_hole_goes_to_pread_pwrite() {
        let page = page_size();
        let f = device_file(0x1000 + 3 * page);
        let rw = FLAG_READ | FLAG_WRITE | FLAG_MMAP;
        // Map page 0 and page 2; page 1 (say the MSI-X table) is a hole.
        let bar = VfioBar::new(
            f.clone(),
            &region(rw, 3 * page, Some(vec![(0, page), (2 * page, page)])),
        );
        assert_eq!(bar.mapped_areas(), vec![0..page, 2 * page..3 * page]);

        // Through the mapping: the file sees the bytes little-endian.
        bar.write32(0x10, 0x1122_3344);
        assert_eq!(file_u32(&f, 0x1000 + 0x10), 0x1122_3344);
        bar.write64(2 * page + 8, 0x0102_0304_0506_0708);
        assert_eq!(bar.read64(2 * page + 8), 0x0102_0304_0506_0708);
        assert_eq!(bar.read8(2 * page + 8), 0x08);

        // Through pwrite/pread in the hole.
        bar.write32(page + 4, 0xCAFE_F00D);
        assert_eq!(file_u32(&f, 0x1000 + page + 4), 0xCAFE_F00D);
        f.write_all_at(&0xABCDu16.to_le_bytes(), 0x1000 + page + 0x20)
            .unwrap();
        assert_eq!(bar.read16(page + 0x20), 0xABCD);
        // The big-endian helper reads the same single access.
        bar.write32_be(page + 8, 0x0A0B_0C0D);
        assert_eq!(bar.read32_be(page + 8), 0x0A0B_0C0D);
        assert_eq!(bar.read8(page + 8), 0x0A);
    }

    #[test]
    fn a_region_without_mmap_is_served_by_pread_pwrite() {
        let f = device_file(0x3000);
        let bar = VfioBar::new(f.clone(), &region(FLAG_READ | FLAG_WRITE, 0x100, None));
        assert!(bar.mapped_areas().is_empty());
        bar.write32(0xFC, 7);
        assert_eq!(file_u32(&f, 0x10FC), 7);
        assert_eq!(bar.read32(0xFC), 7);
    }

    #[test]
    fn out_of_range_and_misaligned_accesses_read_ones_and_drop_writes() {
        let page = page_size();
        let f = device_file(0x1000 + page);
        let bar = VfioBar::new(
            f.clone(),
            &region(FLAG_READ | FLAG_WRITE | FLAG_MMAP, page, None),
        );
        assert_eq!(bar.mapped_areas(), vec![0..page]);
        assert_eq!(bar.read32(page), u32::MAX);
        assert_eq!(bar.read64(u64::MAX - 7), u64::MAX);
        assert_eq!(bar.read16(1), u16::MAX);
        assert_eq!(bar.read8(page), u8::MAX);
        bar.write32(2, 0x5555_5555);
        bar.write32(page, 0x5555_5555);
        let mut all = vec![0u8; (0x1000 + page) as usize];
        f.read_exact_at(&mut all, 0).unwrap();
        assert!(
            all.iter().all(|b| *b == 0),
            "a rejected write reached the device"
        );
    }

    #[test]
    fn failed_pread_reads_all_ones() {
        // The file is shorter than the region claims: pread hits EOF.
        let f = device_file(0x1000 + 0x10);
        let bar = VfioBar::new(f, &region(FLAG_READ | FLAG_WRITE, 0x100, None));
        assert_eq!(bar.read32(0x0), 0);
        assert_eq!(bar.read32(0x80), u32::MAX);
        assert_eq!(bar.read64(0x80), u64::MAX);
    }

    #[test]
    fn permissions_of_the_region_are_enforced() {
        let f = device_file(0x2000);
        f.write_all_at(&[0x11; 4], 0x1000).unwrap();
        let ro = VfioBar::new(f.clone(), &region(FLAG_READ, 0x100, None));
        ro.write32(0, 0);
        assert_eq!(ro.read32(0), 0x1111_1111);
        let wo = VfioBar::new(f.clone(), &region(FLAG_WRITE, 0x100, None));
        assert_eq!(wo.read32(0), u32::MAX);
    }

    #[test]
    fn concurrent_accesses_through_the_mapping_are_all_seen() {
        let page = page_size();
        let f = device_file(0x1000 + page);
        let bar = Arc::new(VfioBar::new(
            f.clone(),
            &region(FLAG_READ | FLAG_WRITE | FLAG_MMAP, page, None),
        ));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let bar = bar.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        bar.write64(t * 8, i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0..8 {
            assert_eq!(bar.read64(t * 8), 999);
        }
        drop(bar);
        // Unmapped on drop, data stays in the file.
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, 0x1000 + 56).unwrap();
        assert_eq!(u64::from_le_bytes(b), 999);
    }
}
