//! The firmware-component flash flow: MCQI, MCC and MCDA.
//!
//! One component, the boot image (index 1). The state machine follows
//! `mlxfw_fsm.c`: LOCK_UPDATE_HANDLE (IDLE → LOCKED; the handle is what MCC
//! reads in IDLE), UPDATE_COMPONENT with the size (LOCKED → DOWNLOAD), MCDA
//! blocks, VERIFY_COMPONENT (→ LOCKED, `error_code` says if the image was
//! rejected), ACTIVATE (→ LOCKED; the running version becomes the new image's),
//! RELEASE_UPDATE_HANDLE (→ IDLE), CANCEL (→ LOCKED, image dropped).
//!
//! The model's image format: [`FLASH_IMAGE_MAGIC`], then the BE32 version
//! (`major << 24 | minor << 16 | subminor`), then anything. An image that is
//! not fully written or lacks the magic is rejected with REJECTED_BAD_FORMAT.
//! Optionally, right after the version, [`FLASH_IMAGE_CAPS_TAG`] and one byte
//! of [`FwFeatures`]: the firmware in that image has (or lacks) trap and
//! policer support, and activating it changes the device's capabilities, so
//! a driver sees new firmware gain or lose them across `fw_activate`.
//! An instruction in the wrong state, or with a wrong handle, fails the
//! command (BAD_SYS_STATE / BAD_PARAM).
#![forbid(unsafe_code)]

use cxu_hal::ifc::regs::mcc::{self, ControlState, ErrorCode, Instruction, Mcc};
use cxu_hal::ifc::regs::mcda::{self, Mcda};
use cxu_hal::ifc::regs::mcqi::{self, identifier, info_type, McqiCap, McqiHeader, McqiVersion};

use super::RegAccess;
use crate::model::firmware::{syndrome, CmdError};
use crate::model::profile::Profile;

/// First bytes of a valid image.
pub const FLASH_IMAGE_MAGIC: &[u8; 4] = b"CXFW";
/// After magic and version: the image says which features its firmware has.
pub const FLASH_IMAGE_CAPS_TAG: &[u8; 4] = b"CAPS";

/// The optional features of a firmware image (cxu's trap capability bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwFeatures {
    /// Packet traps (HTGT/HPKT and the trap cap bit).
    pub traps: bool,
    /// Trap policers (QPCR and the policer cap bit).
    pub policers: bool,
}

impl FwFeatures {
    /// The features of firmware built from `p`.
    pub fn of(p: &Profile) -> Self {
        FwFeatures {
            traps: p.trap_support,
            policers: p.policer_support,
        }
    }

    /// The image bytes that announce these features (tag and flags), to put
    /// right after the version.
    pub fn encode(self) -> [u8; 5] {
        let t = FLASH_IMAGE_CAPS_TAG;
        [
            t[0],
            t[1],
            t[2],
            t[3],
            u8::from(self.traps) | u8::from(self.policers) << 1,
        ]
    }

    /// The features an image announces, if it does.
    fn from_image(image: &[u8]) -> Option<Self> {
        let rest = image.get(8..13)?;
        (rest[..4] == FLASH_IMAGE_CAPS_TAG[..]).then(|| FwFeatures {
            traps: rest[4] & 1 != 0,
            policers: rest[4] & 2 != 0,
        })
    }
}
/// Largest image.
const MAX_COMPONENT_SIZE: u32 = 1 << 20;
/// Largest MCDA write.
const MCDA_MAX_WRITE: u16 = 256;
/// log2 of the MCDA word (4 bytes).
const LOG_MCDA_WORD: u8 = 2;

/// What a test can see of the flash flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlashState {
    /// MCC control state.
    pub state: ControlState,
    /// Last error.
    pub error: ErrorCode,
    /// Running firmware version.
    pub running: u32,
    /// Verified image waiting for ACTIVATE, if any.
    pub pending: Option<u32>,
}

/// The flash state machine.
#[derive(Clone)]
pub struct Flash {
    state: ControlState,
    error: ErrorCode,
    handle: u32,
    running: u32,
    pending: Option<u32>,
    /// Features the pending image announces.
    pending_features: Option<FwFeatures>,
    /// Features of an image activated since the firmware last looked.
    activated_features: Option<FwFeatures>,
    image: Vec<u8>,
    written: Vec<bool>,
}

fn bad_field() -> CmdError {
    CmdError::bad_param(syndrome::REG_BAD_FIELD)
}

fn bad_state() -> CmdError {
    CmdError::bad_state(syndrome::FLASH_BAD_STATE)
}

