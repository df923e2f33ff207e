//! Pinned, page-aligned host memory from anonymous `mmap`.
//!
//! A [`Buffer`] is the host side of DMA memory before and while it is mapped for a
//! device: zeroed (fresh anonymous pages), locked in RAM (`mlock`, so the pages are
//! resident before the device is told about them), excluded from `fork` children
//! (`MADV_DONTFORK`, as rdma-core does, so copy-on-write never moves a page the
//! device writes), and unmapped on drop. It is reachable only through volatile
//! views ([`crate::DmaView`]); no Rust reference into it is ever made.
//!
//! 2 MiB pages (`MAP_HUGETLB`) cut IOTLB misses (see peers.md §0); they need pages
//! reserved in `/proc/sys/vm/nr_hugepages`. When none are free the buffer falls back
//! to 4 KiB pages and says so in the log; [`Buffer::page_size`] tells what was used.

use std::fmt;
use std::io;
use std::ptr::NonNull;

use tracing::{debug, error, warn};

use crate::error::{Error, Result};
use crate::view::DmaView;

/// The size of the pages a buffer is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageSize {
    /// 4 KiB base pages (`MLX5_ADAPTER_PAGE_SIZE`, the unit of FW pages and the command page).
    Base4K,
    /// 2 MiB huge pages (`MAP_HUGETLB | MAP_HUGE_2MB`).
    Huge2M,
}

impl PageSize {
    /// The page size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            PageSize::Base4K => 4096,
            PageSize::Huge2M => 2 << 20,
        }
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageSize::Base4K => f.write_str("4 KiB"),
            PageSize::Huge2M => f.write_str("2 MiB"),
        }
    }
}

/// Pinned, zeroed, page-aligned anonymous memory, unmapped on drop.
pub struct Buffer {
    ptr: NonNull<u8>,
    len: usize,
    page_size: PageSize,
}

