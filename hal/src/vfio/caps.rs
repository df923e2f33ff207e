//! VFIO info capability chains (`struct vfio_info_cap_header`), parsed from the
//! bytes an ioctl filled in, with every offset and count checked.
//!
//! The region-info and IOMMU-info ioctls return a fixed struct followed by a chain
//! of capabilities; `cap_offset` and each header's `next` are byte offsets from
//! the start of the buffer. vfio-ioctls walks such chains by casting pointers and
//! trusting the offsets; here a bad offset, a loop or a count running past the
//! buffer is an error, never an out-of-bounds read.

use std::ops::Range;

use crate::{Error, Result};

/// `VFIO_REGION_INFO_CAP_SPARSE_MMAP`.
pub const CAP_SPARSE_MMAP: u16 = 1;
/// `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE`.
pub const CAP_MSIX_MAPPABLE: u16 = 3;
/// `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`.
pub const CAP_IOVA_RANGE: u16 = 1;

/// Size of `struct vfio_info_cap_header` (id u16, version u16, next u32).
const HEADER_LEN: usize = 8;
/// The sparse-mmap and IOVA-range capabilities: header, a u32 count, a u32
/// reserved word, then 16-byte entries of two u64.
const LIST_HEAD_LEN: usize = 16;
const ENTRY_LEN: usize = 16;

/// One capability found in a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// Capability id (`VFIO_*_CAP_*`).
    pub id: u16,
    /// Capability version.
    pub version: u16,
    /// Byte offset of its header in the buffer.
    pub offset: usize,
}

fn bad(what: &str, detail: String) -> Error {
    Error::Vfio(format!(
        "malformed {what} capability chain from the kernel: {detail}"
    ))
}

pub(crate) fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

pub(crate) fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    let b = buf.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_ne_bytes(a))
}

/// Walks the chain starting at `first` (0: no capabilities). Capabilities live
/// after the fixed struct of `fixed_len` bytes; each `next` must point further
/// on, so the walk always ends.
pub fn walk(what: &str, buf: &[u8], fixed_len: usize, first: u32) -> Result<Vec<Cap>> {
    let mut caps = Vec::new();
    let mut next = first as usize;
    let mut previous = 0usize;
    while next != 0 {
        if next < fixed_len || next <= previous || next % 4 != 0 {
            return Err(bad(
                what,
                format!("capability at {next:#x} (after {previous:#x}, fixed part {fixed_len:#x})"),
            ));
        }
        let (Some(id), Some(version), Some(following)) = (
            u16_at(buf, next),
            u16_at(buf, next + 2),
            u32_at(buf, next + 4),
        ) else {
            return Err(bad(
                what,
                format!(
                    "header at {next:#x} runs past the {:#x}-byte buffer",
                    buf.len()
                ),
            ));
        };
        caps.push(Cap {
            id,
            version,
            offset: next,
        });
        previous = next;
        next = following as usize;
    }
    Ok(caps)
}

/// The `(u64, u64)` entries of a sparse-mmap or IOVA-range capability at `cap`.
pub fn pairs(what: &str, buf: &[u8], cap: &Cap) -> Result<Vec<(u64, u64)>> {
    let count = u32_at(buf, cap.offset + HEADER_LEN).ok_or_else(|| {
        bad(
            what,
            format!("count of capability at {:#x} missing", cap.offset),
        )
    })?;
    let start = cap.offset + LIST_HEAD_LEN;
    let end = (count as usize)
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(start))
        .filter(|end| *end <= buf.len())
        .ok_or_else(|| {
            bad(
                what,
                format!(
                    "{count} entries at {start:#x} run past the {:#x}-byte buffer",
                    buf.len()
                ),
            )
        })?;
    Ok((start..end)
        .step_by(ENTRY_LEN)
        .filter_map(|o| Some((u64_at(buf, o)?, u64_at(buf, o + 8)?)))
        .collect())
}

