//! The firmware: the HCA state machine and the commands, executed one at a time
//! under the firmware lock (commands are short; their latency is applied before
//! they get here, outside any lock).
//!
//! States follow the bring-up order (reference §5): `Disabled` until
//! ENABLE_HCA, `Enabled` (ISSI, pages, capabilities) until INIT_HCA,
//! `Initialized` until TEARDOWN_HCA. A command issued in the wrong state fails
//! with BAD_SYS_STATE (0x04) and a syndrome from [`syndrome`] that says why;
//! a bad field gives BAD_PARAM (0x03); a short input or output buffer gives
//! BAD_INP_LEN (0x50) / BAD_OUTP_LEN (0x51); an unknown opcode BAD_OP (0x02).
#![forbid(unsafe_code)]

mod caps;
mod eq;
mod eth;
mod eth_caps;
mod flow_table;
mod hca;
mod nic_vport;
mod objects;
mod pages;
pub mod queues;
pub mod regs;
mod rqt;
mod rss;
mod steering;
pub mod syndrome;
mod tir;
mod tis;
mod transport;
mod umem;
mod vport_counter;

use std::sync::atomic::{AtomicBool, Ordering};

use cxu_hal::ifc::commands;
use cxu_hal::ifc::header::{self, HEADER_SIZE};
use cxu_hal::ifc::{CmdStatus, Opcode};

use super::control::ControlState;
use super::history::CmdRecord;
use super::iommu::Iommu;
use super::msix::Msix;
use super::profile::Profile;

pub use eq::EqInfo;
pub use eth::EthInfo;
pub use flow_table::FlowInfo;
pub use nic_vport::NicVportState;
pub use queues::{CqInfo, QueuesInfo, WqInfo};

/// Where the HCA is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HcaState {
    /// Power-on: only ENABLE_HCA is accepted.
    Disabled,
    /// After ENABLE_HCA: ISSI, pages, capabilities, INIT_HCA.
    Enabled,
    /// After INIT_HCA: resources (UARs, EQs) and everything else.
    Initialized,
}

/// A failed command: the status and syndrome written in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdError {
    /// Command status.
    pub status: CmdStatus,
    /// Syndrome.
    pub syndrome: u32,
}

impl CmdError {
    pub(crate) fn new(status: CmdStatus, syndrome: u32) -> Self {
        CmdError { status, syndrome }
    }
    pub(crate) fn bad_param(syndrome: u32) -> Self {
        Self::new(CmdStatus::BAD_PARAM_ERR, syndrome)
    }
    pub(crate) fn bad_state(syndrome: u32) -> Self {
        Self::new(CmdStatus::BAD_SYS_STATE_ERR, syndrome)
    }
}

/// Result of a command handler.
pub type CmdResult = Result<(), CmdError>;

/// What the firmware may touch besides its own state.
pub struct Env<'a> {
    /// Host memory through the IOMMU.
    pub iommu: &'a Iommu,
    /// Interrupt delivery.
    pub msix: &'a Msix,
    /// Counters.
    pub ctl: &'a ControlState,
    /// The device profile.
    pub profile: &'a Profile,
    /// Whether command checksums are on (`cmdif_checksum` capability).
    pub checksum: &'a AtomicBool,
}

/// A command being executed: its input and the output being built.
pub struct Cmd<'a> {
    /// Opcode modifier.
    pub op_mod: u16,
    /// The whole input message.
    pub input: &'a [u8],
    /// Output length the driver allows.
    pub outlen: usize,
    /// The output message; handlers size it and fill bytes past the header.
    pub out: &'a mut Vec<u8>,
}

impl Cmd<'_> {
    /// Sizes the output to `len` zero bytes (the header is written later).
    fn out_len(&mut self, len: usize) -> &mut [u8] {
        self.out.clear();
        self.out.resize(len, 0);
        self.out
    }

    /// Reads an input field; the dispatcher checked the minimum input length,
    /// so a short read means the field lies past it and reads as 0.
    fn get(&self, f: cxu_hal::ifc::Field) -> u64 {
        f.get(self.input).unwrap_or(0)
    }
}

/// The firmware state of one function.
pub struct Firmware {
    state: HcaState,
    issi: u16,
    caps: caps::Caps,
    pages: pages::Pages,
    eqs: eq::Eqs,
    queues: queues::Queues,
    uars: std::collections::BTreeSet<u32>,
    driver_version: Option<String>,
    regs: regs::Registers,
    umems: umem::Umems,
    /// TEARDOWN_HCA with the fast-teardown profile succeeded: writing
    /// `nic_interface` DISABLED now stops the function.
    fast_teardown_prepared: bool,
    eth: eth::Eth,
}

/// How a command is gated: minimum input length (the bytes up to the last
/// field firmware reads), minimum output length (the bytes up to the last field
/// firmware writes), and the states it runs in.
struct Spec {
    min_in: usize,
    min_out: usize,
    states: &'static [HcaState],
}

