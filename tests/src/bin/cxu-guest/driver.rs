//! The driver's command queue (`cxu_driver::Queue`) through the guest's real
//! VFIO: enable on a freshly reset function, bring the HCA up with it (multi-block
//! mailboxes both ways), many threads submitting at once, and command rates at
//! depth 1 and with every regular slot in flight.
//!
//! The queue runs in polling mode here; `probe.rs` covers the driver end to end
//! (probe, events, page requests, remove).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{DmaContext, PageSize};
use cxu_driver::{Queue, QueueConfig};
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::Opcode;
use cxu_hal::{Mmio, PciFunction};
use cxu_testkit::msg;

use crate::report::{Check, Ctx, Report};

fn be32(out: &[u8], off: usize) -> Result<u32, String> {
    out.get(off..off + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("output of {} bytes has no dword at {off:#x}", out.len()))
}

/// ENABLE_HCA, SET_ISSI 1, boot and init pages (MANAGE_PAGES with a multi-block
/// input when firmware wants more than 62 pages), INIT_HCA; then QUERY_HCA_CAP,
/// whose 4 KiB output spans 8 blocks. Returns the page memory.
fn bring_up(q: &Queue, dma: &DmaContext) -> Result<(String, cxu_dma::DmaRegion), String> {
    q.exec(&msg(Opcode::ENABLE_HCA, 0, 16), 16)
        .ctx("ENABLE_HCA")?;
    let mut set_issi = msg(Opcode::SET_ISSI, 0, 16);
    set_issi[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
    q.exec(&set_issi, 16).ctx("SET_ISSI")?;
    const MAX_PAGES: usize = 256;
    let pages = dma
        .alloc(MAX_PAGES * 4096, PageSize::Base4K)
        .ctx("page memory")?;
    let (mut next, mut most) = (0usize, 0usize);
    for stage in [1u16, 2] {
        let out = q
            .exec(&msg(Opcode::QUERY_PAGES, stage, 16), 16)
            .ctx("QUERY_PAGES")?;
        let n = be32(&out, 0x0C)? as usize;
        if next + n > MAX_PAGES {
            return Err(format!(
                "firmware wants {} pages, have {MAX_PAGES}",
                next + n
            ));
        }
        let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 8 * n);
        m[0x0C..0x10].copy_from_slice(&(n as u32).to_be_bytes());
        for i in 0..n {
            let a = pages.iova_at((next + i) * 4096).ctx("page")?;
            m[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_be_bytes());
        }
        q.exec(&m, 16).ctx("MANAGE_PAGES")?;
        next += n;
        most = most.max(m.len());
    }
    let init = cxu_hal::ifc::commands::sizes(Opcode::INIT_HCA).ok_or("no INIT_HCA sizes")?;
    q.exec(&msg(Opcode::INIT_HCA, 0, init.inlen), init.outlen)
        .ctx("INIT_HCA")?;
    let caps = cxu_hal::ifc::commands::sizes(Opcode::QUERY_HCA_CAP)
        .ok_or("no QUERY_HCA_CAP sizes in ifc")?;
    // op_mod: general device caps (type 0), current values.
    let out = q
        .exec(&msg(Opcode::QUERY_HCA_CAP, 1, caps.inlen), caps.outlen)
        .ctx("QUERY_HCA_CAP")?;
    if out.len() != caps.outlen {
        return Err(format!("QUERY_HCA_CAP gave {} bytes", out.len()));
    }
    Ok((
        format!(
            "{next} pages given (largest MANAGE_PAGES input {most} bytes, {} blocks); QUERY_HCA_CAP output {} bytes ({} blocks)",
            cxu_hal::ifc::mailbox::blocks_for_len(most),
            out.len(),
            cxu_hal::ifc::mailbox::blocks_for_len(out.len())
        ),
        pages,
    ))
}

