//! ACCESS_REG: one register read or write, with the register named in errors.

use cxu_hal::ifc::commands::access_reg::{access_reg_out_data, AccessRegIn, RegOp, DATA_OFFSET};
use cxu_hal::ifc::regs::RegisterId;

use super::{Backend, CtlError};

fn access(b: &dyn Backend, id: RegisterId, op: RegOp, data: &[u8]) -> Result<Vec<u8>, CtlError> {
    let what = || {
        format!(
            "{} {}",
            id.name().unwrap_or("register"),
            if op == RegOp::Write { "write" } else { "read" }
        )
    };
    let msg = AccessRegIn {
        op,
        register_id: id,
        argument: 0,
        data: data.to_vec(),
    }
    .encode();
    let out = b
        .exec(&msg, DATA_OFFSET + data.len())
        .map_err(|e| CtlError::cmd(what(), e))?;
    let reg = access_reg_out_data(&out).map_err(|e| CtlError::ifc(what(), e))?;
    if reg.len() < data.len() {
        return Err(CtlError::BadDeviceValue(format!(
            "{}: {} bytes of register data, expected {}",
            what(),
            reg.len(),
            data.len()
        )));
    }
    Ok(reg[..data.len()].to_vec())
}

/// Reads register `id`; `data` carries the index fields (and sets the length).
pub fn read(b: &dyn Backend, id: RegisterId, data: &[u8]) -> Result<Vec<u8>, CtlError> {
    access(b, id, RegOp::Read, data)
}

/// Writes register `id`; returns what firmware wrote back.
pub fn write(b: &dyn Backend, id: RegisterId, data: &[u8]) -> Result<Vec<u8>, CtlError> {
    access(b, id, RegOp::Write, data)
}
