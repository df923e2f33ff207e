//! Counts of BAR0 accesses by what they hit, kept by the backends: a trapped
//! MMIO access is what a driver in a VM pays most for (a guest exit, a
//! vfio-user message, a round trip for a read), so the QEMU server and the
//! in-process backend both count them, and tests say per command what a
//! driver's hot path costs (docs/performance.md, "Through real VFIO").
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use cxu_hal::ifc::doorbell::{UAR_EQ_DOORBELL_ARM, UAR_EQ_DOORBELL_NO_ARM};
use cxu_hal::ifc::iseg::{self, HEALTH_BUFFER, HEALTH_BUFFER_SIZE};

use super::layout::{FIRST_UAR_INDEX, ISEG_END, MSIX_TABLE_OFFSET, UAR_PAGE_SIZE};

/// What a BAR0 offset belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bar0Class {
    /// The command doorbell (`command_doorbell_vector`, iseg 0x18).
    CmdDoorbell,
    /// The health buffer (iseg 0x200..0x240), the internal timer and the
    /// health counter (0x1000..0x1014): what a health poller reads.
    Health,
    /// The rest of the init segment (firmware version, queue address,
    /// `initializing`, timeouts, ...).
    InitSegment,
    /// The MSI-X table and pending bits.
    Msix,
    /// An EQ doorbell of a UAR page (arm or update the consumer index).
    EqDoorbell,
    /// Anything else in a UAR page (CQ, SQ doorbells).
    Uar,
}

impl Bar0Class {
    /// Every class, in the order of [`Bar0Counts`]'s arrays.
    pub const ALL: [Bar0Class; 6] = [
        Bar0Class::CmdDoorbell,
        Bar0Class::Health,
        Bar0Class::InitSegment,
        Bar0Class::Msix,
        Bar0Class::EqDoorbell,
        Bar0Class::Uar,
    ];

    /// The class of the access at `offset`.
    pub fn of(offset: u64) -> Bar0Class {
        let dword = offset & !3;
        let health_buf = HEALTH_BUFFER as u64..(HEALTH_BUFFER + HEALTH_BUFFER_SIZE) as u64;
        let health_cnt = iseg::INTERNAL_TIMER_H.byte as u64..iseg::HEALTH_COUNTER.byte as u64 + 4;
        match dword {
            o if o == iseg::CMD_DBELL.byte as u64 => Bar0Class::CmdDoorbell,
            o if health_buf.contains(&o) || health_cnt.contains(&o) => Bar0Class::Health,
            o if o < ISEG_END => Bar0Class::InitSegment,
            o if o >= MSIX_TABLE_OFFSET && o < u64::from(FIRST_UAR_INDEX) * UAR_PAGE_SIZE => {
                Bar0Class::Msix
            }
            o => {
                let in_page = o % UAR_PAGE_SIZE;
                if in_page == UAR_EQ_DOORBELL_ARM as u64 || in_page == UAR_EQ_DOORBELL_NO_ARM as u64
                {
                    Bar0Class::EqDoorbell
                } else {
                    Bar0Class::Uar
                }
            }
        }
    }

    /// The class's name in the counts line (`cxu-vfio-user`) and test output.
    pub fn name(self) -> &'static str {
        match self {
            Bar0Class::CmdDoorbell => "cmd_doorbell",
            Bar0Class::Health => "health",
            Bar0Class::InitSegment => "init_segment",
            Bar0Class::Msix => "msix",
            Bar0Class::EqDoorbell => "eq_doorbell",
            Bar0Class::Uar => "uar",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A snapshot of [`Bar0Access`]: accesses per class (one per MMIO access of
/// the driver, whatever its width).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bar0Counts {
    /// Reads, indexed like [`Bar0Class::ALL`].
    pub reads: [u64; 6],
    /// Writes, indexed like [`Bar0Class::ALL`].
    pub writes: [u64; 6],
}

impl Bar0Counts {
    /// Reads of `class`.
    pub fn reads_of(&self, class: Bar0Class) -> u64 {
        self.reads[class.index()]
    }

    /// Writes of `class`.
    pub fn writes_of(&self, class: Bar0Class) -> u64 {
        self.writes[class.index()]
    }

    /// Reads of every class.
    pub fn total_reads(&self) -> u64 {
        self.reads.iter().sum()
    }

    /// Writes of every class.
    pub fn total_writes(&self) -> u64 {
        self.writes.iter().sum()
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Bar0Counts) -> Bar0Counts {
        Bar0Counts {
            reads: std::array::from_fn(|i| self.reads[i].saturating_sub(earlier.reads[i])),
            writes: std::array::from_fn(|i| self.writes[i].saturating_sub(earlier.writes[i])),
        }
    }
}

/// Live counters of BAR0 accesses (relaxed atomics: a count, not an order).
#[derive(Debug, Default)]
pub struct Bar0Access {
    reads: [AtomicU64; 6],
    writes: [AtomicU64; 6],
}

impl Bar0Access {
    /// Counts one read at `offset`.
    pub fn read(&self, offset: u64) {
        self.reads[Bar0Class::of(offset).index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one write at `offset`.
    pub fn write(&self, offset: u64) {
        self.writes[Bar0Class::of(offset).index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Bar0Counts {
        Bar0Counts {
            reads: std::array::from_fn(|i| self.reads[i].load(Ordering::Relaxed)),
            writes: std::array::from_fn(|i| self.writes[i].load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_fall_in_their_register_classes() {
        assert_eq!(Bar0Class::of(0x18), Bar0Class::CmdDoorbell);
        assert_eq!(Bar0Class::of(0x1A), Bar0Class::CmdDoorbell);
        assert_eq!(Bar0Class::of(0x1C), Bar0Class::InitSegment);
        assert_eq!(Bar0Class::of(0x0), Bar0Class::InitSegment);
        assert_eq!(Bar0Class::of(0x1FC), Bar0Class::InitSegment);
        assert_eq!(Bar0Class::of(0x200), Bar0Class::Health);
        assert_eq!(Bar0Class::of(0x23D), Bar0Class::Health);
        assert_eq!(Bar0Class::of(0x240), Bar0Class::InitSegment);
        assert_eq!(Bar0Class::of(0x1010), Bar0Class::Health);
        assert_eq!(Bar0Class::of(0x1014), Bar0Class::InitSegment);
        assert_eq!(Bar0Class::of(0x3000), Bar0Class::Msix);
        assert_eq!(Bar0Class::of(0x3FFC), Bar0Class::Msix);
        assert_eq!(Bar0Class::of(0x4040), Bar0Class::EqDoorbell);
        assert_eq!(Bar0Class::of(0x5048), Bar0Class::EqDoorbell);
        assert_eq!(Bar0Class::of(0x4020), Bar0Class::Uar);
        let a = Bar0Access::default();
        a.read(0x1010);
        a.write(0x18);
        a.write(0x18);
        let s = a.snapshot();
        assert_eq!(
            (
                s.reads_of(Bar0Class::Health),
                s.writes_of(Bar0Class::CmdDoorbell)
            ),
            (1, 2)
        );
        assert_eq!((s.total_reads(), s.total_writes()), (1, 2));
        assert_eq!(s.since(&s), Bar0Counts::default());
    }
}
