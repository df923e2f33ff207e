//! The driver end to end through the guest's real VFIO: `Device::probe` from
//! the init segment to INIT_HCA with its EQ (completions by events through
//! MSI-X), commands with multi-block mailboxes, a firmware page request served
//! while commands run, the devlink instance and RPC channel on top
//! (`devlink.rs`), command rates, `remove`, and a second probe.
//!
//! The server is started with `--page-request 6`: each bring-up gets one.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_driver::{Device, DriverConfig, Mode, Summary};
use cxu_hal::ifc::Opcode;
use cxu_hal::PciFunction;
use cxu_testkit::msg;

use crate::report::{Check, Ctx, Report};

fn nop(d: &Device) -> Result<(), String> {
    d.exec(&msg(Opcode::NOP, 0, 16), 16).map(|_| ()).ctx("NOP")
}

/// Probes; returns the device, a description, and its summary.
fn probe(f: &Arc<dyn PciFunction>) -> Result<(Arc<Device>, String, Summary), String> {
    let t = Instant::now();
    let d = Device::probe(f.clone(), DriverConfig::default()).ctx("probe")?;
    let s = d.summary().ctx("summary")?;
    if s.mode != Mode::Events {
        return Err(format!("probe left the queue in {:?} mode", s.mode));
    }
    let detail = format!(
        "{:?}: firmware {}, {} command slots, {:?} mode, {} FW pages given",
        t.elapsed(),
        s.fw_version,
        s.cmd_slots,
        s.mode,
        s.fw_pages
    );
    Ok((d, detail, s))
}

/// Completions arrive as command EQEs through MSI-X.
fn events(d: &Device) -> Check {
    let c = d.eq_counters();
    let (irq0, cmd0) = (
        c.interrupts.load(Ordering::Relaxed),
        c.cmd_eqes.load(Ordering::Relaxed),
    );
    for _ in 0..50 {
        nop(d)?;
    }
    // A waiter may find its command done before its EQE is read (a leader
    // that drained the EQ just before the EQE landed); that EQE is consumed
    // by the next session or the EQ thread's next look, so wait for it.
    let counts = || {
        (
            c.interrupts.load(Ordering::Relaxed) - irq0,
            c.cmd_eqes.load(Ordering::Relaxed) - cmd0,
        )
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut irqs, mut cmds) = counts();
    while (cmds < 50 || irqs == 0) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(1));
        (irqs, cmds) = counts();
    }
    if cmds < 50 || irqs == 0 {
        return Err(format!("50 NOPs: {cmds} command EQEs, {irqs} interrupts"));
    }
    Ok(format!(
        "50 NOPs: {cmds} command EQEs over {irqs} MSI-X interrupts"
    ))
}

/// QUERY_HCA_CAP: 16 bytes in, 4 KiB out over 8 output mailbox blocks.
fn multi_block(d: &Device) -> Check {
    let sizes = cxu_hal::ifc::commands::sizes(Opcode::QUERY_HCA_CAP)
        .ok_or("no QUERY_HCA_CAP sizes in ifc")?;
    let out = d
        .exec(&msg(Opcode::QUERY_HCA_CAP, 1, sizes.inlen), sizes.outlen)
        .ctx("QUERY_HCA_CAP")?;
    if out.len() != sizes.outlen {
        return Err(format!("{} bytes back", out.len()));
    }
    Ok(format!(
        "QUERY_HCA_CAP: {} bytes out ({} blocks); probe's MANAGE_PAGES inputs were multi-block too",
        out.len(),
        cxu_hal::ifc::mailbox::blocks_for_len(out.len())
    ))
}

