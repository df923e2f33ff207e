//! The device the tool works on: the embedded model (default) or a
//! VFIO-bound function (`--pci`), its command interface, its devlink
//! instance and its RPC channel.
//!
//! Bring-up here is the minimum the control plane needs: bus mastering,
//! wait for firmware, enable the command queue, ENABLE_HCA (after which the
//! model answers QUERY_HCA_CAP, QUERY_ADAPTER and ACCESS_REG). The full
//! probe (ISSI, pages, INIT_HCA, EQs) belongs to the driver core and is not
//! done here; a real adapter may refuse registers before INIT_HCA.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxu_dma::DmaContext;
use cxu_hal::ifc::commands::hca::FunctionIn;
use cxu_hal::ifc::iseg;
use cxu_hal::ifc::Opcode;
use cxu_hal::{Mmio, PciFunction};
use cxu_qemu::model::{Control, Profile};
use cxu_qemu::LocalFunction;
use devlink_core::{Handle, Hub, ObjectKinds, Subscription};
use parking_lot::RwLock;

use super::CliError;
use crate::cmd::{OpStats, Queue, QueueConfig};
use crate::devlink::{self, Backend, BuildOptions, CtlError, CxuInstance};
use crate::rpc::RpcDevice;

/// How long firmware may stay in `initializing`.
const BOOT_WAIT: Duration = Duration::from_secs(10);

/// A PCI function with its command queue, as a [`Backend`].
pub struct FunctionBackend {
    function: Arc<dyn PciFunction>,
    bar: Arc<dyn Mmio>,
    dma: DmaContext,
    queue: RwLock<Arc<Queue>>,
}

fn wait_ready(bar: &Arc<dyn Mmio>) -> Result<(), crate::Error> {
    let start = Instant::now();
    while iseg::INITIALIZING.extract(bar.read32_be(iseg::INITIALIZING.byte as u64)) != 0 {
        if start.elapsed() > BOOT_WAIT {
            return Err(crate::Error::FwInitTimeout {
                waited: start.elapsed(),
                stage: "cxu tool bring-up",
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn enable(bar: &Arc<dyn Mmio>, dma: &DmaContext) -> Result<Queue, crate::Error> {
    wait_ready(bar)?;
    let q = Queue::enable(bar.clone(), dma, &QueueConfig::default())?;
    wait_ready(bar)?;
    q.exec(&FunctionIn::default().encode(true), 16)
        .map_err(|e| e.at("ENABLE_HCA"))?;
    Ok(q)
}

impl FunctionBackend {
    /// Brings up the command interface of `function`.
    pub fn start(function: Arc<dyn PciFunction>) -> Result<Arc<Self>, CliError> {
        function.set_bus_master(true)?;
        let bar = function.bar(0)?;
        let dma = DmaContext::new(function.clone())?;
        let queue = enable(&bar, &dma)?;
        Ok(Arc::new(FunctionBackend {
            function,
            bar,
            dma,
            queue: RwLock::new(Arc::new(queue)),
        }))
    }

    fn queue(&self) -> Arc<Queue> {
        self.queue.read().clone()
    }

    /// Stops user commands (removal).
    pub fn abort_users(&self) {
        self.queue().abort_users();
    }
}

impl Backend for FunctionBackend {
    fn exec(&self, msg: &[u8], outlen: usize) -> crate::Result<Vec<u8>> {
        // The queue is cloned out so a reset never waits for a slow command.
        let q = self.queue();
        let out = q.submit(msg, outlen, true)?.wait();
        out
    }

    fn iseg_read32(&self, offset: u64) -> Option<u32> {
        (offset + 4 <= iseg::ISEG_SIZE as u64).then(|| self.bar.read32_be(offset))
    }

    fn cmd_stats(&self) -> Vec<(Opcode, OpStats)> {
        self.queue().all_stats()
    }

    fn cmd_timeout(&self) -> Option<Duration> {
        Some(self.queue().timeout())
    }

    fn reset(&self) -> Result<(), CtlError> {
        let old = self.queue();
        old.abort_users();
        self.function
            .reset()
            .map_err(|e| CtlError::cmd("function reset", crate::Error::from(e)))?;
        self.function
            .set_bus_master(true)
            .map_err(|e| CtlError::cmd("bus master after reset", crate::Error::from(e)))?;
        let q = enable(&self.bar, &self.dma)
            .map_err(|e| CtlError::cmd("command interface after reset", e))?;
        *self.queue.write() = Arc::new(q);
        tracing::info!("function reset; command interface back up");
        Ok(())
    }
}

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
    /// The command interface.
    pub backend: Arc<FunctionBackend>,
    /// The registered devlink instance.
    pub instance: Arc<CxuInstance>,
    /// The RPC channel.
    pub rpc: Arc<RpcDevice>,
    /// The model's test handle (embedded model only).
    pub control: Option<Control>,
    /// Every notification since before registration (for `monitor`).
    pub(crate) events: Subscription,
}

impl Device {
    /// Opens and registers.
    pub fn open(src: &Source) -> Result<Device, CliError> {
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
        let backend = FunctionBackend::start(function)?;
        let hub = Arc::new(Hub::new());
        let events = hub.subscribe(ObjectKinds::all(), 65_536);
        let b: Arc<dyn Backend> = backend.clone();
        let builder = devlink::build(
            b.clone(),
            BuildOptions {
                handle,
                hub: Some(hub),
            },
        )?;
        let instance = builder.register();
        Ok(Device {
            rpc: RpcDevice::new(b),
            backend,
            instance,
            control,
            events,
        })
    }

    /// Removal: RPCs drain, then the instance unregisters (deletions are
    /// notified), then user commands stop.
    pub fn remove(&self) {
        self.rpc.unregister();
        self.instance.unregister();
        self.backend.abort_users();
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.remove();
    }
}
