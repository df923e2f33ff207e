//! Small decoders: EQEs with the ring's ownership arithmetic, capability
//! blocks, and the init segment with its health buffer.

use cxu_driver::Caps;
use cxu_hal::ifc::caps::{self, HcaCap, CAP_UNION_SIZE};
use cxu_hal::ifc::eq::{eq_doorbell_decode, eq_doorbell_value};
use cxu_hal::ifc::eqe::{self, Eqe, EventType, EQE_SIZE};
use cxu_hal::ifc::iseg::{self, CmdqGeometry, FwRev, HealthSyndrome, NicInterface};
use cxu_hal::ifc::Opcode;

/// Opcodes planted at the start of inputs so command decoders reach their bodies.
pub const OPCODES: &[Opcode] = cxu_hal::ifc::commands::LAID_OUT;

/// `ifc_decode`: byte 0 picks an opcode to plant in the first two bytes (or
/// none), the rest is the message.
pub fn ifc_decode(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut b = rest.to_vec();
    if let (Some(op), true) = (OPCODES.get(usize::from(sel)), b.len() >= 2) {
        b[..2].copy_from_slice(&op.0.to_be_bytes());
    }
    crate::decode::decode_all(&b);
}

/// `eqe`: one EQE as the device wrote it, plus a consumer index and ring size.
pub fn eqe(data: &[u8]) {
    if data.len() < EQE_SIZE + 5 {
        return;
    }
    let (raw, tail) = data.split_at(EQE_SIZE);
    let ci = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    // The driver picks the ring size (never the device): any log below 32.
    let log_size = u32::from(tail[4] % 32);
    let e = Eqe::decode(raw).expect("64 bytes always decode as an EQE");
    assert_eq!(Eqe::decode(&e.encode()).ok(), Some(e), "EQE round trip");
    let _ = (
        e.cmd_vector(),
        e.port(),
        e.comp_cqn(),
        e.cq_error(),
        e.qp_srq(),
    );
    let _ = (e.vport_num(), e.sync_rst_state(), e.event_type.to_string());
    if e.event_type == EventType::PAGE_REQUEST {
        let req = e.page_request();
        let again = Eqe::page_request_event(req).page_request();
        assert_eq!(again, req, "page request round trip");
    }
    let idx = eqe::eqe_index(ci, log_size);
    assert!(
        u64::from(idx) < 1u64 << log_size,
        "EQE index outside the ring"
    );
    // Ownership alternates per pass: the entry HW writes on pass `ci >> log`
    // is software's exactly then.
    let owner = eqe::hw_owner_value(ci, log_size);
    assert!(eqe::is_sw_owned(owner, ci, log_size));
    assert!(!eqe::is_sw_owned(owner ^ 1, ci, log_size));
    let _ = eqe::eq_entries(ci);
    let (eqn, dci) = eq_doorbell_decode(eq_doorbell_value(tail[4], ci));
    assert_eq!(
        (eqn, dci),
        (tail[4], ci & 0xFF_FFFF),
        "EQ doorbell round trip"
    );
}

/// `caps`: a capability block as QUERY_HCA_CAP returned it, read by hal and
/// by the driver; byte 0 is an op_mod byte.
pub fn caps(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let (ty, mode) = caps::split_op_mod(u16::from(op));
    assert_eq!(caps::split_op_mod(caps::query_op_mod(ty, mode)), (ty, mode));
    let mut block = [0u8; CAP_UNION_SIZE];
    let n = rest.len().min(CAP_UNION_SIZE);
    block[..n].copy_from_slice(&rest[..n]);
    let c = HcaCap::from_bytes(&block).expect("a full block decodes");
    let k = Caps::from_hca_cap(&c);
    // Limits are what firmware said, never more (the driver must not widen them).
    assert_eq!(k.log_max_eq, c.log_max_eq());
    assert_eq!(k.num_ports, c.num_ports());
    if k.max_trap_groups != 0 {
        assert!(k.features.contains(cxu_driver::Features::TRAPS));
    }
    if k.max_trap_policers != 0 {
        assert!(k.features.contains(cxu_driver::Features::TRAP_POLICERS));
    }
    let _ = (format!("{k:?}"), k.port_type.to_string());
    // A short block is refused, not read past its end.
    assert!(HcaCap::from_bytes(&block[..n.min(CAP_UNION_SIZE - 1)]).is_err());
}

/// `iseg_health`: the init segment's first page and the health counter as
/// a device presents them.
pub fn iseg_health(data: &[u8]) {
    let mut seg = vec![0u8; iseg::ISEG_SIZE];
    let n = data.len().min(seg.len());
    seg[..n].copy_from_slice(&data[..n]);
    // Health counter and timers live at 0x1000+: let short inputs reach them too.
    if data.len() > 0x20 {
        seg[0x1010..0x1014].copy_from_slice(&data[0x10..0x14]);
    }
    let dw = |off: usize| u32::from_be_bytes([seg[off], seg[off + 1], seg[off + 2], seg[off + 3]]);
    for f in iseg::ALL_FIELDS {
        let v = f
            .get(&seg)
            .expect("the whole init segment holds every field");
        assert!(v <= f.max(), "{} wider than its field", f.name);
    }
    let rev = FwRev::from_dwords(dw(0), dw(4));
    let _ = rev.check_cmdif();
    let addr_l = dw(iseg::CMDQ_ADDR_L.byte);
    if let Ok(g) = CmdqGeometry::from_addr_l_sz(addr_l) {
        let entries = g.entries();
        assert!(g.page_queue_slot() < entries && g.max_reg_cmds() < entries);
        // Every slot's entry lies inside the 4 KiB command page.
        for slot in [0, entries / 2, entries - 1, entries] {
            if let Ok(off) = g.entry_offset(slot) {
                assert!(slot < entries && off + 64 <= 4096, "slot {slot} at {off}");
            }
        }
    }
    let nic = iseg::NIC_INTERFACE.extract(addr_l);
    if let Ok(s) = NicInterface::from_raw(nic) {
        assert_eq!(s.raw(), nic);
        let _ = s.name();
    }
    let _ = iseg::cmdq_addr_from_words(dw(iseg::CMDQ_ADDR_H.byte), addr_l);
    let (exec_raw, init_raw) = (dw(iseg::CMD_EXEC_TO.byte), dw(iseg::CMD_Q_INIT_TO.byte));
    let _ = iseg::decode_timeout(exec_raw);
    let _ = iseg::decode_timeout(init_raw);
    // The driver takes the device's timeouts only within bounds (issue 14).
    use cxu_driver::iseg_timeouts as to;
    let t = to::device_timeouts(exec_raw, init_raw);
    assert_eq!(t.cmd_exec.is_some(), exec_raw != 0);
    assert_eq!(t.cmd_q_init.is_some(), init_raw != 0);
    if let Some(e) = t.cmd_exec {
        assert!(
            (to::MIN_CMD_EXEC_TO..=to::MAX_CMD_EXEC_TO).contains(&e),
            "{e:?}"
        );
    }
    if let Some(i) = t.cmd_q_init {
        assert!(
            (to::MIN_CMD_Q_INIT_TO..=to::MAX_CMD_Q_INIT_TO).contains(&i),
            "{i:?}"
        );
    }
    let synd = iseg::HEALTH_SYND.get(&seg).unwrap_or(0) as u8;
    let _ = HealthSyndrome(synd).name();
    let _ = cxu_driver::Syndrome(synd).to_string();
}
