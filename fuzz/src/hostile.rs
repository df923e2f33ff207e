//! `cmd_output`: the driver's command queue ([`cxu_driver::Queue`]) against a
//! device that answers each doorbell with whatever the fuzzer scripted: any
//! delivery status, token, output length, inline output, output block data,
//! block tokens and signatures, or no answer at all (the command times out and
//! the device may hand the slot back later).
//!
//! The device is a [`HostileBar`] (an [`Mmio`] that plays the init segment and
//! answers the doorbell synchronously); DMA memory is the driver's own, mapped
//! through an in-process [`LocalFunction`] whose IOMMU table gives the device
//! safe access to it. No `unsafe` here.
//!
//! What must hold, for every script:
//! * an honest answer gives `Ok` with exactly the bytes the device wrote; a
//!   tampered one (bad token anywhere, delivery error, wrong output length,
//!   failing status, wrong signature with checksums on) gives an `Err`;
//! * the driver never rings a slot the device still owns, and only
//!   MANAGE_PAGES goes to the reserved last slot;
//! * once the device turns honest and gives every slot back, a NOP succeeds
//!   and no slot is left busy or stalled.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arbitrary::Arbitrary;
use cxu_dma::DmaContext;
use cxu_driver::{Queue, QueueConfig};
use cxu_hal::ifc::cmd_entry::{self as ce, ENTRY_SIZE, INLINE_SIZE, OUT_INLINE, STATUS_OWN_OFFSET};
use cxu_hal::ifc::header::InHeader;
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::mailbox::{self as mb, BLOCK_SIZE, DATA_SIZE};
use cxu_hal::ifc::Opcode;
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

/// A value the device writes back: the driver's own, or another.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Tamper<T> {
    /// Written back as the driver put it.
    Keep,
    /// Replaced.
    Set(T),
}

/// What the device does to a signature byte (checked only with checksums on).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Sig {
    /// Signs correctly.
    Good,
    /// Leaves a wrong signature.
    Bad,
}

/// The device's answer to one output block.
#[derive(Arbitrary, Debug, Clone)]
pub struct BlockAnswer {
    /// Data bytes (the first 512 are used).
    pub data: Vec<u8>,
    /// The block's token.
    pub token: Tamper<u8>,
    /// The block's signatures.
    pub sig: Sig,
    /// Junk the device writes over the block's `next` and `block_num`
    /// (the driver owns them and must not care).
    pub junk_ctrl: Option<(u64, u32)>,
}

/// The device's answer to one command.
#[derive(Arbitrary, Debug, Clone)]
pub struct Answer {
    /// Keep the entry (never give it back, until a later [`Op::LateReturn`]).
    pub keep: bool,
    /// Delivery status (7 bits used).
    pub delivery: u8,
    /// The entry's token.
    pub token: Tamper<u8>,
    /// The entry's `outlen`.
    pub outlen: Tamper<u32>,
    /// The first 16 output bytes.
    pub inline_out: [u8; INLINE_SIZE],
    /// Force the output header's status to OK (the fuzzer reaches honest
    /// answers more often).
    pub status_ok: bool,
    /// The entry's signature.
    pub entry_sig: Sig,
    /// Output blocks, in chain order.
    pub blocks: Vec<BlockAnswer>,
}

/// A command the driver sends.
#[derive(Arbitrary, Debug, Clone)]
pub struct Cmd {
    /// MANAGE_PAGES (the reserved slot) rather than a regular command.
    pub manage_pages: bool,
    /// Input length beyond the header (modulo 3000).
    pub inlen: u16,
    /// Output length beyond the header (modulo 3000).
    pub outlen: u16,
    /// How the device answers it.
    pub answer: Answer,
}

/// One step of a script.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    /// Submit and wait.
    Exec(Cmd),
    /// Two commands in flight, waited for in either order.
    Pair(Cmd, Cmd, bool),
    /// A command-completion EQE with this vector reaches the queue.
    Vector(u32),
    /// The device gives back every entry it kept (late completions).
    LateReturn,
}

/// A whole input of `cmd_output`.
#[derive(Arbitrary, Debug, Clone)]
pub struct Script {
    /// log2 of the queue size the device reports (modulo 6; 0 must be refused).
    pub log_cmdq_size: u8,
    /// Checksums on (the driver signs and verifies).
    pub checksum: bool,
    /// The steps (the first 24 are run).
    pub ops: Vec<Op>,
}

