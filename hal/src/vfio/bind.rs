//! Moving a function between its kernel driver and vfio-pci (`cxu bind` /
//! `cxu unbind`), the way the kernel documents it: set `driver_override`, unbind
//! from the current driver, ask the PCI core to probe again.
//!
//! [`bind`] refuses, before changing anything, when the move would take down
//! something in use: a network interface of the function that is up, a block
//! device of the function (sysfs cannot tell whether one is mounted, swapped on,
//! held by dm/md or opened, so any block device is refused), or an IOMMU group
//! shared with devices whose drivers would make it unusable anyway. Only the
//! interfaces can be overridden ([`BindOptions::force`], `cxu -f bind`): the
//! user says the link may go; a disk's data or an unusable group may not.
//!
//! Every path comes from a [`Sysfs`] root and every write goes through a
//! [`SysfsWriter`], so the logic is tested against a fake tree whose writer plays
//! the kernel's part.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::preflight::{blocking_members, describe_members, is_vfio_pci_driver};
use super::sysfs::{read_text, Sysfs, VFIO_PCI};
use crate::{Error, PciAddress, Result};

/// `IFF_UP` in a network interface's `flags`.
const IFF_UP: u32 = 0x1;
/// Bound on the depth searched for block devices below a function.
const MAX_DEPTH: usize = 8;

/// Writes a value to a sysfs attribute.
pub trait SysfsWriter {
    /// Writes `value` to the attribute at `path`, in one `write(2)`.
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
}

/// [`SysfsWriter`] over the real files.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemWriter;

impl SysfsWriter for SystemWriter {
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        // Not `create`: a sysfs attribute that is missing is an error, not a new file.
        let mut f = OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    }
}

/// What [`bind`] or [`unbind`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The function.
    pub addr: PciAddress,
    /// The driver before (`None`: no driver).
    pub before: Option<String>,
    /// The driver now.
    pub after: Option<String>,
}

impl Outcome {
    /// Whether the function changed drivers.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// A network interface of the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInterface {
    /// Interface name (`enp3s0f0np0`).
    pub name: String,
    /// `operstate` (`up`, `down`, `unknown`, ...).
    pub operstate: String,
    /// Administratively up (`IFF_UP` in `flags`).
    pub admin_up: bool,
}

impl NetInterface {
    /// In use: administratively up or operationally up.
    pub fn in_use(&self) -> bool {
        self.admin_up || self.operstate == "up"
    }
}

