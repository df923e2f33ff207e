//! The fault matrix (issue 9, item 1): every fault the device model can
//! show, crossed with every phase of the driver's life. Each cell runs on a
//! fresh in-process model and checks that
//!
//! * the driver answers with an error of the kind documented for that fault
//!   (or succeeds where the fault cannot be seen, e.g. a bad signature while
//!   checksums are off), and never panics;
//! * the phase finishes within its bound (a cell that does not is a hang);
//! * nothing leaks: no command slot stays busy except one the device still
//!   owns after a hang, the removal report has no outstanding firmware page
//!   and no DMA region mapped, the model's IOMMU holds no mapping once the
//!   driver is gone, and the process has no more threads than before the
//!   cell;
//! * in the command storm, every command posted gets exactly one answer
//!   (the driver's per-opcode counters agree with the callers' tallies).
//!
//! The test prints the matrix (faults down, phases across, the outcome in
//! each cell) and fails if any cell fails that is not in [`KNOWN`].
//!
//! Mailbox chain loops come in two rows. "chain loop (device)" is real: the
//! device writes every output block back with `next` pointing at itself;
//! the driver reads back only data, tokens and signatures of its own
//! blocks, never a pointer the device wrote (cmd/chain.rs), so the right
//! outcome is "ok" (the RPC cell checks the loop really was written).
//! "chain loop (posted)" is a stand-in: the driver never posts a looping
//! chain, so it is injected as what the hardware answers when it finds
//! one, delivery status BAD_BLOCK_NUMBER (0x03); the model's own detection
//! is tested in qemu/tests/faults.rs. The IOMMU row is real: the device
//! writes to an unmapped IOVA, the IOMMU records it (checked in every
//! cell), and the command fails with delivery status 0x04.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fast_profile, short_config, thread_count, wait_for, wait_threads, Stack};
use cxu_driver::iseg_timeouts::{MAX_CMD_EXEC_TO, MIN_CMD_EXEC_TO};
use cxu_driver::rpc::{RpcError, Scope};
use cxu_driver::{DriverConfig, Error, FatalCause};
use cxu_hal::ifc::commands::hca::{query_adapter_in, QUERY_ADAPTER_OUT_SIZE};
use cxu_hal::ifc::eqe::{self, port_change, EventType};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::iseg::encode_timeout;
use cxu_hal::ifc::regs::hpkt;
use cxu_hal::ifc::regs::mcc::ControlState;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_qemu::model::{Control, Fault, Profile, FLASH_IMAGE_MAGIC};
use cxu_qemu::LocalFunction;
use devlink_core::reload::ReloadAction;
use devlink_core::trap::TrapAction;
use devlink_core::{Delivery, EventBody, ObjectKinds};

/// The driver's command timeout in every faulted phase: short, yet long
/// enough that a healthy command on a loaded 2-core CI machine does not time
/// out (a healthy CREATE_EQ once took 523 ms with both CPUs kept busy by
/// other processes; it takes microseconds on an idle machine).
const CMD_TIMEOUT: Duration = Duration::from_millis(1000);
/// The timeout while a cell brings its device up with no fault armed: that
/// is setup, not the thing under test, and must never time out.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// A completion this late is past the timeout.
const LATE: Duration = Duration::from_millis(2500);
/// The phase itself (the faulted operation and its retry) must finish in
/// this long: a few command timeouts, never an unbounded wait.
const PHASE_BOUND: Duration = Duration::from_secs(10);
/// A cell that has not finished after this long is a hang.
const CELL_BOUND: Duration = Duration::from_secs(40);
/// Storm: threads, and commands each thread posts.
const STORM_THREADS: usize = 4;
const STORM_PER_THREAD: usize = 150;
/// Health syndrome of the firmware fatal row (DEAD_IRISC).
const FATAL_SYNDROME: u8 = 0x07;
/// Syndrome the bad-status and bad-syndrome rows write.
const JUNK_SYNDROME: u32 = 0x6D00_BEEF;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FaultKind {
    Hang,
    Late,
    BadStatus,
    BadSyndrome,
    BadToken,
    BadSignature,
    OversizedOutput,
    ChainLoopDevice,
    ChainLoop,
    IommuFault,
    SkippedOutputBlocks,
    ReleaseAllOther,
    EqeStorm,
    BogusEqes,
    IsegTimeoutsHuge,
    IsegTimeoutsTiny,
    PageFlood,
    PagesFailure,
    FwFatal,
    SurpriseRemoval,
}

