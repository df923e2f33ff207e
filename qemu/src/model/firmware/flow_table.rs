//! The NIC receive and transmit flow tables: CREATE/MODIFY/DESTROY_FLOW_TABLE,
//! CREATE/DESTROY_FLOW_GROUP, SET/DELETE_FLOW_TABLE_ENTRY and
//! SET_FLOW_TABLE_ROOT, as firmware keeps them:
//!
//! * a table has a type (NIC RX or TX; no e-switch, so `other_vport` and
//!   `vport_number` are 0), a level (at most `max_ft_level`), a size (at most
//!   `log_max_ft_size`) and a miss action (default, or another existing
//!   table of the same type at a deeper level);
//! * a group is a range of entry indexes inside its table, not overlapping
//!   another group, with its match criteria;
//! * an entry lies in its group's range, matches only on the group's
//!   criteria (a value bit outside the mask is BAD_PARAM), and allows, drops
//!   or forwards to existing TIRs or deeper tables of the same type (vport
//!   destinations, counters, header rewrites and encapsulation are
//!   BAD_PARAM: none is advertised);
//! * the root of each type is an existing table of that type (op_mod 1 resets
//!   it); destroying the root table leaves no root, as the kernel destroys its
//!   last table without moving the root.
//!
//! Firmware refuses to destroy what is still used (RES_BUSY): a table with
//! groups, or that another table misses to, or an entry forwards to; a group
//! with entries.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use cxu_hal::ifc::commands::flow_table::{
    self as f, dest, dest::dest_type, flow_ctx, flow_ctx::action, ft_ctx, ft_ctx::miss_action,
    modify_select, table_type,
};
use cxu_hal::ifc::Field;

use super::eth::Eth;
use super::objects::{bad_field, bad_reference, in_use, not_found, Objects};
use super::{syndrome, Cmd, CmdError, CmdResult};

/// `max_ft_level`.
pub const MAX_FT_LEVEL: u8 = 63;
/// `log_max_ft_size`.
pub const LOG_MAX_FT_SIZE: u8 = 20;
/// `log_max_ft_num`.
pub const LOG_MAX_FT_NUM: u8 = 10;
/// `log_max_flow` (entries of one table).
pub const LOG_MAX_FLOW: u8 = 20;
/// `log_max_destination`.
pub const LOG_MAX_DESTINATION: u8 = 6;
/// Groups that may exist at once.
const MAX_GROUPS: usize = 1 << 16;

/// A flow table.
#[derive(Clone, Debug)]
pub struct Table {
    /// NIC RX (0) or TX (1).
    pub ty: u8,
    /// Its level.
    pub level: u8,
    /// log2 of its entries.
    pub log_size: u8,
    /// The table it misses to, if not the default.
    pub miss: Option<u32>,
}

/// A flow group.
#[derive(Clone, Debug)]
pub struct Group {
    table: u32,
    start: u32,
    end: u32,
    pub(super) criteria: Vec<u8>,
}

/// Where an entry sends a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A TIR.
    Tir(u32),
    /// Another table.
    Table(u32),
}

/// A flow-table entry.
#[derive(Clone, Debug)]
pub struct Fte {
    /// Its group.
    pub group: u32,
    /// Destinations (forward).
    pub dests: Vec<Dest>,
    /// Its match value (`fte_match_param`), for receive steering.
    pub value: Vec<u8>,
    /// Its `action` bits.
    pub action: u64,
}

/// The flow-table state of the function.
#[derive(Clone, Debug)]
pub struct FlowTables {
    pub(crate) tables: Objects<Table>,
    pub(super) groups: Objects<Group>,
    /// Entries by (table, index).
    pub(super) ftes: BTreeMap<(u32, u32), Fte>,
    /// Root table of NIC RX and NIC TX.
    pub(super) roots: [Option<u32>; 2],
}

impl Default for FlowTables {
    fn default() -> Self {
        FlowTables {
            tables: Objects::new(1 << LOG_MAX_FT_NUM, 0xFF_FFFF),
            groups: Objects::new(MAX_GROUPS, 0xFF_FFFF),
            ftes: BTreeMap::new(),
            roots: [None; 2],
        }
    }
}