const ANY_ENABLED: &[HcaState] = &[HcaState::Enabled, HcaState::Initialized];
const PRE_INIT: &[HcaState] = &[HcaState::Enabled];
const INITIALIZED: &[HcaState] = &[HcaState::Initialized];
const DISABLED: &[HcaState] = &[HcaState::Disabled];

fn spec(op: Opcode) -> Option<Spec> {
    let sizes = commands::sizes(op)?;
    let states = match op {
        Opcode::ENABLE_HCA => DISABLED,
        // The kernel disables the HCA after TEARDOWN_HCA, and also straight
        // from the initialized state when its probe fails after INIT_HCA.
        Opcode::DISABLE_HCA => ANY_ENABLED,
        Opcode::SET_ISSI | Opcode::SET_HCA_CAP | Opcode::INIT_HCA => PRE_INIT,
        Opcode::TEARDOWN_HCA
        | Opcode::ALLOC_UAR
        | Opcode::DEALLOC_UAR
        | Opcode::CREATE_EQ
        | Opcode::DESTROY_EQ
        | Opcode::CREATE_UMEM
        | Opcode::DESTROY_UMEM => INITIALIZED,
        Opcode::QUERY_ISSI
        | Opcode::QUERY_PAGES
        | Opcode::MANAGE_PAGES
        | Opcode::QUERY_HCA_CAP
        | Opcode::SET_DRIVER_VERSION
        | Opcode::QUERY_ADAPTER
        | Opcode::NOP
        | Opcode::ACCESS_REG => ANY_ENABLED,
        // Every other command `ifc` lays out is an Ethernet (eth.rs) or a
        // queue (queues/) command: those modules' dispatch matches are their
        // lists, and all of them run after INIT_HCA.
        _ => INITIALIZED,
    };
    let min_in = match op {
        // Firmware reads nothing past the header (`sw_owner_id` is optional):
        // rdma-core sends the 16-byte form, the kernel the 32-byte one.
        Opcode::INIT_HCA => commands::BASE_SIZE,
        _ => sizes.inlen,
    };
    Some(Spec {
        min_in,
        // A status-only output needs only the header (the kernel's
        // `enable_hca_out` is 12 bytes, most others 16, firmware writes 8).
        min_out: sizes.out_written(),
        states,
    })
}

impl Firmware {
    /// Power-on firmware of a function with `profile`.
    pub fn new(profile: &Profile) -> Self {
        Firmware {
            state: HcaState::Disabled,
            issi: 0,
            caps: caps::Caps::new(profile),
            pages: pages::Pages::new(profile),
            eqs: eq::Eqs::default(),
            queues: Default::default(),
            uars: Default::default(),
            driver_version: None,
            regs: regs::Registers::new(profile),
            umems: Default::default(),
            fast_teardown_prepared: false,
            eth: eth::Eth::new(profile),
        }
    }

    /// The HCA state.
    pub fn state(&self) -> HcaState {
        self.state
    }

    /// Whether checksums are on in the current capabilities.
    pub fn checksum_enabled(&self) -> bool {
        self.caps.checksum_enabled()
    }

    /// Executes one command. On success `out` holds the whole output message
    /// with an OK header; on failure `out` holds a 16-byte output with the
    /// status and syndrome.
    pub fn execute(
        &mut self,
        env: &Env<'_>,
        opcode: Opcode,
        op_mod: u16,
        input: &[u8],
        outlen: usize,
        out: &mut Vec<u8>,
    ) {
        let mut cmd = Cmd {
            op_mod,
            input,
            outlen,
            out,
        };
        let res = self.run(env, opcode, &mut cmd);
        let (status, syndrome) = match res {
            Ok(()) => (CmdStatus::OK, 0),
            Err(e) => {
                tracing::debug!(%opcode, status = %e.status, syndrome = format_args!("{:#x}", e.syndrome), "command failed");
                cmd.out_len(16);
                (e.status, e.syndrome)
            }
        };
        env.ctl.history.lock().command(CmdRecord {
            opcode,
            op_mod,
            status,
            syndrome,
        });
        if cmd.out.len() < HEADER_SIZE {
            cmd.out.resize(HEADER_SIZE, 0);
        }
        // The output is at least HEADER_SIZE bytes, so these cannot fail.
        let _ = header::STATUS.set(cmd.out, u64::from(status.0));
        let _ = header::SYNDROME.set(cmd.out, u64::from(syndrome));
    }

