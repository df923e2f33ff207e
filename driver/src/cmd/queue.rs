//! The command queue: one 4 KiB command page of entries, a pool of mailbox
//! blocks, and the lock-free submit and completion paths (DESIGN.md "One
//! command, end to end").
//!
//! Submit: claim a slot in the [`SlotMask`](super::slots::SlotMask) (one CAS), take a token, write the
//! mailbox chains and the entry, hand the entry over with a release store of
//! `status_own = 1`, publish the slot's state word, `wmb`, and write the slot's
//! bit to the doorbell ([`Queue::submit_batch`]: the bits of all its commands
//! in one write). The submit path never reads the BAR: behind a trapped BAR a
//! read is a round trip to the device (44-110 us in the QEMU guest,
//! `tests/trapped_access.rs` keeps it so). Nothing is locked: the per-slot
//! buffers are owned by whoever owns the slot (their mutex is only ever
//! `try_lock`ed, and a failure would be a driver bug reported as an error).
//!
//! Complete: any thread that sees a posted slot's ownership bit back at 0 wins
//! the state word's CAS once ([`SlotSync`](super::slot::SlotSync)); in polling mode the waiters poll
//! every busy slot, so one waiter retires others' commands; in events mode a
//! waiter looks at its own slot and consumes the event queue itself when
//! nobody else does ([`Lead`]), completing the slots of every EQE it reads
//! ([`Queue::complete_vector`]); the EQ thread does the same after an
//! interrupt, and only waiters asleep on their slot are unparked. The waiter copies the output out of DMA memory,
//! checks it, frees the slot and returns owned bytes.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cxu_dma::{fence, BlockPool, BlockPoolConfig, DmaContext, DmaRegion, DmaView, PageSize};
use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, ENTRY_SIZE, INLINE_SIZE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::header::{InHeader, HEADER_SIZE};
use cxu_hal::ifc::iseg::{self, CmdqGeometry, NicInterface};
use cxu_hal::ifc::Opcode;
use cxu_hal::Mmio;
use parking_lot::Mutex;
use tracing::debug;

use super::chain::Chain;
use super::core::{Core, Entries};
pub use super::handle::CmdHandle;
use super::lead::{After, EventRing, Lead};
use super::policy::{SlotPolicy, Slots};
use super::slots::ClaimError;
use super::stats::{OpStats, Stats};
use super::time::{self, Instant};
use crate::error::{Error, FatalCause, Result};

/// Mailbox blocks of the page slot's own pool: a MANAGE_PAGES GIVE of 512
/// pages needs 9 input blocks, a TAKE of 768 pages 13 output blocks.
pub const PAGE_SLOT_BLOCKS: usize = 32;

/// Settings of a queue.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// How long a command may run before its caller gets a timeout.
    pub timeout: Duration,
    /// How long a submitter waits for a free slot.
    pub slot_wait: Duration,
    /// Mailbox blocks in the pool shared by the regular slots (the page
    /// slot has its own [`PAGE_SLOT_BLOCKS`], so user commands that drain
    /// this pool never starve MANAGE_PAGES).
    pub mailbox_blocks: usize,
    /// The slot allocator: lock-free unless a benchmark asks for the baseline.
    pub slot_policy: SlotPolicy,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            timeout: Duration::from_secs(60),
            slot_wait: Duration::from_secs(60),
            mailbox_blocks: 1024,
            slot_policy: SlotPolicy::LockFree,
        }
    }
}

/// How completions are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Waiters poll the ownership bits.
    Polling,
    /// The EQ thread reports completions from command-completion EQEs.
    Events,
}

#[derive(Default)]
pub(super) struct Chains {
    pub(super) input: Chain,
    pub(super) output: Chain,
}

/// Snapshot of the queue's slots, for tests and `dev info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotsSnapshot {
    /// Slots not free.
    pub busy: u32,
    /// Slots held by timed-out commands the device has not returned.
    pub stalled: u32,
    /// Mailbox blocks handed out (kept by slots for reuse, or in flight).
    pub mailbox_blocks_in_use: usize,
}