/// What a test can see of the flow tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowInfo {
    /// Live tables: (id, type, level).
    pub tables: Vec<(u32, u8, u8)>,
    /// Live groups.
    pub groups: usize,
    /// Live entries.
    pub entries: usize,
    /// The NIC RX root table.
    pub rx_root: Option<u32>,
}

fn get(cmd: &Cmd<'_>, fl: Field) -> u64 {
    cmd.get(fl)
}

impl FlowTables {
    /// Whether an entry forwards to TIR `n`.
    pub fn forwards_to_tir(&self, n: u32) -> bool {
        self.ftes.values().any(|e| e.dests.contains(&Dest::Tir(n)))
    }

    /// Snapshot.
    pub fn info(&self) -> FlowInfo {
        FlowInfo {
            tables: self
                .tables
                .iter()
                .map(|(n, t)| (n, t.ty, t.level))
                .collect(),
            groups: self.groups.len(),
            entries: self.ftes.len(),
            rx_root: self.roots[0],
        }
    }

    /// The type of the addressed table (checked), for every command.
    fn table_type(cmd: &Cmd<'_>) -> Result<u8, CmdError> {
        if get(cmd, f::OTHER_VPORT) != 0 || get(cmd, f::VPORT_NUMBER) != 0 {
            return Err(CmdError::bad_param(syndrome::VPORT_NOT_MANAGED));
        }
        match get(cmd, f::TABLE_TYPE) {
            t @ (table_type::NIC_RX | table_type::NIC_TX) => Ok(t as u8),
            _ => Err(CmdError::bad_param(syndrome::BAD_TABLE_TYPE)),
        }
    }

    /// The addressed table, which must exist with the addressed type.
    fn table(&self, cmd: &Cmd<'_>) -> Result<(u32, &Table), CmdError> {
        let ty = Self::table_type(cmd)?;
        let id = get(cmd, f::TABLE_ID) as u32;
        match self.tables.get(id) {
            Some(t) if t.ty == ty => Ok((id, t)),
            _ => Err(not_found()),
        }
    }

    /// Checks a miss target for a table of `ty` at `level`.
    fn miss_target(&self, ctx: &[u8], ty: u8, level: u8) -> Result<Option<u32>, CmdError> {
        let c = |fl: Field| fl.get(ctx).unwrap_or(0);
        match c(ft_ctx::TABLE_MISS_ACTION) {
            miss_action::DEFAULT => Ok(None),
            miss_action::FWD => {
                let id = c(ft_ctx::TABLE_MISS_ID) as u32;
                match self.tables.get(id) {
                    Some(t) if t.ty == ty && t.level > level => Ok(Some(id)),
                    _ => Err(bad_reference()),
                }
            }
            _ => Err(bad_field()),
        }
    }

    fn create_table(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let ty = Self::table_type(cmd)?;
        let ctx = &cmd.input[f::FT_CTX_OFFSET..f::FLOW_TABLE_IN_SIZE];
        let c = |fl: Field| fl.get(ctx).unwrap_or(0);
        if c(ft_ctx::FEATURE_BITS) != 0 {
            return Err(bad_field());
        }
        let level = c(ft_ctx::LEVEL);
        let log_size = c(ft_ctx::LOG_SIZE);
        if level > u64::from(MAX_FT_LEVEL) || log_size > u64::from(LOG_MAX_FT_SIZE) {
            return Err(CmdError::bad_param(syndrome::BAD_SIZE));
        }
        let miss = self.miss_target(ctx, ty, level as u8)?;
        let id = self.tables.insert(Table {
            ty,
            level: level as u8,
            log_size: log_size as u8,
            miss,
        })?;
        let out = cmd.out_len(16);
        let _ = f::CREATED_TABLE_ID.set(out, u64::from(id));
        Ok(())
    }

