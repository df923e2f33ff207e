//! Volatile views of DMA memory.
//!
//! Memory a device can write is never touched through a Rust reference (`&T`,
//! `&[u8]`): the compiler may assume such memory does not change under it and
//! cache, merge or invent loads. A [`DmaView`] is a bounds-checked window
//! (a `vm_memory::VolatileSlice`) through which every access is a volatile or
//! atomic load or store. No method returns a reference into the memory.
//!
//! Plain accesses (`read_u32_be`, `write_bytes`, ...) are volatile and carry no
//! ordering. Ownership handoffs with the device use the atomic accessors:
//!
//! * **Device → driver** (command entry `status_own` bit 0, EQE `owner` bit 0):
//!   read the ownership byte with [`DmaView::load_u8_acquire`]; only if it says the
//!   driver owns the entry, read the payload. The acquire load keeps the payload
//!   reads after the ownership read (the kernel's `dma_rmb()` after the owner check).
//! * **Driver → device** (posting a command): write the entry and mailboxes with plain
//!   volatile writes, then hand over with [`DmaView::store_u8_release`] on
//!   `status_own`; the release store keeps every earlier write before it (the
//!   kernel's `dma_wmb()`). Before ringing the doorbell (an MMIO write) call
//!   [`crate::fence::wmb`], as the kernel does before `iowrite32be(cmd_dbell)`.
//!
//! Multi-byte accesses at an address aligned to their width are single accesses
//! (no tearing); unaligned ones are done bytewise.
//!
//! Bulk copies (`read_bytes`, `write_bytes`, `fill`) are volatile too: one 8-byte
//! access per aligned word, bytes at the edges (`vm_memory`'s own copies use
//! `copy_nonoverlapping` above 8 bytes, which is not volatile, so they are not used).
//!
//! Host threads: regions and blocks are `Sync`, so any thread may take a view.
//! Two host threads touching the same bytes at once, one of them writing, is a
//! data race (volatile is not atomic) that the driver's ownership rules (one owner
//! per command slot, per block) exclude; the bytes that host and device do touch at
//! the same time are the ownership bytes, and those go through the atomic
//! accessors. (OpenVMM goes further and makes every access atomic.)

use std::fmt;
use std::mem::size_of;
use std::sync::atomic::Ordering;

use vm_memory::{Bytes, VolatileSlice};

use crate::error::{Error, Result};
use crate::volatile_copy;

/// A bounds-checked volatile window onto DMA memory, borrowed from the buffer,
/// region or block that owns the memory.
#[derive(Clone, Copy)]
pub struct DmaView<'a> {
    slice: VolatileSlice<'a>,
}

macro_rules! int_accessors {
    ($($t:ty => $read:ident, $write:ident, $read_be:ident, $write_be:ident;)*) => {$(
        #[doc = concat!("Reads a little-endian `", stringify!($t), "` at `offset`.")]
        pub fn $read(&self, offset: usize) -> Result<$t> {
            self.read_raw::<{ size_of::<$t>() }>(offset).map(<$t>::from_le_bytes)
        }
        #[doc = concat!("Writes a little-endian `", stringify!($t), "` at `offset`.")]
        pub fn $write(&self, offset: usize, value: $t) -> Result<()> {
            self.write_raw(offset, value.to_le_bytes())
        }
        #[doc = concat!("Reads a big-endian `", stringify!($t), "` at `offset` (ConnectX layouts are big-endian).")]
        pub fn $read_be(&self, offset: usize) -> Result<$t> {
            self.read_raw::<{ size_of::<$t>() }>(offset).map(<$t>::from_be_bytes)
        }
        #[doc = concat!("Writes a big-endian `", stringify!($t), "` at `offset`.")]
        pub fn $write_be(&self, offset: usize, value: $t) -> Result<()> {
            self.write_raw(offset, value.to_be_bytes())
        }
    )*};
}

