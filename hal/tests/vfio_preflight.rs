//! The checks made before opening a function through VFIO, against a fake sysfs
//! and /dev/vfio: every failure has its own error, and its message says what to do.

mod vfio_fake;

use std::fs::File;
use std::io;
use std::path::Path;

use cxu_hal::vfio::preflight::{map_open_error, NodeOpener};
use cxu_hal::vfio::{preflight, Sysfs, SystemOpener};
use cxu_hal::{Error, PciAddress};
use vfio_fake::FakeTree;

const ADDR: &str = "0000:03:00.0";

fn addr() -> PciAddress {
    ADDR.parse().unwrap()
}

/// Fails every open with one errno, as the kernel would for a node we may not open.
struct FailingOpener(i32);

impl NodeOpener for FailingOpener {
    fn open_rw(&self, _path: &Path) -> io::Result<File> {
        Err(io::Error::from_raw_os_error(self.0))
    }
}

fn run(t: &FakeTree, opener: &dyn NodeOpener) -> cxu_hal::Result<cxu_hal::vfio::Preflight> {
    preflight(&Sysfs::new(&t.sys), &t.dev, addr(), opener)
}

/// A tree where everything is right: the function on vfio-pci, alone in group 12
/// with a PCIe root port, the nodes present.
fn good_tree() -> FakeTree {
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), Some(12));
    t.function("0000:00:01.0", Some("pcieport"), Some(12));
    t.vfio_nodes(&[12]);
    t
}

#[test]
fn a_good_function_passes_with_its_group_and_node() {
    let t = good_tree();
    let p = run(&t, &SystemOpener).unwrap();
    assert_eq!(p.group, 12);
    assert_eq!(p.driver, "vfio-pci");
    assert_eq!(p.group_node, t.dev.join("12"));
    assert!(p.device_dir.ends_with("bus/pci/devices/0000:03:00.0"));
}

#[test]
fn a_missing_function_says_how_to_find_the_address() {
    let t = good_tree();
    let e = preflight(
        &Sysfs::new(&t.sys),
        &t.dev,
        "0000:04:00.0".parse().unwrap(),
        &SystemOpener,
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::FunctionNotFound { addr, .. } if addr == "0000:04:00.0"),
        "{e}"
    );
    assert!(e.to_string().contains("lspci -D"), "{e}");
}

#[test]
fn no_driver_says_to_bind() {
    let t = FakeTree::new();
    t.function(ADDR, None, Some(12));
    t.vfio_nodes(&[12]);
    let e = run(&t, &SystemOpener).unwrap_err();
    assert!(matches!(e, Error::NoDriver { .. }), "{e}");
    assert!(e.to_string().contains("cxu bind 0000:03:00.0"), "{e}");
}

#[test]
fn another_driver_is_named_and_the_fix_given() {
    let t = FakeTree::new();
    t.function(ADDR, Some("mlx5_core"), Some(12));
    t.vfio_nodes(&[12]);
    let e = run(&t, &SystemOpener).unwrap_err();
    assert!(
        matches!(&e, Error::NotBoundToVfio { driver, .. } if driver == "mlx5_core"),
        "{e}"
    );
    let m = e.to_string();
    assert!(
        m.contains("mlx5_core") && m.contains("cxu bind 0000:03:00.0"),
        "{m}"
    );
}

#[test]
fn a_vfio_pci_variant_driver_is_accepted() {
    let t = FakeTree::new();
    t.function(ADDR, Some("mlx5_vfio_pci"), Some(12));
    t.vfio_nodes(&[12]);
    assert_eq!(run(&t, &SystemOpener).unwrap().driver, "mlx5_vfio_pci");
}

#[test]
fn no_iommu_group_says_to_enable_the_iommu_and_warns_about_noiommu() {
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), None);
    t.vfio_nodes(&[]);
    let e = run(&t, &SystemOpener).unwrap_err();
    assert!(matches!(e, Error::NoIommu { .. }), "{e}");
    let m = e.to_string();
    assert!(m.contains("intel_iommu=on") && m.contains("unsafe"), "{m}");
}

