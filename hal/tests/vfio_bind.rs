//! `cxu bind` / `cxu unbind` logic against a fake sysfs whose writer plays the
//! kernel: `driver/unbind` drops the driver link, `drivers_probe` binds to the
//! `driver_override` driver or else to the function's native driver.

mod vfio_fake;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cxu_hal::vfio::bind::{self, block_devices, net_interfaces, SysfsWriter};
use cxu_hal::vfio::Sysfs;
use cxu_hal::{Error, PciAddress};
use vfio_fake::FakeTree;

const ADDR: &str = "0000:03:00.0";

fn addr() -> PciAddress {
    ADDR.parse().unwrap()
}

/// Plays the kernel for the sysfs writes and records them.
struct KernelSim<'a> {
    tree: &'a FakeTree,
    /// The driver each function binds to when no override is set.
    native: HashMap<String, String>,
    /// How many drivers_probe writes bind nothing (a driver refusing the device).
    probes_refused: Mutex<u32>,
    /// Writes to this path fail with EIO.
    fail_on: Option<PathBuf>,
    log: Mutex<Vec<(String, String)>>,
}

impl<'a> KernelSim<'a> {
    fn new(tree: &'a FakeTree) -> Self {
        KernelSim {
            tree,
            native: HashMap::from([(ADDR.to_string(), "mlx5_core".to_string())]),
            probes_refused: Mutex::new(0),
            fail_on: None,
            log: Mutex::new(Vec::new()),
        }
    }

    /// The writes as (path relative to sysfs, value).
    fn writes(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }
}

impl SysfsWriter for KernelSim<'_> {
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        if self.fail_on.as_deref() == Some(path) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let rel = path
            .strip_prefix(&self.tree.sys)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        self.log.lock().unwrap().push((rel, value.to_string()));
        let name = path.file_name().unwrap().to_str().unwrap();
        match name {
            "driver_override" => {
                let v = value.trim();
                std::fs::write(
                    path,
                    if v.is_empty() {
                        "(null)\n".to_string()
                    } else {
                        format!("{v}\n")
                    },
                )?;
            }
            "unbind" => {
                std::fs::remove_file(self.tree.real_dir(value).join("driver"))?;
            }
            "drivers_probe" => {
                let dir = self.tree.real_dir(value);
                if dir.join("driver").symlink_metadata().is_ok() {
                    return Ok(());
                }
                let mut refused = self.probes_refused.lock().unwrap();
                if *refused > 0 {
                    *refused -= 1;
                    return Ok(());
                }
                let over = std::fs::read_to_string(dir.join("driver_override"))?;
                let over = over.trim();
                let target = if over == "(null)" {
                    self.native.get(value).cloned()
                } else {
                    Some(over.to_string())
                };
                if let Some(t) = target {
                    if self.tree.sys.join("bus/pci/drivers").join(&t).is_dir() {
                        self.tree.bind_link(value, &t);
                    }
                }
            }
            _ => std::fs::write(path, value)?,
        }
        Ok(())
    }
}

fn tree_on(driver: &str) -> FakeTree {
    let t = FakeTree::new();
    t.function(ADDR, Some(driver), Some(12));
    t.driver("vfio-pci");
    t.driver("mlx5_core");
    t
}

fn driver_now(t: &FakeTree) -> Option<String> {
    Sysfs::new(&t.sys).driver_of(&t.real_dir(ADDR)).unwrap()
}

#[test]
fn bind_moves_the_function_to_vfio_pci_the_documented_way() {
    let t = tree_on("mlx5_core");
    t.net(ADDR, "enp3s0f0np0", "down", "0x1002");
    let k = KernelSim::new(&t);
    let out = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap();
    assert_eq!(out.before.as_deref(), Some("mlx5_core"));
    assert_eq!(out.after.as_deref(), Some("vfio-pci"));
    assert!(out.changed());
    let expect = |p: &str, v: &str| (p.to_string(), v.to_string());
    assert_eq!(
        k.writes(),
        vec![
            expect("bus/pci/devices/0000:03:00.0/driver_override", "vfio-pci"),
            expect("bus/pci/devices/0000:03:00.0/driver/unbind", ADDR),
            expect("bus/pci/drivers_probe", ADDR),
        ]
    );
    assert_eq!(driver_now(&t).as_deref(), Some("vfio-pci"));
}

