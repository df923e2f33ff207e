//! What CQs, SQs and RQs share: a buffer in host memory described by `pas`
//! pages, and a doorbell record. Firmware checks both when a queue is
//! created, as it would fault on them later: each page aligned to the
//! buffer's page size and mapped, the record 8-byte aligned and mapped.
#![forbid(unsafe_code)]

use cxu_hal::ifc::commands::wq as l;
use cxu_hal::ifc::{CmdStatus, Field};

use super::super::{CmdError, Env};
use super::syndrome;

/// 4 KiB: `log_page_size` / `log_wq_pg_sz` count from it.
const ADAPTER_PAGE: u64 = 4096;
/// Largest buffer page firmware takes (4 KiB << 20 = 4 GiB).
const MAX_LOG_PAGE: u64 = 20;

/// A queue buffer: `1 << log_size` entries of `1 << log_stride` bytes over
/// `pas` pages of `page_size` bytes.
#[derive(Clone, Debug)]
pub struct Buffer {
    pub log_size: u8,
    pub log_stride: u8,
    pub page_size: u64,
    pub pas: Vec<u64>,
}

impl Buffer {
    /// Entries in the buffer.
    pub fn entries(&self) -> u32 {
        1 << self.log_size
    }

    /// The address of entry `index` (taken modulo the size).
    pub fn entry_addr(&self, index: u32) -> Option<u64> {
        let off = u64::from(index & (self.entries() - 1)) << self.log_stride;
        let page = usize::try_from(off / self.page_size).ok()?;
        self.pas.get(page)?.checked_add(off % self.page_size)
    }
}

/// Reads a field of the input (the dispatcher checked the fixed size; a
/// field past it reads as 0).
pub fn get(input: &[u8], f: Field) -> u64 {
    f.get(input).unwrap_or(0)
}

/// Reads and checks a buffer's page list: `1 << (log_size + log_stride)`
/// bytes in pages of `4 KiB << log_page`, whose addresses start at `pas_at`.
pub fn buffer(
    env: &Env<'_>,
    input: &[u8],
    pas_at: usize,
    log_size: u8,
    log_stride: u8,
    log_page: u64,
) -> Result<Buffer, CmdError> {
    if log_page > MAX_LOG_PAGE {
        return Err(CmdError::bad_param(syndrome::BAD_PAGE_SIZE));
    }
    let page_size = ADAPTER_PAGE << log_page;
    let bytes = 1u64 << (u32::from(log_size) + u32::from(log_stride));
    let npages = usize::try_from(bytes.div_ceil(page_size)).unwrap_or(usize::MAX);
    let pas_end = npages
        .checked_mul(8)
        .and_then(|n| n.checked_add(pas_at))
        .unwrap_or(usize::MAX);
    if input.len() < pas_end {
        return Err(CmdError::new(
            CmdStatus::BAD_INP_LEN_ERR,
            syndrome::PAS_MISSING,
        ));
    }
    let pas: Vec<u64> = input[pas_at..pas_end]
        .chunks_exact(8)
        .map(|c| c.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
        .collect();
    let len = usize::try_from(page_size.min(bytes)).unwrap_or(usize::MAX);
    for &a in &pas {
        if a % page_size != 0 {
            return Err(CmdError::bad_param(syndrome::PAS_NOT_ALIGNED));
        }
        if !env.iommu.is_mapped(a, len) {
            return Err(CmdError::bad_param(syndrome::PAS_UNMAPPED));
        }
    }
    Ok(Buffer {
        log_size,
        log_stride,
        page_size,
        pas,
    })
}

/// Checks a doorbell record address (two big-endian dwords).
pub fn doorbell_record(env: &Env<'_>, addr: u64) -> Result<u64, CmdError> {
    if addr % 8 != 0 {
        return Err(CmdError::bad_param(syndrome::DBR_NOT_ALIGNED));
    }
    if !env.iommu.is_mapped(addr, 8) {
        return Err(CmdError::bad_param(syndrome::DBR_UNMAPPED));
    }
    Ok(addr)
}

/// Reads the big-endian dword at `addr` of host memory.
pub fn read_be32(env: &Env<'_>, addr: u64) -> Option<u32> {
    let mut b = [0u8; 4];
    env.iommu.read(addr, &mut b).ok()?;
    Some(u32::from_be_bytes(b))
}

/// The WQ context of an SQ or RQ, read at `wq_at` of the input, with its
/// buffer (`pas` at `pas_at`) and doorbell record checked.
#[derive(Clone, Debug)]
pub struct WqContext {
    pub wq_type: u32,
    pub pd: u32,
    pub uar: u32,
    pub dbr: u64,
    pub buf: Buffer,
}

/// Parses and checks a WQ context. `stride` is the range of `log_wq_stride`
/// the queue type allows.
pub fn wq_context(
    env: &Env<'_>,
    input: &[u8],
    wq_at: usize,
    pas_at: usize,
    stride: std::ops::RangeInclusive<u8>,
) -> Result<WqContext, CmdError> {
    let f = |field: Field| get(input, field.at(wq_at));
    let log_size = f(l::LOG_WQ_SZ) as u8;
    let log_stride = f(l::LOG_WQ_STRIDE) as u8;
    if log_size > super::limits::LOG_MAX_WQ_SZ || !stride.contains(&log_stride) {
        return Err(CmdError::bad_param(syndrome::WQ_SIZE));
    }
    if f(l::PAGE_OFFSET) != 0 {
        return Err(CmdError::bad_param(syndrome::BAD_PAGE_SIZE));
    }
    let buf = buffer(env, input, pas_at, log_size, log_stride, f(l::LOG_WQ_PG_SZ))?;
    let dbr = doorbell_record(env, f(l::DBR_ADDR))?;
    Ok(WqContext {
        wq_type: f(l::WQ_TYPE) as u32,
        pd: f(l::PD) as u32,
        uar: f(l::UAR_PAGE) as u32,
        dbr,
        buf,
    })
}

/// Checks a MODIFY_SQ / MODIFY_RQ state change: `cur` (the command's
/// current state) must be the queue's `actual` state, and `cur → next` a
/// transition firmware makes.
pub fn transition(actual: u32, cur: u32, next: u32) -> Result<(), CmdError> {
    use l::state::{ERR, RDY, RST};
    if cur != actual {
        return Err(CmdError::new(
            CmdStatus::BAD_RES_STATE_ERR,
            syndrome::WQ_STATE_MISMATCH,
        ));
    }
    let ok = matches!(
        (cur, next),
        (RST, RST) | (RST, RDY) | (RDY, RDY) | (RDY, ERR) | (RDY, RST) | (ERR, ERR) | (ERR, RST)
    );
    if !ok {
        return Err(CmdError::new(
            CmdStatus::BAD_RES_STATE_ERR,
            syndrome::WQ_BAD_TRANSITION,
        ));
    }
    Ok(())
}
