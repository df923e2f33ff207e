//! Issue 14, items 7-9: what an RPC caller may not do. Register writes are
//! decided per register and direction; an RPC too large for the mailbox pool
//! is refused up front and RPCs that drain the pool never starve the page
//! slot; a handle cannot be opened after removal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_driver::device::{Device, DriverConfig};
use cxu_driver::devlink::Backend;
use cxu_driver::rpc::{RpcDevice, RpcError, Scope};
use cxu_driver::QueueConfig;
use cxu_hal::ifc::caps::{CapMode, CapType};
use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
use cxu_hal::ifc::commands::caps::{QueryHcaCapIn, QUERY_HCA_CAP_OUT_SIZE};
use cxu_hal::ifc::commands::hca::nop_in;
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::mailbox::blocks_for_len;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::Opcode;
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;

const SCOPES: [Scope; 4] = [
    Scope::Configuration,
    Scope::DebugReadOnly,
    Scope::DebugWrite,
    Scope::DebugWriteFull,
];

fn device(cfg: DriverConfig) -> (Arc<Device>, Control) {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let c = f.control();
    let d = Device::probe(f, cfg).expect("probe");
    (d, c)
}

fn channel(d: &Arc<Device>) -> Arc<RpcDevice> {
    let b: Arc<dyn Backend> = d.clone();
    RpcDevice::new(b)
}

fn write(register: RegisterId) -> Vec<u8> {
    AccessRegIn {
        op: RegOp::Write,
        register_id: register,
        argument: 0,
        data: vec![0; 16],
    }
    .encode()
}

#[test]
fn writes_to_devlink_and_flash_registers_need_debug_write_full() {
    let (d, c) = device(DriverConfig::default());
    let rpc = channel(&d);
    let h = rpc.open().expect("open");
    for r in [
        RegisterId::HPKT,
        RegisterId::HTGT,
        RegisterId::QPCR,
        RegisterId::PAOS,
        RegisterId::MCC,
        RegisterId::MCDA,
    ] {
        for scope in &SCOPES[..3] {
            let before = c.counters().commands_executed;
            let e = h.rpc(*scope, &write(r), 32).unwrap_err();
            assert!(
                matches!(
                    e,
                    RpcError::NotAllowed {
                        needs: Some(Scope::DebugWriteFull),
                        register: Some(reg),
                        ..
                    } if reg == r
                ),
                "{r} at {scope:?}: {e}"
            );
            assert!(e.to_string().ends_with("it needs debug_write_full"), "{e}");
            assert_eq!(e.errno(), 74);
            assert_eq!(
                c.counters().commands_executed,
                before,
                "{r} reached the device"
            );
        }
        // The same register is still readable from debug_read_only.
        let read = AccessRegIn {
            op: RegOp::Read,
            register_id: r,
            argument: 0,
            data: vec![0; 16],
        }
        .encode();
        assert!(!matches!(
            h.rpc(Scope::DebugReadOnly, &read, 32),
            Err(RpcError::NotAllowed { .. })
        ));
    }
    assert_eq!(rpc.full_writes(), 0);
    // At debug_write_full the write is delivered (firmware may refuse its
    // contents: that comes back in the output) and counted as a tainting one.
    let before = c.counters().commands_executed;
    let out = h
        .rpc(Scope::DebugWriteFull, &write(RegisterId::HTGT), 32)
        .expect("delivered");
    assert!(OutHeader::decode(&out).is_ok());
    assert_eq!(c.counters().commands_executed, before + 1);
    assert_eq!(rpc.full_writes(), 1);
    // A register nobody owns is still written from configuration, untainted.
    let before = c.counters().commands_executed;
    assert!(h
        .rpc(Scope::Configuration, &write(RegisterId::PPCNT), 32)
        .is_ok());
    assert_eq!(c.counters().commands_executed, before + 1);
    assert_eq!(rpc.full_writes(), 1);
    d.remove().expect("remove");
}

#[test]
fn open_after_removal_is_refused_with_enodev() {
    let (d, _c) = device(DriverConfig::default());
    let rpc = channel(&d);
    let early = rpc.open().expect("open before removal");
    assert!(rpc.unregister());
    let e = rpc.open().err().expect("open after removal refused");
    assert!(matches!(e, RpcError::DeviceRemoved));
    assert_eq!(e.errno(), 19, "ENODEV");
    // A handle opened before stays valid and says so.
    assert!(matches!(
        early.rpc(Scope::DebugReadOnly, &nop_in(), 16),
        Err(RpcError::DeviceRemoved)
    ));
    d.remove().expect("remove");
}