/// What a script's commands ended as; the assertions in [`run`] hold for each.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcomes {
    /// Honest answers the driver returned as `Ok` with the device's bytes.
    pub honest_ok: u32,
    /// Tampered answers the driver refused.
    pub tampered_refused: u32,
    /// Commands the device kept, which timed out.
    pub kept_timed_out: u32,
    /// Submissions refused before the doorbell (no free slot, all stalled).
    pub not_posted: u32,
}

/// How the device answered a doorbell of one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Everything as the driver expects: this is the output message.
    Honest(Vec<u8>),
    /// Something the driver checks was wrong.
    Tampered(&'static str),
    /// Not answered.
    Kept,
}

#[derive(Default)]
struct DevState {
    /// Init segment registers as bytes (BAR0 offsets 0..0x20 and beyond).
    regs: Vec<u8>,
    answers: VecDeque<Answer>,
    honest: bool,
    checksum: bool,
    /// Slots rung and not given back.
    held: u32,
    /// Verdict of the last answer per slot.
    verdicts: Vec<Option<Verdict>>,
    /// Contract violations by the driver.
    violations: Vec<String>,
}

/// The hostile device's BAR0.
pub struct HostileBar {
    f: Arc<LocalFunction>,
    state: Mutex<DevState>,
}

const BAR_LEN: usize = 0x4000;

