//! Packet traps, trap groups and trap policers (reference §4,
//! net/devlink/trap.c).
//!
//! Registration order is policers → groups → traps: a group names its
//! policer by id and a trap names its group by id, and both must already
//! exist. Generic traps and groups must use the id, name (and for traps,
//! type) of the kernel's generic tables below; driver-specific ones use ids
//! above the generic range and names that are not generic.
//!
//! The receive path ([`TrapReporter::report`]) bumps lock-free counters for
//! the trap and its group and never takes the instance lock.

use std::borrow::Cow;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::{InstanceGuard, Objects};
use crate::notify::{Command, EventBody};
use crate::ops::Capabilities;
use crate::sync::{Arc, AtomicU64, Ordering};

/// A trap's id: generic ids index [`GENERIC_TRAPS`]; driver ids are above
/// [`GENERIC_TRAP_ID_MAX`].
pub type TrapId = u16;
/// A trap group's id: generic ids index [`GENERIC_TRAP_GROUPS`]; driver ids
/// are above [`GENERIC_TRAP_GROUP_ID_MAX`].
pub type TrapGroupId = u16;

/// `devlink_trap_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrapType {
    /// Dropped by hardware; only accounted and reported.
    Drop,
    /// Not forwarded because of an exception; injected to the stack.
    Exception,
    /// A control-plane packet; injected, not reported as a drop.
    Control,
}

impl TrapType {
    /// The name iproute2 prints.
    pub fn as_str(self) -> &'static str {
        match self {
            TrapType::Drop => "drop",
            TrapType::Exception => "exception",
            TrapType::Control => "control",
        }
    }
}

/// `devlink_trap_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrapAction {
    /// Hardware drops the packet, no copy to the CPU.
    Drop,
    /// Only a copy goes to the CPU.
    Trap,
    /// Forwarded, and a copy goes to the CPU.
    Mirror,
}

impl TrapAction {
    /// The name iproute2 prints.
    pub fn as_str(self) -> &'static str {
        match self {
            TrapAction::Drop => "drop",
            TrapAction::Trap => "trap",
            TrapAction::Mirror => "mirror",
        }
    }
}

bitflags::bitflags! {
    /// Metadata a trap can attach to reported packets
    /// (`DEVLINK_TRAP_METADATA_TYPE_F_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TrapMetadata: u8 {
        /// The input port.
        const IN_PORT = 1 << 0;
        /// The flow action cookie.
        const FA_COOKIE = 1 << 1;
    }
}

impl TrapMetadata {
    fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.contains(TrapMetadata::IN_PORT) {
            v.push("input_port");
        }
        if self.contains(TrapMetadata::FA_COOKIE) {
            v.push("flow_action_cookie");
        }
        v
    }
}

use TrapType::{Control as C, Drop as D, Exception as E};

/// The kernel's generic traps, indexed by id (`devlink_trap_generic[]`).
pub static GENERIC_TRAPS: [(&str, TrapType); 94] = [
    ("source_mac_is_multicast", D),
    ("vlan_tag_mismatch", D),
    ("ingress_vlan_filter", D),
    ("ingress_spanning_tree_filter", D),
    ("port_list_is_empty", D),
    ("port_loopback_filter", D),
    ("blackhole_route", D),
    ("ttl_value_is_too_small", E),
    ("tail_drop", D),
    ("non_ip", D),
    ("uc_dip_over_mc_dmac", D),
    ("dip_is_loopback_address", D),
    ("sip_is_mc", D),
    ("sip_is_loopback_address", D),
    ("ip_header_corrupted", D),
    ("ipv4_sip_is_limited_bc", D),
    ("ipv6_mc_dip_reserved_scope", D),
    ("ipv6_mc_dip_interface_local_scope", D),
    ("mtu_value_is_too_small", E),
    ("unresolved_neigh", E),
    ("mc_reverse_path_forwarding", E),
    ("reject_route", E),
    ("ipv4_lpm_miss", E),
    ("ipv6_lpm_miss", E),
    ("non_routable_packet", D),
    ("decap_error", E),
    ("overlay_smac_is_mc", D),
    ("ingress_flow_action_drop", D),
    ("egress_flow_action_drop", D),
    ("stp", C),
    ("lacp", C),
    ("lldp", C),
    ("igmp_query", C),
    ("igmp_v1_report", C),
    ("igmp_v2_report", C),
    ("igmp_v3_report", C),
    ("igmp_v2_leave", C),
    ("mld_query", C),
    ("mld_v1_report", C),
    ("mld_v2_report", C),
    ("mld_v1_done", C),
    ("ipv4_dhcp", C),
    ("ipv6_dhcp", C),
    ("arp_request", C),
    ("arp_response", C),
    ("arp_overlay", C),
    ("ipv6_neigh_solicit", C),
    ("ipv6_neigh_advert", C),
    ("ipv4_bfd", C),
    ("ipv6_bfd", C),
    ("ipv4_ospf", C),
    ("ipv6_ospf", C),
    ("ipv4_bgp", C),
    ("ipv6_bgp", C),
    ("ipv4_vrrp", C),
    ("ipv6_vrrp", C),
    ("ipv4_pim", C),
    ("ipv6_pim", C),
    ("uc_loopback", C),
    ("local_route", C),
    ("external_route", C),
    ("ipv6_uc_dip_link_local_scope", C),
    ("ipv6_dip_all_nodes", C),
    ("ipv6_dip_all_routers", C),
    ("ipv6_router_solicit", C),
    ("ipv6_router_advert", C),
    ("ipv6_redirect", C),
    ("ipv4_router_alert", C),
    ("ipv6_router_alert", C),
    ("ptp_event", C),
    ("ptp_general", C),
    ("flow_action_sample", C),
    ("flow_action_trap", C),
    ("early_drop", D),
    ("vxlan_parsing", D),
    ("llc_snap_parsing", D),
    ("vlan_parsing", D),
    ("pppoe_ppp_parsing", D),
    ("mpls_parsing", D),
    ("arp_parsing", D),
    ("ip_1_parsing", D),
    ("ip_n_parsing", D),
    ("gre_parsing", D),
    ("udp_parsing", D),
    ("tcp_parsing", D),
    ("ipsec_parsing", D),
    ("sctp_parsing", D),
    ("dccp_parsing", D),
    ("gtp_parsing", D),
    ("esp_parsing", D),
    ("blackhole_nexthop", D),
    ("dmac_filter", D),
    ("eapol", C),
    ("locked_port", D),
];

