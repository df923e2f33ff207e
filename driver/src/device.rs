//! A probed device: everything bring-up built, behind a registration gate
//! (DESIGN.md "Lifetimes").
//!
//! The gate ([`Gate`]) is a fair read-write lock around the running state.
//! Every user entry point holds its shared side for the length of the call,
//! so long firmware commands run in parallel. [`Device::remove`] first makes
//! user commands in flight fail with [`Error::DeviceRemoved`], then takes the
//! exclusive side (waiting for those inside to leave; later callers queue
//! behind it, so a stream of callers cannot starve removal or recovery),
//! tears everything down in reverse order and leaves `None`: later calls get
//! "device removed". The `Device` itself (an `Arc`) stays valid until dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cxu_dma::{DmaContext, DmaStats};
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::Opcode;
use cxu_hal::{Mmio, PciFunction};
use tracing::{info, warn};

use crate::caps::{Caps, Features, PortType};
use crate::cmd::{Mode, OpStats, Queue, QueueConfig, SlotsSnapshot};
use crate::eq::{EqCounters, EventQueue, PortEvents};
use crate::error::{Error, Result};
use crate::health::{HealthPoller, HealthReport, HealthState};
use crate::pages::{PageStats, PageWorker, Pages};
use crate::rpc::gate::Gate;

/// Settings of the driver. Defaults are the kernel's (reference §4.5, §8).
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Command queue settings (timeout, slot wait, mailbox pool).
    pub queue: QueueConfig,
    /// Use the command timeout the init segment gives (when it gives one).
    pub use_device_timeouts: bool,
    /// Wait for firmware before the queue is set up (FW_PRE_INIT_TIMEOUT).
    pub fw_pre_init_timeout: Duration,
    /// Wait for firmware after the queue is set up (FW_INIT).
    pub fw_init_timeout: Duration,
    /// Progress message interval while waiting for firmware.
    pub fw_wait_log_interval: Duration,
    /// Health poll period.
    pub health_interval: Duration,
    /// Unchanged health counter reads that declare firmware dead.
    pub health_misses: u32,
    /// 4 KiB pages in the firmware page pool.
    pub fw_pages: usize,
    /// Give up reclaiming pages after this long without progress.
    pub reclaim_timeout: Duration,
    /// How often the EQ thread wakes without an interrupt (to notice a stop).
    pub eq_poll: Duration,
    /// EQ entries requested (the EQ gets `nent + 128` rounded up).
    pub eq_nent: u32,
    /// Sent with SET_DRIVER_VERSION.
    pub driver_version: String,
    /// Create the event queue and switch to events (else stay polling).
    pub use_events: bool,
    /// Keep command signatures on when firmware powers up with them on
    /// (sign every command, verify every answer). The kernel turns them off
    /// (`checksum_disabled`), and so does the default; tests of signature
    /// checking turn this on.
    pub cmdif_checksum: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            queue: QueueConfig::default(),
            use_device_timeouts: true,
            fw_pre_init_timeout: Duration::from_secs(120),
            fw_init_timeout: Duration::from_secs(2),
            fw_wait_log_interval: Duration::from_secs(20),
            health_interval: Duration::from_secs(2),
            health_misses: 3,
            fw_pages: 1024,
            reclaim_timeout: Duration::from_secs(5),
            eq_poll: Duration::from_millis(100),
            eq_nent: 64,
            driver_version: format!("cxu,cxu-driver,{}", env!("CARGO_PKG_VERSION")),
            use_events: true,
            cmdif_checksum: false,
        }
    }
}

/// Firmware version from the init segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Subminor.
    pub subminor: u32,
}

impl FwVersion {
    pub(crate) fn read(bar: &dyn Mmio) -> FwVersion {
        let w0 = bar.read32_be(iseg::FW_REV_MAJOR.byte as u64);
        let w1 = bar.read32_be(iseg::FW_REV_SUBMINOR.byte as u64);
        FwVersion {
            major: iseg::FW_REV_MAJOR.extract(w0),
            minor: iseg::FW_REV_MINOR.extract(w0),
            subminor: iseg::FW_REV_SUBMINOR.extract(w1),
        }
    }
}

impl std::fmt::Display for FwVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.subminor)
    }
}

