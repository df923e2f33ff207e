//! The model tests' harness: `cxu_testkit`'s submitter over memory of their
//! own (page-aligned host allocations mapped at fixed IOVAs through the
//! function, so that tests can name addresses and unmap them), with the
//! panicking wrappers a test wants, and EQ helpers.
#![allow(dead_code, unsafe_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::mailbox::BLOCK_ALIGN;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;
use cxu_testkit::{DeviceMemory, Error, Submitter};

pub use cxu_testkit::{msg, Completion, Prepared};

pub mod objects;
pub mod queues;
pub mod send;

/// Bytes of `DmaMem` leaked because their unmap failed (the device may still
/// reach them), over the whole test process.
pub static LEAKED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Page-aligned host memory mapped for DMA at `iova`. Freed on drop only if
/// the unmap succeeded (or the mapping was removed by a successful unmap
/// elsewhere); leaked otherwise, as `PciFunction::dma_map` requires.
pub struct DmaMem {
    ptr: *mut u8,
    layout: Layout,
    pub iova: u64,
    pub size: usize,
    f: Arc<LocalFunction>,
    mapped: AtomicBool,
    /// An unmap failed: the device may still reach the memory.
    leak: AtomicBool,
}

// SAFETY: the pointer is owned by this value and not tied to a thread.
unsafe impl Send for DmaMem {}
// SAFETY: shared access makes no reference into the memory: bytes are volatile
// accesses, the ownership byte the model stores atomically is loaded and stored
// atomically here too, and a test writes a region only while it owns it.
unsafe impl Sync for DmaMem {}

impl DmaMem {
    pub fn new(f: &Arc<LocalFunction>, iova: u64, size: usize) -> Self {
        let layout = Layout::from_size_align(size, 4096).unwrap();
        // SAFETY: nonzero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        // SAFETY: the allocation lives until drop, which unmaps first.
        unsafe { f.dma_map(iova, size as u64, ptr).unwrap() };
        DmaMem {
            ptr,
            layout,
            iova,
            size,
            f: f.clone(),
            mapped: AtomicBool::new(true),
            leak: AtomicBool::new(false),
        }
    }

    /// Takes the memory away from the device (for IOMMU fault tests).
    pub fn unmap(&self) {
        if let Err(e) = self.try_unmap() {
            panic!("unmap of {:#x}: {e}", self.iova);
        }
    }

    /// Unmaps if still mapped; a failure marks the memory to be leaked.
    fn try_unmap(&self) -> Result<(), cxu_hal::Error> {
        if !self.mapped.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let r = self.f.dma_unmap(self.iova, self.size as u64);
        if r.is_err() {
            self.leak.store(true, Ordering::Relaxed);
        }
        r
    }

    /// The ownership byte at `off` as the atomic the model stores it with.
    fn atomic_u8(&self, off: usize) -> &AtomicU8 {
        // SAFETY: `off` is in bounds (callers check) and the allocation lives as
        // long as `self`; `AtomicU8` has the alignment of `u8`. Every access to
        // this byte while it is shared, ours and the model's, is atomic.
        unsafe { AtomicU8::from_ptr(self.ptr.add(off)) }
    }

    /// The mapping was removed behind our back (by a range unmap): do not unmap on drop.
    pub fn mark_unmapped(&self) {
        self.mapped.store(false, Ordering::Relaxed);
    }

    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.read_at(off, &mut v).unwrap();
        v
    }

    pub fn write(&self, off: usize, data: &[u8]) {
        self.write_at(off, data).unwrap();
    }

    pub fn addr(&self, off: usize) -> u64 {
        self.iova + off as u64
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), Error> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Error::OutOfBounds {
                offset,
                len,
                size: self.size,
            }),
        }
    }
}

impl DeviceMemory for DmaMem {
    fn iova(&self) -> u64 {
        self.iova
    }

    fn len(&self) -> usize {
        self.size
    }

