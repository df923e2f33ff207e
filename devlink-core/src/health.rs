//! Health reporters (reference §7, net/devlink/health.c): error reports,
//! grace and burst periods against recover loops, automatic dump and
//! recovery, user-driven diagnose / dump / recover / test.
//!
//! [`crate::Instance::health_report`] is what the driver calls from its
//! error paths without holding the lock; [`InstanceGuard::health_report`]
//! is the same with the lock already held (e.g. from inside `health_test`).

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::{Instance, InstanceGuard, Objects};
use crate::json::date_time_utc;
use crate::notify::{Command, EventBody};
use crate::ops::Capabilities;

bitflags::bitflags! {
    /// Which health ops a reporter has (the kernel's per-reporter ops table).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ReporterCaps: u8 {
        /// `recover`.
        const RECOVER = 1 << 0;
        /// `dump`.
        const DUMP = 1 << 1;
        /// `diagnose`.
        const DIAGNOSE = 1 << 2;
        /// `test`.
        const TEST = 1 << 3;
    }
}

/// A health reporter as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    /// Name, unique per instance (or per port for port reporters).
    pub name: Cow<'static, str>,
    /// The port it belongs to, for port reporters.
    pub port: Option<u32>,
    /// Ops it has.
    pub caps: ReporterCaps,
    /// Default grace period after a recovery during which a new error is
    /// not auto-recovered (ms; needs `RECOVER`).
    pub graceful_period_ms: u64,
    /// Window after a recovery in which further errors are still recovered
    /// (ms; needs a grace period).
    pub burst_period_ms: u64,
}

impl Reporter {
    /// An instance-wide reporter.
    pub fn new(name: impl Into<Cow<'static, str>>, caps: ReporterCaps) -> Self {
        Reporter {
            name: name.into(),
            port: None,
            caps,
            graceful_period_ms: 0,
            burst_period_ms: 0,
        }
    }

    /// Belonging to a port.
    pub fn on_port(mut self, port: u32) -> Self {
        self.port = Some(port);
        self
    }

    /// With grace and burst periods (ms).
    pub fn periods(mut self, graceful_ms: u64, burst_ms: u64) -> Self {
        self.graceful_period_ms = graceful_ms;
        self.burst_period_ms = burst_ms;
        self
    }
}

/// `devlink_health_reporter_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// No unrecovered error.
    Healthy,
    /// An error was reported and not (yet) recovered.
    Error,
}

/// A value in a formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmsgValue {
    /// Flag.
    Bool(bool),
    /// u8.
    U8(u8),
    /// u32.
    U32(u32),
    /// u64.
    U64(u64),
    /// String.
    String(String),
    /// Bytes (printed as an array of numbers).
    Binary(Vec<u8>),
}

impl Serialize for FmsgValue {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            FmsgValue::Bool(v) => s.serialize_bool(*v),
            FmsgValue::U8(v) => s.serialize_u8(*v),
            FmsgValue::U32(v) => s.serialize_u32(*v),
            FmsgValue::U64(v) => s.serialize_u64(*v),
            FmsgValue::String(v) => s.serialize_str(v),
            FmsgValue::Binary(v) => s.collect_seq(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FmsgNode {
    Value(FmsgValue),
    Object(Vec<(String, FmsgNode)>),
    Array(Vec<FmsgNode>),
}

impl Serialize for FmsgNode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            FmsgNode::Value(v) => v.serialize(s),
            FmsgNode::Object(items) => s.collect_map(items.iter().map(|(k, v)| (k, v))),
            FmsgNode::Array(items) => s.collect_seq(items),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    Object {
        name: Option<String>,
        items: Vec<(String, FmsgNode)>,
    },
    Array {
        name: String,
        items: Vec<FmsgNode>,
    },
}

/// A formatted message (`devlink_fmsg`): the tree of named values, objects
/// and arrays a driver fills for diagnose and dump. The first misuse (a
/// value where a name is needed, an unbalanced end) is latched and
/// reported when the message is finished. Serializes as iproute2 prints
/// `devlink health diagnose -j`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmsg {
    stack: Vec<Frame>,
    error: Option<String>,
}

impl Default for Fmsg {
    fn default() -> Self {
        Fmsg::new()
    }
}

impl Fmsg {
    /// An empty message.
    pub fn new() -> Self {
        Fmsg {
            stack: vec![Frame::Object {
                name: None,
                items: Vec::new(),
            }],
            error: None,
        }
    }

    fn latch(&mut self, what: &str) {
        if self.error.is_none() {
            self.error = Some(what.to_string());
        }
    }

