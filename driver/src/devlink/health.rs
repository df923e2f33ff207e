//! Health reporters (reference mlx5 §8):
//!
//! * `fw`: diagnose and dump from the health buffer of the initialization
//!   segment (syndrome, extended syndrome, health counter, assert words);
//! * `fw_fatal`: recover through the backend's reset path (function reset,
//!   command interface back up) and then program the hardware again to what
//!   devlink shows; dump as `fw`. Grace period 60 s as mlx5's PF;
//! * `cmd`: the command interface: per-opcode counts, errors and timeouts,
//!   state "timeouts seen" when any command timed out.
//!
//! Errors are *reported* by the health poller of the driver core
//! (`Instance::health_report`), which this module does not run.

use cxu_hal::ifc::iseg::{self, HealthSyndrome};
use devlink_core::{Error, Fmsg, FmsgValue, InstanceGuard, Reporter, ReporterCaps, Result};

use super::{catalog, trap_hw, CtlError, Cxu};

/// `fw` reporter name.
pub const FW: &str = "fw";
/// `fw_fatal` reporter name.
pub const FW_FATAL: &str = "fw_fatal";
/// `cmd` reporter name.
pub const CMD: &str = "cmd";

/// The reporters every device gets.
pub fn reporters() -> Vec<Reporter> {
    vec![
        Reporter::new(FW, ReporterCaps::DIAGNOSE | ReporterCaps::DUMP),
        Reporter::new(FW_FATAL, ReporterCaps::RECOVER | ReporterCaps::DUMP).periods(60_000, 0),
        Reporter::new(CMD, ReporterCaps::DIAGNOSE),
    ]
}

/// A snapshot of the health buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthBuffer {
    /// The 16 dwords at 0x200.
    pub raw: [u32; iseg::HEALTH_BUFFER_SIZE / 4],
    /// `synd`.
    pub syndrome: u8,
    /// `ext_synd`.
    pub ext_syndrome: u16,
    /// `health_counter`.
    pub counter: u32,
}

/// Reads the health buffer, or says why it cannot.
pub fn read_health(b: &dyn super::Backend) -> std::result::Result<HealthBuffer, CtlError> {
    let rd = |off: usize| {
        b.iseg_read32(off as u64)
            .ok_or(CtlError::Unsupported("reading the initialization segment"))
    };
    let mut raw = [0u32; iseg::HEALTH_BUFFER_SIZE / 4];
    for (i, w) in raw.iter_mut().enumerate() {
        *w = rd(iseg::HEALTH_BUFFER + 4 * i)?;
    }
    let synd_dw = rd(iseg::HEALTH_SYND.byte)?;
    let counter = rd(iseg::HEALTH_COUNTER.byte)?;
    Ok(HealthBuffer {
        raw,
        syndrome: iseg::HEALTH_SYND.extract(synd_dw) as u8,
        ext_syndrome: iseg::HEALTH_EXT_SYND.extract(synd_dw) as u16,
        counter,
    })
}

fn health_fmsg(h: &HealthBuffer, fmsg: &mut Fmsg) {
    let desc = HealthSyndrome(h.syndrome)
        .name()
        .unwrap_or("unknown")
        .to_string();
    fmsg.pair("syndrome", FmsgValue::U8(h.syndrome))
        .pair("description", FmsgValue::String(desc))
        .pair("ext_syndrome", FmsgValue::U32(u32::from(h.ext_syndrome)))
        .pair("health_counter", FmsgValue::U32(h.counter));
}

