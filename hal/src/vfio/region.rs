//! VFIO region info (`struct vfio_region_info` and its capabilities) and the
//! decision of which parts of a BAR to mmap.

use std::ops::Range;

use super::caps::{self, u32_at, u64_at, CAP_MSIX_MAPPABLE, CAP_SPARSE_MMAP};
use super::ioctl::REGION_INFO_LEN;
use crate::{Error, Result};

/// `VFIO_REGION_INFO_FLAG_READ`.
pub const FLAG_READ: u32 = 1 << 0;
/// `VFIO_REGION_INFO_FLAG_WRITE`.
pub const FLAG_WRITE: u32 = 1 << 1;
/// `VFIO_REGION_INFO_FLAG_MMAP`.
pub const FLAG_MMAP: u32 = 1 << 2;
/// `VFIO_REGION_INFO_FLAG_CAPS`.
pub const FLAG_CAPS: u32 = 1 << 3;

/// `VFIO_PCI_CONFIG_REGION_INDEX`.
pub const CONFIG_REGION_INDEX: u32 = 7;

/// One VFIO region of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// Region index (`VFIO_PCI_BAR0_REGION_INDEX` + n for BARs, 7 for config).
    pub index: u32,
    /// `VFIO_REGION_INFO_FLAG_*`.
    pub flags: u32,
    /// Size in bytes (0: the region does not exist, e.g. the upper half of a 64-bit BAR).
    pub size: u64,
    /// Offset of the region in the device fd, for pread/pwrite/mmap.
    pub offset: u64,
    /// The sparse-mmap capability: when present, only these parts (offset, size
    /// within the region) may be mmapped.
    pub sparse: Option<Vec<(u64, u64)>>,
    /// `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE`: the MSI-X table may be mapped too.
    pub msix_mappable: bool,
}