// SAFETY: the buffer exclusively owns its mapping (the pointer is not shared with
// any other Rust object) and nothing about it is tied to a thread: `munmap` from
// any thread is fine.
unsafe impl Send for Buffer {}
// SAFETY: `&Buffer` gives out no reference into the memory, only views, whose
// every access is volatile or atomic (bulk copies included: `volatile_copy`), so
// the compiler never assumes the bytes are unchanged under it. What `Sync` does
// not make sound by itself is two host threads touching the same bytes at once
// with one of them writing through volatile (non-atomic) accesses: that is a data
// race, and the users' ownership rules exclude it (one owner per command slot and
// per block). The bytes a second party (the device, or the in-process model's
// thread) does touch concurrently by design are the ownership bytes, and those
// go through the atomic accessors.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// Allocates at least `len` bytes (rounded up to whole pages) of zeroed memory,
    /// locked in RAM. With [`PageSize::Huge2M`] it falls back to 4 KiB pages (logged)
    /// when no huge page is available.
    pub fn new(len: usize, page_size: PageSize) -> Result<Buffer> {
        let (ptr, len, page_size) = map_with_fallback(len, page_size, map_anonymous)?;
        let buf = Buffer {
            ptr,
            len,
            page_size,
        };
        // SAFETY: `ptr..ptr+len` is the mapping just created and owned by `buf`.
        let rc = unsafe { libc::mlock(buf.ptr.as_ptr().cast(), buf.len) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            // `buf` is dropped here, which unmaps the pages.
            return Err(mlock_error(buf.len, err, memlock_limit()));
        }
        // SAFETY: as above; MADV_DONTFORK only changes what a fork child inherits.
        let rc = unsafe { libc::madvise(buf.ptr.as_ptr().cast(), buf.len, libc::MADV_DONTFORK) };
        if rc != 0 {
            warn!(
                len = buf.len,
                error = %io::Error::last_os_error(),
                "madvise(MADV_DONTFORK) failed: a fork child could trigger copy-on-write of DMA pages"
            );
        }
        debug!(len = buf.len, page_size = %buf.page_size, addr = ?buf.ptr, "DMA buffer allocated");
        Ok(buf)
    }

    /// Length in bytes (a whole number of pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a buffer has at least one page.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The page size actually used (4 KiB after a huge page fallback).
    pub fn page_size(&self) -> PageSize {
        self.page_size
    }

    /// The host virtual address, for logs and alignment checks. Not a way in:
    /// use [`Buffer::view`].
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// A volatile view of the whole buffer.
    pub fn view(&self) -> DmaView<'_> {
        // SAFETY: the memory is `len` bytes and lives as long as `&self`; no Rust
        // reference into it is ever made (only views, whose accesses are volatile
        // or atomic; the device's are DMA).
        unsafe { DmaView::from_raw(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Forgets the buffer without unmapping it: for memory a device may still write.
    pub(crate) fn leak(self) {
        warn!(len = self.len, addr = ?self.ptr, "DMA buffer leaked on purpose");
        std::mem::forget(self);
    }
}

/// Holds a buffer the device may reach while a map or unmap call runs: if the
/// call panics, unwinding drops the guard, which leaks the buffer instead of
/// freeing memory that may still be mapped. [`LeakOnUnwind::keep`] disarms it
/// once the call has returned.
pub(crate) struct LeakOnUnwind(Option<Buffer>);

impl LeakOnUnwind {
    pub(crate) fn new(buffer: Buffer) -> Self {
        LeakOnUnwind(Some(buffer))
    }

    pub(crate) fn buffer(&self) -> &Buffer {
        self.0
            .as_ref()
            .expect("only taken by keep, which consumes the guard")
    }

    /// The buffer back, for the caller to own (and free or leak) as it decides.
    pub(crate) fn keep(mut self) -> Buffer {
        self.0.take().expect("only taken here, once")
    }
}

impl Drop for LeakOnUnwind {
    fn drop(&mut self) {
        if let Some(buffer) = self.0.take() {
            error!(
                len = buffer.len,
                "a DMA map or unmap call panicked; leaking its buffer"
            );
            buffer.leak();
        }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("addr", &self.ptr)
            .field("len", &self.len)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `map_anonymous` with this address and
        // length and is owned by `self`; nothing refers to it after drop (views borrow
        // `self`, and a mapped buffer is only dropped after its unmap succeeded).
        let rc = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        if rc != 0 {
            error!(len = self.len, addr = ?self.ptr, error = %io::Error::last_os_error(), "munmap of DMA buffer failed");
        }
    }
}

/// Rounds `len` up to a whole number of `page_size` pages; `None` on zero or overflow.
fn round_to_pages(len: usize, page_size: PageSize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    len.checked_next_multiple_of(page_size.bytes())
}

/// Maps `len` bytes with `want` pages through `map`, falling back from huge to base
/// pages when the huge mapping fails. Returns the address, the rounded length and the
/// page size used. Split from [`Buffer::new`] so the fallback is testable.
pub(crate) fn map_with_fallback(
    len: usize,
    want: PageSize,
    mut map: impl FnMut(usize, PageSize) -> io::Result<NonNull<u8>>,
) -> Result<(NonNull<u8>, usize, PageSize)> {
    let too_big = || Error::invalid("buffer length", format!("{len} bytes is zero or too large"));
    let rounded = round_to_pages(len, want).ok_or_else(too_big)?;
    match map(rounded, want) {
        Ok(ptr) => Ok((ptr, rounded, want)),
        Err(err) if want == PageSize::Huge2M => {
            let base_len = round_to_pages(len, PageSize::Base4K).ok_or_else(too_big)?;
            warn!(
                len = rounded,
                error = %err,
                "no 2 MiB huge pages available (reserve some in /proc/sys/vm/nr_hugepages); \
                 falling back to 4 KiB pages"
            );
            map(base_len, PageSize::Base4K)
                .map(|ptr| (ptr, base_len, PageSize::Base4K))
                .map_err(|source| Error::Mmap {
                    len: base_len,
                    page_size: PageSize::Base4K,
                    source,
                })
        }
        Err(source) => Err(Error::Mmap {
            len: rounded,
            page_size: want,
            source,
        }),
    }
}

/// Anonymous private mapping of `len` bytes (already a multiple of the page size).
fn map_anonymous(len: usize, page_size: PageSize) -> io::Result<NonNull<u8>> {
    let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    if page_size == PageSize::Huge2M {
        flags |= libc::MAP_HUGETLB | libc::MAP_HUGE_2MB;
    }
    // SAFETY: a fresh anonymous mapping at an address of the kernel's choice; it
    // cannot overlap any existing Rust object.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned a null address"))
}

/// The soft RLIMIT_MEMLOCK in bytes; `Some(u64::MAX)` when unlimited, `None` if unknown.
fn memlock_limit() -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut rl) };
    (rc == 0).then_some(if rl.rlim_cur == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        rl.rlim_cur
    })
}