impl<'a> DmaView<'a> {
    /// # Safety
    /// `ptr..ptr+len` must stay allocated for `'a`, and no Rust reference to any of
    /// it may exist for `'a`: every host access is made through views (volatile or
    /// atomic, bulk copies included) and the device's are DMA. Two host threads may
    /// hold views of the same bytes; that one writes while the other touches the
    /// same non-ownership bytes is excluded by the driver's ownership rules, not by
    /// this type.
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: usize) -> DmaView<'a> {
        DmaView {
            // SAFETY: forwarded from this function's contract.
            slice: unsafe { VolatileSlice::new(ptr, len) },
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.slice.len()
    }

    /// True for a view of zero bytes.
    pub fn is_empty(&self) -> bool {
        self.slice.is_empty()
    }

    /// The view of `len` bytes at `offset` inside this one.
    pub fn subview(&self, offset: usize, len: usize) -> Result<DmaView<'a>> {
        self.range(offset, len).map(|slice| DmaView { slice })
    }

    /// Host address of the first byte: for logs and alignment checks only.
    pub fn addr(&self) -> usize {
        self.slice.ptr_guard().as_ptr() as usize
    }

    fn range(&self, offset: usize, len: usize) -> Result<VolatileSlice<'a>> {
        let oob = || Error::OutOfBounds {
            offset,
            len,
            size: self.len(),
        };
        match offset.checked_add(len) {
            Some(end) if end <= self.len() => self.slice.subslice(offset, len).map_err(|_| oob()),
            _ => Err(oob()),
        }
    }

    fn read_raw<const N: usize>(&self, offset: usize) -> Result<[u8; N]> {
        let s = self.range(offset, N)?;
        let p = s.ptr_guard().as_ptr();
        let mut out = [0u8; N];
        // `p` points at N bytes inside the view (checked by `range`), valid for the
        // view's lifetime. An aligned field of 2, 4 or 8 bytes is one volatile load.
        match N {
            2 if p.cast::<u16>().is_aligned() => {
                // SAFETY: in bounds (above), aligned (the guard), volatile.
                let v = unsafe { p.cast::<u16>().read_volatile() };
                out.copy_from_slice(&v.to_ne_bytes());
            }
            4 if p.cast::<u32>().is_aligned() => {
                // SAFETY: in bounds (above), aligned (the guard), volatile.
                let v = unsafe { p.cast::<u32>().read_volatile() };
                out.copy_from_slice(&v.to_ne_bytes());
            }
            8 if p.cast::<u64>().is_aligned() => {
                // SAFETY: in bounds (above), aligned (the guard), volatile.
                let v = unsafe { p.cast::<u64>().read_volatile() };
                out.copy_from_slice(&v.to_ne_bytes());
            }
            // One byte, or an unaligned field: volatile, word-wise where it can be.
            // SAFETY: `p` points at N == out.len() bytes inside the view (above).
            _ => unsafe { volatile_copy::from_device(p, &mut out) },
        }
        Ok(out)
    }

    fn write_raw<const N: usize>(&self, offset: usize, bytes: [u8; N]) -> Result<()> {
        let s = self.range(offset, N)?;
        let p = s.ptr_guard_mut().as_ptr();
        // As in `read_raw`: in bounds; an aligned field is one volatile store.
        match N {
            2 if p.cast::<u16>().is_aligned() => {
                let mut b = [0u8; 2];
                b.copy_from_slice(&bytes);
                // SAFETY: in bounds (`range`), aligned (the guard), volatile.
                unsafe { p.cast::<u16>().write_volatile(u16::from_ne_bytes(b)) };
            }
            4 if p.cast::<u32>().is_aligned() => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&bytes);
                // SAFETY: in bounds (`range`), aligned (the guard), volatile.
                unsafe { p.cast::<u32>().write_volatile(u32::from_ne_bytes(b)) };
            }
            8 if p.cast::<u64>().is_aligned() => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes);
                // SAFETY: in bounds (`range`), aligned (the guard), volatile.
                unsafe { p.cast::<u64>().write_volatile(u64::from_ne_bytes(b)) };
            }
            // SAFETY: `p` points at N == bytes.len() bytes inside the view (`range`).
            _ => unsafe { volatile_copy::to_device(p, &bytes) },
        }
        Ok(())
    }

    /// Reads the byte at `offset`.
    pub fn read_u8(&self, offset: usize) -> Result<u8> {
        self.read_raw::<1>(offset).map(|b| b[0])
    }

    /// Writes the byte at `offset`.
    pub fn write_u8(&self, offset: usize, value: u8) -> Result<()> {
        self.write_raw(offset, [value])
    }

    int_accessors! {
        u16 => read_u16, write_u16, read_u16_be, write_u16_be;
        u32 => read_u32, write_u32, read_u32_be, write_u32_be;
        u64 => read_u64, write_u64, read_u64_be, write_u64_be;
    }

    /// Copies `buf.len()` bytes at `offset` out of the view into `buf`: volatile
    /// loads, one 8-byte load per aligned word of the view, bytes at the edges.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        let s = self.range(offset, buf.len())?;
        // SAFETY: `s` is `buf.len()` bytes inside the view (`range`), valid for `'a`;
        // `buf` is host memory the device cannot reach, so the two do not overlap.
        unsafe { volatile_copy::from_device(s.ptr_guard().as_ptr(), buf) };
        Ok(())
    }

    /// Copies `buf` into the view at `offset`: volatile stores, one 8-byte store per
    /// aligned word of the view, bytes at the edges.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result<()> {
        let s = self.range(offset, buf.len())?;
        // SAFETY: as in `read_bytes`.
        unsafe { volatile_copy::to_device(s.ptr_guard_mut().as_ptr(), buf) };
        Ok(())
    }

    /// Sets `len` bytes at `offset` to `byte`, with volatile stores as `write_bytes`.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<()> {
        let s = self.range(offset, len)?;
        // SAFETY: `s` is `len` bytes inside the view (`range`), valid for `'a`.
        unsafe { volatile_copy::fill_device(s.ptr_guard_mut().as_ptr(), len, byte) };
        Ok(())
    }

    fn atomic_slot(&self, offset: usize, width: usize) -> Result<VolatileSlice<'a>> {
        let s = self.range(offset, width)?;
        if s.ptr_guard().as_ptr() as usize % width != 0 {
            return Err(Error::Misaligned { offset, width });
        }
        Ok(s)
    }

    /// Atomic load with `Acquire` ordering of the ownership byte at `offset`: later
    /// reads of the view cannot be served before it. Use it for `status_own` and
    /// the EQE `owner` byte.
    pub fn load_u8_acquire(&self, offset: usize) -> Result<u8> {
        let s = self.atomic_slot(offset, 1)?;
        s.load::<u8>(0, Ordering::Acquire)
            .map_err(|_| Error::Misaligned { offset, width: 1 })
    }

    /// Atomic store with `Release` ordering at `offset`: every earlier write to DMA
    /// memory is visible before it. Use it to hand an entry to the device.
    pub fn store_u8_release(&self, offset: usize, value: u8) -> Result<()> {
        let s = self.atomic_slot(offset, 1)?;
        s.store(value, 0, Ordering::Release)
            .map_err(|_| Error::Misaligned { offset, width: 1 })
    }

    /// Atomic `Acquire` load of a native-endian `u32` at a 4-byte aligned `offset`.
    pub fn load_u32_acquire(&self, offset: usize) -> Result<u32> {
        let s = self.atomic_slot(offset, 4)?;
        s.load::<u32>(0, Ordering::Acquire)
            .map_err(|_| Error::Misaligned { offset, width: 4 })
    }

    /// Atomic `Release` store of a native-endian `u32` at a 4-byte aligned `offset`.
    pub fn store_u32_release(&self, offset: usize, value: u32) -> Result<()> {
        let s = self.atomic_slot(offset, 4)?;
        s.store(value, 0, Ordering::Release)
            .map_err(|_| Error::Misaligned { offset, width: 4 })
    }
}