    fn modify_table(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let (id, t) = self.table(cmd)?;
        let (ty, level) = (t.ty, t.level);
        let select = get(cmd, f::MODIFY_FIELD_SELECT);
        if select & !modify_select::MISS_TABLE_ID != 0 {
            return Err(bad_field());
        }
        if select & modify_select::MISS_TABLE_ID != 0 {
            let ctx = &cmd.input[f::FT_CTX_OFFSET..f::FLOW_TABLE_IN_SIZE];
            let miss = self.miss_target(ctx, ty, level)?;
            self.tables.get_mut(id)?.miss = miss;
        }
        cmd.out_len(16);
        Ok(())
    }

    fn destroy_table(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let (id, t) = self.table(cmd)?;
        let ty = usize::from(t.ty);
        let used = self.groups.iter().any(|(_, g)| g.table == id)
            || self.tables.iter().any(|(_, t)| t.miss == Some(id))
            || self
                .ftes
                .values()
                .any(|e| e.dests.contains(&Dest::Table(id)));
        if used {
            return Err(in_use());
        }
        self.tables.remove(id)?;
        if self.roots[ty] == Some(id) {
            self.roots[ty] = None;
        }
        cmd.out_len(16);
        Ok(())
    }

    fn create_group(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let (table, t) = self.table(cmd)?;
        let size = 1u64 << t.log_size;
        if get(cmd, f::GROUP_TYPE) != 0 {
            return Err(bad_field());
        }
        let (start, end) = (get(cmd, f::START_FLOW_INDEX), get(cmd, f::END_FLOW_INDEX));
        if start > end || end >= size {
            return Err(CmdError::bad_param(syndrome::BAD_SIZE));
        }
        let (start, end) = (start as u32, end as u32);
        let overlap = self
            .groups
            .iter()
            .any(|(_, g)| g.table == table && g.start <= end && start <= g.end);
        if overlap {
            return Err(CmdError::bad_param(syndrome::GROUP_OVERLAP));
        }
        let at = f::MATCH_CRITERIA_OFFSET;
        let criteria = cmd.input[at..at + f::MATCH_PARAM_SIZE].to_vec();
        let id = self.groups.insert(Group {
            table,
            start,
            end,
            criteria,
        })?;
        let out = cmd.out_len(16);
        let _ = f::CREATED_GROUP_ID.set(out, u64::from(id));
        Ok(())
    }

    fn destroy_group(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let (table, _) = self.table(cmd)?;
        let id = get(cmd, f::GROUP_ID) as u32;
        match self.groups.get(id) {
            Some(g) if g.table == table => {}
            _ => return Err(not_found()),
        }
        if self.ftes.values().any(|e| e.group == id) {
            return Err(in_use());
        }
        self.groups.remove(id)?;
        cmd.out_len(16);
        Ok(())
    }

