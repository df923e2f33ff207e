//! HCA capabilities (reference §6): the cap types of QUERY_HCA_CAP/SET_HCA_CAP,
//! the op_mod encoding, and the general capability fields (`cmd_hca_cap`) as
//! typed getters and setters over the 4096-byte capability union.
//!
//! Offsets are relative to the start of the capability block (QUERY_HCA_CAP output
//! byte 0x10, SET_HCA_CAP input byte 0x10). Every field listed in the reference
//! table is here; other fields of `cmd_hca_cap` read as they were received.

use super::error::Result;
use super::field::{need, Field};
use super::named::named_values;

/// Size of the capability union in QUERY_HCA_CAP out / SET_HCA_CAP in.
pub const CAP_UNION_SIZE: usize = 4096;
/// Size of `cmd_hca_cap` (the general caps fill the first 256 bytes of the union).
pub const GENERAL_CAP_SIZE: usize = 256;

/// A capability type (op_mod bits 15:1 of QUERY/SET_HCA_CAP; `MLX5_CAP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapType(pub u16);

named_values!(CapType: u16 {
    /// General device caps (`cmd_hca_cap`).
    GENERAL = 0x0,
    /// Ethernet offloads.
    ETHERNET_OFFLOADS = 0x1,
    /// On-demand paging.
    ODP = 0x2,
    /// Atomics.
    ATOMIC = 0x3,
    /// RoCE.
    ROCE = 0x4,
    /// IPoIB offloads.
    IPOIB_OFFLOADS = 0x5,
    /// Enhanced IPoIB offloads.
    IPOIB_ENHANCED_OFFLOADS = 0x6,
    /// NIC flow table.
    FLOW_TABLE = 0x7,
    /// E-switch flow table.
    ESWITCH_FLOW_TABLE = 0x8,
    /// E-switch.
    ESWITCH = 0x9,
    /// QoS.
    QOS = 0xC,
    /// Debug.
    DEBUG = 0xD,
    /// NVMe-oF offloads.
    NVMF = 0xE,
    /// Device memory.
    DEV_MEM = 0xF,
    /// TLS.
    TLS = 0x11,
    /// vDPA emulation.
    VDPA_EMULATION = 0x13,
    /// Device events.
    DEV_EVENT = 0x14,
    /// IPsec.
    IPSEC = 0x15,
    /// Crypto.
    CRYPTO = 0x1A,
    /// SHAMPO.
    SHAMPO = 0x1D,
    /// MACsec.
    MACSEC = 0x1F,
    /// General caps, second page.
    GENERAL_2 = 0x20,
    /// Port selection.
    PORT_SELECTION = 0x25,
    /// Advanced virtualization.
    ADV_VIRTUALIZATION = 0x26,
    /// Advanced RDMA.
    ADV_RDMA = 0x28,
});

/// Which values QUERY_HCA_CAP returns (op_mod bit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapMode {
    /// 0: the maximum the device supports.
    Max = 0,
    /// 1: the current (set) values.
    Current = 1,
}

/// QUERY_HCA_CAP op_mod: `(cap_type << 1) | mode` (general current = 0x0001).
pub const fn query_op_mod(cap: CapType, mode: CapMode) -> u16 {
    (cap.0 << 1) | mode as u16
}

/// SET_HCA_CAP op_mod: `cap_type << 1`.
pub const fn set_op_mod(cap: CapType) -> u16 {
    cap.0 << 1
}

/// Splits a QUERY_HCA_CAP op_mod into its cap type and mode.
pub const fn split_op_mod(op_mod: u16) -> (CapType, CapMode) {
    (
        CapType(op_mod >> 1),
        if op_mod & 1 == 1 {
            CapMode::Current
        } else {
            CapMode::Max
        },
    )
}

/// `port_type` values.
pub mod port_type {
    /// InfiniBand.
    pub const IB: u32 = 0;
    /// Ethernet.
    pub const ETH: u32 = 1;
}