/// `threads` threads each running `each` NOPs at once.
fn concurrent(q: &Queue, threads: usize, each: usize) -> Check {
    let t = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..each {
                        q.exec(&msg(Opcode::NOP, 0, 16), 16).ctx("NOP")?;
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    for r in results {
        r?;
    }
    let stats = q.stats(Opcode::NOP);
    Ok(format!(
        "{threads} threads x {each} NOPs in {:?}; queue counters {stats:?}",
        t.elapsed()
    ))
}

fn rate_depth1(q: &Queue, n: u32) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..n {
        q.exec(&msg(Opcode::NOP, 0, 16), 16).ctx("NOP")?;
    }
    Ok(f64::from(n) / t.elapsed().as_secs_f64())
}

/// Every regular slot in flight from one thread: submit all, then wait all.
fn rate_full(q: &Queue, rounds: u32) -> Result<(f64, u32), String> {
    let depth = q.regular_slots();
    let t = Instant::now();
    for _ in 0..rounds {
        let handles = (0..depth)
            .map(|_| q.submit(&msg(Opcode::NOP, 0, 16), 16, false))
            .collect::<Result<Vec<_>, _>>()
            .ctx("submit")?;
        for h in handles {
            h.wait().ctx("NOP")?;
        }
    }
    Ok((f64::from(rounds * depth) / t.elapsed().as_secs_f64(), depth))
}

/// Waits until firmware clears `initializing` (the caller's job around
/// `Queue::enable`); returns how long it took.
fn wait_ready(bar: &dyn Mmio) -> Result<Duration, String> {
    let t = Instant::now();
    while bar.read32_be(iseg::INITIALIZING.byte as u64) >> 31 != 0 {
        if t.elapsed() > Duration::from_secs(5) {
            return Err("initializing still set after 5 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(t.elapsed())
}

/// Runs the driver checks on `f` (reset first, so firmware starts from scratch).
pub fn run(r: &mut Report, f: Arc<dyn PciFunction>) {
    let bar = match f.bar(0) {
        Ok(b) => b,
        Err(e) => {
            r.check("driver-fresh-function", Err(e.to_string()));
            return;
        }
    };
    let fresh = f.reset().ctx("VFIO reset").and_then(|_| wait_ready(&*bar));
    if !r.check(
        "driver-fresh-function",
        fresh.map(|t| format!("booted in {t:?}")),
    ) {
        return;
    }
    let dma = match DmaContext::new(f.clone()) {
        Ok(d) => d,
        Err(e) => {
            r.check("driver-queue-enable", Err(e.to_string()));
            return;
        }
    };
    let q = match Queue::enable(bar.clone(), &dma, &QueueConfig::default()) {
        Ok(q) => q,
        Err(e) => {
            r.check("driver-queue-enable", Err(e.to_string()));
            return;
        }
    };
    let ready = wait_ready(&*bar);
    r.check(
        "driver-queue-enable",
        ready.map(|_| format!("{} slots, {} regular", q.entries(), q.regular_slots())),
    );
    let pages = match bring_up(&q, &dma) {
        Ok((detail, pages)) => {
            r.check("driver-bring-up-multi-block", Ok(detail));
            pages
        }
        Err(e) => {
            r.check("driver-bring-up-multi-block", Err(e));
            return;
        }
    };
    r.check("driver-threads", concurrent(&q, 8, 25));
    match rate_depth1(&q, 200) {
        Ok(rate) => r.info(
            "driver-rate-depth1",
            &format!("{rate:.0} NOPs/s ({:.0} us each)", 1e6 / rate),
        ),
        Err(e) => {
            r.check("driver-rate-depth1", Err(e));
        }
    }
    match rate_full(&q, 10) {
        Ok((rate, depth)) => r.info(
            "driver-rate-depth32",
            &format!(
                "{rate:.0} NOPs/s with {depth} in flight (the 32nd slot is kept for MANAGE_PAGES); one doorbell write per command"
            ),
        ),
        Err(e) => {
            r.check("driver-rate-depth32", Err(e));
        }
    }
    let teardown = q
        .exec(&msg(Opcode::TEARDOWN_HCA, 0, 16), 16)
        .ctx("TEARDOWN_HCA")
        .and_then(|_| {
            q.exec(&msg(Opcode::DISABLE_HCA, 0, 16), 16)
                .ctx("DISABLE_HCA")
        })
        .map(|_| String::new());
    r.check("driver-teardown", teardown);
    drop(q);
    drop(pages);
}
