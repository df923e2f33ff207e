//! The device alone: the same commands driven by a submitter so small that
//! nearly all the time is the device's, the "limit" the driver is measured
//! against.
//!
//! Every slot's entry (and its output mailbox chain) is written once; after
//! that a command costs the submitter one release store of the ownership byte
//! and one doorbell write, and a completion one acquire load of it (plus one
//! byte of the output header, checked). One thread, no slot allocation, no
//! tokens, no copies: the driver's extra work is everything the real queue
//! does beyond this. While nothing completes it spins for a few
//! microseconds and then yields between scans, so that on a machine with
//! fewer cores than threads it leaves the in-process device its CPU: the
//! limit is what the device can do, not what a spinning thread lets it do.
//!
//! [`DeviceAlone::run_threads`] runs the same submitter from several threads,
//! each on slots of its own: the driver's thread structure without the
//! driver (issue 17 part 4's diagnostic, not the limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{fence, DmaContext, DmaRegion, DmaView, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, INLINE_SIZE, OUT_INLINE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::commands::hca::FunctionIn;
use cxu_hal::ifc::iseg::{self, CmdqGeometry, NicInterface};
use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_ALIGN, BLOCK_SIZE};
use cxu_hal::ifc::{DeliveryStatus, Opcode};
use cxu_hal::{Mmio, PciFunction};

use super::alone_loop::{self, slots, Completions, Run, STALL};
use super::cpu;
use super::error::{self, BenchError};
use super::load::{self, Measured, Window, Workload};

/// Output blocks reserved per slot (QUERY_HCA_CAP needs 8).
const BLOCKS_PER_SLOT: usize = 8;
/// How long firmware may stay `initializing`.
const BOOT_WAIT: Duration = Duration::from_secs(10);

/// A function with a bare command queue and nothing else of the driver.
pub(crate) struct DeviceAlone {
    bar: Arc<dyn Mmio>,
    geometry: CmdqGeometry,
    page: DmaRegion,
    chains: DmaRegion,
    // Declared last: dropped after the regions it mapped.
    _dma: DmaContext,
}

fn raw(msg: impl Into<String>) -> BenchError {
    BenchError::Raw(msg.into())
}

