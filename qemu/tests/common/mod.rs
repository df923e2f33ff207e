//! A small test-side command submitter over `PciFunction`, built from
//! `cxu_hal::ifc` only (no driver, no dma crate): DMA memory is page-aligned
//! host allocations mapped through the function; every access to it goes
//! through volatile reads and writes because the device may touch it at any time.
#![allow(dead_code, unsafe_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, ENTRY_SIZE, INLINE_SIZE};
use cxu_hal::ifc::header::{InHeader, OutHeader};
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_ALIGN, BLOCK_SIZE};
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;

/// Page-aligned host memory mapped for DMA at `iova`.
pub struct DmaMem {
    ptr: *mut u8,
    layout: Layout,
    pub iova: u64,
    pub size: usize,
    f: Arc<LocalFunction>,
    mapped: bool,
}

// SAFETY: the memory is only accessed through volatile operations.
unsafe impl Send for DmaMem {}
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
            mapped: true,
        }
    }

    /// Host memory that is NOT mapped (for IOMMU fault tests): same API.
    pub fn unmap(&mut self) {
        if self.mapped {
            self.f.dma_unmap(self.iova, self.size as u64).unwrap();
            self.mapped = false;
        }
    }

    /// The mapping was removed behind our back (by a range unmap): do not unmap on drop.
    pub fn mark_unmapped(&mut self) {
        self.mapped = false;
    }

    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        assert!(off + len <= self.size);
        // SAFETY: in bounds; volatile because the device writes concurrently.
        (0..len)
            .map(|i| unsafe { self.ptr.add(off + i).read_volatile() })
            .collect()
    }

    pub fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.size);
        for (i, b) in data.iter().enumerate() {
            // SAFETY: in bounds; volatile.
            unsafe { self.ptr.add(off + i).write_volatile(*b) };
        }
    }

    pub fn read_u8(&self, off: usize) -> u8 {
        // SAFETY: in bounds; volatile.
        let v = unsafe { self.ptr.add(off).read_volatile() };
        fence(Ordering::Acquire);
        v
    }

    pub fn addr(&self, off: usize) -> u64 {
        self.iova + off as u64
    }
}

impl Drop for DmaMem {
    fn drop(&mut self) {
        if self.mapped {
            let _ = self.f.dma_unmap(self.iova, self.size as u64);
        }
        // SAFETY: allocated in new with this layout; the device can no longer reach it.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

/// IOVA layout of the harness.
pub const CMDQ_IOVA: u64 = 0x10_0000;
pub const MBOX_IOVA: u64 = 0x20_0000;
/// Per slot: 32 input blocks then 32 output blocks, 1 KiB apart.
pub const MBOX_PER_SLOT: usize = 64 * BLOCK_ALIGN;
pub const EQ_IOVA: u64 = 0x100_0000;
pub const PAGES_IOVA: u64 = 0x200_0000;

/// A command as it will be posted: the test may tamper with it before `post`.
#[derive(Clone)]
pub struct Prepared {
    pub slot: u32,
    pub entry: [u8; ENTRY_SIZE],
    pub in_blocks: Vec<(u64, Vec<u8>)>,
    pub out_blocks: Vec<(u64, Vec<u8>)>,
}

/// A completed command.
#[derive(Debug, Clone)]
pub struct Completion {
    pub entry: [u8; ENTRY_SIZE],
    pub ds: DeliveryStatus,
    /// The whole output message (outlen bytes: inline + blocks).
    pub out: Vec<u8>,
    pub out_blocks: Vec<Vec<u8>>,
}

impl Completion {
    pub fn header(&self) -> OutHeader {
        OutHeader::decode(&self.out).unwrap()
    }
    pub fn status(&self) -> CmdStatus {
        assert_eq!(self.ds, DeliveryStatus::OK, "delivery failed");
        self.header().status
    }
    pub fn ok(&self) -> &Self {
        let h = self.header();
        assert_eq!(
            (self.ds, h.status),
            (DeliveryStatus::OK, CmdStatus::OK),
            "syndrome {:#x}",
            h.syndrome
        );
        self
    }
    pub fn be32(&self, off: usize) -> u32 {
        u32::from_be_bytes(self.out[off..off + 4].try_into().unwrap())
    }
}

pub struct Harness {
    pub f: Arc<LocalFunction>,
    pub bar: Arc<dyn Mmio>,
    pub ctl: Control,
    pub cmdq: DmaMem,
    pub mbox: DmaMem,
    token: std::sync::atomic::AtomicU8,
}

/// An input message: header then zeroes to `len`.
pub fn msg(op: Opcode, op_mod: u16, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len.max(16)];
    InHeader::new(op, op_mod).encode_into(&mut m).unwrap();
    m
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
        Harness {
            f,
            bar,
            ctl,
            cmdq,
            mbox,
            token: 1.into(),
        }
    }