    /// A named value in the current object.
    pub fn pair(&mut self, name: &str, value: FmsgValue) -> &mut Self {
        match self.stack.last_mut() {
            Some(Frame::Object { items, .. }) => {
                items.push((name.to_string(), FmsgNode::Value(value)))
            }
            _ => self.latch("pair outside an object"),
        }
        self
    }

    /// A value in the current array.
    pub fn value(&mut self, value: FmsgValue) -> &mut Self {
        match self.stack.last_mut() {
            Some(Frame::Array { items, .. }) => items.push(FmsgNode::Value(value)),
            _ => self.latch("unnamed value outside an array"),
        }
        self
    }

    /// Opens a named object inside the current object, or (with the name
    /// ignored) an element object inside the current array.
    pub fn obj_start(&mut self, name: &str) -> &mut Self {
        let in_array = matches!(self.stack.last(), Some(Frame::Array { .. }));
        self.stack.push(Frame::Object {
            name: (!in_array).then(|| name.to_string()),
            items: Vec::new(),
        });
        self
    }

    /// Opens a named array inside the current object.
    pub fn arr_start(&mut self, name: &str) -> &mut Self {
        if !matches!(self.stack.last(), Some(Frame::Object { .. })) {
            self.latch("array directly inside an array");
        }
        self.stack.push(Frame::Array {
            name: name.to_string(),
            items: Vec::new(),
        });
        self
    }

    /// Closes the innermost object or array.
    pub fn end(&mut self) -> &mut Self {
        if self.stack.len() <= 1 {
            self.latch("end without a matching start");
            return self;
        }
        let Some(frame) = self.stack.pop() else {
            return self;
        };
        let (name, node) = match frame {
            Frame::Object { name, items } => (name, FmsgNode::Object(items)),
            Frame::Array { name, items } => (Some(name), FmsgNode::Array(items)),
        };
        match (self.stack.last_mut(), name) {
            (Some(Frame::Object { items, .. }), Some(n)) => items.push((n, node)),
            (Some(Frame::Array { items, .. }), _) => items.push(node),
            _ => self.latch("unnamed object inside an object"),
        }
        self
    }

    /// Checks the message is complete and well formed.
    pub fn finish(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(Error::invalid(format!("malformed health message: {e}")));
        }
        if self.stack.len() != 1 {
            return Err(Error::invalid(
                "malformed health message: unclosed object or array",
            ));
        }
        Ok(())
    }

    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        crate::json::to_string(self)
    }
}

impl Serialize for Fmsg {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.stack.first() {
            Some(Frame::Object { items, .. }) => {
                let mut m = s.serialize_map(Some(items.len()))?;
                for (k, v) in items {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            _ => s.serialize_map(Some(0))?.end(),
        }
    }
}

#[derive(Debug, Clone)]
struct StoredDump {
    fmsg: Fmsg,
    ts_ns: u64,
}

pub(crate) struct ReporterItem {
    desc: Reporter,
    state: HealthState,
    error_count: u64,
    recovery_count: u64,
    graceful_period: u64,
    burst_period: u64,
    auto_recover: bool,
    auto_dump: bool,
    last_recovery_ms: Option<u64>,
    dump: Option<StoredDump>,
}

impl ReporterItem {
    pub(crate) fn port(&self) -> Option<u32> {
        self.desc.port
    }