/// The highest generic trap id (`DEVLINK_TRAP_GENERIC_ID_MAX`).
pub const GENERIC_TRAP_ID_MAX: TrapId = (GENERIC_TRAPS.len() - 1) as TrapId;

/// The kernel's generic trap groups, indexed by id.
pub static GENERIC_TRAP_GROUPS: [&str; 27] = [
    "l2_drops",
    "l3_drops",
    "l3_exceptions",
    "buffer_drops",
    "tunnel_drops",
    "acl_drops",
    "stp",
    "lacp",
    "lldp",
    "mc_snooping",
    "dhcp",
    "neigh_discovery",
    "bfd",
    "ospf",
    "bgp",
    "vrrp",
    "pim",
    "uc_loopback",
    "local_delivery",
    "external_delivery",
    "ipv6",
    "ptp_event",
    "ptp_general",
    "acl_sample",
    "acl_trap",
    "parser_error_drops",
    "eapol",
];

/// The highest generic trap group id.
pub const GENERIC_TRAP_GROUP_ID_MAX: TrapGroupId = (GENERIC_TRAP_GROUPS.len() - 1) as TrapGroupId;

/// The generic trap id for a name.
pub fn generic_trap_id(name: &str) -> Option<TrapId> {
    GENERIC_TRAPS
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| TrapId::try_from(i).ok())
}

/// The generic trap group id for a name.
pub fn generic_trap_group_id(name: &str) -> Option<TrapGroupId> {
    GENERIC_TRAP_GROUPS
        .iter()
        .position(|n| *n == name)
        .and_then(|i| TrapGroupId::try_from(i).ok())
}

/// A trap policer as the driver describes it (`struct devlink_trap_policer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapPolicer {
    /// Id; 0 is reserved for "no policer".
    pub id: u32,
    /// Rate (packets/s) at registration.
    pub init_rate: u64,
    /// Burst (packets) at registration.
    pub init_burst: u64,
    /// Lowest rate the hardware accepts.
    pub min_rate: u64,
    /// Highest rate the hardware accepts.
    pub max_rate: u64,
    /// Lowest burst the hardware accepts.
    pub min_burst: u64,
    /// Highest burst the hardware accepts.
    pub max_burst: u64,
}

impl TrapPolicer {
    /// A policer with its initial rate and burst and the hardware's limits.
    pub fn new(
        id: u32,
        rate: u64,
        burst: u64,
        rate_range: (u64, u64),
        burst_range: (u64, u64),
    ) -> Self {
        TrapPolicer {
            id,
            init_rate: rate,
            init_burst: burst,
            min_rate: rate_range.0,
            max_rate: rate_range.1,
            min_burst: burst_range.0,
            max_burst: burst_range.1,
        }
    }
}

/// A trap group as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapGroup {
    /// Id (generic table index, or above [`GENERIC_TRAP_GROUP_ID_MAX`]).
    pub id: TrapGroupId,
    /// Name.
    pub name: Cow<'static, str>,
    /// Whether this is a generic group.
    pub generic: bool,
    /// Policer bound at registration; 0 for none.
    pub init_policer_id: u32,
}

