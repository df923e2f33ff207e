//! Every `hal::ifc` decoder of bytes a device or a caller writes: on any input
//! each returns `Ok` or `Err` and never panics, and where a layout has an
//! encoder, whatever decodes re-encodes to bytes that decode to the same value
//! (so encoder and decoder agree on every field the decoder accepts).
//!
//! `hal/tests/ifc_fuzz.rs` runs the same decoders under proptest; here
//! libFuzzer's coverage guidance finds the byte patterns that reach the checks
//! behind the opcode, length and count fields.

use cxu_hal::ifc::caps::HcaCap;
use cxu_hal::ifc::cmd_entry::{self, CmdEntry, ENTRY_SIZE};
use cxu_hal::ifc::commands::{access_reg, caps, eq, hca, pages, uar};
use cxu_hal::ifc::eq::{EqContext, EventMask};
use cxu_hal::ifc::mailbox::{self, BlockCtrl, BLOCK_SIZE};
use cxu_hal::ifc::regs::{hpkt, htgt, mcc, mcda, mcqi, paos, ppcnt, qpcr};
use cxu_hal::ifc::{InHeader, OutHeader};

/// Asserts `decode(encode(v)) == v`, for a value `v` that was decoded.
macro_rules! round_trip {
    ($what:literal, $v:expr, $encode:expr, $decode:expr) => {{
        let v = $v;
        let bytes = $encode(&v);
        let again = $decode(&bytes[..]);
        assert_eq!(
            again.as_ref().ok(),
            Some(&v),
            concat!($what, ": re-encoding a decoded value changed it ({:?})"),
            again.as_ref().err()
        );
    }};
}

/// Runs every decoder over `b` (the caller shapes `b`, e.g. by planting an
/// opcode, so that command decoders get past their first check).
pub fn decode_all(b: &[u8]) {
    transport(b);
    commands(b);
    registers(b);
}

/// Command entry, mailbox block, headers, EQ context and event mask.
fn transport(b: &[u8]) {
    if let Ok(e) = CmdEntry::decode(b) {
        round_trip!("cmd entry", e, |e: &CmdEntry| e.encode(), CmdEntry::decode);
        let _ = (e.delivery_status(), e.delivery_status().errno());
    }
    if let Some(arr) = b
        .get(..ENTRY_SIZE)
        .and_then(|s| <[u8; ENTRY_SIZE]>::try_from(s).ok())
    {
        let ok = cmd_entry::signature_ok(&arr);
        let mut signed = arr;
        cmd_entry::sign(&mut signed);
        assert!(
            cmd_entry::signature_ok(&signed),
            "a signed entry must verify"
        );
        assert_eq!(ok, signed == arr, "signature_ok disagrees with sign");
        let _ = cmd_entry::reserved_clear(&arr);
    }
    if let Ok(c) = BlockCtrl::decode(b) {
        round_trip!(
            "mailbox ctrl",
            c,
            |c: &BlockCtrl| {
                let mut blk = vec![0u8; BLOCK_SIZE];
                c.encode_into(&mut blk)
                    .expect("a block-sized buffer holds the ctrl");
                blk
            },
            BlockCtrl::decode
        );
    }
    let _ = mailbox::ctrl_signature(b);
    if let Ok(ok) = mailbox::block_signature_ok(b) {
        let mut blk = b.to_vec();
        mailbox::sign_block(&mut blk).expect("the block decoded, so it can be signed");
        assert_eq!(mailbox::block_signature_ok(&blk).ok(), Some(true));
        assert_eq!(ok, blk == b, "block_signature_ok disagrees with sign_block");
    }
    if let Ok(d) = mailbox::data(b) {
        assert!(d.len() <= b.len());
    }
    if let Ok(h) = InHeader::decode(b) {
        round_trip!(
            "in header",
            h,
            |h: &InHeader| {
                let mut m = [0u8; 16];
                h.encode_into(&mut m).expect("16 bytes hold the header");
                m
            },
            InHeader::decode
        );
    }
    if let Ok(h) = OutHeader::decode(b) {
        round_trip!(
            "out header",
            h,
            |h: &OutHeader| {
                let mut m = [0u8; 16];
                h.encode_into(&mut m).expect("16 bytes hold the header");
                m
            },
            OutHeader::decode
        );
    }
    if let Ok(c) = EqContext::decode(b) {
        let mut m = vec![0u8; b.len()];
        if c.encode_into(&mut m).is_ok() {
            assert_eq!(EqContext::decode(&m).ok(), Some(c), "EQ context round trip");
        }
    }
    if let Ok(m) = EventMask::decode(b) {
        round_trip!(
            "event mask",
            m,
            |m: &EventMask| m.encode(),
            EventMask::decode
        );
    }
}