#[test]
fn unbind_gives_the_function_back_to_its_driver() {
    let t = tree_on("mlx5_core");
    let k = KernelSim::new(&t);
    let sysfs = Sysfs::new(&t.sys);
    bind::bind(&sysfs, addr(), &k).unwrap();
    let k = KernelSim::new(&t);
    let out = bind::unbind(&sysfs, addr(), &k).unwrap();
    assert_eq!(out.before.as_deref(), Some("vfio-pci"));
    assert_eq!(out.after.as_deref(), Some("mlx5_core"));
    let w = k.writes();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].0.ends_with("driver_override") && w[0].1 == "\n",
        "{w:?}"
    );
    assert!(w[1].0.ends_with("driver/unbind") && w[1].1 == ADDR, "{w:?}");
    assert_eq!(
        w[2],
        ("bus/pci/drivers_probe".to_string(), ADDR.to_string())
    );
    assert_eq!(
        sysfs.driver_override_of(&t.real_dir(ADDR)).unwrap(),
        None,
        "driver_override left set"
    );
}

#[test]
fn an_interface_that_is_up_stops_bind_before_any_write() {
    for (operstate, flags) in [("up", "0x1003"), ("down", "0x1003"), ("up", "0x1002")] {
        let t = tree_on("mlx5_core");
        t.net(ADDR, "eth0", operstate, flags);
        let k = KernelSim::new(&t);
        let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
        assert!(
            matches!(&e, Error::BindRefused { driver, .. } if driver == "mlx5_core"),
            "{e}"
        );
        let m = e.to_string();
        assert!(
            m.contains("eth0") && m.contains("ip link set eth0 down"),
            "{m}"
        );
        assert!(m.contains("Nothing was changed"), "{m}");
        assert!(k.writes().is_empty());
        assert_eq!(driver_now(&t).as_deref(), Some("mlx5_core"));
    }
}

#[test]
fn force_takes_a_function_whose_interface_is_up_but_not_its_disks() {
    let t = tree_on("mlx5_core");
    t.net(ADDR, "eth0", "up", "0x1003");
    let k = KernelSim::new(&t);
    let force = bind::BindOptions { force: true };
    let out = bind::bind_with(&Sysfs::new(&t.sys), addr(), &k, force).unwrap();
    assert_eq!(
        (out.before.as_deref(), out.after.as_deref()),
        (Some("mlx5_core"), Some("vfio-pci"))
    );
    assert_eq!(k.writes().len(), 3, "{:?}", k.writes());
    // Without force the same tree is refused (the test above), and the
    // refusal says how to force it.
    let t = tree_on("mlx5_core");
    t.net(ADDR, "eth0", "up", "0x1003");
    let e = bind::bind(&Sysfs::new(&t.sys), addr(), &KernelSim::new(&t)).unwrap_err();
    assert!(e.to_string().contains("cxu -f bind"), "{e}");
    // Force does not override a block device: its data is not the user's to
    // lose by a flag meant for a link.
    let t = tree_on("mlx5_core");
    t.net(ADDR, "eth0", "up", "0x1003");
    t.subdir(ADDR, "nvme/nvme0/nvme0n1/queue");
    let k = KernelSim::new(&t);
    let e = bind::bind_with(&Sysfs::new(&t.sys), addr(), &k, force).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, Error::BindRefused { .. }), "{m}");
    assert!(m.contains("nvme0n1") && !m.contains("eth0"), "{m}");
    assert!(k.writes().is_empty());
    assert_eq!(driver_now(&t).as_deref(), Some("mlx5_core"));
}

#[test]
fn block_devices_stop_bind() {
    // An NVMe namespace (has a queue directory) and a SATA disk under block/.
    for (sub, disk) in [
        ("nvme/nvme0/nvme0n1/queue", "nvme0n1"),
        ("ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1", "sda"),
    ] {
        let t = tree_on("nvme");
        t.subdir(ADDR, sub);
        let k = KernelSim::new(&t);
        let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
        assert!(matches!(e, Error::BindRefused { .. }), "{e}");
        assert!(e.to_string().contains(disk), "{e}");
        assert!(k.writes().is_empty());
    }
}

#[test]
fn a_group_shared_with_kernel_drivers_stops_bind() {
    let t = tree_on("mlx5_core");
    t.function("0000:03:00.1", Some("mlx5_core"), Some(12));
    t.function("0000:00:01.0", Some("pcieport"), Some(12));
    let k = KernelSim::new(&t);
    let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("IOMMU group 12") && m.contains("0000:03:00.1 (mlx5_core)"),
        "{m}"
    );
    assert!(!m.contains("pcieport"), "{m}");
    assert!(k.writes().is_empty());
}

