//! The submitter: one command queue driven from `ifc` layouts, by polling.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::{fence, DmaContext, DmaRegion, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, ENTRY_SIZE, INLINE_SIZE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::iseg::{self, NicInterface};
use cxu_hal::ifc::mailbox::{self as mb, BLOCK_SIZE};
use cxu_hal::ifc::Opcode;
use cxu_hal::Mmio;

use crate::completion::Completion;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::mailbox::{chain, write_blocks};
use crate::memory::DeviceMemory;
use crate::prepared::{msg, Prepared};

/// How long [`Submitter::exec_in`] waits for a command.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between reads of `initializing` (each may trap to a hypervisor).
const READY_POLL: Duration = Duration::from_micros(100);

/// A command queue in `cmdq` with mailbox chains in `mbox`, laid out by a
/// [`Layout`], behind the init segment of `bar`. Commands are polled; any
/// thread may use it, one command per slot at a time.
pub struct Submitter<M> {
    bar: Arc<dyn Mmio>,
    cmdq: M,
    mbox: M,
    layout: Layout,
    token: AtomicU8,
}

impl Submitter<DmaRegion> {
    /// Allocates the command page and the mailboxes from `dma`, behind BAR0
    /// of its function.
    pub fn alloc(dma: &DmaContext, layout: Layout) -> Result<Self> {
        let bar = dma.function().bar(0)?;
        let cmdq = dma
            .alloc(4096, PageSize::Base4K)
            .map_err(Error::dma("command page"))?;
        let mbox = dma
            .alloc(layout.mbox_len(), PageSize::Base4K)
            .map_err(Error::dma("mailboxes"))?;
        Submitter::new(bar, cmdq, mbox, layout)
    }

    /// The DMA context the queue was allocated from.
    pub fn dma(&self) -> &DmaContext {
        self.cmdq.context()
    }
}

impl<M: DeviceMemory> Submitter<M> {
    /// A submitter over memory the caller mapped: `cmdq` must be a 4 KiB
    /// aligned command page holding the layout's entries, `mbox` its chains.
    pub fn new(bar: Arc<dyn Mmio>, cmdq: M, mbox: M, layout: Layout) -> Result<Self> {
        let layout = Layout::new(layout.slots, layout.chain_blocks)?;
        for (what, mem, need) in [
            ("command", &cmdq, layout.cmdq_len()),
            ("mailbox", &mbox, layout.mbox_len()),
        ] {
            if mem.len() < need {
                return Err(Error::MemoryTooSmall {
                    what,
                    need,
                    have: mem.len(),
                });
            }
        }
        Ok(Submitter {
            bar,
            cmdq,
            mbox,
            layout,
            token: AtomicU8::new(1),
        })
    }

    /// BAR0.
    pub fn bar(&self) -> &Arc<dyn Mmio> {
        &self.bar
    }

    /// The command page.
    pub fn cmdq(&self) -> &M {
        &self.cmdq
    }

