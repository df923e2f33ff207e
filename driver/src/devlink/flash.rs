//! Firmware flash through the MCQI / MCC / MCDA flow (the kernel's
//! `mlxfw_fsm.c`): query the component, lock the update handle, announce
//! the size, write the image in MCDA blocks with progress notifications,
//! verify, release. On failure after the lock the update is cancelled and
//! the handle released, so the next attempt starts from IDLE.
//!
//! The new image only runs after activation: `reload action fw_activate`
//! sends ACTIVATE (see [`activate`]), and `dev info` then shows it running.

use std::time::{Duration, Instant};

use cxu_hal::ifc::regs::mcc::{ControlState, ErrorCode, Instruction, Mcc};
use cxu_hal::ifc::regs::mcda::Mcda;
use cxu_hal::ifc::regs::mcqi::{self, identifier, info_type, McqiCap, McqiHeader, McqiVersion};
use cxu_hal::ifc::regs::RegisterId;
use devlink_core::{FlashRequest, InstanceGuard};

use super::{reg, Backend, CtlError, Cxu};

/// How long firmware may take to reach a state after an instruction.
const FSM_TIMEOUT: Duration = Duration::from_secs(30);
/// The component the device updates.
const COMPONENT: u16 = identifier::BOOT_IMG;

fn mcqi(b: &dyn Backend, pending: bool, info: u8, size: usize) -> Result<Vec<u8>, CtlError> {
    let size16 =
        u16::try_from(size).map_err(|_| CtlError::Flash(format!("MCQI data size {size}")))?;
    let req = McqiHeader::request(COMPONENT, pending, info, size16)
        .map_err(|e| CtlError::ifc("MCQI", e))?;
    let out = reg::read(b, RegisterId::MCQI, &req)?;
    let h = McqiHeader::decode(&out).map_err(|e| CtlError::ifc("MCQI read", e))?;
    if h.component_index != COMPONENT {
        return Err(CtlError::BadDeviceValue(format!(
            "MCQI answered for component {}, asked {COMPONENT}",
            h.component_index
        )));
    }
    Ok(out[mcqi::HEADER_LEN..].to_vec())
}

fn version_string(v: &McqiVersion) -> String {
    if v.version_string.is_empty() {
        let n = v.version;
        format!("{}.{}.{:04}", n >> 24, (n >> 16) & 0xFF, n & 0xFFFF)
    } else {
        v.version_string.clone()
    }
}

/// The running version and the stored (pending) one, if an image waits for
/// activation.
pub fn versions(b: &dyn Backend) -> Result<(String, Option<String>), CtlError> {
    let run = McqiVersion::decode(&mcqi(b, false, info_type::VERSION, mcqi::VERSION_LEN)?)
        .map_err(|e| CtlError::ifc("MCQI version", e))?;
    let pend = McqiVersion::decode(&mcqi(b, true, info_type::VERSION, mcqi::VERSION_LEN)?)
        .map_err(|e| CtlError::ifc("MCQI pending version", e))?;
    let pending = (pend.version != 0).then(|| version_string(&pend));
    Ok((version_string(&run), pending))
}

fn mcc_read(b: &dyn Backend) -> Result<Mcc, CtlError> {
    let q = Mcc {
        component_index: COMPONENT,
        ..Mcc::default()
    };
    let out = reg::read(
        b,
        RegisterId::MCC,
        &q.encode().map_err(|e| CtlError::ifc("MCC", e))?,
    )?;
    Mcc::decode(&out).map_err(|e| CtlError::ifc("MCC read", e))
}

fn mcc_instr(b: &dyn Backend, instr: Instruction, handle: u32, size: u32) -> Result<Mcc, CtlError> {
    let q = Mcc {
        instruction: instr,
        component_index: COMPONENT,
        update_handle: handle,
        component_size: size,
        ..Mcc::default()
    };
    let out = reg::write(
        b,
        RegisterId::MCC,
        &q.encode().map_err(|e| CtlError::ifc("MCC", e))?,
    )
    .map_err(|e| {
        CtlError::Flash(format!(
            "MCC {}: {e}",
            instr.name().unwrap_or("instruction")
        ))
    })?;
    Mcc::decode(&out).map_err(|e| CtlError::ifc("MCC write", e))
}

