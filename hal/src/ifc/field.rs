//! Checked big-endian bit fields, the way the PRM and `mlx5_ifc.h` describe them.
//!
//! Every ConnectX structure is a sequence of big-endian dwords; a field is
//! "dword at byte N, bits hi:lo", with bit 31 the most significant bit of the
//! first byte of that dword (reference §"conventions"). A [`Field`] records exactly
//! that: the byte offset of its big-endian container, the bit number of its least
//! significant bit in the container, and its width. Fields of 33 to 64 bits (DMA
//! addresses, 64-bit counters) live in a 64-bit container. Reads and writes
//! check the buffer length and the value width and return [`Error`], never panic.

use super::error::{check_len, Error, Result};

/// One field of a big-endian layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name, from the kernel's `mlx5_ifc.h` (or the PRM) where it has one.
    pub name: &'static str,
    /// Byte offset of the container (a big-endian dword, or a qword if `bit + width > 32`).
    pub byte: usize,
    /// Bit number of the field's least significant bit inside the container.
    pub bit: u32,
    /// Width in bits (1 to 64).
    pub width: u32,
}

impl Field {
    /// A field at `byte`, bits `bit + width - 1 : bit`. The arguments are checked at
    /// compile time when used in a `const` (every layout in `ifc` is).
    pub const fn new(name: &'static str, byte: usize, bit: u32, width: u32) -> Self {
        assert!(width >= 1 && width <= 64, "field width must be 1..=64");
        assert!(bit + width <= 64, "field must fit in a 64-bit container");
        Field {
            name,
            byte,
            bit,
            width,
        }
    }

    /// A whole byte at byte offset `off`, expressed in its containing dword.
    pub const fn u8_at(name: &'static str, off: usize) -> Self {
        Field::new(name, off & !3, (3 - (off & 3) as u32) * 8, 8)
    }

    /// A big-endian 16-bit value at byte offset `off` (must be 2-aligned).
    pub const fn be16_at(name: &'static str, off: usize) -> Self {
        assert!(off % 2 == 0, "be16 fields are 2-aligned");
        Field::new(name, off & !3, if off & 2 == 0 { 16 } else { 0 }, 16)
    }

    /// A big-endian 32-bit value at byte offset `off`.
    pub const fn be32_at(name: &'static str, off: usize) -> Self {
        Field::new(name, off, 0, 32)
    }

    /// A big-endian 64-bit value at byte offset `off`.
    pub const fn be64_at(name: &'static str, off: usize) -> Self {
        Field::new(name, off, 0, 64)
    }

    /// The same field shifted by `delta` bytes (a sub-structure placed inside a
    /// command, e.g. the EQ context at CREATE_EQ byte 0x10).
    pub const fn at(self, delta: usize) -> Self {
        Field {
            byte: self.byte + delta,
            ..self
        }
    }

    /// Size of the big-endian container in bytes: 4, or 8 for fields reaching past bit 31.
    pub const fn container_len(&self) -> usize {
        if self.bit + self.width <= 32 {
            4
        } else {
            8
        }
    }

    /// Mask of the field's value (not shifted).
    pub const fn max(&self) -> u64 {
        if self.width == 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }

    /// The offset in the buffer of the byte holding the field's most
    /// significant bit: for a byte-wide field its own byte, which `byte` (the
    /// offset of the container dword) is not. `Field::u8_at("sig", 0x3D)` has
    /// `byte` 0x3C and `first_byte()` 0x3D.
    pub const fn first_byte(&self) -> usize {
        self.byte + ((self.container_len() as u32 * 8 - self.bit - self.width) / 8) as usize
    }

    /// First byte past the container: a buffer must be at least this long.
    pub const fn end(&self) -> usize {
        self.byte + self.container_len()
    }

    fn load(&self, buf: &[u8]) -> Result<u64> {
        let n = self.container_len();
        check_len(self.name, buf.len(), self.byte, n)?;
        // A fixed-size read per container width: the byte-wise fold it replaces
        // did not unroll and was a tenth of the driver's cost per mailbox command.
        let at = &buf[self.byte..self.byte + n];
        Ok(match <[u8; 4]>::try_from(at) {
            Ok(dword) => u64::from(u32::from_be_bytes(dword)),
            Err(_) => {
                let mut qword = [0u8; 8];
                qword.copy_from_slice(at);
                u64::from_be_bytes(qword)
            }
        })
    }

    /// Reads the field from `buf`.
    pub fn get(&self, buf: &[u8]) -> Result<u64> {
        Ok((self.load(buf)? >> self.bit) & self.max())
    }

    /// Reads a field of at most 32 bits.
    pub fn get32(&self, buf: &[u8]) -> Result<u32> {
        let v = self.get(buf)?;
        u32::try_from(v).map_err(|_| Error::Overflow {
            what: self.name,
            value: v,
            width: 32,
        })
    }

    /// Reads a one-bit field as a flag.
    pub fn get_bool(&self, buf: &[u8]) -> Result<bool> {
        Ok(self.get(buf)? != 0)
    }

    /// Writes `value` into the field, keeping the other bits of the container.
    pub fn set(&self, buf: &mut [u8], value: u64) -> Result<()> {
        if value & !self.max() != 0 {
            return Err(Error::Overflow {
                what: self.name,
                value,
                width: self.width,
            });
        }
        let old = self.load(buf)?;
        let mask = self.max() << self.bit;
        let new = (old & !mask) | (value << self.bit);
        let n = self.container_len();
        let bytes = new.to_be_bytes();
        buf[self.byte..self.byte + n].copy_from_slice(&bytes[8 - n..]);
        Ok(())
    }

