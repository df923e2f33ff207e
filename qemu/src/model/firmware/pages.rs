//! Firmware pages: QUERY_PAGES and MANAGE_PAGES (give, take, can't-give).
//!
//! Firmware wants `boot_pages` after ENABLE_HCA, `boot + init` before INIT_HCA,
//! and `boot + init + regular` while initialized, where `regular` moves with
//! page requests (a test hook). Given pages are really held: the model writes a
//! pattern into each one (its IOVA in the first 8 bytes, then
//! [`PAGE_PATTERN`]), and gives the same IOVAs back on reclaim, newest first,
//! as many as asked (and as fit in the output) in any state: the kernel's probe
//! error path after INIT_HCA reclaims every page and disables the HCA without
//! TEARDOWN_HCA, and firmware gives them back.
#![forbid(unsafe_code)]

use std::collections::HashSet;

use cxu_hal::ifc::CmdStatus;

use super::{syndrome, Cmd, CmdError, CmdResult, Env, Firmware};
use crate::model::profile::Profile;
use cxu_hal::ifc::commands::pages as l;

/// Byte the model fills held pages with (after the 8-byte IOVA stamp).
pub const PAGE_PATTERN: u8 = 0xA5;
/// Adapter page size.
const PAGE_SIZE: usize = 4096;

/// QUERY_PAGES op_mod values.
const QUERY_BOOT: u16 = 1;
const QUERY_INIT: u16 = 2;
const QUERY_REGULAR: u16 = 3;
/// MANAGE_PAGES op_mod values.
const MANAGE_CANT_GIVE: u16 = 0;
const MANAGE_GIVE: u16 = 1;
const MANAGE_TAKE: u16 = 2;

/// The page accounting.
#[derive(Clone)]
pub struct Pages {
    boot: u64,
    init: u64,
    /// Extra pages asked for (positive) or offered back (negative) by page requests.
    regular: i64,
    held: Vec<u64>,
    set: HashSet<u64>,
    fill: Vec<u8>,
}

impl Pages {
    /// Accounting for a device with `p`.
    pub fn new(p: &Profile) -> Self {
        Pages {
            boot: u64::from(p.boot_pages),
            init: u64::from(p.init_pages),
            regular: 0,
            held: Vec::new(),
            set: HashSet::new(),
            fill: vec![PAGE_PATTERN; PAGE_SIZE],
        }
    }

    /// The power-on accounting (no pages).
    pub fn reset_clone(&self) -> Self {
        Pages {
            regular: 0,
            held: Vec::new(),
            set: HashSet::new(),
            ..self.clone()
        }
    }

    /// Pages held.
    pub fn held(&self) -> u64 {
        self.held.len() as u64
    }

    /// Held page IOVAs, oldest first.
    pub fn list(&self) -> Vec<u64> {
        self.held.clone()
    }

    /// Whether firmware has the boot and init pages INIT_HCA needs.
    pub fn init_satisfied(&self) -> bool {
        self.held() >= self.boot + self.init
    }

    /// INIT_HCA / TEARDOWN_HCA: after teardown firmware wants no regular pages.
    pub fn set_initialized(&mut self, on: bool) {
        if !on {
            self.regular = 0;
        }
    }

    /// Pages firmware wants to hold at this point.
    fn wanted(&self, stage: u16) -> i64 {
        let (b, i) = (self.boot as i64, self.init as i64);
        match stage {
            QUERY_BOOT => b,
            QUERY_INIT => b + i,
            _ => b + i + self.regular,
        }
    }

    /// A page request: firmware wants `n` more pages (or offers `-n` back).
    pub fn request(&mut self, n: i32) {
        self.regular += i64::from(n);
    }
}

impl Firmware {
    pub(super) fn query_pages(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if cmd.get(l::FUNCTION_ID) != 0 {
            return Err(CmdError::bad_param(syndrome::BAD_FUNCTION_ID));
        }
        let stage = cmd.op_mod;
        if !matches!(stage, QUERY_BOOT | QUERY_INIT | QUERY_REGULAR) {
            return Err(CmdError::bad_param(syndrome::BAD_OP_MOD));
        }
        let need = (self.pages.wanted(stage) - self.pages.held() as i64).max(0);
        let need = i32::try_from(need).unwrap_or(i32::MAX);
        let out = cmd.out_len(16);
        let _ = l::FUNCTION_ID.set(out, 0);
        let _ = l::QUERY_PAGES_NUM_PAGES.set(out, u64::from(need as u32));
        Ok(())
    }

