//! Helpers shared by the fault matrix and the caller tests: a whole driver
//! stack (probed device, registered devlink instance, RPC channel) on an
//! in-process model, short driver timeouts, and the process's thread count.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_driver::devlink::{self, Backend, BuildOptions, CxuInstance};
use cxu_driver::rpc::RpcDevice;
use cxu_driver::{Device, DriverConfig, QueueConfig};
use cxu_hal::PciFunction;
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;
use devlink_core::Handle;

/// Driver settings for fault tests: every bound short, so a cell that
/// waits for a hung command costs a fraction of a second.
pub fn short_config(cmd_timeout: Duration) -> DriverConfig {
    DriverConfig {
        queue: QueueConfig {
            timeout: cmd_timeout,
            slot_wait: Duration::from_secs(2),
            mailbox_blocks: 256,
            ..QueueConfig::default()
        },
        use_device_timeouts: false,
        fw_pre_init_timeout: Duration::from_millis(500),
        fw_init_timeout: Duration::from_millis(500),
        health_interval: Duration::from_millis(20),
        eq_poll: Duration::from_millis(20),
        fw_pages: 256,
        reclaim_timeout: Duration::from_millis(500),
        ..DriverConfig::default()
    }
}

/// A model profile that boots at once.
pub fn fast_profile() -> Profile {
    Profile {
        boot_time: Duration::ZERO,
        ..Profile::default()
    }
}

/// Threads of this process now (`/proc/self/task`).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits up to `limit` for the thread count to come down to `want`;
/// returns the last count seen.
pub fn wait_threads(want: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let n = thread_count();
        if n <= want || start.elapsed() >= limit {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `f` every 2 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A function of the model with everything the driver builds on it.
pub struct Stack {
    /// The model's function.
    pub function: Arc<LocalFunction>,
    /// Its test handle.
    pub control: Control,
    /// The probed device.
    pub device: Arc<Device>,
    /// The registered devlink instance.
    pub instance: Arc<CxuInstance>,
    /// The RPC channel.
    pub rpc: Arc<RpcDevice>,
}

impl Stack {
    /// Probes `function`, builds and registers the devlink instance and
    /// opens the RPC channel, as the `cxu` tool does.
    pub fn up(function: Arc<LocalFunction>, config: DriverConfig) -> Result<Stack, String> {
        let control = function.control();
        let pf: Arc<dyn PciFunction> = function.clone();
        let device = Device::probe(pf, config).map_err(|e| format!("probe: {e}"))?;
        let b: Arc<dyn Backend> = device.clone();
        let handle = Handle::new("model", "0").map_err(|e| e.to_string())?;
        let builder = match devlink::build(b.clone(), BuildOptions { handle, hub: None }) {
            Ok(x) => x,
            Err(e) => {
                let _ = device.remove();
                return Err(format!("devlink build: {e}"));
            }
        };
        let instance = builder.register();
        Ok(Stack {
            function,
            control,
            rpc: RpcDevice::new(b),
            device,
            instance,
        })
    }

    /// Removal in the tool's order: RPCs drain, the instance unregisters,
    /// the core tears the device down.
    pub fn remove(&self) -> cxu_driver::Result<cxu_driver::device::RemoveReport> {
        self.rpc.unregister();
        self.instance.unregister();
        self.device.remove()
    }

    /// DMA mappings the model's IOMMU holds now.
    pub fn iommu_mappings(&self) -> usize {
        self.function.device().iommu().mappings()
    }
}
