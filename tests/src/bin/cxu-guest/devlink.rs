//! The driver's devlink instance and RPC channel through the guest's real
//! VFIO, registered on a probed device the way the `cxu` tool does
//! (`tool/src/cli/device.rs`): a trap action, a trap group's policer binding
//! and a policer's rate and burst are changed through devlink and read back
//! from firmware (HPKT, HTGT, QPCR over ACCESS_REG); bad values are refused
//! and leave the hardware as it was; RPCs run at their scope and are refused
//! above it; after unregistration nothing reaches the device.
//!
//! What was set is printed as `INFO devlink-set: ...` lines (and the RPC's
//! QUERY_ADAPTER answer as `INFO rpc-adapter: ...`): the host test compares
//! them with the model's own registers, which `cxu-vfio-user` prints (the
//! guest cannot reach the model's `Control` handle).

use std::sync::Arc;

use cxu_driver::devlink::{self, catalog, trap_hw, Backend, BuildOptions, CxuInstance};
use cxu_driver::rpc::{RpcDevice, RpcError, RpcHandle, Scope};
use cxu_driver::Device;
use cxu_hal::ifc::commands::access_reg::{access_reg_out_data, AccessRegIn, RegOp, DATA_OFFSET};
use cxu_hal::ifc::commands::hca::{query_adapter_in, QueryAdapterOut, QUERY_ADAPTER_OUT_SIZE};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::regs::htgt::Htgt;
use cxu_hal::ifc::regs::qpcr::{self, Qpcr};
use cxu_hal::ifc::regs::{hpkt, RegisterId};
use cxu_hal::ifc::{CmdStatus, Opcode};
use cxu_testkit::msg;
use devlink_core::trap::{generic_trap_group_id, generic_trap_id};
use devlink_core::{Detail, Handle, TrapAction};

use crate::report::{Check, Ctx, Report};

/// The trap whose action is changed (registered with `drop`).
const TRAP: &str = "source_mac_is_multicast";
/// The policer whose rate and burst are changed, and the new values (the
/// registration default is 10000 packets/s, burst 256).
const POLICER: u32 = 1;
const RATE: u64 = 2_000;
const BURST: u64 = 512;

/// QPCR `pid` of devlink policer `p` (`trap_hw`: ids start at 1, pids at 0).
fn pid(p: u32) -> Result<u16, String> {
    p.checked_sub(1)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| format!("policer {p} has no QPCR pid"))
}

fn htgt_read(b: &dyn Backend, group: u8) -> Result<Htgt, String> {
    let q = Htgt {
        trap_group: group,
        ..Htgt::default()
    }
    .encode()
    .ctx("HTGT query")?;
    let out = devlink::reg::read(b, RegisterId::HTGT, &q).ctx("HTGT read")?;
    Htgt::decode(&out).ctx("HTGT decode")
}

/// Builds and registers the instance; describes what it offers.
fn register(core: &Arc<Device>, name: String) -> Result<(Arc<CxuInstance>, String), String> {
    let b: Arc<dyn Backend> = core.clone();
    let handle = Handle::new("pci", name).ctx("devlink handle")?;
    let inst = devlink::build(b, BuildOptions { handle, hub: None })
        .ctx("devlink build")?
        .register();
    let mut g = inst.enter().ctx("enter")?;
    let d = Detail::default();
    let detail = format!(
        "{} traps, {} trap groups, {} policers",
        g.trap_show(d).ctx("trap show")?.len(),
        g.trap_group_show(d).ctx("trap group show")?.len(),
        g.trap_policer_show(d).ctx("trap policer show")?.len()
    );
    drop(g);
    Ok((inst, detail))
}

/// `devlink trap set ... trap TRAP action trap`, then HPKT read back.
fn trap_set(inst: &CxuInstance, b: &dyn Backend) -> Check {
    let id = generic_trap_id(TRAP).ok_or("not a generic trap")?;
    let before = trap_hw::get_trap(b, id).ctx("HPKT read")?;
    if before.action != hpkt::TrapAction::Discard {
        return Err(format!("registered with HPKT action {:?}", before.action));
    }
    let mut g = inst.enter().ctx("enter")?;
    g.trap_set_action(TRAP, TrapAction::Trap).ctx("trap set")?;
    let view = g.trap_get(TRAP, Detail::default()).ctx("trap get")?;
    drop(g);
    let after = trap_hw::get_trap(b, id).ctx("HPKT read")?;
    if view.action != TrapAction::Trap || after.action != hpkt::TrapAction::TrapToCpu {
        return Err(format!(
            "devlink shows {:?}, HPKT {:?}",
            view.action, after.action
        ));
    }
    println!("INFO devlink-set: trap {TRAP} action trap");
    Ok(format!(
        "{TRAP}: drop -> trap; HPKT trap_id {} reads {:?} in group {}",
        after.trap_id, after.action, after.trap_group
    ))
}

