//! The device alone in events mode: the limit the driver's events mode is
//! measured against (issue 17 part 3). The device does more per command when
//! completions come as events (an EQE written under the firmware's lock, an
//! MSI-X message when the EQ is armed), so the polled device alone
//! ([`super::alone`]) flatters it.
//!
//! A bare submitter, brought up with `cxu-testkit` (ENABLE_HCA, the boot and
//! init pages, INIT_HCA, ALLOC_UAR, MSI-X, CREATE_EQ subscribed to command
//! completions only), then driven as the polled one is (every slot's entry
//! written once; a command costs one ownership store and one doorbell write),
//! except that completions are *found through the EQ*: it consumes EQEs
//! (owner bit, then the slot vector), reports the consumer index every 128,
//! spins and then yields while none comes, and after [`IDLE_SLEEP`] without
//! one arms the EQ and sleeps on the vector's eventfd, as an interrupt-driven
//! driver does. One thread, no slot allocation, no tokens, no copies. The
//! loop itself is the polled one's ([`super::alone_loop`]).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cxu_dma::{fence, DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, OUT_INLINE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::commands::eq::{decode_create_eq_out, CreateEqIn};
use cxu_hal::ifc::commands::uar::{alloc_uar_in, decode_alloc_uar_out};
use cxu_hal::ifc::doorbell::{UAR_EQ_DOORBELL_ARM, UAR_EQ_DOORBELL_NO_ARM};
use cxu_hal::ifc::eq::{eq_doorbell_value, EqContext, EventMask};
use cxu_hal::ifc::eqe::{self, Eqe, EventType, EQE_SIZE, EQ_POLLING_BUDGET};
use cxu_hal::ifc::iseg::{self, CmdqGeometry};
use cxu_hal::ifc::{DeliveryStatus, Opcode};
use cxu_hal::{EventFd, Mmio, PciFunction};
use cxu_testkit::{DeviceMemory, Layout, Prepared, Submitter};

use super::alone_loop::{self, slots, Completions, Run};
use super::cpu;
use super::error::{self, BenchError};
use super::load::{Measured, Window, Workload};

/// Output blocks per chain (QUERY_HCA_CAP needs 8; the page list fits one).
const CHAIN_BLOCKS: usize = 8;
/// Pages for firmware's boot and init stages.
const FW_PAGES: usize = 256;
/// EQ entries asked for (the kernel's command EQ: 32, so 256 with the spares).
const EQ_NENT: u32 = 32;
/// How long it keeps looking without an EQE before it arms the EQ and sleeps
/// on the eventfd (the driver's waiters sleep after as long: `EVENT_IDLE`).
const IDLE_SLEEP: Duration = Duration::from_micros(50);
/// Longest sleep on the eventfd between looks (a safety net).
const SLEEP: Duration = Duration::from_millis(100);

fn raw(msg: impl Into<String>) -> BenchError {
    BenchError::Raw(msg.into())
}

fn kit(what: &'static str) -> impl FnOnce(cxu_testkit::Error) -> BenchError {
    move |e| raw(format!("{what}: {e}"))
}

/// A function brought up to an EQ and a bare command queue.
pub(crate) struct EventsAlone {
    sub: Submitter<DmaRegion>,
    bar: Arc<dyn Mmio>,
    geometry: CmdqGeometry,
    fd: Arc<EventFd>,
    eq: DmaRegion,
    log_size: u32,
    eqn: u8,
    doorbell: u64,
    /// The EQ's consumer index between runs.
    ci: AtomicU32,
    _pages: DmaRegion,
}