    fn view(&self) -> HealthView {
        let recover = self.desc.caps.contains(ReporterCaps::RECOVER);
        let dump = self.desc.caps.contains(ReporterCaps::DUMP);
        let (date, time) = match &self.dump {
            Some(d) => {
                let (a, b) = date_time_utc(d.ts_ns);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        HealthView {
            reporter: self.desc.name.to_string(),
            state: self.state,
            error: self.error_count,
            recover: self.recovery_count,
            last_dump_date: date,
            last_dump_time: time,
            grace_period: recover.then_some(self.graceful_period),
            burst_period: recover.then_some(self.burst_period),
            auto_recover: recover.then_some(self.auto_recover),
            auto_dump: dump.then_some(self.auto_dump),
        }
    }
}

/// One entry of `devlink health show -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthView {
    /// Name.
    pub reporter: String,
    /// State.
    pub state: HealthState,
    /// Errors reported.
    pub error: u64,
    /// Successful recoveries.
    pub recover: u64,
    /// Date of the stored dump (UTC; iproute2 prints local time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_dump_date: Option<String>,
    /// Time of the stored dump (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_dump_time: Option<String>,
    /// Grace period, ms (reporters that recover).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<u64>,
    /// Burst period, ms (reporters that recover).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_period: Option<u64>,
    /// Auto-recover (reporters that recover).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_recover: Option<bool>,
    /// Auto-dump (reporters that dump).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_dump: Option<bool>,
}

/// Attributes of `devlink health set`; `None` leaves one unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthSet {
    /// Grace period, ms (0 also clears the burst period).
    pub graceful_period: Option<u64>,
    /// Burst period, ms (needs a non-zero grace period).
    pub burst_period: Option<u64>,
    /// Auto-recover.
    pub auto_recover: Option<bool>,
    /// Auto-dump.
    pub auto_dump: Option<bool>,
}

fn check_reporter(r: &Reporter) -> Result<()> {
    if r.name.is_empty() {
        return Err(Error::invalid("health reporter without a name"));
    }
    if r.graceful_period_ms != 0 && !r.caps.contains(ReporterCaps::RECOVER) {
        return Err(Error::invalid(format!(
            "reporter {:?}: grace period without a recover op",
            r.name
        )));
    }
    if r.burst_period_ms != 0 && r.graceful_period_ms == 0 {
        return Err(Error::invalid(format!(
            "reporter {:?}: burst period without a grace period",
            r.name
        )));
    }
    Ok(())
}

impl Objects {
    pub(crate) fn add_reporter(&mut self, r: Reporter) -> Result<()> {
        check_reporter(&r)?;
        if let Some(p) = r.port {
            if !self.ports.contains_key(&p) {
                return Err(Error::not_found(format!(
                    "port {p} for reporter {:?}",
                    r.name
                )));
            }
        }
        if self
            .reporters
            .iter()
            .any(|x| x.desc.name == r.name && x.desc.port == r.port)
        {
            return Err(Error::exists(format!("health reporter {:?}", r.name)));
        }
        self.reporters.push(ReporterItem {
            state: HealthState::Healthy,
            error_count: 0,
            recovery_count: 0,
            graceful_period: r.graceful_period_ms,
            burst_period: r.burst_period_ms,
            auto_recover: r.caps.contains(ReporterCaps::RECOVER),
            auto_dump: r.caps.contains(ReporterCaps::DUMP),
            last_recovery_ms: None,
            dump: None,
            desc: r,
        });
        Ok(())
    }