impl fmt::Debug for DmaView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaView")
            .field("addr", &format_args!("{:#x}", self.addr()))
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test memory: a u64 array so that offset 0 is 8-byte aligned.
    fn with_view<R>(len_bytes: usize, f: impl FnOnce(DmaView<'_>) -> R) -> R {
        let mut mem = vec![0u64; len_bytes.div_ceil(8)];
        // SAFETY: `mem` outlives the view (the view does not escape `f`) and is
        // accessed only through it while `f` runs.
        let view = unsafe { DmaView::from_raw(mem.as_mut_ptr().cast(), len_bytes) };
        f(view)
    }

    #[test]
    fn big_endian_fields_put_the_most_significant_byte_first() {
        with_view(64, |v| {
            v.write_u32_be(4, 0x0102_0304).unwrap();
            assert_eq!(v.read_u8(4).unwrap(), 0x01);
            assert_eq!(v.read_u8(7).unwrap(), 0x04);
            assert_eq!(v.read_u32(4).unwrap(), 0x0403_0201);
            assert_eq!(v.read_u32_be(4).unwrap(), 0x0102_0304);
            v.write_u64_be(8, 0x1122_3344_5566_7788).unwrap();
            assert_eq!(v.read_u8(8).unwrap(), 0x11);
            assert_eq!(v.read_u64_be(8).unwrap(), 0x1122_3344_5566_7788);
            assert_eq!(v.read_u64(8).unwrap(), 0x8877_6655_4433_2211);
            v.write_u16_be(0, 0xABCD).unwrap();
            assert_eq!(v.read_u8(0).unwrap(), 0xAB);
            assert_eq!(v.read_u16(0).unwrap(), 0xCDAB);
        });
    }

    #[test]
    fn unaligned_fields_read_back_what_was_written() {
        with_view(32, |v| {
            v.write_u64_be(3, 0xDEAD_BEEF_0102_0304).unwrap();
            assert_eq!(v.read_u64_be(3).unwrap(), 0xDEAD_BEEF_0102_0304);
            assert_eq!(v.read_u8(3).unwrap(), 0xDE);
            v.write_u32(17, 0xCAFE_F00D).unwrap();
            assert_eq!(v.read_u32(17).unwrap(), 0xCAFE_F00D);
            v.write_u16_be(31 - 1, 0x0A0B).unwrap();
            assert_eq!(v.read_u8(31).unwrap(), 0x0B);
        });
    }

    #[test]
    fn out_of_bounds_accesses_are_errors_not_panics() {
        with_view(16, |v| {
            assert!(matches!(
                v.read_u32(13),
                Err(Error::OutOfBounds {
                    offset: 13,
                    len: 4,
                    size: 16
                })
            ));
            assert!(matches!(v.read_u8(16), Err(Error::OutOfBounds { .. })));
            assert!(matches!(
                v.write_u64(usize::MAX - 2, 1),
                Err(Error::OutOfBounds { .. })
            ));
            assert!(matches!(v.subview(8, 9), Err(Error::OutOfBounds { .. })));
            assert!(matches!(
                v.subview(usize::MAX, 2),
                Err(Error::OutOfBounds { .. })
            ));
            let mut big = [0u8; 17];
            assert!(matches!(
                v.read_bytes(0, &mut big),
                Err(Error::OutOfBounds { .. })
            ));
            assert!(matches!(
                v.write_bytes(1, &[0; 16]),
                Err(Error::OutOfBounds { .. })
            ));
            assert!(matches!(v.fill(10, 7, 0), Err(Error::OutOfBounds { .. })));
            assert!(matches!(
                v.load_u8_acquire(16),
                Err(Error::OutOfBounds { .. })
            ));
            // The last byte and an empty view at the end are fine.
            v.write_u8(15, 7).unwrap();
            assert!(v.subview(16, 0).unwrap().is_empty());
        });
    }

    #[test]
    fn subviews_are_windows_at_their_offset_and_bounded_by_their_length() {
        with_view(64, |v| {
            let sub = v.subview(16, 32).unwrap();
            assert_eq!(sub.len(), 32);
            assert_eq!(sub.addr(), v.addr() + 16);
            sub.write_u32_be(0, 0x0A0B_0C0D).unwrap();
            assert_eq!(v.read_u32_be(16).unwrap(), 0x0A0B_0C0D);
            assert!(matches!(
                sub.read_u8(32),
                Err(Error::OutOfBounds { size: 32, .. })
            ));
            let subsub = sub.subview(30, 2).unwrap();
            subsub.write_u16_be(0, 0x1234).unwrap();
            assert_eq!(v.read_u16_be(46).unwrap(), 0x1234);
        });
    }

    #[test]
    fn byte_copies_and_fill_round_trip() {
        with_view(600, |v| {
            let data: Vec<u8> = (0..576).map(|i| (i * 7) as u8).collect();
            v.write_bytes(10, &data).unwrap();
            let mut back = vec![0u8; 576];
            v.read_bytes(10, &mut back).unwrap();
            assert_eq!(back, data);
            v.fill(0, 600, 0xEE).unwrap();
            let mut all = vec![0u8; 600];
            v.read_bytes(0, &mut all).unwrap();
            assert!(all.iter().all(|&b| b == 0xEE));
        });
    }

    /// Bulk copies go through the volatile word loops: one 8-byte access per
    /// aligned word of the view, byte accesses only at the unaligned edges (a
    /// `memcpy` would show no counted access at all).
    #[test]
    fn bulk_copies_are_volatile_word_accesses_with_byte_edges() {
        use crate::volatile_copy::probe;
        with_view(128, |v| {
            let data: Vec<u8> = (0..64).map(|i| i as u8 ^ 0x5A).collect();
            probe::take();
            // Offset 3: 5 head bytes to the boundary at 8, 7 words, 3 tail bytes.
            v.write_bytes(3, &data).unwrap();
            assert_eq!(probe::take(), (8, 7));
            let mut back = vec![0u8; 64];
            v.read_bytes(3, &mut back).unwrap();
            assert_eq!(probe::take(), (8, 7));
            assert_eq!(back, data);
            // Aligned at both ends: words only.
            v.fill(16, 96, 0xC3).unwrap();
            assert_eq!(probe::take(), (0, 12));
            let mut all = vec![0u8; 128];
            v.read_bytes(0, &mut all).unwrap();
            assert_eq!(probe::take(), (0, 16));
            assert_eq!(&all[..3], &[0, 0, 0]);
            assert_eq!(&all[3..16], &data[..13]);
            assert!(all[16..112].iter().all(|&b| b == 0xC3));
            assert_eq!(&all[112..], &[0; 16]);
            // An unaligned 8-byte field: bytes on both sides of the boundary.
            v.write_u64_be(13, 0x0102_0304_0506_0708).unwrap();
            assert_eq!(probe::take(), (8, 0));
        });
    }

    #[test]
    fn atomic_accesses_check_alignment_and_order() {
        with_view(64, |v| {
            v.store_u8_release(0x3F, 1).unwrap();
            assert_eq!(v.load_u8_acquire(0x3F).unwrap(), 1);
            assert_eq!(v.read_u8(0x3F).unwrap(), 1);
            v.store_u32_release(0x20, 0xA5A5_0001).unwrap();
            assert_eq!(v.load_u32_acquire(0x20).unwrap(), 0xA5A5_0001);
            assert!(matches!(
                v.load_u32_acquire(0x21),
                Err(Error::Misaligned {
                    offset: 0x21,
                    width: 4
                })
            ));
            assert!(matches!(
                v.store_u32_release(62, 0),
                Err(Error::OutOfBounds { .. })
            ));
        });
    }
}
