//! The submitter against the in-process device model: bring-up, chains in both
//! directions, the ownership handoff, and what it refuses.

use std::sync::Arc;
use std::time::Duration;

use cxu_dma::{DmaContext, PageSize};
use cxu_hal::ifc::mailbox::{self as mb, BLOCK_ALIGN};
use cxu_hal::ifc::{CmdStatus, DeliveryStatus, Opcode};
use cxu_hal::PciFunction;
use cxu_qemu::model::{Control, Fault, Profile};
use cxu_qemu::LocalFunction;
use cxu_testkit::{msg, Error, Layout, Submitter};

fn ready() -> (Submitter<cxu_dma::DmaRegion>, Control) {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    f.set_bus_master(true).unwrap();
    let ctl = f.control();
    let dma = DmaContext::new(f).unwrap();
    let s = Submitter::alloc(&dma, Layout::new(32, 16).unwrap()).unwrap();
    s.wait_ready(Duration::from_secs(5)).unwrap();
    let iova = s.program_cmdq().unwrap();
    assert_eq!(ctl.cmdq_addr(), iova);
    (s, ctl)
}

#[test]
fn brings_the_hca_up_and_reads_long_output() {
    let (s, ctl) = ready();
    s.simple(Opcode::ENABLE_HCA, 0).unwrap().check().unwrap();
    let pages = s.dma().alloc(64 * 4096, PageSize::Base4K).unwrap();
    let given = s.init_hca(&pages).unwrap();
    assert!(given > 0);
    assert_eq!(ctl.pages().len(), given);
    assert_eq!(ctl.pages()[0], pages.iova());

    // QUERY_HCA_CAP: 4112 bytes back in 8 blocks, each with the command's token.
    let p = s
        .prepare(3, &msg(Opcode::QUERY_HCA_CAP, 1, 16), 16 + 4096)
        .unwrap();
    assert_eq!(p.out_blocks.len(), 8);
    assert_eq!(
        p.out_blocks[0].iova,
        s.mbox()
            .iova_at(3 * 32 * BLOCK_ALIGN + 16 * BLOCK_ALIGN)
            .unwrap()
    );
    s.post(&p).unwrap();
    let c = s.wait(&p, Duration::from_secs(5)).unwrap();
    c.check().unwrap();
    for (i, b) in c.out_blocks.iter().enumerate() {
        let ctrl = mb::BlockCtrl::decode(b).unwrap();
        assert_eq!((ctrl.token, ctrl.block_num), (p.token, i as u32));
    }
    // num_ports sits in the first output block (cap dword 0x34 -> message 0x44).
    assert_eq!(c.out[0x47], 1);
}

#[test]
fn a_long_input_arrives_whole() {
    let (s, ctl) = ready();
    s.simple(Opcode::ENABLE_HCA, 0).unwrap().check().unwrap();
    // 16 + 8 * 200 bytes: 4 input blocks.
    let pages = s.dma().alloc(200 * 4096, PageSize::Base4K).unwrap();
    s.give_pages(&pages, 0, 200).unwrap().check().unwrap();
    let held = ctl.pages();
    assert_eq!(held.len(), 200);
    assert_eq!(held[199], pages.iova_at(199 * 4096).unwrap());
}

#[test]
fn failures_come_back_as_typed_errors() {
    let (s, ctl) = ready();
    // Before ENABLE_HCA, firmware refuses most commands.
    let c = s.simple(Opcode::QUERY_ADAPTER, 0).unwrap();
    assert!(matches!(c.check(), Err(Error::Status { status, .. }) if status != CmdStatus::OK));

    let mut p = s.prepare(1, &msg(Opcode::NOP, 0, 16), 16).unwrap();
    p.entry[0] = 6;
    cxu_hal::ifc::cmd_entry::sign(&mut p.entry);
    s.post(&p).unwrap();
    let c = s.wait(&p, Duration::from_secs(5)).unwrap();
    assert_eq!(c.ds, DeliveryStatus::BAD_TYPE);
    assert!(matches!(
        c.check(),
        Err(Error::Delivery(DeliveryStatus::BAD_TYPE))
    ));

    ctl.inject(Some(Opcode::NOP), Fault::NeverComplete, Some(1));
    let p = s.prepare(2, &msg(Opcode::NOP, 0, 16), 16).unwrap();
    s.post(&p).unwrap();
    let e = s.wait(&p, Duration::from_millis(50)).unwrap_err();
    assert!(matches!(e, Error::Timeout { slot: 2, .. }), "{e}");
    assert!(s.hw_owned(2).unwrap());

    let e = s.prepare(32, &msg(Opcode::NOP, 0, 16), 16).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Slot {
                slot: 32,
                slots: 32
            }
        ),
        "{e}"
    );
    let e = s
        .prepare(0, &msg(Opcode::NOP, 0, 16 + 16 * 512 + 1), 16)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLong {
                blocks: 17,
                max: 16,
                ..
            }
        ),
        "{e}"
    );
    let c = s.simple(Opcode::NOP, 0).unwrap();
    assert!(matches!(
        c.be32_at(14),
        Err(Error::ShortOutput {
            offset: 14,
            len: 16
        })
    ));
}

#[test]
fn memory_smaller_than_the_layout_is_refused() {
    let f = Arc::new(LocalFunction::new(Profile::default()));
    let dma = DmaContext::new(f.clone()).unwrap();
    let page = dma.alloc(4096, PageSize::Base4K).unwrap();
    let mbox = dma.alloc(4096, PageSize::Base4K).unwrap();
    let e = Submitter::new(
        f.bar(0).unwrap(),
        page,
        mbox,
        Layout {
            slots: 32,
            chain_blocks: 1,
        },
    )
    .err()
    .unwrap();
    assert!(
        matches!(
            e,
            Error::MemoryTooSmall {
                what: "mailbox",
                need: 65536,
                have: 4096
            }
        ),
        "{e}"
    );
    assert!(matches!(
        Layout::new(33, 1),
        Err(Error::Slots { slots: 33 })
    ));
}