/// Turns a failed `mlock` of `len` bytes into an error that says what to do.
/// ENOMEM (over the limit) and EPERM (limit 0, no CAP_IPC_LOCK) are the locked-memory
/// limit; anything else is reported as it is.
pub(crate) fn mlock_error(len: usize, err: io::Error, limit: Option<u64>) -> Error {
    match err.raw_os_error() {
        Some(libc::ENOMEM) | Some(libc::EPERM) => Error::MemlockLimit {
            len,
            limit: match limit {
                None => "unknown".to_string(),
                Some(u64::MAX) => "unlimited".to_string(),
                Some(b) => format!("{} KiB", b / 1024),
            },
            source: err,
        },
        _ => Error::Mlock { len, source: err },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn base_buffer_is_page_aligned_rounded_and_zeroed() {
        let buf = Buffer::new(5000, PageSize::Base4K).unwrap();
        assert_eq!(buf.len(), 8192);
        assert_eq!(buf.page_size(), PageSize::Base4K);
        assert_eq!(buf.addr() % 4096, 0);
        let mut bytes = vec![0xAAu8; buf.len()];
        buf.view().read_bytes(0, &mut bytes).unwrap();
        assert!(
            bytes.iter().all(|&b| b == 0),
            "fresh DMA memory must be zero"
        );
    }

    /// Free, unreserved 2 MiB huge pages (`HugePages_Free - HugePages_Rsvd`).
    fn available_huge_pages() -> u64 {
        let info = std::fs::read_to_string("/proc/meminfo").unwrap();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        field("HugePages_Free:").saturating_sub(field("HugePages_Rsvd:"))
    }

    #[test]
    fn huge_request_uses_huge_pages_when_free_and_falls_back_otherwise() {
        // 3 MiB needs two huge pages; what /proc/meminfo says decides which path
        // must be taken. Checked both ways (nr_hugepages 0 and 4). On a host with
        // just a few free huge pages, huge-page tests running in parallel could
        // take them between the check and the mmap; CI hosts reserve none.
        let expect_huge = available_huge_pages() >= 2;
        let buf = Buffer::new(3 << 20, PageSize::Huge2M).unwrap();
        if expect_huge {
            assert_eq!(buf.page_size(), PageSize::Huge2M);
            assert_eq!(buf.len(), 4 << 20);
            assert_eq!(buf.addr() % (2 << 20), 0);
        } else {
            assert_eq!(buf.page_size(), PageSize::Base4K);
            assert_eq!(buf.len(), 3 << 20);
            assert_eq!(buf.addr() % 4096, 0);
        }
        buf.view().write_u64(buf.len() - 8, 0x1122).unwrap();
        assert_eq!(buf.view().read_u64(buf.len() - 8).unwrap(), 0x1122);
        assert_eq!(buf.view().read_u64(0).unwrap(), 0);
    }

    #[test]
    fn huge_page_failure_falls_back_to_base_pages() {
        let calls = RefCell::new(Vec::new());
        let backing = RefCell::new(Vec::<Box<[u64]>>::new());
        let (ptr, len, ps) = map_with_fallback(5000, PageSize::Huge2M, |len, ps| {
            calls.borrow_mut().push((len, ps));
            if ps == PageSize::Huge2M {
                return Err(io::Error::from_raw_os_error(libc::ENOMEM));
            }
            let mut b = vec![0u64; len / 8].into_boxed_slice();
            let p = NonNull::new(b.as_mut_ptr().cast::<u8>()).unwrap();
            backing.borrow_mut().push(b);
            Ok(p)
        })
        .unwrap();
        assert_eq!(ps, PageSize::Base4K);
        assert_eq!(len, 8192);
        assert_eq!(
            *calls.borrow(),
            vec![(2 << 20, PageSize::Huge2M), (8192, PageSize::Base4K)]
        );
        assert_eq!(
            ptr.as_ptr(),
            backing.borrow()[0].as_ptr().cast::<u8>().cast_mut()
        );
    }

    #[test]
    fn base_page_failure_is_an_error_without_retry() {
        let mut calls = 0;
        let err = map_with_fallback(4096, PageSize::Base4K, |_, _| {
            calls += 1;
            Err(io::Error::from_raw_os_error(libc::ENOMEM))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(
            matches!(
                err,
                Error::Mmap {
                    len: 4096,
                    page_size: PageSize::Base4K,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn zero_and_overflowing_lengths_are_refused() {
        assert!(matches!(
            Buffer::new(0, PageSize::Base4K),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            Buffer::new(usize::MAX - 10, PageSize::Base4K),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn mlock_limit_errors_tell_the_user_to_raise_rlimit_memlock() {
        for errno in [libc::ENOMEM, libc::EPERM] {
            let e = mlock_error(
                1 << 20,
                io::Error::from_raw_os_error(errno),
                Some(64 * 1024),
            );
            assert!(matches!(e, Error::MemlockLimit { len: 1048576, .. }), "{e}");
            let msg = e.to_string();
            assert!(msg.contains("RLIMIT_MEMLOCK is 64 KiB"), "{msg}");
            assert!(msg.contains("ulimit -l"), "{msg}");
        }
        let e = mlock_error(
            4096,
            io::Error::from_raw_os_error(libc::ENOMEM),
            Some(u64::MAX),
        );
        assert!(e.to_string().contains("is unlimited"), "{e}");
        let e = mlock_error(4096, io::Error::from_raw_os_error(libc::EINVAL), None);
        assert!(matches!(e, Error::Mlock { len: 4096, .. }), "{e}");
        assert!(!e.to_string().contains("ulimit"), "{e}");
    }
}