/// Command inputs and outputs of every command the driver and model speak.
fn commands(b: &[u8]) {
    if let Ok(c) = HcaCap::from_bytes(b) {
        let _ = (
            c.log_max_eq(),
            c.num_ports(),
            c.cmdif_checksum(),
            format!("{c:?}").len(),
        );
        round_trip!(
            "hca cap",
            c,
            |c: &HcaCap| c.as_bytes().to_vec(),
            HcaCap::from_bytes
        );
    }
    for enable in [true, false] {
        if let Ok(f) = hca::FunctionIn::decode(b, enable) {
            let bytes = f.encode(enable);
            assert_eq!(
                hca::FunctionIn::decode(&bytes, enable).ok(),
                Some(f),
                "function in"
            );
        }
    }
    if let Ok(q) = hca::QueryIssiOut::decode(b) {
        round_trip!(
            "query issi out",
            q,
            |q: &hca::QueryIssiOut| q.encode(),
            hca::QueryIssiOut::decode
        );
    }
    let _ = hca::decode_set_issi_in(b);
    if let Ok(i) = hca::InitHcaIn::decode(b) {
        if let Ok(bytes) = i.encode() {
            assert_eq!(hca::InitHcaIn::decode(&bytes).ok(), Some(i), "init hca in");
        }
    }
    let _ = hca::decode_teardown_hca_in(b);
    let _ = hca::decode_teardown_hca_out(b);
    if let Ok(s) = hca::decode_set_driver_version_in(b) {
        // Lossy UTF-8: one replacement character per bad byte at most.
        assert!(
            s.chars().count() <= b.len(),
            "driver version longer than its message"
        );
        assert!(
            !s.contains('\0'),
            "driver version includes its NUL terminator"
        );
    }
    if let Ok(a) = hca::QueryAdapterOut::decode(b) {
        if let Ok(bytes) = a.encode() {
            assert_eq!(
                hca::QueryAdapterOut::decode(&bytes).ok(),
                Some(a),
                "query adapter out"
            );
        }
    }
    if let Ok(q) = pages::QueryPagesIn::decode(b) {
        round_trip!(
            "query pages in",
            q,
            |q: &pages::QueryPagesIn| q.encode(),
            pages::QueryPagesIn::decode
        );
    }
    if let Ok(q) = pages::QueryPagesOut::decode(b) {
        round_trip!(
            "query pages out",
            q,
            |q: &pages::QueryPagesOut| q.encode(),
            pages::QueryPagesOut::decode
        );
    }
    if let Ok(m) = pages::ManagePagesIn::decode(b) {
        assert!(8 * m.pas.len() <= b.len(), "more page addresses than bytes");
        if let Ok(bytes) = m.encode() {
            assert_eq!(
                pages::ManagePagesIn::decode(&bytes).ok(),
                Some(m),
                "manage pages in"
            );
        }
    }
    if let Ok(m) = pages::ManagePagesOut::decode(b) {
        assert!(8 * m.pas.len() <= b.len(), "more page addresses than bytes");
        if let Ok(bytes) = m.encode(16 + 8 * m.pas.len()) {
            assert_eq!(
                pages::ManagePagesOut::decode(&bytes).ok(),
                Some(m),
                "manage pages out"
            );
        }
    }
    if let Ok(q) = caps::QueryHcaCapIn::decode(b) {
        round_trip!(
            "query hca cap in",
            q,
            |q: &caps::QueryHcaCapIn| q.encode(),
            caps::QueryHcaCapIn::decode
        );
    }
    let _ = caps::decode_query_hca_cap_out(b);
    if let Ok(s) = caps::SetHcaCapIn::decode(b) {
        round_trip!(
            "set hca cap in",
            s,
            |s: &caps::SetHcaCapIn| s.encode(),
            caps::SetHcaCapIn::decode
        );
    }
    if let Ok(c) = eq::CreateEqIn::decode(b) {
        assert!(8 * c.pas.len() <= b.len(), "more page addresses than bytes");
        if let Ok(bytes) = c.encode() {
            assert_eq!(eq::CreateEqIn::decode(&bytes).ok(), Some(c), "create eq in");
        }
    }
    let _ = eq::decode_create_eq_out(b);
    let _ = eq::decode_destroy_eq_in(b);
    let _ = uar::decode_alloc_uar_out(b);
    let _ = uar::decode_dealloc_uar_in(b);
    if let Ok(a) = access_reg::AccessRegIn::decode(b) {
        round_trip!(
            "access reg in",
            a,
            |a: &access_reg::AccessRegIn| a.encode(),
            access_reg::AccessRegIn::decode
        );
    }
    if let Ok(d) = access_reg::access_reg_out_data(b) {
        assert!(d.len() <= b.len());
    }
}

/// ACCESS_REG register payloads.
fn registers(b: &[u8]) {
    macro_rules! reg {
        ($name:literal, $ty:ty) => {
            if let Ok(r) = <$ty>::decode(b) {
                let bytes = r
                    .encode()
                    .expect(concat!($name, ": a decoded register re-encodes"));
                assert_eq!(
                    <$ty>::decode(&bytes[..]).ok(),
                    Some(r),
                    concat!($name, " round trip")
                );
            }
        };
    }
    reg!("PAOS", paos::Paos);
    reg!("PPCNT", ppcnt::Ppcnt);
    reg!("MCC", mcc::Mcc);
    reg!("MCDA", mcda::Mcda);
    reg!("HPKT", hpkt::Hpkt);
    reg!("HTGT", htgt::Htgt);
    reg!("QPCR", qpcr::Qpcr);
    if let Ok(h) = mcqi::McqiHeader::decode(b) {
        let data = b.get(mcqi::HEADER_LEN..).unwrap_or(&[]);
        let _ = h.data_size;
        if let Ok(c) = mcqi::McqiCap::decode(data) {
            let bytes = c.encode().expect("MCQI cap: a decoded value re-encodes");
            assert_eq!(
                mcqi::McqiCap::decode(&bytes).ok(),
                Some(c),
                "MCQI cap round trip"
            );
        }
        if let Ok(v) = mcqi::McqiVersion::decode(data) {
            if let Ok(bytes) = v.encode() {
                assert_eq!(
                    mcqi::McqiVersion::decode(&bytes).ok(),
                    Some(v),
                    "MCQI version round trip"
                );
            }
        }
    }
}