/// The command queue of one function.
pub struct Queue {
    bar: Arc<dyn Mmio>,
    page: DmaRegion,
    pool: BlockPool,
    /// The page slot's blocks, out of reach of user commands.
    page_pool: BlockPool,
    geometry: CmdqGeometry,
    /// The slots' state words and free mask, the mode and abort flags.
    pub(super) core: Core,
    /// Each slot's mailbox chains, owned by whoever owns the slot.
    chains: Box<[Mutex<Chains>]>,
    regular: u32,
    page_class: u32,
    token: AtomicU32,
    sign: AtomicBool,
    pub(super) verify: AtomicBool,
    timeout_ns: AtomicU64,
    slot_wait: Duration,
    pub(super) stats: Stats,
    /// The event queue that events-mode waiters consume themselves, once
    /// there is one (`lead`).
    lead: OnceLock<Arc<Lead>>,
}

impl Queue {
    /// Checks the command interface revision, reads the queue geometry,
    /// allocates the command page and the mailbox pool and programs the queue
    /// address (high word, then low). The caller waits for firmware before and
    /// after (reference §5 steps 1-4).
    pub fn enable(bar: Arc<dyn Mmio>, dma: &DmaContext, cfg: &QueueConfig) -> Result<Queue> {
        let rev = iseg::CMDIF_REV.extract(bar.read32_be(iseg::CMDIF_REV.byte as u64));
        if rev != iseg::CMDIF_REV_SUPPORTED {
            return Err(Error::CmdifRevision {
                found: rev,
                supported: iseg::CMDIF_REV_SUPPORTED,
            });
        }
        let geometry = CmdqGeometry::from_addr_l_sz(bar.read32_be(iseg::CMDQ_ADDR_L.byte as u64))?;
        if geometry.entries() < 2 {
            return Err(Error::BadDeviceValue(format!(
                "command queue of {} entries: the driver needs at least 2 (one is kept for MANAGE_PAGES)",
                geometry.entries()
            )));
        }
        time::calibrate();
        let page = dma.alloc(4096, PageSize::Base4K)?;
        let pool = BlockPool::new(dma, BlockPoolConfig::mailboxes(cfg.mailbox_blocks.max(1)))?;
        let page_pool = BlockPool::new(dma, BlockPoolConfig::mailboxes(PAGE_SLOT_BLOCKS))?;
        let (high, low) = iseg::cmdq_addr_words(page.iova(), NicInterface::FullDriver)?;
        bar.write32_be(iseg::CMDQ_ADDR_H.byte as u64, high);
        bar.write32_be(iseg::CMDQ_ADDR_L.byte as u64, low);
        fence::wmb();
        let entries = geometry.entries();
        let page_slot = geometry.page_queue_slot();
        debug!(
            entries,
            stride = 1u32 << geometry.log_stride,
            iova = page.iova(),
            "command queue enabled"
        );
        Ok(Queue {
            bar,
            page,
            pool,
            page_pool,
            geometry,
            core: Core::new(
                entries,
                Slots::new(cfg.slot_policy, entries, 1u32 << page_slot),
            ),
            chains: (0..entries)
                .map(|_| Mutex::new(Chains::default()))
                .collect(),
            regular: (1u32 << page_slot) - 1,
            page_class: 1u32 << page_slot,
            token: AtomicU32::new(0),
            // Until the caps are known, sign (harmless if the device does not
            // check) but do not verify (the device may not sign its output).
            sign: AtomicBool::new(true),
            verify: AtomicBool::new(false),
            timeout_ns: AtomicU64::new(duration_ns(cfg.timeout)),
            slot_wait: cfg.slot_wait,
            stats: Stats::new(),
            lead: OnceLock::new(),
        })
    }

