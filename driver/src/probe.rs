//! Bring-up and teardown (reference §5, `mlx5_function_setup` / `_teardown`).
//!
//! Bring-up builds a [`Running`] step by step; when a step fails, what was
//! built so far is torn down before the error is returned. Teardown runs the
//! steps in reverse, keeps going after an error (and returns the first), and
//! ends with every driver thread joined and every DMA region dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::DmaContext;
use cxu_hal::ifc::caps::{CapMode, CapType};
use cxu_hal::ifc::commands::caps::{
    decode_query_hca_cap_out, QueryHcaCapIn, SetHcaCapIn, QUERY_HCA_CAP_OUT_SIZE,
};
use cxu_hal::ifc::commands::hca::{
    self, query_issi_in, set_driver_version_in, set_issi_in, teardown_hca_in, FunctionIn,
    InitHcaIn, QueryIssiOut, TeardownProfile,
};
use cxu_hal::ifc::commands::pages::QueryPagesMode;
use cxu_hal::ifc::commands::uar::{alloc_uar_in, dealloc_uar_in, decode_alloc_uar_out};
use cxu_hal::ifc::iseg;
use cxu_hal::{Mmio, PciFunction};
use tracing::{debug, info, warn};

use crate::caps::{self, Caps, Features};
use crate::cmd::{Mode, Queue};
use crate::device::{DriverConfig, FwVersion, Observers, RemoveReport, Running};
use crate::eq::{EventQueue, Sinks};
use crate::error::{Error, Result, StepExt};
use crate::health::{FailDevice, HealthPoller};
use crate::iseg_timeouts::device_timeouts;
use crate::page_requests::PageRequests;
use crate::pages::{PageWorker, Pages};

/// The longest teardown waits for the device to give back slots of commands
/// still in flight before it switches to polling and destroys the EQ. User
/// commands were aborted first, so what is in flight was given up or is the
/// driver's own; stale slots are not waited for at all. Waiting longer would
/// only delay removal while every other slot is held; bus mastering goes off
/// before the memory of a slot the device still owns is unmapped.
const TEARDOWN_QUIESCE: Duration = Duration::from_secs(2);

/// Poll step while waiting for firmware (FW_PRE_INIT_WAIT).
const FW_WAIT_STEP: Duration = Duration::from_millis(2);

/// Waits for the `initializing` bit to clear, logging progress.
fn wait_fw(
    bar: &dyn Mmio,
    limit: Duration,
    log_every: Duration,
    stage: &'static str,
) -> Result<()> {
    let start = Instant::now();
    let mut next_log = start + log_every;
    loop {
        let word = bar.read32_be(iseg::INITIALIZING.byte as u64);
        if word != iseg::PCI_DEAD && iseg::INITIALIZING.extract(word) == 0 {
            debug!(stage, waited = ?start.elapsed(), "firmware ready");
            return Ok(());
        }
        let now = Instant::now();
        if now.duration_since(start) >= limit {
            return Err(Error::FwInitTimeout {
                waited: now.duration_since(start),
                stage,
            });
        }
        if now >= next_log {
            warn!(stage, waited = ?now.duration_since(start), limit = ?limit, "still waiting for firmware to initialize");
            next_log = now + log_every;
        }
        std::thread::sleep(FW_WAIT_STEP);
    }
}

/// Brings the function up and returns the running state.
pub(crate) fn bring_up(
    function: &Arc<dyn PciFunction>,
    cfg: &DriverConfig,
    obs: &Observers,
) -> Result<Running> {
    function.set_bus_master(true).step("enable bus mastering")?;
    let bar = function.bar(0).step("map BAR0")?;
    let fw = FwVersion::read(&*bar);
    info!(function = %function.name(), %fw, "bringing up");
    wait_fw(
        &*bar,
        cfg.fw_pre_init_timeout,
        cfg.fw_wait_log_interval,
        "pre-init",
    )?;
    let dma = DmaContext::new(function.clone()).step("DMA context")?;
    let queue =
        Arc::new(Queue::enable(bar.clone(), &dma, &cfg.queue).step("command queue enable")?);
    let mut init_limit = cfg.fw_init_timeout;
    // A nonzero cmd_q_init_to says the device gives its timeouts (the kernel's
    // mlx5_tout_query_iseg); both are clamped to sane bounds.
    if cfg.use_device_timeouts {
        let t = device_timeouts(
            bar.read32_be(iseg::CMD_EXEC_TO.byte as u64),
            bar.read32_be(iseg::CMD_Q_INIT_TO.byte as u64),
        );
        if let Some(init) = t.cmd_q_init {
            init_limit = init;
            if let Some(exec) = t.cmd_exec {
                queue.set_timeout(exec);
            }
        }
    }
    wait_fw(&*bar, init_limit, cfg.fw_wait_log_interval, "init")?;
    let pages = Arc::new(Pages::new(&dma, cfg.fw_pages).step("firmware page pool")?);
    let mut r = Running {
        bar,
        dma,
        queue,
        pages,
        fw,
        caps: None,
        hca_enabled: false,
        hca_initialized: false,
        uar: None,
        msix: false,
        eq: None,
        page_worker: None,
        health: None,
    };
    match steps(&mut r, function, cfg, obs) {
        Ok(()) => Ok(r),
        Err(e) => {
            warn!(error = %e, "bring-up failed; undoing what was done");
            if let Err(t) = teardown(r, function, cfg) {
                warn!(error = %t, "cleanup after a failed bring-up reported an error");
            }
            Err(e)
        }
    }
}

