//! Bulk copies between host buffers and device-shared memory, every access to
//! the device side volatile.
//!
//! `vm_memory`'s `copy_to`/`copy_from` hand anything longer than 8 bytes to
//! `copy_nonoverlapping` (a `memcpy` the compiler may split, merge, widen or
//! repeat); memory the device writes must not be read that way. These loops
//! do one volatile 8-byte access per aligned word of the device memory and
//! volatile byte accesses for the unaligned head and tail, so an aligned
//! 64-bit field is never torn by a bulk copy either. The host side is plain
//! memory the device cannot reach and is accessed normally.

/// Counts of the device-side accesses made on this thread, so tests can see
/// that a copy went through these loops and at which widths.
#[cfg(test)]
pub(crate) mod probe {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static BYTES: Cell<usize> = const { Cell::new(0) };
        pub(crate) static WORDS: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn byte() {
        BYTES.with(|c| c.set(c.get() + 1));
    }

    pub(super) fn word() {
        WORDS.with(|c| c.set(c.get() + 1));
    }

    /// (byte accesses, word accesses) since the last call, and resets them.
    pub(crate) fn take() -> (usize, usize) {
        (BYTES.with(|c| c.replace(0)), WORDS.with(|c| c.replace(0)))
    }
}

const WORD: usize = std::mem::size_of::<u64>();

/// The length of the unaligned head of `len` bytes at `addr`: bytes up to the
/// first 8-byte boundary, at most `len`.
fn head_len(addr: usize, len: usize) -> usize {
    (addr.wrapping_neg() % WORD).min(len)
}

/// Copies `dst.len()` bytes at `src` (device memory) into `dst`.
///
/// # Safety
/// `src..src + dst.len()` must be valid for reads for the duration of the call,
/// and must not overlap `dst`.
pub(crate) unsafe fn from_device(src: *const u8, dst: &mut [u8]) {
    let head = head_len(src as usize, dst.len());
    let (head_dst, rest) = dst.split_at_mut(head);
    let mut p = src;
    for b in head_dst {
        #[cfg(test)]
        probe::byte();
        // SAFETY: `p` is inside `src..src + dst.len()` (one step per byte of `dst`),
        // valid for reads by the contract; a `u8` needs no alignment.
        unsafe {
            *b = p.read_volatile();
            p = p.add(1);
        }
    }
    let mut words = rest.chunks_exact_mut(WORD);
    for w in &mut words {
        #[cfg(test)]
        probe::word();
        // SAFETY: `p..p + 8` is inside the source range (one step per 8 bytes of
        // `dst`), and `p` is 8-byte aligned: it started at the first boundary after
        // the head and moves in steps of 8.
        unsafe {
            w.copy_from_slice(&p.cast::<u64>().read_volatile().to_ne_bytes());
            p = p.add(WORD);
        }
    }
    for b in words.into_remainder() {
        #[cfg(test)]
        probe::byte();
        // SAFETY: as for the head: in range, byte access.
        unsafe {
            *b = p.read_volatile();
            p = p.add(1);
        }
    }
}

/// Copies `src` into device memory at `dst`.
///
/// # Safety
/// `dst..dst + src.len()` must be valid for writes for the duration of the call,
/// and must not overlap `src`.
pub(crate) unsafe fn to_device(dst: *mut u8, src: &[u8]) {
    let head = head_len(dst as usize, src.len());
    let (head_src, rest) = src.split_at(head);
    let mut p = dst;
    for &b in head_src {
        #[cfg(test)]
        probe::byte();
        // SAFETY: `p` is inside `dst..dst + src.len()`, valid for writes by the
        // contract; a `u8` needs no alignment.
        unsafe {
            p.write_volatile(b);
            p = p.add(1);
        }
    }
    let mut words = rest.chunks_exact(WORD);
    for w in &mut words {
        #[cfg(test)]
        probe::word();
        let mut bytes = [0u8; WORD];
        bytes.copy_from_slice(w);
        // SAFETY: `p..p + 8` is inside the destination range and `p` is 8-byte
        // aligned (first boundary after the head, steps of 8).
        unsafe {
            p.cast::<u64>().write_volatile(u64::from_ne_bytes(bytes));
            p = p.add(WORD);
        }
    }
    for &b in words.remainder() {
        #[cfg(test)]
        probe::byte();
        // SAFETY: as for the head.
        unsafe {
            p.write_volatile(b);
            p = p.add(1);
        }
    }
}

/// Sets `len` bytes of device memory at `dst` to `byte`.
///
/// # Safety
/// `dst..dst + len` must be valid for writes for the duration of the call.
pub(crate) unsafe fn fill_device(dst: *mut u8, len: usize, byte: u8) {
    let head = head_len(dst as usize, len);
    let word = u64::from_ne_bytes([byte; WORD]);
    let mut p = dst;
    let mut left = len;
    for _ in 0..head {
        #[cfg(test)]
        probe::byte();
        // SAFETY: `p` is inside `dst..dst + len` (`head <= len`); byte access.
        unsafe {
            p.write_volatile(byte);
            p = p.add(1);
        }
    }
    left -= head;
    while left >= WORD {
        #[cfg(test)]
        probe::word();
        // SAFETY: `p..p + 8` is inside the range (`left >= 8` bytes remain) and `p`
        // is 8-byte aligned (first boundary after the head, steps of 8).
        unsafe {
            p.cast::<u64>().write_volatile(word);
            p = p.add(WORD);
        }
        left -= WORD;
    }
    for _ in 0..left {
        #[cfg(test)]
        probe::byte();
        // SAFETY: `p` is inside the range (`left` bytes remain); byte access.
        unsafe {
            p.write_volatile(byte);
            p = p.add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_end_at_the_first_word_boundary() {
        assert_eq!(head_len(0x1000, 64), 0);
        assert_eq!(head_len(0x1003, 64), 5);
        assert_eq!(head_len(0x1003, 2), 2);
        assert_eq!(head_len(0x1007, 64), 1);
        assert_eq!(head_len(usize::MAX, 64), 1);
    }
}
