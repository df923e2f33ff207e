//! What can stop a benchmark run.

use std::path::PathBuf;

/// A benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options make no sense together.
    #[error("bad options: {0}")]
    Options(String),
    /// Opening or probing the device failed.
    #[error("{what}: {source}")]
    Device {
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: Box<cxu_driver::Error>,
    },
    /// A hal call (bus master, BAR, reset, opening a VFIO function) failed.
    #[error("{what}: {source}")]
    Hal {
        /// What was being done.
        what: String,
        /// The hal's error.
        #[source]
        source: Box<cxu_hal::Error>,
    },
    /// DMA memory for the device-alone run could not be set up.
    #[error("{what}: {source}")]
    Dma {
        /// What was being done.
        what: String,
        /// The DMA layer's error.
        #[source]
        source: Box<cxu_dma::Error>,
    },
    /// A command of the measured load failed: the numbers would be meaningless.
    #[error("{opcode} failed during the {point} point: {source}")]
    Command {
        /// The command.
        opcode: cxu_hal::ifc::Opcode,
        /// Which point of the sweep.
        point: String,
        /// The driver's error.
        #[source]
        source: Box<cxu_driver::Error>,
    },
    /// The device misbehaved in the device-alone run.
    #[error("device-alone run: {0}")]
    Raw(String),
    /// Writing the JSON or the plot failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Printing the table failed.
    #[error("printing the table: {0}")]
    Print(#[from] std::io::Error),
    /// Encoding the JSON failed.
    #[error("encoding the JSON report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Wraps a driver error with what was being done.
pub(crate) fn device(what: impl Into<String>) -> impl FnOnce(cxu_driver::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Device {
        what,
        source: Box::new(source),
    }
}

/// Wraps a hal error with what was being done.
pub(crate) fn hal(what: impl Into<String>) -> impl FnOnce(cxu_hal::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Hal {
        what,
        source: Box::new(source),
    }
}

/// Wraps a DMA error with what was being done.
pub(crate) fn dma(what: impl Into<String>) -> impl FnOnce(cxu_dma::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Dma {
        what,
        source: Box::new(source),
    }
}