/// A short description of a probed device, for `cxu dev info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The function's name.
    pub name: String,
    /// Firmware version.
    pub fw_version: FwVersion,
    /// Features from the caps.
    pub features: Features,
    /// Ports.
    pub ports: u32,
    /// Port type.
    pub port_type: PortType,
    /// Completion mode.
    pub mode: Mode,
    /// Command slots (the last one kept for MANAGE_PAGES).
    pub cmd_slots: u32,
    /// Pages firmware holds.
    pub fw_pages: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "device:    {}", self.name)?;
        writeln!(f, "firmware:  {}", self.fw_version)?;
        writeln!(f, "ports:     {} ({})", self.ports, self.port_type)?;
        let names: Vec<&str> = self.features.iter_names().map(|(n, _)| n).collect();
        writeln!(f, "features:  {}", names.join(" ").to_lowercase())?;
        writeln!(
            f,
            "commands:  {} slots, {}",
            self.cmd_slots,
            match self.mode {
                Mode::Polling => "polling",
                Mode::Events => "events",
            }
        )?;
        write!(f, "fw pages:  {}", self.fw_pages)
    }
}

/// What [`Device::remove`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoveReport {
    /// Page accounting at the end.
    pub pages: PageStats,
    /// DMA regions still mapped after everything was dropped (0 unless memory
    /// had to be leaked because the device might still write it).
    pub dma: DmaStats,
}

/// Everything bring-up built; dropped in reverse order by `teardown`.
pub(crate) struct Running {
    pub(crate) bar: Arc<dyn Mmio>,
    pub(crate) dma: DmaContext,
    pub(crate) queue: Arc<Queue>,
    pub(crate) pages: Arc<Pages>,
    pub(crate) fw: FwVersion,
    pub(crate) caps: Option<Caps>,
    pub(crate) hca_enabled: bool,
    pub(crate) hca_initialized: bool,
    pub(crate) uar: Option<u32>,
    pub(crate) msix: bool,
    pub(crate) eq: Option<EventQueue>,
    pub(crate) page_worker: Option<PageWorker>,
    pub(crate) health: Option<HealthPoller>,
}

/// Shared observers that outlive a bring-up (they survive recovery).
#[derive(Default)]
pub(crate) struct Observers {
    pub(crate) health: Arc<HealthState>,
    pub(crate) ports: Arc<PortEvents>,
    pub(crate) eq: Arc<EqCounters>,
}

/// A probed device.
pub struct Device {
    function: Arc<dyn PciFunction>,
    config: DriverConfig,
    state: Gate<Running>,
    /// Removal has begun: user commands fail, also on a queue a recovery
    /// that was under way brings up.
    removing: AtomicBool,
    obs: Observers,
}

impl Device {
    /// Brings the function up (reference §5) and returns the device.
    pub fn probe(function: Arc<dyn PciFunction>, config: DriverConfig) -> Result<Arc<Device>> {
        let obs = Observers::default();
        let running = crate::probe::bring_up(&function, &config, &obs)?;
        info!(function = %function.name(), fw = %running.fw, "device probed");
        Ok(Arc::new(Device {
            function,
            config,
            state: Gate::new(running),
            removing: AtomicBool::new(false),
            obs,
        }))
    }

    /// Runs `f` on the running state, inside the gate's shared side.
    fn with<T>(&self, f: impl FnOnce(&Running) -> Result<T>) -> Result<T> {
        self.state.with(f).unwrap_or(Err(Error::DeviceRemoved))
    }

    /// Runs one command as a user (a devlink request, an RPC): `msg` is the whole
    /// input message, the result the whole output (header included).
    pub fn exec(&self, msg: &[u8], outlen: usize) -> Result<Vec<u8>> {
        self.with(|r| r.queue.submit(msg, outlen, true)?.wait())
    }

    /// The command queue, for code that submits several commands at once. The
    /// gate is held while `f` runs.
    pub fn with_queue<T>(&self, f: impl FnOnce(&Queue) -> Result<T>) -> Result<T> {
        self.with(|r| f(&r.queue))
    }

    /// The serial number in the function's VPD (read from config space, so
    /// it needs no command and survives removal of the HCA).
    pub fn serial_number(&self) -> Option<String> {
        crate::vpd::serial_number(&*self.function)
    }

    /// Reads a big-endian dword of the init segment.
    pub fn iseg_read32(&self, offset: u64) -> Result<u32> {
        self.with(|r| Ok(r.bar.read32_be(offset)))
    }

    /// The capabilities.
    pub fn caps(&self) -> Result<Caps> {
        self.with(|r| {
            r.caps
                .clone()
                .ok_or_else(|| Error::BadDeviceValue("capabilities not read".into()))
        })
    }

    /// The feature bits.
    pub fn features(&self) -> Result<Features> {
        Ok(self.caps()?.features)
    }

    /// Firmware version.
    pub fn fw_version(&self) -> Result<FwVersion> {
        self.with(|r| Ok(r.fw))
    }