fn steps(
    r: &mut Running,
    function: &Arc<dyn PciFunction>,
    cfg: &DriverConfig,
    obs: &Observers,
) -> Result<()> {
    let q = r.queue.clone();
    let ecpu = iseg::EMBEDDED_CPU.extract(r.bar.read32_be(iseg::EMBEDDED_CPU.byte as u64)) != 0;
    let enable = FunctionIn {
        embedded_cpu_function: ecpu,
        function_id: 0,
    };
    q.exec(&enable.encode(true), 16).step("ENABLE_HCA")?;
    r.hca_enabled = true;
    let fail = FailDevice {
        bar: r.bar.clone(),
        queue: q.clone(),
        state: obs.health.clone(),
    };
    r.health = Some(HealthPoller::start(
        fail.clone(),
        cfg.health_interval,
        cfg.health_misses,
    )?);

    // ISSI: 1 if firmware supports it; a real FW status on QUERY_ISSI means 0.
    match q.exec(&query_issi_in(), hca::QUERY_ISSI_OUT_SIZE) {
        Ok(out) => {
            let issi = QueryIssiOut::decode(&out)?;
            if issi.chosen_issi() == 1 {
                q.exec(&set_issi_in(1), 16).step("SET_ISSI")?;
            }
            debug!(issi = issi.chosen_issi(), "ISSI");
        }
        Err(Error::Command { .. }) => debug!("QUERY_ISSI not supported: ISSI 0"),
        Err(e) => return Err(e.at("QUERY_ISSI")),
    }

    r.pages
        .satisfy(&q, QueryPagesMode::Boot)
        .step("boot pages")?;

    let query = |mode| -> Result<_> {
        let out = q.exec(
            &QueryHcaCapIn::new(CapType::GENERAL, mode).encode(),
            QUERY_HCA_CAP_OUT_SIZE,
        )?;
        Ok(decode_query_hca_cap_out(&out)?)
    };
    let max = query(CapMode::Max).step("QUERY_HCA_CAP max")?;
    let mut cur = query(CapMode::Current).step("QUERY_HCA_CAP current")?;
    if let Some(want) = caps::wanted(&cur).filter(|_| !cfg.cmdif_checksum) {
        let set = SetHcaCapIn {
            cap_type: CapType::GENERAL,
            other_function: false,
            function_id: 0,
            caps: want,
        };
        q.exec(&set.encode(), 16).step("SET_HCA_CAP")?;
        cur = query(CapMode::Current).step("QUERY_HCA_CAP current")?;
    }
    let caps = Caps::from_hca_cap(&cur);
    q.set_checksum(caps.features.contains(Features::CMDIF_CHECKSUM));
    debug!(?caps, max_log_max_qp = max.log_max_qp(), "capabilities");

    r.pages
        .satisfy(&q, QueryPagesMode::Init)
        .step("init pages")?;
    let init = InitHcaIn::default().encode()?;
    q.exec(&init, 16).step("INIT_HCA")?;
    r.hca_initialized = true;

    if caps.features.contains(Features::DRIVER_VERSION) {
        q.exec(&set_driver_version_in(&cfg.driver_version)?, 16)
            .step("SET_DRIVER_VERSION")?;
    }
    let uar = decode_alloc_uar_out(&q.exec(&alloc_uar_in(), 16).step("ALLOC_UAR")?)?;
    r.uar = Some(uar);
    let release_all_cap = caps.features.contains(Features::RELEASE_ALL_PAGES);
    r.caps = Some(caps);

    if !cfg.use_events || function.msix_vectors() == 0 {
        warn!("no event queue: commands complete by polling and page requests are not served");
        return Ok(());
    }
    let fds = function.enable_msix(1).step("enable MSI-X")?;
    r.msix = true;
    let fd = fds
        .into_iter()
        .next()
        .ok_or_else(|| Error::BadDeviceValue("enable_msix(1) returned no eventfd".into()))?;
    let requests = Arc::new(PageRequests::default());
    let sinks = Sinks {
        queue: q.clone(),
        pages: requests.clone(),
        ports: obs.ports.clone(),
        counters: obs.eq.clone(),
        release_all_cap,
        fail: fail.clone(),
    };
    let eq = EventQueue::create(
        &r.dma,
        r.bar.clone(),
        uar,
        fd,
        0,
        cfg.eq_nent,
        cfg.eq_poll,
        sinks,
    )
    .step("CREATE_EQ")?;
    debug!(eqn = eq.eqn(), "command/page/port EQ");
    r.eq = Some(eq);
    q.set_mode(Mode::Events, q.timeout())
        .step("switch to events")?;
    r.page_worker = Some(PageWorker::start(
        r.pages.clone(),
        q.clone(),
        requests,
        fail,
    )?);
    Ok(())
}

