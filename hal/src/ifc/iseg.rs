//! The initialization segment at BAR0 offset 0 (`struct mlx5_init_seg`,
//! `mlx5_ifc_initial_seg_bits`): FW revision, command queue address and geometry,
//! the command doorbell, the `initializing` word, the health buffer, timeouts,
//! timers. Offsets are absolute BAR0 byte offsets (reference §2).
//!
//! The driver reads these with `Mmio::read32_be(f.byte)` and applies
//! [`Field::extract`]; the device model keeps them in a byte array and uses
//! [`Field::get`]/[`Field::set`].

use std::time::Duration;

use super::error::{Error, Result};
use super::field::Field;

/// Bytes the kernel maps for the init segment (`sizeof(struct mlx5_init_seg)`, `mlx5_pci_init`).
pub const ISEG_SIZE: usize = 0x2010;

/// The command interface revision the driver requires (`CMD_IF_REV`, cmd.c).
pub const CMDIF_REV_SUPPORTED: u32 = 5;

/// FW minor revision: bits 31:16 of dword 0x000 (`fw_rev_min = v >> 16`).
pub const FW_REV_MINOR: Field = Field::new("fw_rev_minor", 0x000, 16, 16);
/// FW major revision: bits 15:0 of dword 0x000 (`fw_rev_maj = v & 0xffff`).
pub const FW_REV_MAJOR: Field = Field::new("fw_rev_major", 0x000, 0, 16);
/// Command interface revision: bits 31:16 of dword 0x004 (must be 5).
pub const CMDIF_REV: Field = Field::new("cmdif_rev", 0x004, 16, 16);
/// FW subminor revision: bits 15:0 of dword 0x004.
pub const FW_REV_SUBMINOR: Field = Field::new("fw_rev_subminor", 0x004, 0, 16);
/// High 32 bits of the command queue DMA address (driver writes, first).
pub const CMDQ_ADDR_H: Field = Field::be32_at("cmdq_phy_addr_63_32", 0x010);
/// Command queue address bits 31:12 (driver writes, second; the page is 4 KiB aligned).
pub const CMDQ_ADDR_L: Field = Field::new("cmdq_phy_addr_31_12", 0x014, 12, 20);
/// `nic_interface`: the PRM gives bits 9:8, the driver reads and writes 3 bits 10:8
/// (so that SW_RESET = 7 fits); we follow the driver.
pub const NIC_INTERFACE: Field = Field::new("nic_interface", 0x014, 8, 3);
/// log2 of the command queue entry count (read-only, FW provides it).
pub const LOG_CMDQ_SIZE: Field = Field::new("log_cmdq_size", 0x014, 4, 4);
/// log2 of the command queue entry stride in bytes (read-only).
pub const LOG_CMDQ_STRIDE: Field = Field::new("log_cmdq_stride", 0x014, 0, 4);
/// Command doorbell vector: the driver writes `1 << slot`.
pub const CMD_DBELL: Field = Field::be32_at("command_doorbell_vector", 0x018);
/// `initializing`, bit 31 of dword 0x1FC: 1 while FW is busy initializing.
pub const INITIALIZING: Field = Field::new("initializing", 0x1FC, 31, 1);
/// FW reset supported, bit 30 of 0x1FC (`MLX5_FW_RESET_SUPPORTED_OFFSET`).
pub const FW_RESET_SUPPORTED: Field = Field::new("fw_reset_supported", 0x1FC, 30, 1);
/// Supported nic_interface modes, bits 26:24 of 0x1FC.
pub const NIC_INTERFACE_SUPPORTED: Field = Field::new("nic_interface_supported", 0x1FC, 24, 3);
/// The function is an embedded CPU function (ECPF), bit 23 of 0x1FC (`MLX5_ECPU_BIT_NUM`).
pub const EMBEDDED_CPU: Field = Field::new("embedded_cpu", 0x1FC, 23, 1);