impl Flash {
    /// Idle, running the profile's version.
    pub fn new(p: &Profile) -> Self {
        let (maj, min, sub) = p.fw_version;
        Flash {
            state: ControlState::IDLE,
            error: ErrorCode::OK,
            handle: 0x1001,
            running: (u32::from(maj & 0xFF) << 24) | (u32::from(min & 0xFF) << 16) | u32::from(sub),
            pending: None,
            pending_features: None,
            activated_features: None,
            image: Vec::new(),
            written: Vec::new(),
        }
    }

    /// The features of an image activated since the last call, if it announced
    /// any: the firmware applies them to its capabilities.
    pub(crate) fn take_activated_features(&mut self) -> Option<FwFeatures> {
        self.activated_features.take()
    }

    /// After a reset: idle, running what `old` was running.
    pub fn keep_running_version(&mut self, old: &Flash) {
        self.running = old.running;
    }

    /// Snapshot for tests.
    pub fn state(&self) -> FlashState {
        FlashState {
            state: self.state,
            error: self.error,
            running: self.running,
            pending: self.pending,
        }
    }

    pub(super) fn mcqi(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(mcqi::HEADER_LEN)?;
        // The request is the header; the data goes to the output only.
        let h = McqiHeader::decode_header(acc.data).map_err(|_| bad_field())?;
        if h.component_index != identifier::BOOT_IMG {
            return Err(CmdError::bad_param(syndrome::REG_BAD_INDEX));
        }
        let data: Vec<u8> = match h.info_type {
            info_type::CAPABILITIES => McqiCap {
                supported_info_bitmask: 1 << info_type::CAPABILITIES | 1 << info_type::VERSION,
                component_size: self.image.len() as u32,
                max_component_size: MAX_COMPONENT_SIZE,
                log_mcda_word_size: LOG_MCDA_WORD,
                mcda_max_write_size: MCDA_MAX_WRITE,
                rd_en: false,
                match_psid: false,
            }
            .encode()
            .map_err(|_| bad_field())?
            .to_vec(),
            info_type::VERSION => {
                let v = if h.read_pending_component {
                    self.pending.unwrap_or(0)
                } else {
                    self.running
                };
                McqiVersion {
                    version: v,
                    version_string: format!("{}.{}.{:04}", v >> 24, (v >> 16) & 0xFF, v & 0xFFFF),
                    ..McqiVersion::default()
                }
                .encode()
                .map_err(|_| bad_field())?
                .to_vec()
            }
            info_type::ACTIVATION_METHOD => vec![0; 4],
            _ => return Err(bad_field()),
        };
        let mut out = acc.data[..mcqi::HEADER_LEN].to_vec();
        out.resize(mcqi::HEADER_LEN + usize::from(h.data_size), 0);
        let n = usize::from(h.data_size).min(data.len());
        out[mcqi::HEADER_LEN..mcqi::HEADER_LEN + n].copy_from_slice(&data[..n]);
        let _ = mcqi::INFO_SIZE.set(&mut out, data.len() as u64);
        Ok(out)
    }

    /// MCQS: index 0 is the MLNX NVCONFIG (present, never updated), index 1
    /// the boot image (in use; the last index), whose update state follows
    /// the MCC flow.
    pub(super) fn mcqs(&self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        use cxu_hal::ifc::regs::mcqs as q;
        acc.need(q::LEN)?;
        let index = q::COMPONENT_INDEX.get(acc.data).map_err(|_| bad_field())?;
        let (id, status, state, last) = match index {
            0 => (
                identifier::MLNX_NVCONFIG,
                q::status::PRESENT,
                q::update_state::IDLE,
                0,
            ),
            1 => {
                let idle = self.state == ControlState::IDLE && self.pending.is_none();
                let state = if idle {
                    q::update_state::IDLE
                } else {
                    q::update_state::IN_PROGRESS
                };
                (identifier::BOOT_IMG, q::status::IN_USE, state, 1)
            }
            _ => return Err(CmdError::bad_param(syndrome::REG_BAD_INDEX)),
        };
        let mut out = vec![0u8; acc.data.len()];
        let _ = q::COMPONENT_INDEX.set(&mut out, index);
        let _ = q::LAST_INDEX_FLAG.set(&mut out, last);
        let _ = q::IDENTIFIER.set(&mut out, u64::from(id));
        let _ = q::COMPONENT_STATUS.set(&mut out, status);
        let _ = q::COMPONENT_UPDATE_STATE.set(&mut out, state);
        Ok(out)
    }

