//! A minimal command submitter over any `PciFunction`, built from `cxu_hal::ifc`
//! layouts and `cxu_dma` memory only (not the driver): it checks the device and
//! the VFIO path independently of the driver's own command queue.
//!
//! Layout: one 4 KiB command page (32 entries of 64 bytes) and, per slot, 16 input
//! and 16 output mailbox blocks 1 KiB apart (messages up to 8 KiB each way).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, ENTRY_SIZE, INLINE_SIZE};
use cxu_hal::ifc::header::{InHeader, OutHeader};
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_ALIGN, BLOCK_SIZE};
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::{Mmio, PciFunction};

/// Mailbox blocks per direction and slot.
const BLOCKS: usize = 16;
/// Mailbox bytes per slot (input blocks, then output blocks).
const MBOX_PER_SLOT: usize = 2 * BLOCKS * BLOCK_ALIGN;
/// Command slots.
pub const SLOTS: u32 = 32;

/// `.ctx("what")?` on any error that displays.
pub trait Ctx<T> {
    /// Turns the error into `"what: error"`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// An input message: the header, then zeroes up to `len`.
pub fn msg(op: Opcode, op_mod: u16, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len.max(16)];
    // 16 bytes always hold the header.
    let _ = InHeader::new(op, op_mod).encode_into(&mut m);
    m
}

/// A command written to memory and not yet known to be complete.
pub struct Posted {
    /// Its slot.
    pub slot: u32,
    outlen: usize,
    out_blocks: usize,
}

/// A completed command.
pub struct Completion {
    /// Delivery status from the entry.
    pub ds: DeliveryStatus,
    /// The output message (`outlen` bytes: inline part, then the blocks).
    pub out: Vec<u8>,
}

impl Completion {
    /// Delivery OK and command status OK, or why not.
    pub fn ok(&self) -> Result<&Self, String> {
        if self.ds != DeliveryStatus::OK {
            return Err(format!("delivery status {}", self.ds));
        }
        let h = OutHeader::decode(&self.out).ctx("output header")?;
        if h.status != CmdStatus::OK {
            return Err(format!("status {} syndrome {:#x}", h.status.0, h.syndrome));
        }
        Ok(self)
    }

