//! CREATE_UMEM (0xA08) and DESTROY_UMEM (0xA0A): user memory registered with
//! the device by its page list (`mlx5_ifc.h`: `create_umem_in`, `umem`,
//! `mtt`). A driver without a kernel (rdma-core's mlx5 over VFIO) creates them
//! with uid 0, which firmware allows when `umem_uid_0` is set.

use crate::ifc::field::Field;

/// `uid` (in dw0 15:0): the user context; 0 = none.
pub const UID: Field = Field::new("uid", 0x00, 0, 16);
/// `umem.ats` (in dw8 bit 31): translated addresses (PCIe ATS).
pub const UMEM_ATS: Field = Field::new("ats", 0x20, 31, 1);
/// `umem.log_page_size` (in dw8 4:0): page size `4 KiB << n`.
pub const UMEM_LOG_PAGE_SIZE: Field = Field::new("log_page_size", 0x20, 0, 5);
/// `umem.page_offset` (in dw9): where the memory starts in its first page.
pub const UMEM_PAGE_OFFSET: Field = Field::new("page_offset", 0x24, 0, 32);
/// `umem.num_of_mtt` (in dw10-11): entries of the page list.
pub const UMEM_NUM_OF_MTT: Field = Field::be64_at("num_of_mtt", 0x28);
/// Where the page list (`umem.mtt[]`, 8 bytes each) starts.
pub const MTT_OFFSET: usize = 0x30;
/// CREATE_UMEM input without its page list.
pub const CREATE_UMEM_IN_SIZE: usize = MTT_OFFSET;
/// `umem_id` (CREATE_UMEM out dw2 23:0, DESTROY_UMEM in dw2 23:0).
pub const UMEM_ID: Field = Field::new("umem_id", 0x08, 0, 24);
/// `mtt.rd_en` / `mtt.wr_en`: the low bits of an entry; the rest is the
/// page address (`ptag`).
pub const MTT_RD_EN: u64 = 1;
/// See [`MTT_RD_EN`].
pub const MTT_WR_EN: u64 = 2;
/// The address bits of an `mtt` entry (`ptag_63_32`, `ptag_31_8`).
pub const MTT_PTAG_MASK: u64 = !0xFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umem_fields_sit_where_mlx5_ifc_puts_them() {
        // create_umem_in: the 16-byte header, then `umem` at bit 0x80 (byte
        // 0x10): 0x80 reserved bits, ats at bit 0x80 of it, log_page_size at
        // 0x9b..0xa0, page_offset at 0xa0, num_of_mtt at 0xc0, mtt at 0x100.
        let mut b = [0u8; CREATE_UMEM_IN_SIZE];
        UMEM_ATS.set(&mut b, 1).unwrap();
        UMEM_LOG_PAGE_SIZE.set(&mut b, 0x1F).unwrap();
        UMEM_PAGE_OFFSET.set(&mut b, 0x0102_0304).unwrap();
        UMEM_NUM_OF_MTT.set(&mut b, 0x0506).unwrap();
        assert_eq!(&b[0x20..0x24], &[0x80, 0, 0, 0x1F]);
        assert_eq!(&b[0x24..0x28], &[1, 2, 3, 4]);
        assert_eq!(&b[0x28..0x30], &[0, 0, 0, 0, 0, 0, 5, 6]);
        assert_eq!(MTT_OFFSET, 0x10 + 0x100 / 8);
        let mut o = [0u8; 16];
        UMEM_ID.set(&mut o, 0xAB_CDEF).unwrap();
        assert_eq!(&o[0x08..0x0C], &[0, 0xAB, 0xCD, 0xEF]);
    }
}