    fn set_fte(&mut self, cmd: &mut Cmd<'_>, tir_exists: &dyn Fn(u32) -> bool) -> CmdResult {
        let (table, t) = self.table(cmd)?;
        let (ty, level) = (t.ty, t.level);
        let index = get(cmd, f::FLOW_INDEX) as u32;
        let modify = match cmd.op_mod {
            0 => false,
            1 => true,
            _ => return Err(CmdError::bad_param(syndrome::BAD_OP_MOD)),
        };
        let exists = self.ftes.contains_key(&(table, index));
        if modify != exists {
            return Err(if modify {
                not_found()
            } else {
                CmdError::bad_param(syndrome::FTE_OUTSIDE_GROUP)
            });
        }
        let ctx = &cmd.input[f::FLOW_CTX_OFFSET..];
        let c = |fl: Field| fl.get(ctx).unwrap_or(0);
        let group = c(flow_ctx::GROUP_ID) as u32;
        let g = match self.groups.get(group) {
            Some(g) if g.table == table => g,
            _ => return Err(bad_reference()),
        };
        if index < g.start || index > g.end || index >= 1 << LOG_MAX_FLOW {
            return Err(CmdError::bad_param(syndrome::FTE_OUTSIDE_GROUP));
        }
        let at = flow_ctx::MATCH_VALUE_OFFSET;
        let value = &ctx[at..at + f::MATCH_PARAM_SIZE];
        if value.iter().zip(&g.criteria).any(|(v, m)| v & !m != 0) {
            return Err(CmdError::bad_param(syndrome::FTE_OUTSIDE_GROUP));
        }
        let act = c(flow_ctx::ACTION);
        if act & !(action::ALLOW | action::DROP | action::FWD_DEST) != 0
            || c(flow_ctx::FLOW_COUNTER_LIST_SIZE) != 0
            || c(flow_ctx::EXTENDED_DESTINATION) != 0
        {
            return Err(bad_field());
        }
        let n = c(flow_ctx::DESTINATION_LIST_SIZE) as usize;
        if (act & action::FWD_DEST != 0) != (n > 0) || n > 1 << LOG_MAX_DESTINATION {
            return Err(bad_field());
        }
        let at = flow_ctx::DESTINATION_OFFSET;
        let Some(raw) = ctx.get(at..at + n * f::DEST_SIZE) else {
            return Err(CmdError::new(
                cxu_hal::ifc::CmdStatus::BAD_INP_LEN_ERR,
                syndrome::BAD_INPUT_LEN,
            ));
        };
        let mut dests = Vec::with_capacity(n);
        for d in raw.chunks_exact(f::DEST_SIZE) {
            let id = dest::DESTINATION_ID.get(d).unwrap_or(0) as u32;
            let ok = match dest::DESTINATION_TYPE.get(d).unwrap_or(u64::MAX) {
                dest_type::TIR if ty == table_type::NIC_RX as u8 && tir_exists(id) => Dest::Tir(id),
                dest_type::FLOW_TABLE => match self.tables.get(id) {
                    Some(t) if t.ty == ty && t.level > level => Dest::Table(id),
                    _ => return Err(bad_reference()),
                },
                dest_type::TIR => return Err(bad_reference()),
                _ => return Err(bad_field()),
            };
            dests.push(ok);
        }
        let value = value.to_vec();
        self.ftes.insert(
            (table, index),
            Fte {
                group,
                dests,
                value,
                action: act,
            },
        );
        cmd.out_len(16);
        Ok(())
    }

    fn delete_fte(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        let (table, _) = self.table(cmd)?;
        let index = get(cmd, f::FLOW_INDEX) as u32;
        self.ftes.remove(&(table, index)).ok_or_else(not_found)?;
        cmd.out_len(16);
        Ok(())
    }

    fn set_root(&mut self, cmd: &mut Cmd<'_>) -> CmdResult {
        if get(cmd, f::UNDERLAY_QPN) != 0 || get(cmd, f::TABLE_OF_OTHER_VPORT) != 0 {
            return Err(bad_field());
        }
        match cmd.op_mod {
            0 => {
                let (id, t) = self.table(cmd)?;
                self.roots[usize::from(t.ty)] = Some(id);
            }
            f::ROOT_OP_MOD_RESET => {
                let ty = Self::table_type(cmd)?;
                self.roots[usize::from(ty)] = None;
            }
            _ => return Err(CmdError::bad_param(syndrome::BAD_OP_MOD)),
        }
        cmd.out_len(16);
        Ok(())
    }
}

impl Eth {
    pub(super) fn flow_command(
        &mut self,
        op: cxu_hal::ifc::Opcode,
        cmd: &mut Cmd<'_>,
    ) -> Option<CmdResult> {
        use cxu_hal::ifc::Opcode as O;
        let tirs = &self.tirs;
        let fl = &mut self.flow;
        Some(match op {
            O::CREATE_FLOW_TABLE => fl.create_table(cmd),
            O::MODIFY_FLOW_TABLE => fl.modify_table(cmd),
            O::DESTROY_FLOW_TABLE => fl.destroy_table(cmd),
            O::CREATE_FLOW_GROUP => fl.create_group(cmd),
            O::DESTROY_FLOW_GROUP => fl.destroy_group(cmd),
            O::SET_FLOW_TABLE_ENTRY => fl.set_fte(cmd, &|n| tirs.contains(n)),
            O::DELETE_FLOW_TABLE_ENTRY => fl.delete_fte(cmd),
            O::SET_FLOW_TABLE_ROOT => fl.set_root(cmd),
            _ => return None,
        })
    }
}
