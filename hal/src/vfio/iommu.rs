//! The IOVA ranges the type1 IOMMU accepts, from `VFIO_IOMMU_GET_INFO`.

use std::ops::Range;

use super::caps::{self, u32_at, u64_at, CAP_IOVA_RANGE};
use super::ioctl::IOMMU_INFO_LEN;
use crate::{Error, Result};

/// `VFIO_IOMMU_INFO_PGSIZES`.
const INFO_PGSIZES: u32 = 1 << 0;
/// `VFIO_IOMMU_INFO_CAPS`.
const INFO_CAPS: u32 = 1 << 1;

/// Used when the kernel reports no IOVA ranges (before Linux 5.4): what rdma-core's
/// mlx5 VFIO provider uses, everything from 64 KiB below 2^39 (a 39-bit IOMMU
/// address width is the smallest in common use) except the x86 MSI window
/// 0xFEE00000..0xFEF00000, which interrupt remapping claims.
pub const FALLBACK_IOVA_RANGES: [Range<u64>; 2] = [0x1_0000..0xFEE0_0000, 0xFEF0_0000..1 << 39];

/// What `VFIO_IOMMU_GET_INFO` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IommuInfo {
    /// Supported IOMMU page sizes (bit n: 2^n bytes), when reported.
    pub page_sizes: Option<u64>,
    /// The IOVA-range capability, when reported.
    pub iova_ranges: Option<Vec<Range<u64>>>,
}

impl IommuInfo {
    /// Parses the bytes the ioctl filled in.
    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        let short = || Error::Vfio(format!("IOMMU info of {} bytes is too short", buf.len()));
        let flags = u32_at(buf, 4).ok_or_else(short)?;
        let pgsizes = u64_at(buf, 8).ok_or_else(short)?;
        let cap_offset = u32_at(buf, 16).ok_or_else(short)?;
        let mut iova_ranges = None;
        if flags & INFO_CAPS != 0 {
            for cap in caps::walk("IOMMU info", buf, IOMMU_INFO_LEN, cap_offset)? {
                if cap.id == CAP_IOVA_RANGE {
                    iova_ranges = Some(caps::iova_ranges(buf, &cap)?);
                }
            }
        }
        Ok(IommuInfo {
            page_sizes: (flags & INFO_PGSIZES != 0).then_some(pgsizes),
            iova_ranges,
        })
    }

    /// The ranges to allocate IOVAs from: the kernel's, sorted, or
    /// [`FALLBACK_IOVA_RANGES`] when it gave none.
    pub fn usable_ranges(&self) -> Vec<Range<u64>> {
        match &self.iova_ranges {
            Some(r) if !r.is_empty() => {
                let mut r: Vec<_> = r.iter().filter(|r| !r.is_empty()).cloned().collect();
                r.sort_by_key(|r| r.start);
                r
            }
            _ => FALLBACK_IOVA_RANGES.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfio::caps::tests::chain;

    fn info_bytes(flags: u32, pgsizes: u64, caps: &[(u16, &[(u64, u64)])]) -> Vec<u8> {
        let (mut buf, first) = chain(IOMMU_INFO_LEN, caps);
        let argsz = buf.len() as u32;
        buf[0..4].copy_from_slice(&argsz.to_ne_bytes());
        buf[4..8].copy_from_slice(&flags.to_ne_bytes());
        buf[8..16].copy_from_slice(&pgsizes.to_ne_bytes());
        buf[16..20].copy_from_slice(&first.to_ne_bytes());
        buf
    }

    #[test]
    fn kernel_ranges_are_used_sorted_and_half_open() {
        // What an Intel VT-d host reports: everything but the MSI window, 48 bits.
        let b = info_bytes(
            INFO_PGSIZES | INFO_CAPS,
            0x4020_1000,
            &[(
                CAP_IOVA_RANGE,
                &[(0xFEF0_0000, (1 << 48) - 1), (0, 0xFEDF_FFFF)],
            )],
        );
        let info = IommuInfo::from_bytes(&b).unwrap();
        assert_eq!(info.page_sizes, Some(0x4020_1000));
        assert_eq!(
            info.usable_ranges(),
            vec![0..0xFEE0_0000, 0xFEF0_0000..1 << 48]
        );
    }

    #[test]
    fn no_capability_falls_back_to_the_rdma_core_ranges() {
        let info = IommuInfo::from_bytes(&info_bytes(INFO_PGSIZES, 0x1000, &[])).unwrap();
        assert_eq!(info.iova_ranges, None);
        let r = info.usable_ranges();
        assert_eq!(r, FALLBACK_IOVA_RANGES.to_vec());
        assert!(r.iter().all(|r| r.end <= 1 << 39));
        assert!(!r
            .iter()
            .any(|r| r.contains(&0xFEE0_0000) || r.contains(&0xFEEF_FFFF)));
    }

    #[test]
    fn a_corrupt_capability_is_an_error() {
        let mut b = info_bytes(INFO_CAPS, 0, &[(CAP_IOVA_RANGE, &[(0, 0xFFFF)])]);
        b.truncate(IOMMU_INFO_LEN + 20);
        assert!(IommuInfo::from_bytes(&b).is_err());
        assert!(IommuInfo::from_bytes(&b[..12]).is_err());
    }
}
