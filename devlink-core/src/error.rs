//! Typed errors with the errno-like kinds devlink users know.

/// Result type of every fallible devlink-core operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A devlink error: the kind a netlink user would see as an errno, and a
/// message in the spirit of the kernel's extended ack (`extack`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The operation or attribute is not supported by this instance
    /// (`EOPNOTSUPP`): a capability bit is off or the object lacks the op.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The instance is not registered (never was, or was unregistered):
    /// `ENODEV`.
    #[error("no such device")]
    NoDevice,
    /// No object with that name or id (`ENOENT`).
    #[error("not found: {0}")]
    NotFound(String),
    /// An object with that name or id already exists (`EEXIST`).
    #[error("already exists: {0}")]
    Exists(String),
    /// A value or combination is invalid (`EINVAL`); the message says which.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The device refuses now, for a reason that may go away (`EBUSY`).
    #[error("busy: {0}")]
    Busy(String),
    /// The operation was abandoned on purpose, e.g. a health recovery that
    /// the grace period forbade (`ECANCELED`).
    #[error("canceled: {0}")]
    Canceled(String),
}

impl Error {
    /// The Linux errno value (positive) that corresponds to this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::NotSupported(_) => 95, // EOPNOTSUPP
            Error::NoDevice => 19,        // ENODEV
            Error::NotFound(_) => 2,      // ENOENT
            Error::Exists(_) => 17,       // EEXIST
            Error::Invalid(_) => 22,      // EINVAL
            Error::Busy(_) => 16,         // EBUSY
            Error::Canceled(_) => 125,    // ECANCELED
        }
    }

    pub(crate) fn not_supported(what: impl Into<String>) -> Self {
        Error::NotSupported(what.into())
    }
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }
    pub(crate) fn exists(what: impl Into<String>) -> Self {
        Error::Exists(what.into())
    }
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Error::Invalid(what.into())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn errno_values_match_linux() {
        assert_eq!(Error::NotSupported(String::new()).errno(), 95);
        assert_eq!(Error::NoDevice.errno(), 19);
        assert_eq!(Error::NotFound(String::new()).errno(), 2);
        assert_eq!(Error::Exists(String::new()).errno(), 17);
        assert_eq!(Error::Invalid(String::new()).errno(), 22);
        assert_eq!(Error::Busy(String::new()).errno(), 16);
        assert_eq!(Error::Canceled(String::new()).errno(), 125);
    }

    #[test]
    fn message_reads_like_extack() {
        let e = Error::invalid("burst 5 below the policer's minimum 8");
        assert_eq!(
            e.to_string(),
            "invalid argument: burst 5 below the policer's minimum 8"
        );
    }
}
