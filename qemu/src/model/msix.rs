//! MSI-X: the vector table and pending bits, and delivery to the interrupt lines
//! (eventfds) a backend installs.
//!
//! Two modes. With [`TableMode::Emulated`] (the in-process backend) the model
//! owns the table in BAR0: entries reset masked, a masked vector sets its
//! pending bit and fires when unmasked, and the function mask in the capability
//! holds every vector. With [`TableMode::HostVirtualized`] (QEMU over vfio-user)
//! the host owns the table, never forwards table accesses, and only installs or
//! removes eventfds: masking is its business, so the model triggers the line.
//!
//! In both modes nothing is delivered while MSI-X is disabled or bus mastering
//! is off (an MSI-X message is a DMA write), as on real PCI.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use vmm_sys_util::eventfd::EventFd;

/// Bytes per MSI-X table entry.
pub const ENTRY_SIZE: u64 = 16;
/// Vector control bit 0: the vector is masked.
const VECTOR_CTRL_MASK: u32 = 1;

/// Where the model raises an interrupt: one line per MSI-X vector.
pub trait InterruptLine: Send + Sync {
    /// Signals the line once.
    fn trigger(&self);
}

impl InterruptLine for EventFd {
    fn trigger(&self) {
        if let Err(e) = self.write(1) {
            tracing::warn!(error = %e, "MSI-X eventfd write failed");
        }
    }
}

/// Who owns the MSI-X table (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableMode {
    /// The model emulates the table and pending bits in BAR0.
    Emulated,
    /// The host (QEMU) virtualizes the table; the model only fires eventfds.
    HostVirtualized,
}

struct State {
    enabled: bool,
    function_mask: bool,
    /// Per vector: message address low, high, data, vector control.
    entries: Vec<[u32; 4]>,
    pending: Vec<bool>,
    lines: Vec<Option<Arc<dyn InterruptLine>>>,
}

/// Counters of what happened to raised interrupts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsixCounters {
    /// Delivered to a line.
    pub delivered: u64,
    /// Held as pending because the vector or the function was masked.
    pub held_pending: u64,
    /// Dropped: MSI-X disabled, bus mastering off, or no line installed.
    pub dropped: u64,
}

/// The MSI-X state of the function.
pub struct Msix {
    mode: TableMode,
    state: Mutex<State>,
    delivered: AtomicU64,
    held_pending: AtomicU64,
    dropped: AtomicU64,
}

impl Msix {
    /// `vectors` entries, all masked, MSI-X disabled.
    pub fn new(vectors: u16, mode: TableMode) -> Self {
        let n = usize::from(vectors);
        Msix {
            mode,
            state: Mutex::new(State {
                enabled: false,
                function_mask: false,
                entries: vec![[0, 0, 0, VECTOR_CTRL_MASK]; n],
                pending: vec![false; n],
                lines: vec![None; n],
            }),
            delivered: AtomicU64::new(0),
            held_pending: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Number of vectors.
    pub fn vectors(&self) -> u16 {
        self.state.lock().entries.len() as u16
    }

    /// Who owns the table.
    pub fn mode(&self) -> TableMode {
        self.mode
    }

    /// Back to the power-on state: disabled, entries masked, nothing pending.
    /// Installed lines stay (they belong to the backend, like VFIO's eventfds).
    pub fn reset(&self) {
        let mut s = self.state.lock();
        s.enabled = false;
        s.function_mask = false;
        s.entries
            .iter_mut()
            .for_each(|e| *e = [0, 0, 0, VECTOR_CTRL_MASK]);
        s.pending.iter_mut().for_each(|p| *p = false);
    }

    /// Installs (or with `None` removes) the line of `vector`. Returns false for a
    /// vector the function does not have.
    pub fn set_line(&self, vector: u16, line: Option<Arc<dyn InterruptLine>>) -> bool {
        let mut s = self.state.lock();
        match s.lines.get_mut(usize::from(vector)) {
            Some(slot) => {
                *slot = line;
                true
            }
            None => false,
        }
    }

    /// Unmasks or masks one entry, as a driver writing vector control would.
    pub fn set_vector_masked(&self, vector: u16, masked: bool) {
        let v = usize::from(vector);
        let mut s = self.state.lock();
        if let Some(e) = s.entries.get_mut(v) {
            e[3] = (e[3] & !VECTOR_CTRL_MASK) | u32::from(masked);
        }
        self.flush_pending(&mut s);
    }

    /// Applies the capability's message control: enable and function mask.
    pub fn set_control(&self, enabled: bool, function_mask: bool) {
        let mut s = self.state.lock();
        s.enabled = enabled;
        s.function_mask = function_mask;
        self.flush_pending(&mut s);
    }

    /// Whether MSI-X is enabled in the capability.
    pub fn enabled(&self) -> bool {
        self.state.lock().enabled
    }

    /// Raises `vector`. `bus_master` is the command register's BME bit.
    pub fn raise(&self, vector: u16, bus_master: bool) {
        let v = usize::from(vector);
        let mut s = self.state.lock();
        if !bus_master || !s.enabled || v >= s.entries.len() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.is_masked(&s, v) {
            s.pending[v] = true;
            self.held_pending.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.deliver(&s, v);
    }

    fn is_masked(&self, s: &State, v: usize) -> bool {
        match self.mode {
            TableMode::Emulated => s.function_mask || s.entries[v][3] & VECTOR_CTRL_MASK != 0,
            TableMode::HostVirtualized => false,
        }
    }

    fn deliver(&self, s: &State, v: usize) {
        match &s.lines[v] {
            Some(line) => {
                line.trigger();
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn flush_pending(&self, s: &mut State) {
        if !s.enabled {
            return;
        }
        for v in 0..s.entries.len() {
            if s.pending[v] && !self.is_masked(s, v) {
                s.pending[v] = false;
                self.deliver(s, v);
            }
        }
    }

    /// Reads the dword at `offset` inside the table.
    pub fn table_read(&self, offset: u64) -> u32 {
        let s = self.state.lock();
        let (v, w) = (
            (offset / ENTRY_SIZE) as usize,
            ((offset % ENTRY_SIZE) / 4) as usize,
        );
        s.entries.get(v).map_or(0, |e| e[w])
    }

    /// Writes the dword at `offset` inside the table; unmasking delivers a pending vector.
    pub fn table_write(&self, offset: u64, value: u32) {
        let mut s = self.state.lock();
        let (v, w) = (
            (offset / ENTRY_SIZE) as usize,
            ((offset % ENTRY_SIZE) / 4) as usize,
        );
        let Some(e) = s.entries.get_mut(v) else {
            return;
        };
        e[w] = if w == 3 {
            value & VECTOR_CTRL_MASK
        } else {
            value
        };
        self.flush_pending(&mut s);
    }

    /// Reads the dword at `offset` inside the pending bit array.
    pub fn pba_read(&self, offset: u64) -> u32 {
        let s = self.state.lock();
        let first = (offset / 4 * 32) as usize;
        (0..32)
            .filter(|b| s.pending.get(first + b).copied().unwrap_or(false))
            .fold(0, |acc, b| acc | 1 << b)
    }

    /// What happened to raised interrupts so far.
    pub fn counters(&self) -> MsixCounters {
        MsixCounters {
            delivered: self.delivered.load(Ordering::Relaxed),
            held_pending: self.held_pending.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}