/// Byte offset of the 64-byte health buffer (`struct health_buffer`).
pub const HEALTH_BUFFER: usize = 0x200;
/// Size of the health buffer in bytes.
pub const HEALTH_BUFFER_SIZE: usize = 64;
/// `assert_var[0..6]`: health buffer dwords at 0x200 + 4*i.
pub const ASSERT_VAR: [Field; 6] = [
    Field::be32_at("assert_var0", 0x200),
    Field::be32_at("assert_var1", 0x204),
    Field::be32_at("assert_var2", 0x208),
    Field::be32_at("assert_var3", 0x20C),
    Field::be32_at("assert_var4", 0x210),
    Field::be32_at("assert_var5", 0x214),
];
/// `assert_exit_ptr`.
pub const ASSERT_EXIT_PTR: Field = Field::be32_at("assert_exit_ptr", 0x220);
/// `assert_callra`.
pub const ASSERT_CALLRA: Field = Field::be32_at("assert_callra", 0x224);
/// `time` of the last health event.
pub const HEALTH_TIME: Field = Field::be32_at("time", 0x22C);
/// `fw_ver`: reads 0xFFFFFFFF when PCI is dead (sensor "pci not working").
pub const HEALTH_FW_VER: Field = Field::be32_at("fw_ver", 0x230);
/// `hw_id`.
pub const HEALTH_HW_ID: Field = Field::be32_at("hw_id", 0x234);
/// RFR: FW requests a reset (bit 7 of byte 0x238, `rfr_severity`).
pub const HEALTH_RFR: Field = Field::new("rfr", 0x238, 31, 1);
/// CRR: cold reset required (bit 6 of byte 0x238).
pub const HEALTH_CRR: Field = Field::new("crr", 0x238, 30, 1);
/// Severity valid (bit 3 of byte 0x238).
pub const HEALTH_SEVERITY_VALID: Field = Field::new("severity_valid", 0x238, 27, 1);
/// Severity, a kernel log level (bits 2:0 of byte 0x238).
pub const HEALTH_SEVERITY: Field = Field::new("severity", 0x238, 24, 3);
/// `irisc_index` (byte 0x23C).
pub const HEALTH_IRISC_INDEX: Field = Field::u8_at("irisc_index", 0x23C);
/// `synd`, the health syndrome (byte 0x23D); 0 = healthy. See [`HealthSyndrome`].
pub const HEALTH_SYND: Field = Field::u8_at("synd", 0x23D);
/// `ext_synd` (BE16 at 0x23E).
pub const HEALTH_EXT_SYND: Field = Field::be16_at("ext_synd", 0x23E);
/// `no_dram_nic_offset` (PRM).
pub const NO_DRAM_NIC_OFFSET: Field = Field::be32_at("no_dram_nic_offset", 0x240);
/// Command execution timeout (see [`decode_timeout`]); overrides the CMD default.
pub const CMD_EXEC_TO: Field = Field::be32_at("cmd_exec_to", 0xFF8);
/// FW init timeout, same encoding; nonzero means the iseg timeouts are supported.
pub const CMD_Q_INIT_TO: Field = Field::be32_at("cmd_q_init_to", 0xFFC);
/// Free-running HCA timer, high half (read hi, lo, hi again to catch a wrap).
pub const INTERNAL_TIMER_H: Field = Field::be32_at("internal_timer_h", 0x1000);
/// Free-running HCA timer, low half.
pub const INTERNAL_TIMER_L: Field = Field::be32_at("internal_timer_l", 0x1004);
/// `clear_int`, bit 0 of 0x100C (PRM).
pub const CLEAR_INT: Field = Field::new("clear_int", 0x100C, 0, 1);
/// `health_counter`: the whole dword; FW increments it, the driver compares whole reads.
pub const HEALTH_COUNTER: Field = Field::be32_at("health_counter", 0x1010);
/// PRM split of `health_counter`: bits 31:24 = health syndrome.
pub const HEALTH_COUNTER_SYNDROME: Field = Field::new("health_syndrome", 0x1010, 24, 8);
/// PRM split of `health_counter`: bits 23:0 = the counter proper.
pub const HEALTH_COUNTER_VALUE: Field = Field::new("health_counter_value", 0x1010, 0, 24);
/// Real-time clock (PTP), high half.
pub const REAL_TIME_H: Field = Field::be32_at("real_time_h", 0x1040);
/// Real-time clock (PTP), low half.
pub const REAL_TIME_L: Field = Field::be32_at("real_time_l", 0x1044);
/// IEEE 1588 clock (64-bit).
pub const IEEE1588_CLK: Field = Field::be64_at("ieee1588_clk", 0x2000);
/// IEEE 1588 clock type.
pub const IEEE1588_CLK_TYPE: Field = Field::be32_at("ieee1588_clk_type", 0x2008);
/// Legacy INTx clear.
pub const CLR_INTX: Field = Field::be32_at("clr_intx", 0x200C);