    /// Mailbox blocks one user command may use at most (the regular pool).
    pub fn user_mailbox_blocks(&self) -> usize {
        self.pool.count()
    }

    /// Number of slots (the last one is kept for MANAGE_PAGES).
    pub fn entries(&self) -> u32 {
        self.geometry.entries()
    }

    /// Slots regular commands can use.
    pub fn regular_slots(&self) -> u32 {
        self.geometry.max_reg_cmds()
    }

    /// The command timeout in force.
    pub fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns.load(Ordering::Relaxed))
    }

    /// Changes the command timeout (firmware may give one in the init segment).
    pub fn set_timeout(&self, t: Duration) {
        self.timeout_ns.store(duration_ns(t), Ordering::Relaxed);
    }

    /// Whether the driver signs mailbox blocks and checks the signatures of
    /// what the device writes back (the device's `cmdif_checksum` capability).
    /// A new queue signs but does not verify until this is called.
    pub fn set_checksum(&self, on: bool) {
        self.sign.store(on, Ordering::Release);
        self.verify.store(on, Ordering::Release);
    }

    /// Hands the queue its event queue (`armed`: as created), which
    /// events-mode waiters then consume themselves (`lead`). Once per queue:
    /// `false` if it already has one.
    pub(crate) fn attach_eq(&self, ring: Box<dyn EventRing>, armed: bool) -> bool {
        self.lead.set(Arc::new(Lead::new(ring, armed))).is_ok()
    }

    /// The EQ is destroyed (its thread joined): nobody consumes it any more.
    pub(crate) fn detach_eq(&self) {
        if let Some(l) = self.lead.get() {
            l.retire();
        }
    }

    /// The EQ thread's session after an interrupt (`fired`) or a timeout.
    pub(crate) fn eq_session(&self, fired: bool) -> After {
        match self.lead.get() {
            Some(l) => l.eq_session(fired, &self.core, self),
            None => After::Armed,
        }
    }

    pub(super) fn lead(&self) -> Option<&Lead> {
        self.lead.get().map(|l| &**l)
    }

    /// Switches to polling without quiescing: only for a dead device, whose
    /// stalled slots would never let [`Queue::set_mode`] take them all.
    pub fn force_polling(&self) {
        self.core.set_mode(Mode::Polling);
    }

    /// The completion mode.
    pub fn mode(&self) -> Mode {
        self.core.mode()
    }

    /// Switches the completion mode as the kernel does (§4.2): quiesce the
    /// queue by taking every slot (waiting for the commands in flight), switch,
    /// and give the slots back. A stale slot (its command timed out and the
    /// device has not given it back) is not waited for: nobody waits for it,
    /// and its late completion is reclaimed by a poll or an event in either
    /// mode. Fails if another slot cannot be taken within `wait`, leaving the
    /// mode unchanged.
    pub fn set_mode(&self, mode: Mode, wait: Duration) -> Result<()> {
        let deadline = time::after(Instant::now(), wait);
        let all = self.regular | self.page_class;
        let mut mine = 0u32;
        let mut res = Ok(());
        while mine != all {
            let want = all & !mine;
            match self.core.mask.claim(want, deadline, &|| self.idle(false)) {
                Ok(s) => mine |= 1u32 << s,
                // Every slot left is stale. (One reclaimed just now and taken
                // by a new command is found by that waiter at its next look
                // at the mode, at most a park later.)
                Err(ClaimError::AllStale) => break,
                Err(_) => {
                    // The slots this quiesce holds itself are not the problem.
                    res = Err(Error::Quiesce {
                        waited: wait,
                        busy: self.core.mask.busy() & !mine,
                    });
                    break;
                }
            }
        }
        if res.is_ok() {
            // Every slot is held or stale: no waiter can miss a completion.
            self.core.set_mode(mode);
            debug!(?mode, "command queue mode switched");
        }
        let mut held = mine;
        while held != 0 {
            let s = held.trailing_zeros();
            held &= held - 1;
            self.core.mask.release(s);
        }
        res
    }

    /// Firmware is dead: every command in flight and every new one fails with
    /// [`Error::FwFatal`]. Slots in flight stay busy (the device may still write
    /// their memory) until the queue is dropped after a reset.
    pub fn fail(&self, cause: FatalCause) {
        self.core.fail(cause);
    }

    /// The fatal cause, if firmware was declared dead.
    pub fn fatal(&self) -> Option<FatalCause> {
        self.core.fatal()
    }

    /// The device is being removed: user commands in flight and new ones fail
    /// with [`Error::DeviceRemoved`]; the driver's own teardown commands still run.
    pub fn abort_users(&self) {
        self.core.abort_users();
    }

    pub(super) fn check_alive(&self, user: bool) -> Result<()> {
        self.core.check_alive(user)
    }

    pub(super) fn entry(&self, slot: u32) -> Result<DmaView<'_>> {
        let off = self.geometry.entry_offset(slot)?;
        Ok(self.page.subview(off, ENTRY_SIZE)?)
    }

    fn next_token(&self) -> u8 {
        // 1..=255: never 0.
        (self.token.fetch_add(1, Ordering::Relaxed) % 255) as u8 + 1
    }

    /// Posts `msg` (a whole input message, header first) expecting an output of
    /// `outlen` bytes, and returns at once. MANAGE_PAGES goes to the reserved
    /// slot. `user` commands fail with [`Error::DeviceRemoved`] once removal
    /// has begun.
    pub fn submit(&self, msg: &[u8], outlen: usize, user: bool) -> Result<CmdHandle<'_>> {
        let mut unrung = 0u32;
        let h = self.submit_unrung(opcode_of(msg)?, msg, outlen, user, &mut unrung);
        self.ring(unrung);
        h
    }

    /// Posts `cmds` (each a whole input message and the output length it
    /// expects) together: every command gets its slot and entry as with
    /// [`Queue::submit`], and **one** doorbell write carries them all. Behind
    /// a trapped BAR (a VM, the QEMU guest) each doorbell write is a guest
    /// exit and a message to the device, so a batch of 31 costs one instead of
    /// 31. A command that has to wait for a slot first rings those posted
    /// before it. A slot is freed only by its command's handle, so a batch
    /// cannot hold more commands than there are slots of their class (31
    /// regular and one MANAGE_PAGES on a 32-entry queue): a larger one, or
    /// one with an undecodable header, is refused before anything is posted.
    /// On a later error the commands posted before it are rung and abandoned
    /// (their slots come back when the device completes them) and the error
    /// is returned.
    pub fn submit_batch(&self, cmds: &[(&[u8], usize)], user: bool) -> Result<Vec<CmdHandle<'_>>> {
        let opcodes = cmds
            .iter()
            .map(|(m, _)| opcode_of(m))
            .collect::<Result<Vec<_>>>()?;
        let pages = opcodes
            .iter()
            .filter(|&&op| op == Opcode::MANAGE_PAGES)
            .count();
        let (page_slots, regular_slots) = (self.page_class.count_ones(), self.regular.count_ones());
        if pages > page_slots as usize || cmds.len() - pages > regular_slots as usize {
            return Err(Error::BadMessage(format!(
                "a batch of {} commands ({pages} MANAGE_PAGES) does not fit {regular_slots} regular slots and {page_slots} for MANAGE_PAGES",
                cmds.len()
            )));
        }
        let mut unrung = 0u32;
        let mut handles = Vec::with_capacity(cmds.len());
        for (&(msg, outlen), &opcode) in cmds.iter().zip(&opcodes) {
            match self.submit_unrung(opcode, msg, outlen, user, &mut unrung) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    self.ring(unrung);
                    return Err(e);
                }
            }
        }
        self.ring(unrung);
        Ok(handles)
    }

    /// Claims a slot and writes the command (`opcode`, decoded by the caller)
    /// into it without ringing: its bit is added to `unrung`, which the
    /// caller rings. A wait for a slot rings `unrung` first (and clears it).
    fn submit_unrung(
        &self,
        opcode: Opcode,
        msg: &[u8],
        outlen: usize,
        user: bool,
        unrung: &mut u32,
    ) -> Result<CmdHandle<'_>> {
        if outlen < HEADER_SIZE
            || u32::try_from(outlen).is_err()
            || u32::try_from(msg.len()).is_err()
        {
            return Err(Error::BadMessage(format!(
                "{opcode}: input of {} bytes, output of {outlen} bytes (the output must hold the 8-byte header, both must fit 32 bits)",
                msg.len()
            )));
        }
        self.check_alive(user)?;
        let class = if opcode == Opcode::MANAGE_PAGES {
            self.page_class
        } else {
            self.regular
        };
        let start = Instant::now();
        // The execution timeout counts from the doorbell, not from here: a
        // command that waited for its slot has all of its timeout left. A slot
        // taken at once costs no second clock read (the doorbell follows
        // within microseconds).
        let (slot, waited) = match self.core.mask.try_claim(class) {
            Some(slot) => (slot, false),
            None => {
                // Commands posted but not rung may be what frees a slot.
                self.ring(std::mem::take(unrung));
                (self.claim_waiting(class, opcode, user, start)?, true)
            }
        };
        let token = self.next_token();
        match self.post(slot, msg, outlen, token) {
            Ok(posted) => {
                *unrung |= 1u32 << slot;
                let posted_at = if waited { Instant::now() } else { start };
                let span = tracing::debug_span!(
                    "cmd",
                    opcode = %opcode,
                    slot,
                    token,
                    latency_us = tracing::field::Empty
                );
                Ok(CmdHandle {
                    queue: self,
                    slot,
                    posted,
                    token,
                    opcode,
                    outlen,
                    user,
                    start,
                    posted_at,
                    span,
                    settled: false,
                    latency: None,
                    inline_only: inline_only(msg.len(), outlen),
                })
            }
            Err(e) => {
                // Nothing was handed to the device: the slot is simply free again.
                self.lock_chains(slot).map(|mut c| {
                    c.input.trim();
                    c.output.trim();
                })?;
                self.core.mask.release(slot);
                Err(e)
            }
        }
    }

    /// One doorbell write for the slots in `bits` (none: no write). Every
    /// entry was published before (`post`); the barrier orders those stores
    /// before the device can see the doorbell.
    fn ring(&self, bits: u32) {
        if bits != 0 {
            fence::wmb();
            self.bar.write32_be(iseg::CMD_DBELL.byte as u64, bits);
        }
    }

    /// Waits (at most `slot_wait`) for a slot of `class`.
    fn claim_waiting(&self, class: u32, opcode: Opcode, user: bool, start: Instant) -> Result<u32> {
        self.core
            .mask
            .claim(class, time::after(start, self.slot_wait), &|| {
                self.idle(user)
            })
            .map_err(|e| match e {
                ClaimError::TimedOut => Error::NoFreeSlot {
                    opcode,
                    waited: start.elapsed(),
                },
                ClaimError::AllStale => Error::AllSlotsStalled { opcode },
                ClaimError::Stopped => self.check_alive(user).err().unwrap_or(Error::DeviceRemoved),
            })
    }

    /// Called by a submitter between parks while no slot is free: true means
    /// give up (the device is dead or, for a user, being removed). In polling
    /// mode it also retires finished commands, since a slot given up by its
    /// owner (timeout, dropped handle) comes back only when someone polls it.
    fn idle(&self, user: bool) -> bool {
        self.core.idle(user, self)
    }

    pub(super) fn lock_chains(&self, slot: u32) -> Result<parking_lot::MutexGuard<'_, Chains>> {
        let chains = self.chains.get(slot as usize).and_then(|c| c.try_lock());
        chains.ok_or_else(|| {
            Error::BadMessage(format!(
                "slot {slot}: buffers in use by another owner (driver bug)"
            ))
        })
    }

    /// Writes the command into `slot` and hands the entry to the device; the
    /// caller rings the doorbell ([`Queue::ring`]).
    fn post(&self, slot: u32, msg: &[u8], outlen: usize, token: u8) -> Result<u32> {
        let checksum = self.sign.load(Ordering::Acquire);
        // A command that fits the entry has no mailbox chain: its slot's
        // chains are not touched (nor locked) at all.
        let (in_ptr, out_ptr) = if inline_only(msg.len(), outlen) {
            (0, 0)
        } else {
            let mut c = self.lock_chains(slot)?;
            let pool = if self.page_class & (1u32 << slot) != 0 {
                &self.page_pool
            } else {
                &self.pool
            };
            let in_ptr = c.input.write_input(pool, msg, token, checksum)?;
            let out_ptr = c.output.prepare_output(pool, outlen, token, checksum)?;
            (in_ptr, out_ptr)
        };
        let mut inline = [0u8; INLINE_SIZE];
        let n = msg.len().min(INLINE_SIZE);
        inline[..n].copy_from_slice(&msg[..n]);
        // Lengths were checked to fit 32 bits in `submit`.
        let entry = CmdEntry::new_request(
            inline,
            msg.len() as u32,
            in_ptr,
            outlen as u32,
            out_ptr,
            token,
        )
        .encode();
        let view = self.entry(slot)?;
        view.write_bytes(0, &entry[..STATUS_OWN_OFFSET])?;
        // Everything above is visible before the device can see it owns the entry.
        view.store_u8_release(STATUS_OWN_OFFSET, entry[STATUS_OWN_OFFSET])?;
        Ok(self.core.sync[slot as usize].post())
    }

    /// Completes every busy slot the device has given back (polling).
    pub fn poll(&self) -> u32 {
        self.core.poll(self)
    }

    /// Completes the slots of a command-completion EQE's vector.
    pub fn complete_vector(&self, vector: u32) -> u32 {
        self.core
            .complete_vector(vector & (self.regular | self.page_class), self)
    }
}