const FAULTS: [FaultKind; 20] = [
    FaultKind::Hang,
    FaultKind::Late,
    FaultKind::BadStatus,
    FaultKind::BadSyndrome,
    FaultKind::BadToken,
    FaultKind::BadSignature,
    FaultKind::OversizedOutput,
    FaultKind::ChainLoopDevice,
    FaultKind::ChainLoop,
    FaultKind::IommuFault,
    FaultKind::SkippedOutputBlocks,
    FaultKind::ReleaseAllOther,
    FaultKind::EqeStorm,
    FaultKind::BogusEqes,
    FaultKind::IsegTimeoutsHuge,
    FaultKind::IsegTimeoutsTiny,
    FaultKind::PageFlood,
    FaultKind::PagesFailure,
    FaultKind::FwFatal,
    FaultKind::SurpriseRemoval,
];

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::Hang => "hang",
            FaultKind::Late => "late completion",
            FaultKind::BadStatus => "bad status",
            FaultKind::BadSyndrome => "bad syndrome",
            FaultKind::BadToken => "bad token",
            FaultKind::BadSignature => "bad signature",
            FaultKind::OversizedOutput => "oversized outlen",
            FaultKind::ChainLoopDevice => "chain loop (device)",
            FaultKind::ChainLoop => "chain loop (posted)",
            FaultKind::IommuFault => "IOMMU fault",
            FaultKind::SkippedOutputBlocks => "skipped output blocks",
            FaultKind::ReleaseAllOther => "release-all, other function",
            FaultKind::EqeStorm => "EQE storm",
            FaultKind::BogusEqes => "bogus EQEs",
            FaultKind::IsegTimeoutsHuge => "iseg timeouts 119 years",
            FaultKind::IsegTimeoutsTiny => "iseg timeouts 1 ms",
            FaultKind::PageFlood => "page-request flood",
            FaultKind::PagesFailure => "MANAGE_PAGES failure",
            FaultKind::FwFatal => "firmware fatal",
            FaultKind::SurpriseRemoval => "surprise removal",
        }
    }

    /// The model's fault for a command fault; `None` for the two
    /// device-wide events.
    fn model_fault(self) -> Option<Fault> {
        Some(match self {
            FaultKind::Hang => Fault::NeverComplete,
            FaultKind::Late => Fault::Delay(LATE),
            // A status the PRM does not define, with a syndrome.
            FaultKind::BadStatus => Fault::Status {
                status: CmdStatus(0x7F),
                syndrome: JUNK_SYNDROME,
            },
            // Firmware contradicting itself: status OK, a syndrome set.
            // The kernel looks only at the status (mlx5_cmd_check); so does cxu.
            FaultKind::BadSyndrome => Fault::Status {
                status: CmdStatus::OK,
                syndrome: JUNK_SYNDROME,
            },
            FaultKind::BadToken => Fault::BadToken,
            FaultKind::BadSignature => Fault::BadSignature,
            FaultKind::OversizedOutput => Fault::OversizedOutput { extra: 4096 },
            FaultKind::ChainLoopDevice => Fault::LoopedOutputChain,
            FaultKind::ChainLoop => Fault::Delivery(DeliveryStatus::BAD_BLOCK_NUMBER),
            FaultKind::IommuFault => Fault::StrayDma,
            FaultKind::SkippedOutputBlocks => Fault::SkipOutputBlocks,
            FaultKind::PagesFailure => Fault::Status {
                status: CmdStatus::BAD_PARAM_ERR,
                syndrome: JUNK_SYNDROME,
            },
            _ => return None,
        })
    }

    /// Injects the fault: `times` commands with `opcode`, or the
    /// device-wide event now. The page rows fail the next MANAGE_PAGES
    /// (whatever `opcode` is) and, once the EQ exists, ask for pages so one
    /// runs; the EQE rows post their events (the storms in a thread that
    /// runs until the cell's removal is over, see [`stop_storms`]).
    fn arm(self, f: &LocalFunction, opcode: Opcode, times: u32) {
        let ctl = f.control();
        match self {
            FaultKind::FwFatal => ctl.fatal_error(FATAL_SYNDROME),
            FaultKind::SurpriseRemoval => ctl.surprise_remove(),
            FaultKind::PagesFailure => {
                let m = self.model_fault().expect("a command fault");
                ctl.inject(Some(Opcode::MANAGE_PAGES), m, Some(1));
                // At probe and removal the driver's own MANAGE_PAGES meets it.
                if !ctl.eqs().is_empty() && opcode != Opcode::TEARDOWN_HCA {
                    ctl.request_pages(8);
                }
            }
            FaultKind::ReleaseAllOther => {
                let held = ctl.pages().len() as i32;
                ctl.page_request_event(3, false, true, -held);
                ctl.page_request_event(0, true, true, -held);
            }
            FaultKind::PageFlood => {
                for n in 0..2000 {
                    ctl.page_request_event(0, false, false, n % 8 + 1);
                }
            }
            FaultKind::EqeStorm | FaultKind::BogusEqes => start_storm(ctl, self),
            // Set before probe (see `cell`): nothing to do now.
            FaultKind::IsegTimeoutsHuge | FaultKind::IsegTimeoutsTiny => {}
            _ => {
                let m = self.model_fault().expect("a command fault");
                ctl.inject(Some(opcode), m, Some(times));
            }
        }
    }

    /// The `cmd_exec_to` / `cmd_q_init_to` words of the init-segment rows,
    /// and the command timeout the driver must end up with.
    fn iseg_timeouts(self) -> Option<(u32, u32, Duration)> {
        let huge = encode_timeout(3, 0xF_FFFF).expect("fits");
        let tiny = encode_timeout(0, 1).expect("fits");
        match self {
            FaultKind::IsegTimeoutsHuge => Some((huge, huge, MAX_CMD_EXEC_TO)),
            FaultKind::IsegTimeoutsTiny => Some((tiny, tiny, MIN_CMD_EXEC_TO)),
            _ => None,
        }
    }

    /// The device is unusable after this fault (no recovery in the cell).
    fn kills_device(self) -> bool {
        matches!(self, FaultKind::FwFatal | FaultKind::SurpriseRemoval)
    }
}

/// EQEs a storm thread posts per millisecond.
const STORM_BURST: usize = 32;

/// The storm threads of the running cell (cells run one at a time).
static STORMS: Mutex<Vec<(Arc<AtomicBool>, std::thread::JoinHandle<u64>)>> = Mutex::new(Vec::new());

/// Posts EQEs until stopped: port changes as fast as the EQ takes them
/// (`EqeStorm`), or completions for every slot, none of them posted by
/// the device, and port changes of a port it does not have (`BogusEqes`).
fn start_storm(ctl: Control, fault: FaultKind) {
    if fault == FaultKind::BogusEqes {
        // Once: a reclaim far past what the kernel allows.
        ctl.page_request_event(0, false, false, i32::MIN);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let t = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut vector = [0u8; eqe::DATA_SIZE];
            vector[..4].copy_from_slice(&u32::MAX.to_be_bytes());
            let mut posted = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..STORM_BURST {
                    let ok = match fault {
                        FaultKind::BogusEqes => {
                            ctl.raw_event(EventType::CMD, 0, vector)
                                | ctl.port_change_event(15, port_change::DOWN)
                        }
                        _ => ctl.port_change_event(1, port_change::ACTIVE),
                    };
                    posted += u64::from(ok);
                }
                // A burst every millisecond: tens of thousands of EQEs a
                // second, without starving the model's command workers (the
                // firmware lock every post takes) on a 2-core CI machine.
                // A ring kept full is `eq::tests` in the driver.
                std::thread::sleep(Duration::from_millis(1));
            }
            posted
        })
    };
    STORMS.lock().expect("storms").push((stop, t));
}

