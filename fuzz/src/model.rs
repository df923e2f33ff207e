//! `model_cmd`: the device model (`cxu_qemu`) against a driver that writes
//! whatever the fuzzer says. Each input is a session on a fresh in-process
//! function ([`LocalFunction`], zero boot time and latency): optional honest
//! bring-up, then steps that post command entries and mailbox chains (well
//! formed and then mutated, or raw entries with arbitrary pointers), poke BAR0
//! and config space, or reset the function.
//!
//! What must hold, as for real firmware:
//! * every command handed to the device comes back (a result or a delivery
//!   error) within [`COMPLETION_WAIT`], with its ownership bit cleared;
//! * nothing panics (a panic in a model thread poisons nothing here but the
//!   final check would then fail);
//! * afterwards, once the driver sets the function up again (bus master on,
//!   firmware ready, queue address programmed), a NOP completes with
//!   delivery status OK.
//!
//! DMA memory comes from `cxu_dma` (so its `unsafe` runs under the fuzzer
//! too); the harness itself has no `unsafe`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use cxu_dma::{DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, ENTRY_SIZE, INLINE_SIZE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::header::InHeader;
use cxu_hal::ifc::iseg::{self, NicInterface};
use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_ALIGN, BLOCK_SIZE};
use cxu_hal::ifc::{DeliveryStatus, Opcode};
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

use crate::simple::OPCODES;

/// How long the model may take to give a command back.
pub const COMPLETION_WAIT: Duration = Duration::from_secs(5);
/// Mailbox blocks per chain in the harness's layout.
const CHAIN_BLOCKS: usize = 16;
/// Mailbox area: input chain, output chain, spare blocks for stray pointers.
const MBOX_BLOCKS: usize = 3 * CHAIN_BLOCKS;
/// Firmware pages the bring-up can give.
const FW_PAGES: usize = 64;

/// An address the driver writes into an entry or a block's `next`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Ptr {
    /// Block `n` of the harness's mailbox area (may be misaligned by `skew`).
    Block(u8, u16),
    /// The command page itself.
    CmdPage(u16),
    /// Anything.
    Raw(u64),
}

/// A change to a well-formed command before it is posted.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Mutation {
    /// Entry byte `off % 64` := `val` (the ownership byte keeps HW ownership).
    EntryByte(u8, u8),
    /// Byte `off % 576` of input block `n` := `val`.
    InBlockByte(u8, u16, u8),
    /// Byte `off % 576` of output block `n` := `val`.
    OutBlockByte(u8, u16, u8),
    /// `next` of input block `n`.
    InNext(u8, Ptr),
    /// `next` of output block `n`.
    OutNext(u8, Ptr),
    /// The entry's `in_ptr`.
    InPtr(Ptr),
    /// The entry's `out_ptr`.
    OutPtr(Ptr),
    /// The entry's `inlen`.
    Inlen(u32),
    /// The entry's `outlen`.
    Outlen(u32),
}

/// A command built correctly, then mutated.
#[derive(Arbitrary, Debug, Clone)]
pub struct Command {
    /// Slot (modulo 32).
    pub slot: u8,
    /// Index into [`OPCODES`]; past its end, `raw_opcode` is used.
    pub opcode: u8,
    /// Any opcode.
    pub raw_opcode: u16,
    /// The header's op_mod.
    pub op_mod: u16,
    /// The input after the 16-byte header part (its first 8 bytes also fill
    /// bytes 8..16).
    pub body: Vec<u8>,
    /// Output length beyond the header (modulo 8 KiB).
    pub outlen: u16,
    /// Changes made after building (the first 16 apply).
    pub mutations: Vec<Mutation>,
    /// Re-sign the entry and blocks after the mutations.
    pub resign: bool,
}