    fn run(&mut self, env: &Env<'_>, op: Opcode, cmd: &mut Cmd<'_>) -> CmdResult {
        let Some(spec) = spec(op) else {
            return Err(CmdError::new(CmdStatus::BAD_OP_ERR, syndrome::BAD_OPCODE));
        };
        if cmd.input.len() < spec.min_in {
            return Err(CmdError::new(
                CmdStatus::BAD_INP_LEN_ERR,
                syndrome::BAD_INPUT_LEN,
            ));
        }
        if cmd.outlen < spec.min_out {
            return Err(CmdError::new(
                CmdStatus::BAD_OUTP_LEN_ERR,
                syndrome::BAD_OUTPUT_LEN,
            ));
        }
        if !spec.states.contains(&self.state) {
            return Err(CmdError::bad_state(match self.state {
                HcaState::Disabled => syndrome::HCA_NOT_ENABLED,
                _ if spec.states == DISABLED => syndrome::HCA_ALREADY_ENABLED,
                HcaState::Enabled => syndrome::HCA_NOT_INITIALIZED,
                HcaState::Initialized => syndrome::HCA_ALREADY_INITIALIZED,
            }));
        }
        match op {
            Opcode::ENABLE_HCA => self.enable_hca(cmd),
            Opcode::DISABLE_HCA => self.disable_hca(cmd),
            Opcode::QUERY_ISSI => self.query_issi(env, cmd),
            Opcode::SET_ISSI => self.set_issi(env, cmd),
            Opcode::QUERY_PAGES => self.query_pages(cmd),
            Opcode::MANAGE_PAGES => self.manage_pages(env, cmd),
            Opcode::QUERY_HCA_CAP => self.caps.query(cmd),
            Opcode::SET_HCA_CAP => {
                let r = self.caps.set(cmd);
                env.checksum
                    .store(self.caps.checksum_enabled(), Ordering::Release);
                r
            }
            Opcode::INIT_HCA => self.init_hca(cmd),
            Opcode::TEARDOWN_HCA => self.teardown_hca(cmd),
            Opcode::SET_DRIVER_VERSION => self.set_driver_version(cmd),
            Opcode::QUERY_ADAPTER => self.query_adapter(env, cmd),
            Opcode::NOP => {
                cmd.out_len(16);
                Ok(())
            }
            Opcode::ALLOC_UAR => self.alloc_uar(env, cmd),
            Opcode::DEALLOC_UAR => self.dealloc_uar(env, cmd),
            Opcode::CREATE_EQ => self.create_eq(env, cmd),
            Opcode::DESTROY_EQ => self.destroy_eq(env, cmd),
            Opcode::ACCESS_REG => self.access_reg(env, cmd),
            Opcode::CREATE_UMEM => self.umems.create(env, cmd),
            Opcode::DESTROY_UMEM => self.umems.destroy(cmd),
            _ => self
                .eth_command(env, op, cmd)
                .or_else(|| self.queue_command(env, op, cmd))
                .unwrap_or(Err(CmdError::new(
                    CmdStatus::BAD_OP_ERR,
                    syndrome::BAD_OPCODE,
                ))),
        }
    }

    /// Pages firmware holds.
    pub fn pages_held(&self) -> u64 {
        self.pages.held()
    }

    /// The IOVAs of the pages firmware holds.
    pub fn page_list(&self) -> Vec<u64> {
        self.pages.list()
    }

    /// The driver version string last set.
    pub fn driver_version(&self) -> Option<&str> {
        self.driver_version.as_deref()
    }

    /// The current ISSI.
    pub fn issi(&self) -> u16 {
        self.issi
    }

    /// The event queues that exist.
    pub fn eqs(&self) -> Vec<EqInfo> {
        self.eqs.info()
    }

    /// UAR indexes allocated.
    pub fn uars(&self) -> Vec<u32> {
        self.uars.iter().copied().collect()
    }

    /// UMEMs that exist, and the pages they list.
    pub fn umems(&self) -> (usize, u64) {
        (self.umems.count(), self.umems.pages())
    }
}

impl Firmware {
    /// Trap `id` as HPKT last configured it.
    pub fn trap(&self, id: u16) -> Option<cxu_hal::ifc::regs::hpkt::Hpkt> {
        self.regs.traps.trap(id)
    }

    /// Trap group `g` as HTGT last configured it.
    pub fn trap_group(&self, g: u8) -> Option<cxu_hal::ifc::regs::htgt::Htgt> {
        self.regs.traps.group(g)
    }

    /// Policer `pid` as QPCR last configured it, with its drop counter.
    pub fn policer(&self, pid: u16) -> Option<cxu_hal::ifc::regs::qpcr::Qpcr> {
        self.regs.traps.policer(pid)
    }

    /// Test hook: policer `pid` dropped `n` more packets.
    pub fn add_policer_drops(&mut self, pid: u16, n: u64) -> bool {
        self.regs.traps.add_policer_drops(pid, n)
    }

    /// The flash flow's state.
    pub fn flash_state(&self) -> regs::FlashState {
        self.regs.flash.state()
    }

    /// A function reset: everything is forgotten except the flash (the
    /// activated image keeps running, with its features; an update in
    /// progress is dropped).
    pub fn after_reset(&self, profile: &Profile) -> Firmware {
        let mut fw = Firmware::new(profile);
        fw.regs.flash.keep_running_version(&self.regs.flash);
        fw.set_features(profile, self.features());
        fw
    }
}
