//! `rpc_queue`: the RPC channel through a real command queue against the
//! device model: a probed [`Device`] on a fresh in-process function with a
//! small mailbox pool, fed calls with any scope, opcode, op_mod, register,
//! body and output size, and removal at any point.
//!
//! What must hold:
//! * a refused call (size, pool limit, scope, removed) never reaches the
//!   device: the model's executed-command counter does not move;
//! * a write to a devlink-owned or flash register never runs below
//!   `debug_write_full`;
//! * after the calls, a NOP at `debug_read_only` still runs (nothing a
//!   caller did broke the queue), and removal leaves no firmware page
//!   outstanding, no DMA region mapped and no mapping in the IOMMU;
//! * after removal `open` is refused with ENODEV.

use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use cxu_driver::devlink::Backend;
use cxu_driver::rpc::{min_scope_of, RpcDevice, RpcError, Scope};
use cxu_driver::{Device, DriverConfig, QueueConfig};
use cxu_hal::ifc::commands::access_reg::REGISTER_ID;
use cxu_hal::ifc::commands::hca::nop_in;
use cxu_hal::ifc::header::InHeader;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::Opcode;
use cxu_hal::PciFunction;
use cxu_qemu::model::Profile;
use cxu_qemu::LocalFunction;

use crate::simple::OPCODES;

/// Mailbox blocks of the regular pool: small, so the pool limit is reached.
pub const POOL_BLOCKS: usize = 24;

/// Registers worth picking (the rest: any id).
const REGISTERS: &[RegisterId] = &[
    RegisterId::HPKT,
    RegisterId::HTGT,
    RegisterId::QPCR,
    RegisterId::PAOS,
    RegisterId::MCC,
    RegisterId::MCDA,
    RegisterId::PPCNT,
    RegisterId::MCQI,
];

/// One call.
#[derive(Arbitrary, Debug, Clone)]
pub struct Call {
    /// 0..=3.
    pub scope: u8,
    /// Index into the laid-out opcodes (others: left as written).
    pub opcode: u8,
    /// op_mod.
    pub op_mod: u16,
    /// Index into the interesting registers (others: `raw_register`).
    pub register: u8,
    /// The register id when `register` picks none.
    pub raw_register: u16,
    /// Body after the 16-byte header (cut to 8 KiB).
    pub body: Vec<u8>,
    /// Output size in 64-byte units (0: 16 bytes).
    pub out_units: u16,
    /// Remove the device before this call.
    pub remove_before: bool,
}

/// A whole input.
#[derive(Arbitrary, Debug, Clone)]
pub struct Session {
    /// The calls, at most 8 are run.
    pub calls: Vec<Call>,
}

fn message(c: &Call) -> Vec<u8> {
    let op = OPCODES
        .get(usize::from(c.opcode))
        .copied()
        .unwrap_or(Opcode::ACCESS_REG);
    let mut m = vec![0u8; 16];
    InHeader::new(op, c.op_mod)
        .encode_into(&mut m)
        .expect("16 bytes hold a header");
    m.extend_from_slice(&c.body[..c.body.len().min(8192)]);
    if op == Opcode::ACCESS_REG && m.len() >= 0x0C {
        let r = REGISTERS
            .get(usize::from(c.register))
            .copied()
            .unwrap_or(RegisterId(c.raw_register));
        REGISTER_ID
            .set(&mut m, u64::from(r.0))
            .expect("the message holds register_id");
    }
    m
}

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (firmware may have failed it: its status is in the output).
    Ran,
    /// Refused for its size.
    Size,
    /// Refused: more blocks than the pool.
    TooLarge,
    /// Refused at this scope.
    NotAllowed,
    /// The device was removed.
    Removed,
    /// Not delivered (timeout, bad output).
    Failed,
}

/// Runs one session; returns what became of each call run.
pub fn run(s: Session) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let f = Arc::new(LocalFunction::new(Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    }));
    let ctl = f.control();
    let pf: Arc<dyn PciFunction> = f.clone();
    let cfg = DriverConfig {
        queue: QueueConfig {
            mailbox_blocks: POOL_BLOCKS,
            timeout: Duration::from_secs(10),
            ..QueueConfig::default()
        },
        use_device_timeouts: false,
        eq_poll: Duration::from_millis(20),
        health_interval: Duration::from_millis(100),
        fw_pages: 256,
        ..DriverConfig::default()
    };
    let d = Device::probe(pf, cfg).expect("probe on the model");
    let b: Arc<dyn Backend> = d.clone();
    let rpc = RpcDevice::new(b);
    let h = rpc.open().expect("open");
    let mut removed = false;
    for c in s.calls.iter().take(8) {
        if c.remove_before && !removed {
            assert!(rpc.unregister());
            removed = true;
        }
        let scope = [
            Scope::Configuration,
            Scope::DebugReadOnly,
            Scope::DebugWrite,
            Scope::DebugWriteFull,
        ][usize::from(c.scope % 4)];
        let msg = message(c);
        let out_len = 16 + usize::from(c.out_units) * 64;
        let before = ctl.counters().commands_executed;
        let full_before = rpc.full_writes();
        let r = h.rpc(scope, &msg, out_len);
        let ran = ctl.counters().commands_executed - before;
        match &r {
            Err(RpcError::Size { .. })
            | Err(RpcError::TooLarge { .. })
            | Err(RpcError::NotAllowed { .. })
            | Err(RpcError::DeviceRemoved) => {
                assert_eq!(ran, 0, "a refused call reached the device: {r:?}")
            }
            Ok(out) => {
                assert_eq!(out.len(), out_len);
                assert!(!removed);
                let needs = min_scope_of(&msg).expect("it ran, so it is allowed");
                assert!(needs <= scope, "{needs:?} ran at {scope:?}");
                assert_eq!(
                    rpc.full_writes() - full_before,
                    u64::from(needs == Scope::DebugWriteFull)
                );
            }
            Err(RpcError::Failed(_)) => assert!(!removed),
        }
        if let Err(RpcError::TooLarge { blocks, max }) = &r {
            assert!(*blocks > *max && *max == POOL_BLOCKS);
        }
        outcomes.push(match r {
            Ok(_) => Outcome::Ran,
            Err(RpcError::Size { .. }) => Outcome::Size,
            Err(RpcError::TooLarge { .. }) => Outcome::TooLarge,
            Err(RpcError::NotAllowed { .. }) => Outcome::NotAllowed,
            Err(RpcError::DeviceRemoved) => Outcome::Removed,
            Err(RpcError::Failed(_)) => Outcome::Failed,
        });
    }
    if removed {
        assert!(matches!(rpc.open(), Err(RpcError::DeviceRemoved)));
    } else {
        let out = h
            .rpc(Scope::DebugReadOnly, &nop_in(), 16)
            .expect("a NOP after the calls");
        assert_eq!(out[0], 0, "NOP status");
        rpc.unregister();
    }
    let r = d.remove().expect("remove");
    assert_eq!(r.pages.outstanding, 0, "{r:?}");
    assert_eq!(r.dma.mapped_regions, 0, "{r:?}");
    drop(d);
    assert_eq!(f.device().iommu().mappings(), 0);
    outcomes
}