/// Stops and joins the storm threads; returns the EQEs they posted.
fn stop_storms() -> u64 {
    let storms = std::mem::take(&mut *STORMS.lock().expect("storms"));
    storms
        .into_iter()
        .map(|(stop, t)| {
            stop.store(true, Ordering::Relaxed);
            t.join().unwrap_or(0)
        })
        .sum()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Probe,
    Storm,
    PagesMidStorm,
    DevlinkSet,
    Rpc,
    Flash,
    Reload,
    Remove,
}

const PHASES: [Phase; 8] = [
    Phase::Probe,
    Phase::Storm,
    Phase::PagesMidStorm,
    Phase::DevlinkSet,
    Phase::Rpc,
    Phase::Flash,
    Phase::Reload,
    Phase::Remove,
];

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Probe => "probe",
            Phase::Storm => "storm",
            Phase::PagesMidStorm => "pages mid-storm",
            Phase::DevlinkSet => "devlink set",
            Phase::Rpc => "rpc",
            Phase::Flash => "flash",
            Phase::Reload => "reload",
            Phase::Remove => "remove",
        }
    }
}

/// Cells known to fail, with why; the test reports them and does not fail
/// on them. Every entry names a driver issue the lead has been told about.
const KNOWN: &[(FaultKind, Phase, &str)] = &[];

/// The short name of a driver error, as the matrix prints it.
fn kind(e: &Error) -> String {
    match e.root() {
        Error::Timeout { .. } => "timeout".into(),
        Error::Command { status, .. } => format!("status {:#x}", status.0),
        Error::Delivery { status, .. } => format!("delivery {:#x}", status.0),
        Error::BadToken { .. } => "bad token".into(),
        Error::BadSignature { .. } => "bad signature".into(),
        Error::BadOutputLength { .. } => "bad outlen".into(),
        Error::FwFatal {
            cause: FatalCause::PciDead,
        } => "pci dead".into(),
        Error::FwFatal { .. } => "fw fatal".into(),
        Error::DeviceRemoved => "removed".into(),
        Error::AllSlotsStalled { .. } => "slots stalled".into(),
        Error::NoFreeSlot { .. } => "no slot".into(),
        Error::Quiesce { .. } => "quiesce".into(),
        Error::FwInitTimeout { .. } => "fw init timeout".into(),
        Error::CmdifRevision { .. } => "cmdif revision".into(),
        Error::BadDeviceValue(_) => "bad device value".into(),
        Error::Pages(_) => "pages".into(),
        other => format!("other: {other}"),
    }
}

/// The driver error kinds a fault may legitimately produce.
fn expected_driver(f: FaultKind) -> &'static [&'static str] {
    match f {
        FaultKind::Hang | FaultKind::Late => &["timeout"],
        FaultKind::BadStatus => &["status 0x7f"],
        FaultKind::BadSyndrome => &[],
        FaultKind::BadToken => &["bad token"],
        // This row keeps checksums on (`config`): every answer is verified
        // once the caps are read.
        FaultKind::BadSignature => &["bad signature"],
        FaultKind::OversizedOutput => &["bad outlen"],
        FaultKind::ChainLoopDevice => &[],
        FaultKind::ChainLoop => &["delivery 0x3"],
        FaultKind::IommuFault => &["delivery 0x4"],
        // Undetectable (the tokens the driver stamped are still there), but
        // what the caller reads of the blocks is zeros (checked in the RPC
        // cell), never an earlier command's bytes.
        FaultKind::SkippedOutputBlocks => &[],
        // Events the driver ignores, counts or coalesces: nothing a caller
        // sees; the pages are checked at removal.
        FaultKind::ReleaseAllOther
        | FaultKind::EqeStorm
        | FaultKind::BogusEqes
        | FaultKind::IsegTimeoutsHuge
        | FaultKind::IsegTimeoutsTiny
        | FaultKind::PageFlood => &[],
        // A page request the worker failed is logged and counted; only the
        // driver's own MANAGE_PAGES (probe, removal) return it.
        FaultKind::PagesFailure => &[],
        FaultKind::FwFatal => &["fw fatal", "timeout"],
        FaultKind::SurpriseRemoval => &["pci dead", "cmdif revision", "fw init timeout"],
    }
}

/// The driver error kinds `f` may give in phase `p`.
fn expected(f: FaultKind, p: Phase) -> &'static [&'static str] {
    match (f, p) {
        // Verification starts once the caps say checksums stay on: probe's
        // QUERY_HCA_CAP is signed, not checked.
        (FaultKind::BadSignature, Phase::Probe) => &[],
        // The boot pages' GIVE, the reclaim's TAKE.
        (FaultKind::PagesFailure, Phase::Probe | Phase::Remove) => &["status 0x3"],
        _ => expected_driver(f),
    }
}

/// What one cell found.
#[derive(Default)]
struct Cell {
    /// The outcome printed in the table.
    outcome: String,
    /// Everything wrong; empty means the cell passed.
    problems: Vec<String>,
    /// Notes printed under the table (not failures).
    notes: Vec<String>,
}

impl Cell {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(what());
        }
    }

    /// The primary result was a driver error of `label`; checks it is one
    /// `fault` may give in `phase`.
    fn expect_kind(&mut self, fault: FaultKind, phase: Phase, label: &str) {
        let allowed = expected(fault, phase);
        self.check(allowed.contains(&label), || {
            format!("got {label:?}, documented for this fault: {allowed:?}")
        });
    }
}

fn config(fault: FaultKind) -> DriverConfig {
    DriverConfig {
        use_device_timeouts: fault.iseg_timeouts().is_some(),
        cmdif_checksum: fault == FaultKind::BadSignature,
        ..short_config(CMD_TIMEOUT)
    }
}

fn profile(fault: FaultKind) -> Profile {
    Profile {
        // With checksums on at power-up, probe's early commands are signed
        // and checked; this row's driver keeps them on (`config`), so every
        // answer after the caps is verified.
        cmdif_checksum: fault == FaultKind::BadSignature,
        ..fast_profile()
    }
}

