//! Port registers: PAOS and PPCNT.
#![forbid(unsafe_code)]

use cxu_hal::ifc::eqe::{self, port_change, EventType};
use cxu_hal::ifc::regs::paos::{self, admin, oper, Paos};
use cxu_hal::ifc::regs::ppcnt::{self, group, Ppcnt};

use super::{RegAccess, Registers};
use crate::model::firmware::{syndrome, CmdError, Env, Firmware};

/// One physical port.
#[derive(Clone, Debug)]
pub struct Port {
    admin: u8,
    /// Whether the link partner is there (a test hook); oper is up when admin
    /// is up and the link is.
    link: bool,
    oper: u8,
    counters: [u64; ppcnt::COUNTER_SLOTS],
}

impl Default for Port {
    fn default() -> Self {
        Port {
            admin: admin::DOWN,
            link: true,
            oper: oper::DOWN,
            counters: [0; ppcnt::COUNTER_SLOTS],
        }
    }
}

/// What a test can see of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortState {
    /// PAOS admin_status (1 up, 2 down, 3 up once).
    pub admin: u8,
    /// PAOS oper_status (1 up, 2 down).
    pub oper: u8,
    /// Whether the test said the link partner is present.
    pub link: bool,
}

impl Port {
    /// PAOS `oper_status`.
    pub(crate) fn oper(&self) -> u8 {
        self.oper
    }
}

impl Registers {
    pub(crate) fn port_index(&self, local_port: u8) -> Result<usize, CmdError> {
        let i = usize::from(local_port).wrapping_sub(1);
        if i < self.ports.len() {
            Ok(i)
        } else {
            Err(CmdError::bad_param(syndrome::REG_BAD_INDEX))
        }
    }
}

impl Firmware {
    pub(super) fn paos(&mut self, env: &Env<'_>, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(paos::LEN)?;
        let req =
            Paos::decode(acc.data).map_err(|_| CmdError::bad_param(syndrome::REG_BAD_FIELD))?;
        let i = self.regs.port_index(req.local_port)?;
        if acc.write && req.ase {
            req.check_admin()
                .map_err(|_| CmdError::bad_param(syndrome::REG_BAD_FIELD))?;
            self.regs.ports[i].admin = req.admin_status;
            self.update_oper(env, i);
        }
        let p = &self.regs.ports[i];
        let out = Paos {
            local_port: req.local_port,
            admin_status: p.admin,
            oper_status: p.oper,
            ..Paos::default()
        };
        Ok(out.encode().map(|b| b.to_vec()).unwrap_or_default())
    }

    pub(super) fn ppcnt(&mut self, acc: &RegAccess<'_>) -> Result<Vec<u8>, CmdError> {
        acc.need(ppcnt::LEN)?;
        if acc.write {
            return Err(CmdError::bad_param(syndrome::REG_BAD_FIELD));
        }
        let req =
            Ppcnt::decode(acc.data).map_err(|_| CmdError::bad_param(syndrome::REG_BAD_FIELD))?;
        let i = self.regs.port_index(req.local_port)?;
        let port = &mut self.regs.ports[i];
        let counters = if req.grp == group::IEEE_802_3 {
            port.counters
        } else {
            [0; ppcnt::COUNTER_SLOTS]
        };
        if req.clr && req.grp == group::IEEE_802_3 {
            port.counters = [0; ppcnt::COUNTER_SLOTS];
        }
        let out = Ppcnt {
            counters,
            clr: false,
            ..req
        };
        Ok(out.encode().map(|b| b.to_vec()).unwrap_or_default())
    }

    /// Recomputes oper state of port index `i`; a change posts PORT_CHANGE.
    fn update_oper(&mut self, env: &Env<'_>, i: usize) {
        let p = &mut self.regs.ports[i];
        let up = matches!(p.admin, admin::UP | admin::UP_ONCE) && p.link;
        let new = if up { oper::UP } else { oper::DOWN };
        if new == p.oper {
            return;
        }
        p.oper = new;
        let sub = if up {
            port_change::ACTIVE
        } else {
            port_change::DOWN
        };
        let data = crate::model::event_data(&[(eqe::PORT_CHANGE_PORT, (i + 1) as u64)]);
        self.post_event(env, EventType::PORT_CHANGE, sub, data);
    }

    /// Test hook: the link partner of `port` (1-based) comes or goes.
    pub fn set_link(&mut self, env: &Env<'_>, port: u8, up: bool) -> bool {
        let Ok(i) = self.regs.port_index(port) else {
            return false;
        };
        self.regs.ports[i].link = up;
        self.update_oper(env, i);
        true
    }

    /// Test hook: adds `delta` to IEEE 802.3 counter `index` of `port`.
    pub fn add_port_counter(&mut self, port: u8, index: usize, delta: u64) -> bool {
        let Ok(i) = self.regs.port_index(port) else {
            return false;
        };
        match self.regs.ports[i].counters.get_mut(index) {
            Some(c) => {
                *c = c.wrapping_add(delta);
                true
            }
            None => false,
        }
    }

    /// The state of `port` (1-based).
    pub fn port_state(&self, port: u8) -> Option<PortState> {
        let i = self.regs.port_index(port).ok()?;
        let p = &self.regs.ports[i];
        Some(PortState {
            admin: p.admin,
            oper: p.oper,
            link: p.link,
        })
    }
}
