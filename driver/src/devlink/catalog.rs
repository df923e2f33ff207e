//! The traps and trap groups the driver knows, with their hardware ids.
//!
//! A generic trap's hardware id (HPKT `trap_id`) is its devlink id; the
//! driver's own traps use ids above the generic table. Trap group hardware
//! ids (HTGT/HPKT `trap_group`) are the table index, so a device reporting
//! `n` trap groups gets the first `n` groups and the traps that fall in them.

use devlink_core::trap::{generic_trap_group_id, generic_trap_id, GENERIC_TRAP_ID_MAX};
use devlink_core::{Trap, TrapAction, TrapGroupId, TrapId, TrapType};

/// One trap group.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    /// Generic group name.
    pub name: &'static str,
}

/// One trap.
#[derive(Debug, Clone, Copy)]
pub struct TrapDef {
    /// Name (generic or driver-specific).
    pub name: &'static str,
    /// Driver-specific: its type (generic traps take theirs from the table).
    pub driver_type: Option<TrapType>,
    /// Action at registration.
    pub action: TrapAction,
    /// Index into [`GROUPS`].
    pub group: usize,
}

/// Trap groups, in hardware-id order.
pub const GROUPS: &[GroupDef] = &[
    GroupDef { name: "l2_drops" },
    GroupDef { name: "l3_drops" },
    GroupDef {
        name: "l3_exceptions",
    },
    GroupDef {
        name: "buffer_drops",
    },
    GroupDef { name: "stp" },
    GroupDef { name: "lacp" },
    GroupDef { name: "lldp" },
];

/// Traps.
pub const TRAPS: &[TrapDef] = &[
    TrapDef {
        name: "source_mac_is_multicast",
        driver_type: None,
        action: TrapAction::Drop,
        group: 0,
    },
    TrapDef {
        name: "vlan_tag_mismatch",
        driver_type: None,
        action: TrapAction::Drop,
        group: 0,
    },
    TrapDef {
        name: "ingress_vlan_filter",
        driver_type: None,
        action: TrapAction::Drop,
        group: 0,
    },
    TrapDef {
        name: "blackhole_route",
        driver_type: None,
        action: TrapAction::Drop,
        group: 1,
    },
    TrapDef {
        name: "ttl_value_is_too_small",
        driver_type: None,
        action: TrapAction::Trap,
        group: 2,
    },
    TrapDef {
        name: "tail_drop",
        driver_type: None,
        action: TrapAction::Drop,
        group: 3,
    },
    TrapDef {
        name: "rx_ring_overflow",
        driver_type: Some(TrapType::Drop),
        action: TrapAction::Drop,
        group: 3,
    },
    TrapDef {
        name: "stp",
        driver_type: None,
        action: TrapAction::Trap,
        group: 4,
    },
    TrapDef {
        name: "lacp",
        driver_type: None,
        action: TrapAction::Trap,
        group: 5,
    },
    TrapDef {
        name: "lldp",
        driver_type: None,
        action: TrapAction::Trap,
        group: 6,
    },
];

/// The devlink id of group `i` of [`GROUPS`] (all are generic).
pub fn group_id(i: usize) -> Option<TrapGroupId> {
    generic_trap_group_id(GROUPS.get(i)?.name)
}

/// The hardware group of a devlink group id.
pub fn group_hw(id: TrapGroupId) -> Option<u8> {
    let i = GROUPS
        .iter()
        .position(|g| generic_trap_group_id(g.name) == Some(id))?;
    u8::try_from(i).ok()
}

/// The devlink id of trap `i` of [`TRAPS`]: its generic id, or for the
/// driver's own traps an id above the generic table in table order.
pub fn trap_id(i: usize) -> Option<TrapId> {
    let t = TRAPS.get(i)?;
    match t.driver_type {
        None => generic_trap_id(t.name),
        Some(_) => {
            let nth = TRAPS[..i]
                .iter()
                .filter(|t| t.driver_type.is_some())
                .count();
            GENERIC_TRAP_ID_MAX.checked_add(1 + u16::try_from(nth).ok()?)
        }
    }
}

/// The hardware trap id (HPKT `trap_id`) of a devlink trap id.
pub fn trap_hw(id: TrapId) -> u16 {
    id
}

/// The hardware group of the trap with devlink id `id`.
pub fn trap_group_hw(id: TrapId) -> Option<u8> {
    let i = (0..TRAPS.len()).find(|&i| trap_id(i) == Some(id))?;
    u8::try_from(TRAPS[i].group).ok()
}

/// The devlink trap for entry `i`, or `None` if the table is inconsistent.
pub fn trap(i: usize) -> Option<Trap> {
    let t = TRAPS.get(i)?;
    let id = trap_id(i)?;
    let group = group_id(t.group)?;
    Some(match t.driver_type {
        None => Trap::generic(id, t.action, group),
        Some(ty) => Trap::driver(id, t.name, ty, t.action, group),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_resolves_and_fits_the_hardware_fields() {
        for i in 0..GROUPS.len() {
            let id = group_id(i).expect("generic group");
            assert_eq!(group_hw(id), Some(i as u8));
        }
        for (i, def) in TRAPS.iter().enumerate() {
            let t = trap(i).expect("trap");
            assert!(trap_hw(t.id) < 1 << 10, "HPKT trap_id is 10 bits");
            assert_eq!(trap_group_hw(t.id), Some(def.group as u8));
        }
        assert!(GROUPS.len() < 1 << 6, "HPKT trap_group is 6 bits");
        assert_eq!(trap_id(6), Some(GENERIC_TRAP_ID_MAX + 1));
    }
}
