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
    /// Removal and dead firmware read as "no device"; a command firmware
    /// refused as a parameter error is `EINVAL`; a stuck device is `EBUSY`.
    /// Every message keeps the opcode, status and syndrome.
    fn from(e: CtlError) -> Self {
        use crate::Error as E;
        let msg = e.to_string();
        match &e {
            CtlError::Cmd { source, .. } => match source.root() {
                E::DeviceRemoved | E::FwFatal { .. } => devlink_core::Error::NoDevice,
                E::Timeout { .. } | E::NoFreeSlot { .. } | E::AllSlotsStalled { .. } => {
                    devlink_core::Error::Busy(msg)
                }
                E::Command { status, .. } if *status == CmdStatus::BAD_SYS_STATE_ERR => {
                    devlink_core::Error::Busy(msg)
                }
                _ => devlink_core::Error::Invalid(msg),
            },
            CtlError::Devlink(e) => e.clone(),
            CtlError::Unsupported(_) => devlink_core::Error::NotSupported(msg),
            CtlError::Flash(_) => devlink_core::Error::Invalid(msg),
            CtlError::Ifc { .. } | CtlError::BadDeviceValue(_) => devlink_core::Error::Invalid(msg),
        }
    }
}