/// One step of a session.
#[derive(Arbitrary, Debug, Clone)]
pub enum Step {
    /// Post a command and wait for it.
    Command(Command),
    /// Post a raw entry (owner set) and wait for it.
    Raw {
        slot: u8,
        entry: [u8; ENTRY_SIZE],
        in_ptr: Ptr,
        out_ptr: Ptr,
        sign: bool,
    },
    /// Ring the doorbell with a vector of slots the driver did not prepare.
    Doorbell(u32),
    /// A BAR0 write (init segment, MSI-X table, UAR pages, anything).
    Bar0Write(u32, u32),
    /// A BAR0 read.
    Bar0Read(u32),
    /// A config-space write.
    ConfigWrite(u16, u32),
    /// Function-level reset.
    Reset,
}

/// A whole input of `model_cmd`.
#[derive(Arbitrary, Debug, Clone)]
pub struct Session {
    /// Bring the HCA up honestly first (so commands reach their handlers).
    pub bring_up: bool,
    /// The device has command checksums on.
    pub checksum: bool,
    /// The steps (the first 32 are run).
    pub steps: Vec<Step>,
}

/// The harness: a function with a command page, a mailbox area and FW pages.
struct Harness {
    f: Arc<LocalFunction>,
    bar: Arc<dyn Mmio>,
    cmdq: DmaRegion,
    mbox: DmaRegion,
    pages: DmaRegion,
    token: u8,
}

impl Harness {
    fn new(checksum: bool) -> Harness {
        let profile = Profile {
            boot_time: Duration::ZERO,
            health_tick: Duration::from_millis(50),
            workers: 2,
            cmdif_checksum: checksum,
            ..Profile::default()
        };
        let f = Arc::new(LocalFunction::new(profile));
        let dma = DmaContext::new(f.clone() as Arc<dyn PciFunction>).expect("DMA context");
        let cmdq = dma.alloc(4096, PageSize::Base4K).expect("command page");
        let mbox = dma
            .alloc(MBOX_BLOCKS * BLOCK_ALIGN, PageSize::Base4K)
            .expect("mailboxes");
        let pages = dma
            .alloc(FW_PAGES * 4096, PageSize::Base4K)
            .expect("FW pages");
        let bar = f.bar(0).expect("BAR0");
        let h = Harness {
            f,
            bar,
            cmdq,
            mbox,
            pages,
            token: 0,
        };
        h.setup();
        h
    }

    /// What a driver does before using the queue: bus master on, wait for
    /// firmware, program the queue address.
    fn setup(&self) {
        self.f.set_bus_master(true).expect("config write");
        let t = Instant::now();
        while iseg::INITIALIZING.extract(self.bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
            assert!(t.elapsed() < COMPLETION_WAIT, "firmware never became ready");
            std::thread::yield_now();
        }
        let (h, l) =
            iseg::cmdq_addr_words(self.cmdq.iova(), NicInterface::FullDriver).expect("aligned");
        self.bar.write32_be(iseg::CMDQ_ADDR_H.byte as u64, h);
        self.bar.write32_be(iseg::CMDQ_ADDR_L.byte as u64, l);
    }

    fn next_token(&mut self) -> u8 {
        self.token = self.token.wrapping_add(1).max(1);
        self.token
    }

    fn ptr(&self, p: Ptr) -> u64 {
        match p {
            Ptr::Block(n, skew) => {
                let n = usize::from(n) % MBOX_BLOCKS;
                self.mbox.iova() + (n * BLOCK_ALIGN) as u64 + u64::from(skew % 1024)
            }
            Ptr::CmdPage(off) => self.cmdq.iova() + u64::from(off % 4096),
            Ptr::Raw(a) => a,
        }
    }

    fn block_iova(&self, first: usize, i: usize) -> u64 {
        self.mbox.iova() + ((first + i) * BLOCK_ALIGN) as u64
    }

    /// Builds `msg`'s chains in blocks 0.. (input) and 16.. (output).
    fn chains(&self, msg: &[u8], outlen: usize, token: u8) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let build = |first: usize, len: usize, data: Option<&[u8]>| -> Vec<Vec<u8>> {
            let n = mb::blocks_for_len(len).min(CHAIN_BLOCKS);
            (0..n)
                .map(|i| {
                    let mut b = vec![0u8; BLOCK_SIZE];
                    if let (Some(d), Ok(r)) = (data, mb::block_range(len, i)) {
                        b[..r.len()].copy_from_slice(&d[r]);
                    }
                    let next = if i + 1 < n {
                        self.block_iova(first, i + 1)
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
                    .expect("a whole block");
                    b
                })
                .collect()
        };
        (
            build(0, msg.len(), Some(msg)),
            build(CHAIN_BLOCKS, outlen, None),
        )
    }