#[test]
fn bind_without_the_vfio_pci_module_says_to_load_it() {
    let t = FakeTree::new();
    t.function(ADDR, Some("mlx5_core"), Some(12));
    let k = KernelSim::new(&t);
    let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
    assert!(matches!(e, Error::VfioMissing { .. }), "{e}");
    assert!(e.to_string().contains("modprobe vfio-pci"), "{e}");
    assert!(k.writes().is_empty());
}

#[test]
fn bind_of_an_unbound_function_only_probes() {
    let t = FakeTree::new();
    t.function(ADDR, None, Some(12));
    t.driver("vfio-pci");
    let k = KernelSim::new(&t);
    let out = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap();
    assert_eq!((out.before, out.after.as_deref()), (None, Some("vfio-pci")));
    let w = k.writes();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(!w.iter().any(|(p, _)| p.ends_with("unbind")), "{w:?}");
}

#[test]
fn bind_and_unbind_are_no_ops_when_already_there() {
    let t = tree_on("vfio-pci");
    let k = KernelSim::new(&t);
    let out = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap();
    assert!(!out.changed());
    assert!(k.writes().is_empty());

    let t = tree_on("mlx5_core");
    let k = KernelSim::new(&t);
    let out = bind::unbind(&Sysfs::new(&t.sys), addr(), &k).unwrap();
    assert!(!out.changed());
    assert!(k.writes().is_empty());
}

#[test]
fn a_probe_that_does_not_bind_is_reported_and_the_override_undone() {
    let t = tree_on("mlx5_core");
    let k = KernelSim::new(&t);
    *k.probes_refused.lock().unwrap() = 1;
    let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
    assert!(
        matches!(&e, Error::BindFailed { target, .. } if target == "vfio-pci"),
        "{e}"
    );
    let m = e.to_string();
    assert!(
        m.contains("dmesg") && m.contains("it is now on mlx5_core"),
        "{m}"
    );
    assert_eq!(driver_now(&t).as_deref(), Some("mlx5_core"));
    let sysfs = Sysfs::new(&t.sys);
    assert_eq!(sysfs.driver_override_of(&t.real_dir(ADDR)).unwrap(), None);
}

#[test]
fn a_failed_write_names_the_attribute_and_restores_the_override() {
    let t = tree_on("mlx5_core");
    let mut k = KernelSim::new(&t);
    k.fail_on = Some(t.sys.join("bus/pci/drivers_probe"));
    let e = bind::bind(&Sysfs::new(&t.sys), addr(), &k).unwrap_err();
    assert!(matches!(e, Error::BindFailed { .. }), "{e}");
    assert!(e.to_string().contains("drivers_probe"), "{e}");
    // The override write before the failure, then its undo.
    let w = k.writes();
    assert_eq!(w.first().map(|x| x.1.as_str()), Some("vfio-pci"), "{w:?}");
    assert!(
        w.iter()
            .any(|(p, v)| p.ends_with("driver_override") && v == "\n"),
        "{w:?}"
    );
    let sysfs = Sysfs::new(&t.sys);
    assert_eq!(sysfs.driver_override_of(&t.real_dir(ADDR)).unwrap(), None);
}

#[test]
fn net_and_block_discovery_read_what_sysfs_shows() {
    let t = tree_on("mlx5_core");
    t.net(ADDR, "eth1", "down", "0x1002");
    t.net(ADDR, "eth0", "up", "0x1003");
    let nics = net_interfaces(&t.real_dir(ADDR)).unwrap();
    assert_eq!(nics.len(), 2);
    assert_eq!((nics[0].name.as_str(), nics[0].in_use()), ("eth0", true));
    assert_eq!((nics[1].name.as_str(), nics[1].in_use()), ("eth1", false));
    assert!(block_devices(&t.real_dir(ADDR)).unwrap().is_empty());
    t.subdir(ADDR, "virtio0/block/vda");
    assert_eq!(block_devices(&t.real_dir(ADDR)).unwrap(), vec!["vda"]);
    t.net(ADDR, "bad0", "up", "zz");
    assert!(net_interfaces(&t.real_dir(ADDR)).is_err());
}