/// The network interfaces under `dev_dir/net`.
pub fn net_interfaces(dev_dir: &Path) -> Result<Vec<NetInterface>> {
    let dir = dev_dir.join("net");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("read {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let operstate = read_text(&path.join("operstate"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let flags = read_text(&path.join("flags"))?;
        let flags = parse_hex(flags.trim()).ok_or_else(|| {
            Error::Vfio(format!(
                "{}/flags is {:?}, not a hex number",
                path.display(),
                flags.trim()
            ))
        })?;
        out.push(NetInterface {
            name,
            operstate,
            admin_up: flags & IFF_UP != 0,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok()
}

/// The block devices below `dev_dir` (a directory under a `block` directory, as
/// for SATA and virtio disks, or one with a `queue` directory, as for NVMe
/// namespaces). Symlinks are not followed.
pub fn block_devices(dev_dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![(dev_dir.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("read {}", dir.display()), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
            let Ok(ft) = entry.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let path = entry.path();
            let under_block = dir.file_name().is_some_and(|n| n == "block");
            if under_block || path.join("queue").is_dir() {
                found.push(entry.file_name().to_string_lossy().into_owned());
            } else if depth < MAX_DEPTH {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Why taking the function at `dev_dir` away from its driver would hurt, if it
/// would: the reasons, each with what to do.
pub fn in_use_reasons(sysfs: &Sysfs, addr: PciAddress, dev_dir: &Path) -> Result<Vec<String>> {
    let mut reasons = interfaces_up(dev_dir)?;
    reasons.extend(unforceable_reasons(sysfs, addr, dev_dir)?);
    Ok(reasons)
}

/// The network interfaces of the function that are up, each as a reason to
/// refuse with what to do.
fn interfaces_up(dev_dir: &Path) -> Result<Vec<String>> {
    Ok(net_interfaces(dev_dir)?
        .into_iter()
        .filter(NetInterface::in_use)
        .map(|nic| {
            format!(
                "network interface {} is up (operstate {}); take it down first \
                 (`ip link set {} down`) and check nothing depends on it, or take the \
                 function anyway with `cxu -f bind`",
                nic.name, nic.operstate, nic.name
            )
        })
        .collect())
}

/// The reasons `force` does not override: block devices, a shared IOMMU group.
fn unforceable_reasons(sysfs: &Sysfs, addr: PciAddress, dev_dir: &Path) -> Result<Vec<String>> {
    let mut reasons = Vec::new();
    let disks = block_devices(dev_dir)?;
    if !disks.is_empty() {
        reasons.push(format!(
            "it carries block device(s) {}; whether they are mounted or held cannot be \
             told from sysfs, so cxu will not unbind a storage controller",
            disks.join(", ")
        ));
    }
    if let Some(group) = sysfs.iommu_group_of(dev_dir)? {
        let others = blocking_members(&sysfs.group_members(group)?, &addr.to_string());
        if !others.is_empty() {
            reasons.push(format!(
                "IOMMU group {group} also holds {}, bound to drivers that do DMA; the group \
                 would not be usable through VFIO unless they are unbound too",
                describe_members(&others)
            ));
        }
    }
    Ok(reasons)
}

fn write(
    w: &dyn SysfsWriter,
    path: &Path,
    value: &str,
    addr: PciAddress,
    target: &str,
) -> Result<()> {
    w.write(path, value).map_err(|e| Error::BindFailed {
        addr: addr.to_string(),
        target: target.to_string(),
        reason: format!("writing {value:?} to {}: {e}", path.display()),
    })
}

fn unbind_path(dev_dir: &Path) -> PathBuf {
    dev_dir.join("driver/unbind")
}

/// How [`bind_with`] moves a function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BindOptions {
    /// Take the function even while a network interface of it is up (the
    /// interface goes away with its kernel driver), as `cxu -f bind`. Block
    /// devices and a shared IOMMU group still refuse.
    pub force: bool,
}

/// Binds the function at `addr` to vfio-pci. Does nothing when it already is.
pub fn bind(sysfs: &Sysfs, addr: PciAddress, w: &dyn SysfsWriter) -> Result<Outcome> {
    bind_with(sysfs, addr, w, BindOptions::default())
}

/// [`bind`] with [`BindOptions`].
pub fn bind_with(
    sysfs: &Sysfs,
    addr: PciAddress,
    w: &dyn SysfsWriter,
    opts: BindOptions,
) -> Result<Outcome> {
    let dir = sysfs.existing_function_dir(addr)?;
    let before = sysfs.driver_of(&dir)?;
    if before.as_deref().is_some_and(is_vfio_pci_driver) {
        return Ok(Outcome {
            addr,
            after: before.clone(),
            before,
        });
    }
    let up = interfaces_up(&dir)?;
    let mut reasons = unforceable_reasons(sysfs, addr, &dir)?;
    if opts.force {
        for r in &up {
            tracing::warn!(function = %addr, "forced: {r}");
        }
    } else {
        reasons.splice(0..0, up);
    }
    if !reasons.is_empty() {
        return Err(Error::BindRefused {
            addr: addr.to_string(),
            driver: before.unwrap_or_else(|| "no driver".into()),
            reason: reasons.join("; "),
        });
    }
    let vfio_dir = sysfs.driver_dir(VFIO_PCI);
    if !vfio_dir.is_dir() {
        return Err(Error::VfioMissing { path: vfio_dir });
    }
    let a = addr.to_string();
    write(w, &dir.join("driver_override"), VFIO_PCI, addr, VFIO_PCI)?;
    let moved = (|| {
        if before.is_some() {
            write(w, &unbind_path(&dir), &a, addr, VFIO_PCI)?;
        }
        write(w, &sysfs.drivers_probe(), &a, addr, VFIO_PCI)
    })();
    // Puts back what it can so the function is not left without a driver.
    let restore = || {
        let _ = w.write(&dir.join("driver_override"), "\n");
        let _ = w.write(&sysfs.drivers_probe(), &a);
        let now = sysfs.driver_of(&dir).ok().flatten();
        tracing::warn!(function = %addr, now = ?now, "bind to vfio-pci failed; override cleared and reprobed");
        now
    };
    if let Err(e) = moved {
        restore();
        return Err(e);
    }
    let after = sysfs.driver_of(&dir)?;
    if after.as_deref() != Some(VFIO_PCI) {
        let now = restore();
        return Err(Error::BindFailed {
            addr: a,
            target: VFIO_PCI.into(),
            reason: format!(
                "after drivers_probe it was bound to {} (see `dmesg`; vfio-pci refuses a \
                 function without an IOMMU group); driver_override was cleared and the \
                 function reprobed, it is now on {}",
                after.as_deref().unwrap_or("no driver"),
                now.as_deref().unwrap_or("no driver")
            ),
        });
    }
    tracing::info!(function = %addr, from = ?before, "bound to vfio-pci");
    Ok(Outcome {
        addr,
        before,
        after,
    })
}

/// Gives the function at `addr` back to its kernel driver: clears
/// `driver_override`, unbinds from vfio-pci and reprobes. A function not bound
/// to vfio-pci is left alone (a stale vfio-pci override is still cleared).
///
/// Unbinding blocks in the kernel while a process (a running cxu, QEMU) holds the
/// VFIO device open: stop it first.
pub fn unbind(sysfs: &Sysfs, addr: PciAddress, w: &dyn SysfsWriter) -> Result<Outcome> {
    let dir = sysfs.existing_function_dir(addr)?;
    let before = sysfs.driver_of(&dir)?;
    let a = addr.to_string();
    let override_set = sysfs
        .driver_override_of(&dir)?
        .is_some_and(|o| is_vfio_pci_driver(&o));
    if override_set {
        write(
            w,
            &dir.join("driver_override"),
            "\n",
            addr,
            "its kernel driver",
        )?;
    }
    if !before.as_deref().is_some_and(is_vfio_pci_driver) {
        return Ok(Outcome {
            addr,
            after: before.clone(),
            before,
        });
    }
    write(w, &unbind_path(&dir), &a, addr, "its kernel driver")?;
    write(w, &sysfs.drivers_probe(), &a, addr, "its kernel driver")?;
    let after = sysfs.driver_of(&dir)?;
    tracing::info!(function = %addr, now = ?after, "released from vfio-pci");
    Ok(Outcome {
        addr,
        before,
        after,
    })
}