/// `diagnose`.
pub fn diagnose(g: &mut InstanceGuard<'_, Cxu>, reporter: &str, fmsg: &mut Fmsg) -> Result<()> {
    match reporter {
        FW => {
            let h = read_health(&**g.driver().backend())?;
            health_fmsg(&h, fmsg);
            Ok(())
        }
        CMD => {
            let b = g.driver().backend();
            let stats = b.cmd_stats();
            let timeouts: u64 = stats.iter().map(|(_, s)| s.timeouts).sum();
            fmsg.pair("timeouts", FmsgValue::U64(timeouts));
            if let Some(t) = b.cmd_timeout() {
                fmsg.pair(
                    "timeout_ms",
                    FmsgValue::U64(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
                );
            }
            fmsg.arr_start("opcodes");
            for (op, s) in stats.iter().filter(|(_, s)| s.count > 0) {
                fmsg.obj_start("")
                    .pair("opcode", FmsgValue::String(op.to_string()))
                    .pair("count", FmsgValue::U64(s.count))
                    .pair("errors", FmsgValue::U64(s.errors))
                    .pair("timeouts", FmsgValue::U64(s.timeouts));
                if let Some(l) = s.mean_latency() {
                    fmsg.pair(
                        "mean_latency_us",
                        FmsgValue::U64(u64::try_from(l.as_micros()).unwrap_or(u64::MAX)),
                    );
                }
                fmsg.end();
            }
            fmsg.end();
            Ok(())
        }
        _ => Err(Error::NotSupported(format!(
            "diagnose of reporter {reporter}"
        ))),
    }
}

/// `dump`: the health buffer words.
pub fn dump(g: &mut InstanceGuard<'_, Cxu>, reporter: &str, fmsg: &mut Fmsg) -> Result<()> {
    match reporter {
        FW | FW_FATAL => {
            let h = read_health(&**g.driver().backend())?;
            health_fmsg(&h, fmsg);
            fmsg.arr_start("health_buffer");
            for w in h.raw {
                fmsg.value(FmsgValue::U32(w));
            }
            fmsg.end();
            Ok(())
        }
        _ => Err(Error::NotSupported(format!("dump of reporter {reporter}"))),
    }
}

/// `recover` (`fw_fatal`): reset through the backend, then make the
/// hardware match devlink's view again (policers, groups, traps).
pub fn recover(g: &mut InstanceGuard<'_, Cxu>, reporter: &str) -> Result<()> {
    if reporter != FW_FATAL {
        return Err(Error::NotSupported(format!(
            "recover of reporter {reporter}"
        )));
    }
    let b = g.driver().backend().clone();
    b.reset()?;
    let detail = devlink_core::Detail::default();
    for p in g.trap_policer_show(detail)? {
        trap_hw::set_policer(&*b, p.policer, p.rate, p.burst)?;
    }
    for grp in g.trap_group_show(detail)? {
        let id = devlink_core::trap::generic_trap_group_id(&grp.name)
            .ok_or_else(|| Error::NotFound(format!("group {}", grp.name)))?;
        let hw =
            catalog::group_hw(id).ok_or_else(|| Error::NotFound(format!("group {}", grp.name)))?;
        trap_hw::set_group(&*b, hw, grp.policer)?;
    }
    for t in g.trap_show(detail)? {
        let id = (0..catalog::TRAPS.len())
            .find(|&i| catalog::TRAPS[i].name == t.name)
            .and_then(catalog::trap_id)
            .ok_or_else(|| Error::NotFound(format!("trap {}", t.name)))?;
        trap_hw::set_trap(&*b, id, t.action)?;
    }
    tracing::info!(dev = %g.handle(), "fw_fatal recovery: device reset and reprogrammed");
    Ok(())
}

/// Bridges the core's health poller to devlink: if firmware was declared
/// dead, reports it on `fw_fatal` (which dumps and, with auto-recover, runs
/// [`recover`]). The check is made under the instance lock, so two callers
/// never report one failure twice. Returns `None` when there was nothing
/// to report (or the instance is gone).
pub fn report_fatal(inst: &super::CxuInstance, core: &crate::device::Device) -> Option<Result<()>> {
    let mut g = inst.enter().ok()?;
    if !core.is_fatal() {
        return None;
    }
    let msg = match core.health_report() {
        Some(r) => format!(
            "firmware fatal error: {} (syndrome {}, ext_synd {:#x})",
            r.cause, r.syndrome, r.ext_syndrome
        ),
        None => "firmware fatal error".to_string(),
    };
    Some(g.health_report(FW_FATAL, None, &msg))
}

/// A thread that calls [`report_fatal`] every `period`, so a dead firmware
/// is reported (and auto-recovered) without waiting for a user request.
/// [`Watcher::stop`] (or drop) joins it: when it returns, the thread is gone.
pub struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching.
    pub fn start(
        inst: std::sync::Arc<super::CxuInstance>,
        core: std::sync::Arc<crate::device::Device>,
        period: std::time::Duration,
    ) -> std::io::Result<Watcher> {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("cxu-fw-fatal".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    if let Some(Err(e)) = report_fatal(&inst, &core) {
                        tracing::warn!(error = %e, "fw_fatal report");
                    }
                    std::thread::park_timeout(period);
                }
            })?;
        Ok(Watcher {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, std::sync::atomic::Ordering::Release);
            t.thread().unpark();
            if t.join().is_err() {
                tracing::error!("fw_fatal watcher panicked");
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}