    fn write_at(&self, off: usize, data: &[u8]) -> Result<(), Error> {
        self.check(off, data.len())?;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: in bounds; volatile because the device reads concurrently.
            unsafe { self.ptr.add(off + i).write_volatile(*b) };
        }
        Ok(())
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.check(off, buf.len())?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: in bounds; volatile because the device writes concurrently.
            *b = unsafe { self.ptr.add(off + i).read_volatile() };
        }
        Ok(())
    }

    fn load_u8_acquire(&self, off: usize) -> Result<u8, Error> {
        self.check(off, 1)?;
        Ok(self.atomic_u8(off).load(Ordering::Acquire))
    }

    fn store_u8_release(&self, off: usize, value: u8) -> Result<(), Error> {
        self.check(off, 1)?;
        self.atomic_u8(off).store(value, Ordering::Release);
        Ok(())
    }
}

impl Drop for DmaMem {
    fn drop(&mut self) {
        let _ = self.try_unmap();
        if *self.leak.get_mut() {
            LEAKED_BYTES.fetch_add(self.size, Ordering::Relaxed);
            return;
        }
        // SAFETY: allocated in new with this layout; the unmap succeeded (or a
        // successful unmap elsewhere removed the mapping), so the device can no
        // longer reach it.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

/// IOVA layout of the harness.
pub const CMDQ_IOVA: u64 = 0x10_0000;
pub const MBOX_IOVA: u64 = 0x20_0000;
/// Mailbox blocks per chain: 32 input blocks, then 32 output blocks per slot.
pub const CHAIN_BLOCKS: usize = 32;
/// Mailbox bytes per slot.
pub const MBOX_PER_SLOT: usize = 2 * CHAIN_BLOCKS * BLOCK_ALIGN;
pub const EQ_IOVA: u64 = 0x100_0000;
pub const PAGES_IOVA: u64 = 0x200_0000;

/// How long a command may take before a test fails.
const EXEC_WAIT: Duration = Duration::from_secs(5);

/// The value, or a panic that says what failed.
fn must<T>(r: Result<T, Error>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A test's view of a completion: every check is an assertion.
pub trait CompletionExt {
    /// The output header.
    fn header(&self) -> OutHeader;
    /// The command status; the command must have been delivered.
    fn status(&self) -> CmdStatus;
    /// Asserts delivery and command status OK.
    fn ok(&self) -> &Self;
    /// The big-endian dword at `off` of the output.
    fn be32(&self, off: usize) -> u32;
    /// Asserts delivery and command status OK; the number of the object
    /// the command made (the low 24 bits of dword 0x08: cqn, sqn, rqn, ...).
    fn num(&self) -> u32;
}

impl CompletionExt for Completion {
    fn header(&self) -> OutHeader {
        must(self.out_header(), "output header")
    }

    fn status(&self) -> CmdStatus {
        assert_eq!(self.ds, DeliveryStatus::OK, "delivery failed");
        self.header().status
    }

    fn ok(&self) -> &Self {
        let h = self.header();
        assert_eq!(
            (self.ds, h.status),
            (DeliveryStatus::OK, CmdStatus::OK),
            "syndrome {:#x}",
            h.syndrome
        );
        self
    }

    fn be32(&self, off: usize) -> u32 {
        must(self.be32_at(off), "output dword")
    }

    fn num(&self) -> u32 {
        self.ok().be32(0x08) & 0xFF_FFFF
    }
}

/// Asserts the command was delivered and failed with `status` and `syndrome`.
pub fn fails(c: &Completion, status: CmdStatus, syndrome: u32) {
    let h = c.header();
    assert_eq!(
        (h.status, h.syndrome),
        (status, syndrome),
        "got {} {:#x}",
        h.status,
        h.syndrome
    );
}

pub struct Harness {
    pub f: Arc<LocalFunction>,
    pub bar: Arc<dyn Mmio>,
    pub ctl: Control,
    q: Submitter<DmaMem>,
}

impl Harness {
    /// A function with `profile`, bus mastering on, not yet booted.
    pub fn raw(profile: Profile) -> Self {
        let f = Arc::new(LocalFunction::new(profile));
        f.set_bus_master(true).unwrap();
        let bar = f.bar(0).unwrap();
        let ctl = f.control();
        let cmdq = DmaMem::new(&f, CMDQ_IOVA, 4096);
        let mbox = DmaMem::new(&f, MBOX_IOVA, 32 * MBOX_PER_SLOT);
        let layout = cxu_testkit::Layout::new(32, CHAIN_BLOCKS).unwrap();
        let q = must(Submitter::new(bar.clone(), cmdq, mbox, layout), "submitter");
        Harness { f, bar, ctl, q }
    }

    /// Waits for `initializing` to clear and programs the command queue.
    pub fn new(profile: Profile) -> Self {
        let h = Self::raw(profile);
        h.wait_ready();
        h.program_cmdq();
        h
    }

    /// The command page.
    pub fn cmdq(&self) -> &DmaMem {
        self.q.cmdq()
    }

    pub fn wait_ready(&self) {
        must(
            self.q.wait_ready(EXEC_WAIT),
            "firmware never finished booting",
        );
    }

    pub fn program_cmdq(&self) {
        must(self.q.program_cmdq(), "command queue address");
    }

    /// Builds the entry and chains for `input` with an output of `outlen` bytes in `slot`.
    pub fn prepare(&self, slot: u32, input: &[u8], outlen: usize) -> Prepared {
        must(self.q.prepare(slot, input, outlen), "prepare")
    }

    /// Writes a prepared command to memory (entry last) without ringing.
    pub fn write(&self, p: &Prepared) {
        must(self.q.write(p), "write");
    }

    pub fn ring(&self, bits: u32) {
        self.q.ring(bits);
    }

    pub fn post(&self, p: &Prepared) {
        must(self.q.post(p), "post");
    }

    pub fn owned_by_hw(&self, slot: u32) -> bool {
        must(self.q.hw_owned(slot), "ownership")
    }

    /// Polls until the slot is back with software, or `timeout`.
    pub fn wait(&self, p: &Prepared, timeout: Duration) -> Option<Completion> {
        match self.q.wait(p, timeout) {
            Ok(c) => Some(c),
            Err(Error::Timeout { .. }) => None,
            Err(e) => panic!("wait: {e}"),
        }
    }

    pub fn read_completion(&self, p: &Prepared) -> Completion {
        must(self.q.read_completion(p), "completion")
    }

    /// Runs one command in slot 0 and waits for it (5 s).
    pub fn exec(&self, input: &[u8], outlen: usize) -> Completion {
        self.exec_in(0, input, outlen)
    }

    pub fn exec_in(&self, slot: u32, input: &[u8], outlen: usize) -> Completion {
        must(
            self.q.exec_in(slot, input, outlen),
            "command did not complete",
        )
    }

    /// A command with an all-zero body of ifc's input size (16 bytes for
    /// unknown opcodes) and ifc's output size.
    pub fn simple(&self, op: Opcode, op_mod: u16) -> Completion {
        must(self.q.simple(op, op_mod), "command did not complete")
    }

    /// ENABLE_HCA, SET_ISSI 1, boot pages, init pages, INIT_HCA.
    pub fn bring_up(&self, pages: &DmaMem) {
        self.simple(Opcode::ENABLE_HCA, 0).ok();
        must(self.q.init_hca(pages), "bring-up");
    }

    /// MANAGE_PAGES GIVE of `n` pages of `pages` starting at page `first`.
    pub fn give_pages(&self, pages: &DmaMem, first: usize, n: usize) -> Completion {
        must(self.q.give_pages(pages, first, n), "MANAGE_PAGES")
    }

    /// MANAGE_PAGES TAKE of up to `n` pages; returns the IOVAs given back.
    pub fn take_pages(&self, n: usize) -> (Completion, Vec<u64>) {
        let mut m = msg(Opcode::MANAGE_PAGES, 2, 16);
        m[0x0C..0x10].copy_from_slice(&(n as u32).to_be_bytes());
        let c = self.exec_in(31, &m, 16 + 8 * n);
        let count = if c.ds == DeliveryStatus::OK && c.header().status == CmdStatus::OK {
            c.be32(0x08) as usize
        } else {
            0
        };
        let pages = (0..count)
            .map(|i| u64::from_be_bytes(c.out[16 + 8 * i..24 + 8 * i].try_into().unwrap()))
            .collect();
        (c, pages)
    }
}
/// CREATE_EQ of `1 << log_size` entries in `mem` (owners initialised to 1 first).
pub fn create_eq(
    h: &Harness,
    mem: &DmaMem,
    log_size: u8,
    uar: u32,
    vector: u16,
    events: &[cxu_hal::ifc::eqe::EventType],
) -> Completion {
    use cxu_hal::ifc::eq::{EqContext, EventMask};
    let bytes = 64usize << log_size;
    for i in 0..(bytes / 64).min(mem.size / 64) {
        mem.write(i * 64 + 0x3F, &[1]);
    }
    let npages = bytes.div_ceil(4096);
    let mut m = msg(Opcode::CREATE_EQ, 0, 0x110 + 8 * npages);
    EqContext {
        log_eq_size: log_size,
        uar_page: uar,
        intr: vector,
        ..Default::default()
    }
    .encode_into(&mut m[0x10..0x50])
    .unwrap();
    m[0x58..0x78].copy_from_slice(&EventMask::of(events).encode());
    for i in 0..npages {
        m[0x110 + 8 * i..0x118 + 8 * i].copy_from_slice(&mem.addr(i * 4096).to_be_bytes());
    }
    h.exec(&m, 16)
}

/// The EQE at `index` (ring position) of an EQ in `mem`.
/// Waits (up to 5 s) until `cond` holds. The model gives a command's entry
/// back before it posts the command's EQE (as hardware may), so a test that
/// saw the completion waits for the event before it reads it.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
}

/// Waits until the first EQ has had `n` EQEs written.
pub fn wait_eqes(h: &Harness, n: u32) {
    wait_until(&format!("{n} EQEs"), || {
        h.ctl.eqs().first().is_some_and(|e| e.producer_index >= n)
    });
}

pub fn eqe(mem: &DmaMem, index: usize) -> cxu_hal::ifc::eqe::Eqe {
    cxu_hal::ifc::eqe::Eqe::decode(&mem.read(index * 64, 64)).unwrap()
}

/// Writes the EQ doorbell of `eqn` on UAR page `uar`.
pub fn eq_doorbell(h: &Harness, uar: u32, eqn: u8, ci: u32, arm: bool) {
    use cxu_hal::ifc::eq;
    let off = if arm {
        eq::EQ_DOORBELL_ARM
    } else {
        eq::EQ_DOORBELL_NO_ARM
    };
    h.bar.write32_be(
        u64::from(uar) * 4096 + off as u64,
        eq::eq_doorbell_value(eqn, ci),
    );
}

/// Brings the HCA up and allocates one UAR; returns (pages, uar).
pub fn initialized(h: &Harness) -> (DmaMem, u32) {
    let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
    h.bring_up(&pages);
    let u = h.simple(Opcode::ALLOC_UAR, 0);
    u.ok();
    (pages, u.be32(0x08) & 0xFF_FFFF)
}

/// A function of the default profile brought up to an initialized HCA with
/// one UAR ([`initialized`]); it derefs to its [`Harness`].
pub struct Hca {
    pub h: Harness,
    /// The pages firmware was given: they live as long as the HCA.
    pub pages: DmaMem,
    pub uar: u32,
}

impl Hca {
    pub fn up() -> Self {
        let h = Harness::new(Profile::default());
        let (pages, uar) = initialized(&h);
        Hca { h, pages, uar }
    }
}

impl std::ops::Deref for Hca {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.h
    }
}
