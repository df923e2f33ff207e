//! Traps, trap groups and policers in hardware: HPKT, HTGT and QPCR.
//!
//! devlink policer `p` (ids start at 1) is QPCR pid `p - 1`. A devlink rate
//! is packets per second (QPCR `cir`, packet mode, single rate); a burst is
//! packets and must be a power of two, because QPCR stores its log2 (`cbs`),
//! as on the Spectrum switches the layout comes from.

use cxu_hal::ifc::regs::hpkt::{self, Hpkt};
use cxu_hal::ifc::regs::htgt::Htgt;
use cxu_hal::ifc::regs::qpcr::{self, limits, Qpcr};
use cxu_hal::ifc::regs::RegisterId;
use devlink_core::{TrapAction, TrapId};

use super::{catalog, reg, Backend, CtlError};

/// Lowest and highest policer rate (packets/s) the hardware accepts.
pub const RATE_RANGE: (u64, u64) = (limits::LOWEST_CIR as u64, limits::HIGHEST_CIR as u64);
/// Lowest and highest policer burst (packets).
pub const BURST_RANGE: (u64, u64) = (1 << limits::LOWEST_CBS, 1 << limits::HIGHEST_CBS);
/// Rate and burst of a policer at registration.
pub const DEFAULT_POLICER: (u64, u64) = (10_000, 256);

/// The HPKT action for a devlink action (mlxsw's mapping).
pub fn hw_action(a: TrapAction) -> hpkt::TrapAction {
    match a {
        TrapAction::Drop => hpkt::TrapAction::Discard,
        TrapAction::Trap => hpkt::TrapAction::TrapToCpu,
        TrapAction::Mirror => hpkt::TrapAction::MirrorToCpu,
    }
}

fn hw_pid(policer: u32) -> Result<u16, CtlError> {
    policer
        .checked_sub(1)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| {
            CtlError::Devlink(devlink_core::Error::Invalid(format!(
                "policer id {policer}"
            )))
        })
}

fn encode<const N: usize>(
    what: &str,
    r: cxu_hal::ifc::Result<[u8; N]>,
) -> Result<[u8; N], CtlError> {
    r.map_err(|e| CtlError::ifc(what, e))
}

/// Programs a trap's action (HPKT write).
pub fn set_trap(b: &dyn Backend, trap: TrapId, action: TrapAction) -> Result<(), CtlError> {
    let group = catalog::trap_group_hw(trap).ok_or_else(|| {
        CtlError::Devlink(devlink_core::Error::NotFound(format!(
            "trap id {trap} has no hardware group"
        )))
    })?;
    let r = Hpkt {
        action: hw_action(action),
        trap_group: group,
        trap_id: catalog::trap_hw(trap),
        ctrl: 0,
    };
    reg::write(b, RegisterId::HPKT, &encode("HPKT", r.encode())?)?;
    Ok(())
}

/// Reads a trap back (HPKT read).
pub fn get_trap(b: &dyn Backend, trap: TrapId) -> Result<Hpkt, CtlError> {
    let mut q = [0u8; hpkt::LEN];
    hpkt::TRAP_ID
        .set(&mut q, u64::from(catalog::trap_hw(trap)))
        .map_err(|e| CtlError::ifc("HPKT", e))?;
    let out = reg::read(b, RegisterId::HPKT, &q)?;
    Hpkt::decode(&out).map_err(|e| CtlError::ifc("HPKT read", e))
}

/// Binds hardware group `group` to `policer` or unbinds it (HTGT write).
pub fn set_group(b: &dyn Backend, group: u8, policer: Option<u32>) -> Result<(), CtlError> {
    let pid = match policer {
        Some(p) => u8::try_from(hw_pid(p)?).map_err(|_| {
            CtlError::Devlink(devlink_core::Error::Invalid(format!(
                "policer {p} does not fit HTGT pid"
            )))
        })?,
        None => 0,
    };
    let r = Htgt {
        trap_group: group,
        policer_enabled: policer.is_some(),
        pid,
        ..Htgt::default()
    };
    reg::write(b, RegisterId::HTGT, &encode("HTGT", r.encode())?)?;
    Ok(())
}

/// Checks a rate and burst against what QPCR can hold; the burst's log2.
pub fn check_policer(rate: u64, burst: u64) -> Result<(u32, u8), devlink_core::Error> {
    let rate = u32::try_from(rate)
        .ok()
        .filter(|r| (limits::LOWEST_CIR..=limits::HIGHEST_CIR).contains(r))
        .ok_or_else(|| {
            devlink_core::Error::Invalid(format!(
                "rate {rate} outside {}..={} packets/s",
                RATE_RANGE.0, RATE_RANGE.1
            ))
        })?;
    if !burst.is_power_of_two() {
        return Err(devlink_core::Error::Invalid(format!(
            "burst {burst} is not a power of two (the policer stores its log2)"
        )));
    }
    let log2 = u8::try_from(burst.trailing_zeros()).unwrap_or(u8::MAX);
    if !(limits::LOWEST_CBS..=limits::HIGHEST_CBS).contains(&log2) {
        return Err(devlink_core::Error::Invalid(format!(
            "burst {burst} outside {}..={} packets",
            BURST_RANGE.0, BURST_RANGE.1
        )));
    }
    Ok((rate, log2))
}

/// Programs a policer (QPCR write): packet mode, single rate, discard.
pub fn set_policer(b: &dyn Backend, policer: u32, rate: u64, burst: u64) -> Result<(), CtlError> {
    let (cir, cbs) = check_policer(rate, burst)?;
    let r = Qpcr::packet_policer(hw_pid(policer)?, cir, cbs);
    reg::write(b, RegisterId::QPCR, &encode("QPCR", r.encode())?)?;
    Ok(())
}

/// Reads a policer (QPCR read), with its drop counter (`violate_count`).
pub fn get_policer(b: &dyn Backend, policer: u32) -> Result<Qpcr, CtlError> {
    let q = Qpcr {
        g: qpcr::scope::GLOBAL,
        pid: hw_pid(policer)?,
        ..Qpcr::default()
    };
    let out = reg::read(b, RegisterId::QPCR, &encode("QPCR", q.encode())?)?;
    Qpcr::decode(&out).map_err(|e| CtlError::ifc("QPCR read", e))
}
