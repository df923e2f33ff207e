//! The device model: one ConnectX-5-style PCI function with its firmware.
//!
//! [`Device`] is what a backend drives: config space, BAR0 accesses, DMA
//! mappings (through [`Iommu`]), interrupt lines (through [`Msix`]) and reset.
//! [`Control`] is what a test drives: timing, faults, firmware events and
//! inspection. Nothing here knows which backend is in use.
#![forbid(unsafe_code)]

pub mod access;
mod cmdif;
mod config_space;
mod control;
mod engine;
pub mod firmware;
mod handle;
pub mod history;
mod init_seg;
pub mod iommu;
pub mod layout;
pub mod msix;
mod profile;
mod vpd;
pub mod wire;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use cxu_hal::ifc::eqe::{self, EventType};
use cxu_hal::ifc::iseg::NicInterface;
use parking_lot::{Mutex, RwLock};

use config_space::{ConfigEffects, ConfigSpace};
use engine::Engine;
use firmware::{Env, Firmware};
use init_seg::{InitSeg, IsegWrite};
use layout::*;

pub use control::{Counters, Fault, STRAY_IOVA};
pub use firmware::regs::{
    FlashState, FwFeatures, PortState, FLASH_IMAGE_CAPS_TAG, FLASH_IMAGE_MAGIC,
};
pub use firmware::{
    syndrome, CqInfo, EqInfo, EthInfo, FlowInfo, HcaState, NicVportState, QueuesInfo, WqInfo,
};
pub use handle::Control;
pub use iommu::{DmaError, Iommu, IommuFault, MapError};
pub use msix::{InterruptLine, Msix, MsixCounters, TableMode};
pub use profile::Profile;
pub use wire::{RxOutcome, TxFrame, WireCounters};

/// State shared by the backend's accesses, the firmware workers and the test
/// control handle.
pub(crate) struct Inner {
    profile: Profile,
    config: Mutex<ConfigSpace>,
    iseg: Mutex<InitSeg>,
    msix: Msix,
    iommu: Iommu,
    engine: Engine,
    fw: Mutex<Firmware>,
    ctl: control::ControlState,
    checksum: AtomicBool,
    removed: AtomicBool,
    /// Reset generation. Completions hold it shared while they write, reset
    /// takes it exclusively, so nothing of an old generation lands after a reset.
    generation: RwLock<u64>,
    generation_hint: AtomicU64,
}

/// The device. Dropping it stops its firmware threads.
pub struct Device {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    workers: usize,
}

