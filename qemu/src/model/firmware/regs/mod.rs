//! ACCESS_REG: the registers the control plane needs.
//!
//! * ports: PAOS (admin/oper state; an oper change posts a PORT_CHANGE event),
//!   PPCNT (IEEE 802.3 counters, group 0; other groups read as zeros), PMTU,
//!   PTYS and PFCC (`eth_port.rs`);
//! * traps (when the profile has them): HTGT trap groups, HPKT per-trap action
//!   and group, QPCR policers with their drop counter (Spectrum layouts, see
//!   `hal::ifc::regs`);
//! * firmware flash: MCQI (capabilities, running/pending version), MCC (the
//!   update state machine), MCDA (image blocks);
//! * HOST_ENDIANNESS (stored) and DTOR (reads zero: use the defaults).
//! * MCAM (which of the above management registers exist) and MCQS (the
//!   flash components), so that `mcam_reg` can be advertised.
//!
//! op_mod 0 writes, 1 reads; the output carries the register (16 + its
//! length). A register shorter than its layout is BAD_INP_LEN, an output that
//! cannot hold it BAD_OUTP_LEN, an unknown register BAD_PARAM, an index out of
//! range or a bad field BAD_PARAM with a syndrome saying which.
#![forbid(unsafe_code)]

mod eth_port;
mod flash;
mod port;
mod traps;

use cxu_hal::ifc::commands::access_reg::{DATA_OFFSET, REGISTER_ID};
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::CmdStatus;

pub use flash::{FlashState, FwFeatures, FLASH_IMAGE_CAPS_TAG, FLASH_IMAGE_MAGIC};
pub use port::PortState;

use super::{syndrome, Cmd, CmdError, CmdResult, Env, Firmware};
use crate::model::profile::Profile;

/// ACCESS_REG op_mod: write.
const REG_WRITE: u16 = 0;
/// ACCESS_REG op_mod: read.
const REG_READ: u16 = 1;

/// Register state of the device.
#[derive(Clone)]
pub struct Registers {
    pub(crate) ports: Vec<port::Port>,
    pub(crate) eth_ports: Vec<eth_port::EthPort>,
    pub(crate) traps: traps::Traps,
    pub(crate) flash: flash::Flash,
    host_endianness: u8,
}

impl Registers {
    /// Power-on registers of a device with `p`.
    pub fn new(p: &Profile) -> Self {
        Registers {
            ports: (0..p.num_ports).map(|_| port::Port::default()).collect(),
            eth_ports: (0..p.num_ports).map(|_| Default::default()).collect(),
            traps: traps::Traps::new(p),
            flash: flash::Flash::new(p),
            host_endianness: 0,
        }
    }
}

/// A register access being executed.
pub(crate) struct RegAccess<'a> {
    pub write: bool,
    /// The register as the driver sent it (index fields, and values for a write).
    pub data: &'a [u8],
}

impl RegAccess<'_> {
    fn need(&self, len: usize) -> Result<(), CmdError> {
        if self.data.len() < len {
            return Err(CmdError {
                status: CmdStatus::BAD_INP_LEN_ERR,
                syndrome: syndrome::BAD_INPUT_LEN,
            });
        }
        Ok(())
    }
}

/// MCAM: the management registers the model implements, group 0 (0x9000 to
/// 0x907F) only: the flash flow's MCQS, MCQI, MCC and MCDA. No enhanced
/// features. Read only.
fn mcam(acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
    use cxu_hal::ifc::regs::mcam as m;
    acc.need(m::LEN)?;
    let group = m::ACCESS_REG_GROUP.get(acc.data).unwrap_or(u64::MAX);
    let mut out = vec![0u8; acc.data.len()];
    out[..8].copy_from_slice(&acc.data[..8]);
    if group == 0 {
        for f in [m::MCQS, m::MCQI, m::MCC, m::MCDA] {
            let _ = f.set(&mut out, 1);
        }
    }
    Ok(out)
}

impl Firmware {
    /// Runs firmware with features `f` from now on (an activated image that
    /// announced them): the capabilities say so, and the trap tables start
    /// empty, sized for `f`, as new firmware's would.
    pub(crate) fn set_features(&mut self, p: &Profile, f: FwFeatures) {
        if f != self.regs.traps.features() {
            tracing::info!(?f, "activated firmware changes the trap features");
        }
        self.regs.traps = traps::Traps::with_features(p, f);
        self.caps.set_features(p, f);
    }

    /// The features of the running firmware.
    pub(crate) fn features(&self) -> FwFeatures {
        self.regs.traps.features()
    }

    pub(super) fn access_reg(&mut self, env: &Env<'_>, cmd: &mut Cmd<'_>) -> CmdResult {
        let write = match cmd.op_mod {
            REG_WRITE => true,
            REG_READ => false,
            _ => return Err(CmdError::bad_param(syndrome::BAD_OP_MOD)),
        };
        let id = RegisterId(cmd.get(REGISTER_ID) as u16);
        let data = &cmd.input[DATA_OFFSET..];
        if cmd.outlen < DATA_OFFSET + data.len() {
            return Err(CmdError {
                status: CmdStatus::BAD_OUTP_LEN_ERR,
                syndrome: syndrome::BAD_OUTPUT_LEN,
            });
        }
        let acc = RegAccess { write, data };
        let FwFeatures { traps, policers } = self.regs.traps.features();
        let reg = match id {
            RegisterId::PAOS => self.paos(env, &acc)?,
            RegisterId::PPCNT => self.ppcnt(&acc)?,
            RegisterId::PMTU => self.pmtu(&acc)?,
            RegisterId::PTYS => self.ptys(&acc)?,
            RegisterId::PFCC => self.pfcc(&acc)?,
            RegisterId::HTGT if traps => self.regs.traps.htgt(&acc)?,
            RegisterId::HPKT if traps => self.regs.traps.hpkt(&acc)?,
            RegisterId::QPCR if policers => self.regs.traps.qpcr(&acc)?,
            RegisterId::MCAM => mcam(&acc)?,
            RegisterId::MCQS => self.regs.flash.mcqs(&acc)?,
            RegisterId::MCQI => self.regs.flash.mcqi(&acc)?,
            RegisterId::MCC => {
                let r = self.regs.flash.mcc(&acc)?;
                if let Some(f) = self.regs.flash.take_activated_features() {
                    self.set_features(env.profile, f);
                }
                r
            }
            RegisterId::MCDA => self.regs.flash.mcda(&acc)?,
            RegisterId::HOST_ENDIANNESS => {
                acc.need(1)?;
                if write {
                    self.regs.host_endianness = acc.data[0];
                }
                let mut r = acc.data.to_vec();
                r[0] = self.regs.host_endianness;
                r
            }
            // Zero timeouts mean "use the defaults".
            RegisterId::DTOR => vec![0; acc.data.len()],
            _ => return Err(CmdError::bad_param(syndrome::REG_UNKNOWN)),
        };
        // The output must hold what firmware writes (an MCQI answer is longer
        // than its request).
        if cmd.outlen < DATA_OFFSET + reg.len() {
            return Err(CmdError {
                status: CmdStatus::BAD_OUTP_LEN_ERR,
                syndrome: syndrome::BAD_OUTPUT_LEN,
            });
        }
        let out =
            cmd.out_len(DATA_OFFSET + acc.data.len().max(reg.len()).min(cmd.outlen - DATA_OFFSET));
        let n = reg.len().min(out.len() - DATA_OFFSET);
        out[DATA_OFFSET..DATA_OFFSET + n].copy_from_slice(&reg[..n]);
        Ok(())
    }
}
