//! The tool's device (`cli::device`): removal with RPCs inside the channel.

use std::time::{Duration, Instant};

use cxu_driver::device::DriverConfig;
use cxu_driver::rpc::{RpcError, Scope};
use cxu_hal::ifc::commands::hca::nop_in;
use cxu_hal::ifc::Opcode;
use cxu_qemu::model::Profile;
use cxu_tool::cli::device::{Device as Opened, Source};

/// Issue 15 item 6: the tool's removal aborts user commands before it waits
/// for the RPCs inside the channel, so an RPC running a 30 s firmware command
/// fails with "device removed" at once and removal does not wait for it (nor,
/// in teardown, for its slot, which the device still owns).
#[test]
fn removal_fails_an_rpc_in_flight_instead_of_waiting_for_it() {
    let lat = Duration::from_secs(30);
    let dev = Opened::open(
        &Source::Embedded(Profile::default()),
        &DriverConfig::default(),
    )
    .expect("open");
    let control = dev.control.clone().expect("the embedded model");
    control.set_latency(Opcode::NOP, lat);
    let h = dev.rpc.open().expect("open");
    let busy_before = dev.core.slots().unwrap().busy;
    std::thread::scope(|s| {
        let rpc = s.spawn(|| h.rpc(Scope::DebugReadOnly, &nop_in(), 16));
        // Event-based: the NOP holds a slot once it is posted.
        let t = Instant::now();
        while dev.core.slots().unwrap().busy == busy_before {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the RPC never posted"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let t = Instant::now();
        dev.remove();
        let took = t.elapsed();
        let r = rpc.join().unwrap();
        assert!(matches!(r, Err(RpcError::DeviceRemoved)), "{r:?}");
        assert!(took < lat / 2, "removal took {took:?}");
    });
    assert!(!h.is_registered());
}
