//! The firmware RPC channel against the device model: scopes and the
//! allow-list, firmware errors inside the output, many slow RPCs at once,
//! and removal while RPCs are inside.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cxu_driver::device::{Device, DriverConfig};
use cxu_driver::devlink::Backend;
use cxu_driver::rpc::{RpcDevice, RpcError, Scope};
use cxu_hal::ifc::commands::access_reg::{AccessRegIn, RegOp};
use cxu_hal::ifc::commands::hca::{
    nop_in, query_adapter_in, QueryAdapterOut, QUERY_ADAPTER_OUT_SIZE,
};
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::regs::RegisterId;
use cxu_hal::ifc::{CmdStatus, InHeader, Opcode};
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;

fn device() -> (Arc<Device>, Control) {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let c = f.control();
    let d = Device::probe(f, DriverConfig::default()).expect("probe");
    (d, c)
}

fn channel(d: &Arc<Device>) -> Arc<RpcDevice> {
    let b: Arc<dyn Backend> = d.clone();
    RpcDevice::new(b)
}

#[test]
fn scopes_refuse_before_the_device() {
    let (d, c) = device();
    let rpc = channel(&d);
    let h = rpc.open().expect("open");
    let before = c.counters().commands_executed;

    // NOP needs debug_read_only.
    let e = h.rpc(Scope::Configuration, &nop_in(), 16).unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::NotAllowed {
                needs: Some(Scope::DebugReadOnly),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.errno(), 74);
    assert_eq!(
        e.to_string(),
        "NOP(0x80d) (op_mod 0x0) is not allowed at scope configuration; it needs debug_read_only"
    );
    // Never allowed, at any scope: commands that change the HCA or allocate.
    for op in [
        Opcode::INIT_HCA,
        Opcode::SET_HCA_CAP,
        Opcode::MANAGE_PAGES,
        Opcode::CREATE_EQ,
    ] {
        let mut m = [0u8; 16];
        InHeader::new(op, 0).encode_into(&mut m).unwrap();
        let e = h.rpc(Scope::DebugWriteFull, &m, 16).unwrap_err();
        assert!(
            matches!(e, RpcError::NotAllowed { needs: None, .. }),
            "{op}: {e}"
        );
    }
    // A register read needs debug_read_only; a write is configuration.
    let read = AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId::PAOS,
        argument: 0,
        data: vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    }
    .encode();
    assert!(matches!(
        h.rpc(Scope::Configuration, &read, 32),
        Err(RpcError::NotAllowed { .. })
    ));
    // Sizes.
    assert!(matches!(
        h.rpc(Scope::DebugWriteFull, &[0u8; 8], 16),
        Err(RpcError::Size { what: "input", .. })
    ));
    assert!(matches!(
        h.rpc(Scope::DebugWriteFull, &nop_in(), 4),
        Err(RpcError::Size { what: "output", .. })
    ));
    assert!(matches!(
        h.rpc(Scope::DebugWriteFull, &nop_in(), 3 << 20),
        Err(RpcError::Size { .. })
    ));
    assert_eq!(
        c.counters().commands_executed,
        before,
        "nothing refused reached the device"
    );

    // Allowed ones run, and a caller-chosen uid is overwritten.
    let out = h.rpc(Scope::DebugReadOnly, &read, 32).unwrap();
    assert_eq!(OutHeader::decode(&out).unwrap().status, CmdStatus::OK);
    let mut qa = query_adapter_in();
    qa[2] = 0x12;
    qa[3] = 0x34;
    let out = h
        .rpc(Scope::Configuration, &qa, QUERY_ADAPTER_OUT_SIZE)
        .unwrap();
    assert_eq!(
        QueryAdapterOut::decode(&out).unwrap().psid_str(),
        "MT_0000000008"
    );
    assert_eq!(c.counters().commands_executed, before + 2);
}

#[test]
fn a_firmware_error_comes_back_in_the_output() {
    let (d, _c) = device();
    let h = channel(&d).open().expect("open");
    // A register firmware does not know: delivered, status in the header.
    let m = AccessRegIn {
        op: RegOp::Read,
        register_id: RegisterId(0x1234),
        argument: 0,
        data: vec![0; 16],
    }
    .encode();
    let out = h.rpc(Scope::DebugReadOnly, &m, 32).unwrap();
    let hdr = OutHeader::decode(&out).unwrap();
    assert_eq!(hdr.status, CmdStatus::BAD_PARAM_ERR);
    assert_ne!(hdr.syndrome, 0);
    assert_eq!(out.len(), 32);
}

#[test]
fn slow_rpcs_run_in_parallel() {
    let (d, c) = device();
    let h = channel(&d).open().expect("open");
    // Long enough that all N are submitted while the first still runs, on any
    // machine: submitting takes microseconds.
    let lat = Duration::from_secs(1);
    c.set_latency(Opcode::QUERY_ADAPTER, lat);
    const N: usize = 12;
    let start = Instant::now();
    let done = AtomicBool::new(false);
    let (results, most) = std::thread::scope(|s| {
        // The device's own view: how many RPCs it held at once.
        let watcher = s.spawn(|| {
            let mut most = 0;
            while !done.load(Ordering::Acquire) && most < N as u32 {
                most = most.max(c.busy_slots().count_ones());
                std::thread::sleep(Duration::from_micros(200));
            }
            most
        });
        let hs: Vec<_> = (0..N)
            .map(|_| {
                s.spawn(|| {
                    h.rpc(
                        Scope::Configuration,
                        &query_adapter_in(),
                        QUERY_ADAPTER_OUT_SIZE,
                    )
                })
            })
            .collect();
        let results: Vec<_> = hs.into_iter().map(|t| t.join().unwrap()).collect();
        done.store(true, Ordering::Release);
        (results, watcher.join().unwrap())
    });
    let took = start.elapsed();
    for r in &results {
        assert_eq!(
            QueryAdapterOut::decode(r.as_ref().unwrap())
                .unwrap()
                .psid_str(),
            "MT_0000000008"
        );
    }
    // Overlap is what the device saw, not a wall-clock ratio: serialized RPCs
    // would never hold more than one slot at a time.
    assert!(took >= lat, "each RPC waited for the model: {took:?}");
    assert_eq!(most, N as u32, "the device never held all {N} RPCs at once");
}

