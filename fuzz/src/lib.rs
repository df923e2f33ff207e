//! cxu-fuzz: the bodies of the cargo-fuzz targets in `fuzz_targets/`, as plain
//! functions so that `tests/corpus.rs` replays the kept corpus on stable Rust
//! (`cargo test` in `fuzz/`) and a crash found by a fuzzer becomes a test.
//!
//! * [`decode`]: every `hal::ifc` decoder of device- or caller-written bytes;
//! * [`simple`]: EQEs and the EQ ring arithmetic, capability blocks (hal and the
//!   driver's `Caps`), the init segment and its health buffer;
//! * [`hostile`]: the driver's command queue against a device that writes
//!   whatever the fuzzer says into entries and output mailbox chains;
//! * [`model`]: the device model's command engine against a driver that writes
//!   whatever the fuzzer says into entries, mailbox chains and BAR0;
//! * [`rpc`]: the firmware RPC channel fed any input, size and scope;
//! * [`rpc_queue`]: the RPC channel through a real queue against the model;
//! * [`events`]: page-request EQEs and the coalescing hand-off to the page
//!   worker.
#![forbid(unsafe_code)]

pub mod decode;
pub mod events;
pub mod hostile;
pub mod model;
pub mod rpc;
pub mod rpc_queue;
pub mod simple;
