//! Notifications: per-subscriber bounded queues that a monitor reads.
//!
//! The core emits events with the instance lock held, so emitting must never
//! wait for a consumer. Each subscriber has its own bounded queue; when it is
//! full the event is not queued but counted, and the subscriber receives an
//! explicit [`Delivery::Overflow`] with the number lost, in the position
//! where the events went missing. Nothing is dropped silently and a slow
//! monitor never slows the driver.
//!
//! Lock order: instance lock → hub's subscriber list → one subscriber queue. A
//! consumer holds only its own queue lock, briefly.

use std::collections::VecDeque;
use std::time::Duration;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::flash::FlashStatusView;
use crate::health::HealthView;
use crate::instance::{DevView, Handle};
use crate::param::ParamView;
use crate::port::PortView;
use crate::region::RegionView;
use crate::sync::{lock, Arc, AtomicU64, Condvar, Mutex, Ordering};
use crate::trap::{PolicerView, TrapGroupView, TrapView};

bitflags::bitflags! {
    /// Object kinds a subscriber can ask for (`devlink mon` object names).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ObjectKinds: u32 {
        /// The instance itself (`dev`).
        const DEV = 1 << 0;
        /// Ports (`port`).
        const PORT = 1 << 1;
        /// Trap policers (`trap-policer`).
        const TRAP_POLICER = 1 << 2;
        /// Trap groups (`trap-group`).
        const TRAP_GROUP = 1 << 3;
        /// Traps (`trap`).
        const TRAP = 1 << 4;
        /// Regions and their snapshots (`region`).
        const REGION = 1 << 5;
        /// Params (`param`).
        const PARAM = 1 << 6;
        /// Health reporter state changes (`health`).
        const HEALTH = 1 << 7;
        /// Flash update begin / status / end (`flash`).
        const FLASH = 1 << 8;
    }
}

/// The netlink command an event corresponds to, named as `devlink mon`
/// prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// An object appeared or changed (`*_NEW`).
    New,
    /// An object disappeared (`*_DEL`).
    Del,
    /// A state report (`HEALTH_REPORTER_RECOVER`, `FLASH_UPDATE_STATUS`).
    Status,
    /// A flash update started (`FLASH_UPDATE`).
    Begin,
    /// A flash update ended (`FLASH_UPDATE_END`).
    End,
}

/// What an event is about: a snapshot of the object when it was sent.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// The instance.
    Dev(DevView),
    /// A port.
    Port(PortView),
    /// A trap policer.
    TrapPolicer(PolicerView),
    /// A trap group.
    TrapGroup(TrapGroupView),
    /// A trap.
    Trap(TrapView),
    /// A region (or one of its snapshots).
    Region(RegionView),
    /// A param.
    Param(ParamView),
    /// A health reporter.
    Health(HealthView),
    /// A flash update step.
    Flash(FlashStatusView),
}

impl EventBody {
    /// The kind of object, for filtering.
    pub fn kind(&self) -> ObjectKinds {
        match self {
            EventBody::Dev(_) => ObjectKinds::DEV,
            EventBody::Port(_) => ObjectKinds::PORT,
            EventBody::TrapPolicer(_) => ObjectKinds::TRAP_POLICER,
            EventBody::TrapGroup(_) => ObjectKinds::TRAP_GROUP,
            EventBody::Trap(_) => ObjectKinds::TRAP,
            EventBody::Region(_) => ObjectKinds::REGION,
            EventBody::Param(_) => ObjectKinds::PARAM,
            EventBody::Health(_) => ObjectKinds::HEALTH,
            EventBody::Flash(_) => ObjectKinds::FLASH,
        }
    }

    /// The object name `devlink mon -j` uses for this kind.
    pub fn object_name(&self) -> &'static str {
        match self {
            EventBody::Dev(_) => "dev",
            EventBody::Port(_) => "port",
            EventBody::TrapPolicer(_) => "trap-policer",
            EventBody::TrapGroup(_) => "trap-group",
            EventBody::Trap(_) => "trap",
            EventBody::Region(_) => "region",
            EventBody::Param(_) => "param",
            EventBody::Health(_) => "health",
            EventBody::Flash(_) => "flash",
        }
    }
}

/// One notification.
///
/// Serializes like one entry of `devlink mon -j`:
/// `{"command":"new","trap":{"pci/0000:01:00.0":{"name":...}}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Per-hub sequence number, increasing by one per event emitted
    /// (to any subscriber); gaps seen by a subscriber are its overflows.
    pub seq: u64,
    /// What happened.
    pub command: Command,
    /// The instance (`bus/dev`) the object belongs to.
    pub dev: String,
    /// The object's handle as iproute2 prints it: `bus/dev`, `bus/dev/port`
    /// for ports and port reporters, `bus/dev/region` for regions.
    pub key: String,
    /// The object.
    pub body: EventBody,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("command", &self.command)?;
        let key = self.key.as_str();
        match &self.body {
            EventBody::Dev(v) => m.serialize_entry("dev", &One(key, v))?,
            EventBody::Port(v) => m.serialize_entry("port", &One(key, v))?,
            EventBody::TrapPolicer(v) => m.serialize_entry("trap-policer", &One(key, v))?,
            EventBody::TrapGroup(v) => m.serialize_entry("trap-group", &One(key, v))?,
            EventBody::Trap(v) => m.serialize_entry("trap", &One(key, v))?,
            EventBody::Region(v) => m.serialize_entry("region", &One(key, v))?,
            EventBody::Param(v) => m.serialize_entry("param", &One(key, v))?,
            // iproute2 prints health events in the array form of `health show`.
            EventBody::Health(v) => m.serialize_entry("health", &One(key, &[v]))?,
            EventBody::Flash(v) => m.serialize_entry("flash", &One(key, v))?,
        }
        m.end()
    }
}