    pub(super) fn mcc(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(mcc::LEN)?;
        let req = Mcc::decode(acc.data).map_err(|_| bad_field())?;
        if acc.write && req.instruction != Instruction::NONE {
            self.instruction(&req)?;
        }
        Mcc {
            component_index: req.component_index,
            update_handle: self.handle,
            error_code: self.error,
            control_state: self.state,
            component_size: self.image.len() as u32,
            control_progress: if self.state == ControlState::IDLE {
                0
            } else {
                100
            },
            ..Mcc::default()
        }
        .encode()
        .map(|b| b.to_vec())
        .map_err(|_| bad_field())
    }

    fn instruction(&mut self, req: &Mcc) -> Result<(), CmdError> {
        let locked_by_caller = self.state != ControlState::IDLE && req.update_handle == self.handle;
        if req.instruction != Instruction::LOCK_UPDATE_HANDLE
            && self.state != ControlState::IDLE
            && !locked_by_caller
        {
            return Err(CmdError::bad_param(syndrome::FLASH_BAD_HANDLE));
        }
        match req.instruction {
            Instruction::LOCK_UPDATE_HANDLE => {
                if self.state != ControlState::IDLE {
                    return Err(bad_state());
                }
                if req.update_handle != self.handle {
                    return Err(CmdError::bad_param(syndrome::FLASH_BAD_HANDLE));
                }
                self.state = ControlState::LOCKED;
                self.error = ErrorCode::OK;
            }
            Instruction::UPDATE_COMPONENT => {
                if self.state != ControlState::LOCKED {
                    return Err(bad_state());
                }
                if req.component_index != identifier::BOOT_IMG {
                    return Err(CmdError::bad_param(syndrome::REG_BAD_INDEX));
                }
                if req.component_size == 0 || req.component_size > MAX_COMPONENT_SIZE {
                    self.error = ErrorCode::REJECTED_NOT_APPLICABLE;
                    return Ok(());
                }
                self.image = vec![0; req.component_size as usize];
                self.written = vec![false; req.component_size as usize];
                self.pending = None;
                self.pending_features = None;
                self.error = ErrorCode::OK;
                self.state = ControlState::DOWNLOAD;
            }
            Instruction::VERIFY_COMPONENT => {
                if self.state != ControlState::DOWNLOAD {
                    return Err(bad_state());
                }
                let complete = self.written.iter().all(|&w| w);
                let magic = self.image.starts_with(FLASH_IMAGE_MAGIC);
                if complete && magic && self.image.len() >= 8 {
                    let v = u32::from_be_bytes([
                        self.image[4],
                        self.image[5],
                        self.image[6],
                        self.image[7],
                    ]);
                    self.pending = Some(v);
                    self.pending_features = FwFeatures::from_image(&self.image);
                    self.error = ErrorCode::OK;
                } else {
                    self.error = ErrorCode::REJECTED_BAD_FORMAT;
                }
                self.state = ControlState::LOCKED;
            }
            Instruction::ACTIVATE => {
                let Some(v) = self.pending.filter(|_| self.state == ControlState::LOCKED) else {
                    return Err(bad_state());
                };
                self.running = v;
                self.pending = None;
                self.activated_features = self.pending_features.take();
            }
            Instruction::CANCEL => {
                self.image.clear();
                self.written.clear();
                self.pending = None;
                self.pending_features = None;
                self.state = ControlState::LOCKED;
            }
            Instruction::RELEASE_UPDATE_HANDLE => {
                self.state = ControlState::IDLE;
                self.handle = (self.handle + 1) & 0xFF_FFFF;
            }
            _ => return Err(bad_field()),
        }
        Ok(())
    }

    pub(super) fn mcda(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(mcda::HEADER_LEN)?;
        if !acc.write {
            // Reading the component back (rd_en) is not supported.
            return Err(bad_field());
        }
        let req = Mcda::decode(acc.data).map_err(|_| bad_field())?;
        if self.state != ControlState::DOWNLOAD {
            return Err(bad_state());
        }
        if req.update_handle != self.handle {
            return Err(CmdError::bad_param(syndrome::FLASH_BAD_HANDLE));
        }
        let start = req.offset as usize;
        let end = start
            .checked_add(req.data.len())
            .filter(|&e| e <= self.image.len());
        let word = 1usize << LOG_MCDA_WORD;
        if end.is_none() || req.data.len() > usize::from(MCDA_MAX_WRITE) || start % word != 0 {
            return Err(bad_field());
        }
        let end = end.unwrap_or(start);
        self.image[start..end].copy_from_slice(&req.data);
        self.written[start..end].iter_mut().for_each(|w| *w = true);
        Ok(acc.data.to_vec())
    }
}
