//! `cxu-guest --cmd-stats`: cxu's mean latency per command, for the same
//! commands Linux's mlx5_core sends, on the same function in the same guest
//! right after mlx5_core left it (`tests/tests/qemu_guest/mlx5_cmd_stats.sh`).
//!
//! Probes (the bring-up sends ENABLE_HCA ... QUERY_HCA_CAP, MANAGE_PAGES,
//! INIT_HCA, CREATE_EQ ...), then sends [`REPEAT`] QUERY_HCA_CAP, QUERY_ADAPTER
//! and ACCESS_REG (MCAM read) more in events mode, as the kernel's do, and
//! prints the queue's counters: `INFO cmd-stat cxu NAME n=N average_ns=A`,
//! the latency being from `submit` to the completion seen (the kernel's
//! `average` runs from just before its doorbell to its completion handler).
//! One NOP with op_mod [`MARK`] tells the host which server window this was.

use std::sync::Arc;

use cxu_driver::{Device, DriverConfig};
use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
use cxu_hal::ifc::commands::hca::{query_adapter_in, QUERY_ADAPTER_OUT_SIZE};
use cxu_hal::ifc::regs::{mcam, RegisterId};
use cxu_hal::ifc::Opcode;
use cxu_hal::vfio::VfioFunction;
use cxu_hal::PciFunction;
use cxu_testkit::msg;

/// Extra commands of each kind after the probe.
const REPEAT: usize = 20;
/// The op_mod of the marking NOP (firmware ignores it; the server reports it).
pub const MARK: u16 = 0x4400;

fn run_commands(d: &Device) -> Result<(), String> {
    let caps = cxu_hal::ifc::commands::sizes(Opcode::QUERY_HCA_CAP)
        .ok_or("no QUERY_HCA_CAP sizes in ifc")?;
    let mcam = AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::MCAM,
        argument: 0,
        data: vec![0; mcam::LEN],
    }
    .encode();
    d.exec(&msg(Opcode::NOP, MARK, 16), 16)
        .map_err(|e| format!("NOP: {e}"))?;
    for _ in 0..REPEAT {
        // General device capabilities, current values (op_mod 1), as the kernel's first.
        d.exec(&msg(Opcode::QUERY_HCA_CAP, 1, caps.inlen), caps.outlen)
            .map_err(|e| format!("QUERY_HCA_CAP: {e}"))?;
        d.exec(&query_adapter_in(), QUERY_ADAPTER_OUT_SIZE)
            .map_err(|e| format!("QUERY_ADAPTER: {e}"))?;
        d.exec(&mcam, 16 + mcam::LEN)
            .map_err(|e| format!("ACCESS_REG MCAM: {e}"))?;
    }
    Ok(())
}

/// Runs the mode; false on failure (printed as `INFO cmd-stat cxu: failed ...`).
pub fn run(f: Arc<VfioFunction>) -> bool {
    let pf: Arc<dyn PciFunction> = f;
    let d = match Device::probe(pf, DriverConfig::default()) {
        Ok(d) => d,
        Err(e) => {
            println!("INFO cmd-stat cxu: failed: probe: {e}");
            return false;
        }
    };
    let ran = run_commands(&d);
    let stats = d.with_queue(|q| Ok(q.all_stats()));
    let removed = d.remove();
    match (ran, stats, removed) {
        (Ok(()), Ok(stats), Ok(_)) => {
            for (op, s) in stats {
                if let Some(mean) = s.mean_latency() {
                    // The kernel's debugfs names commands without the opcode.
                    let name = op.name().map_or_else(|| op.to_string(), str::to_owned);
                    println!(
                        "INFO cmd-stat cxu {name} n={} average_ns={}",
                        s.count - s.timeouts,
                        mean.as_nanos()
                    );
                }
            }
            true
        }
        (ran, stats, removed) => {
            println!(
                "INFO cmd-stat cxu: failed: commands {ran:?}, counters {:?}, remove {:?}",
                stats.err(),
                removed.err()
            );
            false
        }
    }
}
