//! Checks of the function through the guest's real VFIO with the hand-rolled
//! submitter of `cxu_testkit` (no driver): config space, bus mastering, the init
//! segment, DMA, commands by polling and by MSI-X, command rates, an IOMMU
//! unmap that takes memory away from the device, and function reset.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry as ce;
use cxu_hal::ifc::eq::{eq_doorbell_value, EqContext, EventMask, EQ_DOORBELL_ARM};
use cxu_hal::ifc::eqe::{Eqe, EventType, EQE_SIZE, OWNER_OFFSET};
use cxu_hal::ifc::{iseg, DeliveryStatus, Opcode};
use cxu_hal::os::wait_eventfd;
use cxu_hal::pci::config;
use cxu_hal::PciFunction;

use cxu_testkit::{chain, give_pages_msg, msg, write_blocks, Completion, Error, Layout, Prepared};

use crate::report::{Check, Ctx, Report};

const LONG: Duration = Duration::from_secs(5);
/// Command slots.
const SLOTS: u32 = 32;
/// 16 mailbox blocks per chain: messages up to 8 KiB each way.
const LAYOUT: Layout = Layout {
    slots: SLOTS,
    chain_blocks: 16,
};

pub(crate) type Submitter = cxu_testkit::Submitter<DmaRegion>;

/// The completion of a command that must have succeeded, or why not.
pub(crate) fn ok(r: cxu_testkit::Result<Completion>, what: &str) -> Result<Completion, String> {
    let c = r.ctx(what)?;
    c.check().ctx(what)?;
    Ok(c)
}

/// Builds and writes a command into `slot`, without ringing.
pub(crate) fn write(
    s: &Submitter,
    slot: u32,
    input: &[u8],
    outlen: usize,
) -> Result<Prepared, String> {
    let p = s.prepare(slot, input, outlen).ctx("prepare")?;
    s.write(&p).ctx("write")?;
    Ok(p)
}

fn config_ids(f: &dyn PciFunction) -> Check {
    let vendor = f.config_read16(config::VENDOR_ID).ctx("vendor")?;
    let device = f.config_read16(config::DEVICE_ID).ctx("device")?;
    let mut class = [0u8; 3];
    f.config_read(config::CLASS_CODE, &mut class).ctx("class")?;
    if vendor != 0x15B3 || class[2] != 0x02 {
        return Err(format!("{vendor:04x}:{device:04x} class {:02x}", class[2]));
    }
    let msix = f.find_capability(config::CAP_ID_MSIX).ctx("capabilities")?;
    Ok(format!(
        "{vendor:04x}:{device:04x}, Ethernet class, MSI-X capability at {msix:x?}, {} vectors",
        f.msix_vectors()
    ))
}

fn bus_master(f: &dyn PciFunction) -> Check {
    f.set_bus_master(true).ctx("set")?;
    let cmd = f.config_read16(config::COMMAND).ctx("read back")?;
    if cmd & config::COMMAND_BUS_MASTER == 0 {
        return Err(format!("COMMAND {cmd:#06x} after setting bus master"));
    }
    Ok(format!("COMMAND {cmd:#06x}"))
}

fn init_segment(s: &Submitter) -> Check {
    let w0 = s.bar().read32_be(0);
    let w1 = s.bar().read32_be(4);
    let (major, minor, sub, cmdif) = (w0 & 0xFFFF, w0 >> 16, w1 & 0xFFFF, w1 >> 16);
    if cmdif != iseg::CMDIF_REV_SUPPORTED {
        return Err(format!(
            "cmdif_rev {cmdif}, the driver needs {}",
            iseg::CMDIF_REV_SUPPORTED
        ));
    }
    Ok(format!("firmware {major}.{minor}.{sub}, cmdif_rev {cmdif}"))
}

fn nop(s: &Submitter, slot: u32) -> Check {
    let t = Instant::now();
    ok(s.exec_in(slot, &msg(Opcode::NOP, 0, 16), 16), "NOP")?;
    Ok(format!("slot {slot}, {:?}", t.elapsed()))
}