/// Every field of the init segment, for dumps and for the model's register file.
pub const ALL_FIELDS: &[Field] = &[
    FW_REV_MINOR,
    FW_REV_MAJOR,
    CMDIF_REV,
    FW_REV_SUBMINOR,
    CMDQ_ADDR_H,
    CMDQ_ADDR_L,
    NIC_INTERFACE,
    LOG_CMDQ_SIZE,
    LOG_CMDQ_STRIDE,
    CMD_DBELL,
    INITIALIZING,
    FW_RESET_SUPPORTED,
    NIC_INTERFACE_SUPPORTED,
    EMBEDDED_CPU,
    ASSERT_VAR[0],
    ASSERT_VAR[1],
    ASSERT_VAR[2],
    ASSERT_VAR[3],
    ASSERT_VAR[4],
    ASSERT_VAR[5],
    ASSERT_EXIT_PTR,
    ASSERT_CALLRA,
    HEALTH_TIME,
    HEALTH_FW_VER,
    HEALTH_HW_ID,
    HEALTH_RFR,
    HEALTH_CRR,
    HEALTH_SEVERITY_VALID,
    HEALTH_SEVERITY,
    HEALTH_IRISC_INDEX,
    HEALTH_SYND,
    HEALTH_EXT_SYND,
    NO_DRAM_NIC_OFFSET,
    CMD_EXEC_TO,
    CMD_Q_INIT_TO,
    INTERNAL_TIMER_H,
    INTERNAL_TIMER_L,
    CLEAR_INT,
    HEALTH_COUNTER,
    HEALTH_COUNTER_SYNDROME,
    HEALTH_COUNTER_VALUE,
    REAL_TIME_H,
    REAL_TIME_L,
    IEEE1588_CLK,
    IEEE1588_CLK_TYPE,
    CLR_INTX,
];

/// The FW revision from init segment dwords 0x000 and 0x004.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwRev {
    /// Major (0x000 bits 15:0).
    pub major: u16,
    /// Minor (0x000 bits 31:16).
    pub minor: u16,
    /// Subminor (0x004 bits 15:0).
    pub subminor: u16,
    /// Command interface revision (0x004 bits 31:16); the driver requires 5.
    pub cmdif_rev: u16,
}

impl FwRev {
    /// Decodes the two dwords as read with `read32_be` at 0x000 and 0x004.
    pub const fn from_dwords(dw0: u32, dw1: u32) -> Self {
        Self {
            major: FW_REV_MAJOR.extract(dw0) as u16,
            minor: FW_REV_MINOR.extract(dw0) as u16,
            subminor: FW_REV_SUBMINOR.extract(dw1) as u16,
            cmdif_rev: CMDIF_REV.extract(dw1) as u16,
        }
    }

    /// Fails unless the command interface revision is the supported one (5).
    pub fn check_cmdif(&self) -> Result<()> {
        if u32::from(self.cmdif_rev) == CMDIF_REV_SUPPORTED {
            Ok(())
        } else {
            Err(Error::BadValue {
                what: "cmd_interface_rev",
                value: u64::from(self.cmdif_rev),
                expected: "5",
            })
        }
    }
}

impl std::fmt::Display for FwRev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.subminor)
    }
}

/// The value of `fw_ver` (and of any iseg read) when the PCI link is dead.
pub const PCI_DEAD: u32 = 0xFFFF_FFFF;