impl RegionInfo {
    /// Parses the bytes `VFIO_DEVICE_GET_REGION_INFO` filled in.
    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let short = || {
            Error::Vfio(format!(
                "region info of {} bytes, expected at least {REGION_INFO_LEN}",
                buf.len()
            ))
        };
        let flags = u32_at(buf, 4).ok_or_else(short)?;
        let index = u32_at(buf, 8).ok_or_else(short)?;
        let cap_offset = u32_at(buf, 12).ok_or_else(short)?;
        let size = u64_at(buf, 16).ok_or_else(short)?;
        let offset = u64_at(buf, 24).ok_or_else(short)?;
        let mut info = RegionInfo {
            index,
            flags,
            size,
            offset,
            sparse: None,
            msix_mappable: false,
        };
        if flags & FLAG_CAPS != 0 {
            let what = "region info";
            for cap in caps::walk(what, buf, REGION_INFO_LEN, cap_offset)? {
                match cap.id {
                    CAP_SPARSE_MMAP => info.sparse = Some(caps::pairs(what, buf, &cap)?),
                    CAP_MSIX_MAPPABLE => info.msix_mappable = true,
                    _ => {}
                }
            }
        }
        Ok(info)
    }

    /// `FLAG_READ`: the region may be read.
    pub fn readable(&self) -> bool {
        self.flags & FLAG_READ != 0
    }

    /// `FLAG_WRITE`: the region may be written.
    pub fn writable(&self) -> bool {
        self.flags & FLAG_WRITE != 0
    }

    /// The parts of the region to mmap, as ranges of region offsets, sorted.
    ///
    /// Nothing unless `FLAG_MMAP` is set; with a sparse-mmap capability only its
    /// areas (vfio-pci uses it to keep the MSI-X table out of the mapping), else
    /// the whole region. An area that is empty, not page aligned, outside the
    /// region or overlapping another is left out (logged) and reached through
    /// pread/pwrite instead: that is always correct, only slower.
    pub fn mmap_plan(&self, page_size: u64) -> Vec<Range<u64>> {
        if self.flags & FLAG_MMAP == 0 || self.size == 0 || page_size == 0 {
            return Vec::new();
        }
        let Some(areas) = &self.sparse else {
            return if self.offset % page_size == 0 {
                std::iter::once(0..self.size).collect()
            } else {
                tracing::warn!(
                    region = self.index,
                    offset = self.offset,
                    "region offset not page aligned; not mapping it"
                );
                Vec::new()
            };
        };
        let mut plan: Vec<Range<u64>> = Vec::new();
        let mut sorted = areas.clone();
        sorted.sort();
        for (start, len) in sorted {
            let end = start.checked_add(len);
            let ok = len != 0
                && start % page_size == 0
                && self
                    .offset
                    .checked_add(start)
                    .is_some_and(|o| o % page_size == 0)
                && end.is_some_and(|e| e <= self.size)
                && plan.last().is_none_or(|prev| prev.end <= start);
            match (ok, end) {
                (true, Some(end)) => plan.push(start..end),
                _ => tracing::warn!(
                    region = self.index,
                    start,
                    len,
                    size = self.size,
                    "sparse mmap area unusable; it will be accessed with pread/pwrite"
                ),
            }
        }
        plan
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vfio::caps::tests::chain;

    /// Region info bytes as the kernel would fill them.
    pub(crate) fn region_bytes(
        index: u32,
        flags: u32,
        size: u64,
        offset: u64,
        caps: &[(u16, &[(u64, u64)])],
    ) -> Vec<u8> {
        let (mut buf, first) = chain(REGION_INFO_LEN, caps);
        let flags = if caps.is_empty() {
            flags
        } else {
            flags | FLAG_CAPS
        };
        let argsz = buf.len() as u32;
        buf[0..4].copy_from_slice(&argsz.to_ne_bytes());
        buf[4..8].copy_from_slice(&flags.to_ne_bytes());
        buf[8..12].copy_from_slice(&index.to_ne_bytes());
        buf[12..16].copy_from_slice(&first.to_ne_bytes());
        buf[16..24].copy_from_slice(&size.to_ne_bytes());
        buf[24..32].copy_from_slice(&offset.to_ne_bytes());
        buf
    }

    const RW: u32 = FLAG_READ | FLAG_WRITE;

    #[test]
    fn parses_flags_size_offset_and_caps() {
        let b = region_bytes(
            0,
            RW | FLAG_MMAP,
            0x4000,
            0,
            &[(CAP_MSIX_MAPPABLE, &[]), (CAP_SPARSE_MMAP, &[(0, 0x2000)])],
        );
        let r = RegionInfo::from_bytes(&b).unwrap();
        assert_eq!(r.index, 0);
        assert_eq!(r.size, 0x4000);
        assert!(r.readable() && r.writable());
        assert!(r.msix_mappable);
        assert_eq!(r.sparse, Some(vec![(0, 0x2000)]));
        assert!(RegionInfo::from_bytes(&b[..20]).is_err());
    }

    #[test]
    fn whole_region_is_mapped_without_a_sparse_cap() {
        let r = RegionInfo::from_bytes(&region_bytes(
            2,
            RW | FLAG_MMAP,
            0x10000,
            0x2000_0000_0000,
            &[],
        ))
        .unwrap();
        assert_eq!(r.mmap_plan(4096), vec![0..0x10000]);
    }

    #[test]
    fn nothing_is_mapped_without_the_mmap_flag() {
        let r = RegionInfo::from_bytes(&region_bytes(0, RW, 0x4000, 0, &[])).unwrap();
        assert!(r.mmap_plan(4096).is_empty());
    }

    #[test]
    fn only_sparse_areas_are_mapped_and_bad_ones_are_dropped() {
        // The MSI-X table at 0x2000..0x3000 is left out by the kernel.
        let r = RegionInfo::from_bytes(&region_bytes(
            0,
            RW | FLAG_MMAP,
            0x8000,
            0,
            &[(
                CAP_SPARSE_MMAP,
                &[
                    (0x3000, 0x5000),
                    (0, 0x2000),
                    (0x100, 0x1000),            // not page aligned
                    (0x7000, 0x2000),           // past the end and overlapping
                    (0x4000, 0),                // empty
                    (u64::MAX - 0xFFF, 0x2000), // overflows
                ],
            )],
        ))
        .unwrap();
        assert_eq!(r.mmap_plan(4096), vec![0..0x2000, 0x3000..0x8000]);
    }
}