/// Runs one cell on its own thread so a hang is seen as a hang.
fn run_cell(fault: FaultKind, phase: Phase) -> Cell {
    let threads_before = thread_count();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(format!("cell {} x {}", fault.name(), phase.name()))
        .spawn(move || {
            let r = std::panic::catch_unwind(|| cell(fault, phase));
            let _ = tx.send(r);
        })
        .expect("spawn a cell thread");
    let mut c = match rx.recv_timeout(CELL_BOUND) {
        Ok(Ok(c)) => c,
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Cell {
                outcome: "PANIC".into(),
                problems: vec![format!("panicked: {msg}")],
                notes: Vec::new(),
            }
        }
        Err(_) => {
            stop_storms();
            // The thread is left behind: nothing can stop it.
            return Cell {
                outcome: "HANG".into(),
                problems: vec![format!("did not finish within {CELL_BOUND:?}")],
                notes: Vec::new(),
            };
        }
    };
    let _ = worker.join();
    stop_storms();
    // The cell's model and driver are dropped: their threads must be gone.
    let left = wait_threads(threads_before, Duration::from_secs(3));
    c.check(left <= threads_before, || {
        format!("threads: {threads_before} before the cell, {left} after")
    });
    c
}

/// One cell: bring the stack up (unless the phase is probe), run the phase
/// with the fault armed, then tear down and count what is left.
fn cell(fault: FaultKind, phase: Phase) -> Cell {
    let mut c = Cell::default();
    let f = Arc::new(LocalFunction::new(profile(fault)));
    let ctl = f.control();
    let started = Instant::now();
    let iommu_faults = ctl.counters().iommu_faults;
    if let Some((exec, init, _)) = fault.iseg_timeouts() {
        ctl.set_iseg_timeouts(exec, init);
    }

    if phase == Phase::Probe {
        let t = Instant::now();
        probe_phase(&mut c, fault, &f);
        check_bound(&mut c, t);
    } else {
        let mut setup = config(fault);
        let own_timeout = !setup.use_device_timeouts;
        if own_timeout {
            setup.queue.timeout = SETUP_TIMEOUT;
        }
        let s = match Stack::up(f.clone(), setup) {
            Ok(s) => s,
            Err(e) => {
                c.outcome = "SETUP FAILED".into();
                c.problems.push(e);
                return c;
            }
        };
        if own_timeout {
            s.device
                .with_queue(|q| {
                    q.set_timeout(CMD_TIMEOUT);
                    Ok(())
                })
                .expect("the device is up");
        }
        check_timeout(&mut c, fault, &s.device);
        let t = Instant::now();
        match phase {
            Phase::Storm => storm_phase(&mut c, fault, &s, false),
            Phase::PagesMidStorm => storm_phase(&mut c, fault, &s, true),
            Phase::DevlinkSet => devlink_phase(&mut c, fault, &s),
            Phase::Rpc => rpc_phase(&mut c, fault, &s),
            Phase::Flash => flash_phase(&mut c, fault, &s),
            Phase::Reload => reload_phase(&mut c, fault, &s),
            Phase::Remove => {}
            Phase::Probe => unreachable!(),
        }
        check_bound(&mut c, t);
        ctl.clear_faults();
        if phase == Phase::Remove {
            fault.arm(&f, Opcode::TEARDOWN_HCA, 1);
        }
        let stalled = check_slots(&mut c, fault, &s);
        check_pages_agree(&mut c, fault, &s);
        let t = Instant::now();
        let removed = s.remove();
        check_bound(&mut c, t);
        match (&removed, phase) {
            (Ok(_), Phase::Remove) => c.outcome = "ok".into(),
            (Err(e), Phase::Remove) => c.outcome = kind(e),
            _ => {}
        }
        check_removal(&mut c, fault, phase, &removed, stalled);
        stop_storms();
        // No page left with firmware after a removal that says it took
        // them all back (a driver that believed another function's
        // release-all would not have asked for them).
        if removed.is_ok() && !fault.kills_device() {
            let held = ctl.pages().len();
            c.check(held == 0, || {
                format!("the device still holds {held} pages after removal")
            });
        }
        drop(s);
    }
    stop_storms();
    // Late completions land (or are blocked) before the count; the other
    // phases waited for them before removal.
    if fault == FaultKind::Late && matches!(phase, Phase::Probe | Phase::Remove) {
        std::thread::sleep(LATE);
    }
    // Only the stray write of the IOMMU row may fault; a late completion
    // to memory the driver had already unmapped would show here too.
    let faults = ctl.counters().iommu_faults - iommu_faults;
    let want_faults = fault == FaultKind::IommuFault && c.outcome != "ok";
    c.check((faults > 0) == want_faults, || {
        format!("{faults} IOMMU faults recorded")
    });
    let maps = f.device().iommu().mappings();
    c.check(maps == 0, || {
        format!("{maps} DMA mappings left in the IOMMU after the driver is gone")
    });
    c.check(started.elapsed() < CELL_BOUND, || {
        format!("took {:?}", started.elapsed())
    });
    c
}

/// The driver's page accounting agrees with the pages the device holds
/// (a driver that believed another function's release-all would count
/// none while firmware still holds them all).
fn check_pages_agree(c: &mut Cell, fault: FaultKind, s: &Stack) {
    if fault.kills_device() {
        return;
    }
    let agree = || {
        s.device
            .page_stats()
            .is_ok_and(|p| p.outstanding == s.control.pages().len() as u64)
    };
    // The page worker may be serving a request still.
    let ok = wait_for(Duration::from_secs(2), agree);
    c.check(ok, || {
        format!(
            "the driver counts {:?} pages outstanding, the device holds {}",
            s.device.page_stats().map(|p| p.outstanding),
            s.control.pages().len()
        )
    });
}

/// The init-segment rows: the command timeout in force is the clamped one.
fn check_timeout(c: &mut Cell, fault: FaultKind, d: &cxu_driver::Device) {
    if let Some((_, _, want)) = fault.iseg_timeouts() {
        let got = d.cmd_timeout();
        c.check(matches!(got, Ok(t) if t == want), || {
            format!("command timeout {got:?}, want {want:?}")
        });
    }
}

fn check_bound(c: &mut Cell, since: Instant) {
    let took = since.elapsed();
    c.check(took < PHASE_BOUND, || {
        format!("took {took:?}, bound {PHASE_BOUND:?}")
    });
}