    /// Writes the chains and the entry (ownership last) and rings `slot`.
    fn post(&self, slot: u32, entry: &[u8; ENTRY_SIZE], ins: &[Vec<u8>], outs: &[Vec<u8>]) {
        let view = self.mbox.view();
        for (i, b) in ins.iter().enumerate() {
            view.write_bytes(i * BLOCK_ALIGN, b).expect("in the area");
        }
        for (i, b) in outs.iter().enumerate() {
            view.write_bytes((CHAIN_BLOCKS + i) * BLOCK_ALIGN, b)
                .expect("in the area");
        }
        let e = self
            .cmdq
            .subview(slot as usize * ENTRY_SIZE, ENTRY_SIZE)
            .expect("in the page");
        e.write_bytes(0, &entry[..STATUS_OWN_OFFSET])
            .expect("entry");
        e.store_u8_release(STATUS_OWN_OFFSET, entry[STATUS_OWN_OFFSET] | ce::OWNER_HW)
            .expect("entry");
        cxu_dma::fence::wmb();
        self.bar.write32_be(iseg::CMD_DBELL.byte as u64, 1 << slot);
    }

    /// Waits for `slot` to come back; panics if the model keeps it.
    fn wait(&self, slot: u32, what: &dyn std::fmt::Debug) -> [u8; ENTRY_SIZE] {
        let e = self
            .cmdq
            .subview(slot as usize * ENTRY_SIZE, ENTRY_SIZE)
            .expect("in the page");
        let t = Instant::now();
        while ce::owner_is_hw(e.load_u8_acquire(STATUS_OWN_OFFSET).expect("entry")) {
            assert!(
                t.elapsed() < COMPLETION_WAIT,
                "the model kept slot {slot}: {what:?}"
            );
            std::thread::yield_now();
        }
        let mut raw = [0u8; ENTRY_SIZE];
        e.read_bytes(0, &mut raw).expect("entry");
        raw
    }

    /// An honest command; returns the delivery status and the output's inline part.
    fn exec(&mut self, slot: u32, msg: &[u8], outlen: usize) -> (DeliveryStatus, Vec<u8>) {
        let token = self.next_token();
        let (ins, outs) = self.chains(msg, outlen, token);
        let entry = self.entry(msg, outlen, token, !ins.is_empty(), !outs.is_empty());
        let (ins, outs) = (sign_all(ins), sign_all(outs));
        self.post(slot, &entry, &ins, &outs);
        let done = self.wait(slot, &Opcode(u16::from_be_bytes([msg[0], msg[1]])));
        let mut out = done[ce::OUT_INLINE..ce::OUT_INLINE + INLINE_SIZE].to_vec();
        if outlen > INLINE_SIZE {
            let mut b = vec![0u8; mb::DATA_SIZE];
            self.mbox
                .view()
                .read_bytes(CHAIN_BLOCKS * BLOCK_ALIGN, &mut b)
                .expect("area");
            out.extend_from_slice(&b);
        }
        (ce::delivery_status(done[STATUS_OWN_OFFSET]), out)
    }

    fn entry(
        &self,
        msg: &[u8],
        outlen: usize,
        token: u8,
        in_chain: bool,
        out_chain: bool,
    ) -> [u8; ENTRY_SIZE] {
        let mut inline = [0u8; INLINE_SIZE];
        let n = msg.len().min(INLINE_SIZE);
        inline[..n].copy_from_slice(&msg[..n]);
        let in_ptr = if in_chain { self.block_iova(0, 0) } else { 0 };
        let out_ptr = if out_chain {
            self.block_iova(CHAIN_BLOCKS, 0)
        } else {
            0
        };
        CmdEntry::new_request(
            inline,
            msg.len() as u32,
            in_ptr,
            outlen as u32,
            out_ptr,
            token,
        )
        .encode()
    }

