//! The initialization segment as the device keeps it: firmware version, command
//! queue address and geometry, `nic_interface`, the `initializing` bit held for
//! the boot time, the health buffer and counter, and the free-running timer.
//!
//! Time-driven registers are computed when read (no timer thread): the
//! `initializing` bit clears once `boot_time` has passed since power-on or
//! reset, the health counter advances every `health_tick` while firmware is
//! alive and freezes on a fatal error, the internal timer counts nanoseconds.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use cxu_hal::ifc::iseg;

use super::profile::Profile;

/// The init segment registers.
pub struct InitSeg {
    fw_rev: u32,
    cmdif_rev_fw_sub: u32,
    log_cmdq_size: u8,
    log_cmdq_stride: u8,
    cmdq_addr_h: u32,
    /// Bits 31:12 of the queue address as last written.
    cmdq_addr_l: u32,
    nic_interface: u8,
    boot_start: Instant,
    boot_time: Duration,
    health_tick: Duration,
    epoch: Instant,
    health_buffer: [u8; iseg::HEALTH_BUFFER_SIZE],
    /// The health counter value and syndrome frozen at a fatal error.
    fatal: Option<(u32, u8)>,
    /// The health counter stopped with no syndrome (a hung firmware).
    stopped: Option<u32>,
    /// `cmd_exec_to` and `cmd_q_init_to` as a test set them (0: not given).
    timeouts: (u32, u32),
}

impl InitSeg {
    /// Power-on state: initializing, no command queue address.
    pub fn new(profile: &Profile) -> Self {
        let (maj, min, sub) = profile.fw_version;
        let now = Instant::now();
        let mut health_buffer = [0u8; iseg::HEALTH_BUFFER_SIZE];
        let fw_ver_off = iseg::HEALTH_FW_VER.byte - iseg::HEALTH_BUFFER;
        let fw_ver = (u32::from(maj) << 24) | (u32::from(min) << 16) | u32::from(sub);
        health_buffer[fw_ver_off..fw_ver_off + 4].copy_from_slice(&fw_ver.to_be_bytes());
        InitSeg {
            fw_rev: (u32::from(min) << 16) | u32::from(maj),
            cmdif_rev_fw_sub: (u32::from(profile.cmdif_rev) << 16) | u32::from(sub),
            log_cmdq_size: profile.log_cmdq_size,
            log_cmdq_stride: profile.log_cmdq_stride,
            cmdq_addr_h: 0,
            cmdq_addr_l: 0,
            nic_interface: 0,
            boot_start: now,
            boot_time: profile.boot_time,
            health_tick: profile.health_tick,
            epoch: now,
            health_buffer,
            fatal: None,
            stopped: None,
            timeouts: (0, 0),
        }
    }

    /// Sets the raw `cmd_exec_to` (0xFF8) and `cmd_q_init_to` (0xFFC) words.
    pub fn set_timeouts(&mut self, cmd_exec_to: u32, cmd_q_init_to: u32) {
        self.timeouts = (cmd_exec_to, cmd_q_init_to);
    }

    /// Function-level reset: firmware boots again (for the boot time last set)
    /// and forgets the queue address.
    pub fn reset(&mut self) {
        self.cmdq_addr_h = 0;
        self.cmdq_addr_l = 0;
        self.nic_interface = 0;
        self.boot_start = Instant::now();
        self.fatal = None;
        self.stopped = None;
        // rfr_severity, irisc_index, synd, ext_synd (0x238..0x240).
        let rfr = iseg::HEALTH_RFR.first_byte() - iseg::HEALTH_BUFFER;
        self.health_buffer[rfr..rfr + 8].fill(0);
    }

    /// Changes how long the current boot and every later one last (counted
    /// from the boot's start).
    pub fn set_boot_time(&mut self, t: Duration) {
        self.boot_time = t;
    }

    /// True while the `initializing` bit reads 1.
    pub fn initializing(&self) -> bool {
        self.boot_start.elapsed() < self.boot_time
    }

    /// The command queue base address the driver programmed.
    pub fn cmdq_addr(&self) -> u64 {
        iseg::cmdq_addr_from_words(self.cmdq_addr_h, self.cmdq_addr_l)
    }

    /// (log2 entries, log2 stride).
    pub fn cmdq_geometry(&self) -> (u8, u8) {
        (self.log_cmdq_size, self.log_cmdq_stride)
    }

    /// The `nic_interface` mode last requested.
    pub fn nic_interface(&self) -> u8 {
        self.nic_interface
    }