/// Probe with the fault on QUERY_HCA_CAP (the first command that moves
/// data through mailboxes), or on a dead or removed device.
fn probe_phase(c: &mut Cell, fault: FaultKind, f: &Arc<LocalFunction>) {
    let ctl = f.control();
    fault.arm(f, Opcode::QUERY_HCA_CAP, 1);
    let pf: Arc<dyn cxu_hal::PciFunction> = f.clone();
    match cxu_driver::Device::probe(pf, config(fault)) {
        Ok(d) => {
            c.outcome = "ok".into();
            c.check(expected(fault, Phase::Probe).is_empty(), || {
                "probe succeeded despite the fault".into()
            });
            check_timeout(c, fault, &d);
            let r = d.remove();
            c.check(
                matches!(r, Ok(r) if r.pages.outstanding == 0 && r.dma.mapped_regions == 0),
                || format!("remove after probe: {r:?}"),
            );
        }
        Err(e) => {
            let k = kind(&e);
            c.outcome = k.clone();
            c.expect_kind(fault, Phase::Probe, &k);
            // A failed bring-up undoes itself: no page held, HCA disabled.
            if !fault.kills_device() {
                let pages = ctl.pages().len();
                c.check(pages == 0, || {
                    format!("model holds {pages} pages after failed probe")
                });
            }
        }
    }
}

/// Posted and answered commands of one storm thread.
#[derive(Default)]
struct Tally {
    posted: u64,
    answers: u64,
    ok: u64,
    /// Answers that were the driver giving up (the device may answer later
    /// or never).
    timeouts: u64,
    kinds: BTreeSet<String>,
}

/// Four threads post QUERY_ADAPTER (output through a mailbox block; eight
/// in flight each); the fault hits three of them in the middle, or the
/// device dies under the storm. With `pages`, firmware also asks for 64
/// pages in the middle of the storm: the page slot serves them while every
/// regular slot is busy.
fn storm_phase(c: &mut Cell, fault: FaultKind, s: &Stack, pages: bool) {
    let d = &s.device;
    const OP: Opcode = Opcode::QUERY_ADAPTER;
    let before = d.cmd_stats(OP).map(|x| x.count).unwrap_or(0);
    // The device's own count of answers, independent of the driver's.
    let device_before = s.control.completions(OP);
    let pages_before = d.page_stats().ok();
    let go = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..STORM_THREADS)
        .map(|_| {
            let (d, go) = (d.clone(), go.clone());
            std::thread::spawn(move || {
                let mut t = Tally::default();
                let msg = query_adapter_in();
                while !go.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                let mut left = STORM_PER_THREAD;
                while left > 0 {
                    let batch = left.min(8);
                    left -= batch;
                    let r = d.with_queue(|q| {
                        let mut hs = Vec::new();
                        let mut errs = Vec::new();
                        for _ in 0..batch {
                            match q.submit(&msg, QUERY_ADAPTER_OUT_SIZE, true) {
                                Ok(h) => hs.push(h),
                                Err(e) => errs.push(e),
                            }
                        }
                        let posted = hs.len() as u64;
                        let res: Vec<_> = hs.into_iter().map(|h| h.wait()).collect();
                        Ok((posted, res, errs))
                    });
                    match r {
                        Ok((posted, res, errs)) => {
                            t.posted += posted;
                            t.answers += res.len() as u64;
                            for x in res {
                                match x {
                                    Ok(out) if out[0] == 0 => t.ok += 1,
                                    Ok(_) => {
                                        t.kinds.insert("bad output".into());
                                    }
                                    Err(e) => {
                                        t.timeouts += u64::from(kind(&e) == "timeout");
                                        t.kinds.insert(kind(&e));
                                    }
                                }
                            }
                            for e in errs {
                                t.kinds.insert(format!("refused: {}", kind(&e)));
                            }
                        }
                        Err(e) => {
                            t.kinds.insert(format!("gate: {}", kind(&e)));
                        }
                    }
                }
                t
            })
        })
        .collect();
    go.store(true, Ordering::Release);
    // Let the storm run, then hit it.
    let started = wait_for(Duration::from_secs(2), || {
        d.cmd_stats(OP).map(|x| x.count).unwrap_or(0) >= before + 100
    });
    c.check(started, || "storm did not start".into());
    fault.arm(&s.function, OP, 3);
    // Posted again while the EQ is full (a flood row overruns it): an
    // event the device could not post was never asked.
    let asked = pages
        && wait_for(PHASE_BOUND / 4, || {
            s.control.page_request_event(0, false, false, 64)
        });
    c.check(asked == pages || fault.kills_device(), || {
        "the page request was never posted".into()
    });
    let mut total = Tally::default();
    for h in handles {
        match h.join() {
            Ok(t) => {
                total.posted += t.posted;
                total.answers += t.answers;
                total.ok += t.ok;
                total.timeouts += t.timeouts;
                total.kinds.extend(t.kinds);
            }
            Err(_) => c.problems.push("a storm thread panicked".into()),
        }
    }
    let mut kinds: Vec<String> = total.kinds.iter().cloned().collect();
    kinds.sort();
    c.outcome = if kinds.is_empty() {
        "ok".into()
    } else {
        format!("ok+{}", kinds.join("+"))
    };
    c.check(total.posted == total.answers, || {
        format!("{} posted, {} answered", total.posted, total.answers)
    });
    // The driver's counters survive a dead device (until removal).
    let counted = d.cmd_stats(OP).map(|x| x.count).unwrap_or(0) - before;
    c.check(counted == total.posted, || {
        format!(
            "driver counted {counted} commands, callers posted {}",
            total.posted
        )
    });
    if fault.kills_device() {
        // A dead device answers some of them, never more, never twice.
        let answered = s.control.completions(OP) - device_before;
        c.check(answered <= total.posted, || {
            format!(
                "the device answered {answered} commands, callers posted {}",
                total.posted
            )
        });
        // Every caller got its answer (checked above) because the driver
        // knows the device is dead.
        c.check(d.is_fatal(), || {
            "the driver did not mark the dead device failed".into()
        });
    } else {
        // Exactly one answer per command, counted by the device: every
        // command the callers did not give up on was completed once; a late
        // one completes after its timeout, a hung one never.
        let want = match fault {
            FaultKind::Hang => total.posted - total.timeouts,
            _ => total.posted,
        };
        let settle = if fault == FaultKind::Late {
            10 * LATE
        } else {
            LATE
        };
        let device = || s.control.completions(OP) - device_before;
        wait_for(settle, || device() >= want);
        std::thread::sleep(Duration::from_millis(20));
        let answered = device();
        c.check(answered == want, || {
            format!(
                "the device answered {answered} commands; callers posted {}, {} timed out",
                total.posted, total.timeouts
            )
        });
    }
    if asked && !fault.kills_device() {
        let want = pages_before.map_or(0, |p| p.given) + 64;
        let failed_before = pages_before.map_or(0, |p| p.failed_requests);
        let served = wait_for(PHASE_BOUND / 2, || {
            d.page_stats()
                .is_ok_and(|p| p.given >= want || p.failed_requests > failed_before)
        });
        let now = d.page_stats();
        c.check(served, || {
            format!("the page request mid-storm was not served: {now:?}")
        });
        // Only the row that fails MANAGE_PAGES may fail the request.
        let failed = now.map_or(0, |p| p.failed_requests) - failed_before;
        c.check((failed > 0) == (fault == FaultKind::PagesFailure), || {
            format!("{failed} page requests failed")
        });
    }
    let allowed = expected_driver(fault);
    for k in &total.kinds {
        let k = k.strip_prefix("refused: ").unwrap_or(k);
        // After the device dies, refusals at the gate of later commands are
        // the same fatal error.
        c.check(allowed.contains(&k), || {
            format!("storm saw {k:?}, documented for this fault: {allowed:?}")
        });
    }
    if !expected_driver(fault).is_empty() {
        c.check(!total.kinds.is_empty(), || {
            "the fault was never seen".into()
        });
    }
}