impl Entries for Queue {
    fn returned(&self, slot: u32) -> bool {
        self.entry(slot)
            .and_then(|v| Ok(v.load_u8_acquire(STATUS_OWN_OFFSET)?))
            .is_ok_and(|own| !ce::owner_is_hw(own))
    }
}

impl Queue {
    /// Posts and waits: the output message, header included, on success.
    pub fn exec(&self, msg: &[u8], outlen: usize) -> Result<Vec<u8>> {
        self.submit(msg, outlen, false)?.wait()
    }

    /// Counters of `opcode`.
    pub fn stats(&self, opcode: Opcode) -> OpStats {
        self.stats.get(opcode)
    }

    /// Counters of every opcode used so far.
    pub fn all_stats(&self) -> Vec<(Opcode, OpStats)> {
        self.stats.all()
    }

    /// The slots' state.
    pub fn snapshot(&self) -> SlotsSnapshot {
        SlotsSnapshot {
            busy: self.core.mask.busy(),
            stalled: self.core.mask.stale(),
            mailbox_blocks_in_use: self.pool.stats().in_use,
        }
    }
}

/// The opcode of a whole input message (its header first).
fn opcode_of(msg: &[u8]) -> Result<Opcode> {
    InHeader::decode(msg)
        .map(|h| h.opcode)
        .map_err(|e| Error::BadMessage(format!("input header: {e}")))
}

/// Whether a command travels in its entry alone (no mailbox block either way).
pub(super) fn inline_only(inlen: usize, outlen: usize) -> bool {
    inlen <= INLINE_SIZE && outlen <= INLINE_SIZE
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
