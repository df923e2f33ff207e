//! What kind of device the model is: identity, firmware version, boot timing and
//! the capability limits firmware reports. Tests build one with struct update
//! syntax: `Profile { num_ports: 2, ..Profile::default() }`.
#![forbid(unsafe_code)]

use std::time::Duration;

/// The device's configuration, fixed when the model is created.
#[derive(Clone, Debug)]
pub struct Profile {
    /// PCI vendor id (Mellanox).
    pub vendor_id: u16,
    /// PCI device id (ConnectX-5 PF).
    pub device_id: u16,
    /// Firmware version `major.minor.subminor` reported in the init segment.
    pub fw_version: (u16, u16, u16),
    /// Command interface revision (the driver requires 5).
    pub cmdif_rev: u16,
    /// log2 of the number of command queue entries (at most 5: 32 slots).
    pub log_cmdq_size: u8,
    /// log2 of the command entry stride in bytes (at least 6: 64 bytes).
    pub log_cmdq_stride: u8,
    /// How long the `initializing` bit stays set after power-on or reset.
    pub boot_time: Duration,
    /// Period of the health counter while firmware is alive.
    pub health_tick: Duration,
    /// Number of MSI-X vectors.
    pub msix_vectors: u16,
    /// Firmware worker threads executing commands (latency does not occupy a
    /// worker: slow commands wait in a timer, so any number can overlap).
    pub workers: usize,
    /// Physical ports of the function (`num_ports` capability).
    pub num_ports: u8,
    /// `port_type` capability: 0 InfiniBand, 1 Ethernet.
    pub port_type: u8,
    /// Pages firmware asks for at boot (QUERY_PAGES op_mod BOOT).
    pub boot_pages: u32,
    /// Pages firmware asks for before INIT_HCA (QUERY_PAGES op_mod INIT).
    pub init_pages: u32,
    /// ISSI values firmware supports, as a bit mask (bit n = ISSI n).
    pub supported_issi: u32,
    /// `log_max_eq` capability: at most `1 << log_max_eq` event queues.
    pub log_max_eq: u8,
    /// `log_max_eq_sz` capability: largest EQ is `1 << log_max_eq_sz` entries.
    pub log_max_eq_sz: u8,
    /// `log_max_qp` maximum capability (the driver may lower it with SET_HCA_CAP).
    pub log_max_qp: u8,
    /// UAR pages ALLOC_UAR can hand out.
    pub max_uars: u32,
    /// Whether firmware verifies and writes command signatures at power-on
    /// (`cmdif_checksum` capability); drivers turn it off with SET_HCA_CAP.
    pub cmdif_checksum: bool,
    /// Firmware supports packet traps (the trap capability bit).
    pub trap_support: bool,
    /// Firmware supports trap policers (the policer capability bit).
    pub policer_support: bool,
    /// Number of trap policers firmware has (QPCR pids `0..max_policers`).
    pub max_policers: u8,
    /// Number of trap groups firmware has (HTGT groups `0..max_trap_groups`;
    /// HPKT's group field is 6 bits, so at most 64 are reachable).
    pub max_trap_groups: u8,
    /// Board identifier reported by QUERY_ADAPTER (`vsd_contd_psid`).
    pub psid: &'static str,
    /// IEEE vendor id (OUI) reported by QUERY_ADAPTER.
    pub ieee_vendor_id: u32,
    /// Serial number in the VPD (keyword SN), as on a ConnectX board.
    pub serial_number: &'static str,
    /// Part number in the VPD (keyword PN).
    pub part_number: &'static str,
    /// The permanent MAC address of the NIC vport (locally administered,
    /// unicast: the first byte's bit 1 set, bit 0 clear).
    pub mac: [u8; 6],
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            vendor_id: 0x15B3,
            device_id: 0x1017,
            fw_version: (16, 35, 2000),
            cmdif_rev: 5,
            log_cmdq_size: 5,
            log_cmdq_stride: 6,
            boot_time: Duration::from_millis(5),
            health_tick: Duration::from_millis(1),
            msix_vectors: 16,
            workers: 4,
            num_ports: 1,
            port_type: 1,
            boot_pages: 8,
            init_pages: 16,
            supported_issi: 0b11,
            log_max_eq: 4,
            log_max_eq_sz: 22,
            log_max_qp: 17,
            max_uars: 64,
            cmdif_checksum: false,
            trap_support: true,
            policer_support: true,
            max_policers: 16,
            max_trap_groups: 16,
            psid: "MT_0000000008",
            ieee_vendor_id: 0x0002C9,
            serial_number: "MT2025X00001",
            part_number: "MCX-CXU-MODEL",
            mac: [0x02, 0xC9, 0x5E, 0x00, 0x00, 0x01],
        }
    }
}

impl Profile {
    /// Number of command slots (`1 << log_cmdq_size`).
    pub fn cmdq_entries(&self) -> u32 {
        1u32.checked_shl(u32::from(self.log_cmdq_size))
            .unwrap_or(u32::MAX)
    }
}