/// The IOVA ranges of an IOVA-range capability, converted from the kernel's
/// inclusive `[start, end]` to half-open ranges. An entry with `end < start` is
/// an error.
pub fn iova_ranges(buf: &[u8], cap: &Cap) -> Result<Vec<Range<u64>>> {
    pairs("IOMMU info", buf, cap)?
        .into_iter()
        .map(|(start, end)| {
            if end < start {
                Err(bad(
                    "IOMMU info",
                    format!("IOVA range {start:#x}..={end:#x} ends before it starts"),
                ))
            } else {
                Ok(start..end.saturating_add(1))
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a buffer: `fixed` zero bytes, then the given capabilities chained in
    /// order, each `(id, entries)`.
    pub(crate) fn chain(fixed: usize, caps: &[(u16, &[(u64, u64)])]) -> (Vec<u8>, u32) {
        let mut buf = vec![0u8; fixed];
        let first = if caps.is_empty() { 0 } else { fixed as u32 };
        for (i, (id, entries)) in caps.iter().enumerate() {
            let here = buf.len();
            let len = LIST_HEAD_LEN + entries.len() * ENTRY_LEN;
            let next = if i + 1 == caps.len() {
                0
            } else {
                (here + len) as u32
            };
            buf.extend_from_slice(&id.to_ne_bytes());
            buf.extend_from_slice(&1u16.to_ne_bytes());
            buf.extend_from_slice(&next.to_ne_bytes());
            buf.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            for (a, b) in entries.iter() {
                buf.extend_from_slice(&a.to_ne_bytes());
                buf.extend_from_slice(&b.to_ne_bytes());
            }
        }
        (buf, first)
    }

    #[test]
    fn walks_a_chain_and_reads_its_entries() {
        let (buf, first) = chain(
            32,
            &[
                (CAP_MSIX_MAPPABLE, &[]),
                (CAP_SPARSE_MMAP, &[(0, 0x1000), (0x3000, 0x1000)]),
            ],
        );
        let caps = walk("test", &buf, 32, first).unwrap();
        assert_eq!(caps.len(), 2);
        assert_eq!((caps[0].id, caps[0].offset), (CAP_MSIX_MAPPABLE, 32));
        assert_eq!(caps[1].id, CAP_SPARSE_MMAP);
        assert_eq!(
            pairs("test", &buf, &caps[1]).unwrap(),
            vec![(0, 0x1000), (0x3000, 0x1000)]
        );
    }

    #[test]
    fn no_capabilities_is_an_empty_chain() {
        assert!(walk("test", &[0u8; 32], 32, 0).unwrap().is_empty());
    }

    #[test]
    fn a_loop_or_backward_pointer_is_an_error_not_a_hang() {
        let (mut buf, first) = chain(24, &[(CAP_IOVA_RANGE, &[(0, 1)])]);
        // Point the only capability's `next` at itself.
        buf[first as usize + 4..first as usize + 8].copy_from_slice(&first.to_ne_bytes());
        let e = walk("test", &buf, 24, first).unwrap_err();
        assert!(e.to_string().contains("malformed"), "{e}");
        // Into the fixed part.
        assert!(walk("test", &buf, 24, 8).is_err());
        // Misaligned.
        assert!(walk("test", &buf, 24, 26).is_err());
    }

    #[test]
    fn offsets_and_counts_past_the_buffer_are_errors() {
        let (buf, first) = chain(24, &[(CAP_IOVA_RANGE, &[(0, 0xFFFF)])]);
        assert!(walk("test", &buf[..first as usize + 4], 24, first).is_err());
        let caps = walk("test", &buf, 24, first).unwrap();
        let mut lying = buf.clone();
        let count_at = first as usize + 8;
        lying[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let e = pairs("test", &lying, &caps[0]).unwrap_err();
        assert!(e.to_string().contains("run past"), "{e}");
    }

    #[test]
    fn iova_ranges_become_half_open_and_reject_reversed_ones() {
        let (buf, first) = chain(
            24,
            &[(CAP_IOVA_RANGE, &[(0, 0xFEDF_FFFF), (0xFEF0_0000, u64::MAX)])],
        );
        let caps = walk("test", &buf, 24, first).unwrap();
        assert_eq!(
            iova_ranges(&buf, &caps[0]).unwrap(),
            vec![0..0xFEE0_0000, 0xFEF0_0000..u64::MAX]
        );
        let (buf, first) = chain(24, &[(CAP_IOVA_RANGE, &[(0x2000, 0x1000)])]);
        let caps = walk("test", &buf, 24, first).unwrap();
        assert!(iova_ranges(&buf, &caps[0]).is_err());
    }
}