    /// ENABLE_HCA, SET_ISSI 1, boot and init pages, INIT_HCA, as a driver does.
    fn bring_up(&mut self) {
        let simple = |op: Opcode, op_mod: u16, len: usize| {
            let mut m = vec![0u8; len];
            InHeader::new(op, op_mod)
                .encode_into(&mut m)
                .expect("header");
            m
        };
        self.exec(0, &simple(Opcode::ENABLE_HCA, 0, 16), 16);
        let mut issi = simple(Opcode::SET_ISSI, 0, 16);
        issi[0x0A..0x0C].copy_from_slice(&1u16.to_be_bytes());
        self.exec(0, &issi, 16);
        let mut given = 0usize;
        for stage in [1u16, 2] {
            let (ds, out) = self.exec(0, &simple(Opcode::QUERY_PAGES, stage, 16), 16);
            let want = u32::from_be_bytes([out[0x0C], out[0x0D], out[0x0E], out[0x0F]]) as usize;
            if ds != DeliveryStatus::OK || out[0] != 0 {
                return;
            }
            let n = want.min(FW_PAGES - given).min(60);
            let mut m = simple(Opcode::MANAGE_PAGES, 1, 16 + 8 * n);
            m[0x0C..0x10].copy_from_slice(&(n as u32).to_be_bytes());
            for i in 0..n {
                let a = self.pages.iova() + ((given + i) * 4096) as u64;
                m[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_be_bytes());
            }
            self.exec(31, &m, 16);
            given += n;
        }
        self.exec(0, &simple(Opcode::INIT_HCA, 0, 96), 16);
    }

    fn command(&mut self, c: &Command) {
        let slot = u32::from(c.slot % 32);
        let op = OPCODES
            .get(usize::from(c.opcode))
            .copied()
            .unwrap_or(Opcode(c.raw_opcode));
        let mut msg = vec![0u8; 16 + c.body.len().min(CHAIN_BLOCKS * mb::DATA_SIZE - 16)];
        let n = msg.len() - 16;
        msg[16..].copy_from_slice(&c.body[..n]);
        // The body's first 8 bytes also fill the rest of the inline input.
        let k = c.body.len().min(8);
        msg[8..8 + k].copy_from_slice(&c.body[..k]);
        InHeader::new(op, c.op_mod)
            .encode_into(&mut msg)
            .expect("header");
        let outlen = 8 + usize::from(c.outlen) % (CHAIN_BLOCKS * mb::DATA_SIZE);
        let token = self.next_token();
        let (mut ins, mut outs) = self.chains(&msg, outlen, token);
        let mut entry = self.entry(&msg, outlen, token, !ins.is_empty(), !outs.is_empty());
        for m in c.mutations.iter().take(16) {
            self.mutate(*m, &mut entry, &mut ins, &mut outs);
        }
        if c.resign {
            ce::sign(&mut entry);
            ins = sign_all(ins);
            outs = sign_all(outs);
        }
        self.post(slot, &entry, &ins, &outs);
        self.wait(slot, c);
    }

    fn mutate(
        &self,
        m: Mutation,
        entry: &mut [u8; ENTRY_SIZE],
        ins: &mut [Vec<u8>],
        outs: &mut [Vec<u8>],
    ) {
        let block = |v: &mut [Vec<u8>], n: u8| -> Option<usize> {
            (!v.is_empty()).then(|| usize::from(n) % v.len())
        };
        match m {
            Mutation::EntryByte(off, val) => entry[usize::from(off) % ENTRY_SIZE] = val,
            Mutation::InBlockByte(n, off, val) => {
                if let Some(i) = block(ins, n) {
                    ins[i][usize::from(off) % BLOCK_SIZE] = val;
                }
            }
            Mutation::OutBlockByte(n, off, val) => {
                if let Some(i) = block(outs, n) {
                    outs[i][usize::from(off) % BLOCK_SIZE] = val;
                }
            }
            Mutation::InNext(n, p) => {
                if let Some(i) = block(ins, n) {
                    let _ = mb::NEXT.set(&mut ins[i], self.ptr(p));
                }
            }
            Mutation::OutNext(n, p) => {
                if let Some(i) = block(outs, n) {
                    let _ = mb::NEXT.set(&mut outs[i], self.ptr(p));
                }
            }
            Mutation::InPtr(p) => {
                let _ = ce::IN_PTR.set(entry, self.ptr(p));
            }
            Mutation::OutPtr(p) => {
                let _ = ce::OUT_PTR.set(entry, self.ptr(p));
            }
            Mutation::Inlen(v) => {
                let _ = ce::INLEN.set(entry, u64::from(v));
            }
            Mutation::Outlen(v) => {
                let _ = ce::OUTLEN.set(entry, u64::from(v));
            }
        }
    }

