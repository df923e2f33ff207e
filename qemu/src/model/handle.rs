//! [`Control`], the test-control handle of a device.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cxu_hal::ifc::eqe::{self, EventType};
use cxu_hal::ifc::Opcode;

use super::control::{Counters, Fault};
use super::firmware::regs::{FlashState, PortState};
use super::firmware::{EqInfo, HcaState};
use super::iommu::IommuFault;
use super::msix::MsixCounters;
use super::{event_data, Inner};

/// The test-control handle: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Control {
    pub(super) inner: Arc<Inner>,
}

impl Control {
    /// Sets how long the current (and every later) boot keeps `initializing` set.
    pub fn set_boot_time(&self, t: Duration) {
        self.inner.iseg.lock().set_boot_time(t);
    }

    /// Sets the execution latency of `opcode` (zero = none).
    pub fn set_latency(&self, opcode: Opcode, latency: Duration) {
        self.inner.ctl.set_latency(opcode, latency);
    }

    /// Injects `fault` for the next `times` commands with `opcode` (any opcode
    /// if `None`; every one if `times` is `None`).
    pub fn inject(&self, opcode: Option<Opcode>, fault: Fault, times: Option<u32>) {
        self.inner.ctl.inject(opcode, fault, times);
    }

    /// Completions the device wrote for `opcode` (any delivery status),
    /// counted before the entry went back to software.
    pub fn completions(&self, opcode: Opcode) -> u64 {
        self.inner.ctl.completions(opcode)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.inner.ctl.clear_faults();
    }

    /// Firmware fatal error: the health syndrome is set, the health counter
    /// stops, and no command completes any more (those in flight included).
    pub fn fatal_error(&self, syndrome: u8) {
        self.inner.iseg.lock().set_fatal(syndrome);
    }

    /// Firmware hangs silently: the health counter stops (no syndrome) until
    /// the next function reset.
    pub fn stop_health_counter(&self) {
        self.inner.iseg.lock().stop_health_counter();
    }

    /// Surprise removal: MMIO and config reads return all ones, writes are
    /// dropped, DMA and interrupts stop.
    pub fn surprise_remove(&self) {
        self.inner.removed.store(true, Ordering::Release);
        self.inner.iommu.set_removed(true);
    }

    /// Firmware asks for `n` more pages (negative: offers `-n` back) with a
    /// PAGE_REQUEST event. Returns whether an EQ took the event.
    pub fn request_pages(&self, n: i32) -> bool {
        self.inner.fw.lock().page_request(n);
        let data = event_data(&[(eqe::PAGE_REQ_NUM_PAGES, u64::from(n as u32))]);
        self.inner.post_event(EventType::PAGE_REQUEST, 0, data)
    }

    /// Firmware gives up every page it holds and says so with a PAGE_REQUEST
    /// event with `release_all_pages` set (the `release_all_pages` capability):
    /// the driver frees them without a command. Returns whether an EQ took it.
    pub fn release_all_pages(&self) -> bool {
        let n = self.inner.fw.lock().release_all_pages();
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        let data = event_data(&[
            (eqe::PAGE_REQ_RELEASE_ALL, 1),
            (eqe::PAGE_REQ_NUM_PAGES, u64::from((-n) as u32)),
        ]);
        self.inner.post_event(EventType::PAGE_REQUEST, 0, data)
    }

    /// Posts a PAGE_REQUEST event with exactly these fields, without
    /// changing what firmware holds: a lying or confused device (a request
    /// for another function, a release-all it never did). Returns whether
    /// an EQ took it.
    pub fn page_request_event(
        &self,
        func_id: u16,
        ec_function: bool,
        release_all: bool,
        num_pages: i32,
    ) -> bool {
        let data = event_data(&[
            (eqe::PAGE_REQ_EC_FUNCTION, u64::from(ec_function)),
            (eqe::PAGE_REQ_RELEASE_ALL, u64::from(release_all)),
            (eqe::PAGE_REQ_FUNC_ID, u64::from(func_id)),
            (eqe::PAGE_REQ_NUM_PAGES, u64::from(num_pages as u32)),
        ]);
        self.inner.post_event(EventType::PAGE_REQUEST, 0, data)
    }

