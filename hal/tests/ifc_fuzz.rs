//! Hostile input: every `ifc` decoder fed arbitrary bytes must return `Ok` or an
//! `Err`, never panic, and never allocate based on an unchecked count. Plus
//! property round trips for the encoders.

use cxu_hal::ifc::caps::HcaCap;
use cxu_hal::ifc::cmd_entry::{self, CmdEntry};
use cxu_hal::ifc::commands::{access_reg, caps, eq, hca, pages, uar, LAID_OUT};
use cxu_hal::ifc::eq::{EqContext, EventMask};
use cxu_hal::ifc::eqe::{self, Eqe};
use cxu_hal::ifc::mailbox::{self, BlockCtrl};
use cxu_hal::ifc::regs::{hpkt, htgt, mcc, mcda, mcqi, paos, ppcnt, qpcr};
use cxu_hal::ifc::{iseg, Field, InHeader, OutHeader};
use proptest::prelude::*;

/// Bytes whose first dword often carries a real opcode, so command decoders get
/// past the opcode check and exercise their bodies.
fn command_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Every opcode ifc lays out (the list the fuzz crate indexes too).
    let ops = prop::sample::select(LAID_OUT);
    (ops, prop::collection::vec(any::<u8>(), 0..4200)).prop_map(|(op, mut b)| {
        if b.len() >= 2 {
            b[..2].copy_from_slice(&op.0.to_be_bytes());
        }
        b
    })
}

fn decode_everything(b: &[u8]) {
    let _ = CmdEntry::decode(b);
    if let Ok(arr) = <[u8; 64]>::try_from(b.get(..64).unwrap_or(&[])) {
        let _ = cmd_entry::signature_ok(&arr);
        let _ = cmd_entry::reserved_clear(&arr);
    }
    let _ = BlockCtrl::decode(b);
    let _ = mailbox::block_signature_ok(b);
    let _ = mailbox::ctrl_signature(b);
    let _ = mailbox::data(b);
    let _ = InHeader::decode(b);
    let _ = OutHeader::decode(b);
    if let Ok(e) = Eqe::decode(b) {
        let _ = (
            e.cmd_vector(),
            e.page_request(),
            e.port(),
            e.comp_cqn(),
            e.cq_error(),
        );
        let _ = (e.qp_srq(), e.vport_num(), e.sync_rst_state());
    }
    let _ = EqContext::decode(b);
    let _ = EventMask::decode(b);
    if let Ok(c) = HcaCap::from_bytes(b) {
        let _ = (
            c.log_max_eq(),
            c.num_ports(),
            c.cmdif_checksum(),
            format!("{c:?}").len(),
        );
    }
    let _ = hca::FunctionIn::decode(b, true);
    let _ = hca::FunctionIn::decode(b, false);
    let _ = hca::QueryIssiOut::decode(b);
    let _ = hca::decode_set_issi_in(b);
    let _ = hca::InitHcaIn::decode(b);
    let _ = hca::decode_teardown_hca_in(b);
    let _ = hca::decode_teardown_hca_out(b);
    let _ = hca::decode_set_driver_version_in(b);
    let _ = hca::QueryAdapterOut::decode(b);
    let _ = pages::QueryPagesIn::decode(b);
    let _ = pages::QueryPagesOut::decode(b);
    let _ = pages::ManagePagesIn::decode(b);
    let _ = pages::ManagePagesOut::decode(b);
    let _ = caps::QueryHcaCapIn::decode(b);
    let _ = caps::decode_query_hca_cap_out(b);
    let _ = caps::SetHcaCapIn::decode(b);
    let _ = eq::CreateEqIn::decode(b);
    let _ = eq::decode_create_eq_out(b);
    let _ = eq::decode_destroy_eq_in(b);
    let _ = uar::decode_alloc_uar_out(b);
    let _ = uar::decode_dealloc_uar_in(b);
    let _ = access_reg::AccessRegIn::decode(b);
    let _ = access_reg::access_reg_out_data(b);
    let _ = paos::Paos::decode(b);
    let _ = ppcnt::Ppcnt::decode(b);
    if let Ok(h) = mcqi::McqiHeader::decode(b) {
        let data = &b[mcqi::HEADER_LEN..];
        let _ = (
            h.data_size,
            mcqi::McqiCap::decode(data),
            mcqi::McqiVersion::decode(data),
        );
    }
    let _ = mcc::Mcc::decode(b);
    let _ = mcda::Mcda::decode(b);
    let _ = hpkt::Hpkt::decode(b);
    let _ = htgt::Htgt::decode(b);
    let _ = qpcr::Qpcr::decode(b);
}

