//! Whatever a driver writes, the model neither panics nor hangs: random inputs
//! to every implemented command, and random command entries, all complete
//! (with a result or a delivery error) and leave the device working.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use cxu_hal::ifc::cmd_entry as ce;
use cxu_hal::ifc::{DeliveryStatus, Opcode};
use cxu_qemu::model::Profile;
use proptest::prelude::*;

const WAIT: Duration = Duration::from_secs(5);

const OPCODES: &[Opcode] = cxu_hal::ifc::commands::LAID_OUT;

/// One device for all cases, brought up so that most commands reach their handler.
fn harness() -> &'static Harness {
    static H: OnceLock<(Harness, DmaMem)> = OnceLock::new();
    let (h, _pages) = H.get_or_init(|| {
        let h = Harness::new(Profile {
            boot_time: Duration::ZERO,
            ..Profile::default()
        });
        let pages = DmaMem::new(&h.f, PAGES_IOVA, 64 * 4096);
        h.bring_up(&pages);
        (h, pages)
    });
    h
}

/// The device still answers: a NOP completes (its status depends on the HCA
/// state the random commands left).
fn still_alive(h: &Harness) {
    let p = h.prepare(30, &msg(Opcode::NOP, 0, 16), 16);
    h.post(&p);
    let c = h.wait(&p, WAIT).expect("the model stopped answering");
    assert_eq!(c.ds, DeliveryStatus::OK);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_command_inputs_complete(
        op in prop::sample::select(OPCODES),
        op_mod in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..1500),
        outlen in 8usize..5000,
        slot in 0u32..30,
    ) {
        let h = harness();
        let mut m = msg(op, op_mod % 4, 16 + body.len());
        m[8..8 + body.len().min(8)].copy_from_slice(&body[..body.len().min(8)]);
        m[16..].copy_from_slice(&body);
        let p = h.prepare(slot, &m, outlen);
        h.post(&p);
        let c = h.wait(&p, WAIT);
        prop_assert!(c.is_some(), "{op} did not complete");
        still_alive(h);
    }

    #[test]
    fn random_entries_complete(
        raw in prop::collection::vec(any::<u8>(), 64),
        inlen in prop::sample::select(vec![0u32, 7, 8, 16, 17, 600, 4112, 0x20_0000, u32::MAX]),
        outlen in prop::sample::select(vec![0u32, 8, 16, 17, 600, 4112, 0x20_0000, u32::MAX]),
        in_ptr in prop::sample::select(vec![0u64, MBOX_IOVA, MBOX_IOVA + 0x400, MBOX_IOVA + 8, 0x7000_0000, u64::MAX - 1023]),
        out_ptr in prop::sample::select(vec![0u64, MBOX_IOVA + 0x8000, MBOX_IOVA + 0x200, 0x7000_0000, u64::MAX - 1023]),
        checksum_ok in any::<bool>(),
    ) {
        let h = harness();
        let mut e: [u8; 64] = raw.try_into().unwrap();
        e[0x04..0x08].copy_from_slice(&inlen.to_be_bytes());
        e[0x08..0x10].copy_from_slice(&in_ptr.to_be_bytes());
        e[0x30..0x38].copy_from_slice(&out_ptr.to_be_bytes());
        e[0x38..0x3C].copy_from_slice(&outlen.to_be_bytes());
        if e[0] >= 16 {
            // Mostly a valid type, so the checks behind it are reached.
            e[0] = ce::PCI_CMD_XPORT;
        }
        e[ce::STATUS_OWN_OFFSET] |= ce::OWNER_HW;
        if checksum_ok {
            ce::sign(&mut e);
        }
        let p = Prepared::raw(29, e);
        h.post(&p);
        prop_assert!(h.wait(&p, WAIT).is_some(), "entry did not complete");
        still_alive(h);
    }
}