impl TrapGroup {
    /// A generic group by id; the name comes from the table (an unknown id
    /// gets an empty name and fails validation).
    pub fn generic(id: TrapGroupId, policer: u32) -> Self {
        let name = GENERIC_TRAP_GROUPS
            .get(usize::from(id))
            .copied()
            .unwrap_or("");
        TrapGroup {
            id,
            name: Cow::Borrowed(name),
            generic: true,
            init_policer_id: policer,
        }
    }

    /// A driver-specific group.
    pub fn driver(id: TrapGroupId, name: impl Into<Cow<'static, str>>, policer: u32) -> Self {
        TrapGroup {
            id,
            name: name.into(),
            generic: false,
            init_policer_id: policer,
        }
    }
}

/// A trap as the driver describes it (`struct devlink_trap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Id (generic table index, or above [`GENERIC_TRAP_ID_MAX`]).
    pub id: TrapId,
    /// Name.
    pub name: Cow<'static, str>,
    /// Whether this is a generic trap.
    pub generic: bool,
    /// Type.
    pub ty: TrapType,
    /// Action at registration.
    pub init_action: TrapAction,
    /// Group at registration (by id).
    pub init_group_id: TrapGroupId,
    /// Metadata the driver can supply with reports.
    pub metadata: TrapMetadata,
}

impl Trap {
    /// A generic trap by id; name and type come from the table (an unknown
    /// id gets an empty name and fails validation).
    pub fn generic(id: TrapId, action: TrapAction, group: TrapGroupId) -> Self {
        let (name, ty) = GENERIC_TRAPS
            .get(usize::from(id))
            .copied()
            .unwrap_or(("", TrapType::Drop));
        Trap {
            id,
            name: Cow::Borrowed(name),
            generic: true,
            ty,
            init_action: action,
            init_group_id: group,
            metadata: TrapMetadata::empty(),
        }
    }

    /// A driver-specific trap.
    pub fn driver(
        id: TrapId,
        name: impl Into<Cow<'static, str>>,
        ty: TrapType,
        action: TrapAction,
        group: TrapGroupId,
    ) -> Self {
        Trap {
            id,
            name: name.into(),
            generic: false,
            ty,
            init_action: action,
            init_group_id: group,
            metadata: TrapMetadata::empty(),
        }
    }

    /// With metadata capabilities.
    pub fn with_metadata(mut self, md: TrapMetadata) -> Self {
        self.metadata = md;
        self
    }
}

/// Lock-free receive counters (the kernel's per-CPU `devlink_stats`).
#[derive(Default)]
pub(crate) struct RxCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl RxCounters {
    fn add(&self, len: u64) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len, Ordering::Relaxed);
    }
    fn read(&self) -> (u64, u64) {
        (
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// The driver's receive-path handle for one trap (`devlink_trap_report`).
/// Cloneable and `Send`; reporting never takes the instance lock.
#[derive(Clone)]
pub struct TrapReporter {
    id: TrapId,
    // Immutable names for the trace event; plain `std` Arcs (no protocol).
    name: std::sync::Arc<str>,
    group_name: std::sync::Arc<str>,
    metadata: TrapMetadata,
    trap: Arc<RxCounters>,
    group: Arc<RxCounters>,
}

/// Metadata a driver may pass with a report ([`TrapReporter::report_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportMetadata<'a> {
    /// The port the packet came in on.
    pub in_port: Option<u32>,
    /// The flow action cookie of the rule that trapped it.
    pub fa_cookie: Option<&'a [u8]>,
}

impl std::fmt::Debug for TrapReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (packets, bytes) = self.trap.read();
        f.debug_struct("TrapReporter")
            .field("id", &self.id)
            .field("packets", &packets)
            .field("bytes", &bytes)
            .finish()
    }
}

impl TrapReporter {
    /// Accounts one trapped packet of `len` bytes to the trap and its group.
    /// After the trap is removed, reports are still accepted and counted
    /// into counters nobody reads any more.
    pub fn report(&self, len: usize) {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        self.trap.add(len);
        self.group.add(len);
    }

    /// Accounts a packet like [`TrapReporter::report`] and emits the
    /// drop-monitor record (a `tracing` event, target `devlink::trap`, the
    /// role of the kernel's `devlink_trap_report` tracepoint) with the
    /// metadata the trap declared; metadata it did not declare is dropped.
    /// Returns the metadata that was kept.
    pub fn report_with<'a>(&self, len: usize, md: ReportMetadata<'a>) -> ReportMetadata<'a> {
        self.report(len);
        let kept = ReportMetadata {
            in_port: md
                .in_port
                .filter(|_| self.metadata.contains(TrapMetadata::IN_PORT)),
            fa_cookie: md
                .fa_cookie
                .filter(|_| self.metadata.contains(TrapMetadata::FA_COOKIE)),
        };
        tracing::trace!(
            target: "devlink::trap",
            trap = %self.name,
            group = %self.group_name,
            len,
            in_port = ?kept.in_port,
            fa_cookie = ?kept.fa_cookie,
            "trap report"
        );
        kept
    }

    /// The trap's id.
    pub fn id(&self) -> TrapId {
        self.id
    }

    /// The trap's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

