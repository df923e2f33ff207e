//! A BAR as a memory-mapped I/O region.
//!
//! Accessors follow the PCI bus convention: `read32(off)` returns the four bytes at
//! `off` read as a little-endian value, in one access of that width (what Linux's
//! `readl` returns). ConnectX registers are big-endian, so the driver uses the
//! `*_be` helpers, which read the same single access and interpret the bytes
//! big-endian (Linux's `ioread32be`).
//!
//! Accesses never fail: like a PCIe read of a removed device, a read that cannot be
//! served returns all ones and a write that cannot be served is dropped (both are
//! logged). The driver treats an all-ones health word as "device gone". An offset
//! outside the region is a driver bug; it is reported the same way, never a panic.

/// One BAR. Implementations: a mapped VFIO region (`volatile` accesses on the
/// mapping), a VFIO region served by pread/pwrite, or the in-process device model.
pub trait Mmio: Send + Sync {
    /// Size of the region in bytes.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read8(&self, offset: u64) -> u8;
    fn read16(&self, offset: u64) -> u16;
    fn read32(&self, offset: u64) -> u32;
    fn read64(&self, offset: u64) -> u64;
    fn write8(&self, offset: u64, value: u8);
    fn write16(&self, offset: u64, value: u16);
    fn write32(&self, offset: u64, value: u32);
    fn write64(&self, offset: u64, value: u64);

    /// A 16-bit big-endian register.
    fn read16_be(&self, offset: u64) -> u16 {
        u16::from_be_bytes(self.read16(offset).to_le_bytes())
    }
    /// A 32-bit big-endian register (`ioread32be`).
    fn read32_be(&self, offset: u64) -> u32 {
        u32::from_be_bytes(self.read32(offset).to_le_bytes())
    }
    /// A 64-bit big-endian register, as one 64-bit access.
    fn read64_be(&self, offset: u64) -> u64 {
        u64::from_be_bytes(self.read64(offset).to_le_bytes())
    }
    fn write16_be(&self, offset: u64, value: u16) {
        self.write16(offset, u16::from_le_bytes(value.to_be_bytes()))
    }
    /// `iowrite32be`: the command doorbell and the cmdq address are written this way.
    fn write32_be(&self, offset: u64, value: u32) {
        self.write32(offset, u32::from_le_bytes(value.to_be_bytes()))
    }
    fn write64_be(&self, offset: u64, value: u64) {
        self.write64(offset, u64::from_le_bytes(value.to_be_bytes()))
    }
}

/// Checks that an access of `len` bytes at `offset` lies inside a region of `size`
/// bytes and is naturally aligned. Backends call it before touching the region.
pub fn check_access(offset: u64, len: u64, size: u64) -> bool {
    len != 0 && offset % len == 0 && offset.checked_add(len).is_some_and(|end| end <= size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A plain byte array behind the trait, to test the endian helpers.
    struct Bytes(Mutex<Vec<u8>>);
    impl Mmio for Bytes {
        fn len(&self) -> u64 {
            self.0.lock().unwrap().len() as u64
        }
        fn read8(&self, o: u64) -> u8 {
            self.0.lock().unwrap()[o as usize]
        }
        fn read16(&self, o: u64) -> u16 {
            let b = self.0.lock().unwrap();
            u16::from_le_bytes(b[o as usize..o as usize + 2].try_into().unwrap())
        }
        fn read32(&self, o: u64) -> u32 {
            let b = self.0.lock().unwrap();
            u32::from_le_bytes(b[o as usize..o as usize + 4].try_into().unwrap())
        }
        fn read64(&self, o: u64) -> u64 {
            let b = self.0.lock().unwrap();
            u64::from_le_bytes(b[o as usize..o as usize + 8].try_into().unwrap())
        }
        fn write8(&self, o: u64, v: u8) {
            self.0.lock().unwrap()[o as usize] = v;
        }
        fn write16(&self, o: u64, v: u16) {
            self.0.lock().unwrap()[o as usize..o as usize + 2].copy_from_slice(&v.to_le_bytes());
        }
        fn write32(&self, o: u64, v: u32) {
            self.0.lock().unwrap()[o as usize..o as usize + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn write64(&self, o: u64, v: u64) {
            self.0.lock().unwrap()[o as usize..o as usize + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    #[test]
    fn big_endian_helpers_put_the_most_significant_byte_first() {
        let m = Bytes(Mutex::new(vec![0; 16]));
        m.write32_be(4, 0x0102_0304);
        assert_eq!(m.read8(4), 0x01);
        assert_eq!(m.read8(7), 0x04);
        assert_eq!(m.read32(4), 0x0403_0201);
        assert_eq!(m.read32_be(4), 0x0102_0304);
        m.write64_be(8, 0x1122_3344_5566_7788);
        assert_eq!(m.read8(8), 0x11);
        assert_eq!(m.read64_be(8), 0x1122_3344_5566_7788);
        m.write16_be(0, 0xABCD);
        assert_eq!(m.read8(0), 0xAB);
        assert_eq!(m.read16_be(0), 0xABCD);
    }

    #[test]
    fn access_check_rejects_overflow_and_misalignment() {
        assert!(check_access(0, 4, 4));
        assert!(!check_access(4, 4, 4));
        assert!(!check_access(2, 4, 8));
        assert!(!check_access(u64::MAX - 3, 4, u64::MAX));
    }
}
