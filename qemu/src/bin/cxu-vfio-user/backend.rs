//! The `vfio_user::ServerBackend`: each message of QEMU turned into a call on the
//! model.
//!
//! Nothing here waits on firmware: a doorbell write only queues the slots on the
//! model's engine, and the model's own threads fetch, execute and complete the
//! commands. Every handler takes at most a few short locks, so each reply
//! leaves well within QEMU's message timeout (`x-msg-timeout`, 5 s).

use std::fs::File;
use std::io;
use std::sync::Arc;

use cxu_hal::pci::config;
use cxu_qemu::Device;
use vfio_user::{DmaMapFlags, DmaUnmapFlags, ServerBackend};

use cxu_qemu::model::access::Bar0Access;

use crate::counts::Window;
use crate::dma::{DmaStats, GuestMemory};
use crate::irq::Irqs;
use crate::regions::{BAR0, CONFIG};
use crate::state::StateLines;

/// Counters of the region accesses served (by register class: `bar0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessStats {
    /// BAR0 read messages.
    pub bar0_reads: u64,
    /// BAR0 write messages.
    pub bar0_writes: u64,
    /// Config space read messages.
    pub config_reads: u64,
    /// Config space write messages.
    pub config_writes: u64,
    /// Device resets.
    pub resets: u64,
}

/// The model behind one vfio-user connection.
pub struct Backend {
    device: Arc<Device>,
    memory: GuestMemory,
    irqs: Irqs,
    access: AccessStats,
    /// BAR0 messages by register class.
    bar0: Bar0Access,
    /// The counts since the last reset.
    window: Window,
    /// The state lines (the control thread prints them too).
    states: Arc<StateLines>,
}

/// Device Control's offset in the PCI Express capability.
const PCIE_DEVCTL: usize = 0x08;

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// Splits `offset..offset+len` into naturally aligned accesses of 1, 2, 4 or 8
/// bytes, the only sizes a register access has. QEMU forwards guest accesses as
/// they are, so this only matters for a client that sends larger ones.
fn aligned_pieces(offset: u64, len: usize) -> impl Iterator<Item = (u64, std::ops::Range<usize>)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = offset + done as u64;
        let left = len - done;
        let size = [8usize, 4, 2, 1]
            .into_iter()
            .find(|&s| s <= left && at % s as u64 == 0)
            .unwrap_or(1);
        let piece = (at, done..done + size);
        done += size;
        Some(piece)
    })
}

impl Backend {
    /// A backend serving `device`.
    pub fn new(device: Arc<Device>) -> Self {
        Backend {
            states: Arc::new(StateLines::new(device.clone())),
            device,
            memory: GuestMemory::default(),
            irqs: Irqs::default(),
            access: AccessStats::default(),
            bar0: Bar0Access::default(),
            window: Window::new(),
        }
    }

    /// The device's state lines (`state.rs`).
    pub fn state_lines(&self) -> Arc<StateLines> {
        self.states.clone()
    }

    /// Prints the counts line of the window ending now (`counts.rs`).
    pub fn print_counts(&mut self, reason: &str) {
        let config = (self.access.config_reads, self.access.config_writes);
        let line = self
            .window
            .close(&self.device, self.bar0.snapshot(), config, reason);
        println!("cxu-vfio-user: counts {line}");
    }

    /// Region accesses served so far.
    pub fn access_stats(&self) -> AccessStats {
        self.access
    }

    /// DMA messages served so far.
    pub fn dma_stats(&self) -> DmaStats {
        self.memory.stats()
    }

    /// The connection ended: the model loses every mapping and line, so nothing
    /// of the departed QEMU can be reached any more.
    pub fn disconnect(&mut self) {
        self.memory.clear(self.device.iommu());
        let msix = self.device.msix();
        self.device.set_msix_enable(false);
        for v in 0..msix.vectors() {
            msix.set_line(v, None);
        }
        self.irqs = Irqs::default();
    }

    /// Whether a config write of `data` at `offset` sets Initiate Function
    /// Level Reset (PCIe Device Control bit 15): the model then resets
    /// itself inside the write, so its state has to be shown before.
    fn initiates_flr(&self, offset: usize, data: &[u8]) -> bool {
        let byte = |at: usize| {
            let mut b = [0u8];
            self.device.config_read(at, &mut b).then_some(b[0])
        };
        let mut cap = byte(usize::from(config::CAPABILITIES_PTR));
        // A well-formed list has at most 48 entries in 256 bytes; stop there.
        for _ in 0..48 {
            let at = match cap {
                Some(p) if p >= 0x40 => usize::from(p & !3),
                _ => return false,
            };
            if byte(at) == Some(config::CAP_ID_EXP) {
                // High byte of Device Control: bit 7 is Initiate FLR.
                let high = at + PCIE_DEVCTL + 1;
                return high
                    .checked_sub(offset)
                    .and_then(|i| data.get(i))
                    .is_some_and(|b| b & 0x80 != 0);
            }
            cap = byte(at + 1);
        }
        false
    }

    fn check_bar0(&self, offset: u64, len: usize) -> io::Result<()> {
        let size = self.device.bar0_size();
        match offset.checked_add(len as u64) {
            Some(end) if end <= size => Ok(()),
            _ => Err(invalid(format!(
                "BAR0 access of {len} bytes at {offset:#x} is outside its {size:#x} bytes"
            ))),
        }
    }
}