impl EventsAlone {
    pub(crate) fn open(function: Arc<dyn PciFunction>) -> Result<EventsAlone, BenchError> {
        function
            .set_bus_master(true)
            .map_err(error::hal("bus master"))?;
        let bar = function.bar(0).map_err(error::hal("BAR0"))?;
        let geometry = CmdqGeometry::from_addr_l_sz(bar.read32_be(iseg::CMDQ_ADDR_L.byte as u64))
            .map_err(|e| raw(format!("command queue geometry: {e}")))?;
        let dma = DmaContext::new(function.clone()).map_err(error::dma("DMA context"))?;
        let layout = Layout::new(geometry.entries(), CHAIN_BLOCKS).map_err(kit("layout"))?;
        let sub = Submitter::alloc(&dma, layout).map_err(kit("command queue"))?;
        let boot = Duration::from_secs(10);
        sub.wait_ready(boot).map_err(kit("boot"))?;
        sub.program_cmdq().map_err(kit("queue address"))?;
        sub.wait_ready(boot).map_err(kit("boot"))?;
        let ok = |what: &'static str, c: cxu_testkit::Result<cxu_testkit::Completion>| {
            c.and_then(|c| c.check().map(|c| c.out.clone()))
                .map_err(kit(what))
        };
        ok("ENABLE_HCA", sub.simple(Opcode::ENABLE_HCA, 0))?;
        let pages = dma
            .alloc(FW_PAGES * 4096, PageSize::Base4K)
            .map_err(error::dma("firmware pages"))?;
        sub.init_hca(&pages).map_err(kit("bring-up"))?;
        let out = ok("ALLOC_UAR", sub.exec_in(0, &alloc_uar_in(), 16))?;
        let uar = decode_alloc_uar_out(&out).map_err(|e| raw(format!("ALLOC_UAR: {e}")))?;
        let fd = function
            .enable_msix(1)
            .map_err(error::hal("MSI-X"))?
            .into_iter()
            .next()
            .ok_or_else(|| raw("no MSI-X eventfd"))?;
        let entries = eqe::eq_entries(EQ_NENT).map_err(|e| raw(format!("EQ size: {e}")))?;
        let bytes = entries as usize * EQE_SIZE;
        let eq = dma
            .alloc(bytes, PageSize::Base4K)
            .map_err(error::dma("EQ ring"))?;
        for i in 0..entries as usize {
            eq.view()
                .write_u8(i * EQE_SIZE + eqe::OWNER_OFFSET, eqe::SW_OWNER_INIT)
                .map_err(error::dma("EQ ring"))?;
        }
        let mut pas = Vec::new();
        for p in 0..bytes.div_ceil(4096) {
            pas.push(eq.iova_at(p * 4096).map_err(error::dma("EQ ring"))?);
        }
        let log_size = entries.trailing_zeros();
        let ctx = EqContext {
            log_eq_size: log_size as u8,
            uar_page: uar,
            intr: 0,
            ..EqContext::default()
        };
        let msg = CreateEqIn {
            ctx,
            events: EventMask::of(&[EventType::CMD]),
            pas,
        }
        .encode()
        .map_err(|e| raw(format!("CREATE_EQ: {e}")))?;
        let out = ok("CREATE_EQ", sub.exec_in(0, &msg, 16))?;
        let eqn = decode_create_eq_out(&out).map_err(|e| raw(format!("CREATE_EQ: {e}")))?;
        let a = EventsAlone {
            sub,
            bar,
            geometry,
            fd,
            eq,
            log_size,
            eqn,
            doorbell: u64::from(uar) * 4096,
            ci: AtomicU32::new(0),
            _pages: pages,
        };
        a.eq_doorbell(0, true);
        Ok(a)
    }

    /// Slots for regular commands.
    pub(crate) fn regular_slots(&self) -> u32 {
        self.geometry.max_reg_cmds()
    }

    fn eq_doorbell(&self, ci: u32, arm: bool) {
        let off = if arm {
            UAR_EQ_DOORBELL_ARM
        } else {
            UAR_EQ_DOORBELL_NO_ARM
        };
        self.bar
            .write32_be(self.doorbell + off as u64, eq_doorbell_value(self.eqn, ci));
    }

    /// The next EQE's slot vector if software owns it (`ci` moves on), 0
    /// for an EQE of another type.
    fn next_eqe(&self, ci: &mut u32) -> Result<Option<u32>, BenchError> {
        let off = eqe::eqe_index(*ci, self.log_size) as usize * EQE_SIZE;
        let view = self.eq.view();
        let owner = view
            .load_u8_acquire(off + eqe::OWNER_OFFSET)
            .map_err(error::dma("EQE owner"))?;
        if !eqe::is_sw_owned(owner, *ci, self.log_size) {
            return Ok(None);
        }
        let mut buf = [0u8; EQE_SIZE];
        view.read_bytes(off, &mut buf).map_err(error::dma("EQE"))?;
        *ci = ci.wrapping_add(1);
        if *ci % EQ_POLLING_BUDGET == 0 {
            self.eq_doorbell(*ci, false);
        }
        let e = Eqe::decode(&buf).map_err(|e| raw(format!("EQE: {e}")))?;
        Ok(Some(if e.event_type == EventType::CMD {
            e.cmd_vector()
        } else {
            0
        }))
    }

    fn own_offset(&self, slot: u32) -> Result<usize, BenchError> {
        self.geometry
            .entry_offset(slot)
            .map(|o| o + STATUS_OWN_OFFSET)
            .map_err(|e| raw(format!("slot {slot}: {e}")))
    }

    fn ring(&self, slot: u32) -> Result<(), BenchError> {
        self.sub
            .cmdq()
            .store_u8_release(self.own_offset(slot)?, ce::OWNER_HW)
            .map_err(kit("ownership byte"))?;
        fence::wmb();
        self.bar
            .write32_be(iseg::CMD_DBELL.byte as u64, 1u32 << slot);
        Ok(())
    }

    fn check(&self, slot: u32) -> Result<(), BenchError> {
        let own_off = self.own_offset(slot)?;
        let own = self
            .sub
            .cmdq()
            .load_u8_acquire(own_off)
            .map_err(kit("ownership byte"))?;
        if ce::owner_is_hw(own) {
            return Err(raw(format!(
                "slot {slot}: an EQE before the entry came back"
            )));
        }
        let ds = ce::delivery_status(own);
        if ds != DeliveryStatus::OK {
            return Err(raw(format!("slot {slot}: delivery status {ds}")));
        }
        let mut status = [0u8];
        self.sub
            .cmdq()
            .read_at(own_off - STATUS_OWN_OFFSET + OUT_INLINE, &mut status)
            .map_err(kit("output header"))?;
        if status[0] != 0 {
            return Err(raw(format!(
                "slot {slot}: command status {:#04x}",
                status[0]
            )));
        }
        Ok(())
    }

    /// Keeps `depth` commands (at most the regular slots) in flight for the
    /// window, completions found through the EQ.
    pub(crate) fn run(
        &self,
        w: &Workload,
        depth: u32,
        win: Window,
    ) -> Result<Measured, BenchError> {
        let depth = depth.clamp(1, self.geometry.max_reg_cmds());
        let prepared: Vec<Prepared> = (0..depth)
            .map(|s| self.sub.prepare(s, &w.msg, w.outlen))
            .collect::<Result<_, _>>()
            .map_err(kit("prepare"))?;
        // The entries and chains once, handed over by `ring` from here.
        for p in &prepared {
            self.sub.write(p).map_err(kit("entry"))?;
        }
        let mut eq = Eq {
            alone: self,
            ci: self.ci.load(Ordering::Relaxed),
        };
        let cpu0 = cpu::sample();
        let run = alone_loop::measure(&mut eq, slots(0, depth), None, win, w.opcode)?;
        // Where the next point starts; the EQ armed meanwhile.
        self.ci.store(eq.ci, Ordering::Relaxed);
        self.eq_doorbell(eq.ci, true);
        Ok(Run::measured(vec![run], win, &cpu0))
    }
}

/// The events-mode device alone's completions: the slot vector of the next
/// EQE (any EQE counts as the device being busy), from consumer index `ci`.
struct Eq<'a> {
    alone: &'a EventsAlone,
    ci: u32,
}

impl Completions for Eq<'_> {
    const SLEEP_AFTER: Duration = IDLE_SLEEP;

    fn ring(&self, slot: u32) -> Result<(), BenchError> {
        self.alone.ring(slot)
    }

    fn look(&mut self, live: u64) -> Result<(u64, bool), BenchError> {
        Ok(match self.alone.next_eqe(&mut self.ci)? {
            Some(vector) => (u64::from(vector) & live, true),
            None => (0, false),
        })
    }

    fn done(&self, slot: u32) -> Result<bool, BenchError> {
        self.alone.check(slot).map(|()| true)
    }

    /// Nothing for a while: arm, look once more, sleep on the vector.
    fn sleep(&mut self) -> Result<(), BenchError> {
        self.alone.eq_doorbell(self.ci, true);
        cxu_hal::os::wait_eventfd(&self.alone.fd, Some(SLEEP)).map_err(error::hal("EQ eventfd"))?;
        Ok(())
    }
}
