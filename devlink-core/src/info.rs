//! Device information (reference §9, `devlink dev info`): driver name,
//! serial numbers, and `fixed` / `running` / `stored` versions.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::instance::InstanceGuard;
use crate::json::OrderedMap;
use crate::ops::Capabilities;

/// Which version group (`DEVLINK_ATTR_INFO_VERSION_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionGroup {
    /// Design identifiers (board id, ASIC revision); never unit serials.
    Fixed,
    /// What executes now.
    Running,
    /// What is in flash and will run after activation.
    Stored,
}

/// What the driver fills in `info_get`. Each name may appear once per group;
/// the first violation is latched and reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoBuilder {
    serial_number: Option<String>,
    board_serial_number: Option<String>,
    fixed: Vec<(String, String)>,
    running: Vec<(String, String)>,
    stored: Vec<(String, String)>,
    components: Vec<String>,
    error: Option<String>,
}

impl InfoBuilder {
    /// The device's serial number (the same for every port and host of one
    /// physical device).
    pub fn serial_number(&mut self, s: impl Into<String>) -> &mut Self {
        self.serial_number = Some(s.into());
        self
    }

    /// The board's serial number.
    pub fn board_serial_number(&mut self, s: impl Into<String>) -> &mut Self {
        self.board_serial_number = Some(s.into());
        self
    }

    /// A version.
    pub fn version(
        &mut self,
        group: VersionGroup,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        let (name, value) = (name.into(), value.into());
        let list = match group {
            VersionGroup::Fixed => &mut self.fixed,
            VersionGroup::Running => &mut self.running,
            VersionGroup::Stored => &mut self.stored,
        };
        if list.iter().any(|(n, _)| *n == name) {
            if self.error.is_none() {
                self.error = Some(format!(
                    "version {name:?} reported twice in the {group:?} group"
                ));
            }
            return self;
        }
        list.push((name, value));
        self
    }

    /// A version that names a flashable component
    /// (`DEVLINK_INFO_VERSION_TYPE_COMPONENT`): `flash` accepts it as
    /// `component`.
    pub fn component_version(
        &mut self,
        group: VersionGroup,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        let name = name.into();
        if !self.components.contains(&name) {
            self.components.push(name.clone());
        }
        self.version(group, name, value)
    }

    /// Checks what was filled: [`Error::Invalid`] if a version name was
    /// reported twice in one group.
    pub fn finish(&self) -> Result<()> {
        match &self.error {
            Some(e) => Err(Error::invalid(e.clone())),
            None => Ok(()),
        }
    }

    /// Names flagged as flashable components.
    pub fn components(&self) -> &[String] {
        &self.components
    }
}

/// The `versions` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionsView {
    /// Fixed versions.
    #[serde(skip_serializing_if = "is_empty")]
    pub fixed: OrderedMap<String>,
    /// Running versions.
    #[serde(skip_serializing_if = "is_empty")]
    pub running: OrderedMap<String>,
    /// Stored versions.
    #[serde(skip_serializing_if = "is_empty")]
    pub stored: OrderedMap<String>,
}

fn is_empty(m: &OrderedMap<String>) -> bool {
    m.0.is_empty()
}

/// One entry of `devlink dev info -j`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfoView {
    /// The driver's name.
    pub driver: String,
    /// Serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Board serial number.
    #[serde(
        rename = "board.serial_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub board_serial_number: Option<String>,
    /// Versions (absent when the driver reports none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<VersionsView>,
}

impl<T: Send + 'static> InstanceGuard<'_, T> {
    /// Runs the driver's `info_get` and returns what it filled (empty when
    /// the driver does not implement it).
    pub(crate) fn info_collect(&mut self) -> Result<InfoBuilder> {
        let mut b = InfoBuilder::default();
        if self.st.caps.contains(Capabilities::INFO_GET) {
            let ops = self.ops_for(Capabilities::INFO_GET, "info_get")?;
            ops.info_get(self, &mut b)?;
            b.finish()?;
        } else if !self.st.registered {
            return Err(Error::NoDevice);
        }
        Ok(b)
    }

    /// `devlink dev info`. Without [`Capabilities::INFO_GET`] only the
    /// driver name is reported: info always works.
    pub fn info_get(&mut self) -> Result<InfoView> {
        let b = self.info_collect()?;
        let has_versions = !(b.fixed.is_empty() && b.running.is_empty() && b.stored.is_empty());
        Ok(InfoView {
            driver: self.inst.ops.driver_name().to_string(),
            serial_number: b.serial_number,
            board_serial_number: b.board_serial_number,
            versions: has_versions.then_some(VersionsView {
                fixed: OrderedMap(b.fixed),
                running: OrderedMap(b.running),
                stored: OrderedMap(b.stored),
            }),
        })
    }
}