    fn raw(
        &mut self,
        slot: u8,
        mut entry: [u8; ENTRY_SIZE],
        in_ptr: Ptr,
        out_ptr: Ptr,
        sign: bool,
    ) {
        let slot = u32::from(slot % 32);
        let _ = ce::IN_PTR.set(&mut entry, self.ptr(in_ptr));
        let _ = ce::OUT_PTR.set(&mut entry, self.ptr(out_ptr));
        if entry[0] >= 16 {
            entry[0] = ce::PCI_CMD_XPORT;
        }
        entry[STATUS_OWN_OFFSET] |= ce::OWNER_HW;
        if sign {
            ce::sign(&mut entry);
        }
        self.post(slot, &entry, &[], &[]);
        self.wait(slot, &entry);
    }

    /// A doorbell for slots nobody prepared: entries the device owns from an
    /// earlier step are not there (every step waits), so the model sees
    /// software-owned or stale entries and must ignore or refuse them.
    fn doorbell(&self, v: u32) {
        self.bar.write32_be(iseg::CMD_DBELL.byte as u64, v);
        let t = Instant::now();
        for slot in 0..32u32 {
            let e = self
                .cmdq
                .subview(slot as usize * ENTRY_SIZE, ENTRY_SIZE)
                .expect("page");
            while ce::owner_is_hw(e.load_u8_acquire(STATUS_OWN_OFFSET).expect("entry")) {
                assert!(
                    t.elapsed() < COMPLETION_WAIT,
                    "the model kept slot {slot} after doorbell {v:#x}"
                );
                std::thread::yield_now();
            }
        }
    }
}

fn sign_all(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    for b in &mut v {
        mb::sign_block(b).expect("a whole block");
    }
    v
}

/// Runs one session.
pub fn run(s: Session) {
    let mut h = Harness::new(s.checksum);
    if s.bring_up {
        h.bring_up();
    }
    for step in s.steps.iter().take(32) {
        match step {
            Step::Command(c) => h.command(c),
            Step::Raw {
                slot,
                entry,
                in_ptr,
                out_ptr,
                sign,
            } => h.raw(*slot, *entry, *in_ptr, *out_ptr, *sign),
            Step::Doorbell(v) => h.doorbell(*v),
            Step::Bar0Write(off, v) => {
                let off = u64::from(*off) % h.bar.len();
                // The queue address and doorbell are the harness's; a driver that
                // moves its queue under the device's feet gets what it asked for,
                // which is not a model bug.
                if !(0x10..0x1C).contains(&off) {
                    h.bar.write32_be(off & !3, *v);
                    h.setup();
                }
            }
            Step::Bar0Read(off) => {
                let _ = h.bar.read32_be((u64::from(*off) % h.bar.len()) & !3);
            }
            Step::ConfigWrite(off, v) => {
                let _ = h.f.config_write(*off % 4096, &v.to_le_bytes());
                h.setup();
            }
            Step::Reset => {
                h.f.reset().expect("reset");
                h.setup();
            }
        }
    }
    h.setup();
    let mut nop = vec![0u8; 16];
    InHeader::new(Opcode::NOP, 0)
        .encode_into(&mut nop)
        .expect("header");
    let (ds, _) = h.exec(0, &nop, 16);
    assert_eq!(
        ds,
        DeliveryStatus::OK,
        "NOP not delivered after the session"
    );
}