pub(crate) struct PolicerItem {
    desc: TrapPolicer,
    rate: u64,
    burst: u64,
}

pub(crate) struct GroupItem {
    desc: TrapGroup,
    policer: u32,
    stats: Arc<RxCounters>,
}

pub(crate) struct TrapItem {
    desc: Trap,
    action: TrapAction,
    stats: Arc<RxCounters>,
}

/// `"stats":{"rx":{"bytes":..,"packets":..,"dropped":..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsView {
    /// Receive counters.
    pub rx: RxView,
}

/// Receive counters, each present only when the object has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RxView {
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    /// Packets dropped (by hardware, or by the policer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
}

/// One entry of `devlink trap show -j` (`metadata` with `-v`, `stats` with `-s`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrapView {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: TrapType,
    /// Generic or driver-specific.
    pub generic: bool,
    /// Current action.
    pub action: TrapAction,
    /// Group name.
    pub group: String,
    /// Metadata names (verbose only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<&'static str>>,
    /// Counters (stats only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsView>,
}

/// One entry of `devlink trap group show -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrapGroupView {
    /// Name.
    pub name: String,
    /// Generic or driver-specific.
    pub generic: bool,
    /// Bound policer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policer: Option<u32>,
    /// Counters (stats only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsView>,
}

/// One entry of `devlink trap policer show -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicerView {
    /// Id.
    pub policer: u32,
    /// Rate, packets/s.
    pub rate: u64,
    /// Burst, packets.
    pub burst: u64,
    /// Drops (stats only, when the driver counts them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsView>,
}

/// What `trap show` and friends include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Detail {
    /// Counters (`-s`).
    pub stats: bool,
    /// Metadata (`-v`).
    pub verbose: bool,
}

impl PolicerItem {
    pub(crate) fn view(&self, dropped: Option<u64>) -> PolicerView {
        PolicerView {
            policer: self.desc.id,
            rate: self.rate,
            burst: self.burst,
            stats: dropped.map(|d| StatsView {
                rx: RxView {
                    bytes: None,
                    packets: None,
                    dropped: Some(d),
                },
            }),
        }
    }
}

impl GroupItem {
    pub(crate) fn view(&self, _policers: &[PolicerItem], stats: bool) -> TrapGroupView {
        TrapGroupView {
            name: self.desc.name.to_string(),
            generic: self.desc.generic,
            policer: (self.policer != 0).then_some(self.policer),
            stats: stats.then(|| {
                let (p, b) = self.stats.read();
                StatsView {
                    rx: RxView {
                        bytes: Some(b),
                        packets: Some(p),
                        dropped: None,
                    },
                }
            }),
        }
    }
}

impl TrapItem {
    pub(crate) fn view(
        &self,
        groups: &[GroupItem],
        verbose: bool,
        stats: Option<Option<u64>>,
    ) -> TrapView {
        let group = groups
            .iter()
            .find(|g| g.desc.id == self.desc.init_group_id)
            .map(|g| g.desc.name.to_string())
            .unwrap_or_default();
        TrapView {
            name: self.desc.name.to_string(),
            ty: self.desc.ty,
            generic: self.desc.generic,
            action: self.action,
            group,
            metadata: verbose.then(|| self.desc.metadata.names()),
            stats: stats.map(|dropped| {
                let (p, b) = self.stats.read();
                StatsView {
                    rx: RxView {
                        bytes: Some(b),
                        packets: Some(p),
                        dropped,
                    },
                }
            }),
        }
    }
}

fn check_policer(p: &TrapPolicer) -> Result<()> {
    if p.id == 0 {
        return Err(Error::invalid(
            "policer id 0 is reserved for \"no policer\"",
        ));
    }
    if p.max_rate < p.min_rate {
        return Err(Error::invalid(format!(
            "policer {}: max rate {} below min rate {}",
            p.id, p.max_rate, p.min_rate
        )));
    }
    if p.max_burst < p.min_burst {
        return Err(Error::invalid(format!(
            "policer {}: max burst {} below min burst {}",
            p.id, p.max_burst, p.min_burst
        )));
    }
    check_rate(p, p.init_rate)?;
    check_burst(p, p.init_burst)
}