/// A devlink error as the matrix prints it: errno name and root cause.
fn devlink_label(e: &devlink_core::Error) -> String {
    let errno = match e.errno() {
        16 => "EBUSY",
        22 => "EINVAL",
        19 => "ENODEV",
        2 => "ENOENT",
        95 => "EOPNOTSUPP",
        _ => "E?",
    };
    errno.to_string()
}

/// The devlink error a fault may give: removal is ENODEV, a command
/// firmware refused is EINVAL, everything transient is EBUSY
/// (driver/src/devlink/error.rs).
fn expected_devlink(f: FaultKind) -> &'static [&'static str] {
    match f {
        FaultKind::BadStatus => &["EINVAL"],
        FaultKind::BadSyndrome
        | FaultKind::ChainLoopDevice
        | FaultKind::SkippedOutputBlocks
        | FaultKind::ReleaseAllOther
        | FaultKind::EqeStorm
        | FaultKind::BogusEqes
        | FaultKind::IsegTimeoutsHuge
        | FaultKind::IsegTimeoutsTiny
        | FaultKind::PageFlood
        | FaultKind::PagesFailure => &[],
        _ => &["EBUSY"],
    }
}

fn expect_devlink(c: &mut Cell, fault: FaultKind, r: Result<(), devlink_core::Error>) {
    match r {
        Ok(()) => {
            c.outcome = "ok".into();
            c.check(expected_devlink(fault).is_empty(), || {
                "succeeded despite the fault".into()
            });
        }
        Err(e) => {
            let l = devlink_label(&e);
            c.outcome = l.clone();
            let allowed = expected_devlink(fault);
            c.check(allowed.contains(&l.as_str()), || {
                format!("got {e} ({l}), documented: {allowed:?}")
            });
        }
    }
}

/// Faults after which the device ran nothing: its state must be unchanged.
fn device_did_not_run(f: FaultKind) -> bool {
    matches!(
        f,
        FaultKind::Hang
            | FaultKind::BadStatus
            | FaultKind::ChainLoop
            | FaultKind::FwFatal
            | FaultKind::SurpriseRemoval
    )
}

/// `trap set action trap` on a drop trap with the fault on ACCESS_REG.
fn devlink_phase(c: &mut Cell, fault: FaultKind, s: &Stack) {
    let id = devlink_core::trap::generic_trap_id("source_mac_is_multicast").expect("generic");
    let hw_before = s.control.trap(id).map(|t| t.action);
    c.check(hw_before == Some(hpkt::TrapAction::Discard), || {
        format!("trap starts as {hw_before:?}")
    });
    fault.arm(&s.function, Opcode::ACCESS_REG, 1);
    let r = s.instance.enter().and_then(|mut g| {
        g.trap_set_action("source_mac_is_multicast", TrapAction::Trap)
            .map(|_| ())
    });
    expect_devlink(c, fault, r);
    if device_did_not_run(fault) && !fault.kills_device() {
        let now = s.control.trap(id).map(|t| t.action);
        c.check(now == hw_before, || {
            format!("hardware trap changed to {now:?}")
        });
    }
    if !fault.kills_device() {
        // The instance still works once the device behaves.
        s.control.clear_faults();
        let r = s.instance.enter().and_then(|mut g| {
            g.trap_set_action("source_mac_is_multicast", TrapAction::Drop)
                .map(|_| ())
        });
        c.check(r.is_ok(), || format!("trap set after the fault: {r:?}"));
    }
}