proptest! {
    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..5000)) {
        decode_everything(&b);
    }

    #[test]
    fn command_decoders_never_panic_on_hostile_bodies(b in command_bytes()) {
        decode_everything(&b);
    }

    #[test]
    fn register_words_never_panic(v in any::<u32>(), hi in any::<u32>()) {
        let _ = iseg::CmdqGeometry::from_addr_l_sz(v).map(|g| g.entry_offset(v));
        let _ = iseg::NicInterface::from_raw(iseg::NIC_INTERFACE.extract(v));
        let _ = iseg::decode_timeout(v);
        let _ = iseg::cmdq_addr_from_words(hi, v);
        let _ = iseg::HealthSyndrome(v as u8).name();
        let _ = cmd_entry::delivery_status(v as u8).errno();
        for f in iseg::ALL_FIELDS {
            let x = f.extract(v);
            prop_assert!(u64::from(x) <= f.max());
        }
    }

    #[test]
    fn mailbox_split_covers_the_message_exactly(len in 0usize..200_000) {
        let n = mailbox::blocks_for_len(len);
        let mut covered = mailbox::inline_range(len).end;
        for i in 0..n {
            let r = mailbox::block_range(len, i).unwrap();
            prop_assert_eq!(r.start, covered);
            prop_assert!(r.end - r.start <= mailbox::DATA_SIZE && r.end > r.start);
            covered = r.end;
        }
        prop_assert_eq!(covered, len);
        prop_assert!(mailbox::block_range(len, n).is_err());
    }

    #[test]
    fn field_set_get_round_trip(byte in 0usize..60, bit in 0u32..64, width in 1u32..=64, v in any::<u64>(), fill in any::<u8>()) {
        prop_assume!(bit + width <= 64);
        let f = Field::new("f", byte, bit, width);
        let mut buf = vec![fill; 68];
        let before = buf.clone();
        let value = v & f.max();
        f.set(&mut buf, value).unwrap();
        prop_assert_eq!(f.get(&buf).unwrap(), value);
        // Only the field's bits changed: clearing them in both gives equal buffers.
        let mut a = before;
        f.set(&mut a, 0).unwrap();
        let mut b2 = buf.clone();
        f.set(&mut b2, 0).unwrap();
        prop_assert_eq!(a, b2);
        if width < 64 {
            prop_assert!(f.set(&mut buf, f.max() + 1).is_err());
        }
        prop_assert!(f.get(&buf[..f.end() - 1]).is_err());
    }

    #[test]
    fn cmd_entry_round_trips_and_signs(inline in any::<[u8; 16]>(), inlen in any::<u32>(), in_ptr in any::<u64>(), outlen in any::<u32>(), out_ptr in any::<u64>(), token in any::<u8>()) {
        let e = CmdEntry::new_request(inline, inlen, in_ptr, outlen, out_ptr, token);
        let b = e.encode();
        prop_assert!(cmd_entry::signature_ok(&b));
        prop_assert_eq!(CmdEntry::decode(&b).unwrap(), e);
    }

    #[test]
    fn signed_blocks_verify(data in prop::collection::vec(any::<u8>(), mailbox::DATA_SIZE), next in any::<u64>(), num in any::<u32>(), token in any::<u8>(), flip in 0usize..mailbox::BLOCK_SIZE - 2) {
        let mut b = data;
        b.resize(mailbox::BLOCK_SIZE, 0);
        BlockCtrl { next, block_num: num, token, ctrl_sig: 0, sig: 0 }.encode_into(&mut b).unwrap();
        mailbox::sign_block(&mut b).unwrap();
        prop_assert!(mailbox::block_signature_ok(&b).unwrap());
        // Any single flipped byte before the signatures breaks verification.
        let flip = if flip >= mailbox::CTRL_SIG_OFFSET { flip - 2 } else { flip };
        b[flip] ^= 0x01;
        prop_assert!(!mailbox::block_signature_ok(&b).unwrap());
    }

    #[test]
    fn manage_pages_round_trip(pfns in prop::collection::vec(any::<u32>(), 0..200), func in any::<u16>()) {
        let pas: Vec<u64> = pfns.iter().map(|p| u64::from(*p) << 12).collect();
        let m = pages::ManagePagesIn::give(func, pas.clone()).unwrap();
        let b = m.encode().unwrap();
        prop_assert_eq!(b.len(), 16 + 8 * pas.len());
        prop_assert_eq!(mailbox::blocks_for_len(b.len()), pas.len().div_ceil(64));
        prop_assert_eq!(pages::ManagePagesIn::decode(&b).unwrap(), m);
        let out = pages::ManagePagesOut { pas };
        let ob = out.encode(16 + 8 * out.pas.len()).unwrap();
        prop_assert_eq!(pages::ManagePagesOut::decode(&ob).unwrap(), out);
    }

    #[test]
    fn eqe_page_request_round_trip(ec in any::<bool>(), all in any::<bool>(), func in any::<u16>(), n in any::<i32>(), owner in any::<u8>()) {
        let req = eqe::PageRequest { ec_function: ec, release_all: all, func_id: func, num_pages: n };
        let mut e = Eqe::page_request_event(req);
        e.owner = owner;
        let d = Eqe::decode(&e.encode()).unwrap();
        prop_assert_eq!(d.page_request(), req);
        prop_assert_eq!(d.owner, owner);
    }

    #[test]
    fn registers_round_trip(a in any::<u32>(), b in any::<u32>(), c in any::<u64>()) {
        let q = qpcr::Qpcr { pid: (a & 0x3FFF) as u16, cir: b, eir: a, cbs: (b & 0x3F) as u8, violate_count: c, ..Default::default() };
        prop_assert_eq!(qpcr::Qpcr::decode(&q.encode().unwrap()).unwrap(), q);
        let m = mcc::Mcc { update_handle: a & 0xFF_FFFF, component_size: b, instruction: mcc::Instruction((c & 0xFF) as u8), ..Default::default() };
        prop_assert_eq!(mcc::Mcc::decode(&m.encode().unwrap()).unwrap(), m);
        let h = hpkt::Hpkt { action: hpkt::TrapAction::from_raw((a % 6) as u8).unwrap(), trap_group: (b & 0x3F) as u8, trap_id: (a & 0x3FF) as u16, ctrl: (b >> 30) as u8 };
        prop_assert_eq!(hpkt::Hpkt::decode(&h.encode().unwrap()).unwrap(), h);
    }
}