fn check_rate(p: &TrapPolicer, rate: u64) -> Result<()> {
    if rate < p.min_rate {
        return Err(Error::invalid(format!(
            "policer {}: rate {rate} lower than limit {}",
            p.id, p.min_rate
        )));
    }
    if rate > p.max_rate {
        return Err(Error::invalid(format!(
            "policer {}: rate {rate} higher than limit {}",
            p.id, p.max_rate
        )));
    }
    Ok(())
}

fn check_burst(p: &TrapPolicer, burst: u64) -> Result<()> {
    if burst < p.min_burst {
        return Err(Error::invalid(format!(
            "policer {}: burst {burst} lower than limit {}",
            p.id, p.min_burst
        )));
    }
    if burst > p.max_burst {
        return Err(Error::invalid(format!(
            "policer {}: burst {burst} higher than limit {}",
            p.id, p.max_burst
        )));
    }
    Ok(())
}

fn check_group(g: &TrapGroup) -> Result<()> {
    if g.name.is_empty() {
        return Err(Error::invalid(format!("trap group {} has no name", g.id)));
    }
    if g.generic {
        let expected = GENERIC_TRAP_GROUPS.get(usize::from(g.id));
        match expected {
            None => Err(Error::invalid(format!(
                "generic trap group id {} above the generic maximum",
                g.id
            ))),
            Some(n) if *n != g.name => Err(Error::invalid(format!(
                "generic trap group {} must be named {n:?}, not {:?}",
                g.id, g.name
            ))),
            Some(_) => Ok(()),
        }
    } else {
        if g.id <= GENERIC_TRAP_GROUP_ID_MAX {
            return Err(Error::invalid(format!(
                "driver trap group {:?}: id {} is in the generic range (0..={GENERIC_TRAP_GROUP_ID_MAX})",
                g.name, g.id
            )));
        }
        if generic_trap_group_id(&g.name).is_some() {
            return Err(Error::exists(format!(
                "driver trap group name {:?} is a generic name",
                g.name
            )));
        }
        Ok(())
    }
}

fn check_trap(t: &Trap) -> Result<()> {
    if t.name.is_empty() {
        return Err(Error::invalid(format!("trap {} has no name", t.id)));
    }
    if t.generic {
        match GENERIC_TRAPS.get(usize::from(t.id)) {
            None => Err(Error::invalid(format!(
                "generic trap id {} above the generic maximum",
                t.id
            ))),
            Some((n, _)) if *n != t.name => Err(Error::invalid(format!(
                "generic trap {} must be named {n:?}, not {:?}",
                t.id, t.name
            ))),
            Some((_, ty)) if *ty != t.ty => Err(Error::invalid(format!(
                "generic trap {:?} has type {}, not {}",
                t.name,
                ty.as_str(),
                t.ty.as_str()
            ))),
            Some(_) => Ok(()),
        }
    } else {
        if t.id <= GENERIC_TRAP_ID_MAX {
            return Err(Error::invalid(format!(
                "driver trap {:?}: id {} is in the generic range (0..={GENERIC_TRAP_ID_MAX})",
                t.name, t.id
            )));
        }
        if generic_trap_id(&t.name).is_some() {
            return Err(Error::exists(format!(
                "driver trap name {:?} is a generic name",
                t.name
            )));
        }
        Ok(())
    }
}

impl Objects {
    pub(crate) fn add_policer(&mut self, p: TrapPolicer) -> Result<()> {
        check_policer(&p)?;
        if self.policers.iter().any(|x| x.desc.id == p.id) {
            return Err(Error::exists(format!("trap policer {}", p.id)));
        }
        self.policers.push(PolicerItem {
            rate: p.init_rate,
            burst: p.init_burst,
            desc: p,
        });
        Ok(())
    }

    pub(crate) fn add_group(&mut self, g: TrapGroup) -> Result<()> {
        check_group(&g)?;
        if self.groups.iter().any(|x| x.desc.name == g.name) {
            return Err(Error::exists(format!("trap group {:?}", g.name)));
        }
        if self.groups.iter().any(|x| x.desc.id == g.id) {
            return Err(Error::exists(format!("trap group id {}", g.id)));
        }
        if g.init_policer_id != 0 && !self.policers.iter().any(|p| p.desc.id == g.init_policer_id) {
            return Err(Error::invalid(format!(
                "trap group {:?} refers to policer {} which is not registered (register policers first)",
                g.name, g.init_policer_id
            )));
        }
        self.groups.push(GroupItem {
            policer: g.init_policer_id,
            desc: g,
            stats: Arc::new(RxCounters::default()),
        });
        Ok(())
    }