fn wait_ready(bar: &dyn Mmio) -> Result<(), BenchError> {
    let start = Instant::now();
    while iseg::INITIALIZING.extract(bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
        if start.elapsed() > BOOT_WAIT {
            return Err(raw("firmware stayed in `initializing`"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

impl DeviceAlone {
    /// Enables bus mastering, programs a command queue and runs ENABLE_HCA.
    pub(crate) fn open(function: Arc<dyn PciFunction>) -> Result<DeviceAlone, BenchError> {
        function
            .set_bus_master(true)
            .map_err(error::hal("bus master"))?;
        let bar = function.bar(0).map_err(error::hal("BAR0"))?;
        wait_ready(bar.as_ref())?;
        let geometry = CmdqGeometry::from_addr_l_sz(bar.read32_be(iseg::CMDQ_ADDR_L.byte as u64))
            .map_err(|e| raw(format!("command queue geometry: {e}")))?;
        if geometry.entries() < 2 {
            return Err(raw("the device reports fewer than 2 command slots"));
        }
        let dma = DmaContext::new(function).map_err(error::dma("DMA context"))?;
        let page = dma
            .alloc(4096, PageSize::Base4K)
            .map_err(error::dma("command page"))?;
        let chain_bytes = geometry.max_reg_cmds() as usize * BLOCKS_PER_SLOT * BLOCK_ALIGN;
        let chains = dma
            .alloc(chain_bytes, PageSize::Base4K)
            .map_err(error::dma("output mailboxes"))?;
        let (high, low) = iseg::cmdq_addr_words(page.iova(), NicInterface::FullDriver)
            .map_err(|e| raw(format!("command queue address: {e}")))?;
        bar.write32_be(iseg::CMDQ_ADDR_H.byte as u64, high);
        bar.write32_be(iseg::CMDQ_ADDR_L.byte as u64, low);
        fence::wmb();
        wait_ready(bar.as_ref())?;
        let d = DeviceAlone {
            bar,
            geometry,
            page,
            chains,
            _dma: dma,
        };
        let enable = Workload {
            opcode: cxu_hal::ifc::Opcode::ENABLE_HCA,
            msg: FunctionIn::default().encode(true).to_vec(),
            outlen: 16,
        };
        d.write_entry(0, &enable)?;
        let view = d.page.view();
        d.ring(0, &view)?;
        let start = Instant::now();
        while !d.done(0, &view)? {
            if start.elapsed() > STALL {
                return Err(raw("ENABLE_HCA did not complete"));
            }
            std::thread::yield_now();
        }
        Ok(d)
    }

    /// Slots for regular commands.
    pub(crate) fn regular_slots(&self) -> u32 {
        self.geometry.max_reg_cmds()
    }

    fn entry_offset(&self, slot: u32) -> Result<usize, BenchError> {
        self.geometry
            .entry_offset(slot)
            .map_err(|e| raw(format!("slot {slot}: {e}")))
    }

    fn block_iova(&self, slot: u32, i: usize) -> Result<u64, BenchError> {
        let off = (slot as usize * BLOCKS_PER_SLOT + i) * BLOCK_ALIGN;
        self.chains.iova_at(off).map_err(error::dma("output block"))
    }

    /// Writes `w` into `slot` (the device does not own it yet): the entry
    /// without its ownership byte, and the output chain's control parts.
    pub(super) fn write_entry(&self, slot: u32, w: &Workload) -> Result<(), BenchError> {
        if w.msg.len() > INLINE_SIZE {
            return Err(raw(
                "input mailboxes are not supported by the device-alone submitter",
            ));
        }
        let n = mb::blocks_for_len(w.outlen);
        if n > BLOCKS_PER_SLOT {
            return Err(raw(format!("{} needs {n} output blocks", w.opcode)));
        }
        let token = slot as u8 + 1;
        let view = self.chains.view();
        let mut block = [0u8; BLOCK_SIZE];
        for i in 0..n {
            let next = if i + 1 < n {
                Some(self.block_iova(slot, i + 1)?)
            } else {
                None
            };
            BlockCtrl::chained(i, next, token)
                .encode_into(&mut block)
                .map_err(|e| raw(format!("mailbox block: {e}")))?;
            let off = (slot as usize * BLOCKS_PER_SLOT + i) * BLOCK_ALIGN;
            view.write_bytes(off, &block)
                .map_err(error::dma("output block"))?;
        }
        let mut inline = [0u8; INLINE_SIZE];
        inline[..w.msg.len()].copy_from_slice(&w.msg);
        let out_ptr = if n > 0 { self.block_iova(slot, 0)? } else { 0 };
        let entry = CmdEntry::new_request(
            inline,
            w.msg.len() as u32,
            0,
            w.outlen as u32,
            out_ptr,
            token,
        )
        .encode();
        self.page
            .view()
            .write_bytes(self.entry_offset(slot)?, &entry[..STATUS_OWN_OFFSET])
            .map_err(error::dma("command entry"))
    }

    /// Hands `slot` to the device and rings its doorbell bit.
    fn ring(&self, slot: u32, view: &DmaView<'_>) -> Result<(), BenchError> {
        let off = self.entry_offset(slot)?;
        view.store_u8_release(off + STATUS_OWN_OFFSET, ce::OWNER_HW)
            .map_err(error::dma("ownership byte"))?;
        fence::wmb();
        self.bar
            .write32_be(iseg::CMD_DBELL.byte as u64, 1u32 << slot);
        Ok(())
    }

    /// True once the device gave `slot` back, with a good delivery and
    /// command status (anything else is an error: the numbers would lie).
    fn done(&self, slot: u32, view: &DmaView<'_>) -> Result<bool, BenchError> {
        let off = self.entry_offset(slot)?;
        let own = view
            .load_u8_acquire(off + STATUS_OWN_OFFSET)
            .map_err(error::dma("ownership byte"))?;
        if ce::owner_is_hw(own) {
            return Ok(false);
        }
        let ds = ce::delivery_status(own);
        if ds != DeliveryStatus::OK {
            return Err(raw(format!("slot {slot}: delivery status {ds}")));
        }
        let status = view
            .read_u8(off + OUT_INLINE)
            .map_err(error::dma("output header"))?;
        if status != 0 {
            return Err(raw(format!("slot {slot}: command status {status:#04x}")));
        }
        Ok(true)
    }

    /// Keeps `depth` commands (at most the regular slots) in flight for the
    /// window and measures them like the driver's load.
    pub(crate) fn run(
        &self,
        w: &Workload,
        depth: u32,
        win: Window,
    ) -> Result<Measured, BenchError> {
        let depth = depth.clamp(1, self.regular_slots());
        for s in 0..depth {
            self.write_entry(s, w)?;
        }
        let mut polled = Polled {
            alone: self,
            view: self.page.view(),
        };
        // CPU over the whole run (warm-up and drain included) over every
        // command of it: reading the clocks at the window's edges would stall
        // the one submitting thread inside the window.
        let cpu0 = cpu::sample();
        let run = alone_loop::measure(&mut polled, slots(0, depth), None, win, w.opcode)?;
        Ok(Run::measured(vec![run], win, &cpu0))
    }

    /// The device alone with the driver's thread structure (issue 17 part
    /// 4's diagnostic): `threads` submitters, each keeping its own share of
    /// `depth` (at most the regular slots) in flight on slots no other
    /// thread touches, exactly as [`DeviceAlone::run`] does with all of
    /// them, counted together over one window.
    pub(crate) fn run_threads(
        &self,
        w: &Workload,
        threads: u32,
        depth: u32,
        win: Window,
    ) -> Result<Measured, BenchError> {
        let depth = depth.clamp(1, self.regular_slots());
        if threads == 0 || threads > depth {
            return Err(BenchError::Options(format!(
                "the device alone cannot keep {threads} threads busy on {depth} slots"
            )));
        }
        for s in 0..depth {
            self.write_entry(s, w)?;
        }
        // CPU over the whole run, as `run` counts it.
        let cpu0 = cpu::sample();
        let runs = self.submitters(&load::shares(depth, threads), win, w.opcode)?;
        Ok(Run::measured(runs, win, &cpu0))
    }

    /// One submitter per share, each on the next `share` slots from slot 0
    /// (their entries written), over one window opened when they start.
    pub(super) fn submitters(
        &self,
        shares: &[u32],
        win: Window,
        opcode: Opcode,
    ) -> Result<Vec<Run>, BenchError> {
        let start = Instant::now();
        let results: Vec<Result<Run, BenchError>> = std::thread::scope(|scope| {
            let mut first = 0;
            let handles: Vec<_> = shares
                .iter()
                .map(|&n| {
                    let mine = slots(first, n);
                    first += n;
                    scope.spawn(move || {
                        let mut polled = Polled {
                            alone: self,
                            view: self.page.view(),
                        };
                        alone_loop::measure(&mut polled, mine, Some(start), win, opcode)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(raw("a device-alone thread panicked")))
                })
                .collect()
        });
        results.into_iter().collect()
    }
}

/// The polled device alone's completions: every live slot's ownership byte.
struct Polled<'a> {
    alone: &'a DeviceAlone,
    view: DmaView<'a>,
}

impl Completions for Polled<'_> {
    fn ring(&self, slot: u32) -> Result<(), BenchError> {
        self.alone.ring(slot, &self.view)
    }

    fn look(&mut self, live: u64) -> Result<(u64, bool), BenchError> {
        Ok((live, false))
    }

    fn done(&self, slot: u32) -> Result<bool, BenchError> {
        self.alone.done(slot, &self.view)
    }
}