/// The server's page request (6 pages, once an EQ takes it) arrives while NOPs
/// run; the driver's page worker serves it (6 more pages than probe gave)
/// without failing a request. It may already have landed during the earlier
/// checks, which also run commands.
fn page_request(d: &Device, given0: u64) -> Check {
    let t = Instant::now();
    let mut nops = 0u32;
    loop {
        let p = d.page_stats().ctx("page stats")?;
        let requests = d.eq_counters().page_requests.load(Ordering::Relaxed);
        if p.failed_requests != 0 {
            return Err(format!("{} page requests failed", p.failed_requests));
        }
        if requests > 0 && p.given >= given0 + 6 {
            return Ok(format!(
                "{requests} request(s) by event; {} pages given beyond probe's ({nops} NOPs in this loop), {} outstanding",
                p.given - given0,
                p.outstanding
            ));
        }
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "after 10 s: {requests} page request EQEs, {} pages given ({nops} NOPs ran)",
                p.given - given0
            ));
        }
        nop(d)?;
        nops += 1;
    }
}

fn rate_depth1(d: &Device, n: u32) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..n {
        nop(d)?;
    }
    Ok(f64::from(n) / t.elapsed().as_secs_f64())
}

/// Every regular slot in flight: submitted from one thread, then waited for.
fn rate_full(d: &Device, rounds: u32) -> Result<(f64, u32), String> {
    d.with_queue(|q| {
        let depth = q.regular_slots();
        let t = Instant::now();
        for _ in 0..rounds {
            let hs = (0..depth)
                .map(|_| q.submit(&msg(Opcode::NOP, 0, 16), 16, false))
                .collect::<Result<Vec<_>, _>>()?;
            for h in hs {
                h.wait()?;
            }
        }
        Ok((f64::from(rounds * depth) / t.elapsed().as_secs_f64(), depth))
    })
    .ctx("NOPs")
}

fn remove(d: &Device) -> Check {
    let rep = d.remove().ctx("remove")?;
    if rep.pages.outstanding != 0 || rep.dma.mapped_regions != 0 {
        return Err(format!(
            "after remove: {} pages outstanding, {} DMA regions mapped",
            rep.pages.outstanding, rep.dma.mapped_regions
        ));
    }
    if d.exec(&msg(Opcode::NOP, 0, 16), 16).is_ok() {
        return Err("a command ran after remove".into());
    }
    Ok(format!(
        "{} pages given, {} reclaimed; nothing mapped; later commands refused",
        rep.pages.given, rep.pages.reclaimed
    ))
}

/// Runs the probe checks on `f`.
pub fn run(r: &mut Report, f: Arc<dyn PciFunction>) {
    let (d, probe_pages) = match probe(&f) {
        Ok((d, detail, summary)) => {
            r.check("driver-probe", Ok(detail));
            // The driver's own description of what it probed (`cxu dev info`).
            for line in summary.to_string().lines() {
                r.info("driver-summary", line);
            }
            (d, summary.fw_pages)
        }
        Err(e) => {
            r.check("driver-probe", Err(e));
            return;
        }
    };
    r.check("driver-completion-events", events(&d));
    r.check("driver-multi-block", multi_block(&d));
    r.check(
        "driver-page-request-during-commands",
        page_request(&d, probe_pages),
    );
    crate::devlink::run(r, &d, f.name());
    match rate_depth1(&d, 200) {
        Ok(rate) => r.info(
            "driver-events-rate-depth1",
            &format!("{rate:.0} NOPs/s ({:.0} us each)", 1e6 / rate),
        ),
        Err(e) => {
            r.check("driver-events-rate-depth1", Err(e));
        }
    }
    match rate_full(&d, 10) {
        Ok((rate, depth)) => r.info(
            "driver-events-rate-depth32",
            &format!("{rate:.0} NOPs/s with {depth} in flight; one doorbell write per command"),
        ),
        Err(e) => {
            r.check("driver-events-rate-depth32", Err(e));
        }
    }
    r.check("driver-remove", remove(&d));
    drop(d);
    let again = probe(&f).and_then(|(d, detail, _)| {
        nop(&d)?;
        remove(&d)?;
        Ok(detail)
    });
    r.check("driver-second-probe", again);
}