    /// The mailbox memory.
    pub fn mbox(&self) -> &M {
        &self.mbox
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Waits until firmware clears `initializing`; returns how long it took.
    pub fn wait_ready(&self, timeout: Duration) -> Result<Duration> {
        let t = Instant::now();
        while iseg::INITIALIZING.extract(self.bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
            if t.elapsed() > timeout {
                return Err(Error::Initializing { after: timeout });
            }
            std::thread::sleep(READY_POLL);
        }
        Ok(t.elapsed())
    }

    /// Writes the command page's address (full-driver mode); returns it.
    pub fn program_cmdq(&self) -> Result<u64> {
        let (h, l) = iseg::cmdq_addr_words(self.cmdq.iova(), NicInterface::FullDriver)?;
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

    /// Builds the entry and both chains of `input` with `outlen` bytes of
    /// output, in `slot`'s place of the layout, with a fresh token.
    pub fn prepare(&self, slot: u32, input: &[u8], outlen: usize) -> Result<Prepared> {
        let token = self.next_token();
        let max = self.layout.chain_blocks;
        let in_first = self.mbox.iova_at(self.layout.in_chain(slot)?)?;
        let out_first = self.mbox.iova_at(self.layout.out_chain(slot)?)?;
        let in_blocks = chain(in_first, input.len(), input, token, max)?;
        let out_blocks = chain(out_first, outlen, &[], token, max)?;
        let mut inline = [0u8; INLINE_SIZE];
        let n = input.len().min(INLINE_SIZE);
        inline[..n].copy_from_slice(&input[..n]);
        let len32 = |len: usize| {
            u32::try_from(len).map_err(|_| Error::TooLong {
                len,
                blocks: mb::blocks_for_len(len),
                max,
            })
        };
        let entry = CmdEntry::new_request(
            inline,
            len32(input.len())?,
            in_blocks.first().map_or(0, |b| b.iova),
            len32(outlen)?,
            out_blocks.first().map_or(0, |b| b.iova),
            token,
        )
        .encode();
        Ok(Prepared {
            slot,
            entry,
            in_blocks,
            out_blocks,
            token,
            outlen,
        })
    }

    /// Writes the chains, then the entry with its `status_own` byte last (a
    /// release store), without ringing the doorbell.
    pub fn write(&self, p: &Prepared) -> Result<()> {
        let off = self.layout.entry_offset(p.slot)?;
        write_blocks(&self.mbox, &p.in_blocks)?;
        write_blocks(&self.mbox, &p.out_blocks)?;
        self.cmdq.write_at(off, &p.entry[..STATUS_OWN_OFFSET])?;
        self.cmdq
            .store_u8_release(off + STATUS_OWN_OFFSET, p.entry[STATUS_OWN_OFFSET])
    }

    /// Rings the command doorbell with `bits` (one per slot), after a write
    /// barrier so that entries written before reach the device first (the
    /// kernel's wmb() before iowrite32be).
    pub fn ring(&self, bits: u32) {
        fence::wmb();
        self.bar.write32_be(iseg::CMD_DBELL.byte as u64, bits);
    }

    /// Writes `p` and rings its slot's doorbell bit.
    pub fn post(&self, p: &Prepared) -> Result<()> {
        self.write(p)?;
        self.ring(1 << p.slot);
        Ok(())
    }

    /// Whether the device still owns `slot`.
    pub fn hw_owned(&self, slot: u32) -> Result<bool> {
        let off = self.layout.entry_offset(slot)?;
        let own = self.cmdq.load_u8_acquire(off + STATUS_OWN_OFFSET)?;
        Ok(ce::owner_is_hw(own))
    }

    /// Polls until software owns `p`'s slot again, then reads it back;
    /// [`Error::Timeout`] after `timeout`.
    pub fn wait(&self, p: &Prepared, timeout: Duration) -> Result<Completion> {
        let t = Instant::now();
        while self.hw_owned(p.slot)? {
            if t.elapsed() > timeout {
                return Err(Error::Timeout {
                    slot: p.slot,
                    after: timeout,
                });
            }
            std::thread::yield_now();
        }
        self.read_completion(p)
    }

    /// Reads the entry and `p.outlen` bytes of output (inline part, then
    /// `p.out_blocks`) without looking at ownership.
    pub fn read_completion(&self, p: &Prepared) -> Result<Completion> {
        let mut entry = [0u8; ENTRY_SIZE];
        self.cmdq
            .read_at(self.layout.entry_offset(p.slot)?, &mut entry)?;
        let mut out = vec![0u8; p.outlen];
        let n = p.outlen.min(INLINE_SIZE);
        out[..n].copy_from_slice(&entry[ce::OUT_INLINE..ce::OUT_INLINE + n]);
        let mut out_blocks = Vec::with_capacity(p.out_blocks.len());
        for (i, b) in p.out_blocks.iter().enumerate() {
            let mut bytes = vec![0u8; BLOCK_SIZE];
            let off = self
                .mbox
                .offset_of(b.iova, BLOCK_SIZE)
                .ok_or(Error::NotInMemory { iova: b.iova })?;
            self.mbox.read_at(off, &mut bytes)?;
            let r = mb::block_range(p.outlen, i)?;
            let len = r.len();
            out[r].copy_from_slice(&bytes[..len]);
            out_blocks.push(bytes);
        }
        Ok(Completion {
            ds: ce::delivery_status(entry[STATUS_OWN_OFFSET]),
            entry,
            out,
            out_blocks,
        })
    }

    /// Runs one command in `slot` and waits for it ([`EXEC_TIMEOUT`]).
    pub fn exec_in(&self, slot: u32, input: &[u8], outlen: usize) -> Result<Completion> {
        let p = self.prepare(slot, input, outlen)?;
        self.post(&p)?;
        self.wait(&p, EXEC_TIMEOUT)
    }

    /// A command in slot 0 with an all-zero body of ifc's sizes for `op`
    /// (16 bytes each way for an opcode ifc does not lay out).
    pub fn simple(&self, op: Opcode, op_mod: u16) -> Result<Completion> {
        let s = cxu_hal::ifc::commands::sizes(op);
        let (inlen, outlen) = s.map_or((16, 16), |s| (s.inlen, s.outlen));
        self.exec_in(0, &msg(op, op_mod, inlen), outlen)
    }
}