    /// Writes a flag into a field (1 or 0).
    pub fn set_bool(&self, buf: &mut [u8], value: bool) -> Result<()> {
        self.set(buf, u64::from(value))
    }

    /// Extracts the field from a dword already read from its container (for
    /// example with `Mmio::read32_be` at `self.byte`). Fields in a 64-bit
    /// container yield the bits that fall in the low dword.
    pub const fn extract(&self, dword: u32) -> u32 {
        if self.bit >= 32 {
            return 0;
        }
        ((dword as u64 >> self.bit) & self.max()) as u32
    }

    /// Returns `dword` with the field replaced by `value` (for a read-modify-write
    /// of a register such as the init segment's `cmdq_addr_l_sz`).
    pub fn insert(&self, dword: u32, value: u32) -> Result<u32> {
        if self.container_len() != 4 {
            return Err(Error::BadValue {
                what: self.name,
                value: u64::from(self.width),
                expected: "a field inside one dword",
            });
        }
        let value = u64::from(value);
        if value & !self.max() != 0 {
            return Err(Error::Overflow {
                what: self.name,
                value,
                width: self.width,
            });
        }
        let mask = self.max() << self.bit;
        Ok(((u64::from(dword) & !mask) | (value << self.bit)) as u32)
    }
}

/// Reads `N` bytes at `offset` (a fixed-size byte array field such as a string or a GUID).
pub fn get_bytes<const N: usize>(what: &'static str, buf: &[u8], offset: usize) -> Result<[u8; N]> {
    check_len(what, buf.len(), offset, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[offset..offset + N]);
    Ok(out)
}

/// Writes `src` at `offset`.
pub fn put_bytes(what: &'static str, buf: &mut [u8], offset: usize, src: &[u8]) -> Result<()> {
    check_len(what, buf.len(), offset, src.len())?;
    buf[offset..offset + src.len()].copy_from_slice(src);
    Ok(())
}

/// Checks that `buf` is at least `need` bytes long, naming the structure.
pub fn need(what: &'static str, buf: &[u8], need: usize) -> Result<()> {
    check_len(what, buf.len(), 0, need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_is_the_fields_own_offset() {
        for off in 0..64 {
            assert_eq!(Field::u8_at("b", off).first_byte(), off);
            assert_eq!(Field::be32_at("d", off).first_byte(), off);
            assert_eq!(Field::be64_at("q", off).first_byte(), off);
            if off % 2 == 0 {
                assert_eq!(Field::be16_at("h", off).first_byte(), off);
            }
        }
        // Bits 23:20 of the dword at 8 live in its second byte.
        assert_eq!(Field::new("nibble", 8, 20, 4).first_byte(), 9);
    }

    #[test]
    fn big_endian_bit_numbering_matches_the_prm() {
        // dw 0 = 0x12345678: bits 31:16 = 0x1234, bits 15:0 = 0x5678, bit 31 = 0.
        let buf = [0x12, 0x34, 0x56, 0x78];
        assert_eq!(Field::new("hi", 0, 16, 16).get(&buf), Ok(0x1234));
        assert_eq!(Field::new("lo", 0, 0, 16).get(&buf), Ok(0x5678));
        assert_eq!(Field::new("nib", 0, 28, 4).get(&buf), Ok(0x1));
        assert_eq!(Field::new("b0", 0, 0, 1).get(&buf), Ok(0));
        assert_eq!(Field::new("b3", 0, 3, 1).get(&buf), Ok(1));
        assert_eq!(Field::u8_at("byte1", 1).get(&buf), Ok(0x34));
        assert_eq!(Field::u8_at("byte3", 3).get(&buf), Ok(0x78));
        assert_eq!(Field::be16_at("w2", 2).get(&buf), Ok(0x5678));
    }

    #[test]
    fn set_keeps_neighbouring_bits_and_rejects_wide_values() {
        let mut buf = [0xFFu8; 8];
        let f = Field::new("f", 4, 8, 3);
        f.set(&mut buf, 0b010).unwrap();
        // Bits 15:8 of the dword at byte 4 are byte 6.
        assert_eq!(buf, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFA, 0xFF]);
        assert_eq!(f.get(&buf), Ok(2));
        assert_eq!(
            f.set(&mut buf, 8),
            Err(Error::Overflow {
                what: "f",
                value: 8,
                width: 3
            })
        );
        let q = Field::be64_at("addr", 0);
        q.set(&mut buf, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(&buf, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(q.get(&buf), Ok(0x0102_0304_0506_0708));
    }

    #[test]
    fn short_buffers_are_errors() {
        let buf = [0u8; 7];
        let f = Field::be32_at("x", 4);
        assert_eq!(
            f.get(&buf),
            Err(Error::Short {
                what: "x",
                offset: 4,
                need: 4,
                len: 7
            })
        );
        let mut b = [0u8; 3];
        assert!(Field::u8_at("y", 0).set(&mut b, 1).is_err());
        assert!(get_bytes::<4>("z", &buf, usize::MAX).is_err());
        assert!(put_bytes("z", &mut b, 2, &[1, 2]).is_err());
    }

    #[test]
    fn extract_and_insert_work_on_register_values() {
        let f = Field::new("nic_interface", 0x14, 8, 3);
        assert_eq!(f.extract(0xABCD_E756), 7);
        assert_eq!(f.insert(0xABCD_E000, 1), Ok(0xABCD_E100));
        assert!(f.insert(0, 8).is_err());
        assert!(Field::be64_at("q", 0).insert(0, 1).is_err());
    }
}