/// Polls MCC until firmware reaches `want` (or reports an error).
fn wait_state(b: &dyn Backend, want: ControlState, step: &str) -> Result<(), CtlError> {
    let start = Instant::now();
    loop {
        let m = mcc_read(b)?;
        if m.error_code != ErrorCode::OK {
            return Err(CtlError::Flash(format!(
                "{step}: firmware reports {}",
                m.error_code.name().unwrap_or("an unknown error")
            )));
        }
        if m.control_state == want {
            return Ok(());
        }
        if start.elapsed() > FSM_TIMEOUT {
            return Err(CtlError::Flash(format!(
                "{step}: still in state {} after {FSM_TIMEOUT:?}",
                m.control_state.name().unwrap_or("?")
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Locks the update handle; returns it.
fn lock(b: &dyn Backend) -> Result<u32, CtlError> {
    let m = mcc_read(b)?;
    if m.control_state != ControlState::IDLE {
        return Err(CtlError::Flash(format!(
            "another update holds the component (state {})",
            m.control_state.name().unwrap_or("?")
        )));
    }
    mcc_instr(b, Instruction::LOCK_UPDATE_HANDLE, m.update_handle, 0)?;
    wait_state(b, ControlState::LOCKED, "lock")?;
    Ok(m.update_handle)
}

/// Cancels and releases after a failure; errors here are logged, the first
/// failure is what the user sees.
fn abandon(b: &dyn Backend, handle: u32) {
    for i in [Instruction::CANCEL, Instruction::RELEASE_UPDATE_HANDLE] {
        if let Err(e) = mcc_instr(b, i, handle, 0) {
            tracing::warn!(error = %e, "flash clean-up failed");
        }
    }
}

/// The flash op: reads the image file and writes it to the device.
pub fn update(g: &mut InstanceGuard<'_, Cxu>, req: &FlashRequest) -> Result<(), CtlError> {
    let image = std::fs::read(&req.file)
        .map_err(|e| CtlError::Flash(format!("cannot read {}: {e}", req.file)))?;
    let b = g.driver().backend().clone();
    let b = &*b;
    let cap = McqiCap::decode(&mcqi(b, false, info_type::CAPABILITIES, mcqi::CAP_LEN)?)
        .map_err(|e| CtlError::ifc("MCQI capabilities", e))?;
    let size = u32::try_from(image.len())
        .ok()
        .filter(|s| *s > 0 && *s <= cap.max_component_size)
        .ok_or_else(|| {
            CtlError::Flash(format!(
                "image of {} bytes; the component takes 1..={} bytes",
                image.len(),
                cap.max_component_size
            ))
        })?;
    let word = 1usize << cap.log_mcda_word_size.min(12);
    let block = usize::from(cap.mcda_max_write_size) / word * word;
    if block == 0 {
        return Err(CtlError::BadDeviceValue(format!(
            "MCQI: MCDA write size {} below the word size {word}",
            cap.mcda_max_write_size
        )));
    }
    g.flash_update_status("Preparing to flash", None, 0, 0);
    let handle = lock(b)?;
    let res = (|| {
        mcc_instr(b, Instruction::UPDATE_COMPONENT, handle, size)?;
        wait_state(b, ControlState::DOWNLOAD, "update component")?;
        let total = image.len() as u64;
        for (i, chunk) in image.chunks(block).enumerate() {
            let offset = i * block;
            // Blocks start on a word; the last one may be short.
            let m = Mcda {
                update_handle: handle,
                offset: offset as u32,
                data: chunk.to_vec(),
            };
            reg::write(
                b,
                RegisterId::MCDA,
                &m.encode().map_err(|e| CtlError::ifc("MCDA", e))?,
            )
            .map_err(|e| match e {
                // Keep the command's error so its kind (EBUSY for a timeout
                // or dead firmware, EINVAL for a refusal) reaches the user.
                CtlError::Cmd { what, source } => CtlError::Cmd {
                    what: format!("flash: writing block at {offset:#x}: {what}"),
                    source,
                },
                e => CtlError::Flash(format!("writing block at {offset:#x}: {e}")),
            })?;
            g.flash_update_status("Downloading", None, (offset + chunk.len()) as u64, total);
        }
        g.flash_update_status("Verifying", None, 0, 0);
        mcc_instr(b, Instruction::VERIFY_COMPONENT, handle, 0)?;
        wait_state(b, ControlState::LOCKED, "verify")?;
        mcc_instr(b, Instruction::RELEASE_UPDATE_HANDLE, handle, 0)?;
        wait_state(b, ControlState::IDLE, "release")
    })();
    if let Err(e) = res {
        abandon(b, handle);
        return Err(e);
    }
    g.flash_update_status("Flashing done", None, 0, 0);
    Ok(())
}

/// Activates the stored image (`reload action fw_activate`). With none
/// pending, the running firmware stays (the kernel's "reloads current FW").
pub fn activate(b: &dyn Backend) -> Result<bool, CtlError> {
    let (_, pending) = versions(b)?;
    let Some(v) = pending else {
        tracing::info!("fw_activate: no pending image; the running firmware stays");
        return Ok(false);
    };
    let handle = lock(b)?;
    let res = mcc_instr(b, Instruction::ACTIVATE, handle, 0)
        .and_then(|_| wait_state(b, ControlState::LOCKED, "activate"));
    let rel = mcc_instr(b, Instruction::RELEASE_UPDATE_HANDLE, handle, 0);
    res?;
    rel?;
    tracing::info!(version = %v, "firmware image activated");
    Ok(true)
}