/// Tears `r` down in reverse order. Every step runs even if an earlier one
/// failed; the first error is returned after the last step.
pub(crate) fn teardown(
    mut r: Running,
    function: &Arc<dyn PciFunction>,
    cfg: &DriverConfig,
) -> Result<RemoveReport> {
    let mut first: Option<Error> = None;
    let mut note = |res: Result<()>, step: &'static str| {
        if let Err(e) = res {
            warn!(step, error = %e, "teardown step failed");
            if first.is_none() {
                first = Some(e.at(step));
            }
        }
    };
    let q = r.queue.clone();
    // A dead device gets no commands: they cannot reach it (the kernel fakes
    // their success, §4.4); everything else (threads, MSI-X, DMA) still goes.
    let dead = q.fatal().is_some();
    if dead {
        info!("firmware is dead: teardown skips the device commands");
    }
    if let Some(mut w) = r.page_worker.take() {
        w.stop();
    }
    if let Some(eq) = r.eq.take() {
        if dead {
            q.force_polling();
            drop(eq);
        } else {
            note(
                q.set_mode(Mode::Polling, q.timeout().min(TEARDOWN_QUIESCE)),
                "switch to polling",
            );
            // If quiescing failed (a slot not given back in time) the switch
            // did not happen; but DESTROY_EQ's completion never comes as an
            // event of the EQ it destroys, and after it nothing delivers
            // events: poll from here on (a waiter in flight sees the mode at
            // its next look).
            q.force_polling();
            note(eq.destroy(&q), "DESTROY_EQ");
        }
    }
    if r.msix {
        note(
            function.disable_msix().map_err(Error::from),
            "disable MSI-X",
        );
    }
    if let Some(uar) = r.uar.take().filter(|_| !dead) {
        note(
            dealloc_uar_in(uar)
                .map_err(Error::from)
                .and_then(|m| q.exec(&m, 16).map(|_| ())),
            "DEALLOC_UAR",
        );
    }
    if r.hca_initialized && !dead {
        note(
            q.exec(&teardown_hca_in(TeardownProfile::GracefulClose), 16)
                .and_then(|out| match hca::decode_teardown_hca_out(&out)? {
                    false => Ok(()),
                    true => Err(Error::BadDeviceValue("TEARDOWN_HCA state FAIL".into())),
                }),
            "TEARDOWN_HCA",
        );
    }
    if r.hca_enabled && !dead {
        note(
            r.pages.reclaim_all(&q, cfg.reclaim_timeout),
            "reclaim pages",
        );
    } else if dead {
        r.pages.reclaim_from_dead();
    }
    if let Some(mut h) = r.health.take() {
        h.stop();
    }
    if r.hca_enabled && !dead {
        note(
            q.exec(&FunctionIn::default().encode(false), 16).map(|_| ()),
            "DISABLE_HCA",
        );
    }
    // A command that timed out may still complete: stop the device's DMA
    // before its memory is unmapped and freed (the kernel's
    // pci_disable_device), so a late write is blocked, not an IOMMU fault
    // (or, without an IOMMU, a write into reused memory).
    note(
        function.set_bus_master(false).map_err(Error::from),
        "disable bus mastering",
    );
    let pages = r.pages.stats();
    let dma = r.dma.clone();
    drop(q);
    drop(r);
    let report = RemoveReport {
        pages,
        dma: dma.stats(),
    };
    if report.dma.mapped_regions != 0 {
        warn!(?report, "DMA regions still mapped after teardown");
    }
    match first {
        None => Ok(report),
        Some(e) => Err(e),
    }
}
