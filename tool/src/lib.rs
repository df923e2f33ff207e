//! cxu-tool: the `cxu` command-line tool over the driver library (`cxu_driver`).
//!
//! * [`cli`]: the devlink-style commands, their parsing and output, on a
//!   function bound to vfio-pci (`--pci`) or on the embedded model.
//! * [`bench`]: `cxu bench`, the command queue's throughput, latency and CPU
//!   per command against the kernel's design and the device alone.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
