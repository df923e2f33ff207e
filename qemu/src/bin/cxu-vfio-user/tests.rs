//! The server over a real UNIX socket, driven by `vfio_user::Client` (the
//! crate's own client, no QEMU): regions, config space, the init segment, DMA
//! maps of a shared file and a command round trip through them, MSI-X lines,
//! reset. The server runs `Server::run` on a thread, exactly as `main` does.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cxu_hal::ifc::cmd_entry::{self as ce, CmdEntry, INLINE_SIZE};
use cxu_hal::ifc::header::{InHeader, OutHeader};
use cxu_hal::ifc::{iseg, CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::pci::config;
use cxu_qemu::model::TableMode;
use cxu_qemu::{Device, Profile};
use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD,
    VFIO_IRQ_SET_DATA_NONE, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_user::Client;
use vmm_sys_util::eventfd::EventFd;

use crate::backend::{AccessStats, Backend};
use crate::dma::DmaStats;
use crate::regions::{BAR0, CONFIG, ERR, MSIX};

/// A socket path in a directory of its own, removed with the returned guard: tests of one
/// binary run in parallel, and processes of several runs share the temp dir.
fn socket_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("cxu-vfu-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("server.sock");
    (dir, path)
}

/// A server thread and a connected client.
struct Fixture {
    device: Arc<Device>,
    client: Client,
    server: JoinHandle<(bool, AccessStats, DmaStats)>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new(profile: Profile) -> Self {
        let device = Arc::new(Device::new(profile, TableMode::HostVirtualized));
        let (dir, path) = socket_path();
        let server = crate::listen(&path, &device).unwrap();
        let mut backend = Backend::new(device.clone());
        let server = std::thread::spawn(move || {
            let r = server.run(&mut backend);
            backend.disconnect();
            (r.is_ok(), backend.access_stats(), backend.dma_stats())
        });
        let client = Client::new(&path).unwrap();
        Fixture {
            device,
            client,
            server,
            _dir: dir,
        }
    }

    /// Closes the connection; returns what the server counted.
    fn finish(self) -> (AccessStats, DmaStats) {
        self.client.shutdown().unwrap();
        drop(self.client);
        let (ok, access, dma) = self.server.join().unwrap();
        assert!(ok, "the server ended with an error");
        (access, dma)
    }

    fn config16(&mut self, off: u64) -> u16 {
        let mut b = [0u8; 2];
        self.client.region_read(CONFIG, off, &mut b).unwrap();
        u16::from_le_bytes(b)
    }

    fn bar0_be32(&mut self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        self.client.region_read(BAR0, off, &mut b).unwrap();
        u32::from_be_bytes(b)
    }

    fn write_bar0_be32(&mut self, off: u64, v: u32) {
        self.client
            .region_write(BAR0, off, &v.to_be_bytes())
            .unwrap();
    }

    fn bus_master_on(&mut self) {
        let cmd = self.config16(config::COMMAND.into())
            | config::COMMAND_MEMORY
            | config::COMMAND_BUS_MASTER;
        self.client
            .region_write(CONFIG, config::COMMAND.into(), &cmd.to_le_bytes())
            .unwrap();
    }

    fn wait_ready(&mut self) {
        let t = Instant::now();
        while self.bar0_be32(iseg::INITIALIZING.byte as u64) >> 31 != 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "firmware never booted"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Guest memory stand-in: an unlinked file, shared between the test and the server.
fn memory(len: u64) -> File {
    let f = tempfile::tempfile().unwrap();
    f.set_len(len).unwrap();
    f
}

#[test]
fn regions_irqs_and_config_space_come_from_the_model() {
    let mut f = Fixture::new(Profile::default());
    let bar0 = f.client.region(BAR0).unwrap();
    assert_eq!(bar0.size, f.device.bar0_size());
    assert_eq!(
        bar0.flags,
        VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
    );
    assert!(bar0.sparse_areas.is_empty(), "BAR0 must stay trapped");
    assert_eq!(f.client.region(CONFIG).unwrap().size, 4096);
    for empty in [1, 2, 3, 4, 5, 6, 8] {
        assert_eq!(f.client.region(empty).unwrap().size, 0, "region {empty}");
    }
    let msix = f.client.get_irq_info(MSIX).unwrap();
    assert_eq!((msix.count, msix.flags), (16, VFIO_IRQ_INFO_EVENTFD));
    assert_eq!(f.client.get_irq_info(0).unwrap().count, 0, "no INTx");
    assert_eq!(f.client.get_irq_info(ERR).unwrap().count, 1);

    assert_eq!(f.config16(config::VENDOR_ID.into()), 0x15B3);
    assert_eq!(f.config16(config::DEVICE_ID.into()), 0x1017);
    // Walk to the MSI-X capability: table and PBA in BAR0 (BIR 0) past the init segment.
    let mut ptr = u64::from(f.config16(config::CAPABILITIES_PTR.into()) & 0xFC);
    let mut found = None;
    for _ in 0..8 {
        let hdr = f.config16(ptr);
        if hdr as u8 == config::CAP_ID_MSIX {
            found = Some(ptr);
            break;
        }
        ptr = u64::from(hdr >> 8);
    }
    let cap = found.expect("no MSI-X capability");
    assert_eq!(f.config16(cap + 2) & config::MSIX_FLAGS_QSIZE, 15);
    let mut table = [0u8; 4];
    f.client.region_read(CONFIG, cap + 4, &mut table).unwrap();
    let table = u32::from_le_bytes(table);
    assert_eq!(table & 7, 0, "table BIR");
    assert!(u64::from(table & !7) >= iseg::ISEG_SIZE as u64);

    // The bus-master bit reaches the model (it gates DMA and MSI-X there).
    assert!(!f.device.iommu().bus_master());
    f.bus_master_on();
    assert!(f.device.iommu().bus_master());
    let (access, _) = f.finish();
    assert_eq!(access.config_writes, 1);
}

#[test]
fn bar0_reads_the_init_segment_and_boot_clears_initializing() {
    let mut f = Fixture::new(Profile {
        boot_time: Duration::from_millis(300),
        ..Profile::default()
    });
    let (fw, cmdif) = (f.bar0_be32(0), f.bar0_be32(4));
    assert_eq!((fw & 0xFFFF, fw >> 16), (16, 35), "fw_rev major.minor");
    assert_eq!(
        (cmdif >> 16, cmdif & 0xFFFF),
        (5, 2000),
        "cmdif_rev, subminor"
    );
    assert_eq!(
        f.bar0_be32(iseg::INITIALIZING.byte as u64) >> 31,
        1,
        "still booting"
    );
    f.wait_ready();
    // A read wider than a register is split and still returns the bytes in order.
    let mut wide = [0u8; 8];
    f.client.region_read(BAR0, 0, &mut wide).unwrap();
    assert_eq!(wide[..4], fw.to_be_bytes());
    assert_eq!(wide[4..], cmdif.to_be_bytes());
    let (access, _) = f.finish();
    assert!(access.bar0_reads >= 4);
}

const CMDQ_IOVA: u64 = 0x10_0000;

#[test]
fn a_nop_runs_through_dma_mapped_shared_memory() {
    let mut f = Fixture::new(Profile::default());
    let mem = memory(0x4000);
    f.bus_master_on();
    // Two maps of the same file (distinct descriptors on the wire).
    f.client
        .dma_map(0, CMDQ_IOVA, 0x2000, mem.as_raw_fd())
        .unwrap();
    f.client
        .dma_map(0x2000, CMDQ_IOVA + 0x2000, 0x2000, mem.as_raw_fd())
        .unwrap();
    assert_eq!(f.device.iommu().mappings(), 2);
    f.wait_ready();
    let (h, l) = iseg::cmdq_addr_words(CMDQ_IOVA, iseg::NicInterface::FullDriver).unwrap();
    f.write_bar0_be32(iseg::CMDQ_ADDR_H.byte as u64, h);
    f.write_bar0_be32(iseg::CMDQ_ADDR_L.byte as u64, l);

    // ENABLE_HCA in slot 0, then NOP in slot 2: 16-byte messages, both inline.
    // A state line after each shows that command alone.
    let lines = crate::state::StateLines::new(f.device.clone());
    let mut shown = Vec::new();
    for (slot, op, token) in [(0u64, Opcode::ENABLE_HCA, 0x11), (2, Opcode::NOP, 0x5A)] {
        let mut inline = [0u8; INLINE_SIZE];
        InHeader::new(op, 0).encode_into(&mut inline).unwrap();
        let entry = CmdEntry::new_request(inline, 16, 0, 16, 0, token).encode();
        mem.write_all_at(&entry, slot * 64).unwrap();
        f.write_bar0_be32(iseg::CMD_DBELL.byte as u64, 1 << slot);

        let t = Instant::now();
        let done = loop {
            let mut e = [0u8; 64];
            mem.read_exact_at(&mut e, slot * 64).unwrap();
            if !ce::owner_is_hw(e[ce::STATUS_OWN_OFFSET]) {
                break e;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "{op} never completed");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(
            ce::delivery_status(done[ce::STATUS_OWN_OFFSET]),
            DeliveryStatus::OK
        );
        let out = OutHeader::decode(&done[ce::OUT_INLINE..ce::OUT_INLINE + 16]).unwrap();
        assert_eq!((out.status, out.syndrome), (CmdStatus::OK, 0), "{op}");
        assert_eq!(done[0x3C], token, "token kept");
        shown.push(lines.take("x"));
    }
    assert_eq!(f.device.control().counters().commands_executed, 2);
    shown.push(lines.take("x"));
    let logs = [
        r#""commands_from":0,"commands":[[260,0,0,0]]"#,
        r#""commands_from":1,"commands":[[2061,0,0,0]]"#,
        r#""commands_from":2,"commands":[]"#,
    ];
    for (line, log) in shown.iter().zip(logs) {
        assert!(line.contains(log), "{line}");
    }

    // One range unmap takes both maps away; the device can no longer reach them.
    f.client.dma_unmap(CMDQ_IOVA, 0x4000).unwrap();
    assert_eq!(f.device.iommu().mappings(), 0);
    // An unmap of nothing is fine.
    f.client.dma_unmap(0x9000_0000, 0x1000).unwrap();
    let (_, dma) = f.finish();
    assert_eq!(
        (dma.maps, dma.unmaps, dma.unmapped_bytes, dma.files),
        (2, 2, 0x4000, 0)
    );
}

#[test]
fn msix_lines_follow_set_irqs() {
    let mut f = Fixture::new(Profile::default());
    let trigger = VFIO_IRQ_SET_ACTION_TRIGGER;
    f.bus_master_on();
    // QEMU's "enable MSI-X with no vector": count 1, no descriptor.
    f.client
        .set_irqs(MSIX, VFIO_IRQ_SET_DATA_EVENTFD | trigger, 0, 1, &[])
        .unwrap();
    assert!(f.device.msix().enabled());
    f.device.msix().raise(0, true);
    assert_eq!(
        f.device.msix().counters().dropped,
        1,
        "vector 0 has no line"
    );

    let efd = EventFd::new(libc::EFD_NONBLOCK).unwrap();
    f.client
        .set_irqs(
            MSIX,
            VFIO_IRQ_SET_DATA_EVENTFD | trigger,
            3,
            1,
            &[efd.as_raw_fd()],
        )
        .unwrap();
    f.device.msix().raise(3, true);
    assert_eq!(
        efd.read().unwrap(),
        1,
        "the model's interrupt reached our eventfd"
    );
    // Loopback trigger through the message itself.
    f.client
        .set_irqs(MSIX, VFIO_IRQ_SET_DATA_NONE | trigger, 3, 1, &[])
        .unwrap();
    assert_eq!(efd.read().unwrap(), 1);
    // A vector past the table is refused and changes nothing.
    f.client
        .set_irqs(
            MSIX,
            VFIO_IRQ_SET_DATA_EVENTFD | trigger,
            16,
            1,
            &[efd.as_raw_fd()],
        )
        .unwrap();
    assert!(f.device.msix().enabled());

    // Disable: DATA_NONE, count 0. Nothing fires any more.
    f.client
        .set_irqs(MSIX, VFIO_IRQ_SET_DATA_NONE | trigger, 0, 0, &[])
        .unwrap();
    assert!(!f.device.msix().enabled());
    f.device.msix().raise(3, true);
    assert!(efd.read().is_err(), "a disabled vector fired");
    assert_eq!(f.device.msix().counters().delivered, 2);
    f.finish();
}

#[test]
fn reset_reboots_the_firmware() {
    let mut f = Fixture::new(Profile {
        boot_time: Duration::from_millis(200),
        ..Profile::default()
    });
    f.wait_ready();
    f.client.reset().unwrap();
    assert_eq!(
        f.bar0_be32(iseg::INITIALIZING.byte as u64) >> 31,
        1,
        "reset must set initializing again"
    );
    f.wait_ready();
    let (access, _) = f.finish();
    assert_eq!(access.resets, 1);
}

#[test]
fn a_closed_connection_leaves_nothing_mapped() {
    let mut f = Fixture::new(Profile::default());
    let mem = memory(0x1000);
    f.client
        .dma_map(0, 0x20_0000, 0x1000, mem.as_raw_fd())
        .unwrap();
    let device = f.device.clone();
    assert_eq!(device.iommu().mappings(), 1);
    let (_, dma) = f.finish();
    assert_eq!(device.iommu().mappings(), 0);
    assert_eq!((dma.maps, dma.files), (1, 0));
}

#[test]
fn a_stale_socket_is_replaced_and_any_other_file_is_refused() {
    let device = Arc::new(Device::new(Profile::default(), TableMode::HostVirtualized));
    let (_dir, path) = socket_path();
    // A socket left behind by a killed server: bound, then the listener dropped.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = crate::listen(&path, &device).expect("stale socket replaced");
    drop(server);
    assert!(!path.exists(), "the server removes its socket when dropped");

    std::fs::write(&path, b"not a socket").unwrap();
    let e = crate::listen(&path, &device)
        .err()
        .expect("a regular file is refused");
    assert!(e.contains("not a socket"), "{e}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn latency_options_parse_hex_and_decimal() {
    assert_eq!(
        crate::parse_latency("0x102=50"),
        Ok((Opcode::INIT_HCA, Duration::from_millis(50)))
    );
    assert_eq!(
        crate::parse_latency("264=7"),
        Ok((Opcode::MANAGE_PAGES, Duration::from_millis(7)))
    );
    for bad in ["0x102", "0x10000=1", "x=1", "0x102=soon"] {
        assert!(crate::parse_latency(bad).is_err(), "{bad}");
    }
}
