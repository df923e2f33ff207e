//! The two buckets as compile-time facts: each `compile_fail` example below is
//! a mistake the types refuse, next to the correct use, which compiles (so a
//! failure to compile is the mistake's, not the setup's). `cargo test --doc`
//! runs them.
//!
//! The setup every example shares:
//!
//! ```
//! use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, Port, ReloadCaps};
//! #[derive(Default)]
//! struct Nic {
//!     packets: u64,
//! }
//! struct Ops;
//! impl DevlinkOps<Nic> for Ops {
//!     fn driver_name(&self) -> &'static str {
//!         "nic"
//!     }
//! }
//! static OPS: Ops = Ops;
//! let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! let mut b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! // Bucket one: plain data, `&mut`, no lock.
//! b.port(Port::physical(1, 0)).unwrap();
//! b.driver_mut().packets = 1;
//! let dev = b.register();
//! // Bucket two: everything through the guard.
//! let mut g = dev.lock();
//! g.port_add(Port::physical(2, 1)).unwrap();
//! g.driver_mut().packets += 1;
//! assert_eq!(g.driver().packets, 2);
//! ```
//!
//! **A builder is unusable after `register`** (it was moved into the instance):
//!
//! ```compile_fail,E0382
//! # use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, Port, ReloadCaps};
//! # #[derive(Default)] struct Nic { packets: u64 }
//! # struct Ops;
//! # impl DevlinkOps<Nic> for Ops { fn driver_name(&self) -> &'static str { "nic" } }
//! # static OPS: Ops = Ops;
//! # let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! let mut b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! let dev = b.register();
//! b.port(Port::physical(2, 1)).unwrap(); // bucket one after registration
//! ```
//!
//! **Object helpers need the guard**: the instance itself has none of them.
//!
//! ```compile_fail,E0599
//! # use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, Port, ReloadCaps};
//! # #[derive(Default)] struct Nic { packets: u64 }
//! # struct Ops;
//! # impl DevlinkOps<Nic> for Ops { fn driver_name(&self) -> &'static str { "nic" } }
//! # static OPS: Ops = Ops;
//! # let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! # let b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! let dev = b.register();
//! dev.port_add(Port::physical(2, 1)).unwrap(); // no lock held
//! ```
//!
//! **The driver's state is reachable only through the guard**: not from the
//! instance,
//!
//! ```compile_fail,E0599
//! # use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, ReloadCaps};
//! # #[derive(Default)] struct Nic { packets: u64 }
//! # struct Ops;
//! # impl DevlinkOps<Nic> for Ops { fn driver_name(&self) -> &'static str { "nic" } }
//! # static OPS: Ops = Ops;
//! # let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! # let b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! let dev = b.register();
//! dev.driver_mut().packets += 1; // no lock held
//! ```
//!
//! and a reference to it cannot outlive the guard (the lock),
//!
//! ```compile_fail,E0597
//! # use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, ReloadCaps};
//! # #[derive(Default)] struct Nic { packets: u64 }
//! # struct Ops;
//! # impl DevlinkOps<Nic> for Ops { fn driver_name(&self) -> &'static str { "nic" } }
//! # static OPS: Ops = Ops;
//! # let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! # let b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! let dev = b.register();
//! let nic: &Nic = {
//!     let g = dev.lock();
//!     g.driver()
//! }; // the guard, and the lock, end here
//! assert_eq!(nic.packets, 0);
//! ```
//!
//! nor can the guard move to another thread (the lock is released by the
//! thread that took it):
//!
//! ```compile_fail,E0277
//! # use devlink_core::{Builder, Capabilities, DevlinkOps, Handle, ReloadCaps};
//! # #[derive(Default)] struct Nic { packets: u64 }
//! # struct Ops;
//! # impl DevlinkOps<Nic> for Ops { fn driver_name(&self) -> &'static str { "nic" } }
//! # static OPS: Ops = Ops;
//! # let handle = Handle::new("pci", "0000:01:00.0").unwrap();
//! # let b = Builder::new(handle, &OPS, Capabilities::empty(), ReloadCaps::default(), Nic::default()).unwrap();
//! let dev = b.register();
//! std::thread::scope(|s| {
//!     let g = dev.lock();
//!     s.spawn(move || drop(g));
//! });
//! ```
//!
//! Taking the lock a second time on a thread that holds it cannot be refused
//! by the types (the `Arc<Instance>` is at hand inside an op); it panics with
//! a message instead of deadlocking, in release builds too
//! (`tests::lifetime::taking_the_lock_twice_on_one_thread_panics`).
