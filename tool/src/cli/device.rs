//! The device the tool works on: the embedded model (default) or a
//! VFIO-bound function (`--pci`), probed by the driver core
//! ([`cxu_driver::device::Device::probe`]), with its devlink instance and its
//! RPC channel.

use std::sync::Arc;

use cxu_hal::PciFunction;
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;
use devlink_core::{Handle, Hub, ObjectKinds, Subscription};

use super::CliError;
use cxu_driver::device::DriverConfig;
use cxu_driver::devlink::{self, Backend, BuildOptions, CxuInstance};
use cxu_driver::rpc::RpcDevice;

/// Which device to open.
#[derive(Debug, Clone)]
pub enum Source {
    /// The model, in this process.
    Embedded(Profile),
    /// A function bound to vfio-pci.
    Pci(cxu_hal::PciAddress),
}

/// An open device.
pub struct Device {
    /// The probed device.
    pub core: Arc<cxu_driver::device::Device>,
    /// The registered devlink instance.
    pub instance: Arc<CxuInstance>,
    /// The RPC channel.
    pub rpc: Arc<RpcDevice>,
    /// The model's test handle (embedded model only).
    pub control: Option<Control>,
    /// Every notification since before registration (for `monitor`).
    pub(crate) events: Subscription,
    /// Reports a dead firmware on `fw_fatal` as soon as the core sees it.
    watcher: parking_lot::Mutex<Option<devlink::health::Watcher>>,
}

impl Device {
    /// Opens (probing with `config`) and registers.
    pub fn open(src: &Source, config: &DriverConfig) -> Result<Device, CliError> {
        let (function, control, handle): (Arc<dyn PciFunction>, _, _) = match src {
            Source::Embedded(p) => {
                let f = Arc::new(LocalFunction::new(p.clone()));
                let c = f.control();
                (f, Some(c), Handle::new("model", "0")?)
            }
            Source::Pci(addr) => {
                let f = cxu_hal::vfio::VfioFunction::open(*addr)?;
                (Arc::new(f), None, Handle::new("pci", addr.to_string())?)
            }
        };
        let core = cxu_driver::device::Device::probe(function, config.clone())?;
        let hub = Arc::new(Hub::new());
        let events = hub.subscribe(ObjectKinds::all(), 65_536);
        let b: Arc<dyn Backend> = core.clone();
        let builder = devlink::build(
            b.clone(),
            BuildOptions {
                handle,
                hub: Some(hub),
            },
        )?;
        let instance = builder.register();
        let watcher =
            devlink::health::Watcher::start(instance.clone(), core.clone(), config.health_interval)
                .map_err(|e| CliError::Io {
                    what: "starting the fw_fatal watcher".into(),
                    source: e,
                })?;
        Ok(Device {
            watcher: parking_lot::Mutex::new(Some(watcher)),
            rpc: RpcDevice::new(b),
            core,
            instance,
            control,
            events,
        })
    }

    /// Removal: user commands in flight fail at once (so nothing below waits
    /// for a firmware command to finish or time out), then, in reverse order
    /// of creation, the watcher stops, RPCs drain and close, the instance
    /// unregisters (its deletions are notified), and the core tears the
    /// device down. Safe to call twice.
    pub fn remove(&self) {
        self.core.abort_users();
        // Taken out first so the join happens without the mutex held.
        let w = self.watcher.lock().take();
        drop(w);
        self.rpc.unregister();
        self.instance.unregister();
        if let Err(e) = self.core.remove() {
            if !matches!(e, cxu_driver::Error::DeviceRemoved) {
                tracing::warn!(error = %e, "device removal reported an error");
            }
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.remove();
    }
}
