//! Event queues and UARs: ALLOC_UAR, DEALLOC_UAR, CREATE_EQ, DESTROY_EQ, the EQ
//! doorbell, and posting EQEs.
//!
//! An EQ lives in host memory at its `pas` pages. Firmware writes EQE `pi` at
//! `(pi mod size) * 64` with owner bit `(pi >> log_size) & 1` (software
//! initialised every owner to 1, so the first pass writes 0), the payload first
//! and the owner byte last. If the EQ is armed, the EQE raises its MSI-X vector
//! and disarms it; writing the doorbell at UAR offset 0x40 moves the consumer
//! index and re-arms (firing at once if EQEs are already waiting), 0x48 only
//! moves the consumer index. An event goes to the lowest-numbered EQ whose
//! event bitmask has its type; a full EQ drops it (counted as an overrun).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use cxu_hal::ifc::eq::{self as eqc, EqState, EventMask};
use cxu_hal::ifc::eqe::{self, EventType};
use cxu_hal::ifc::CmdStatus;

use super::{syndrome, Cmd, CmdError, CmdResult, Env, Firmware};
use crate::model::layout::{BAR0_UAR_PAGES, FIRST_UAR_INDEX};
use cxu_hal::ifc::commands::eq as l;
use cxu_hal::ifc::commands::uar::UAR;

const PAGE_SIZE: u64 = 4096;

/// One event queue.
#[derive(Clone, Debug)]
struct Eq {
    log_size: u8,
    uar: u32,
    vector: u16,
    page_size: u64,
    pas: Vec<u64>,
    mask: EventMask,
    /// Producer index (EQEs written), free running.
    pi: u32,
    /// Consumer index as last written by the doorbell (24 bits, extended).
    ci: u32,
    armed: bool,
    always_armed: bool,
    overruns: u64,
}

/// What a test can see of an EQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqInfo {
    /// EQ number.
    pub eqn: u8,
    /// log2 of the entry count.
    pub log_size: u8,
    /// UAR page of its doorbell.
    pub uar: u32,
    /// MSI-X vector.
    pub vector: u16,
    /// EQEs written so far.
    pub producer_index: u32,
    /// Consumer index from the last doorbell.
    pub consumer_index: u32,
    /// Whether the next EQE raises the interrupt.
    pub armed: bool,
    /// EQEs dropped because the queue was full.
    pub overruns: u64,
}

/// The EQ table.
#[derive(Clone, Default)]
pub struct Eqs {
    eqs: BTreeMap<u8, Eq>,
}

impl Eqs {
    /// Destroys every EQ (teardown, reset).
    pub fn clear(&mut self) {
        self.eqs.clear();
    }

    /// Whether EQ `eqn` exists.
    pub fn contains(&self, eqn: u8) -> bool {
        self.eqs.contains_key(&eqn)
    }