    pub(super) fn manage_pages(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        if cmd.get(l::FUNCTION_ID) != 0 {
            return Err(CmdError::bad_param(syndrome::BAD_FUNCTION_ID));
        }
        let n = cmd.get(l::MANAGE_PAGES_INPUT_NUM_ENTRIES) as usize;
        match cmd.op_mod {
            MANAGE_CANT_GIVE => {
                tracing::info!(pages = n, "driver cannot give pages");
                cmd.out_len(16);
                Ok(())
            }
            MANAGE_GIVE => self.give_pages(env, cmd, n),
            MANAGE_TAKE => self.take_pages(env, cmd, n),
            _ => Err(CmdError::bad_param(syndrome::BAD_OP_MOD)),
        }
    }

    fn give_pages(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>, n: usize) -> CmdResult {
        let pas = l::PAS_OFFSET;
        let end = n.checked_mul(8).and_then(|b| b.checked_add(pas));
        if end.is_none_or(|e| e > cmd.input.len()) {
            return Err(CmdError {
                status: CmdStatus::BAD_INP_LEN_ERR,
                syndrome: syndrome::PAGES_NUM_ENTRIES,
            });
        }
        let addrs = cmd.input[pas..pas + 8 * n]
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        // Validate everything before touching memory or state.
        let mut seen = HashSet::with_capacity(n);
        for a in addrs.clone() {
            if a % PAGE_SIZE as u64 != 0 {
                return Err(CmdError::bad_param(syndrome::PAGE_NOT_ALIGNED));
            }
            if self.pages.set.contains(&a) || !seen.insert(a) {
                return Err(CmdError::bad_param(syndrome::PAGE_DUPLICATE));
            }
            if !env.iommu.is_mapped(a, PAGE_SIZE) {
                // Let the IOMMU see (and record) the access that would fault.
                let _ = env.iommu.write(a, &self.pages.fill);
                return Err(CmdError::bad_param(syndrome::PAGE_UNMAPPED));
            }
        }
        for a in addrs {
            self.pages.fill[..8].copy_from_slice(&a.to_be_bytes());
            if env.iommu.write(a, &self.pages.fill).is_err() {
                // Unmapped between the check and the write: keep what was taken so far.
                return Err(CmdError::bad_param(syndrome::PAGE_UNMAPPED));
            }
            self.pages.held.push(a);
            self.pages.set.insert(a);
            env.ctl.history.lock().pages_given += 1;
        }
        cmd.out_len(16);
        Ok(())
    }

    fn take_pages(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>, n: usize) -> CmdResult {
        let room = cmd.outlen.saturating_sub(l::PAS_OFFSET) / 8;
        let count = n.min(room).min(self.pages.held.len());
        let pas = l::PAS_OFFSET;
        let out = cmd.out_len(pas + 8 * count);
        for i in 0..count {
            // count <= held, so pop cannot fail.
            let Some(a) = self.pages.held.pop() else {
                break;
            };
            self.pages.set.remove(&a);
            out[pas + 8 * i..pas + 8 * i + 8].copy_from_slice(&a.to_be_bytes());
        }
        let _ = l::MANAGE_PAGES_OUTPUT_NUM_ENTRIES.set(out, count as u64);
        env.ctl.history.lock().pages_taken += count as u64;
        Ok(())
    }

    /// Test hook: firmware asks for `n` more pages (or offers `-n` back).
    pub fn page_request(&mut self, n: i32) {
        self.pages.request(n);
    }

    /// Test hook: firmware drops every page it holds (the "release all pages"
    /// page request: the driver frees them without a command). Returns how many.
    pub fn release_all_pages(&mut self) -> u64 {
        let n = self.pages.held();
        self.pages.held.clear();
        self.pages.set.clear();
        self.pages.regular = 0;
        n
    }
}