/// The cost of one trapped BAR0 access (guest exit, QEMU, a vfio-user message,
/// the model): `n` doorbell writes with no bit set (the device ignores them)
/// and `n` reads of the init segment. Returns microseconds per write and read.
fn mmio_cost(s: &Submitter, n: u32) -> (f64, f64) {
    let t = Instant::now();
    for _ in 0..n {
        s.ring(0);
    }
    let write = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(s.bar().read32_be(0));
    }
    let read = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    (write, read)
}

/// NOPs one at a time: write, doorbell, poll.
fn rate_depth1(s: &Submitter, n: u32) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..n {
        ok(s.exec_in(0, &msg(Opcode::NOP, 0, 16), 16), "NOP")?;
    }
    Ok(f64::from(n) / t.elapsed().as_secs_f64())
}

/// Rounds of 32 NOPs: all written, one doorbell write with 32 bits, all polled.
fn rate_depth32(s: &Submitter, rounds: u32) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..rounds {
        let posted = (0..SLOTS)
            .map(|slot| write(s, slot, &msg(Opcode::NOP, 0, 16), 16))
            .collect::<Result<Vec<_>, _>>()?;
        s.ring(u32::MAX);
        for p in &posted {
            ok(s.wait(p, LONG), "NOP")?;
        }
    }
    Ok(f64::from(rounds * SLOTS) / t.elapsed().as_secs_f64())
}

/// ENABLE_HCA was done; SET_ISSI, boot and init pages, INIT_HCA, ALLOC_UAR.
/// Returns the UAR index and the page memory (kept until the end).
fn bring_up(s: &Submitter) -> Result<(u32, DmaRegion), String> {
    const PAGES: usize = 256;
    let pages = s
        .dma()
        .alloc(PAGES * 4096, PageSize::Base4K)
        .ctx("page memory")?;
    s.init_hca(&pages).ctx("bring-up")?;
    let u = ok(s.simple(Opcode::ALLOC_UAR, 0), "ALLOC_UAR")?;
    Ok((u.be32_at(0x08).ctx("ALLOC_UAR")? & 0xFF_FFFF, pages))
}

/// An event queue of `1 << log` entries (at most 64: one page) on one MSI-X
/// vector.
pub(crate) struct Eq {
    mem: DmaRegion,
    pub(crate) eqn: u8,
    uar: u32,
    ci: u32,
    log: u8,
}

/// 8 entries: what the checks here need.
const LOG_EQ: u8 = 3;

impl Eq {
    fn create(s: &Submitter, uar: u32, vector: u16, events: &[EventType]) -> Result<Eq, String> {
        Eq::create_sized(s, uar, vector, events, LOG_EQ)
    }

    /// An EQ of `1 << log` entries (`log` at most 6).
    pub(crate) fn create_sized(
        s: &Submitter,
        uar: u32,
        vector: u16,
        events: &[EventType],
        log: u8,
    ) -> Result<Eq, String> {
        if log > 6 {
            return Err(format!("an EQ of 2^{log} entries does not fit one page"));
        }
        let mem = s.dma().alloc(4096, PageSize::Base4K).ctx("EQ memory")?;
        for i in 0..(1usize << log) {
            mem.view()
                .write_u8(i * EQE_SIZE + OWNER_OFFSET, 1)
                .ctx("EQE owner init")?;
        }
        let mut m = msg(Opcode::CREATE_EQ, 0, 0x110 + 8);
        EqContext {
            log_eq_size: log,
            uar_page: uar,
            intr: vector,
            ..Default::default()
        }
        .encode_into(&mut m[0x10..0x50])
        .ctx("EQ context")?;
        m[0x58..0x78].copy_from_slice(&EventMask::of(events).encode());
        m[0x110..0x118].copy_from_slice(&mem.iova().to_be_bytes());
        let c = ok(s.exec_in(0, &m, 16), "CREATE_EQ")?;
        Ok(Eq {
            mem,
            eqn: c.out[0x0B],
            uar,
            ci: 0,
            log,
        })
    }

