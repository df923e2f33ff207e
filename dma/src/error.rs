//! Errors of DMA memory. Each one says what failed and, where the fix is on the
//! user's side (locked-memory limit, huge pages), what to do.

use std::io;

use crate::buffer::PageSize;

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with DMA memory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A size or alignment argument is unusable (zero, not a power of two, too big).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },

    /// `mmap` of anonymous memory failed.
    #[error("mmap of {len} bytes with {page_size} pages failed: {source}")]
    Mmap {
        len: usize,
        page_size: PageSize,
        #[source]
        source: io::Error,
    },

    /// `mlock` was refused because of the locked-memory limit (ENOMEM, EPERM or EAGAIN).
    #[error(
        "mlock of {len} bytes failed ({source}): the locked-memory limit RLIMIT_MEMLOCK is {limit}; \
         raise it (`ulimit -l unlimited` in the shell, LimitMEMLOCK=infinity in a systemd unit, \
         `memlock` in /etc/security/limits.conf) or run with CAP_IPC_LOCK. VFIO type1 charges the pages it pins to the same \
         locked-memory count as mlock, so allow twice the DMA memory the driver uses"
    )]
    MemlockLimit {
        len: usize,
        /// The soft limit at the time of the failure, as text ("64 KiB", "unlimited", "unknown").
        limit: String,
        #[source]
        source: io::Error,
    },

    /// `mlock` failed for another reason.
    #[error("mlock of {len} bytes failed: {source}")]
    Mlock {
        len: usize,
        #[source]
        source: io::Error,
    },

    /// The IOVA space has no free range of the asked size and alignment.
    #[error(
        "IOVA space exhausted: no free range of {size:#x} bytes aligned to {align:#x} \
         (free in total {free:#x} bytes, largest free range {largest:#x} bytes)"
    )]
    IovaExhausted {
        size: u64,
        align: u64,
        free: u64,
        largest: u64,
    },

    /// A range given back to the IOVA allocator was not handed out by it.
    #[error("IOVA range {start:#x}+{len:#x} is not allocated (double free or foreign range)")]
    IovaNotAllocated { start: u64, len: u64 },

    /// The function reports no usable IOVA range.
    #[error("the function reports no usable IOVA range (after removing the reserved low {reserved:#x} bytes)")]
    NoIovaRanges { reserved: u64 },

    /// The backend refused to map the buffer for the device.
    #[error("mapping {len:#x} bytes at IOVA {iova:#x} for {function} failed: {source}")]
    Map {
        function: String,
        iova: u64,
        len: u64,
        #[source]
        source: cxu_hal::Error,
    },

    /// The backend failed to unmap; the memory was leaked on purpose because the
    /// device may still reach it.
    #[error(
        "unmapping {len:#x} bytes at IOVA {iova:#x} for {function} failed: {source}; \
         the memory and the IOVA range are leaked on purpose (the device may still write them)"
    )]
    Unmap {
        function: String,
        iova: u64,
        len: u64,
        #[source]
        source: cxu_hal::Error,
    },

    /// An access through a view would leave the view.
    #[error(
        "access of {len} bytes at offset {offset:#x} is outside the DMA view of {size:#x} bytes"
    )]
    OutOfBounds {
        offset: usize,
        len: usize,
        size: usize,
    },

    /// An atomic access at an address not aligned to its width.
    #[error("atomic access of {width} bytes at offset {offset:#x} is not aligned to {width}")]
    Misaligned { offset: usize, width: usize },

    /// A block pool has no free block.
    #[error("block pool {pool} is exhausted: all {count} blocks of {block_size} bytes are in use")]
    PoolExhausted {
        pool: String,
        count: usize,
        block_size: usize,
    },
}

impl Error {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            reason: reason.into(),
        }
    }
}