#[test]
fn a_group_shared_with_a_kernel_driver_lists_the_culprits() {
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), Some(7));
    t.function("0000:03:00.1", Some("snd_hda_intel"), Some(7));
    t.function("0000:03:00.2", None, Some(7)); // unbound: fine
    t.function("0000:03:00.3", Some("pci-stub"), Some(7)); // stub: fine
    t.function("0000:00:1c.0", Some("pcieport"), Some(7)); // bridge: fine
    t.function("0000:03:00.4", Some("vfio-pci"), Some(7)); // fine
    t.function("0000:03:00.5", Some("xhci_hcd"), Some(7));
    t.vfio_nodes(&[7]);
    let e = run(&t, &SystemOpener).unwrap_err();
    match &e {
        Error::GroupNotViable { group, others, .. } => {
            assert_eq!(*group, 7);
            assert_eq!(
                others,
                "0000:03:00.1 (snd_hda_intel), 0000:03:00.5 (xhci_hcd)"
            );
        }
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .contains("bound to vfio-pci or have no driver"),
        "{e}"
    );
}

#[test]
fn no_container_node_says_to_load_vfio_pci() {
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), Some(12));
    let e = run(&t, &SystemOpener).unwrap_err();
    assert!(
        matches!(&e, Error::VfioMissing { path } if *path == t.dev.join("vfio")),
        "{e}"
    );
    assert!(e.to_string().contains("modprobe vfio-pci"), "{e}");
}

#[test]
fn a_missing_group_node_points_at_dev_not_at_the_module() {
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), Some(12));
    t.vfio_nodes(&[]);
    let e = run(&t, &SystemOpener).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, Error::Vfio(_)), "{m}");
    assert!(m.contains("/dev/vfio/12") || m.contains("vfio/12"), "{m}");
    assert!(m.contains("--device /dev/vfio/12"), "{m}");
}

#[test]
fn permission_denied_says_to_run_as_root_or_grant_access() {
    let t = good_tree();
    for errno in [libc::EACCES, libc::EPERM] {
        let e = run(&t, &FailingOpener(errno)).unwrap_err();
        assert!(
            matches!(&e, Error::PermissionDenied { path } if *path == t.dev.join("12")),
            "{e}"
        );
        let m = e.to_string();
        assert!(
            m.contains("run as root") && m.contains("RLIMIT_MEMLOCK"),
            "{m}"
        );
    }
}

#[test]
fn a_busy_group_says_who_may_hold_it() {
    let t = good_tree();
    let e = run(&t, &FailingOpener(libc::EBUSY)).unwrap_err();
    assert!(
        matches!(&e, Error::Busy { path } if *path == t.dev.join("12")),
        "{e}"
    );
    assert!(e.to_string().contains("another process"), "{e}");
}

#[test]
fn errno_mapping_covers_the_open_failures() {
    let p = Path::new("/dev/vfio/3");
    let e = |n| map_open_error(p, io::Error::from_raw_os_error(n));
    assert!(matches!(e(libc::ENOENT), Error::VfioMissing { .. }));
    assert!(matches!(e(libc::ENODEV), Error::VfioMissing { .. }));
    assert!(matches!(e(libc::EACCES), Error::PermissionDenied { .. }));
    assert!(matches!(e(libc::EPERM), Error::PermissionDenied { .. }));
    assert!(matches!(e(libc::EBUSY), Error::Busy { .. }));
    let other = e(libc::EIO);
    assert!(matches!(other, Error::Io { .. }));
    assert!(other.to_string().contains("/dev/vfio/3"), "{other}");
}

#[test]
fn checks_run_in_the_order_a_user_fixes_them() {
    // Wrong driver AND no IOMMU AND no nodes: the driver is reported first.
    let t = FakeTree::new();
    t.function(ADDR, Some("mlx5_core"), None);
    assert!(matches!(
        run(&t, &SystemOpener),
        Err(Error::NotBoundToVfio { .. })
    ));
    // Bad group AND no nodes: the group first.
    let t = FakeTree::new();
    t.function(ADDR, Some("vfio-pci"), Some(2));
    t.function("0000:03:00.1", Some("e1000e"), Some(2));
    assert!(matches!(
        run(&t, &SystemOpener),
        Err(Error::GroupNotViable { .. })
    ));
}
