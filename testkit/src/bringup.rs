//! Bringing the HCA up the way a driver does, after ENABLE_HCA.

use cxu_hal::ifc::Opcode;

use crate::completion::Completion;
use crate::error::{Error, Result};
use crate::memory::DeviceMemory;
use crate::prepared::msg;
use crate::submitter::Submitter;

/// Firmware pages are 4 KiB whatever the host's page size.
const FW_PAGE: usize = 4096;

/// The input of MANAGE_PAGES GIVE of the `n` pages of `pages` from page `first`.
pub fn give_pages_msg(pages: &impl DeviceMemory, first: usize, n: usize) -> Result<Vec<u8>> {
    let have = pages.len() / FW_PAGE;
    let count = u32::try_from(n)
        .ok()
        .filter(|_| first + n <= have)
        .ok_or(Error::Pages {
            want: first + n,
            have,
        })?;
    let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 8 * n);
    m[0x0C..0x10].copy_from_slice(&count.to_be_bytes());
    for i in 0..n {
        let a = pages.iova_at((first + i) * FW_PAGE)?;
        m[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_be_bytes());
    }
    Ok(m)
}

impl<M: DeviceMemory> Submitter<M> {
    /// MANAGE_PAGES GIVE of the `n` pages of `pages` from page `first`, in the
    /// last slot (the kernel's page slot).
    pub fn give_pages(
        &self,
        pages: &impl DeviceMemory,
        first: usize,
        n: usize,
    ) -> Result<Completion> {
        let m = give_pages_msg(pages, first, n)?;
        self.exec_in(self.layout().slots - 1, &m, 16)
    }

    /// SET_ISSI 1, the boot and init pages (QUERY_PAGES, MANAGE_PAGES GIVE,
    /// from the start of `pages`), INIT_HCA; every command must succeed.
    /// Returns the number of pages given.
    pub fn init_hca(&self, pages: &impl DeviceMemory) -> Result<usize> {
        let mut set_issi = msg(Opcode::SET_ISSI, 0, 16);
        set_issi[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
        self.exec_in(0, &set_issi, 16)
            .and_then(|c| c.check().map(drop))
            .map_err(Error::during("SET_ISSI"))?;
        let mut given = 0usize;
        for stage in [1u16, 2] {
            let n = self
                .simple(Opcode::QUERY_PAGES, stage)
                .and_then(|q| q.check()?.be32_at(0x0C))
                .map_err(Error::during("QUERY_PAGES"))? as usize;
            self.give_pages(pages, given, n)
                .and_then(|c| c.check().map(drop))
                .map_err(Error::during("MANAGE_PAGES"))?;
            given += n;
        }
        self.simple(Opcode::INIT_HCA, 0)
            .and_then(|c| c.check().map(drop))
            .map_err(Error::during("INIT_HCA"))?;
        Ok(given)
    }
}