    /// Posts an event to EQ `eqn` itself (completion events go to the EQ
    /// their CQ names, not by event mask). False if it was dropped.
    pub fn post_to(
        &mut self,
        env: &Env<'_>,
        eqn: u8,
        event_type: EventType,
        sub_type: u8,
        data: [u8; eqe::DATA_SIZE],
    ) -> bool {
        match self.eqs.get_mut(&eqn) {
            Some(eq) => eq.write(env, event_type, sub_type, data),
            None => {
                env.ctl.events_dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Snapshot for tests.
    pub fn info(&self) -> Vec<EqInfo> {
        self.eqs
            .iter()
            .map(|(&eqn, e)| EqInfo {
                eqn,
                log_size: e.log_size,
                uar: e.uar,
                vector: e.vector,
                producer_index: e.pi,
                consumer_index: e.ci,
                armed: e.armed,
                overruns: e.overruns,
            })
            .collect()
    }
}

impl Eq {
    fn size(&self) -> u32 {
        1 << self.log_size
    }

    fn entry_addr(&self, index: u32) -> Option<u64> {
        let off = u64::from(index & (self.size() - 1)) * eqe::EQE_SIZE as u64;
        let page = (off / self.page_size) as usize;
        self.pas.get(page)?.checked_add(off % self.page_size)
    }

    /// Writes an EQE (owner bit by wrap), firing the vector if armed.
    /// Returns false if it was dropped (queue full or the write faulted).
    fn write(
        &mut self,
        env: &Env<'_>,
        event_type: EventType,
        sub_type: u8,
        data: [u8; eqe::DATA_SIZE],
    ) -> bool {
        if self.pi.wrapping_sub(self.ci) >= self.size() {
            self.overruns += 1;
            env.ctl.events_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = %event_type, "EQ overrun: event dropped");
            return false;
        }
        let Some(addr) = self.entry_addr(self.pi) else {
            return false;
        };
        let mut e = eqe::Eqe::new(event_type, sub_type, data).encode();
        let owner = ((self.pi >> self.log_size) & 1) as u8;
        e[eqe::OWNER_OFFSET] = owner;
        let body = env.iommu.write(addr, &e[..eqe::OWNER_OFFSET]);
        if body.is_err()
            || env
                .iommu
                .write_u8_release(addr.wrapping_add(eqe::OWNER_OFFSET as u64), owner)
                .is_err()
        {
            env.ctl.events_dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.pi = self.pi.wrapping_add(1);
        env.ctl.eqes_posted.fetch_add(1, Ordering::Relaxed);
        if self.armed {
            self.fire(env);
        }
        true
    }

    fn fire(&mut self, env: &Env<'_>) {
        env.msix.raise(self.vector, env.iommu.bus_master());
        self.armed = self.always_armed;
    }
}

impl Firmware {
    pub(super) fn alloc_uar(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let limit = (FIRST_UAR_INDEX + env.profile.max_uars).min(BAR0_UAR_PAGES);
        let Some(idx) = (FIRST_UAR_INDEX..limit).find(|i| !self.uars.contains(i)) else {
            return Err(CmdError {
                status: CmdStatus::NO_RES_ERR,
                syndrome: syndrome::UAR_EXHAUSTED,
            });
        };
        self.uars.insert(idx);
        env.ctl.history.lock().uars_allocated.push(idx);
        let out = cmd.out_len(16);
        let _ = UAR.set(out, u64::from(idx));
        Ok(())
    }

    pub(super) fn dealloc_uar(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let idx = cmd.get(UAR) as u32;
        if !self.uars.contains(&idx) {
            return Err(CmdError::bad_param(syndrome::UAR_NOT_ALLOCATED));
        }
        if self.eqs.eqs.values().any(|e| e.uar == idx) || self.queues.uses_uar(idx) {
            return Err(CmdError {
                status: CmdStatus::RES_BUSY,
                syndrome: syndrome::UAR_IN_USE,
            });
        }
        self.uars.remove(&idx);
        env.ctl.history.lock().uars_freed += 1;
        cmd.out_len(16);
        Ok(())
    }

    pub(super) fn create_eq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let ctx_bytes = &cmd.input[l::EQ_CONTEXT_OFFSET..l::EQ_CONTEXT_OFFSET + eqc::EQC_SIZE];
        let ctx = eqc::EqContext::decode(ctx_bytes)
            .map_err(|_| CmdError::bad_param(syndrome::EQ_SIZE))?;
        let mask_bytes =
            &cmd.input[l::EVENT_BITMASK_OFFSET..l::EVENT_BITMASK_OFFSET + EventMask::SIZE];
        let mask = EventMask::decode(mask_bytes).unwrap_or_default();
        if self.eqs.eqs.len() >= 1usize << env.profile.log_max_eq.min(16) {
            return Err(CmdError {
                status: CmdStatus::LIM_ERR,
                syndrome: syndrome::EQ_LIMIT,
            });
        }
        if ctx.log_eq_size > env.profile.log_max_eq_sz {
            return Err(CmdError::bad_param(syndrome::EQ_SIZE));
        }
        if !self.uars.contains(&ctx.uar_page) {
            return Err(CmdError::bad_param(syndrome::UAR_NOT_ALLOCATED));
        }
        if ctx.intr >= env.msix.vectors() {
            return Err(CmdError::bad_param(syndrome::EQ_BAD_VECTOR));
        }
        let page_size = PAGE_SIZE << ctx.log_page_size.min(20);
        let bytes = (eqe::EQE_SIZE as u64) << ctx.log_eq_size;
        let npages = bytes.div_ceil(page_size) as usize;
        let pas_end = l::PAS_OFFSET + 8 * npages;
        if cmd.input.len() < pas_end {
            return Err(CmdError {
                status: CmdStatus::BAD_INP_LEN_ERR,
                syndrome: syndrome::EQ_PAS_MISSING,
            });
        }
        let pas: Vec<u64> = cmd.input[l::PAS_OFFSET..pas_end]
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        for &a in &pas {
            if a % PAGE_SIZE != 0 {
                return Err(CmdError::bad_param(syndrome::EQ_PAS_NOT_ALIGNED));
            }
            let len = page_size.min(bytes) as usize;
            if !env.iommu.is_mapped(a, len) {
                // Record the fault the first EQE write would have caused.
                let _ = env.iommu.write(a, &[0u8; eqe::EQE_SIZE]);
                return Err(CmdError::bad_param(syndrome::EQ_PAS_UNMAPPED));
            }
        }
        let Some(eqn) = (0..=u8::MAX).find(|n| !self.eqs.eqs.contains_key(n)) else {
            return Err(CmdError {
                status: CmdStatus::LIM_ERR,
                syndrome: syndrome::EQ_LIMIT,
            });
        };
        let st = EqState::from_raw(u32::from(ctx.st)).ok();
        env.ctl
            .history
            .lock()
            .eqs_created
            .push(crate::model::history::EqCreated {
                eqn,
                vector: ctx.intr,
                uar: ctx.uar_page,
                log_size: ctx.log_eq_size,
                events: mask.0,
            });
        self.eqs.eqs.insert(
            eqn,
            Eq {
                log_size: ctx.log_eq_size,
                uar: ctx.uar_page,
                vector: ctx.intr,
                page_size,
                pas,
                mask,
                pi: 0,
                ci: 0,
                armed: matches!(st, Some(EqState::Armed | EqState::AlwaysArmed)),
                always_armed: st == Some(EqState::AlwaysArmed),
                overruns: 0,
            },
        );
        let out = cmd.out_len(16);
        let _ = l::EQ_NUMBER.set(out, u64::from(eqn));
        Ok(())
    }

    pub(super) fn destroy_eq(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let eqn = cmd.get(l::EQ_NUMBER) as u8;
        if self.eqs.eqs.remove(&eqn).is_none() {
            return Err(CmdError {
                status: CmdStatus::BAD_RES_ERR,
                syndrome: syndrome::EQ_NOT_FOUND,
            });
        }
        env.ctl.history.lock().eqs_destroyed += 1;
        cmd.out_len(16);
        Ok(())
    }

    /// Whether an EQ takes `event_type` events.
    pub fn has_subscriber(&self, event_type: EventType) -> bool {
        self.eqs.eqs.values().any(|e| e.mask.contains(event_type))
    }

    /// Posts an event to the first EQ subscribed to `event_type`. Returns false
    /// if it was dropped (no subscriber, queue full, or the write faulted).
    pub fn post_event(
        &mut self,
        env: &Env<'_>,
        event_type: EventType,
        sub_type: u8,
        data: [u8; eqe::DATA_SIZE],
    ) -> bool {
        let Some(eq) = self
            .eqs
            .eqs
            .values_mut()
            .find(|e| e.mask.contains(event_type))
        else {
            env.ctl.events_dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        eq.write(env, event_type, sub_type, data)
    }

    /// A doorbell write at `offset` of UAR page `uar`.
    pub fn uar_write(&mut self, env: &Env<'_>, uar: u32, offset: u64, value: u32) {
        let arm = match offset as usize {
            eqc::EQ_DOORBELL_ARM => true,
            eqc::EQ_DOORBELL_NO_ARM => false,
            _ => return self.queue_doorbell(env, uar, offset, value),
        };
        let (eqn, ci24) = eqc::eq_doorbell_decode(value);
        let Some(eq) = self.eqs.eqs.get_mut(&eqn).filter(|e| e.uar == uar) else {
            tracing::debug!(uar, eqn, "EQ doorbell for an EQ not on this UAR ignored");
            return;
        };
        // Extend the 24-bit consumer counter against the producer index.
        let behind = eq.pi.wrapping_sub(ci24) & 0xFF_FFFF;
        eq.ci = eq.pi.wrapping_sub(behind);
        if arm {
            eq.armed = true;
            if eq.ci != eq.pi {
                eq.fire(env);
            }
        }
    }
}