/// `nic_interface` modes (bits 10:8 of 0x014; `MLX5_NIC_IFC_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NicInterface {
    /// 0: the full driver owns the function.
    FullDriver = 0,
    /// 1: disabled (fast teardown end state).
    Disabled = 1,
    /// 2: NIC without DRAM.
    NoDramNic = 2,
    /// 7: SW reset requested; also what all-ones PCI reads decode to.
    SwReset = 7,
}

impl NicInterface {
    /// Decodes the 3-bit field value.
    pub fn from_raw(v: u32) -> Result<Self> {
        match v {
            0 => Ok(Self::FullDriver),
            1 => Ok(Self::Disabled),
            2 => Ok(Self::NoDramNic),
            7 => Ok(Self::SwReset),
            _ => Err(Error::BadValue {
                what: "nic_interface",
                value: u64::from(v),
                expected: "0 (full driver), 1 (disabled), 2 (no DRAM NIC) or 7 (SW reset)",
            }),
        }
    }

    /// The raw 3-bit value.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// Name as in the kernel (`MLX5_NIC_IFC_*`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::FullDriver => "FULL_DRIVER",
            Self::Disabled => "DISABLED",
            Self::NoDramNic => "NO_DRAM_NIC",
            Self::SwReset => "SW_RESET",
        }
    }
}

/// The dword the driver writes to 0x014 to request a nic_interface state: it keeps
/// bits 31:12 of the current value, puts the state in bits 10:8 and writes the
/// other low bits as zero (`mlx5_set_nic_state`).
pub fn nic_state_write(current: u32, state: NicInterface) -> u32 {
    (current & 0xFFFF_F000) | (state.raw() << 8)
}

/// Health syndromes (`MLX5_INITIAL_SEG_HEALTH_SYNDROME_*`), the `synd` byte at 0x23D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HealthSyndrome(pub u8);

impl HealthSyndrome {
    /// 0: healthy (no syndrome).
    pub const NONE: Self = Self(0x00);
    /// FW internal error.
    pub const FW_INTERNAL_ERR: Self = Self(0x01);
    /// Dead IRISC.
    pub const DEAD_IRISC: Self = Self(0x07);
    /// HW fatal error.
    pub const HW_FATAL_ERR: Self = Self(0x08);
    /// FW CRC error.
    pub const FW_CRC_ERR: Self = Self(0x09);
    /// ICM fetch PCI error.
    pub const ICM_FETCH_PCI_ERR: Self = Self(0x0A);
    /// ICM page error.
    pub const ICM_PAGE_ERR: Self = Self(0x0B);
    /// Async EQ buffer overrun.
    pub const ASYNCHRONOUS_EQ_BUF_OVERRUN: Self = Self(0x0C);
    /// EQ in error.
    pub const EQ_IN_ERR: Self = Self(0x0D);
    /// Invalid EQ.
    pub const EQ_INV: Self = Self(0x0E);
    /// FFSER error.
    pub const FFSER_ERR: Self = Self(0x0F);
    /// High temperature.
    pub const HIGH_TEMP_ERR: Self = Self(0x10);
    /// ICM PCI poisoned.
    pub const ICM_PCI_POISONED_ERR: Self = Self(0x12);
    /// Trust lockdown error.
    pub const TRUST_LOCKDOWN_ERR: Self = Self(0x13);

    /// The syndrome's name (`MLX5_INITIAL_SEG_HEALTH_SYNDROME_<name>`), or `None` if unknown.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "NONE",
            0x01 => "FW_INTERNAL_ERR",
            0x07 => "DEAD_IRISC",
            0x08 => "HW_FATAL_ERR",
            0x09 => "FW_CRC_ERR",
            0x0A => "ICM_FETCH_PCI_ERR",
            0x0B => "ICM_PAGE_ERR",
            0x0C => "ASYNCHRONOUS_EQ_BUF_OVERRUN",
            0x0D => "EQ_IN_ERR",
            0x0E => "EQ_INV",
            0x0F => "FFSER_ERR",
            0x10 => "HIGH_TEMP_ERR",
            0x12 => "ICM_PCI_POISONED_ERR",
            0x13 => "TRUST_LOCKDOWN_ERR",
            _ => return None,
        })
    }
}

