//! Trap registers: HTGT (trap groups), HPKT (per-trap action and group) and
//! QPCR (policers with their drop counter).
//!
//! Order is enforced as on the hardware the layouts come from: a trap group's
//! policer must exist before HTGT binds it, and a trap's group must be
//! configured before HPKT puts a trap in it. A read of something never
//! written returns the register with only its index filled in.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use cxu_hal::ifc::regs::hpkt::{self, Hpkt};
use cxu_hal::ifc::regs::htgt::{self, Htgt};
use cxu_hal::ifc::regs::qpcr::{self, limits, Qpcr};

use super::{FwFeatures, RegAccess};
use crate::model::firmware::{syndrome, CmdError};
use crate::model::profile::Profile;

/// Trap configuration.
#[derive(Clone)]
pub struct Traps {
    /// What the running firmware supports (the profile's, or an activated
    /// image's).
    features: FwFeatures,
    max_policers: u16,
    max_groups: u8,
    groups: BTreeMap<u8, Htgt>,
    traps: BTreeMap<u16, Hpkt>,
    policers: BTreeMap<u16, Qpcr>,
}

fn bad_field() -> CmdError {
    CmdError::bad_param(syndrome::REG_BAD_FIELD)
}

fn bad_index() -> CmdError {
    CmdError::bad_param(syndrome::REG_BAD_INDEX)
}

impl Traps {
    /// No groups, traps or policers configured.
    pub fn new(p: &Profile) -> Self {
        Self::with_features(p, FwFeatures::of(p))
    }

    /// No groups, traps or policers configured, for firmware with `f`.
    pub fn with_features(p: &Profile, f: FwFeatures) -> Self {
        Traps {
            features: f,
            max_policers: if f.policers {
                u16::from(p.max_policers)
            } else {
                0
            },
            max_groups: if f.traps { p.max_trap_groups } else { 0 },
            groups: BTreeMap::new(),
            traps: BTreeMap::new(),
            policers: BTreeMap::new(),
        }
    }

    /// What the running firmware supports.
    pub fn features(&self) -> FwFeatures {
        self.features
    }

    pub(super) fn htgt(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(htgt::LEN)?;
        let req = Htgt::decode(acc.data).map_err(|_| bad_field())?;
        if req.trap_group >= self.max_groups {
            return Err(bad_index());
        }
        if acc.write {
            if req.policer_enabled && !self.policers.contains_key(&u16::from(req.pid)) {
                return Err(bad_index());
            }
            self.groups.insert(req.trap_group, req);
        }
        let cur = self.groups.get(&req.trap_group).copied().unwrap_or(Htgt {
            trap_group: req.trap_group,
            ..Htgt::default()
        });
        cur.encode().map(|b| b.to_vec()).map_err(|_| bad_field())
    }

    pub(super) fn hpkt(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(hpkt::LEN)?;
        let trap_id = hpkt::TRAP_ID.get(acc.data).map_err(|_| bad_field())? as u16;
        if acc.write {
            let req = Hpkt::decode(acc.data).map_err(|_| bad_field())?;
            if !self.groups.contains_key(&req.trap_group) {
                return Err(bad_index());
            }
            self.traps.insert(trap_id, req);
        }
        match self.traps.get(&trap_id) {
            Some(t) => t.encode().map(|b| b.to_vec()).map_err(|_| bad_field()),
            None => {
                let mut b = vec![0u8; hpkt::LEN];
                let _ = hpkt::TRAP_ID.set(&mut b, u64::from(trap_id));
                Ok(b)
            }
        }
    }

    pub(super) fn qpcr(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(qpcr::LEN)?;
        let req = Qpcr::decode(acc.data).map_err(|_| bad_field())?;
        if req.pid >= self.max_policers {
            return Err(bad_index());
        }
        if acc.write {
            if req.g != qpcr::scope::GLOBAL
                || !(limits::LOWEST_CIR..=limits::HIGHEST_CIR).contains(&req.cir)
                || !(limits::LOWEST_CBS..=limits::HIGHEST_CBS).contains(&req.cbs)
                || !matches!(
                    req.rate_type,
                    qpcr::rate_type::SINGLE | qpcr::rate_type::DOUBLE
                )
                || !matches!(
                    req.violate_action,
                    qpcr::action::DISCARD | qpcr::action::FORWARD
                )
            {
                return Err(bad_field());
            }
            let drops = self.policers.get(&req.pid).map_or(0, |p| p.violate_count);
            self.policers.insert(
                req.pid,
                Qpcr {
                    clear_counter: false,
                    violate_count: drops,
                    ..req
                },
            );
        }
        let entry = self.policers.get_mut(&req.pid);
        let out = match entry {
            Some(p) => {
                let snapshot = *p;
                if req.clear_counter {
                    p.violate_count = 0;
                }
                snapshot
            }
            None => Qpcr {
                pid: req.pid,
                ..Qpcr::default()
            },
        };
        out.encode().map(|b| b.to_vec()).map_err(|_| bad_field())
    }

    /// The trap `id`'s configuration.
    pub fn trap(&self, id: u16) -> Option<Hpkt> {
        self.traps.get(&id).copied()
    }

    /// Trap group `g`'s configuration.
    pub fn group(&self, g: u8) -> Option<Htgt> {
        self.groups.get(&g).copied()
    }

    /// Policer `pid`'s configuration and drop counter.
    pub fn policer(&self, pid: u16) -> Option<Qpcr> {
        self.policers.get(&pid).copied()
    }

    /// Test hook: the policer dropped `n` more packets.
    pub fn add_policer_drops(&mut self, pid: u16, n: u64) -> bool {
        match self.policers.get_mut(&pid) {
            Some(p) => {
                p.violate_count = p.violate_count.wrapping_add(n);
                true
            }
            None => false,
        }
    }
}