    /// The next EQE if software owns it (owner bit matches the pass), consumed.
    pub(crate) fn poll(&mut self) -> Result<Option<Eqe>, String> {
        let n = 1u32 << self.log;
        let off = (self.ci % n) as usize * EQE_SIZE;
        let owner = self
            .mem
            .view()
            .load_u8_acquire(off + OWNER_OFFSET)
            .ctx("EQE owner")?;
        if (owner & 1) != ((self.ci / n) & 1) as u8 {
            return Ok(None);
        }
        let mut b = [0u8; EQE_SIZE];
        self.mem.view().read_bytes(off, &mut b).ctx("EQE")?;
        self.ci += 1;
        Eqe::decode(&b).ctx("EQE decode").map(Some)
    }

    pub(crate) fn destroy(self, s: &Submitter) -> Result<u8, String> {
        let mut m = msg(Opcode::DESTROY_EQ, 0, 16);
        m[0x0B] = self.eqn;
        ok(s.exec_in(0, &m, 16), "DESTROY_EQ")?;
        Ok(self.eqn)
    }

    /// Reports the consumer index and re-arms (one UAR doorbell write).
    pub(crate) fn arm(&self, s: &Submitter) {
        s.bar().write32_be(
            u64::from(self.uar) * 4096 + EQ_DOORBELL_ARM as u64,
            eq_doorbell_value(self.eqn, self.ci),
        );
    }
}

fn completion_by_event(s: &Submitter, eq: &mut Eq, irq: &cxu_hal::EventFd) -> Check {
    // Consume whatever is there (CREATE_EQ's own completion may be), then arm.
    while eq.poll()?.is_some() {}
    let _ = wait_eventfd(irq, Some(Duration::ZERO));
    eq.arm(s);
    let slot = 5;
    let p = write(s, slot, &msg(Opcode::NOP, 0, 16), 16)?;
    let t = Instant::now();
    s.ring(1 << slot);
    if wait_eventfd(irq, Some(LONG)).ctx("wait")?.is_none() {
        return Err("no MSI-X interrupt within 5 s".into());
    }
    let latency = t.elapsed();
    let e = eq
        .poll()?
        .ok_or("interrupt, but no EQE owned by software")?;
    let vector = u32::from_be_bytes([e.data[0], e.data[1], e.data[2], e.data[3]]);
    if e.event_type != EventType::CMD || vector & (1 << slot) == 0 {
        return Err(format!(
            "EQE type {:#x} cmd_vector {vector:#x}",
            e.event_type.0
        ));
    }
    if s.hw_owned(slot).ctx("ownership")? {
        return Err("EQE arrived before the slot was returned".into());
    }
    ok(s.read_completion(&p), "NOP")?;
    Ok(format!(
        "doorbell -> EQE (cmd_vector {vector:#x}) -> MSI-X -> eventfd in {latency:?}"
    ))
}

/// A command whose input mailbox is in a buffer of its own completes while the
/// buffer is mapped; after `VFIO_IOMMU_UNMAP_DMA` of that buffer (the memory
/// itself kept, the block still valid) the same command must not: the device's
/// read faults in its IOMMU. The buffer is leaked afterwards (its region's own
/// unmap then fails, which `cxu_dma` answers by leaking, never freeing).
fn unmap_blocks_dma(s: &Submitter) -> Check {
    let buf = s.dma().alloc(4096, PageSize::Base4K).ctx("buffer")?;
    let (iova, slot) = (buf.iova(), 7);
    let input = msg(Opcode::NOP, 0, 64);
    // The input chain goes to `buf`, not to the slot's mailboxes.
    let mut p = s.prepare(slot, &input, 16).ctx("prepare")?;
    let in_chain = chain(iova, input.len(), &input, p.token, 1).ctx("input chain")?;
    write_blocks(&buf, &in_chain).ctx("mailbox write")?;
    p.in_blocks.clear();
    ce::IN_PTR.set(&mut p.entry, iova).ctx("in_ptr")?;
    ce::sign(&mut p.entry);
    s.post(&p).ctx("post")?;
    ok(s.wait(&p, LONG), "while mapped")?;

    s.dma().function().dma_unmap(iova, 4096).ctx("VFIO unmap")?;
    s.post(&p).ctx("post")?;
    let outcome = match s.wait(&p, Duration::from_millis(500)) {
        Err(Error::Timeout { .. }) => "never completed".to_string(),
        Err(e) => return Err(e.to_string()),
        Ok(c) if c.ds != DeliveryStatus::OK => {
            format!("completed with delivery status {}", c.ds)
        }
        Ok(_) => return Err("the device read a mailbox from unmapped memory".into()),
    };
    drop(buf);
    Ok(format!(
        "mailbox at iova {iova:#x}: OK while mapped; after unmap {outcome}"
    ))
}

