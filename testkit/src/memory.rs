//! The memory the device reaches by DMA, as the submitter writes and reads it.

use cxu_dma::DmaRegion;

use crate::error::{Error, Result};

/// Device-reachable memory mapped at one contiguous IOVA range.
///
/// Every access is volatile (the device may write at any time); the ownership
/// byte of an entry goes through the acquire and release accessors, as the
/// handoff rules of `cxu_dma::view` say.
pub trait DeviceMemory {
    /// The IOVA of the first byte.
    fn iova(&self) -> u64;
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Writes `data` at `offset`.
    fn write_at(&self, offset: usize, data: &[u8]) -> Result<()>;
    /// Reads `buf.len()` bytes at `offset`.
    fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()>;
    /// Reads the byte at `offset`; later reads stay after it.
    fn load_u8_acquire(&self, offset: usize) -> Result<u8>;
    /// Writes the byte at `offset`; earlier writes stay before it.
    fn store_u8_release(&self, offset: usize, value: u8) -> Result<()>;

    /// True for memory of zero bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The IOVA of the byte at `offset` (`len()` allowed, as an end).
    fn iova_at(&self, offset: usize) -> Result<u64> {
        if offset > self.len() {
            return Err(Error::OutOfBounds {
                offset,
                len: 0,
                size: self.len(),
            });
        }
        Ok(self.iova() + offset as u64)
    }

    /// The offset of the `len` bytes at `iova`, if they lie inside.
    fn offset_of(&self, iova: u64, len: usize) -> Option<usize> {
        let offset = usize::try_from(iova.checked_sub(self.iova())?).ok()?;
        (offset.checked_add(len)? <= self.len()).then_some(offset)
    }
}

impl DeviceMemory for DmaRegion {
    fn iova(&self) -> u64 {
        DmaRegion::iova(self)
    }

    fn len(&self) -> usize {
        DmaRegion::len(self)
    }

    fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.view()
            .write_bytes(offset, data)
            .map_err(Error::dma("DMA write"))
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.view()
            .read_bytes(offset, buf)
            .map_err(Error::dma("DMA read"))
    }

    fn load_u8_acquire(&self, offset: usize) -> Result<u8> {
        self.view()
            .load_u8_acquire(offset)
            .map_err(Error::dma("ownership byte read"))
    }

    fn store_u8_release(&self, offset: usize, value: u8) -> Result<()> {
        self.view()
            .store_u8_release(offset, value)
            .map_err(Error::dma("ownership byte write"))
    }
}