/// `devlink trap policer set ... policer 1 rate 2000 burst 512`, then QPCR.
fn policer_set(inst: &CxuInstance, b: &dyn Backend) -> Check {
    inst.enter()
        .ctx("enter")?
        .trap_policer_set(POLICER, Some(RATE), Some(BURST))
        .ctx("trap policer set")?;
    let q = trap_hw::get_policer(b, POLICER).ctx("QPCR read")?;
    if (u64::from(q.cir), 1u64 << q.cbs) != (RATE, BURST) {
        return Err(format!("QPCR reads cir {} cbs {}", q.cir, q.cbs));
    }
    println!("INFO devlink-set: policer {POLICER} rate {RATE} burst {BURST}");
    Ok(format!(
        "policer {POLICER}: QPCR pid {} reads cir {} cbs {} (2^{} packets)",
        q.pid, q.cir, q.cbs, q.cbs
    ))
}

/// Binds the trap's group to the policer just changed (the registration
/// binds group i to policer i + 1), then reads HTGT.
fn group_bind(inst: &CxuInstance, b: &dyn Backend) -> Check {
    let mut g = inst.enter().ctx("enter")?;
    let group = g.trap_get(TRAP, Detail::default()).ctx("trap get")?.group;
    let was = g
        .trap_group_get(&group, Detail::default())
        .ctx("trap group get")?
        .policer;
    let policers = g
        .trap_policer_show(Detail::default())
        .ctx("trap policer show")?;
    // A policer other than the current one, so the change shows.
    let to = if was == Some(POLICER) {
        policers
            .iter()
            .map(|p| p.policer)
            .find(|&p| p != POLICER)
            .ok_or("only one policer")?
    } else {
        POLICER
    };
    g.trap_group_set(&group, None, Some(Some(to)))
        .ctx("trap group set")?;
    drop(g);
    let hw = generic_trap_group_id(&group)
        .and_then(catalog::group_hw)
        .ok_or_else(|| format!("group {group} has no hardware id"))?;
    let h = htgt_read(b, hw)?;
    if !h.policer_enabled || u16::from(h.pid) != pid(to)? {
        return Err(format!(
            "HTGT group {hw}: pide {} pid {}",
            h.policer_enabled, h.pid
        ));
    }
    println!("INFO devlink-set: group {group} policer {to}");
    Ok(format!(
        "{group}: policer {was:?} -> {to}; HTGT group {hw} reads pid {}",
        h.pid
    ))
}

/// A burst that is not a power of two and a zero rate are refused, and the
/// policer keeps what it had.
fn bad_values(inst: &CxuInstance, b: &dyn Backend) -> Check {
    for (rate, burst) in [(RATE, BURST - 12), (0, BURST)] {
        let r = inst
            .enter()
            .ctx("enter")?
            .trap_policer_set(POLICER, Some(rate), Some(burst));
        if r.is_ok() {
            return Err(format!("rate {rate} burst {burst} was accepted"));
        }
    }
    let q = trap_hw::get_policer(b, POLICER).ctx("QPCR read")?;
    if (u64::from(q.cir), 1u64 << q.cbs) != (RATE, BURST) {
        return Err(format!("QPCR changed to cir {} cbs {}", q.cir, q.cbs));
    }
    Ok("burst 500 and rate 0 refused; QPCR unchanged".into())
}

/// QUERY_ADAPTER at configuration scope.
fn rpc_adapter(h: &RpcHandle) -> Check {
    let out = h
        .rpc(
            Scope::Configuration,
            &query_adapter_in(),
            QUERY_ADAPTER_OUT_SIZE,
        )
        .ctx("rpc QUERY_ADAPTER")?;
    let hdr = OutHeader::decode(&out).ctx("output header")?;
    if hdr.status != CmdStatus::OK {
        return Err(format!(
            "status {:?} syndrome {:#x}",
            hdr.status, hdr.syndrome
        ));
    }
    let a = QueryAdapterOut::decode(&out).ctx("QUERY_ADAPTER output")?;
    println!(
        "INFO rpc-adapter: psid {} ieee_vendor_id {}",
        a.psid_str(),
        a.ieee_vendor_id
    );
    Ok(format!(
        "psid {:?}, vendor {:#08x}",
        a.psid_str(),
        a.ieee_vendor_id
    ))
}