    /// A summary for `cxu dev info`.
    pub fn summary(&self) -> Result<Summary> {
        self.with(|r| {
            let caps = r.caps.clone();
            Ok(Summary {
                name: self.function.name(),
                fw_version: r.fw,
                features: caps.as_ref().map_or(Features::empty(), |c| c.features),
                ports: caps.as_ref().map_or(0, |c| c.num_ports),
                port_type: caps.as_ref().map_or(PortType::Unknown(0), |c| c.port_type),
                mode: r.queue.mode(),
                cmd_slots: r.queue.entries(),
                fw_pages: r.pages.stats().outstanding,
            })
        })
    }

    /// Counters of one opcode.
    pub fn cmd_stats(&self, opcode: Opcode) -> Result<OpStats> {
        self.with(|r| Ok(r.queue.stats(opcode)))
    }

    /// Counters of every opcode used.
    pub fn all_cmd_stats(&self) -> Result<Vec<(Opcode, OpStats)>> {
        self.with(|r| Ok(r.queue.all_stats()))
    }

    /// The command slots now.
    pub fn slots(&self) -> Result<SlotsSnapshot> {
        self.with(|r| Ok(r.queue.snapshot()))
    }

    /// The command timeout in force.
    pub fn cmd_timeout(&self) -> Result<Duration> {
        self.with(|r| Ok(r.queue.timeout()))
    }

    /// Firmware page accounting.
    pub fn page_stats(&self) -> Result<PageStats> {
        self.with(|r| Ok(r.pages.stats()))
    }

    /// DMA mappings of the running instance.
    pub fn dma_stats(&self) -> Result<DmaStats> {
        self.with(|r| Ok(r.dma.stats()))
    }

    /// Port change events seen for `port`: (count, last sub type).
    pub fn port_events(&self, port: u8) -> (u64, u8) {
        self.obs.ports.get(port)
    }

    /// EQ thread counters.
    pub fn eq_counters(&self) -> &EqCounters {
        &self.obs.eq
    }

    /// The report of the last fatal error (kept across recovery).
    pub fn health_report(&self) -> Option<HealthReport> {
        self.obs.health.report()
    }

    /// Health polls done (across recoveries).
    pub fn health_polls(&self) -> u64 {
        self.obs.health.polls()
    }

    /// True if firmware was declared dead and not recovered yet.
    pub fn is_fatal(&self) -> bool {
        self.with(|r| Ok(r.queue.fatal().is_some()))
            .unwrap_or(false)
    }

    /// Asks driver thread `thread` to panic at its next turn (tests of the
    /// thread guard).
    #[cfg(all(test, not(cxu_driver_loom)))]
    pub(crate) fn test_panic_thread(&self, thread: &'static str) {
        *self.obs.health.test_panic.lock() = Some(thread);
    }

    /// Removes the device: user commands in flight fail with "device removed",
    /// then everything is torn down in reverse order. When this returns no
    /// driver thread touches the device and its DMA memory is unmapped. A second
    /// call fails with [`Error::DeviceRemoved`].
    pub fn remove(&self) -> Result<RemoveReport> {
        self.abort_users();
        let running = self.state.close().ok_or(Error::DeviceRemoved)?;
        info!(function = %self.function.name(), "removing device");
        crate::probe::teardown(running, &self.function, &self.config)
    }

    /// Recovery (the fw_fatal reporter's entry point): tears down what is
    /// left, resets the function and brings it up again. Users inside the gate
    /// leave first (their commands fail fast on a dead device).
    pub fn recover(&self) -> Result<()> {
        self.state.update(|g| {
            let old = g.take().ok_or(Error::DeviceRemoved)?;
            warn!(function = %self.function.name(), "recovering: teardown, function reset, bring-up");
            if let Err(e) = crate::probe::teardown(old, &self.function, &self.config) {
                warn!(error = %e, "teardown before recovery reported an error");
            }
            self.function.reset()?;
            let running = crate::probe::bring_up(&self.function, &self.config, &self.obs)?;
            info!(fw = %running.fw, "device recovered");
            if self.removing.load(Ordering::SeqCst) {
                running.queue.abort_users();
            }
            *g = Some(running);
            Ok(())
        })
    }

    /// The first step of removal, for a caller that has more to unregister
    /// before [`Device::remove`] (the RPC channel, the devlink instance):
    /// user commands in flight and new ones fail with
    /// [`Error::DeviceRemoved`] at once, so that waiting for the callers
    /// inside those gates costs no command's run time.
    pub fn abort_users(&self) {
        self.removing.store(true, Ordering::SeqCst);
        self.state.with(|r| r.queue.abort_users());
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(r) = self.state.close() {
            if let Err(e) = crate::probe::teardown(r, &self.function, &self.config) {
                warn!(error = %e, "teardown on drop reported an error");
            }
        }
    }
}