/// The server (started with `--page-request N`) makes firmware ask for pages
/// once an EQ takes PAGE_REQUEST events. Commands keep running while the request
/// arrives by MSI-X, and it is served with MANAGE_PAGES in slot 31 alongside a
/// NOP in slot 0, one doorbell write for both.
fn page_request_while_commands(
    s: &Submitter,
    uar: u32,
    irq: &cxu_hal::EventFd,
    spare: &DmaRegion,
) -> Check {
    let mut eq = Eq::create(s, uar, 2, &[EventType::PAGE_REQUEST])?;
    let _ = wait_eventfd(irq, Some(Duration::ZERO));
    eq.arm(s);
    let t = Instant::now();
    let mut nops = 0u32;
    while wait_eventfd(irq, Some(Duration::ZERO))
        .ctx("eventfd")?
        .is_none()
    {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "no page request within 10 s ({nops} NOPs ran; server without --page-request?)"
            ));
        }
        ok(s.exec_in(0, &msg(Opcode::NOP, 0, 16), 16), "NOP")?;
        nops += 1;
    }
    let waited = t.elapsed();
    let e = eq
        .poll()?
        .ok_or("interrupt, but no EQE owned by software")?;
    if e.event_type != EventType::PAGE_REQUEST {
        return Err(format!("EQE type {:#x}", e.event_type.0));
    }
    let n = e.page_request().num_pages;
    let have = spare.len() / 4096;
    if n <= 0 || n as usize > have {
        return Err(format!("firmware asks for {n} pages (have {have} spare)"));
    }
    let m = give_pages_msg(spare, 0, n as usize).ctx("MANAGE_PAGES")?;
    let give = write(s, 31, &m, 16)?;
    let nop = write(s, 0, &msg(Opcode::NOP, 0, 16), 16)?;
    s.ring(1 << 31 | 1);
    ok(s.wait(&give, LONG), "MANAGE_PAGES")?;
    ok(s.wait(&nop, LONG), "NOP beside it")?;
    let q = ok(s.simple(Opcode::QUERY_PAGES, 3), "QUERY_PAGES")?;
    let still = q.be32_at(0x0C).ctx("QUERY_PAGES")?;
    if still != 0 {
        return Err(format!("firmware still wants {still} pages"));
    }
    Ok(format!(
        "EQ {} got a request for {n} pages by MSI-X after {waited:?} ({nops} NOPs ran meanwhile); served with MANAGE_PAGES beside a NOP; firmware wants 0 more",
        eq.eqn
    ))
}

/// Reset through VFIO: firmware forgets the HCA state, so ENABLE_HCA works again.
fn reset(s: &Submitter) -> Check {
    let t = Instant::now();
    s.dma().function().reset().ctx("VFIO reset")?;
    let took = t.elapsed();
    s.wait_ready(LONG).ctx("firmware")?;
    s.program_cmdq().ctx("command queue")?;
    let enable = msg(Opcode::ENABLE_HCA, 0, 16);
    ok(s.exec_in(0, &enable, 16), "ENABLE_HCA after reset")?;
    ok(
        s.exec_in(0, &msg(Opcode::DISABLE_HCA, 0, 16), 16),
        "DISABLE_HCA",
    )?;
    Ok(format!("reset took {took:?}; HCA state was reset"))
}