    /// Posts an event of any type with raw data to the first EQ subscribed
    /// to it (bogus EQEs: command completions for slots never posted, types
    /// the driver does not handle). Returns whether an EQ took it.
    pub fn raw_event(
        &self,
        event_type: EventType,
        sub_type: u8,
        data: [u8; eqe::DATA_SIZE],
    ) -> bool {
        self.inner.post_event(event_type, sub_type, data)
    }

    /// Sets the init segment's `cmd_exec_to` and `cmd_q_init_to` words
    /// (encoded as `ifc::iseg::encode_timeout`; 0 = not given).
    pub fn set_iseg_timeouts(&self, cmd_exec_to: u32, cmd_q_init_to: u32) {
        self.inner
            .iseg
            .lock()
            .set_timeouts(cmd_exec_to, cmd_q_init_to);
    }

    /// Posts a PORT_CHANGE event for `port` (1-based) with `sub_type`
    /// (`ifc::eqe::port_change::{DOWN, ACTIVE, ...}`). Returns whether an EQ took it.
    pub fn port_change_event(&self, port: u8, sub_type: u8) -> bool {
        let data = event_data(&[(eqe::PORT_CHANGE_PORT, u64::from(port & 0xF))]);
        self.inner
            .post_event(EventType::PORT_CHANGE, sub_type, data)
    }

    /// The link partner of `port` (1-based) comes or goes; with admin up the
    /// oper state follows and a PORT_CHANGE event is posted. False for a bad port.
    pub fn set_link(&self, port: u8, up: bool) -> bool {
        let env = self.inner.env();
        self.inner.fw.lock().set_link(&env, port, up)
    }

    /// Delivers `frame` (from the destination MAC on, no FCS) to `port`
    /// (1-based), as if it arrived on the wire: the model writes it into the
    /// next WQE of the RQ receive steering reaches and posts its CQE.
    pub fn rx(&self, port: u8, frame: &[u8]) -> crate::model::RxOutcome {
        let env = self.inner.env();
        self.inner.fw.lock().receive(&env, port, frame)
    }

    /// The last frames the send queues put on the wire, oldest first (at
    /// most [`crate::model::wire::TX_RING`]).
    pub fn tx_frames(&self) -> Vec<crate::model::TxFrame> {
        self.inner.ctl.wire.lock().recent()
    }

    /// Every frame transmitted from now on, on a bounded channel (frames
    /// it has no room for are counted in [`crate::model::WireCounters`]);
    /// replaces an earlier subscriber.
    pub fn subscribe_tx(&self) -> crossbeam::channel::Receiver<crate::model::TxFrame> {
        self.inner.ctl.wire.lock().subscribe()
    }

    /// The wire's traffic counters.
    pub fn wire_counters(&self) -> crate::model::WireCounters {
        self.inner.ctl.wire.lock().counters()
    }

    /// The NIC vport's traffic counter pair `index` (packets, octets), as
    /// QUERY_VPORT_COUNTER reports it (`ifc::commands::vport::traffic`).
    pub fn vport_counter(&self, index: usize) -> (u64, u64) {
        self.inner.fw.lock().vport_counter(index)
    }

    /// Adds `delta` to IEEE 802.3 counter `index` (see `ifc::regs::ppcnt::ieee_802_3`) of `port`.
    pub fn add_port_counter(&self, port: u8, index: usize, delta: u64) -> bool {
        self.inner.fw.lock().add_port_counter(port, index, delta)
    }

    /// Policer `pid` dropped `n` more packets (its QPCR `violate_count`).
    pub fn add_policer_drops(&self, pid: u16, n: u64) -> bool {
        self.inner.fw.lock().add_policer_drops(pid, n)
    }

    /// Port `port` (1-based): admin and oper state as PAOS reports them.
    pub fn port(&self, port: u8) -> Option<PortState> {
        self.inner.fw.lock().port_state(port)
    }

    /// Trap `id` as the driver configured it (HPKT).
    pub fn trap(&self, id: u16) -> Option<cxu_hal::ifc::regs::hpkt::Hpkt> {
        self.inner.fw.lock().trap(id)
    }

