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
//! The driver side is `cxu_testkit`'s submitter, its DMA memory from
//! `cxu_dma` (so that crate's `unsafe` runs under the fuzzer too); the harness
//! itself has no `unsafe`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use cxu_dma::{DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, ENTRY_SIZE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::mailbox::{self as mb, BLOCK_ALIGN, BLOCK_SIZE};
use cxu_hal::ifc::{DeliveryStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;
use cxu_testkit::{msg, Completion, Layout, MailboxBlock, Prepared, Submitter};

use crate::simple::OPCODES;

/// How long the model may take to give a command back.
pub const COMPLETION_WAIT: Duration = Duration::from_secs(5);
/// 32 slots, each with an input and an output chain of 16 blocks.
const LAYOUT: Layout = Layout {
    slots: 32,
    chain_blocks: 16,
};
/// Blocks in the mailbox area.
const MBOX_BLOCKS: usize = LAYOUT.mbox_len() / BLOCK_ALIGN;
/// Firmware pages the bring-up can give.
const FW_PAGES: usize = 64;

/// An address the driver writes into an entry or a block's `next`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Ptr {
    /// Block `n` counted from the command's slot's own chains (input blocks
    /// 0..16, output 16..32, then other slots'), misaligned by `skew`.
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

/// The harness: `cxu_testkit`'s submitter on a fresh function, and FW pages.
struct Harness {
    f: Arc<LocalFunction>,
    q: Submitter<DmaRegion>,
    pages: DmaRegion,
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
        let q = Submitter::alloc(&dma, LAYOUT).expect("command queue");
        let pages = dma
            .alloc(FW_PAGES * 4096, PageSize::Base4K)
            .expect("FW pages");
        let h = Harness { f, q, pages };
        h.setup();
        h
    }

    /// What a driver does before using the queue: bus master on, wait for
    /// firmware, program the queue address.
    fn setup(&self) {
        self.f.set_bus_master(true).expect("config write");
        self.q
            .wait_ready(COMPLETION_WAIT)
            .expect("firmware never became ready");
        self.q.program_cmdq().expect("aligned");
    }

    /// `p` as an address: blocks count from `slot`'s own chains, wrapping
    /// around the mailbox area (blocks past its two chains are other slots',
    /// never written or stale).
    fn ptr(&self, slot: u32, p: Ptr) -> u64 {
        match p {
            Ptr::Block(n, skew) => {
                let first = slot as usize * 2 * LAYOUT.chain_blocks;
                let n = (first + usize::from(n)) % MBOX_BLOCKS;
                self.q.mbox().iova() + (n * BLOCK_ALIGN) as u64 + u64::from(skew % 1024)
            }
            Ptr::CmdPage(off) => self.q.cmdq().iova() + u64::from(off % 4096),
            Ptr::Raw(a) => a,
        }
    }

    /// Writes `p` with the ownership bit set whatever the mutations did, and
    /// rings its slot.
    fn post(&self, mut p: Prepared) -> Prepared {
        p.entry[STATUS_OWN_OFFSET] |= ce::OWNER_HW;
        self.q.post(&p).expect("the harness's own memory");
        p
    }

    /// Waits for `p` to come back; panics if the model keeps it.
    fn wait(&self, p: &Prepared, what: &dyn std::fmt::Debug) -> Completion {
        self.q
            .wait(p, COMPLETION_WAIT)
            .unwrap_or_else(|e| panic!("the model kept slot {}: {e}: {what:?}", p.slot))
    }

    /// An honest command; returns its delivery status.
    fn exec(&self, slot: u32, m: &[u8], outlen: usize) -> DeliveryStatus {
        let p = self.q.prepare(slot, m, outlen).expect("fits the layout");
        let p = self.post(p);
        self.wait(&p, &Opcode(u16::from_be_bytes([m[0], m[1]]))).ds
    }

    /// ENABLE_HCA, SET_ISSI 1, boot and init pages, INIT_HCA, as a driver
    /// does; a fresh function must take it.
    fn bring_up(&self) {
        self.exec(0, &msg(Opcode::ENABLE_HCA, 0, 16), 16);
        self.q.init_hca(&self.pages).expect("honest bring-up");
    }

    fn command(&self, c: &Command) {
        let slot = u32::from(c.slot % 32);
        let op = OPCODES
            .get(usize::from(c.opcode))
            .copied()
            .unwrap_or(Opcode(c.raw_opcode));
        let max = LAYOUT.max_message();
        let mut m = msg(op, c.op_mod, 16 + c.body.len().min(max - 16));
        let n = m.len() - 16;
        m[16..].copy_from_slice(&c.body[..n]);
        // The body's first 8 bytes also fill the rest of the inline input.
        let k = c.body.len().min(8);
        m[8..8 + k].copy_from_slice(&c.body[..k]);
        let outlen = 8 + usize::from(c.outlen) % (max - 16);
        let mut p = self.q.prepare(slot, &m, outlen).expect("fits the layout");
        for mu in c.mutations.iter().take(16) {
            self.mutate(*mu, &mut p);
        }
        if c.resign {
            ce::sign(&mut p.entry);
            for b in p.in_blocks.iter_mut().chain(&mut p.out_blocks) {
                mb::sign_block(&mut b.bytes).expect("a whole block");
            }
        }
        let p = self.post(p);
        self.wait(&p, c);
    }

    fn mutate(&self, m: Mutation, p: &mut Prepared) {
        let slot = p.slot;
        let block = |v: &mut [MailboxBlock], n: u8| -> Option<usize> {
            (!v.is_empty()).then(|| usize::from(n) % v.len())
        };
        let (entry, ins, outs) = (&mut p.entry, &mut p.in_blocks, &mut p.out_blocks);
        match m {
            Mutation::EntryByte(off, val) => entry[usize::from(off) % ENTRY_SIZE] = val,
            Mutation::InBlockByte(n, off, val) => {
                if let Some(i) = block(ins, n) {
                    ins[i].bytes[usize::from(off) % BLOCK_SIZE] = val;
                }
            }
            Mutation::OutBlockByte(n, off, val) => {
                if let Some(i) = block(outs, n) {
                    outs[i].bytes[usize::from(off) % BLOCK_SIZE] = val;
                }
            }
            Mutation::InNext(n, to) => {
                if let Some(i) = block(ins, n) {
                    let _ = mb::NEXT.set(&mut ins[i].bytes, self.ptr(slot, to));
                }
            }
            Mutation::OutNext(n, to) => {
                if let Some(i) = block(outs, n) {
                    let _ = mb::NEXT.set(&mut outs[i].bytes, self.ptr(slot, to));
                }
            }
            Mutation::InPtr(to) => {
                let _ = ce::IN_PTR.set(entry, self.ptr(slot, to));
            }
            Mutation::OutPtr(to) => {
                let _ = ce::OUT_PTR.set(entry, self.ptr(slot, to));
            }
            Mutation::Inlen(v) => {
                let _ = ce::INLEN.set(entry, u64::from(v));
            }
            Mutation::Outlen(v) => {
                let _ = ce::OUTLEN.set(entry, u64::from(v));
            }
        }
    }

    fn raw(&self, slot: u8, mut entry: [u8; ENTRY_SIZE], in_ptr: Ptr, out_ptr: Ptr, sign: bool) {
        let slot = u32::from(slot % 32);
        let _ = ce::IN_PTR.set(&mut entry, self.ptr(slot, in_ptr));
        let _ = ce::OUT_PTR.set(&mut entry, self.ptr(slot, out_ptr));
        if entry[0] >= 16 {
            entry[0] = ce::PCI_CMD_XPORT;
        }
        entry[STATUS_OWN_OFFSET] |= ce::OWNER_HW;
        if sign {
            ce::sign(&mut entry);
        }
        let p = self.post(Prepared::raw(slot, entry));
        self.wait(&p, &entry);
    }

    /// A doorbell for slots nobody prepared: entries the device owns from an
    /// earlier step are not there (every step waits), so the model sees
    /// software-owned or stale entries and must ignore or refuse them.
    fn doorbell(&self, v: u32) {
        self.q.ring(v);
        let t = Instant::now();
        for slot in 0..32u32 {
            while self.q.hw_owned(slot).expect("in the page") {
                assert!(
                    t.elapsed() < COMPLETION_WAIT,
                    "the model kept slot {slot} after doorbell {v:#x}"
                );
                std::thread::yield_now();
            }
        }
    }
}

/// Runs one session.
pub fn run(s: Session) {
    let h = Harness::new(s.checksum);
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
                let bar = h.q.bar();
                let off = u64::from(*off) % bar.len();
                // The queue address and doorbell are the harness's; a driver that
                // moves its queue under the device's feet gets what it asked for,
                // which is not a model bug.
                if !(0x10..0x1C).contains(&off) {
                    bar.write32_be(off & !3, *v);
                    h.setup();
                }
            }
            Step::Bar0Read(off) => {
                let bar = h.q.bar();
                let _ = bar.read32_be((u64::from(*off) % bar.len()) & !3);
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
    let ds = h.exec(0, &msg(Opcode::NOP, 0, 16), 16);
    assert_eq!(
        ds,
        DeliveryStatus::OK,
        "NOP not delivered after the session"
    );
}
