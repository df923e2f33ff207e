//! `SET_IRQS`: the eventfds QEMU hands over become the model's interrupt lines.
//!
//! The MSI-X sequences QEMU 11 sends (VFIO semantics, vfio-user transport):
//! * `DATA_EVENTFD|ACTION_TRIGGER start=0 count=1` with **no** descriptor: "enable
//!   MSI-X, no vector yet" (VFIO would pass fd -1, which cannot travel over
//!   SCM_RIGHTS). The function goes into MSI-X mode with no line installed.
//! * `DATA_EVENTFD|ACTION_TRIGGER start=n count=k` with k descriptors: vectors
//!   n..n+k get these eventfds (the server announces one descriptor per message,
//!   so k is 1 in practice).
//! * `DATA_NONE|ACTION_TRIGGER count=0`: MSI-X off, every line removed.
//! * `DATA_NONE|ACTION_TRIGGER count=k`: fire vectors n..n+k once (loopback).
//!
//! Masking is QEMU's business (it virtualizes the table), so `ACTION_MASK` and
//! `ACTION_UNMASK` are refused, as vfio-pci refuses them for MSI-X. ERR and REQ
//! take one eventfd each, which is held and never signalled.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use cxu_qemu::model::InterruptLine;
use cxu_qemu::Device;
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_TYPE_MASK, VFIO_IRQ_SET_DATA_EVENTFD,
    VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_TYPE_MASK,
};

use crate::regions::{ERR, MSIX, REQ};

/// An eventfd received from QEMU, as an interrupt line of the model.
struct EventLine(File);

impl InterruptLine for EventLine {
    fn trigger(&self) {
        // An eventfd adds the 8-byte native-endian value written to its counter.
        if let Err(e) = (&self.0).write_all(&1u64.to_ne_bytes()) {
            tracing::warn!(error = %e, "MSI-X eventfd write failed");
        }
    }
}

/// Why a `SET_IRQS` was refused.
#[derive(Debug, thiserror::Error)]
pub enum IrqError {
    /// An index the function does not have, or one without interrupts.
    #[error("interrupt index {0} is not supported")]
    Index(u32),
    /// Vectors outside the function's table.
    #[error("vectors {start}..{start}+{count} exceed the {have} MSI-X vectors")]
    Range {
        /// First vector.
        start: u32,
        /// Number of vectors.
        count: u32,
        /// Vectors the function has.
        have: u32,
    },
    /// Neither zero descriptors nor one per vector.
    #[error("{fds} file descriptors for {count} vectors")]
    FdCount {
        /// Descriptors received.
        fds: usize,
        /// Vectors addressed.
        count: u32,
    },
    /// An action or data type this server does not implement.
    #[error("SET_IRQS flags {0:#x} are not supported")]
    Flags(u32),
}

impl From<IrqError> for std::io::Error {
    fn from(e: IrqError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

/// Interrupt state of one connection that is not the model's.
#[derive(Default)]
pub struct Irqs {
    /// The ERR and REQ eventfds (held, never signalled).
    err: Option<File>,
    req: Option<File>,
}

impl Irqs {
    /// Serves one `SET_IRQS` message.
    pub fn set(
        &mut self,
        device: &Device,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        mut fds: Vec<File>,
    ) -> Result<(), IrqError> {
        let data = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
        let action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
        if action != VFIO_IRQ_SET_ACTION_TRIGGER {
            return Err(IrqError::Flags(flags));
        }
        match index {
            MSIX => self.msix(device, data, flags, start, count, fds),
            ERR | REQ => {
                let slot = if index == ERR {
                    &mut self.err
                } else {
                    &mut self.req
                };
                match (data, fds.len()) {
                    (VFIO_IRQ_SET_DATA_NONE, _) if count == 0 => *slot = None,
                    (VFIO_IRQ_SET_DATA_EVENTFD, 0 | 1) if start == 0 && count == 1 => {
                        *slot = fds.pop()
                    }
                    _ => return Err(IrqError::Flags(flags)),
                }
                Ok(())
            }
            other => Err(IrqError::Index(other)),
        }
    }

    fn msix(
        &mut self,
        device: &Device,
        data: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> Result<(), IrqError> {
        let msix = device.msix();
        let have = u32::from(msix.vectors());
        let range_err = IrqError::Range { start, count, have };
        let end = start.checked_add(count).ok_or(range_err)?;
        if end > have {
            return Err(IrqError::Range { start, count, have });
        }
        match data {
            VFIO_IRQ_SET_DATA_NONE if count == 0 => {
                device.set_msix_enable(false);
                for v in 0..msix.vectors() {
                    msix.set_line(v, None);
                }
                tracing::info!("MSI-X disabled");
            }
            VFIO_IRQ_SET_DATA_NONE => {
                let bus_master = device.iommu().bus_master();
                for v in start..end {
                    msix.raise(v as u16, bus_master);
                }
            }
            VFIO_IRQ_SET_DATA_EVENTFD => {
                let n = fds.len();
                if n != 0 && n != count as usize {
                    return Err(IrqError::FdCount { fds: n, count });
                }
                if !msix.enabled() {
                    device.set_msix_enable(true);
                    tracing::info!("MSI-X enabled");
                }
                let mut fds = fds.into_iter();
                for v in start..end {
                    let line = fds
                        .next()
                        .map(|f| Arc::new(EventLine(f)) as Arc<dyn InterruptLine>);
                    tracing::debug!(vector = v, eventfd = line.is_some(), "MSI-X vector");
                    msix.set_line(v as u16, line);
                }
            }
            _ => return Err(IrqError::Flags(flags)),
        }
        Ok(())
    }
}