impl ServerBackend for Backend {
    fn region_read(&mut self, region: u32, offset: u64, data: &mut [u8]) -> io::Result<()> {
        match region {
            BAR0 => {
                self.check_bar0(offset, data.len())?;
                self.access.bar0_reads += 1;
                self.bar0.read(offset);
                for (at, range) in aligned_pieces(offset, data.len()) {
                    self.device.bar0_read(at, &mut data[range]);
                }
                tracing::trace!(offset = format_args!("{offset:#x}"), data = ?data, "BAR0 read");
                Ok(())
            }
            CONFIG => {
                self.access.config_reads += 1;
                let off = usize::try_from(offset).map_err(|_| invalid("config offset".into()))?;
                if self.device.config_read(off, data) {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "config read of {} bytes at {offset:#x} is out of range",
                        data.len()
                    )))
                }
            }
            other => Err(invalid(format!("region {other} has no size"))),
        }
    }

    fn region_write(&mut self, region: u32, offset: u64, data: &[u8]) -> io::Result<()> {
        match region {
            BAR0 => {
                self.check_bar0(offset, data.len())?;
                self.access.bar0_writes += 1;
                self.bar0.write(offset);
                tracing::trace!(offset = format_args!("{offset:#x}"), data = ?data, "BAR0 write");
                for (at, range) in aligned_pieces(offset, data.len()) {
                    self.device.bar0_write(at, &data[range]);
                }
                Ok(())
            }
            CONFIG => {
                self.access.config_writes += 1;
                let off = usize::try_from(offset).map_err(|_| invalid("config offset".into()))?;
                tracing::debug!(offset = format_args!("{offset:#x}"), data = ?data, "config write");
                let flr = self.initiates_flr(off, data);
                if flr {
                    // What the guest programmed is lost with the reset: show it first.
                    self.print_counts("function level reset");
                    self.states.print("function level reset");
                }
                let done = self.device.config_write(off, data);
                if flr {
                    self.window.restart_clocks();
                }
                if done {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "config write of {} bytes at {offset:#x} is out of range",
                        data.len()
                    )))
                }
            }
            other => Err(invalid(format!("region {other} has no size"))),
        }
    }

    fn dma_map(
        &mut self,
        _flags: DmaMapFlags,
        offset: u64,
        address: u64,
        size: u64,
        fd: Option<File>,
    ) -> io::Result<()> {
        self.memory
            .map(self.device.iommu(), offset, address, size, fd)
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(error = %e, "DMA map refused");
                e.into()
            })
    }

    fn dma_unmap(&mut self, flags: DmaUnmapFlags, address: u64, size: u64) -> io::Result<()> {
        if flags.contains(DmaUnmapFlags::UNMAP_ALL) {
            tracing::debug!("DMA unmap of everything");
            self.memory.clear(self.device.iommu());
            return Ok(());
        }
        self.memory
            .unmap(self.device.iommu(), address, size)
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(error = %e, "DMA unmap refused");
                e.into()
            })
    }

    fn reset(&mut self) -> io::Result<()> {
        self.access.resets += 1;
        // What the guest programmed is lost with the reset: show it first.
        self.print_counts("reset");
        self.states.print("reset");
        self.device.reset();
        self.window.restart_clocks();
        Ok(())
    }

    fn set_irqs(
        &mut self,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> io::Result<()> {
        tracing::debug!(
            index,
            flags = format_args!("{flags:#x}"),
            start,
            count,
            fds = fds.len(),
            "SET_IRQS"
        );
        self.irqs
            .set(&self.device, index, flags, start, count, fds)
            .map_err(|e| {
                tracing::warn!(error = %e, "SET_IRQS refused");
                e.into()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxu_qemu::model::TableMode;
    use cxu_qemu::Profile;

    #[test]
    fn only_the_initiate_flr_bit_of_device_control_is_an_flr() {
        let d = Arc::new(Device::new(Profile::default(), TableMode::HostVirtualized));
        let b = Backend::new(d.clone());
        let flr = 0x8000u16.to_le_bytes();
        let hits: Vec<usize> = (0..0x100).filter(|&o| b.initiates_flr(o, &flr)).collect();
        assert_eq!(hits.len(), 1, "{hits:x?}");
        let devctl = hits[0];
        let mut id = [0u8];
        assert!(d.config_read(devctl - PCIE_DEVCTL, &mut id));
        assert_eq!(
            id[0],
            config::CAP_ID_EXP,
            "Device Control of the PCIe capability"
        );
        assert!(b.initiates_flr(devctl + 1, &[0x80]));
        assert!(b.initiates_flr(devctl - 2, &[0, 0, 0, 0x80]));
        assert!(!b.initiates_flr(devctl, &0x7FFFu16.to_le_bytes()));
        assert!(!b.initiates_flr(devctl + 2, &flr));
    }

    #[test]
    fn accesses_split_into_natural_alignment() {
        let p: Vec<_> = aligned_pieces(0x1001, 12).collect();
        let sizes: Vec<_> = p.iter().map(|(at, r)| (*at, r.len())).collect();
        assert_eq!(
            sizes,
            [
                (0x1001, 1),
                (0x1002, 2),
                (0x1004, 4),
                (0x1008, 4),
                (0x100C, 1)
            ]
        );
        assert_eq!(p.last().map(|(_, r)| r.end), Some(12));
        assert_eq!(aligned_pieces(0x10, 8).collect::<Vec<_>>(), [(0x10, 0..8)]);
        assert_eq!(aligned_pieces(0, 0).count(), 0);
    }
}
