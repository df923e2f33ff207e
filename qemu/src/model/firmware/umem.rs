//! CREATE_UMEM and DESTROY_UMEM: memory a driver registers by its page list,
//! created with uid 0 (no user context), which `umem_uid_0` advertises. That
//! bit is what rdma-core's mlx5 over VFIO requires before it initializes the
//! HCA: with no kernel to own user contexts, every DEVX object it makes,
//! UMEMs included, has uid 0.
//!
//! Firmware checks what it will later DMA through: every page of the list
//! aligned to the UMEM's page size and mapped in the IOMMU (the model cannot
//! see access rights, so `rd_en`/`wr_en` only need one of them set), the list
//! as long as `num_of_mtt` says, the offset inside the first page. The model
//! has no objects that use a UMEM yet, so a UMEM is only kept and destroyed.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use cxu_hal::ifc::commands::umem as l;
use cxu_hal::ifc::CmdStatus;

use super::{syndrome, Cmd, CmdError, CmdResult, Env};

const ADAPTER_PAGE_SHIFT: u64 = 12;
/// UMEM ids are 24 bits.
const UMEM_ID_LIMIT: u32 = 1 << 24;
/// The most pages one UMEM may list (a 1 MiB command holds about 131k).
const MAX_MTT: u64 = 1 << 17;

/// A registered UMEM.
#[derive(Clone, Debug)]
struct Umem {
    /// Page size in bytes.
    page_size: u64,
    /// The page addresses.
    pages: Vec<u64>,
}

/// The UMEMs of a function.
#[derive(Clone, Default)]
pub struct Umems {
    live: BTreeMap<u32, Umem>,
    next: u32,
}

impl Umems {
    /// UMEMs that exist.
    pub fn count(&self) -> usize {
        self.live.len()
    }

    /// Pages registered across every UMEM.
    pub fn pages(&self) -> u64 {
        self.live.values().map(|u| u.pages.len() as u64).sum()
    }

    /// Teardown and reset: every UMEM is gone.
    pub fn clear(&mut self) {
        self.live.clear();
    }

    /// CREATE_UMEM.
    pub fn create(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        // The model has no user contexts (CREATE_UCTX): uid 0 only.
        if cmd.get(l::UID) != 0 {
            return Err(CmdError::bad_param(syndrome::UMEM_BAD_UID));
        }
        if cmd.get(l::UMEM_ATS) != 0 {
            return Err(CmdError::bad_param(syndrome::UMEM_BAD_PARAM));
        }
        let shift = ADAPTER_PAGE_SHIFT + cmd.get(l::UMEM_LOG_PAGE_SIZE);
        let page_size = 1u64 << shift;
        if cmd.get(l::UMEM_PAGE_OFFSET) >= page_size {
            return Err(CmdError::bad_param(syndrome::UMEM_BAD_PARAM));
        }
        let n = cmd.get(l::UMEM_NUM_OF_MTT);
        if n == 0 || n > MAX_MTT {
            return Err(CmdError::bad_param(syndrome::UMEM_BAD_PARAM));
        }
        let end = l::MTT_OFFSET + 8 * n as usize;
        let Some(list) = cmd.input.get(l::MTT_OFFSET..end) else {
            return Err(CmdError::new(
                CmdStatus::BAD_INP_LEN_ERR,
                syndrome::BAD_INPUT_LEN,
            ));
        };
        let mut pages = Vec::with_capacity(n as usize);
        for e in list.chunks_exact(8) {
            let mtt = u64::from_be_bytes(e.try_into().unwrap_or_default());
            let addr = mtt & l::MTT_PTAG_MASK;
            if mtt & (l::MTT_RD_EN | l::MTT_WR_EN) == 0 || addr & (page_size - 1) != 0 {
                return Err(CmdError::bad_param(syndrome::UMEM_BAD_PAGE));
            }
            // Checked page by page of 4 KiB: a large page may span mappings.
            let mapped = (0..page_size >> ADAPTER_PAGE_SHIFT).all(|i| {
                env.iommu
                    .is_mapped(addr + (i << ADAPTER_PAGE_SHIFT), 1 << ADAPTER_PAGE_SHIFT)
            });
            if !mapped {
                return Err(CmdError::bad_param(syndrome::UMEM_PAGE_UNMAPPED));
            }
            pages.push(addr);
        }
        let Some(id) = (0..UMEM_ID_LIMIT)
            .map(|i| (self.next.wrapping_add(i) % (UMEM_ID_LIMIT - 1)) + 1)
            .find(|id| !self.live.contains_key(id))
        else {
            return Err(CmdError::new(
                CmdStatus::NO_RES_ERR,
                syndrome::UMEM_EXHAUSTED,
            ));
        };
        self.next = id;
        self.live.insert(id, Umem { page_size, pages });
        tracing::debug!(id, page_size, "CREATE_UMEM");
        let out = cmd.out_len(16);
        let _ = l::UMEM_ID.set(out, u64::from(id));
        Ok(())
    }

    /// DESTROY_UMEM.
    pub fn destroy(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let id = cmd.get(l::UMEM_ID) as u32;
        if cmd.get(l::UID) != 0 {
            return Err(CmdError::bad_param(syndrome::UMEM_BAD_UID));
        }
        match self.live.remove(&id) {
            Some(u) => {
                tracing::debug!(
                    id,
                    pages = u.pages.len(),
                    page_size = u.page_size,
                    "DESTROY_UMEM"
                );
                cmd.out_len(16);
                Ok(())
            }
            None => Err(CmdError::new(
                CmdStatus::BAD_RES_ERR,
                syndrome::UMEM_NOT_FOUND,
            )),
        }
    }
}
