//! Errors of the control plane, and how they reach a devlink user.

use cxu_hal::ifc::CmdStatus;

/// What went wrong between an op and the device.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// A command failed (the driver's error says which opcode and status).
    #[error("{what}: {source}")]
    Cmd {
        /// What the driver was doing ("HPKT write", "MCC lock").
        what: String,
        /// The command layer's error.
        #[source]
        source: crate::Error,
    },
    /// A layout could not be encoded or a device value decoded.
    #[error("{what}: {source}")]
    Ifc {
        /// What the driver was encoding or decoding.
        what: String,
        /// The layout error.
        #[source]
        source: cxu_hal::ifc::Error,
    },
    /// The device answered with something the driver cannot accept.
    #[error("device wrote a bad value: {0}")]
    BadDeviceValue(String),
    /// The backend cannot do this (no BAR, no reset path).
    #[error("not supported by this backend: {0}")]
    Unsupported(&'static str),
    /// A flash step failed; the message says which and why.
    #[error("flash: {0}")]
    Flash(String),
    /// devlink-core refused an object or a request.
    #[error(transparent)]
    Devlink(#[from] devlink_core::Error),
}

impl CtlError {
    pub(crate) fn cmd(what: impl Into<String>, source: crate::Error) -> Self {
        CtlError::Cmd {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn ifc(what: impl Into<String>, source: cxu_hal::ifc::Error) -> Self {
        CtlError::Ifc {
            what: what.into(),
            source,
        }
    }
}

impl From<CtlError> for devlink_core::Error {
    /// Removal reads as "no device" (`ENODEV`); a command firmware ran and
    /// refused is `EINVAL`; everything that may pass (dead firmware before
    /// recovery, timeouts, a transport fault) is `EBUSY`. devlink-core has
    /// no `EIO`; every message keeps the opcode, status and syndrome.
    fn from(e: CtlError) -> Self {
        use crate::Error as E;
        let msg = e.to_string();
        match &e {
            CtlError::Cmd { source, .. } => match source.root() {
                E::DeviceRemoved => devlink_core::Error::NoDevice,
                E::Command { status, .. } if *status != CmdStatus::BAD_SYS_STATE_ERR => {
                    devlink_core::Error::Invalid(msg)
                }
                E::BadMessage(_) | E::Ifc(_) => devlink_core::Error::Invalid(msg),
                _ => devlink_core::Error::Busy(msg),
            },
            CtlError::Devlink(e) => e.clone(),
            CtlError::Unsupported(_) => devlink_core::Error::NotSupported(msg),
            CtlError::Flash(_) | CtlError::Ifc { .. } => devlink_core::Error::Invalid(msg),
            CtlError::BadDeviceValue(_) => devlink_core::Error::Busy(msg),
        }
    }
}
