//! Regions (reference §9 "Regions"): driver-defined address spaces whose
//! snapshots the driver captures (e.g. on a health error) and users read.
//! Snapshot ids are allocated per instance. Reading the live region
//! directly and user-triggered snapshots are not implemented.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::{Handle, InstanceGuard, Objects};
use crate::notify::{Command, EventBody};

/// A region as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Name, unique per instance.
    pub name: Cow<'static, str>,
    /// Size in bytes of every snapshot.
    pub size: u64,
    /// Most snapshots kept at once.
    pub max_snapshots: u32,
}

impl Region {
    /// A region.
    pub fn new(name: impl Into<Cow<'static, str>>, size: u64, max_snapshots: u32) -> Self {
        Region {
            name: name.into(),
            size,
            max_snapshots,
        }
    }
}

pub(crate) struct RegionItem {
    desc: Region,
    snapshots: BTreeMap<u32, Vec<u8>>,
}

/// One entry of `devlink region show -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionView {
    /// Size in bytes.
    pub size: u64,
    /// Snapshot ids.
    pub snapshot: Vec<u32>,
    /// Most snapshots kept.
    pub max: u32,
}

impl RegionItem {
    pub(crate) fn key(&self, h: &Handle) -> String {
        format!("{h}/{}", self.desc.name)
    }

    pub(crate) fn view(&self) -> RegionView {
        RegionView {
            size: self.desc.size,
            snapshot: self.snapshots.keys().copied().collect(),
            max: self.desc.max_snapshots,
        }
    }
}

impl Objects {
    pub(crate) fn add_region(&mut self, r: Region) -> Result<()> {
        if r.name.is_empty() {
            return Err(Error::invalid("region without a name"));
        }
        if r.size == 0 {
            return Err(Error::invalid(format!("region {:?} has size 0", r.name)));
        }
        if r.max_snapshots == 0 {
            return Err(Error::invalid(format!(
                "region {:?} allows no snapshots",
                r.name
            )));
        }
        if self.regions.iter().any(|x| x.desc.name == r.name) {
            return Err(Error::exists(format!("region {:?}", r.name)));
        }
        self.regions.push(RegionItem {
            desc: r,
            snapshots: BTreeMap::new(),
        });
        Ok(())
    }

    fn region_index(&self, name: &str) -> Result<usize> {
        self.regions
            .iter()
            .position(|r| r.desc.name == name)
            .ok_or_else(|| Error::not_found(format!("region {name:?}")))
    }
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    fn notify_region(&self, i: usize, command: Command) {
        let r = &self.st.objs.regions[i];
        self.notify(
            command,
            r.key(&self.inst.handle),
            EventBody::Region(r.view()),
        );
    }

    /// Adds a region after registration (notifies `region new`).
    pub fn region_add(&mut self, r: Region) -> Result<()> {
        let name = r.name.clone();
        self.st.objs.add_region(r)?;
        let i = self.st.objs.region_index(&name)?;
        self.notify_region(i, Command::New);
        Ok(())
    }

    /// Removes a region and its snapshots (notifies `region del`).
    pub fn region_remove(&mut self, name: &str) -> Result<()> {
        let i = self.st.objs.region_index(name)?;
        self.notify_region(i, Command::Del);
        self.st.objs.regions.remove(i);
        Ok(())
    }

    /// Stores a snapshot the driver captured; `data` must be exactly the
    /// region's size. Returns the new snapshot id. [`Error::Busy`] when the
    /// region already holds its maximum.
    pub fn region_snapshot_create(&mut self, name: &str, data: Vec<u8>) -> Result<u32> {
        let i = self.st.objs.region_index(name)?;
        let r = &self.st.objs.regions[i];
        if u64::try_from(data.len()).ok() != Some(r.desc.size) {
            return Err(Error::invalid(format!(
                "snapshot of {} bytes for region {name:?} of {}",
                data.len(),
                r.desc.size
            )));
        }
        if r.snapshots.len() >= usize::try_from(r.desc.max_snapshots).unwrap_or(usize::MAX) {
            return Err(Error::Busy(format!(
                "region {name:?} already holds {} snapshots",
                r.snapshots.len()
            )));
        }
        let id = self
            .st
            .objs
            .next_snapshot_id
            .checked_add(1)
            .ok_or_else(|| Error::Busy("snapshot ids exhausted".into()))?;
        self.st.objs.next_snapshot_id = id;
        self.st.objs.regions[i].snapshots.insert(id, data);
        self.notify_region(i, Command::New);
        Ok(id)
    }

    /// `devlink region del DEV/REGION snapshot ID`.
    pub fn region_snapshot_delete(&mut self, name: &str, id: u32) -> Result<()> {
        let i = self.st.objs.region_index(name)?;
        if self.st.objs.regions[i].snapshots.remove(&id).is_none() {
            return Err(Error::not_found(format!(
                "snapshot {id} of region {name:?}"
            )));
        }
        self.notify_region(i, Command::Del);
        Ok(())
    }

    /// `devlink region read DEV/REGION snapshot ID address A length L`.
    pub fn region_read(&self, name: &str, id: u32, offset: u64, len: u64) -> Result<Vec<u8>> {
        let i = self.st.objs.region_index(name)?;
        let snap = self.st.objs.regions[i]
            .snapshots
            .get(&id)
            .ok_or_else(|| Error::not_found(format!("snapshot {id} of region {name:?}")))?;
        let end = offset
            .checked_add(len)
            .ok_or_else(|| Error::invalid("read range overflows"))?;
        let (start, end) = (usize::try_from(offset), usize::try_from(end));
        match (start, end) {
            (Ok(s), Ok(e)) if e <= snap.len() => Ok(snap[s..e].to_vec()),
            _ => Err(Error::invalid(format!(
                "read {offset}+{len} beyond region size {}",
                snap.len()
            ))),
        }
    }

    /// `devlink region show`: `(key, entry)` with key `bus/dev/region`.
    pub fn region_show(&self) -> Vec<(String, RegionView)> {
        self.st
            .objs
            .regions
            .iter()
            .map(|r| (r.key(&self.inst.handle), r.view()))
            .collect()
    }
}