/// Timeout multiplier units (`MLX5_TO_*`, tout.c): 0 ms, 1 s, 2 min, 3 h.
const TIMEOUT_UNIT_MS: [u64; 4] = [1, 1_000, 60_000, 3_600_000];

/// Decodes an iseg timeout word (0xFF8 / 0xFFC): bits 31:29 = unit (only the low
/// two bits are used: 0 ms, 1 s, 2 min, 3 h), bits 19:0 = value.
pub fn decode_timeout(raw: u32) -> Duration {
    let unit = ((raw >> 29) & 0x3) as usize;
    let value = u64::from(raw & 0xF_FFFF);
    Duration::from_millis(value * TIMEOUT_UNIT_MS[unit])
}

/// Encodes a timeout as the iseg word: `unit` 0..=3 (ms, s, min, h), `value` < 2^20.
pub fn encode_timeout(unit: u32, value: u32) -> Result<u32> {
    if unit > 3 {
        return Err(Error::BadValue {
            what: "timeout unit",
            value: u64::from(unit),
            expected: "0..=3",
        });
    }
    if value > 0xF_FFFF {
        return Err(Error::Overflow {
            what: "timeout value",
            value: u64::from(value),
            width: 20,
        });
    }
    Ok((unit << 29) | value)
}

/// Command queue geometry read from `cmdq_addr_l_sz` (0x014 bits 7:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdqGeometry {
    /// log2 of the number of entries.
    pub log_size: u32,
    /// log2 of the entry stride in bytes.
    pub log_stride: u32,
}

/// The most command slots the kernel accepts (`MLX5_MAX_COMMANDS`).
pub const MAX_COMMANDS: u32 = 32;

impl CmdqGeometry {
    /// Decodes and checks the geometry the way the kernel does (`1 << log_sz <= 32`,
    /// `log_sz + log_stride <= 12`), plus our inference that the stride must hold a
    /// 64-byte entry (`log_stride >= 6`).
    pub fn from_addr_l_sz(dword: u32) -> Result<Self> {
        let log_size = LOG_CMDQ_SIZE.extract(dword);
        let log_stride = LOG_CMDQ_STRIDE.extract(dword);
        if (1u32 << log_size) > MAX_COMMANDS {
            return Err(Error::BadValue {
                what: "log_cmdq_size",
                value: u64::from(log_size),
                expected: "at most 5 (32 entries)",
            });
        }
        if log_stride < 6 {
            return Err(Error::BadValue {
                what: "log_cmdq_stride",
                value: u64::from(log_stride),
                expected: "at least 6 (64-byte entries)",
            });
        }
        if log_size + log_stride > 12 {
            return Err(Error::BadValue {
                what: "log_cmdq_size + log_cmdq_stride",
                value: u64::from(log_size + log_stride),
                expected: "at most 12 (the queue fits in one 4 KiB page)",
            });
        }
        Ok(Self {
            log_size,
            log_stride,
        })
    }

    /// Number of entries.
    pub const fn entries(&self) -> u32 {
        1 << self.log_size
    }

    /// Regular slots `0..max_reg_cmds`; the kernel keeps the last slot for MANAGE_PAGES.
    pub const fn max_reg_cmds(&self) -> u32 {
        self.entries() - 1
    }

    /// The slot reserved for MANAGE_PAGES (the "page queue"), index `max_reg_cmds`.
    pub const fn page_queue_slot(&self) -> u32 {
        self.max_reg_cmds()
    }

    /// Byte offset of entry `idx` from the queue base (`idx << log_stride`).
    pub fn entry_offset(&self, idx: u32) -> Result<usize> {
        if idx >= self.entries() {
            return Err(Error::BadValue {
                what: "command slot",
                value: u64::from(idx),
                expected: "less than the entry count",
            });
        }
        Ok((idx as usize) << self.log_stride)
    }
}

/// Splits a command queue DMA address into the two iseg words the driver writes
/// (0x010 high, then 0x014 low). The address must be 4 KiB aligned; `nic_interface`
/// goes in bits 10:8 of the low word (0 = full driver at cmd enable).
pub fn cmdq_addr_words(addr: u64, nic: NicInterface) -> Result<(u32, u32)> {
    if addr & 0xFFF != 0 {
        return Err(Error::BadValue {
            what: "cmdq address",
            value: addr,
            expected: "a 4 KiB aligned address",
        });
    }
    Ok(((addr >> 32) as u32, (addr as u32) | (nic.raw() << 8)))
}

