//! What the guest's driver cost the device, per window between two device
//! resets (and from the last reset to the connection's end): trapped BAR0
//! accesses by register class (each is one vfio-user message, so one guest
//! exit and one round trip through QEMU), config accesses, the model's
//! doorbells, commands, EQEs and MSI-X interrupts, its DMA accesses, and the
//! CPU time of the server's threads. One line on stdout, before the state
//! line of the same reset:
//!
//! ```text
//! cxu-vfio-user: counts {"reason":"reset","ms":812,"commands":641,"nops":620,"marks":[17153],
//!   "doorbells":641,"eqes":0,"interrupts":0,"bar0_reads":{"cmd_doorbell":0,...},
//!   "bar0_writes":{...},"config_reads":3,"config_writes":2,"dma_reads":1282,
//!   "dma_writes":1923,"cpu_us":{"server":20512,"firmware":9150}}
//! ```
//!
//! `marks` are the distinct nonzero op_mods of the window's NOPs (firmware
//! ignores a NOP's op_mod): a guest test tags the NOPs of a measured window
//! with one, so the host finds that window's line among the others.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use cxu_qemu::model::access::{Bar0Class, Bar0Counts};
use cxu_qemu::Device;

/// Everything a window counts, at one moment.
#[derive(Clone, Default)]
struct Snapshot {
    bar0: Bar0Counts,
    config_reads: u64,
    config_writes: u64,
    doorbells: u64,
    commands: u64,
    eqes: u64,
    interrupts: u64,
    dma: (u64, u64),
    /// NOPs answered so far, by op_mod (the model's tally, which unlike its
    /// command log never drops one).
    nops: BTreeMap<u16, u64>,
    /// CPU time of the server's own threads and of the firmware's, in ns.
    cpu: (u64, u64),
}

/// The window since the last line.
pub struct Window {
    last: Snapshot,
    at: Instant,
}

/// CPU time of this process's threads: `(server, firmware)` in ns, the
/// firmware's being the model's `cxu-fw-*` threads. Threads that have
/// exited are not counted (the model's run for the whole connection).
fn cpu_ns() -> (u64, u64) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    let (mut server, mut fw) = (0, 0);
    for t in dir.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        if comm.starts_with("cxu-fw") {
            fw += ns;
        } else {
            server += ns;
        }
    }
    (server, fw)
}

impl Window {
    /// A window starting now (the device is new).
    pub fn new() -> Window {
        Window {
            last: Snapshot {
                cpu: cpu_ns(),
                ..Snapshot::default()
            },
            at: Instant::now(),
        }
    }

    /// Ends the window with `bar0` and the config access counts: its line
    /// (without the `cxu-vfio-user: counts ` prefix), and a new window starts.
    pub fn close(
        &mut self,
        device: &Device,
        bar0: Bar0Counts,
        config: (u64, u64),
        reason: &str,
    ) -> String {
        let ctl = device.control();
        let c = ctl.counters();
        let h = ctl.history();
        let now = Snapshot {
            bar0,
            config_reads: config.0,
            config_writes: config.1,
            doorbells: c.doorbells,
            commands: c.commands_executed,
            eqes: c.eqes_posted,
            interrupts: c.interrupts,
            dma: device.iommu().access_counts(),
            nops: h.nops_by_op_mod.clone(),
            cpu: cpu_ns(),
        };
        let l = std::mem::take(&mut self.last);
        // The window's NOPs, by op_mod: the tally's growth since the last line.
        let grown: BTreeMap<u16, u64> = now
            .nops
            .iter()
            .map(|(&m, &n)| (m, n - l.nops.get(&m).copied().unwrap_or(0)))
            .filter(|&(_, n)| n > 0)
            .collect();
        let nops: u64 = grown.values().sum();
        let marks: Vec<u16> = grown.keys().copied().filter(|&m| m != 0).collect();
        let d = now.bar0.since(&l.bar0);
        let mut o = String::new();
        let _ = write!(
            o,
            r#"{{"reason":{:?},"ms":{},"commands":{},"nops":{},"marks":{:?},"doorbells":{},"eqes":{},"interrupts":{},"bar0_reads":{{"#,
            reason,
            self.at.elapsed().as_millis(),
            now.commands.saturating_sub(l.commands),
            nops,
            marks,
            now.doorbells.saturating_sub(l.doorbells),
            now.eqes.saturating_sub(l.eqes),
            now.interrupts.saturating_sub(l.interrupts),
        );
        classes(&mut o, |c| d.reads_of(c));
        o.push_str(r#"},"bar0_writes":{"#);
        classes(&mut o, |c| d.writes_of(c));
        let _ = write!(
            o,
            r#"}},"config_reads":{},"config_writes":{},"dma_reads":{},"dma_writes":{},"cpu_us":{{"server":{},"firmware":{}}}}}"#,
            now.config_reads.saturating_sub(l.config_reads),
            now.config_writes.saturating_sub(l.config_writes),
            now.dma.0.saturating_sub(l.dma.0),
            now.dma.1.saturating_sub(l.dma.1),
            now.cpu.0.saturating_sub(l.cpu.0) / 1000,
            now.cpu.1.saturating_sub(l.cpu.1) / 1000,
        );
        self.last = now;
        self.at = Instant::now();
        o
    }
}

impl Window {
    /// Starts the window's clocks again without closing it: the server's own
    /// work between windows (the state line, the reset) is not the guest's.
    pub fn restart_clocks(&mut self) {
        self.last.cpu = cpu_ns();
        self.at = Instant::now();
    }
}

fn classes(o: &mut String, count: impl Fn(Bar0Class) -> u64) {
    for (i, c) in Bar0Class::ALL.into_iter().enumerate() {
        let _ = write!(
            o,
            r#"{}"{}":{}"#,
            if i == 0 { "" } else { "," },
            c.name(),
            count(c)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxu_qemu::model::TableMode;
    use cxu_qemu::Profile;

    #[test]
    fn a_window_counts_what_happened_in_it_only() {
        let d = Device::new(Profile::default(), TableMode::HostVirtualized);
        let mut w = Window::new();
        let mut bar0 = Bar0Counts::default();
        bar0.reads[1] = 4;
        bar0.writes[0] = 7;
        let first = w.close(&d, bar0, (3, 1), "reset");
        assert!(first.starts_with(r#"{"reason":"reset","ms":"#), "{first}");
        assert!(
            first.contains(r#""commands":0,"nops":0,"marks":[],"doorbells":0,"eqes":0,"interrupts":0,"bar0_reads":{"cmd_doorbell":0,"health":4,"init_segment":0,"msix":0,"eq_doorbell":0,"uar":0},"bar0_writes":{"cmd_doorbell":7,"#),
            "{first}"
        );
        assert!(
            first.contains(r#""config_reads":3,"config_writes":1,"#),
            "{first}"
        );
        bar0.writes[0] = 9;
        let second = w.close(&d, bar0, (3, 1), "connection closed");
        assert!(
            second.contains(r#""bar0_reads":{"cmd_doorbell":0,"health":0,"#),
            "{second}"
        );
        assert!(
            second.contains(r#""bar0_writes":{"cmd_doorbell":2,"#),
            "{second}"
        );
        assert!(
            second.contains(r#""config_reads":0,"config_writes":0,"#),
            "{second}"
        );
    }
}
