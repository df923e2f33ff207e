//! The tool's errors: each says what failed, in the words of the layer that
//! failed, and maps to an exit code. Large layer errors are boxed so every
//! `Result` stays small.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong; the message says how to write it.
    #[error("{0}")]
    Usage(String),
    /// devlink refused (the errno is part of the message).
    #[error("{e} (errno {})", e.errno())]
    Devlink {
        /// The error.
        #[from]
        e: devlink_core::Error,
    },
    /// The control plane failed to reach the device.
    #[error(transparent)]
    Ctl(Box<cxu_driver::devlink::CtlError>),
    /// An RPC was refused or not delivered.
    #[error("rpc: {e} (errno {})", e.errno())]
    Rpc {
        /// The error.
        e: Box<cxu_driver::rpc::RpcError>,
    },
    /// The driver core failed (bring-up, commands).
    #[error(transparent)]
    Driver(Box<cxu_driver::Error>),
    /// The PCI / VFIO layer failed.
    #[error(transparent)]
    Hal(Box<cxu_hal::Error>),
    /// DMA memory.
    #[error(transparent)]
    Dma(Box<cxu_dma::Error>),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What the tool was doing.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<cxu_driver::devlink::CtlError> for CliError {
    fn from(e: cxu_driver::devlink::CtlError) -> Self {
        CliError::Ctl(Box::new(e))
    }
}

impl From<cxu_driver::rpc::RpcError> for CliError {
    fn from(e: cxu_driver::rpc::RpcError) -> Self {
        CliError::Rpc { e: Box::new(e) }
    }
}

impl From<cxu_driver::Error> for CliError {
    fn from(e: cxu_driver::Error) -> Self {
        CliError::Driver(Box::new(e))
    }
}

impl From<cxu_hal::Error> for CliError {
    fn from(e: cxu_hal::Error) -> Self {
        CliError::Hal(Box::new(e))
    }
}

impl From<cxu_dma::Error> for CliError {
    fn from(e: cxu_dma::Error) -> Self {
        CliError::Dma(Box::new(e))
    }
}

impl CliError {
    /// The exit code: 1, whatever failed, as devlink's `EXIT_FAILURE`.
    pub fn exit_code(&self) -> i32 {
        1
    }

    /// The command line was wrong (as against a refusal by the driver or
    /// the device).
    pub fn is_usage(&self) -> bool {
        matches!(self, CliError::Usage(_))
    }

    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }
}