fn small_pool(blocks: usize) -> DriverConfig {
    DriverConfig {
        queue: QueueConfig {
            mailbox_blocks: blocks,
            timeout: Duration::from_secs(60),
            ..QueueConfig::default()
        },
        eq_poll: Duration::from_millis(20),
        health_interval: Duration::from_millis(50),
        fw_pages: 1024,
        ..DriverConfig::default()
    }
}

#[test]
fn an_rpc_larger_than_the_pool_is_refused_up_front() {
    const POOL: usize = 64;
    let (d, c) = device(small_pool(POOL));
    let h = channel(&d).open().expect("open");
    let before = (c.counters().commands_executed, d.slots().unwrap());
    // One block more than the pool, input and output together.
    let out_len = 16 + (POOL + 1 - blocks_for_len(nop_in().len())) * 512;
    assert_eq!(
        blocks_for_len(nop_in().len()) + blocks_for_len(out_len),
        POOL + 1
    );
    let e = h.rpc(Scope::DebugReadOnly, &nop_in(), out_len).unwrap_err();
    assert!(
        matches!(e, RpcError::TooLarge { blocks, max } if blocks == POOL + 1 && max == POOL),
        "{e}"
    );
    assert_eq!(e.errno(), 90, "EMSGSIZE");
    assert_eq!(
        (c.counters().commands_executed, d.slots().unwrap()),
        before,
        "nothing reached the device or took a block"
    );
    // Within the cap, an RPC runs (blocks other slots keep cached for
    // reuse may make one near the cap fail, cleanly, when it allocates).
    let out_len = 16 + (POOL / 2) * 512;
    assert!(h.rpc(Scope::DebugReadOnly, &nop_in(), out_len).is_ok());
    d.remove().expect("remove");
}

/// RPCs hold every block of the regular pool (slow QUERY_HCA_CAPs of 9
/// blocks each) while firmware asks for pages: the page worker's
/// MANAGE_PAGES GIVEs (9 blocks per 512 pages) still run, from the page
/// slot's own blocks, before any RPC is answered.
#[test]
fn page_commands_run_while_rpcs_saturate_the_pool() {
    const RPCS: usize = 4;
    const SLOW: Duration = Duration::from_secs(3);
    let query = QueryHcaCapIn::new(CapType::GENERAL, CapMode::Current).encode();
    let per_rpc = blocks_for_len(query.len()) + blocks_for_len(QUERY_HCA_CAP_OUT_SIZE);
    // Fewer blocks left than one GIVE needs.
    let pool = RPCS * per_rpc + 4;
    let (d, c) = device(small_pool(pool));
    let rpc = channel(&d);
    let before = d.page_stats().unwrap();
    c.set_latency(Opcode::QUERY_HCA_CAP, SLOW);
    let started = Instant::now();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..RPCS)
            .map(|_| {
                let h = rpc.open().expect("open");
                let q = query;
                s.spawn(move || h.rpc(Scope::Configuration, &q, QUERY_HCA_CAP_OUT_SIZE))
            })
            .collect();
        let saturated = wait(SLOW, || {
            d.slots().unwrap().mailbox_blocks_in_use >= RPCS * per_rpc
        });
        assert!(saturated, "the RPCs never held the pool: {:?}", d.slots());
        assert!(c.request_pages(600));
        let served = wait(SLOW, || d.page_stats().unwrap().given >= before.given + 600);
        let in_flight = c.busy_slots().count_ones() as usize;
        assert!(served, "pages not given: {:?}", d.page_stats());
        assert!(
            started.elapsed() < SLOW && in_flight >= RPCS,
            "the pages were given only after the RPCs ({:?}, {in_flight} in flight)",
            started.elapsed()
        );
        for h in hs {
            let out = h.join().unwrap().expect("the RPC");
            assert_eq!(out.len(), QUERY_HCA_CAP_OUT_SIZE);
        }
    });
    let after = d.page_stats().unwrap();
    assert_eq!(after.failed_requests, before.failed_requests);
    c.set_latency(Opcode::QUERY_HCA_CAP, Duration::ZERO);
    let r = d.remove().expect("remove");
    assert_eq!((r.pages.outstanding, r.dma.mapped_regions), (0, 0));
}

fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}