    /// Trap group `g` as the driver configured it (HTGT).
    pub fn trap_group(&self, g: u8) -> Option<cxu_hal::ifc::regs::htgt::Htgt> {
        self.inner.fw.lock().trap_group(g)
    }

    /// Policer `pid` as the driver configured it (QPCR), with its drop counter.
    pub fn policer(&self, pid: u16) -> Option<cxu_hal::ifc::regs::qpcr::Qpcr> {
        self.inner.fw.lock().policer(pid)
    }

    /// The firmware flash flow's state and versions.
    pub fn flash(&self) -> FlashState {
        self.inner.fw.lock().flash_state()
    }

    /// The HCA state.
    pub fn hca_state(&self) -> HcaState {
        self.inner.fw.lock().state()
    }

    /// The current ISSI.
    pub fn issi(&self) -> u16 {
        self.inner.fw.lock().issi()
    }

    /// IOVAs of the pages firmware holds, oldest first.
    pub fn pages(&self) -> Vec<u64> {
        self.inner.fw.lock().page_list()
    }

    /// The event queues.
    pub fn eqs(&self) -> Vec<EqInfo> {
        self.inner.fw.lock().eqs()
    }

    /// The function's NIC vport context (MAC, MTU, promiscuous bits, allowed lists).
    pub fn nic_vport(&self) -> crate::model::NicVportState {
        self.inner.fw.lock().nic_vport()
    }

    /// The live completion, send and receive queues.
    pub fn queues(&self) -> super::firmware::QueuesInfo {
        self.inner.fw.lock().queues()
    }

    /// The Ethernet objects that exist (PDs, TDs, mkeys, Q counters,
    /// TIS/TIR/RQT, flow tables).
    pub fn eth(&self) -> crate::model::EthInfo {
        self.inner.fw.lock().eth_info()
    }

    /// Allocated UAR indexes.
    pub fn uars(&self) -> Vec<u32> {
        self.inner.fw.lock().uars()
    }

    /// UMEMs that exist (CREATE_UMEM), and the pages they list.
    pub fn umems(&self) -> (usize, u64) {
        self.inner.fw.lock().umems()
    }

    /// The driver version string last set with SET_DRIVER_VERSION.
    pub fn driver_version(&self) -> Option<String> {
        self.inner.fw.lock().driver_version().map(str::to_owned)
    }

    /// Whether command checksums are on.
    pub fn checksum_enabled(&self) -> bool {
        self.inner.checksum.load(Ordering::Acquire)
    }

    /// The command queue address the driver programmed.
    pub fn cmdq_addr(&self) -> u64 {
        self.inner.iseg.lock().cmdq_addr()
    }

    /// The `nic_interface` mode last written.
    pub fn nic_interface(&self) -> u8 {
        self.inner.iseg.lock().nic_interface()
    }

    /// Bit mask of the slots fetched and not completed (bit `i` = slot `i`;
    /// `count_ones()` for how many).
    pub fn busy_slots(&self) -> u32 {
        self.inner.engine.busy_slots()
    }

    /// The most recent IOMMU faults.
    pub fn iommu_faults(&self) -> Vec<IommuFault> {
        self.inner.iommu.recent_faults()
    }

    /// MSI-X delivery counters.
    pub fn msix_counters(&self) -> MsixCounters {
        self.inner.msix.counters()
    }

    /// The device's history since it was created (commands, pages, EQs, UARs).
    pub fn history(&self) -> super::history::History {
        self.inner.ctl.history.lock().clone()
    }

    /// All counters.
    pub fn counters(&self) -> Counters {
        let c = &self.inner.ctl;
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counters {
            doorbells: r(&c.doorbells),
            doorbell_bits_ignored: r(&c.doorbell_bits_ignored),
            commands_executed: r(&c.commands_executed),
            delivery_errors: r(&c.delivery_errors),
            commands_lost: r(&c.commands_lost),
            eqes_posted: r(&c.eqes_posted),
            events_dropped: r(&c.events_dropped),
            iommu_faults: self.inner.iommu.fault_count(),
            interrupts: self.inner.msix.counters().delivered,
            pages_held: self.inner.fw.lock().pages_held(),
        }
    }
}