/// `{key: value}`.
struct One<'a, V: ?Sized>(&'a str, &'a V);

impl<V: Serialize + ?Sized> Serialize for One<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event.
    /// Events are immutable and shared by every subscriber that gets them
    /// (a plain `std` `Arc`: its count is not part of any protocol).
    Event(std::sync::Arc<Event>),
    /// `lost` events matching the filter were not queued because the queue
    /// was full; they happened between the neighbouring deliveries.
    Overflow {
        /// How many.
        lost: u64,
    },
}

impl Serialize for Delivery {
    /// Events as `devlink mon -j` prints them; an overflow as
    /// `{"command":"overflow","lost":N}` (an extension: the kernel's netlink
    /// socket reports the same condition as `ENOBUFS`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Delivery::Event(e) => e.serialize(s),
            Delivery::Overflow { lost } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("command", "overflow")?;
                m.serialize_entry("lost", lost)?;
                m.end()
            }
        }
    }
}

struct QueueState {
    items: VecDeque<Delivery>,
    /// Events (not overflow markers) currently queued.
    queued_events: usize,
    /// Total events lost over the subscriber's life.
    lost_total: u64,
}

pub(crate) struct SubQueue {
    filter: ObjectKinds,
    dev: Option<String>,
    capacity: usize,
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl SubQueue {
    fn push(&self, ev: &std::sync::Arc<Event>) {
        if !self.filter.contains(ev.body.kind()) {
            return;
        }
        if self.dev.as_ref().is_some_and(|d| *d != ev.dev) {
            return;
        }
        let mut st = lock(&self.state);
        if st.queued_events >= self.capacity {
            st.lost_total += 1;
            if let Some(Delivery::Overflow { lost }) = st.items.back_mut() {
                *lost += 1;
            } else {
                st.items.push_back(Delivery::Overflow { lost: 1 });
            }
        } else {
            st.items
                .push_back(Delivery::Event(std::sync::Arc::clone(ev)));
            st.queued_events += 1;
        }
        drop(st);
        self.ready.notify_one();
    }

    fn pop_locked(st: &mut QueueState) -> Option<Delivery> {
        let d = st.items.pop_front()?;
        if matches!(d, Delivery::Event(_)) {
            st.queued_events -= 1;
        }
        Some(d)
    }
}

/// A monitor's end of the notification channel. Dropping it unsubscribes.
pub struct Subscription {
    q: Arc<SubQueue>,
}

impl Subscription {
    /// The next delivery, if one is queued.
    pub fn try_recv(&self) -> Option<Delivery> {
        SubQueue::pop_locked(&mut lock(&self.q.state))
    }

    /// The next delivery, waiting up to `timeout` for one.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Delivery> {
        let mut st = lock(&self.q.state);
        if st.items.is_empty() {
            st = match self.q.ready.wait_timeout(st, timeout) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        SubQueue::pop_locked(&mut st)
    }

    /// Everything queued now, in order.
    pub fn drain(&self) -> Vec<Delivery> {
        let mut st = lock(&self.q.state);
        let mut out = Vec::with_capacity(st.items.len());
        while let Some(d) = SubQueue::pop_locked(&mut st) {
            out.push(d);
        }
        out
    }

    /// Events lost to overflow since subscribing.
    pub fn lost_total(&self) -> u64 {
        lock(&self.q.state).lost_total
    }

    /// The kinds this subscription receives.
    pub fn filter(&self) -> ObjectKinds {
        self.q.filter
    }
}

/// The fan-out of notifications to subscribers: one per instance by
/// default, or shared by several instances (like the kernel's one `devlink`
/// multicast group) so a monitor started before an instance registers sees
/// its register burst.
pub struct Hub {
    subs: Mutex<Vec<Arc<SubQueue>>>,
    seq: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub without subscribers.
    pub fn new() -> Self {
        Hub {
            subs: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
        }
    }

    /// Subscribes to notifications of the given kinds, with a queue of
    /// `capacity` events (at least 1) before overflow.
    pub fn subscribe(&self, kinds: ObjectKinds, capacity: usize) -> Subscription {
        self.add(kinds, None, capacity)
    }

    /// Like [`Hub::subscribe`], but only for one instance (the kernel's
    /// per-socket notification filter on bus/dev name).
    pub fn subscribe_to(&self, kinds: ObjectKinds, dev: &Handle, capacity: usize) -> Subscription {
        self.add(kinds, Some(dev.to_string()), capacity)
    }

    fn add(&self, filter: ObjectKinds, dev: Option<String>, capacity: usize) -> Subscription {
        let q = Arc::new(SubQueue {
            filter,
            dev,
            capacity: capacity.max(1),
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                queued_events: 0,
                lost_total: 0,
            }),
            ready: Condvar::new(),
        });
        lock(&self.subs).push(Arc::clone(&q));
        Subscription { q }
    }

    /// Sends one event to every live subscriber. Called with the instance
    /// lock held (that is what orders events); never blocks on a consumer.
    pub(crate) fn emit(&self, command: Command, dev: String, key: String, body: EventBody) {
        let mut subs = lock(&self.subs);
        // A queue only the notifier still references belongs to a dropped
        // Subscription.
        subs.retain(|q| Arc::strong_count(q) > 1);
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        if subs.is_empty() {
            return;
        }
        let ev = std::sync::Arc::new(Event {
            seq,
            command,
            dev,
            key,
            body,
        });
        tracing::trace!(seq, command = ?ev.command, object = ev.body.object_name(), key = %ev.key, "devlink notify");
        for q in subs.iter() {
            q.push(&ev);
        }
    }
}