    /// Firmware hit a fatal error: the syndrome shows in the health buffer (with
    /// RFR, "firmware requests a reset", the kernel's fatal sensor) and in the
    /// health counter, which stops.
    pub fn set_fatal(&mut self, syndrome: u8) {
        let counter = self.counter();
        self.fatal = Some((counter, syndrome));
        let off = iseg::HEALTH_SYND.first_byte() - iseg::HEALTH_BUFFER;
        self.health_buffer[off] = syndrome;
        let rfr = iseg::HEALTH_RFR.first_byte() - iseg::HEALTH_BUFFER;
        self.health_buffer[rfr] |= 0x80;
    }

    /// Whether firmware is in a fatal state.
    pub fn is_fatal(&self) -> bool {
        self.fatal.is_some()
    }

    /// Firmware hangs without reporting anything: the health counter stops
    /// where it is, the syndrome stays 0 (until a reset).
    pub fn stop_health_counter(&mut self) {
        self.stopped = Some(self.counter());
    }

    fn counter(&self) -> u32 {
        if let Some(c) = self.stopped {
            return c;
        }
        let ticks = self.epoch.elapsed().as_nanos() / self.health_tick.as_nanos().max(1);
        (ticks as u32) & 0x00FF_FFFF
    }

    /// The value of the big-endian dword at `offset` (4-aligned, inside the segment).
    pub fn read_dword(&self, offset: u64) -> u32 {
        let off = offset as usize;
        let hb = iseg::HEALTH_BUFFER;
        match off {
            0x000 => self.fw_rev,
            0x004 => self.cmdif_rev_fw_sub,
            0x010 => self.cmdq_addr_h,
            0x014 => {
                self.cmdq_addr_l
                    | (u32::from(self.nic_interface) << 8)
                    | (u32::from(self.log_cmdq_size & 0xF) << 4)
                    | u32::from(self.log_cmdq_stride & 0xF)
            }
            // Bit 30: FW reset supported (the SW_RESET path of nic_interface works).
            0x1FC => (u32::from(self.initializing()) << 31) | (1 << 30),
            o if (hb..hb + iseg::HEALTH_BUFFER_SIZE).contains(&o) => {
                let i = o - hb;
                u32::from_be_bytes([
                    self.health_buffer[i],
                    self.health_buffer[i + 1],
                    self.health_buffer[i + 2],
                    self.health_buffer[i + 3],
                ])
            }
            0xFF8 => self.timeouts.0,
            0xFFC => self.timeouts.1,
            0x1000 => (self.timer() >> 32) as u32,
            0x1004 => self.timer() as u32,
            0x1010 => match self.fatal {
                Some((counter, synd)) => (u32::from(synd) << 24) | counter,
                None => self.counter(),
            },
            _ => 0,
        }
    }

    fn timer(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// After a SW reset firmware reads back DISABLED, as the kernel waits for.
    pub fn set_nic_interface(&mut self, mode: iseg::NicInterface) {
        self.nic_interface = mode.raw() as u8;
    }

    /// A driver write of the big-endian dword at `offset`: what it asks of the device.
    pub fn write_dword(&mut self, offset: u64, value: u32) -> IsegWrite {
        match offset {
            0x010 => self.cmdq_addr_h = value,
            0x014 => {
                // Bits 7:0 (size and stride) are read-only; bits 10:8 request a
                // nic_interface mode.
                self.cmdq_addr_l = value & 0xFFFF_F000;
                let mode = iseg::NIC_INTERFACE.extract(value) as u8;
                self.nic_interface = mode;
                if mode == iseg::NicInterface::SwReset.raw() as u8 {
                    return IsegWrite::SwReset;
                }
                if mode == iseg::NicInterface::Disabled.raw() as u8 {
                    return IsegWrite::NicDisabled;
                }
            }
            0x018 => return IsegWrite::Doorbell(value),
            _ => tracing::debug!(offset, value, "write to a read-only init segment register"),
        }
        IsegWrite::None
    }
}

/// What an init segment write asks of the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsegWrite {
    /// A plain register write.
    None,
    /// The command doorbell with this bit vector.
    Doorbell(u32),
    /// `nic_interface = SW_RESET`: firmware resets and then reads DISABLED.
    SwReset,
    /// `nic_interface = DISABLED`: after a fast-teardown TEARDOWN_HCA the
    /// function stops (firmware decides; the mode reads back either way).
    NicDisabled,
}
