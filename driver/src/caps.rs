//! Firmware capabilities as the rest of the driver sees them: a [`Features`]
//! bitflags set and a typed [`Caps`] struct, built once from QUERY_HCA_CAP
//! (general, current values). Nothing outside this file reads raw cap bits.

use cxu_hal::ifc::caps::{self, HcaCap};

bitflags::bitflags! {
    /// What the device can do, from its capabilities.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Features: u32 {
        /// Ethernet offloads (`eth_net_offloads`).
        const ETH = 1 << 0;
        /// RoCE.
        const ROCE = 1 << 1;
        /// Atomics.
        const ATOMIC = 1 << 2;
        /// Packet traps (cxu-defined cap, HPKT/HTGT registers).
        const TRAPS = 1 << 3;
        /// Trap policers (cxu-defined cap, QPCR register).
        const TRAP_POLICERS = 1 << 4;
        /// Fast teardown.
        const FAST_TEARDOWN = 1 << 5;
        /// Force teardown.
        const FORCE_TEARDOWN = 1 << 6;
        /// SET_DRIVER_VERSION accepted.
        const DRIVER_VERSION = 1 << 7;
        /// Firmware sends page requests (`page_request_disable` clear).
        const PAGE_REQUESTS = 1 << 8;
        /// Firmware may release all pages with one event.
        const RELEASE_ALL_PAGES = 1 << 9;
        /// Port module events.
        const PORT_MODULE_EVENTS = 1 << 10;
        /// PCAM register.
        const PCAM_REG = 1 << 11;
        /// MCAM register.
        const MCAM_REG = 1 << 12;
        /// Command interface checksums are on.
        const CMDIF_CHECKSUM = 1 << 13;
        /// Events capability.
        const EVENT_CAP = 1 << 14;
        /// General notification events.
        const GENERAL_NOTIFICATION_EVENT = 1 << 15;
    }
}

/// Port link type (`port_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortType {
    /// InfiniBand.
    Ib,
    /// Ethernet.
    Eth,
    /// A value the interface does not define.
    Unknown(u32),
}

impl std::fmt::Display for PortType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortType::Ib => f.write_str("ib"),
            PortType::Eth => f.write_str("eth"),
            PortType::Unknown(v) => write!(f, "unknown({v})"),
        }
    }
}

/// The capabilities the driver uses, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// Feature bits.
    pub features: Features,
    /// Physical ports.
    pub num_ports: u32,
    /// Port type.
    pub port_type: PortType,
    /// log2 of the number of EQs.
    pub log_max_eq: u32,
    /// log2 of the largest EQ.
    pub log_max_eq_sz: u32,
    /// Number of EQs (`max_num_eqs`, 0 if firmware leaves it to `log_max_eq`).
    pub max_num_eqs: u32,
    /// log2 of the number of QPs.
    pub log_max_qp: u32,
    /// log2 of the largest command message.
    pub log_max_msg: u32,
    /// vHCA id.
    pub vhca_id: u32,
    /// Trap groups firmware has (0 without traps).
    pub max_trap_groups: u32,
    /// Trap policers firmware has (0 without policers).
    pub max_trap_policers: u32,
}

impl Caps {
    /// Reads the general capabilities.
    pub fn from_hca_cap(c: &HcaCap) -> Caps {
        let mut f = Features::empty();
        let mut set = |flag: Features, on: bool| f.set(flag, on);
        set(Features::ETH, c.eth_net_offloads());
        set(Features::ROCE, c.roce());
        set(Features::ATOMIC, c.atomic());
        set(Features::TRAPS, c.read(caps::cxu::TRAPS) != 0);
        set(
            Features::TRAP_POLICERS,
            c.read(caps::cxu::TRAP_POLICERS) != 0,
        );
        set(Features::FAST_TEARDOWN, c.fast_teardown());
        set(Features::FORCE_TEARDOWN, c.force_teardown());
        set(Features::DRIVER_VERSION, c.driver_version());
        set(Features::PAGE_REQUESTS, !c.page_request_disable());
        set(Features::RELEASE_ALL_PAGES, c.release_all_pages());
        set(Features::PORT_MODULE_EVENTS, c.port_module_event());
        set(Features::PCAM_REG, c.pcam_reg());
        set(Features::MCAM_REG, c.mcam_reg());
        set(Features::CMDIF_CHECKSUM, c.cmdif_checksum() != 0);
        set(Features::EVENT_CAP, c.event_cap());
        set(
            Features::GENERAL_NOTIFICATION_EVENT,
            c.general_notification_event(),
        );
        let port_type = match c.port_type() {
            caps::port_type::IB => PortType::Ib,
            caps::port_type::ETH => PortType::Eth,
            v => PortType::Unknown(v),
        };
        let traps = f.contains(Features::TRAPS);
        let policers = f.contains(Features::TRAP_POLICERS);
        Caps {
            features: f,
            num_ports: c.num_ports(),
            port_type,
            log_max_eq: c.log_max_eq(),
            log_max_eq_sz: c.log_max_eq_sz(),
            max_num_eqs: c.max_num_eqs(),
            log_max_qp: c.log_max_qp(),
            log_max_msg: c.log_max_msg(),
            vhca_id: c.vhca_id(),
            max_trap_groups: if traps {
                c.read(caps::cxu::MAX_TRAP_GROUPS) as u32
            } else {
                0
            },
            max_trap_policers: if policers {
                c.read(caps::cxu::MAX_TRAP_POLICERS) as u32
            } else {
                0
            },
        }
    }
}

/// What the driver changes in the current caps before INIT_HCA (the kernel's
/// `handle_hca_cap`, reduced to what this driver needs): command checksums off.
/// Returns `None` when nothing needs to change.
pub(crate) fn wanted(cur: &HcaCap) -> Option<HcaCap> {
    if cur.cmdif_checksum() == 0 {
        return None;
    }
    let mut c = cur.clone();
    // 0 fits the 2-bit field: cannot fail.
    let _ = c.set_cmdif_checksum(0);
    Some(c)
}

#[cfg(all(test, not(cxu_driver_loom)))]
mod tests {
    use super::*;

    #[test]
    fn features_and_limits_come_from_the_cap_bits() {
        let mut c = HcaCap::zeroed();
        c.set_eth_net_offloads(true).unwrap();
        c.set_num_ports(2).unwrap();
        c.set_port_type(caps::port_type::ETH).unwrap();
        c.set_log_max_eq(4).unwrap();
        c.set_page_request_disable(true).unwrap();
        caps::cxu::TRAPS.set(c.as_bytes_mut(), 1).unwrap();
        caps::cxu::MAX_TRAP_POLICERS
            .set(c.as_bytes_mut(), 16)
            .unwrap();
        let k = Caps::from_hca_cap(&c);
        assert!(k.features.contains(Features::ETH | Features::TRAPS));
        assert!(!k.features.contains(Features::PAGE_REQUESTS));
        assert!(!k.features.contains(Features::TRAP_POLICERS));
        assert_eq!(
            k.max_trap_policers, 0,
            "no policers without the policer bit"
        );
        assert_eq!(
            (k.num_ports, k.port_type, k.log_max_eq),
            (2, PortType::Eth, 4)
        );
        assert!(wanted(&c).is_none());
        c.set_cmdif_checksum(3).unwrap();
        assert_eq!(wanted(&c).unwrap().cmdif_checksum(), 0);
    }
}