impl HostileBar {
    fn new(f: Arc<LocalFunction>, log_size: u8) -> HostileBar {
        let mut regs = vec![0u8; BAR_LEN];
        let rev = (iseg::CMDIF_REV_SUPPORTED << 16).to_be_bytes();
        regs[iseg::CMDIF_REV.byte..iseg::CMDIF_REV.byte + 4].copy_from_slice(&rev);
        let sz = (u32::from(log_size) << 4) | 6;
        regs[iseg::CMDQ_ADDR_L.byte..iseg::CMDQ_ADDR_L.byte + 4].copy_from_slice(&sz.to_be_bytes());
        HostileBar {
            f,
            state: Mutex::new(DevState {
                regs,
                verdicts: vec![None; 32],
                ..DevState::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, DevState> {
        // A panic while holding it is a fuzz finding already being reported.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn be32(regs: &[u8], off: usize) -> u32 {
        u32::from_be_bytes([regs[off], regs[off + 1], regs[off + 2], regs[off + 3]])
    }

    fn cmdq(regs: &[u8]) -> (u64, u32) {
        let h = Self::be32(regs, iseg::CMDQ_ADDR_H.byte);
        let l = Self::be32(regs, iseg::CMDQ_ADDR_L.byte);
        (
            iseg::cmdq_addr_from_words(h, l),
            1u32 << iseg::LOG_CMDQ_SIZE.extract(l),
        )
    }

    fn doorbell(&self, vector: u32) {
        let mut s = self.lock();
        let (base, entries) = Self::cmdq(&s.regs);
        for slot in 0..32u32 {
            if vector & (1 << slot) == 0 {
                continue;
            }
            if slot >= entries {
                s.violations
                    .push(format!("doorbell for slot {slot} of {entries}"));
                continue;
            }
            if s.held & (1 << slot) != 0 {
                s.violations
                    .push(format!("slot {slot} rung again while the device owns it"));
                continue;
            }
            let addr = base + u64::from(slot) * ENTRY_SIZE as u64;
            let mut entry = [0u8; ENTRY_SIZE];
            if self.f.device().iommu().read(addr, &mut entry).is_err() {
                s.violations
                    .push(format!("slot {slot}: entry not mapped at {addr:#x}"));
                continue;
            }
            if !ce::owner_is_hw(entry[STATUS_OWN_OFFSET]) {
                s.violations
                    .push(format!("slot {slot} rung without handing it over"));
                continue;
            }
            let opcode = InHeader::decode(&entry[ce::IN_INLINE..])
                .map(|h| h.opcode)
                .ok();
            if slot == entries - 1 && opcode != Some(Opcode::MANAGE_PAGES) {
                s.violations
                    .push(format!("{opcode:?} in the MANAGE_PAGES slot"));
            }
            s.held |= 1 << slot;
            let answer = if s.honest {
                None
            } else {
                s.answers.pop_front()
            };
            let verdict = match answer {
                Some(a) if a.keep => Verdict::Kept,
                a => {
                    let v = self.answer(&s, addr, entry, a.as_ref());
                    s.held &= !(1 << slot);
                    v
                }
            };
            s.verdicts[slot as usize] = Some(verdict);
        }
    }

    /// Writes the output chain and the entry for `entry` at `addr`, per `a`
    /// (honestly when `None`), and gives the entry back.
    fn answer(
        &self,
        s: &DevState,
        addr: u64,
        mut entry: [u8; ENTRY_SIZE],
        a: Option<&Answer>,
    ) -> Verdict {
        let iommu = self.f.device().iommu();
        let mut tampered: Option<&'static str> = None;
        let token = ce::TOKEN.get(&entry).unwrap_or(0) as u8;
        let outlen = ce::OUTLEN.get(&entry).unwrap_or(0) as usize;
        let mut out = vec![0u8; outlen];
        let mut inline = a.map_or([0u8; INLINE_SIZE], |a| a.inline_out);
        if a.is_some_and(|a| a.status_ok) || a.is_none() {
            inline[0] = 0;
        }
        if outlen > 0 && inline[0] != 0 {
            tampered = Some("status");
        }
        let n = outlen.min(INLINE_SIZE);
        out[..n].copy_from_slice(&inline[..n]);
        entry[OUT_INLINE..OUT_INLINE + INLINE_SIZE].copy_from_slice(&inline);
        // Walk the driver's chain as hardware does, by the next pointers.
        let mut next = ce::OUT_PTR.get(&entry).unwrap_or(0);
        for i in 0..mb::blocks_for_len(outlen) {
            let mut blk = [0u8; BLOCK_SIZE];
            if iommu.read(next, &mut blk).is_err() {
                return Verdict::Tampered("output chain unreadable (driver bug)");
            }
            let link = mb::NEXT.get(&blk).unwrap_or(0);
            let ba = a.and_then(|a| a.blocks.get(i));
            let range = mb::block_range(outlen, i).expect("i < blocks_for_len");
            let data = ba.map_or(&[][..], |b| &b.data[..b.data.len().min(DATA_SIZE)]);
            blk[..DATA_SIZE].fill(0);
            blk[..data.len()].copy_from_slice(data);
            out[range.clone()].copy_from_slice(&blk[..range.len()]);
            if let Some(Tamper::Set(t)) = ba.map(|b| b.token) {
                let _ = mb::TOKEN.set(&mut blk, u64::from(t));
                if t != token {
                    tampered = Some("block token");
                }
            }
            if let Some((junk_next, junk_num)) = ba.and_then(|b| b.junk_ctrl) {
                let _ = mb::NEXT.set(&mut blk, junk_next);
                let _ = mb::BLOCK_NUM.set(&mut blk, u64::from(junk_num));
            }
            mb::sign_block(&mut blk).expect("a whole block");
            if matches!(ba.map(|b| b.sig), Some(Sig::Bad)) {
                blk[mb::SIG_OFFSET] ^= 0x5A;
                if s.checksum {
                    tampered = Some("block signature");
                }
            }
            if iommu.write(next, &blk).is_err() {
                return Verdict::Tampered("output block unwritable (driver bug)");
            }
            next = link;
        }
        if let Some(a) = a {
            if let Tamper::Set(t) = a.token {
                if t != token {
                    tampered = Some("entry token");
                }
                let _ = ce::TOKEN.set(&mut entry, u64::from(t));
            }
            if let Tamper::Set(l) = a.outlen {
                if l as usize != outlen {
                    tampered = Some("outlen");
                }
                let _ = ce::OUTLEN.set(&mut entry, u64::from(l));
            }
        }
        let delivery = a.map_or(0, |a| a.delivery & 0x7F);
        if delivery != 0 {
            tampered = Some("delivery status");
        }
        entry[STATUS_OWN_OFFSET] = delivery << 1;
        ce::sign(&mut entry);
        if matches!(a.map(|a| a.entry_sig), Some(Sig::Bad)) {
            entry[ce::SIG_OFFSET] ^= 0xA5;
            if s.checksum {
                tampered = Some("entry signature");
            }
        }
        let own = entry[STATUS_OWN_OFFSET];
        let written = iommu
            .write(addr, &entry[..STATUS_OWN_OFFSET])
            .and_then(|()| iommu.write_u8_release(addr + STATUS_OWN_OFFSET as u64, own));
        if written.is_err() {
            return Verdict::Tampered("entry unwritable (driver bug)");
        }
        match tampered {
            Some(why) => Verdict::Tampered(why),
            None => Verdict::Honest(out),
        }
    }

    /// Gives back every kept entry (a late completion with delivery OK).
    fn return_held(&self) {
        let mut s = self.lock();
        let (base, _) = Self::cmdq(&s.regs);
        let held = std::mem::take(&mut s.held);
        for slot in (0..32u32).filter(|b| held & (1 << b) != 0) {
            let addr = base + u64::from(slot) * ENTRY_SIZE as u64;
            let mut entry = [0u8; ENTRY_SIZE];
            if self.f.device().iommu().read(addr, &mut entry).is_ok() {
                let v = self.answer(&s, addr, entry, None);
                s.verdicts[slot as usize] = Some(v);
            }
        }
    }
}

impl Mmio for HostileBar {
    fn len(&self) -> u64 {
        BAR_LEN as u64
    }
    fn read8(&self, o: u64) -> u8 {
        self.read::<1>(o)[0]
    }
    fn read16(&self, o: u64) -> u16 {
        u16::from_le_bytes(self.read(o))
    }
    fn read32(&self, o: u64) -> u32 {
        u32::from_le_bytes(self.read(o))
    }
    fn read64(&self, o: u64) -> u64 {
        u64::from_le_bytes(self.read(o))
    }
    fn write8(&self, o: u64, v: u8) {
        self.write(o, &[v]);
    }
    fn write16(&self, o: u64, v: u16) {
        self.write(o, &v.to_le_bytes());
    }
    fn write32(&self, o: u64, v: u32) {
        self.write(o, &v.to_le_bytes());
    }
    fn write64(&self, o: u64, v: u64) {
        self.write(o, &v.to_le_bytes());
    }
}

impl HostileBar {
    fn read<const N: usize>(&self, o: u64) -> [u8; N] {
        let s = self.lock();
        let mut b = [0xFFu8; N];
        if let Some(r) = usize::try_from(o).ok().and_then(|o| s.regs.get(o..o + N)) {
            b.copy_from_slice(r);
        }
        b
    }

    fn write(&self, o: u64, data: &[u8]) {
        let Ok(o) = usize::try_from(o) else { return };
        if o == iseg::CMD_DBELL.byte && data.len() == 4 {
            self.doorbell(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
            return;
        }
        let mut s = self.lock();
        if o == iseg::CMDQ_ADDR_L.byte && data.len() == 4 {
            // The size and stride bits are read-only.
            let keep = Self::be32(&s.regs, o) & 0xFF;
            let v = (u32::from_be_bytes([data[0], data[1], data[2], data[3]]) & !0xFF) | keep;
            s.regs[o..o + 4].copy_from_slice(&v.to_be_bytes());
        } else if let Some(r) = s.regs.get_mut(o..o + data.len()) {
            r.copy_from_slice(data);
        }
    }
}

fn message(c: &Cmd) -> (Vec<u8>, usize) {
    let op = if c.manage_pages {
        Opcode::MANAGE_PAGES
    } else {
        Opcode::QUERY_ADAPTER
    };
    let mut m = vec![0u8; 8 + usize::from(c.inlen % 3000)];
    InHeader::new(op, 0)
        .encode_into(&mut m)
        .expect("8 bytes hold the header");
    (m, 8 + usize::from(c.outlen % 3000))
}

/// Runs one script and says what became of its commands.
pub fn run(script: Script) -> Outcomes {
    let profile = Profile {
        workers: 1,
        ..Profile::default()
    };
    let f = Arc::new(LocalFunction::new(profile));
    f.set_bus_master(true).expect("config space write");
    let dma = DmaContext::new(f.clone() as Arc<dyn PciFunction>).expect("DMA context");
    let log_size = script.log_cmdq_size % 6;
    let bar = Arc::new(HostileBar::new(f.clone(), log_size));
    let cfg = QueueConfig {
        timeout: Duration::from_millis(2),
        slot_wait: Duration::from_millis(2),
        mailbox_blocks: 64,
        ..QueueConfig::default()
    };
    let queue = match Queue::enable(bar.clone(), &dma, &cfg) {
        Ok(q) => q,
        Err(e) => {
            assert!(log_size < 1, "queue of 2^{log_size} entries refused: {e}");
            return Outcomes::default();
        }
    };
    assert!(log_size >= 1, "a 1-entry queue was accepted");
    queue.set_checksum(script.checksum);
    bar.lock().checksum = script.checksum;

    let outcomes = std::cell::Cell::new(Outcomes::default());
    let check = |c: &Cmd, slot: Option<u32>, res: cxu_driver::Result<Vec<u8>>| {
        let verdict = slot.and_then(|s| bar.lock().verdicts[s as usize].take());
        let mut o = outcomes.get();
        match (&verdict, &res) {
            (Some(Verdict::Honest(out)), Ok(got)) => {
                assert_eq!(got, out, "output differs from what the device wrote");
                o.honest_ok += 1;
            }
            (Some(Verdict::Honest(_)), Err(e)) => panic!("honest answer refused: {e}"),
            (Some(Verdict::Tampered(why)), Ok(_)) => {
                panic!("tampered answer ({why}) accepted: {c:?}")
            }
            (Some(Verdict::Tampered(_)), Err(_)) => o.tampered_refused += 1,
            (Some(Verdict::Kept), Ok(_)) => panic!("a command the device kept succeeded"),
            (Some(Verdict::Kept), Err(e)) => {
                assert!(
                    matches!(e, cxu_driver::Error::Timeout { .. }),
                    "a kept command ended with {e}, not a timeout"
                );
                o.kept_timed_out += 1;
            }
            (None, Ok(_)) => panic!("success without a doorbell"),
            (None, Err(_)) => o.not_posted += 1,
        }
        outcomes.set(o);
    };
    let cmd_slot = |h: &cxu_driver::CmdHandle<'_>| h.slot();

    for op in script.ops.into_iter().take(24) {
        match op {
            Op::Exec(c) => {
                let (m, outlen) = message(&c);
                bar.lock().answers.push_back(c.answer.clone());
                match queue.submit(&m, outlen, false) {
                    Ok(h) => {
                        let slot = cmd_slot(&h);
                        check(&c, Some(slot), h.wait());
                    }
                    Err(e) => check(&c, None, Err(e)),
                }
                bar.lock().answers.clear();
            }
            Op::Pair(a, b, reverse) => {
                let (ma, la) = message(&a);
                let (mb_, lb) = message(&b);
                bar.lock()
                    .answers
                    .extend([a.answer.clone(), b.answer.clone()]);
                let ha = queue.submit(&ma, la, false);
                let hb = queue.submit(&mb_, lb, false);
                let mut done = Vec::new();
                match (ha, hb) {
                    (Ok(ha), Ok(hb)) => {
                        let (sa, sb) = (cmd_slot(&ha), cmd_slot(&hb));
                        if reverse {
                            done.push((b, sb, hb.wait()));
                            done.push((a, sa, ha.wait()));
                        } else {
                            done.push((a, sa, ha.wait()));
                            done.push((b, sb, hb.wait()));
                        }
                    }
                    (Ok(ha), Err(e)) => {
                        let sa = cmd_slot(&ha);
                        done.push((a, sa, ha.wait()));
                        check(&b, None, Err(e));
                    }
                    (Err(e), Ok(hb)) => {
                        let sb = cmd_slot(&hb);
                        check(&a, None, Err(e));
                        done.push((b, sb, hb.wait()));
                    }
                    (Err(_), Err(_)) => {}
                }
                for (c, s, r) in done {
                    check(&c, Some(s), r);
                }
                bar.lock().answers.clear();
            }
            Op::Vector(v) => {
                let n = queue.complete_vector(v);
                assert!(n <= v.count_ones(), "{n} completions from vector {v:#x}");
            }
            Op::LateReturn => {
                bar.return_held();
                queue.poll();
            }
        }
        let violations = std::mem::take(&mut bar.lock().violations);
        assert!(
            violations.is_empty(),
            "driver broke the device contract: {violations:?}"
        );
    }

    // The device turns honest and gives everything back: the queue recovers.
    bar.lock().honest = true;
    bar.return_held();
    queue.poll();
    let (nop, outlen) = {
        let mut m = vec![0u8; 16];
        InHeader::new(Opcode::NOP, 0)
            .encode_into(&mut m)
            .expect("header");
        (m, 16)
    };
    let out = queue.exec(&nop, outlen);
    assert!(
        out.is_ok(),
        "queue unusable after the script: {:?}",
        out.err()
    );
    let snap = queue.snapshot();
    assert_eq!(
        (snap.busy, snap.stalled),
        (0, 0),
        "slots left behind: {snap:?}"
    );
    let violations = std::mem::take(&mut bar.lock().violations);
    assert!(
        violations.is_empty(),
        "driver broke the device contract: {violations:?}"
    );
    outcomes.get()
}