#[test]
fn removal_waits_for_rpcs_inside_and_refuses_later_ones() {
    let (d, c) = device();
    let rpc = channel(&d);
    let lat = Duration::from_millis(300);
    c.set_latency(Opcode::QUERY_ADAPTER, lat);
    const N: usize = 6;
    let handles: Vec<_> = (0..N).map(|_| rpc.open().expect("open")).collect();
    let executed = c.counters().commands_executed;
    let go = Barrier::new(N + 1);
    let mut started = Instant::now();
    let (done, removed_at) = std::thread::scope(|s| {
        let ts: Vec<_> = handles
            .iter()
            .map(|h| {
                let go = &go;
                s.spawn(move || {
                    go.wait();
                    let r = h.rpc(
                        Scope::Configuration,
                        &query_adapter_in(),
                        QUERY_ADAPTER_OUT_SIZE,
                    );
                    (r, Instant::now())
                })
            })
            .collect();
        started = Instant::now();
        go.wait();
        // Wait until all N are inside firmware, then remove.
        let t0 = Instant::now();
        while c.busy_slots().count_ones() < N as u32 {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "RPCs never reached firmware"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(rpc.unregister());
        let removed_at = Instant::now();
        // Every RPC inside has left the gate, so its command completed: the
        // device counts a command before it hands ownership back. A removal
        // that did not wait would find them still inside the latency.
        assert!(
            c.counters().commands_executed >= executed + N as u64,
            "removal returned while commands were in firmware"
        );
        let done: Vec<_> = ts.into_iter().map(|t| t.join().unwrap()).collect();
        (done, removed_at)
    });
    // No RPC could finish before the model's latency: removal waited for them.
    assert!(
        removed_at.duration_since(started) >= lat,
        "removal did not wait"
    );
    for (r, _) in &done {
        assert!(r.is_ok(), "an RPC inside at removal completes: {r:?}");
    }
    // Later calls: "device removed", from every handle, which stay valid.
    for h in &handles {
        let e = h
            .rpc(
                Scope::Configuration,
                &query_adapter_in(),
                QUERY_ADAPTER_OUT_SIZE,
            )
            .unwrap_err();
        assert!(matches!(e, RpcError::DeviceRemoved));
        assert_eq!(e.errno(), 19);
        assert!(!h.is_registered());
    }
    assert!(!rpc.unregister(), "second removal is a no-op");
    drop(rpc);
    // A handle outlives the device's channel and the device itself.
    let h = handles.into_iter().next().unwrap();
    d.remove().unwrap();
    drop(d);
    assert!(matches!(
        h.rpc(Scope::DebugReadOnly, &nop_in(), 16),
        Err(RpcError::DeviceRemoved)
    ));
}

#[test]
fn stress_rpcs_racing_removal() {
    let (d, c) = device();
    let rpc = channel(&d);
    c.set_latency(Opcode::NOP, Duration::from_millis(2));
    const THREADS: usize = 8;
    let go = Barrier::new(THREADS + 1);
    let (per_thread, removed_at) = std::thread::scope(|s| {
        let ts: Vec<_> = (0..THREADS)
            .map(|_| {
                let h = rpc.open().expect("open");
                let go = &go;
                s.spawn(move || {
                    go.wait();
                    let mut seen = Vec::new();
                    loop {
                        let r = h.rpc(Scope::DebugReadOnly, &nop_in(), 16);
                        let removed = matches!(r, Err(RpcError::DeviceRemoved));
                        seen.push(r.map(|o| o.len()).map_err(|e| e.to_string()));
                        if removed {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        go.wait();
        std::thread::sleep(Duration::from_millis(50));
        rpc.unregister();
        let executed = c.counters().commands_executed;
        // The device counts a command before it hands ownership back and
        // clears the slot's busy bit just after: the last one may still be
        // on its way out.
        let t = Instant::now();
        while c.busy_slots() != 0 {
            assert!(t.elapsed() < Duration::from_secs(10), "a slot stayed busy");
            std::thread::yield_now();
        }
        let per_thread = ts
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<_>>();
        (per_thread, executed)
    });
    // Nothing reached firmware after removal returned.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.counters().commands_executed, removed_at);
    let mut ok = 0;
    for seen in &per_thread {
        assert_eq!(
            seen.last().unwrap(),
            &Err("device removed".to_string()),
            "every thread ends on removal"
        );
        for r in &seen[..seen.len() - 1] {
            assert_eq!(r, &Ok(16), "before removal every NOP succeeds");
            ok += 1;
        }
    }
    assert!(
        ok >= THREADS,
        "each thread got RPCs through before removal ({ok})"
    );
}