    /// The big-endian dword at `off` of the output.
    pub fn be32(&self, off: usize) -> Result<u32, String> {
        let b = self
            .out
            .get(off..off + 4)
            .ok_or_else(|| format!("output too short for offset {off:#x}"))?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The submitter.
pub struct Submitter {
    /// The function.
    pub f: Arc<dyn PciFunction>,
    /// BAR0.
    pub bar: Arc<dyn Mmio>,
    /// DMA memory of the function.
    pub dma: DmaContext,
    cmdq: DmaRegion,
    mbox: DmaRegion,
    token: AtomicU8,
}

impl Submitter {
    /// Maps the command page and the mailboxes.
    pub fn new(f: Arc<dyn PciFunction>) -> Result<Self, String> {
        let bar = f.bar(0).ctx("BAR0")?;
        let dma = DmaContext::new(f.clone()).ctx("DMA context")?;
        let cmdq = dma.alloc(4096, PageSize::Base4K).ctx("command page")?;
        let mbox = dma
            .alloc(SLOTS as usize * MBOX_PER_SLOT, PageSize::Base4K)
            .ctx("mailboxes")?;
        Ok(Submitter {
            f,
            bar,
            dma,
            cmdq,
            mbox,
            token: AtomicU8::new(1),
        })
    }

    /// Waits until firmware clears `initializing`; returns how long it took.
    pub fn wait_ready(&self, timeout: Duration) -> Result<Duration, String> {
        let t = Instant::now();
        while self.bar.read32_be(iseg::INITIALIZING.byte as u64) >> 31 != 0 {
            if t.elapsed() > timeout {
                return Err(format!("initializing still set after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(t.elapsed())
    }

    /// Writes the command queue address (full-driver mode).
    pub fn program_cmdq(&self) -> Result<u64, String> {
        let (h, l) = iseg::cmdq_addr_words(self.cmdq.iova(), iseg::NicInterface::FullDriver)
            .ctx("cmdq address")?;
        self.bar.write32_be(iseg::CMDQ_ADDR_H.byte as u64, h);
        self.bar.write32_be(iseg::CMDQ_ADDR_L.byte as u64, l);
        Ok(self.cmdq.iova())
    }

    /// A fresh nonzero command token.
    pub fn next_token(&self) -> u8 {
        loop {
            let t = self.token.fetch_add(1, Ordering::Relaxed);
            if t != 0 {
                return t;
            }
        }
    }

    /// Writes the chain for `len` bytes (`data`, or zeroes for an output) at `first`
    /// (offset in `region`); returns the IOVA of the first block.
    pub fn write_chain(
        &self,
        region: &DmaRegion,
        first: usize,
        len: usize,
        data: Option<&[u8]>,
        token: u8,
    ) -> Result<u64, String> {
        let n = mb::blocks_for_len(len);
        if n > BLOCKS {
            return Err(format!("{len} bytes need {n} blocks, more than {BLOCKS}"));
        }
        let view = region.view();
        for i in 0..n {
            let off = first + i * BLOCK_ALIGN;
            let mut b = vec![0u8; BLOCK_SIZE];
            if let Some(d) = data {
                let r = mb::block_range(len, i).ctx("block range")?;
                b[..r.len()].copy_from_slice(&d[r]);
            }
            let next = if i + 1 < n {
                region.iova_at(off + BLOCK_ALIGN).ctx("next block")?
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
            .ctx("block control")?;
            mb::sign_block(&mut b).ctx("block signature")?;
            view.write_bytes(off, &b).ctx("mailbox write")?;
        }
        if n == 0 {
            Ok(0)
        } else {
            region.iova_at(first).ctx("first block")
        }
    }

    /// Writes the command into `slot` and hands it to hardware (ownership last),
    /// without ringing the doorbell.
    pub fn write(&self, slot: u32, input: &[u8], outlen: usize) -> Result<Posted, String> {
        if slot >= SLOTS {
            return Err(format!("slot {slot} out of range"));
        }
        let token = self.next_token();
        let base = slot as usize * MBOX_PER_SLOT;
        let in_first = self.write_chain(&self.mbox, base, input.len(), Some(input), token)?;
        self.write_entry(slot, input, outlen, in_first, token)
    }

    /// Writes the output chain of `slot` and the entry, whose input chain is at
    /// `in_ptr` (already written, with `token`), and hands it to hardware.
    pub fn write_entry(
        &self,
        slot: u32,
        input: &[u8],
        outlen: usize,
        in_ptr: u64,
        token: u8,
    ) -> Result<Posted, String> {
        if slot >= SLOTS {
            return Err(format!("slot {slot} out of range"));
        }
        let base = slot as usize * MBOX_PER_SLOT;
        let out_first =
            self.write_chain(&self.mbox, base + BLOCKS * BLOCK_ALIGN, outlen, None, token)?;
        let mut inline = [0u8; INLINE_SIZE];
        let n = input.len().min(INLINE_SIZE);
        inline[..n].copy_from_slice(&input[..n]);
        let entry = CmdEntry::new_request(
            inline,
            input.len() as u32,
            in_ptr,
            outlen as u32,
            out_first,
            token,
        )
        .encode();
        let view = self.cmdq.view();
        let off = slot as usize * ENTRY_SIZE;
        view.write_bytes(off, &entry[..ENTRY_SIZE - 1])
            .ctx("entry write")?;
        view.store_u8_release(off + ce::STATUS_OWN_OFFSET, entry[ce::STATUS_OWN_OFFSET])
            .ctx("ownership")?;
        Ok(Posted {
            slot,
            outlen,
            out_blocks: mb::blocks_for_len(outlen),
        })
    }

    /// Rings the command doorbell with `bits` (one bit per slot).
    pub fn ring(&self, bits: u32) {
        self.bar.write32_be(iseg::CMD_DBELL.byte as u64, bits);
    }

    /// Whether hardware still owns `slot`.
    pub fn hw_owned(&self, slot: u32) -> Result<bool, String> {
        let b = self
            .cmdq
            .view()
            .load_u8_acquire(slot as usize * ENTRY_SIZE + ce::STATUS_OWN_OFFSET)
            .ctx("ownership read")?;
        Ok(ce::owner_is_hw(b))
    }

    /// Polls the ownership bit until software owns the slot again.
    pub fn wait(&self, p: &Posted, timeout: Duration) -> Result<Completion, String> {
        let t = Instant::now();
        while self.hw_owned(p.slot)? {
            if t.elapsed() > timeout {
                return Err(format!("slot {} not completed after {timeout:?}", p.slot));
            }
            std::thread::yield_now();
        }
        self.read(p)
    }

    /// Reads a completed command's output.
    pub fn read(&self, p: &Posted) -> Result<Completion, String> {
        let mut e = [0u8; ENTRY_SIZE];
        self.cmdq
            .view()
            .read_bytes(p.slot as usize * ENTRY_SIZE, &mut e)
            .ctx("entry read")?;
        let mut out = vec![0u8; p.outlen];
        let n = p.outlen.min(INLINE_SIZE);
        out[..n].copy_from_slice(&e[ce::OUT_INLINE..ce::OUT_INLINE + n]);
        let base = p.slot as usize * MBOX_PER_SLOT + BLOCKS * BLOCK_ALIGN;
        let mut b = vec![0u8; BLOCK_SIZE];
        for i in 0..p.out_blocks {
            self.mbox
                .view()
                .read_bytes(base + i * BLOCK_ALIGN, &mut b)
                .ctx("output block")?;
            let r = mb::block_range(p.outlen, i).ctx("block range")?;
            let len = r.len();
            out[r].copy_from_slice(&b[..len]);
        }
        Ok(Completion {
            ds: ce::delivery_status(e[ce::STATUS_OWN_OFFSET]),
            out,
        })
    }

    /// Runs one command in `slot` and polls for it (5 s).
    pub fn exec_in(&self, slot: u32, input: &[u8], outlen: usize) -> Result<Completion, String> {
        let p = self.write(slot, input, outlen)?;
        self.ring(1 << slot);
        self.wait(&p, Duration::from_secs(5))
    }

    /// A command with an all-zero body of ifc's sizes for `op`, in slot 0.
    pub fn simple(&self, op: Opcode, op_mod: u16) -> Result<Completion, String> {
        let s = cxu_hal::ifc::commands::sizes(op);
        let (inlen, outlen) = s.map_or((16, 16), |s| (s.inlen, s.outlen));
        self.exec_in(0, &msg(op, op_mod, inlen), outlen)
    }
}