    fn reporter_index(&self, name: &str, port: Option<u32>) -> Result<usize> {
        self.reporters
            .iter()
            .position(|r| r.desc.name == name && r.desc.port == port)
            .ok_or_else(|| Error::not_found(format!("health reporter {name:?}")))
    }
}

impl<T: Send + 'static> Instance<T> {
    /// The driver reports an error (`devlink_health_report`), without
    /// holding the instance lock: it is taken here. See
    /// [`InstanceGuard::health_report`].
    pub fn health_report(&self, reporter: &str, port: Option<u32>, msg: &str) -> Result<()> {
        self.lock().health_report(reporter, port, msg)
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    fn reporter_key(&self, port: Option<u32>) -> String {
        match port {
            Some(p) => self.port_key(p),
            None => self.dev_key(),
        }
    }

    fn notify_health(&self, i: usize) {
        let r = &self.st.objs.reporters[i];
        self.notify(
            Command::Status,
            self.reporter_key(r.desc.port),
            EventBody::Health(r.view()),
        );
    }

    /// Adds a reporter (after registration too; reporters are not announced).
    pub fn health_reporter_add(&mut self, r: Reporter) -> Result<()> {
        self.st.objs.add_reporter(r)
    }

    /// Removes a reporter.
    pub fn health_reporter_remove(&mut self, name: &str, port: Option<u32>) -> Result<()> {
        let i = self.st.objs.reporter_index(name, port)?;
        self.st.objs.reporters.remove(i);
        Ok(())
    }

    /// The driver reports an error with the lock held. Counts it, marks the
    /// reporter in error and notifies; unless the grace period forbids it
    /// (→ [`Error::Canceled`]), stores a dump if none is kept (auto-dump)
    /// and runs the recovery (auto-recover), whose result is returned.
    /// Reporting on an unregistered instance is a driver bug and returns
    /// [`Error::NoDevice`].
    pub fn health_report(&mut self, reporter: &str, port: Option<u32>, msg: &str) -> Result<()> {
        if !self.st.registered {
            return Err(Error::NoDevice);
        }
        let now = self.now_ms();
        let i = self.st.objs.reporter_index(reporter, port)?;
        tracing::warn!(dev = %self.inst.handle, reporter, msg, "health error reported");
        let r = &mut self.st.objs.reporters[i];
        r.error_count += 1;
        let prev = r.state;
        r.state = HealthState::Error;
        let abort = recover_abort(r, prev, now);
        let (auto_dump, auto_recover) = (r.auto_dump, r.auto_recover);
        self.notify_health(i);
        if abort {
            tracing::warn!(dev = %self.inst.handle, reporter, "auto recovery aborted by the grace period");
            return Err(Error::Canceled(format!(
                "reporter {reporter:?}: recovery aborted (unrecovered error or within the grace period)"
            )));
        }
        if auto_dump && self.st.objs.reporters[i].dump.is_none() {
            if let Err(e) = self.health_do_dump(i) {
                tracing::warn!(dev = %self.inst.handle, reporter, error = %e, "health auto dump failed");
            }
        }
        if !auto_recover {
            return Ok(());
        }
        self.health_do_recover(reporter, port)
    }

    /// The driver recovered on its own (`devlink_health_reporter_recovery_done`
    /// plus `state_update` to healthy).
    pub fn health_recovery_done(&mut self, reporter: &str, port: Option<u32>) -> Result<()> {
        let now = self.now_ms();
        let i = self.st.objs.reporter_index(reporter, port)?;
        let r = &mut self.st.objs.reporters[i];
        mark_recovered(r, now);
        self.notify_health(i);
        Ok(())
    }

    fn health_do_dump(&mut self, i: usize) -> Result<()> {
        let (name, port, caps) = {
            let r = &self.st.objs.reporters[i];
            (r.desc.name.to_string(), r.desc.port, r.desc.caps)
        };
        if !caps.contains(ReporterCaps::DUMP) {
            return Err(Error::not_supported(format!(
                "reporter {name:?} has no dump op"
            )));
        }
        let ops = self.ops_for(Capabilities::empty(), "health dump")?;
        let mut fmsg = Fmsg::new();
        ops.health_dump(self, &name, port, &mut fmsg)?;
        fmsg.finish()?;
        let ts_ns = self.inst.clock.realtime_ns();
        let i = self.st.objs.reporter_index(&name, port)?;
        self.st.objs.reporters[i].dump = Some(StoredDump { fmsg, ts_ns });
        Ok(())
    }

    fn health_do_recover(&mut self, name: &str, port: Option<u32>) -> Result<()> {
        let i = self.st.objs.reporter_index(name, port)?;
        let r = &self.st.objs.reporters[i];
        if !r.desc.caps.contains(ReporterCaps::RECOVER) {
            return Err(Error::not_supported(format!(
                "reporter {name:?} has no recover op"
            )));
        }
        if r.state == HealthState::Healthy {
            return Ok(());
        }
        let ops = self.ops_for(Capabilities::empty(), "health recover")?;
        ops.health_recover(self, name, port)?;
        let now = self.now_ms();
        let i = self.st.objs.reporter_index(name, port)?;
        mark_recovered(&mut self.st.objs.reporters[i], now);
        self.notify_health(i);
        Ok(())
    }

    /// `devlink health show`: `(key, entry)` pairs, key `bus/dev` or
    /// `bus/dev/port`.
    pub fn health_show(&self) -> Vec<(String, HealthView)> {
        self.st
            .objs
            .reporters
            .iter()
            .map(|r| (self.reporter_key(r.desc.port), r.view()))
            .collect()
    }

    /// `devlink health show DEV reporter NAME`.
    pub fn health_get(&self, name: &str, port: Option<u32>) -> Result<HealthView> {
        let i = self.st.objs.reporter_index(name, port)?;
        Ok(self.st.objs.reporters[i].view())
    }

    /// `devlink health set`.
    pub fn health_set(&mut self, name: &str, port: Option<u32>, set: HealthSet) -> Result<()> {
        if !self.st.registered {
            return Err(Error::NoDevice);
        }
        let i = self.st.objs.reporter_index(name, port)?;
        let r = &mut self.st.objs.reporters[i];
        let recover = r.desc.caps.contains(ReporterCaps::RECOVER);
        if !recover
            && (set.graceful_period.is_some()
                || set.burst_period.is_some()
                || set.auto_recover.is_some())
        {
            return Err(Error::not_supported(format!(
                "reporter {name:?} has no recover op"
            )));
        }
        if !r.desc.caps.contains(ReporterCaps::DUMP) && set.auto_dump.is_some() {
            return Err(Error::not_supported(format!(
                "reporter {name:?} has no dump op"
            )));
        }
        let grace = set.graceful_period.unwrap_or(r.graceful_period);
        let mut burst = set.burst_period.unwrap_or(r.burst_period);
        if grace == 0 {
            if set.burst_period.is_some_and(|b| b != 0) {
                return Err(Error::invalid("burst period needs a non-zero grace period"));
            }
            burst = 0;
        }
        r.graceful_period = grace;
        r.burst_period = burst;
        if let Some(v) = set.auto_recover {
            r.auto_recover = v;
        }
        if let Some(v) = set.auto_dump {
            r.auto_dump = v;
        }
        Ok(())
    }

    /// `devlink health recover`: user-forced recovery (a no-op when healthy).
    pub fn health_recover(&mut self, name: &str, port: Option<u32>) -> Result<()> {
        self.health_do_recover(name, port)
    }

    /// The index of reporter `name` (on `port`), if it has the op `cap`;
    /// "not supported" naming the op otherwise.
    fn reporter_with_op(
        &self,
        name: &str,
        port: Option<u32>,
        cap: ReporterCaps,
        op: &str,
    ) -> Result<usize> {
        let i = self.st.objs.reporter_index(name, port)?;
        if !self.st.objs.reporters[i].desc.caps.contains(cap) {
            return Err(Error::not_supported(format!(
                "reporter {name:?} has no {op} op"
            )));
        }
        Ok(i)
    }

    /// `devlink health diagnose`.
    pub fn health_diagnose(&mut self, name: &str, port: Option<u32>) -> Result<Fmsg> {
        self.reporter_with_op(name, port, ReporterCaps::DIAGNOSE, "diagnose")?;
        let ops = self.ops_for(Capabilities::empty(), "health diagnose")?;
        let mut fmsg = Fmsg::new();
        ops.health_diagnose(self, name, port, &mut fmsg)?;
        fmsg.finish()?;
        Ok(fmsg)
    }

    /// `devlink health dump show`: the stored dump, taking one first if none
    /// is stored.
    pub fn health_dump_get(&mut self, name: &str, port: Option<u32>) -> Result<Fmsg> {
        let i = self.reporter_with_op(name, port, ReporterCaps::DUMP, "dump")?;
        if self.st.objs.reporters[i].dump.is_none() {
            self.health_do_dump(i)?;
        }
        let i = self.st.objs.reporter_index(name, port)?;
        self.st.objs.reporters[i]
            .dump
            .as_ref()
            .map(|d| d.fmsg.clone())
            .ok_or_else(|| Error::not_found(format!("reporter {name:?} has no dump")))
    }

    /// `devlink health dump clear`.
    pub fn health_dump_clear(&mut self, name: &str, port: Option<u32>) -> Result<()> {
        let i = self.reporter_with_op(name, port, ReporterCaps::DUMP, "dump")?;
        self.st.objs.reporters[i].dump = None;
        Ok(())
    }

    /// `devlink health test`: the driver injects a fake error, typically by
    /// calling [`InstanceGuard::health_report`] on the guard it is given.
    pub fn health_test(&mut self, name: &str, port: Option<u32>) -> Result<()> {
        self.reporter_with_op(name, port, ReporterCaps::TEST, "test")?;
        let ops = self.ops_for(Capabilities::empty(), "health test")?;
        ops.health_test(self, name, port)
    }
}

/// Whether auto-recovery must not run (devlink_health_recover_abort): an
/// error while the previous one is unrecovered, or a recovery less than
/// burst + grace ago (errors inside the burst window are still recovered).
fn recover_abort(r: &ReporterItem, prev: HealthState, now: u64) -> bool {
    if !r.auto_recover {
        return false;
    }
    if prev != HealthState::Healthy {
        return true;
    }
    if let (Some(last), true) = (r.last_recovery_ms, r.recovery_count > 0) {
        let burst_end = last.saturating_add(r.burst_period);
        if now < burst_end {
            return false;
        }
        if now < burst_end.saturating_add(r.graceful_period) {
            return true;
        }
    }
    false
}

fn mark_recovered(r: &mut ReporterItem, now: u64) {
    r.recovery_count += 1;
    // The first recovery of a burst starts the window; recoveries inside it
    // do not extend it.
    let in_burst = r
        .last_recovery_ms
        .is_some_and(|last| now < last.saturating_add(r.burst_period));
    if !in_burst {
        r.last_recovery_ms = Some(now);
    }
    r.state = HealthState::Healthy;
}