    pub(crate) fn add_trap(&mut self, t: Trap, caps: Capabilities) -> Result<TrapReporter> {
        if !caps.contains(Capabilities::TRAP_ACTION_SET) {
            return Err(Error::invalid(
                "traps need the trap_action_set op (Capabilities::TRAP_ACTION_SET)",
            ));
        }
        check_trap(&t)?;
        if self.traps.iter().any(|x| x.desc.name == t.name) {
            return Err(Error::exists(format!("trap {:?}", t.name)));
        }
        if self.traps.iter().any(|x| x.desc.id == t.id) {
            return Err(Error::exists(format!("trap id {}", t.id)));
        }
        let group = self
            .groups
            .iter()
            .find(|g| g.desc.id == t.init_group_id)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "trap {:?} refers to group {} which is not registered (register groups first)",
                    t.name, t.init_group_id
                ))
            })?;
        let reporter = TrapReporter {
            id: t.id,
            name: std::sync::Arc::from(t.name.as_ref()),
            group_name: std::sync::Arc::from(group.desc.name.as_ref()),
            metadata: t.metadata,
            trap: Arc::new(RxCounters::default()),
            group: Arc::clone(&group.stats),
        };
        self.traps.push(TrapItem {
            action: t.init_action,
            stats: Arc::clone(&reporter.trap),
            desc: t,
        });
        Ok(reporter)
    }

    fn trap_index(&self, name: &str) -> Result<usize> {
        if self.traps.is_empty() {
            return Err(Error::not_supported("this device has no traps"));
        }
        self.traps
            .iter()
            .position(|t| t.desc.name == name)
            .ok_or_else(|| Error::not_found(format!("trap {name:?}")))
    }

    fn group_index(&self, name: &str) -> Result<usize> {
        if self.groups.is_empty() {
            return Err(Error::not_supported("this device has no trap groups"));
        }
        self.groups
            .iter()
            .position(|g| g.desc.name == name)
            .ok_or_else(|| Error::not_found(format!("trap group {name:?}")))
    }

    fn policer_index(&self, id: u32) -> Result<usize> {
        if self.policers.is_empty() {
            return Err(Error::not_supported("this device has no trap policers"));
        }
        self.policers
            .iter()
            .position(|p| p.desc.id == id)
            .ok_or_else(|| Error::not_found(format!("trap policer {id}")))
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    /// Adds a policer after registration (notifies `trap-policer new`).
    pub fn trap_policer_add(&mut self, p: TrapPolicer) -> Result<()> {
        let id = p.id;
        self.st.objs.add_policer(p)?;
        let i = self.st.objs.policer_index(id)?;
        let v = self.st.objs.policers[i].view(None);
        self.notify(Command::New, self.dev_key(), EventBody::TrapPolicer(v));
        Ok(())
    }

    /// Removes a policer. Refused with [`Error::Busy`] while a group is bound
    /// to it.
    pub fn trap_policer_remove(&mut self, id: u32) -> Result<()> {
        let i = self.st.objs.policer_index(id)?;
        if let Some(g) = self.st.objs.groups.iter().find(|g| g.policer == id) {
            return Err(Error::Busy(format!(
                "trap group {:?} is bound to policer {id}",
                g.desc.name
            )));
        }
        let item = self.st.objs.policers.remove(i);
        self.notify(
            Command::Del,
            self.dev_key(),
            EventBody::TrapPolicer(item.view(None)),
        );
        Ok(())
    }

    /// Adds a trap group after registration (notifies `trap-group new`).
    pub fn trap_group_add(&mut self, g: TrapGroup) -> Result<()> {
        let name = g.name.clone();
        self.st.objs.add_group(g)?;
        let i = self.st.objs.group_index(&name)?;
        let v = self.st.objs.groups[i].view(&self.st.objs.policers, false);
        self.notify(Command::New, self.dev_key(), EventBody::TrapGroup(v));
        Ok(())
    }

    /// Removes a trap group. Refused with [`Error::Busy`] while traps are in it.
    pub fn trap_group_remove(&mut self, name: &str) -> Result<()> {
        let i = self.st.objs.group_index(name)?;
        let id = self.st.objs.groups[i].desc.id;
        if let Some(t) = self
            .st
            .objs
            .traps
            .iter()
            .find(|t| t.desc.init_group_id == id)
        {
            return Err(Error::Busy(format!(
                "trap {:?} is in group {name:?}",
                t.desc.name
            )));
        }
        let item = self.st.objs.groups.remove(i);
        let v = item.view(&self.st.objs.policers, false);
        self.notify(Command::Del, self.dev_key(), EventBody::TrapGroup(v));
        Ok(())
    }

    /// Adds a trap after registration (notifies `trap new`) and returns its
    /// receive-path reporter.
    pub fn trap_add(&mut self, t: Trap) -> Result<TrapReporter> {
        let name = t.name.clone();
        let caps = self.st.caps;
        let r = self.st.objs.add_trap(t, caps)?;
        let i = self.st.objs.trap_index(&name)?;
        let v = self.st.objs.traps[i].view(&self.st.objs.groups, false, None);
        self.notify(Command::New, self.dev_key(), EventBody::Trap(v));
        Ok(r)
    }

    /// Removes a trap (notifies `trap del`). While the instance is
    /// registered the core first sets the trap to `drop` through the driver
    /// (`devlink_trap_disable`; a failure is logged, not fatal) so hardware
    /// stops sending packets to the CPU; after unregistration the driver
    /// must have done that itself. Late reports through its
    /// [`TrapReporter`] are harmless.
    pub fn trap_remove(&mut self, name: &str) -> Result<()> {
        let i = self.st.objs.trap_index(name)?;
        let id = self.st.objs.traps[i].desc.id;
        if self.st.registered {
            let ops = self.ops_for(Capabilities::TRAP_ACTION_SET, "trap_action_set")?;
            if let Err(e) = ops.trap_action_set(self, id, TrapAction::Drop) {
                tracing::warn!(dev = %self.inst.handle, trap = name, error = %e, "disabling trap before removal failed");
            }
        }
        let i = self.st.objs.trap_index(name)?;
        let item = self.st.objs.traps.remove(i);
        let v = item.view(&self.st.objs.groups, false, None);
        self.notify(Command::Del, self.dev_key(), EventBody::Trap(v));
        Ok(())
    }

    /// `devlink trap show`: every trap, in registration order.
    pub fn trap_show(&mut self, detail: Detail) -> Result<Vec<TrapView>> {
        if self.st.objs.traps.is_empty() {
            return Err(Error::not_supported("this device has no traps"));
        }
        let names: Vec<String> = self
            .st
            .objs
            .traps
            .iter()
            .map(|t| t.desc.name.to_string())
            .collect();
        names.iter().map(|n| self.trap_get(n, detail)).collect()
    }

    /// `devlink trap show DEV trap NAME`.
    pub fn trap_get(&mut self, name: &str, detail: Detail) -> Result<TrapView> {
        let i = self.st.objs.trap_index(name)?;
        let dropped = if detail.stats && self.st.caps.contains(Capabilities::TRAP_DROP_COUNTER) {
            let id = self.st.objs.traps[i].desc.id;
            let ops = self.ops_for(Capabilities::TRAP_DROP_COUNTER, "trap_drop_counter_get")?;
            Some(ops.trap_drop_counter_get(self, id)?)
        } else {
            None
        };
        // The driver may have changed the trap list from inside the op.
        let i = self.st.objs.trap_index(name)?;
        let stats = detail.stats.then_some(dropped);
        Ok(self.st.objs.traps[i].view(&self.st.objs.groups, detail.verbose, stats))
    }

    /// `devlink trap set DEV trap NAME action ACTION`. Only drop traps may
    /// change action; for the others a different action is skipped with the
    /// warning returned in `Ok(Some(..))`, as the kernel does.
    pub fn trap_set_action(&mut self, name: &str, action: TrapAction) -> Result<Option<String>> {
        let i = self.st.objs.trap_index(name)?;
        let (id, ty, cur) = {
            let t = &self.st.objs.traps[i];
            (t.desc.id, t.desc.ty, t.action)
        };
        if ty != TrapType::Drop {
            if action != cur {
                return Ok(Some(format!(
                    "cannot change action of non-drop trap {name:?}; skipping"
                )));
            }
            return Ok(None);
        }
        let ops = self.ops_for(Capabilities::TRAP_ACTION_SET, "trap_action_set")?;
        ops.trap_action_set(self, id, action)?;
        if let Some(t) = self.st.objs.traps.iter_mut().find(|t| t.desc.id == id) {
            t.action = action;
        }
        Ok(None)
    }

    /// `devlink trap group show`.
    pub fn trap_group_show(&mut self, detail: Detail) -> Result<Vec<TrapGroupView>> {
        if self.st.objs.groups.is_empty() {
            return Err(Error::not_supported("this device has no trap groups"));
        }
        let o = &self.st.objs;
        Ok(o.groups
            .iter()
            .map(|g| g.view(&o.policers, detail.stats))
            .collect())
    }

    /// `devlink trap group show DEV group NAME`.
    pub fn trap_group_get(&mut self, name: &str, detail: Detail) -> Result<TrapGroupView> {
        let i = self.st.objs.group_index(name)?;
        let o = &self.st.objs;
        Ok(o.groups[i].view(&o.policers, detail.stats))
    }

    /// `devlink trap group set DEV group NAME [action A] [policer P | nopolicer]`.
    /// `policer: Some(None)` unbinds. If the action was applied and the
    /// policer binding then fails, the error says that partial changes were
    /// committed.
    pub fn trap_group_set(
        &mut self,
        name: &str,
        action: Option<TrapAction>,
        policer: Option<Option<u32>>,
    ) -> Result<()> {
        let gi = self.st.objs.group_index(name)?;
        let gid = self.st.objs.groups[gi].desc.id;
        if let Some(Some(pid)) = policer {
            if pid == 0 || !self.st.objs.policers.iter().any(|p| p.desc.id == pid) {
                return Err(Error::not_found(format!("trap policer {pid}")));
            }
        }
        if policer.is_some() && !self.st.caps.contains(Capabilities::TRAP_GROUP_SET) {
            return Err(Error::not_supported("binding a trap group to a policer"));
        }
        if let Some(action) = action {
            self.group_action_set(gid, action)?;
        }
        if let Some(p) = policer {
            let ops = self.ops_for(Capabilities::TRAP_GROUP_SET, "trap_group_set")?;
            if let Err(e) = ops.trap_group_set(self, gid, p) {
                if action.is_some() {
                    let msg =
                        format!("trap group action was changed, but policer binding failed: {e}");
                    return Err(match e {
                        Error::NotSupported(_) => Error::NotSupported(msg),
                        Error::Busy(_) => Error::Busy(msg),
                        Error::NoDevice => Error::NoDevice,
                        _ => Error::Invalid(msg),
                    });
                }
                return Err(e);
            }
            if let Some(g) = self.st.objs.groups.iter_mut().find(|g| g.desc.id == gid) {
                g.policer = p.unwrap_or(0);
            }
        }
        Ok(())
    }

    fn group_action_set(&mut self, gid: TrapGroupId, action: TrapAction) -> Result<()> {
        let members: Vec<(TrapId, TrapType)> = self
            .st
            .objs
            .traps
            .iter()
            .filter(|t| t.desc.init_group_id == gid)
            .map(|t| (t.desc.id, t.desc.ty))
            .collect();
        if self.st.caps.contains(Capabilities::TRAP_GROUP_ACTION_SET) {
            let ops = self.ops_for(Capabilities::TRAP_GROUP_ACTION_SET, "trap_group_action_set")?;
            ops.trap_group_action_set(self, gid, action)?;
            for t in self.st.objs.traps.iter_mut() {
                if t.desc.init_group_id == gid && t.desc.ty == TrapType::Drop {
                    t.action = action;
                }
            }
            return Ok(());
        }
        for (id, ty) in members {
            if ty != TrapType::Drop {
                continue;
            }
            let ops = self.ops_for(Capabilities::TRAP_ACTION_SET, "trap_action_set")?;
            ops.trap_action_set(self, id, action)?;
            if let Some(t) = self.st.objs.traps.iter_mut().find(|t| t.desc.id == id) {
                t.action = action;
            }
        }
        Ok(())
    }

    /// `devlink trap policer show`.
    pub fn trap_policer_show(&mut self, detail: Detail) -> Result<Vec<PolicerView>> {
        if self.st.objs.policers.is_empty() {
            return Err(Error::not_supported("this device has no trap policers"));
        }
        let ids: Vec<u32> = self.st.objs.policers.iter().map(|p| p.desc.id).collect();
        ids.into_iter()
            .map(|id| self.trap_policer_get(id, detail))
            .collect()
    }

    /// `devlink trap policer show DEV policer ID`.
    pub fn trap_policer_get(&mut self, id: u32, detail: Detail) -> Result<PolicerView> {
        self.st.objs.policer_index(id)?;
        let dropped = if detail.stats && self.st.caps.contains(Capabilities::TRAP_POLICER_COUNTER) {
            let ops = self.ops_for(
                Capabilities::TRAP_POLICER_COUNTER,
                "trap_policer_counter_get",
            )?;
            Some(ops.trap_policer_counter_get(self, id)?)
        } else {
            None
        };
        let i = self.st.objs.policer_index(id)?;
        Ok(self.st.objs.policers[i].view(dropped))
    }

    /// `devlink trap policer set DEV policer ID [rate R] [burst B]`: an
    /// omitted value keeps the current one; each must be within the
    /// policer's limits.
    pub fn trap_policer_set(
        &mut self,
        id: u32,
        rate: Option<u64>,
        burst: Option<u64>,
    ) -> Result<()> {
        let i = self.st.objs.policer_index(id)?;
        let p = &self.st.objs.policers[i];
        let rate = rate.unwrap_or(p.rate);
        let burst = burst.unwrap_or(p.burst);
        check_rate(&p.desc, rate)?;
        check_burst(&p.desc, burst)?;
        let ops = self.ops_for(Capabilities::TRAP_POLICER_SET, "trap_policer_set")?;
        ops.trap_policer_set(self, id, rate, burst)?;
        if let Some(p) = self.st.objs.policers.iter_mut().find(|p| p.desc.id == id) {
            p.rate = rate;
            p.burst = burst;
        }
        Ok(())
    }
}