/// An RPC (QUERY_ADAPTER at configuration scope) with the fault on it.
fn rpc_phase(c: &mut Cell, fault: FaultKind, s: &Stack) {
    let h = s.rpc.open().expect("open");
    fault.arm(&s.function, Opcode::QUERY_ADAPTER, 1);
    match h.rpc(
        Scope::Configuration,
        &query_adapter_in(),
        QUERY_ADAPTER_OUT_SIZE,
    ) {
        Ok(out) => {
            let st = OutHeader::decode(&out).map(|h| (h.status, h.syndrome));
            match st {
                Ok((CmdStatus::OK, _)) => {
                    c.outcome = "ok".into();
                    c.check(expected(fault, Phase::Rpc).is_empty(), || {
                        "succeeded despite the fault".into()
                    });
                    if fault == FaultKind::SkippedOutputBlocks {
                        let leaked = out[16..].iter().filter(|&&b| b != 0).count();
                        c.check(leaked == 0, || {
                            format!("{leaked} bytes of the skipped blocks are not zero: an earlier output leaked")
                        });
                    }
                }
                Ok((status, syndrome)) => {
                    // fwctl's contract: a command firmware failed is not an
                    // RPC error; its status is in the output.
                    c.outcome = format!("status {:#x} in output", status.0);
                    c.check(
                        fault == FaultKind::BadStatus && syndrome == JUNK_SYNDROME,
                        || format!("status {status} syndrome {syndrome:#x} for this fault"),
                    );
                }
                Err(e) => c.problems.push(format!("undecodable output: {e}")),
            }
        }
        Err(RpcError::Failed(e)) => {
            let k = kind(&e);
            c.outcome = k.clone();
            c.expect_kind(fault, Phase::Rpc, &k);
        }
        Err(e) => {
            c.outcome = format!("errno {}", e.errno());
            c.problems.push(format!("unexpected RPC error: {e}"));
        }
    }
    let loops = looped_output_blocks(s);
    c.check((loops > 0) == (fault == FaultKind::ChainLoopDevice), || {
        format!("{loops} output blocks link to themselves")
    });
    if !fault.kills_device() {
        s.control.clear_faults();
        let r = h.rpc(
            Scope::Configuration,
            &query_adapter_in(),
            QUERY_ADAPTER_OUT_SIZE,
        );
        c.check(r.is_ok(), || format!("RPC after the fault: {r:?}"));
    }
}

/// Output blocks (of the last command of each slot) whose `next` points at
/// the block itself, read through the model's IOMMU as the device sees them.
fn looped_output_blocks(s: &Stack) -> usize {
    let iommu = s.function.device().iommu();
    let cmdq = s.control.cmdq_addr();
    let mut n = 0;
    for slot in 0..32u64 {
        let mut entry = [0u8; 64];
        if iommu.read(cmdq + slot * 64, &mut entry).is_err() {
            continue;
        }
        let out = u64::from_be_bytes(entry[0x30..0x38].try_into().expect("8 bytes"));
        let mut next = [0u8; 8];
        if out != 0 && iommu.read(out + 0x230, &mut next).is_ok() && u64::from_be_bytes(next) == out
        {
            n += 1;
        }
    }
    n
}

fn image(version: u32, len: usize) -> tempfile::NamedTempFile {
    let mut b = FLASH_IMAGE_MAGIC.to_vec();
    b.extend_from_slice(&version.to_be_bytes());
    b.extend((0..len).map(|i| i as u8));
    let f = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(f.path(), b).expect("write image");
    f
}

/// A flash of 16 KiB (64 MCDA writes, 1 ms each on the device); the fault
/// is armed at the first "Downloading" progress, so it hits the middle.
fn flash_phase(c: &mut Cell, fault: FaultKind, s: &Stack) {
    const NEW: u32 = (16 << 24) | (40 << 16) | 1;
    let running = s.control.flash().running;
    let img = image(NEW, 16 * 1024);
    s.control
        .set_latency(Opcode::ACCESS_REG, Duration::from_millis(1));
    let mon = s.instance.subscribe(ObjectKinds::FLASH, 4096);
    let inst = s.instance.clone();
    let req = devlink_core::flash::FlashRequest::new(img.path().display().to_string());
    let worker = std::thread::spawn(move || inst.enter().and_then(|mut g| g.flash_update(req)));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut armed = false;
    while !armed && Instant::now() < deadline {
        if let Some(Delivery::Event(ev)) = mon.recv_timeout(Duration::from_millis(50)) {
            if let EventBody::Flash(st) = &ev.body {
                if st.msg.as_deref() == Some("Downloading") {
                    fault.arm(&s.function, Opcode::ACCESS_REG, 1);
                    armed = true;
                }
            }
        }
    }
    c.check(armed, || "the flash never reached Downloading".into());
    let r = worker
        .join()
        .unwrap_or_else(|_| Err(devlink_core::Error::Busy("flash thread panicked".into())));
    s.control.set_latency(Opcode::ACCESS_REG, Duration::ZERO);
    let mut allowed: Vec<&str> = expected_devlink(fault).to_vec();
    if fault == FaultKind::BadSyndrome {
        // "OK" without running the write: the block is missing and the
        // device's verify rejects the image (a flash error, EINVAL).
        allowed.push("EINVAL");
    }
    match &r {
        Ok(()) => {
            c.outcome = "ok".into();
            c.check(allowed.is_empty(), || {
                "flash succeeded despite the fault".into()
            });
        }
        Err(e) => {
            let l = devlink_label(e);
            c.outcome = l.clone();
            c.check(allowed.contains(&l.as_str()), || {
                format!("got {e} ({l}), documented: {allowed:?}")
            });
        }
    }
    if fault.kills_device() {
        return;
    }
    let st = s.control.flash();
    c.check(st.running == running, || "running firmware changed".into());
    if r.is_err() {
        c.check(st.pending.is_none(), || {
            format!("pending image after a failed flash: {st:?}")
        });
        // The update handle was released: a new flash goes through.
        s.control.clear_faults();
        let idle = wait_for(Duration::from_secs(2), || {
            s.control.flash().state == ControlState::IDLE
        });
        c.check(idle, || format!("flash left {:?}", s.control.flash().state));
        let again = s.instance.enter().and_then(|mut g| {
            g.flash_update(devlink_core::flash::FlashRequest::new(
                img.path().display().to_string(),
            ))
        });
        c.check(again.is_ok(), || {
            format!("flash after the fault: {again:?}")
        });
        c.check(s.control.flash().pending == Some(NEW), || {
            "the retried image is not pending".into()
        });
    }
}