/// ACCESS_REG reading the policer's QPCR.
fn qpcr_read_msg() -> Result<Vec<u8>, String> {
    let q = Qpcr {
        g: qpcr::scope::GLOBAL,
        pid: pid(POLICER)?,
        ..Qpcr::default()
    }
    .encode()
    .ctx("QPCR query")?;
    Ok(AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::QPCR,
        argument: 0,
        data: q.to_vec(),
    }
    .encode())
}

/// ACCESS_REG (read) at debug_read_only scope: firmware's QPCR shows what
/// devlink set.
fn rpc_access_reg(h: &RpcHandle) -> Check {
    let out = h
        .rpc(
            Scope::DebugReadOnly,
            &qpcr_read_msg()?,
            DATA_OFFSET + qpcr::LEN,
        )
        .ctx("rpc ACCESS_REG")?;
    let hdr = OutHeader::decode(&out).ctx("output header")?;
    if hdr.status != CmdStatus::OK {
        return Err(format!(
            "status {:?} syndrome {:#x}",
            hdr.status, hdr.syndrome
        ));
    }
    let q = Qpcr::decode(access_reg_out_data(&out).ctx("ACCESS_REG output")?).ctx("QPCR decode")?;
    if (u64::from(q.cir), 1u64 << q.cbs) != (RATE, BURST) {
        return Err(format!("QPCR over RPC: cir {} cbs {}", q.cir, q.cbs));
    }
    Ok(format!(
        "QPCR pid {} over RPC: cir {} cbs {}",
        q.pid, q.cir, q.cbs
    ))
}

/// The same read at configuration scope, and CREATE_EQ at any scope, are
/// refused before they reach the device.
fn rpc_refused(h: &RpcHandle) -> Check {
    let read = h.rpc(
        Scope::Configuration,
        &qpcr_read_msg()?,
        DATA_OFFSET + qpcr::LEN,
    );
    let e1 = match read {
        Err(
            e @ RpcError::NotAllowed {
                needs: Some(Scope::DebugReadOnly),
                ..
            },
        ) => e,
        other => return Err(format!("ACCESS_REG read at configuration: {other:?}")),
    };
    let create = h.rpc(
        Scope::DebugWriteFull,
        &msg(Opcode::CREATE_EQ, 0, 16 + 0x40),
        16,
    );
    let e2 = match create {
        Err(e @ RpcError::NotAllowed { needs: None, .. }) => e,
        other => return Err(format!("CREATE_EQ at debug_write_full: {other:?}")),
    };
    Ok(format!(
        "errno {}: {e1}; errno {}: {e2}",
        e1.errno(),
        e2.errno()
    ))
}

/// Unregistration in the tool's order: RPCs close, then the instance.
fn unregister(inst: &CxuInstance, rpc: &RpcDevice, h: &RpcHandle) -> Check {
    if !rpc.unregister() {
        return Err("the RPC channel was already closed".into());
    }
    inst.unregister();
    match h.rpc(
        Scope::Configuration,
        &query_adapter_in(),
        QUERY_ADAPTER_OUT_SIZE,
    ) {
        Err(RpcError::DeviceRemoved) => {}
        other => return Err(format!("RPC after unregister: {other:?}")),
    }
    if inst.enter().is_ok() {
        return Err("the instance can still be entered".into());
    }
    Ok("later RPCs get \"device removed\"; the instance is gone".into())
}

/// Runs the devlink and RPC checks on a probed device named `name`.
pub fn run(r: &mut Report, core: &Arc<Device>, name: String) {
    let inst = match register(core, name) {
        Ok((inst, detail)) => {
            r.check("devlink-register", Ok(detail));
            inst
        }
        Err(e) => {
            r.check("devlink-register", Err(e));
            return;
        }
    };
    let b: &dyn Backend = &**core;
    r.check("devlink-trap-action", trap_set(&inst, b));
    let policer = r.check("devlink-policer-rate-burst", policer_set(&inst, b));
    r.check("devlink-group-policer", group_bind(&inst, b));
    if policer {
        r.check("devlink-bad-values-refused", bad_values(&inst, b));
    }
    let rpc = RpcDevice::new(core.clone());
    let h = match rpc.open() {
        Ok(h) => h,
        Err(e) => {
            r.check("rpc-open", Err(format!("open: {e}")));
            return;
        }
    };
    r.check("rpc-query-adapter", rpc_adapter(&h));
    if policer {
        r.check("rpc-access-reg-debug-read-only", rpc_access_reg(&h));
    }
    r.check("rpc-out-of-scope-refused", rpc_refused(&h));
    r.check("devlink-rpc-unregister", unregister(&inst, &rpc, &h));
}