/// Reassembles the command queue address from the two iseg words (model side).
pub fn cmdq_addr_from_words(high: u32, low: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low & 0xFFFF_F000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_decode_per_unit() {
        assert_eq!(decode_timeout(0), Duration::ZERO);
        assert_eq!(decode_timeout(500), Duration::from_millis(500));
        assert_eq!(decode_timeout((1 << 29) | 60), Duration::from_secs(60));
        assert_eq!(decode_timeout((2 << 29) | 2), Duration::from_secs(120));
        assert_eq!(decode_timeout((3 << 29) | 2), Duration::from_secs(7200));
        // Bit 31 of the unit is ignored: 5 = 0b101 decodes as 1 (s).
        assert_eq!(decode_timeout((5 << 29) | 3), Duration::from_secs(3));
        // Bits 28:20 are not part of the value.
        assert_eq!(decode_timeout(0x0FF0_0001), Duration::from_millis(1));
        assert_eq!(
            encode_timeout(1, 60).map(decode_timeout),
            Ok(Duration::from_secs(60))
        );
        assert!(encode_timeout(4, 1).is_err());
        assert!(encode_timeout(0, 1 << 20).is_err());
    }

    #[test]
    fn geometry_is_checked_like_the_kernel() {
        let g = CmdqGeometry::from_addr_l_sz(0x56).unwrap();
        assert_eq!(
            (g.entries(), g.max_reg_cmds(), g.page_queue_slot()),
            (32, 31, 31)
        );
        assert_eq!(g.entry_offset(31), Ok(31 * 64));
        assert!(g.entry_offset(32).is_err());
        assert!(CmdqGeometry::from_addr_l_sz(0x66).is_err(), "64 entries");
        assert!(
            CmdqGeometry::from_addr_l_sz(0x55).is_err(),
            "32-byte stride"
        );
        assert!(
            CmdqGeometry::from_addr_l_sz(0x58).is_err(),
            "does not fit a page"
        );
        assert_eq!(
            CmdqGeometry::from_addr_l_sz(0x0C).map(|g| g.entries()),
            Ok(1)
        );
    }

    #[test]
    fn nic_interface_values_and_state_write() {
        for v in [0, 1, 2, 7] {
            assert_eq!(NicInterface::from_raw(v).map(NicInterface::raw), Ok(v));
        }
        for v in [3, 4, 5, 6] {
            assert!(NicInterface::from_raw(v).is_err());
        }
        assert_eq!(NIC_INTERFACE.extract(PCI_DEAD), 7);
        assert_eq!(
            nic_state_write(0x1234_5756, NicInterface::Disabled),
            0x1234_5100
        );
    }

    #[test]
    fn cmdq_address_words_round_trip() {
        let (h, l) = cmdq_addr_words(0x1_2345_6000, NicInterface::FullDriver).unwrap();
        assert_eq!((h, l), (0x1, 0x2345_6000));
        assert_eq!(cmdq_addr_from_words(h, l | 0x756), 0x1_2345_6000);
        assert!(cmdq_addr_words(0x1000_0800, NicInterface::FullDriver).is_err());
    }

    #[test]
    fn fw_rev_decodes_minor_in_the_high_half() {
        // 16.35.1000, cmdif 5: dw0 = minor << 16 | major, dw1 = cmdif << 16 | subminor.
        let r = FwRev::from_dwords((35 << 16) | 16, (5 << 16) | 1000);
        assert_eq!(r.to_string(), "16.35.1000");
        assert!(r.check_cmdif().is_ok());
        assert!(FwRev::from_dwords(0, 4 << 16).check_cmdif().is_err());
    }

    #[test]
    fn health_syndromes_have_names() {
        assert_eq!(HealthSyndrome::HIGH_TEMP_ERR.name(), Some("HIGH_TEMP_ERR"));
        assert_eq!(HealthSyndrome(0x11).name(), None);
    }
}