impl Device {
    /// A powered-on device with `profile`; `mode` says who owns the MSI-X table.
    pub fn new(profile: Profile, mode: TableMode) -> Self {
        let inner = Arc::new(Inner {
            config: Mutex::new(ConfigSpace::new(&profile)),
            iseg: Mutex::new(InitSeg::new(&profile)),
            msix: Msix::new(profile.msix_vectors, mode),
            iommu: Iommu::new(),
            engine: Engine::default(),
            fw: Mutex::new(Firmware::new(&profile)),
            ctl: Default::default(),
            checksum: AtomicBool::new(profile.cmdif_checksum),
            removed: AtomicBool::new(false),
            generation: RwLock::new(0),
            generation_hint: AtomicU64::new(0),
            profile,
        });
        let workers = inner.profile.workers.max(1);
        let mut threads = Vec::with_capacity(workers + 1);
        for i in 0..workers {
            let inner = inner.clone();
            let rx = inner.engine.receiver();
            let t = std::thread::Builder::new()
                .name(format!("cxu-fw-{i}"))
                .spawn(move || inner.worker(rx));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => tracing::error!(error = %e, "cannot start a firmware worker"),
            }
        }
        let timer_inner = inner.clone();
        match std::thread::Builder::new()
            .name("cxu-fw-timer".into())
            .spawn(move || timer_inner.timer())
        {
            Ok(t) => threads.push(t),
            Err(e) => tracing::error!(error = %e, "cannot start the firmware timer"),
        }
        Device {
            inner,
            threads,
            workers,
        }
    }

    /// The device profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// The test-control handle.
    pub fn control(&self) -> Control {
        Control {
            inner: self.inner.clone(),
        }
    }

    /// The IOMMU: backends add and remove mappings here.
    pub fn iommu(&self) -> &Iommu {
        &self.inner.iommu
    }

    /// MSI-X: backends install interrupt lines here.
    pub fn msix(&self) -> &Msix {
        &self.inner.msix
    }

    /// Size of config space.
    pub fn config_size(&self) -> usize {
        CONFIG_SIZE
    }

    /// Reads config space. Returns false (and all ones) out of range; a removed
    /// device reads all ones.
    pub fn config_read(&self, offset: usize, data: &mut [u8]) -> bool {
        if self.inner.removed.load(Ordering::Acquire) {
            data.fill(0xFF);
            return true;
        }
        let ok = self.inner.config.lock().read(offset, data);
        if !ok {
            data.fill(0xFF);
        }
        ok
    }

    /// Writes config space (read-only bits keep their value). Returns false out of range.
    pub fn config_write(&self, offset: usize, data: &[u8]) -> bool {
        if self.inner.removed.load(Ordering::Acquire) {
            return true;
        }
        let fx = self.inner.config.lock().write(offset, data);
        match fx {
            Some(fx) => {
                self.apply(fx);
                if fx.flr {
                    self.reset();
                }
                true
            }
            None => false,
        }
    }

    fn apply(&self, fx: ConfigEffects) {
        self.inner.iommu.set_bus_master(fx.bus_master);
        self.inner
            .msix
            .set_control(fx.msix_enable, fx.msix_mask_all);
    }

    /// Sets MSI-X enable in the capability, as VFIO's MSI-X ioctl does.
    pub fn set_msix_enable(&self, on: bool) {
        let fx = self.inner.config.lock().set_msix_enable(on);
        self.apply(fx);
    }

    /// BAR0 size.
    pub fn bar0_size(&self) -> u64 {
        BAR0_SIZE
    }

    /// Reads BAR0 bytes (1, 2, 4 or 8, naturally aligned; anything else reads
    /// all ones). A removed device reads all ones.
    pub fn bar0_read(&self, offset: u64, data: &mut [u8]) {
        self.inner.bar0_read(offset, data)
    }

    /// Writes BAR0 bytes (1, 2, 4 or 8, naturally aligned).
    pub fn bar0_write(&self, offset: u64, data: &[u8]) {
        self.inner.bar0_write(offset, data)
    }

    /// Function-level reset: firmware reboots (the `initializing` bit is set
    /// again for the boot time), commands in flight are dropped without a
    /// completion, EQs, UARs and pages are forgotten, MSI-X is disabled. Config
    /// space (bus master) and DMA mappings survive, as with VFIO's reset.
    pub fn reset(&self) {
        self.inner.reset();
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.inner.engine.stop(self.workers);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Inner {
    fn env(&self) -> Env<'_> {
        Env {
            iommu: &self.iommu,
            msix: &self.msix,
            ctl: &self.ctl,
            profile: &self.profile,
            checksum: &self.checksum,
        }
    }

    fn reset(&self) {
        let mut generation = self.generation.write();
        *generation += 1;
        self.generation_hint.store(*generation, Ordering::Release);
        self.engine.reset();
        self.iseg.lock().reset();
        {
            let mut fw = self.fw.lock();
            *fw = fw.after_reset(&self.profile);
        }
        self.checksum
            .store(self.profile.cmdif_checksum, Ordering::Release);
        self.msix.reset();
        let fx = self.config.lock().set_msix_enable(false);
        self.iommu.set_bus_master(fx.bus_master);
        tracing::info!(generation = *generation, "function reset");
    }

    fn bar0_read(&self, offset: u64, data: &mut [u8]) {
        let len = data.len() as u64;
        if self.removed.load(Ordering::Acquire)
            || !cxu_hal::mmio::check_access(offset, len, BAR0_SIZE)
            || len > 8
        {
            data.fill(0xFF);
            return;
        }
        // Assemble the big-endian register bytes dword by dword.
        let first = offset & !3;
        let mut bytes = [0u8; 12];
        let dwords = (offset + len - first).div_ceil(4);
        for i in 0..dwords {
            let v = self.read_dword(first + 4 * i);
            bytes[4 * i as usize..4 * i as usize + 4].copy_from_slice(&v);
        }
        let skip = (offset - first) as usize;
        data.copy_from_slice(&bytes[skip..skip + data.len()]);
    }

    /// The 4 bytes at `offset` as they appear on the bus.
    fn read_dword(&self, offset: u64) -> [u8; 4] {
        match offset {
            o if o < ISEG_END => self.iseg.lock().read_dword(o).to_be_bytes(),
            o if (MSIX_TABLE_OFFSET..MSIX_PBA_OFFSET).contains(&o)
                && self.msix.mode() == TableMode::Emulated =>
            {
                self.msix.table_read(o - MSIX_TABLE_OFFSET).to_le_bytes()
            }
            o if (MSIX_PBA_OFFSET..u64::from(FIRST_UAR_INDEX) * UAR_PAGE_SIZE).contains(&o)
                && self.msix.mode() == TableMode::Emulated =>
            {
                self.msix.pba_read(o - MSIX_PBA_OFFSET).to_le_bytes()
            }
            _ => [0; 4],
        }
    }

    fn bar0_write(&self, offset: u64, data: &[u8]) {
        let len = data.len() as u64;
        if self.removed.load(Ordering::Acquire) {
            return;
        }
        if !cxu_hal::mmio::check_access(offset, len, BAR0_SIZE) || len > 8 {
            tracing::warn!(offset, len, "bad BAR0 write dropped");
            return;
        }
        if len == 8 {
            // A 64-bit write is two dword writes, low address first.
            self.bar0_write(offset, &data[..4]);
            self.bar0_write(offset + 4, &data[4..]);
            return;
        }
        let dword = offset & !3;
        let mut bytes = self.read_dword(dword);
        let skip = (offset - dword) as usize;
        bytes[skip..skip + data.len()].copy_from_slice(data);
        match dword {
            o if o < ISEG_END => {
                let value = u32::from_be_bytes(bytes);
                let what = self.iseg.lock().write_dword(o, value);
                match what {
                    IsegWrite::Doorbell(bits) => self.doorbell(bits),
                    IsegWrite::SwReset => {
                        self.reset();
                        self.iseg.lock().set_nic_interface(NicInterface::Disabled);
                    }
                    IsegWrite::NicDisabled => {
                        self.fw.lock().nic_interface_disabled();
                    }
                    IsegWrite::None => {}
                }
            }
            o if (MSIX_TABLE_OFFSET..MSIX_PBA_OFFSET).contains(&o)
                && self.msix.mode() == TableMode::Emulated =>
            {
                self.msix
                    .table_write(o - MSIX_TABLE_OFFSET, u32::from_le_bytes(bytes));
            }
            o if o >= u64::from(FIRST_UAR_INDEX) * UAR_PAGE_SIZE => {
                let uar = (o / UAR_PAGE_SIZE) as u32;
                let value = u32::from_be_bytes(bytes);
                self.fw
                    .lock()
                    .uar_write(&self.env(), uar, o % UAR_PAGE_SIZE, value);
            }
            _ => {}
        }
    }

    /// The command doorbell: each set bit is a slot to fetch.
    fn doorbell(&self, bits: u32) {
        if bits == 0 {
            return;
        }
        self.ctl.doorbells.fetch_add(1, Ordering::Relaxed);
        let (ready, entries) = {
            let s = self.iseg.lock();
            let ready = !s.initializing() && !s.is_fatal() && s.cmdq_addr() != 0;
            // A profile may report a geometry the driver must refuse; never overflow here.
            (
                ready,
                1u32.checked_shl(u32::from(s.cmdq_geometry().0))
                    .unwrap_or(u32::MAX),
            )
        };
        let generation = self.generation_hint.load(Ordering::Acquire);
        for slot in 0..32 {
            if bits & (1 << slot) == 0 {
                continue;
            }
            if !ready || slot >= entries {
                self.ctl
                    .doorbell_bits_ignored
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.engine.ring(slot, generation);
        }
    }

    fn post_event(&self, t: EventType, sub_type: u8, data: [u8; eqe::DATA_SIZE]) -> bool {
        if self.removed.load(Ordering::Acquire) || self.iseg.lock().is_fatal() {
            return false;
        }
        self.fw.lock().post_event(&self.env(), t, sub_type, data)
    }

    fn release(&self, slot: u32, generation: u64) {
        if *self.generation.read() == generation {
            self.engine.release(slot, generation);
        }
    }
}

/// The 28 data bytes of an EQE with `fields` (ifc EQE fields, whose offsets
/// count from the start of the EQE) set; values are cut to the field width.
pub(crate) fn event_data(fields: &[(cxu_hal::ifc::Field, u64)]) -> [u8; eqe::DATA_SIZE] {
    let mut e = [0u8; eqe::EQE_SIZE];
    for (f, v) in fields {
        // Every EQE field lies inside the 64-byte EQE and the value is masked.
        let _ = f.set(&mut e, *v & f.max());
    }
    let mut data = [0u8; eqe::DATA_SIZE];
    data.copy_from_slice(&e[eqe::DATA_OFFSET..eqe::DATA_OFFSET + eqe::DATA_SIZE]);
    data
}