/// Runs every check on `f`, which is bound to vfio-pci.
pub fn run(r: &mut Report, f: Arc<dyn PciFunction>) {
    r.check("config-ids", config_ids(&*f));
    r.check("bus-master", bus_master(&*f));
    let s = match DmaContext::new(f.clone())
        .ctx("DMA context")
        .and_then(|dma| Submitter::alloc(&dma, LAYOUT).ctx("command queue"))
    {
        Ok(s) => s,
        Err(e) => {
            r.check("dma-map", Err(e));
            return;
        }
    };
    r.check("init-segment", init_segment(&s));
    let ready = s
        .wait_ready(LONG)
        .map(|t| format!("initializing cleared after {t:?}"))
        .ctx("firmware");
    if !r.check("firmware-boot", ready) {
        return;
    }
    r.check(
        "dma-map",
        s.program_cmdq()
            .map(|iova| format!("command page at iova {iova:#x}, {:?}", s.dma().stats()))
            .ctx("command queue"),
    );
    let irqs = match f.enable_msix(4) {
        Ok(v) => v,
        Err(e) => {
            r.check("msix-enable", Err(e.to_string()));
            return;
        }
    };
    r.check("msix-enable", Ok(format!("{} vectors", irqs.len())));
    let enable = ok(
        s.exec_in(0, &msg(Opcode::ENABLE_HCA, 0, 16), 16),
        "ENABLE_HCA",
    )
    .map(|_| "ENABLE_HCA by polling".to_string());
    if !r.check("cmd-enable-hca", enable) {
        return;
    }
    r.check("cmd-nop-polled", nop(&s, 3));
    let (write, read) = mmio_cost(&s, 2000);
    r.info(
        "trapped-mmio",
        &format!("{write:.1} us per BAR0 write (posted), {read:.1} us per BAR0 read (round trip)"),
    );
    match rate_depth1(&s, 200) {
        Ok(rate) => r.info(
            "rate-depth1",
            &format!(
                "{rate:.0} NOPs/s ({:.0} us each): 1 doorbell per command",
                1e6 / rate
            ),
        ),
        Err(e) => {
            r.check("rate-depth1", Err(e));
        }
    }
    match rate_depth32(&s, 20) {
        Ok(rate) => r.info(
            "rate-depth32",
            &format!("{rate:.0} NOPs/s: 32 commands per doorbell write"),
        ),
        Err(e) => {
            r.check("rate-depth32", Err(e));
        }
    }
    r.check("iommu-unmap-blocks-dma", unmap_blocks_dma(&s));
    // Pages given to firmware stay mapped until the reset at the end.
    let mut spares = Vec::new();
    match bring_up(&s) {
        Ok((uar, pages)) => {
            spares.push(pages);
            r.check("bring-up", Ok(format!("INIT_HCA done, UAR {uar}")));
            match Eq::create(&s, uar, 1, &[EventType::CMD]) {
                Ok(mut eq) => {
                    r.check("create-eq", Ok(format!("eqn {} on vector 1", eq.eqn)));
                    r.check("cmd-eqe-msix", completion_by_event(&s, &mut eq, &irqs[1]));
                    r.check("destroy-eq", eq.destroy(&s).map(|n| format!("eqn {n}")));
                }
                Err(e) => {
                    r.check("create-eq", Err(e));
                }
            }
            match s.dma().alloc(16 * 4096, PageSize::Base4K) {
                Ok(spare) => {
                    r.check(
                        "page-request-while-commands",
                        page_request_while_commands(&s, uar, &irqs[2], &spare),
                    );
                    spares.push(spare);
                }
                Err(e) => {
                    r.check("page-request-while-commands", Err(e.to_string()));
                }
            }
        }
        Err(e) => {
            r.check("bring-up", Err(e));
        }
    }
    r.check(
        "msix-disable",
        f.disable_msix().map(|_| String::new()).ctx("disable"),
    );
    r.check("vfio-reset", reset(&s));
}