/// Defines the general cap fields: a `Field` const per field, a getter and a
/// setter on [`HcaCap`], and `GENERAL_FIELDS` listing them all.
macro_rules! cap_fields {
    ($( $(#[$m:meta])* $konst:ident, $get:ident, $set:ident, $ty:ident, $byte:expr, $bit:expr, $width:expr; )+) => {
        /// Field layouts of `cmd_hca_cap` (offsets relative to the cap block).
        pub mod general {
            use super::Field;
            $( $(#[$m])* pub const $konst: Field = Field::new(stringify!($get), $byte, $bit, $width); )+
        }

        /// Every general cap field of the reference table.
        pub const GENERAL_FIELDS: &[Field] = &[ $( general::$konst ),+ ];

        impl HcaCap {
            $(
                $(#[$m])*
                pub fn $get(&self) -> cap_fields!(@ty $ty) {
                    cap_fields!(@get $ty, self.read(general::$konst))
                }
                #[doc = concat!("Sets `", stringify!($get), "`; fails if the value is wider than the field.")]
                pub fn $set(&mut self, v: cap_fields!(@ty $ty)) -> Result<()> {
                    general::$konst.set(&mut self.raw[..], cap_fields!(@put $ty, v))
                }
            )+
        }
    };
    (@ty bool) => { bool };
    (@ty u32) => { u32 };
    (@get bool, $e:expr) => { $e != 0 };
    (@get u32, $e:expr) => { $e as u32 };
    (@put bool, $v:expr) => { u64::from($v) };
    (@put u32, $v:expr) => { u64::from($v) };
}

/// The capability union of QUERY_HCA_CAP / SET_HCA_CAP, with typed accessors for
/// the general caps (`cmd_hca_cap`).
#[derive(Clone, PartialEq, Eq)]
pub struct HcaCap {
    raw: Box<[u8; CAP_UNION_SIZE]>,
}

impl std::fmt::Debug for HcaCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("HcaCap");
        for field in GENERAL_FIELDS {
            d.field(field.name, &self.read(*field));
        }
        d.finish()
    }
}

impl Default for HcaCap {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl HcaCap {
    /// All fields zero.
    pub fn zeroed() -> Self {
        Self {
            raw: Box::new([0u8; CAP_UNION_SIZE]),
        }
    }

    /// Copies the union from `buf` (at least 4096 bytes; the QUERY_HCA_CAP
    /// output from byte 0x10).
    pub fn from_bytes(buf: &[u8]) -> Result<Self> {
        need("HCA capability union", buf, CAP_UNION_SIZE)?;
        let mut c = Self::zeroed();
        c.raw.copy_from_slice(&buf[..CAP_UNION_SIZE]);
        Ok(c)
    }

    /// The raw 4096 bytes.
    pub fn as_bytes(&self) -> &[u8; CAP_UNION_SIZE] {
        &self.raw
    }

    /// The raw 4096 bytes, for fields without a typed accessor.
    pub fn as_bytes_mut(&mut self) -> &mut [u8; CAP_UNION_SIZE] {
        &mut self.raw
    }

    /// Reads a field. Every general cap field lies in the first 256 bytes of the
    /// 4096-byte block (a test checks it), so the read cannot fail; a field outside
    /// would read as 0.
    pub fn read(&self, f: Field) -> u64 {
        f.get(&self.raw[..]).unwrap_or(0)
    }
}

cap_fields! {
    /// Absolute native port numbering.
    ABS_NATIVE_PORT_NUM, abs_native_port_num, set_abs_native_port_num, bool, 0x00, 24, 1;
    /// FW does not send page requests (no pages EQ needed).
    PAGE_REQUEST_DISABLE, page_request_disable, set_page_request_disable, bool, 0x00, 25, 1;
    /// vHCA resource manager.
    VHCA_RESOURCE_MANAGER, vhca_resource_manager, set_vhca_resource_manager, bool, 0x00, 0, 1;
    /// GENERAL_2 caps present.
    HCA_CAP_2, hca_cap_2, set_hca_cap_2, bool, 0x04, 31, 1;
    /// DTOR register (default timeouts) supported.
    DTOR, dtor, set_dtor, bool, 0x04, 29, 1;
    /// vHCA id.
    VHCA_ID, vhca_id, set_vhca_id, u32, 0x04, 0, 16;
    /// log2 max SRQ size.
    LOG_MAX_SRQ_SZ, log_max_srq_sz, set_log_max_srq_sz, u32, 0x10, 24, 8;
    /// log2 max QP size.
    LOG_MAX_QP_SZ, log_max_qp_sz, set_log_max_qp_sz, u32, 0x10, 16, 8;
    /// Event capability.
    EVENT_CAP, event_cap, set_event_cap, bool, 0x10, 15, 1;
    /// log2 max number of QPs.
    LOG_MAX_QP, log_max_qp, set_log_max_qp, u32, 0x10, 0, 5;
    /// log2 max CQ size.
    LOG_MAX_CQ_SZ, log_max_cq_sz, set_log_max_cq_sz, u32, 0x18, 16, 8;
    /// log2 max number of CQs.
    LOG_MAX_CQ, log_max_cq, set_log_max_cq, u32, 0x18, 0, 5;
    /// log2 max EQ size.
    LOG_MAX_EQ_SZ, log_max_eq_sz, set_log_max_eq_sz, u32, 0x1C, 24, 8;
    /// log2 max number of mkeys.
    LOG_MAX_MKEY, log_max_mkey, set_log_max_mkey, u32, 0x1C, 16, 6;
    /// Fast teardown supported.
    FAST_TEARDOWN, fast_teardown, set_fast_teardown, bool, 0x1C, 4, 1;
    /// log2 max number of EQs.
    LOG_MAX_EQ, log_max_eq, set_log_max_eq, u32, 0x1C, 0, 4;
    /// Force teardown supported.
    FORCE_TEARDOWN, force_teardown, set_force_teardown, bool, 0x20, 15, 1;
    /// FW can release all pages of a function with one event.
    RELEASE_ALL_PAGES, release_all_pages, set_release_all_pages, bool, 0x28, 26, 1;
    /// 128-byte cache lines.
    CACHE_LINE_128BYTE, cache_line_128byte, set_cache_line_128byte, bool, 0x2C, 27, 1;
    /// QCAM register supported.
    QCAM_REG, qcam_reg, set_qcam_reg, bool, 0x2C, 16, 1;
    /// Debug.
    DEBUG, debug, set_debug, bool, 0x30, 28, 1;
    /// PKEY table size, encoded: `128 << n` entries (mlx5_to_sw_pkey_sz).
    PKEY_TABLE_SIZE, pkey_table_size, set_pkey_table_size, u32, 0x30, 0, 16;
    /// vport group manager.
    VPORT_GROUP_MANAGER, vport_group_manager, set_vport_group_manager, bool, 0x34, 31, 1;
    /// IB virtualization.
    IB_VIRT, ib_virt, set_ib_virt, bool, 0x34, 29, 1;
    /// Ethernet virtualization.
    ETH_VIRT, eth_virt, set_eth_virt, bool, 0x34, 28, 1;
    /// NIC flow table.
    NIC_FLOW_TABLE, nic_flow_table, set_nic_flow_table, bool, 0x34, 25, 1;
    /// E-switch manager.
    ESWITCH_MANAGER, eswitch_manager, set_eswitch_manager, bool, 0x34, 24, 1;
    /// Device memory.
    DEVICE_MEMORY, device_memory, set_device_memory, bool, 0x34, 23, 1;
    /// MCAM register supported.
    MCAM_REG, mcam_reg, set_mcam_reg, bool, 0x34, 22, 1;
    /// PCAM register supported.
    PCAM_REG, pcam_reg, set_pcam_reg, bool, 0x34, 21, 1;
    /// Port module events.
    PORT_MODULE_EVENT, port_module_event, set_port_module_event, bool, 0x34, 15, 1;
    /// Port type: 0 = IB, 1 = Ethernet (see the `port_type` module).
    PORT_TYPE, port_type, set_port_type, u32, 0x34, 8, 2;
    /// Number of ports.
    NUM_PORTS, num_ports, set_num_ports, u32, 0x34, 0, 8;
    /// log2 max command message size.
    LOG_MAX_MSG, log_max_msg, set_log_max_msg, u32, 0x38, 24, 5;
    /// Temperature warning events.
    TEMP_WARN_EVENT, temp_warn_event, set_temp_warn_event, bool, 0x38, 15, 1;
    /// General notification events.
    GENERAL_NOTIFICATION_EVENT, general_notification_event, set_general_notification_event, bool, 0x38, 13, 1;
    /// PCI sync for FW update events.
    PCI_SYNC_FOR_FW_UPDATE_EVENT, pci_sync_for_fw_update_event, set_pci_sync_for_fw_update_event, bool, 0x3C, 14, 1;
    /// CQE version.
    CQE_VERSION, cqe_version, set_cqe_version, u32, 0x3C, 0, 4;
    /// Drain on signature error.
    DRAIN_SIGERR, drain_sigerr, set_drain_sigerr, bool, 0x40, 16, 1;
    /// Command interface checksums (the driver sets 0).
    CMDIF_CHECKSUM, cmdif_checksum, set_cmdif_checksum, u32, 0x40, 14, 2;
    /// DC transport.
    DCT, dct, set_dct, bool, 0x40, 5, 1;
    /// QoS.
    QOS, qos, set_qos, bool, 0x40, 4, 1;
    /// Ethernet offloads (ETHERNET_OFFLOADS caps present).
    ETH_NET_OFFLOADS, eth_net_offloads, set_eth_net_offloads, bool, 0x40, 3, 1;
    /// RoCE.
    ROCE, roce, set_roce, bool, 0x40, 2, 1;
    /// Atomics.
    ATOMIC, atomic, set_atomic, bool, 0x40, 1, 1;
    /// On-demand paging.
    PG, pg, set_pg, bool, 0x44, 24, 1;
    /// 4 KiB UARs.
    UAR_4K, uar_4k, set_uar_4k, bool, 0x48, 31, 1;
    /// UAR size.
    UAR_SZ, uar_sz, set_uar_sz, u32, 0x48, 16, 6;
    /// UMEMs may be created with uid 0 (no user context): what a driver
    /// without a kernel, such as rdma-core's mlx5 over VFIO, needs.
    UMEM_UID_0, umem_uid_0, set_umem_uid_0, bool, 0x48, 13, 1;
    /// log2 page size.
    LOG_PG_SZ, log_pg_sz, set_log_pg_sz, u32, 0x48, 0, 8;
    /// BlueFlame supported.
    BF, bf, set_bf, bool, 0x4C, 31, 1;
    /// SET_DRIVER_VERSION supported.
    DRIVER_VERSION, driver_version, set_driver_version, bool, 0x4C, 30, 1;
    /// log2 BlueFlame register size.
    LOG_BF_REG_SIZE, log_bf_reg_size, set_log_bf_reg_size, u32, 0x4C, 16, 5;
    /// Max SQ WQE size.
    MAX_WQE_SZ_SQ, max_wqe_sz_sq, set_max_wqe_sz_sq, u32, 0x50, 0, 16;
    /// log2 max transport domains.
    LOG_MAX_TRANSPORT_DOMAIN, log_max_transport_domain, set_log_max_transport_domain, u32, 0x64, 24, 5;
    /// log2 max protection domains.
    LOG_MAX_PD, log_max_pd, set_log_max_pd, u32, 0x64, 16, 5;
    /// PCIe reset by hot reset.
    PCIE_RESET_USING_HOTRESET_METHOD, pcie_reset_using_hotreset_method, set_pcie_reset_using_hotreset_method, bool, 0x64, 10, 1;
    /// log2 max RQs.
    LOG_MAX_RQ, log_max_rq, set_log_max_rq, u32, 0x6C, 24, 5;
    /// log2 max SQs.
    LOG_MAX_SQ, log_max_sq, set_log_max_sq, u32, 0x6C, 16, 5;
    /// log2 max TIRs.
    LOG_MAX_TIR, log_max_tir, set_log_max_tir, u32, 0x6C, 8, 5;
    /// log2 max TISs.
    LOG_MAX_TIS, log_max_tis, set_log_max_tis, u32, 0x6C, 0, 5;
    /// log2 max RQTs.
    LOG_MAX_RQT, log_max_rqt, set_log_max_rqt, u32, 0x70, 16, 5;
    /// vHCA state.
    VHCA_STATE, vhca_state, set_vhca_state, bool, 0x7C, 21, 1;
    /// log2 max user contexts.
    LOG_MAX_UCTX, log_max_uctx, set_log_max_uctx, u32, 0x8C, 24, 5;
    /// Max number of EQs.
    MAX_NUM_EQS, max_num_eqs, set_max_num_eqs, u32, 0x8C, 0, 16;
    /// log2 UAR page size (relative to 4 KiB).
    LOG_UAR_PAGE_SZ, log_uar_page_sz, set_log_uar_page_sz, u32, 0x90, 0, 16;
    /// UARs per page.
    NUM_OF_UARS_PER_PAGE, num_of_uars_per_page, set_num_of_uars_per_page, u32, 0xA4, 0, 32;
    /// Number of vHCA ports.
    NUM_VHCA_PORTS, num_vhca_ports, set_num_vhca_ports, u32, 0xC0, 8, 8;
    /// SW owner id supported (INIT_HCA sw_owner_id).
    SW_OWNER_ID, sw_owner_id, set_sw_owner_id, bool, 0xC0, 1, 1;
    /// Sub-functions.
    SF, sf, set_sf, bool, 0xD0, 31, 1;
    /// Total dynamic VF MSI-X vectors.
    NUM_TOTAL_DYNAMIC_VF_MSIX, num_total_dynamic_vf_msix, set_num_total_dynamic_vf_msix, u32, 0xE0, 0, 24;
}

/// cxu-defined capability fields: traps and trap policers are not mlx5 features,
/// so `cmd_hca_cap` has no bits for them. cxu's device model advertises them in
/// the general capability union right **after** `cmd_hca_cap` (byte 0x100 of the
/// 4096-byte union, returned by QUERY_HCA_CAP general but undefined by the
/// kernel), so that no kernel field can ever collide with them. (The last dwords
/// of `cmd_hca_cap` itself are taken: 0xF0 `vhca_tunnel_commands`, 0xF8
/// `match_definer_format_supported`.) Real ConnectX FW returns zeros there, which
/// reads as "not supported".
pub mod cxu {
    use super::Field;

    /// cxu-defined: packet traps (HPKT/HTGT registers) are supported. Byte 0x100, bit 31.
    pub const TRAPS: Field = Field::new("cxu_traps", 0x100, 31, 1);
    /// cxu-defined: trap policers (QPCR register) are supported. Byte 0x100, bit 30.
    pub const TRAP_POLICERS: Field = Field::new("cxu_trap_policers", 0x100, 30, 1);
    /// cxu-defined: number of trap groups (HTGT entries). Byte 0x100, bits 15:8.
    pub const MAX_TRAP_GROUPS: Field = Field::new("cxu_max_trap_groups", 0x100, 8, 8);
    /// cxu-defined: number of trap policers (QPCR pids). Byte 0x100, bits 7:0.
    pub const MAX_TRAP_POLICERS: Field = Field::new("cxu_max_trap_policers", 0x100, 0, 8);

    /// Every cxu-defined field.
    pub const FIELDS: &[Field] = &[TRAPS, TRAP_POLICERS, MAX_TRAP_GROUPS, MAX_TRAP_POLICERS];
}

impl HcaCap {
    /// cxu-defined: packet traps supported ([`cxu::TRAPS`]).
    pub fn cxu_traps(&self) -> bool {
        self.read(cxu::TRAPS) != 0
    }
    /// Sets [`cxu::TRAPS`].
    pub fn set_cxu_traps(&mut self, v: bool) -> Result<()> {
        cxu::TRAPS.set_bool(&mut self.raw[..], v)
    }
    /// cxu-defined: trap policers supported ([`cxu::TRAP_POLICERS`]).
    pub fn cxu_trap_policers(&self) -> bool {
        self.read(cxu::TRAP_POLICERS) != 0
    }
    /// Sets [`cxu::TRAP_POLICERS`].
    pub fn set_cxu_trap_policers(&mut self, v: bool) -> Result<()> {
        cxu::TRAP_POLICERS.set_bool(&mut self.raw[..], v)
    }
    /// cxu-defined: number of trap groups ([`cxu::MAX_TRAP_GROUPS`]).
    pub fn cxu_max_trap_groups(&self) -> u32 {
        self.read(cxu::MAX_TRAP_GROUPS) as u32
    }
    /// Sets [`cxu::MAX_TRAP_GROUPS`].
    pub fn set_cxu_max_trap_groups(&mut self, v: u32) -> Result<()> {
        cxu::MAX_TRAP_GROUPS.set(&mut self.raw[..], u64::from(v))
    }
    /// cxu-defined: number of trap policers ([`cxu::MAX_TRAP_POLICERS`]).
    pub fn cxu_max_trap_policers(&self) -> u32 {
        self.read(cxu::MAX_TRAP_POLICERS) as u32
    }
    /// Sets [`cxu::MAX_TRAP_POLICERS`].
    pub fn set_cxu_max_trap_policers(&mut self, v: u32) -> Result<()> {
        cxu::MAX_TRAP_POLICERS.set(&mut self.raw[..], u64::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_mod_encoding() {
        assert_eq!(query_op_mod(CapType::GENERAL, CapMode::Current), 0x0001);
        assert_eq!(query_op_mod(CapType::GENERAL, CapMode::Max), 0x0000);
        assert_eq!(
            query_op_mod(CapType::ETHERNET_OFFLOADS, CapMode::Current),
            0x0003
        );
        assert_eq!(set_op_mod(CapType::GENERAL_2), 0x40);
        assert_eq!(
            split_op_mod(0x0003),
            (CapType::ETHERNET_OFFLOADS, CapMode::Current)
        );
    }

    #[test]
    fn accessors_write_only_their_bits() {
        let mut c = HcaCap::zeroed();
        c.set_log_max_eq(0xF).unwrap();
        assert_eq!(&c.as_bytes()[0x1C..0x20], &[0, 0, 0, 0x0F]);
        c.set_fast_teardown(true).unwrap();
        assert_eq!(c.as_bytes()[0x1F], 0x1F);
        assert_eq!((c.log_max_eq(), c.fast_teardown()), (0xF, true));
        assert!(c.set_log_max_eq(0x10).is_err());
        c.set_port_type(port_type::ETH).unwrap();
        c.set_num_ports(1).unwrap();
        assert_eq!(&c.as_bytes()[0x34..0x38], &[0, 0, 1, 1]);
        let back = HcaCap::from_bytes(c.as_bytes()).unwrap();
        assert_eq!(back, c);
        assert!(HcaCap::from_bytes(&[0u8; 4095]).is_err());
    }

    #[test]
    fn cxu_fields_sit_after_cmd_hca_cap() {
        let mut c = HcaCap::zeroed();
        c.set_cxu_traps(true).unwrap();
        c.set_cxu_max_trap_groups(16).unwrap();
        c.set_cxu_max_trap_policers(8).unwrap();
        assert_eq!(&c.as_bytes()[0x100..0x104], &[0x80, 0, 16, 8]);
        assert!(c.as_bytes()[..GENERAL_CAP_SIZE].iter().all(|&b| b == 0));
        assert!(c.cxu_traps() && !c.cxu_trap_policers());
        assert_eq!(
            (c.cxu_max_trap_groups(), c.cxu_max_trap_policers()),
            (16, 8)
        );
        assert!(c.set_cxu_max_trap_policers(256).is_err());
        for f in cxu::FIELDS {
            assert!(
                f.byte >= GENERAL_CAP_SIZE && f.end() <= CAP_UNION_SIZE,
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn every_field_is_inside_cmd_hca_cap() {
        for f in GENERAL_FIELDS {
            assert!(f.end() <= GENERAL_CAP_SIZE, "{}", f.name);
        }
    }
}