/// `reload driver_reinit` with the fault on the first ACCESS_REG of
/// `reload_up` (programming the defaults again). `reload_down` first sets
/// every trap to drop, one ACCESS_REG each, and logs a failure there
/// without failing (devlink_trap_disable), so those pass untouched.
fn reload_phase(c: &mut Cell, fault: FaultKind, s: &Stack) {
    let traps = s
        .instance
        .enter()
        .and_then(|mut g| g.trap_show(devlink_core::Detail::default()))
        .map(|t| t.len())
        .unwrap_or(0);
    c.check(traps > 0, || "no traps registered".into());
    if fault.model_fault().is_some() {
        // Earlier rules match first: `traps` clean commands, then the fault.
        s.control.inject(
            Some(Opcode::ACCESS_REG),
            Fault::Delay(Duration::ZERO),
            Some(traps as u32),
        );
    }
    fault.arm(&s.function, Opcode::ACCESS_REG, 1);
    let r = s
        .instance
        .enter()
        .and_then(|mut g| g.reload(Some(ReloadAction::DriverReinit), None).map(|_| ()));
    expect_devlink(c, fault, r);
    if !fault.kills_device() {
        s.control.clear_faults();
        let r = s
            .instance
            .enter()
            .and_then(|mut g| g.reload(Some(ReloadAction::DriverReinit), None).map(|_| ()));
        c.check(r.is_ok(), || format!("reload after the fault: {r:?}"));
        let id = devlink_core::trap::generic_trap_id("stp").expect("generic");
        let hw = s.control.trap(id).map(|t| t.action);
        c.check(hw == Some(hpkt::TrapAction::TrapToCpu), || {
            format!("stp in hardware after reload: {hw:?}")
        });
    }
}

/// Busy slots before removal: only a hung command may hold one (a late one
/// is returned by the device when it completes).
/// Returns the stalled slots.
fn check_slots(c: &mut Cell, fault: FaultKind, s: &Stack) -> u32 {
    if fault == FaultKind::Late {
        // Wait for the late completions to come back: LATE after their
        // commands, or later on a loaded machine; the check below says
        // whether every slot did.
        wait_for(LATE * 10, || match s.device.slots() {
            Ok(x) => x.busy == 0,
            Err(_) => true,
        });
    }
    if fault.kills_device() {
        // Commands given up on a dead device leave their slots with it;
        // removal drops the queue, and the IOMMU count checks the memory.
        return 0;
    }
    // The checks below read the snapshot that settled, not a later one: the
    // page worker may start its next MANAGE_PAGES at any moment (a cell with
    // page commands failing retries them), and a snapshot taken after the
    // wait once caught that command in the page slot.
    let mut snap = s.device.slots();
    let settled = wait_for(Duration::from_secs(10), || {
        snap = s.device.slots();
        match &snap {
            Ok(x) => x.busy & !x.stalled == 0,
            Err(_) => true,
        }
    });
    c.check(settled, || {
        format!("slots busy with no command waiting: {snap:?}")
    });
    if let Ok(x) = snap {
        let allowed = if fault == FaultKind::Hang { 3 } else { 0 };
        c.check(
            x.stalled.count_ones() <= allowed && x.busy == x.stalled,
            || format!("slots after the phase: {x:?}"),
        );
        return x.stalled;
    }
    0
}

/// The removal report: no page outstanding, nothing mapped, nothing leaked.
fn check_removal(
    c: &mut Cell,
    fault: FaultKind,
    phase: Phase,
    r: &cxu_driver::Result<cxu_driver::RemoveReport>,
    stalled: u32,
) {
    match r {
        Ok(rep) => {
            c.check(rep.pages.outstanding == 0, || {
                format!("{} firmware pages outstanding", rep.pages.outstanding)
            });
            c.check(
                rep.dma.mapped_regions == 0 && rep.dma.leaked_regions == 0,
                || format!("DMA after removal: {:?}", rep.dma),
            );
            if phase == Phase::Remove {
                let allowed = expected(fault, phase);
                c.check(allowed.is_empty() || fault.kills_device(), || {
                    "removal hid the fault it met".into()
                });
            }
        }
        Err(e) => {
            c.notes.push(format!("remove: {e}"));
            let k = kind(e);
            let ok = match phase {
                // TEARDOWN_HCA "OK" but not run: firmware keeps its pages
                // and reclaim gives up after its bound.
                Phase::Remove if fault == FaultKind::BadSyndrome => k == "pages",
                Phase::Remove => expected(fault, phase).contains(&k.as_str()),
                // A hung command keeps its slot: teardown cannot quiesce,
                // and says which slots (those the hung commands hold).
                _ => {
                    fault == FaultKind::Hang
                        && matches!(e.root(), Error::Quiesce { busy, .. } if *busy == stalled)
                }
            };
            c.check(ok, || {
                format!("remove failed: {e} (stalled slots {stalled:#x})")
            });
        }
    }
}

#[test]
fn fault_matrix() {
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for f in FAULTS {
        let mut row = Vec::new();
        for p in PHASES {
            row.push(run_cell(f, p));
        }
        rows.push(row);
    }

    let w0 = FAULTS.iter().map(|f| f.name().len()).max().unwrap_or(0);
    let widths: Vec<usize> = PHASES
        .iter()
        .enumerate()
        .map(|(j, p)| {
            rows.iter()
                .map(|r| r[j].outcome.len() + 2)
                .chain([p.name().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut table = format!("{:w0$}", "fault \\ phase");
    for (p, w) in PHASES.iter().zip(&widths) {
        let _ = write!(table, " | {:w$}", p.name());
    }
    table.push('\n');
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for (f, row) in FAULTS.iter().zip(&rows) {
        let _ = write!(table, "{:w0$}", f.name());
        for ((p, c), w) in PHASES.iter().zip(row).zip(&widths) {
            let known = KNOWN.iter().find(|k| k.0 == *f && k.1 == *p);
            let mark = match (c.problems.is_empty(), known) {
                (true, _) => "",
                (false, Some(_)) => " K",
                (false, None) => " X",
            };
            let _ = write!(table, " | {:w$}", format!("{}{mark}", c.outcome));
            for n in &c.notes {
                notes.push(format!("{} x {}: {n}", f.name(), p.name()));
            }
            if !c.problems.is_empty() {
                let line = format!("{} x {}: {}", f.name(), p.name(), c.problems.join("; "));
                match known {
                    Some(k) => notes.push(format!("KNOWN {line} ({})", k.2)),
                    None => failures.push(line),
                }
            }
        }
        table.push('\n');
    }
    println!(
        "\nfault matrix ({:?}); X = failed, K = known failure\n{table}",
        t0.elapsed()
    );
    for n in &notes {
        println!("note: {n}");
    }
    for x in &failures {
        println!("FAILED: {x}");
    }
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