    /// Waits for `initializing` to clear and programs the command queue.
    pub fn new(profile: Profile) -> Self {
        let h = Self::raw(profile);
        h.wait_ready();
        h.program_cmdq();
        h
    }

    pub fn wait_ready(&self) {
        let t = Instant::now();
        while self.bar.read32_be(iseg::INITIALIZING.byte as u64) >> 31 != 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "firmware never finished booting"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    pub fn program_cmdq(&self) {
        let (h, l) = iseg::cmdq_addr_words(CMDQ_IOVA, iseg::NicInterface::FullDriver).unwrap();
        self.bar.write32_be(iseg::CMDQ_ADDR_H.byte as u64, h);
        self.bar.write32_be(iseg::CMDQ_ADDR_L.byte as u64, l);
    }

    pub fn next_token(&self) -> u8 {
        loop {
            let t = self.token.fetch_add(1, Ordering::Relaxed);
            if t != 0 {
                return t;
            }
        }
    }

    /// Builds the entry and chains for `input` with an output of `outlen` bytes in `slot`.
    pub fn prepare(&self, slot: u32, input: &[u8], outlen: usize) -> Prepared {
        let token = self.next_token();
        let base = MBOX_IOVA + slot as u64 * MBOX_PER_SLOT as u64;
        let chain = |first: u64, len: usize, data: Option<&[u8]>| -> Vec<(u64, Vec<u8>)> {
            let n = mb::blocks_for_len(len);
            (0..n)
                .map(|i| {
                    let addr = first + (i * BLOCK_ALIGN) as u64;
                    let mut b = vec![0u8; BLOCK_SIZE];
                    if let Some(d) = data {
                        let r = mb::block_range(len, i).unwrap();
                        b[..r.len()].copy_from_slice(&d[r]);
                    }
                    let next = if i + 1 < n {
                        addr + BLOCK_ALIGN as u64
                    } else {
                        0
                    };
                    BlockCtrl {
                        next,
                        block_num: i as u32,
                        token,
                        ctrl_sig: 0,
                        sig: 0,
                    }
                    .encode_into(&mut b)
                    .unwrap();
                    mb::sign_block(&mut b).unwrap();
                    (addr, b)
                })
                .collect()
        };
        let in_blocks = chain(base, input.len(), Some(input));
        let out_blocks = chain(base + 32 * BLOCK_ALIGN as u64, outlen, None);
        let mut inline = [0u8; INLINE_SIZE];
        let n = input.len().min(INLINE_SIZE);
        inline[..n].copy_from_slice(&input[..n]);
        let entry = CmdEntry::new_request(
            inline,
            input.len() as u32,
            in_blocks.first().map_or(0, |b| b.0),
            outlen as u32,
            out_blocks.first().map_or(0, |b| b.0),
            token,
        )
        .encode();
        Prepared {
            slot,
            entry,
            in_blocks,
            out_blocks,
        }
    }

    /// Writes a prepared command to memory (entry last) without ringing.
    pub fn write(&self, p: &Prepared) {
        for (addr, b) in p.in_blocks.iter().chain(&p.out_blocks) {
            self.mem_write(*addr, b);
        }
        let off = (p.slot as usize) * 64;
        self.cmdq.write(off, &p.entry[..ENTRY_SIZE - 1]);
        fence(Ordering::Release);
        self.cmdq
            .write(off + ENTRY_SIZE - 1, &p.entry[ENTRY_SIZE - 1..]);
        fence(Ordering::Release);
    }

    pub fn mem_write(&self, addr: u64, data: &[u8]) {
        let off = (addr - MBOX_IOVA) as usize;
        self.mbox.write(off, data);
    }

    pub fn mem_read(&self, addr: u64, len: usize) -> Vec<u8> {
        self.mbox.read((addr - MBOX_IOVA) as usize, len)
    }

    pub fn ring(&self, bits: u32) {
        self.bar.write32_be(iseg::CMD_DBELL.byte as u64, bits);
    }

    pub fn post(&self, p: &Prepared) {
        self.write(p);
        self.ring(1 << p.slot);
    }

    pub fn owned_by_hw(&self, slot: u32) -> bool {
        ce::owner_is_hw(
            self.cmdq
                .read_u8(slot as usize * 64 + ce::STATUS_OWN_OFFSET),
        )
    }

    /// Polls until the slot is back with software, or `timeout`.
    pub fn wait(&self, p: &Prepared, timeout: Duration) -> Option<Completion> {
        let t = Instant::now();
        while self.owned_by_hw(p.slot) {
            if t.elapsed() > timeout {
                return None;
            }
            std::thread::yield_now();
        }
        Some(self.read_completion(p))
    }

    pub fn read_completion(&self, p: &Prepared) -> Completion {
        let e: [u8; ENTRY_SIZE] = self
            .cmdq
            .read(p.slot as usize * 64, ENTRY_SIZE)
            .try_into()
            .unwrap();
        let outlen = u32::from_be_bytes(p.entry[0x38..0x3C].try_into().unwrap()) as usize;
        let mut out = vec![0u8; outlen];
        let n = outlen.min(INLINE_SIZE);
        out[..n].copy_from_slice(&e[ce::OUT_INLINE..ce::OUT_INLINE + n]);
        let mut blocks = Vec::new();
        for (i, (addr, _)) in p.out_blocks.iter().enumerate() {
            let b = self.mem_read(*addr, BLOCK_SIZE);
            let r = mb::block_range(outlen, i).unwrap();
            let len = r.len();
            out[r].copy_from_slice(&b[..len]);
            blocks.push(b);
        }
        Completion {
            ds: ce::delivery_status(e[ce::STATUS_OWN_OFFSET]),
            entry: e,
            out,
            out_blocks: blocks,
        }
    }

    /// Runs one command in slot 0 and waits for it (5 s).
    pub fn exec(&self, input: &[u8], outlen: usize) -> Completion {
        self.exec_in(0, input, outlen)
    }

    pub fn exec_in(&self, slot: u32, input: &[u8], outlen: usize) -> Completion {
        let p = self.prepare(slot, input, outlen);
        self.post(&p);
        self.wait(&p, Duration::from_secs(5))
            .expect("command did not complete")
    }

    /// A command with an all-zero body of ifc's input size (16 bytes for
    /// unknown opcodes) and ifc's output size.
    pub fn simple(&self, op: Opcode, op_mod: u16) -> Completion {
        let s = cxu_hal::ifc::commands::sizes(op);
        let (inlen, outlen) = s.map_or((16, 16), |s| (s.inlen, s.outlen));
        self.exec(&msg(op, op_mod, inlen), outlen)
    }

    /// ENABLE_HCA, SET_ISSI 1, boot pages, init pages, INIT_HCA.
    pub fn bring_up(&self, pages: &DmaMem) {
        self.simple(Opcode::ENABLE_HCA, 0).ok();
        let mut set_issi = msg(Opcode::SET_ISSI, 0, 16);
        set_issi[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
        self.exec(&set_issi, 16).ok();
        let mut next = 0usize;
        for stage in [1u16, 2] {
            let q = self.simple(Opcode::QUERY_PAGES, stage);
            q.ok();
            let n = q.be32(0x0C) as usize;
            self.give_pages(pages, next, n).ok();
            next += n;
        }
        self.simple(Opcode::INIT_HCA, 0).ok();
    }

    /// MANAGE_PAGES GIVE of `n` pages of `pages` starting at page `first`.
    pub fn give_pages(&self, pages: &DmaMem, first: usize, n: usize) -> Completion {
        let mut m = msg(Opcode::MANAGE_PAGES, 1, 16 + 8 * n);
        m[0x0C..0x10].copy_from_slice(&(n as u32).to_be_bytes());
        for i in 0..n {
            let a = pages.addr((first + i) * 4096);
            m[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_be_bytes());
        }
        self.exec_in(31, &m, 16)
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
