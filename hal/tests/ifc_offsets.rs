//! Every offset, size and bit position of `hal::ifc` checked against the tables of
//! `shared/reference/mlx5-command-interface.md`. The expected numbers below are
//! copied from the reference document (section given per table), not computed
//! from the crate's constants, so a typo on either side fails here.

use cxu_hal::ifc::{cmd_entry, header, iseg, mailbox, Field};

/// (field, byte offset of the containing dword, lsb bit, width) as the reference writes it.
type Row = (Field, usize, u32, u32);

fn check(table: &str, rows: &[Row]) {
    for (f, byte, bit, width) in rows {
        assert_eq!(
            (f.byte, f.bit, f.width),
            (*byte, *bit, *width),
            "{table}: field {} differs from the reference",
            f.name
        );
    }
}

#[test]
fn init_segment_matches_reference_section_2() {
    check(
        "iseg §2",
        &[
            (iseg::FW_REV_MINOR, 0x000, 16, 16),
            (iseg::FW_REV_MAJOR, 0x000, 0, 16),
            (iseg::CMDIF_REV, 0x004, 16, 16),
            (iseg::FW_REV_SUBMINOR, 0x004, 0, 16),
            (iseg::CMDQ_ADDR_H, 0x010, 0, 32),
            (iseg::CMDQ_ADDR_L, 0x014, 12, 20),
            (iseg::NIC_INTERFACE, 0x014, 8, 3),
            (iseg::LOG_CMDQ_SIZE, 0x014, 4, 4),
            (iseg::LOG_CMDQ_STRIDE, 0x014, 0, 4),
            (iseg::CMD_DBELL, 0x018, 0, 32),
            (iseg::INITIALIZING, 0x1FC, 31, 1),
            (iseg::FW_RESET_SUPPORTED, 0x1FC, 30, 1),
            (iseg::NIC_INTERFACE_SUPPORTED, 0x1FC, 24, 3),
            (iseg::EMBEDDED_CPU, 0x1FC, 23, 1),
            (iseg::NO_DRAM_NIC_OFFSET, 0x240, 0, 32),
            (iseg::CMD_EXEC_TO, 0xFF8, 0, 32),
            (iseg::CMD_Q_INIT_TO, 0xFFC, 0, 32),
            (iseg::INTERNAL_TIMER_H, 0x1000, 0, 32),
            (iseg::INTERNAL_TIMER_L, 0x1004, 0, 32),
            (iseg::CLEAR_INT, 0x100C, 0, 1),
            (iseg::HEALTH_COUNTER, 0x1010, 0, 32),
            (iseg::HEALTH_COUNTER_SYNDROME, 0x1010, 24, 8),
            (iseg::HEALTH_COUNTER_VALUE, 0x1010, 0, 24),
            (iseg::REAL_TIME_H, 0x1040, 0, 32),
            (iseg::REAL_TIME_L, 0x1044, 0, 32),
            (iseg::IEEE1588_CLK, 0x2000, 0, 64),
            (iseg::IEEE1588_CLK_TYPE, 0x2008, 0, 32),
            (iseg::CLR_INTX, 0x200C, 0, 32),
        ],
    );
    assert_eq!(iseg::ISEG_SIZE, 0x2010);
    assert_eq!(iseg::CMDIF_REV_SUPPORTED, 5);
}

#[test]
fn health_buffer_matches_reference_section_2() {
    assert_eq!((iseg::HEALTH_BUFFER, iseg::HEALTH_BUFFER_SIZE), (0x200, 64));
    let assert_var: Vec<usize> = iseg::ASSERT_VAR.iter().map(|f| f.byte).collect();
    assert_eq!(assert_var, [0x200, 0x204, 0x208, 0x20C, 0x210, 0x214]);
    check(
        "health buffer §2",
        &[
            (iseg::ASSERT_EXIT_PTR, 0x220, 0, 32),
            (iseg::ASSERT_CALLRA, 0x224, 0, 32),
            (iseg::HEALTH_TIME, 0x22C, 0, 32),
            (iseg::HEALTH_FW_VER, 0x230, 0, 32),
            (iseg::HEALTH_HW_ID, 0x234, 0, 32),
            // rfr_severity is the byte at 0x238: bit 7 RFR, bit 6 CRR, bit 3 valid,
            // bits 2:0 severity; in the dword at 0x238 those are bits 31, 30, 27, 26:24.
            (iseg::HEALTH_RFR, 0x238, 31, 1),
            (iseg::HEALTH_CRR, 0x238, 30, 1),
            (iseg::HEALTH_SEVERITY_VALID, 0x238, 27, 1),
            (iseg::HEALTH_SEVERITY, 0x238, 24, 3),
            // irisc_index byte 0x23C, synd byte 0x23D, ext_synd 16 bits at 0x23E.
            (iseg::HEALTH_IRISC_INDEX, 0x23C, 24, 8),
            (iseg::HEALTH_SYND, 0x23C, 16, 8),
            (iseg::HEALTH_EXT_SYND, 0x23C, 0, 16),
        ],
    );
    // Same facts, checked through bytes: a buffer with only byte 0x23D set reads as synd.
    let mut bar = vec![0u8; iseg::ISEG_SIZE];
    bar[0x23D] = 0x10;
    bar[0x238] = 0x80;
    assert_eq!(iseg::HEALTH_SYND.get(&bar), Ok(0x10));
    assert_eq!(iseg::HEALTH_RFR.get(&bar), Ok(1));
    assert_eq!(iseg::HEALTH_IRISC_INDEX.get(&bar), Ok(0));
}

#[test]
fn health_syndromes_match_reference() {
    use iseg::HealthSyndrome as H;
    let table: &[(u8, H)] = &[
        (0x1, H::FW_INTERNAL_ERR),
        (0x7, H::DEAD_IRISC),
        (0x8, H::HW_FATAL_ERR),
        (0x9, H::FW_CRC_ERR),
        (0xA, H::ICM_FETCH_PCI_ERR),
        (0xB, H::ICM_PAGE_ERR),
        (0xC, H::ASYNCHRONOUS_EQ_BUF_OVERRUN),
        (0xD, H::EQ_IN_ERR),
        (0xE, H::EQ_INV),
        (0xF, H::FFSER_ERR),
        (0x10, H::HIGH_TEMP_ERR),
        (0x12, H::ICM_PCI_POISONED_ERR),
        (0x13, H::TRUST_LOCKDOWN_ERR),
    ];
    for (v, s) in table {
        assert_eq!(s.0, *v);
        assert!(s.name().is_some());
    }
    let named = (0..=255u8).filter(|v| H(*v).name().is_some()).count();
    assert_eq!(named, table.len() + 1, "the 13 syndromes plus 0 = healthy");
}

#[test]
fn nic_interface_values_match_reference() {
    use iseg::NicInterface as N;
    assert_eq!(
        [
            N::FullDriver.raw(),
            N::Disabled.raw(),
            N::NoDramNic.raw(),
            N::SwReset.raw()
        ],
        [0, 1, 2, 7]
    );
}

#[test]
fn command_entry_matches_reference_section_3_2() {
    assert_eq!(cmd_entry::ENTRY_SIZE, 64);
    assert_eq!(cmd_entry::PCI_CMD_XPORT, 7);
    check(
        "cmd entry §3.2",
        &[
            (cmd_entry::TYPE, 0x00, 24, 8),
            (cmd_entry::INLEN, 0x04, 0, 32),
            (cmd_entry::IN_PTR, 0x08, 0, 64),
            (cmd_entry::OUT_PTR, 0x30, 0, 64),
            (cmd_entry::OUTLEN, 0x38, 0, 32),
            (cmd_entry::TOKEN, 0x3C, 24, 8),
            (cmd_entry::SIG, 0x3C, 16, 8),
            (cmd_entry::STATUS_OWN, 0x3C, 0, 8),
        ],
    );
    assert_eq!((cmd_entry::IN_INLINE, cmd_entry::OUT_INLINE), (0x10, 0x20));
    assert_eq!(
        (cmd_entry::SIG_OFFSET, cmd_entry::STATUS_OWN_OFFSET),
        (0x3D, 0x3F)
    );
}

#[test]
fn mailbox_block_matches_reference_section_3_3() {
    assert_eq!(
        (
            mailbox::BLOCK_SIZE,
            mailbox::DATA_SIZE,
            mailbox::BLOCK_ALIGN
        ),
        (576, 512, 1024)
    );
    check(
        "mailbox §3.3",
        &[
            (mailbox::NEXT, 0x230, 0, 64),
            (mailbox::BLOCK_NUM, 0x238, 0, 32),
            (mailbox::TOKEN, 0x23C, 16, 8),
            (mailbox::CTRL_SIG, 0x23C, 8, 8),
            (mailbox::SIG, 0x23C, 0, 8),
        ],
    );
}

#[test]
fn headers_match_reference_section_3_4() {
    check(
        "headers §3.4",
        &[
            (header::OPCODE, 0x00, 16, 16),
            (header::UID, 0x00, 0, 16),
            (header::OP_MOD, 0x04, 0, 16),
            (header::STATUS, 0x00, 24, 8),
            (header::SYNDROME, 0x04, 0, 32),
        ],
    );
}

#[test]
fn opcodes_match_reference_section_5_1() {
    use cxu_hal::ifc::Opcode;
    let table: &[(u16, &str)] = &[
        (0x100, "QUERY_HCA_CAP"),
        (0x101, "QUERY_ADAPTER"),
        (0x102, "INIT_HCA"),
        (0x103, "TEARDOWN_HCA"),
        (0x104, "ENABLE_HCA"),
        (0x105, "DISABLE_HCA"),
        (0x107, "QUERY_PAGES"),
        (0x108, "MANAGE_PAGES"),
        (0x109, "SET_HCA_CAP"),
        (0x10A, "QUERY_ISSI"),
        (0x10B, "SET_ISSI"),
        (0x10D, "SET_DRIVER_VERSION"),
        (0x111, "QUERY_SF_PARTITION"),
        (0x113, "ALLOC_SF"),
        (0x114, "DEALLOC_SF"),
        (0x200, "CREATE_MKEY"),
        (0x201, "QUERY_MKEY"),
        (0x202, "DESTROY_MKEY"),
        (0x203, "QUERY_SPECIAL_CONTEXTS"),
        (0x204, "PAGE_FAULT_RESUME"),
        (0x205, "ALLOC_MEMIC"),
        (0x206, "DEALLOC_MEMIC"),
        (0x301, "CREATE_EQ"),
        (0x302, "DESTROY_EQ"),
        (0x303, "QUERY_EQ"),
        (0x304, "GEN_EQE"),
        (0x400, "CREATE_CQ"),
        (0x401, "DESTROY_CQ"),
        (0x402, "QUERY_CQ"),
        (0x403, "MODIFY_CQ"),
        (0x500, "CREATE_QP"),
        (0x501, "DESTROY_QP"),
        (0x50B, "QUERY_QP"),
        (0x50D, "MAD_IFC"),
        (0x600, "CREATE_PSV"),
        (0x601, "DESTROY_PSV"),
        (0x740, "QUERY_ESW_FUNCTIONS"),
        (0x750, "QUERY_VPORT_STATE"),
        (0x751, "MODIFY_VPORT_STATE"),
        (0x752, "QUERY_ESW_VPORT_CONTEXT"),
        (0x753, "MODIFY_ESW_VPORT_CONTEXT"),
        (0x754, "QUERY_NIC_VPORT_CONTEXT"),
        (0x755, "MODIFY_NIC_VPORT_CONTEXT"),
        (0x800, "ALLOC_PD"),
        (0x801, "DEALLOC_PD"),
        (0x802, "ALLOC_UAR"),
        (0x803, "DEALLOC_UAR"),
        (0x804, "CONFIG_INT_MODERATION"),
        (0x805, "ACCESS_REG"),
        (0x806, "ATTACH_TO_MCG"),
        (0x807, "DETACH_FROM_MCG"),
        (0x80D, "NOP"),
        (0x80E, "ALLOC_XRCD"),
        (0x80F, "DEALLOC_XRCD"),
        (0x816, "ALLOC_TRANSPORT_DOMAIN"),
        (0x817, "DEALLOC_TRANSPORT_DOMAIN"),
        (0x900, "CREATE_TIR"),
        (0x903, "QUERY_TIR"),
        (0x904, "CREATE_SQ"),
        (0x907, "QUERY_SQ"),
        (0x908, "CREATE_RQ"),
        (0x90B, "QUERY_RQ"),
        (0xA00, "CREATE_GENERAL_OBJECT"),
        (0xA01, "MODIFY_GENERAL_OBJECT"),
        (0xA02, "QUERY_GENERAL_OBJECT"),
        (0xA03, "DESTROY_GENERAL_OBJECT"),
        (0xA04, "CREATE_UCTX"),
        (0xA06, "DESTROY_UCTX"),
        (0xA08, "CREATE_UMEM"),
        (0xA0A, "DESTROY_UMEM"),
        (0xB00, "SYNC_STEERING"),
        (0xB0D, "QUERY_VHCA_STATE"),
        (0xB0E, "MODIFY_VHCA_STATE"),
        (0xB12, "SYNC_CRYPTO"),
        (0xB16, "ALLOW_OTHER_VHCA_ACCESS"),
    ];
    for (v, name) in table {
        assert_eq!(Opcode(*v).name(), Some(*name), "opcode {v:#x}");
    }
    assert_eq!(Opcode(0x106).name(), None);
    // Names are unique and values are unique.
    let mut seen = std::collections::HashSet::new();
    for op in Opcode::ALL {
        assert!(seen.insert(op.0), "duplicate opcode {op}");
    }
}

#[test]
fn statuses_match_reference_sections_4_3_and_4_4() {
    use cxu_hal::ifc::{CmdStatus, DeliveryStatus, DRIVER_SYND};
    let delivery: &[(u8, i32)] = &[
        (0x00, 0),
        (0x01, -libc::EBADR),
        (0x02, -libc::EBADR),
        (0x03, -libc::EFAULT),
        (0x04, -libc::EFAULT),
        (0x05, -libc::EFAULT),
        (0x06, -libc::EIO),
        (0x07, -libc::ENOMSG),
        (0x08, -libc::ENOMSG),
        (0x09, -libc::ENOMSG),
        (0x10, -libc::ENOMSG),
        (0xFE, 0),
    ];
    for (v, errno) in delivery {
        let s = DeliveryStatus(*v);
        assert!(s.name().is_some(), "delivery status {v:#x} named");
        assert_eq!(s.errno(), *errno, "delivery status {v:#x}");
    }
    assert_eq!(DeliveryStatus::ALL.len(), delivery.len());
    let cmd: &[(u8, &str, i32)] = &[
        (0x00, "OK", 0),
        (0x01, "INT_ERR", -libc::EIO),
        (0x02, "BAD_OP_ERR", -libc::EINVAL),
        (0x03, "BAD_PARAM_ERR", -libc::EINVAL),
        (0x04, "BAD_SYS_STATE_ERR", -libc::EIO),
        (0x05, "BAD_RES_ERR", -libc::EINVAL),
        (0x06, "RES_BUSY", -libc::EBUSY),
        (0x07, "NOT_READY", -libc::EAGAIN),
        (0x08, "LIM_ERR", -libc::ENOMEM),
        (0x09, "BAD_RES_STATE_ERR", -libc::EINVAL),
        (0x0A, "IX_ERR", -libc::EINVAL),
        (0x0F, "NO_RES_ERR", -libc::EAGAIN),
        (0x10, "BAD_QP_STATE_ERR", -libc::EINVAL),
        (0x30, "BAD_PKT_ERR", -libc::EINVAL),
        (0x40, "BAD_SIZE_OUTS_CQES_ERR", -libc::EINVAL),
        (0x50, "BAD_INP_LEN_ERR", -libc::EIO),
        (0x51, "BAD_OUTP_LEN_ERR", -libc::EIO),
    ];
    for (v, name, errno) in cmd {
        assert_eq!(CmdStatus(*v).name(), Some(*name));
        assert_eq!(CmdStatus(*v).errno(), *errno, "{name}");
    }
    assert_eq!(CmdStatus::DRIVER_ABORTED.0, 0xFE);
    assert_eq!(DRIVER_SYND, 0xBADD00DE);
}

#[test]
fn eqe_matches_reference_section_7() {
    use cxu_hal::ifc::eqe;
    assert_eq!(
        (eqe::EQE_SIZE, eqe::DATA_OFFSET, eqe::DATA_SIZE),
        (64, 0x20, 28)
    );
    check(
        "EQE §7",
        &[
            (eqe::TYPE, 0x00, 16, 8),                 // byte 0x01
            (eqe::SUB_TYPE, 0x00, 0, 8),              // byte 0x03
            (eqe::SIGNATURE, 0x3C, 8, 8),             // byte 0x3E
            (eqe::OWNER, 0x3C, 0, 8),                 // byte 0x3F
            (eqe::CMD_VECTOR, 0x20, 0, 32),           // BE32 at 0x20
            (eqe::PAGE_REQ_EC_FUNCTION, 0x20, 31, 1), // ec_function BE16 at 0x20, bit 15
            (eqe::PAGE_REQ_RELEASE_ALL, 0x20, 30, 1), // bit 14
            (eqe::PAGE_REQ_FUNC_ID, 0x20, 0, 16),     // BE16 at 0x22
            (eqe::PAGE_REQ_NUM_PAGES, 0x24, 0, 32),
            (eqe::PORT_CHANGE_PORT, 0x28, 28, 4), // (byte 0x28 >> 4) & 0xF
            (eqe::COMP_CQN, 0x38, 0, 24),
            (eqe::CQ_ERR_CQN, 0x20, 0, 24),
            (eqe::CQ_ERR_SYNDROME, 0x28, 0, 8), // byte 0x2B
            (eqe::QP_SRQ_TYPE, 0x34, 24, 8),
            (eqe::QP_SRQ_NUMBER, 0x38, 0, 24),
            (eqe::VPORT_CHANGE_NUM, 0x20, 0, 16), // BE16 at 0x22
            (eqe::SYNC_RST_STATE, 0x20, 0, 4),    // data byte 3 & 0xF
        ],
    );
    use eqe::EventType as E;
    let types: &[(u8, E)] = &[
        (0x00, E::COMP),
        (0x01, E::PATH_MIG),
        (0x02, E::COMM_EST),
        (0x03, E::SQ_DRAINED),
        (0x04, E::CQ_ERROR),
        (0x05, E::WQ_CATAS_ERROR),
        (0x07, E::PATH_MIG_FAILED),
        (0x08, E::INTERNAL_ERROR),
        (0x09, E::PORT_CHANGE),
        (0x0A, E::CMD),
        (0x0B, E::PAGE_REQUEST),
        (0x0C, E::PAGE_FAULT),
        (0x0D, E::NIC_VPORT_CHANGE),
        (0x0E, E::ESW_FUNCTIONS_CHANGED),
        (0x0F, E::VHCA_STATE_CHANGE),
        (0x10, E::WQ_INVAL_REQ_ERROR),
        (0x11, E::WQ_ACCESS_ERROR),
        (0x12, E::SRQ_CATAS_ERROR),
        (0x13, E::SRQ_LAST_WQE),
        (0x14, E::SRQ_RQ_LIMIT),
        (0x15, E::GPIO_EVENT),
        (0x16, E::PORT_MODULE_EVENT),
        (0x17, E::TEMP_WARN_EVENT),
        (0x18, E::XRQ_ERROR),
        (0x19, E::REMOTE_CONFIG),
        (0x1A, E::DB_BF_CONGESTION),
        (0x1B, E::STALL_EVENT),
        (0x1C, E::DCT_DRAINED),
        (0x1D, E::DCT_KEY_VIOLATION),
        (0x22, E::GENERAL_EVENT),
        (0x24, E::MONITOR_COUNTER),
        (0x25, E::PPS_EVENT),
        (0x26, E::DEVICE_TRACER),
        (0x27, E::OBJECT_CHANGE),
    ];
    for (v, t) in types {
        assert_eq!(t.0, *v, "{t}");
    }
    assert_eq!(E::ALL.len(), types.len());
    use eqe::port_change as pc;
    assert_eq!(
        [
            pc::DOWN,
            pc::ACTIVE,
            pc::INITIALIZED,
            pc::LID,
            pc::PKEY,
            pc::GUID,
            pc::CLIENT_REREG
        ],
        [1, 4, 5, 6, 7, 8, 9]
    );
    use eqe::general_event as ge;
    assert_eq!(
        [
            ge::DELAY_DROP_TIMEOUT,
            ge::PCI_POWER_CHANGE_EVENT,
            ge::FW_LIVE_PATCH_EVENT,
            ge::PCI_SYNC_FOR_FW_UPDATE_EVENT
        ],
        [0x1, 0x5, 0x7, 0x8]
    );
    assert_eq!((eqe::NUM_SPARE_EQE, eqe::EQ_POLLING_BUDGET), (0x80, 128));
}

#[test]
fn eq_context_matches_reference_section_7() {
    use cxu_hal::ifc::eq;
    assert_eq!(eq::EQC_SIZE, 64);
    check(
        "EQ context §7",
        &[
            (eq::STATUS, 0x00, 28, 4),
            (eq::EC, 0x00, 18, 1),
            (eq::OI, 0x00, 17, 1),
            (eq::ST, 0x00, 8, 4),
            (eq::PAGE_OFFSET, 0x08, 6, 6),
            (eq::LOG_EQ_SIZE, 0x0C, 24, 5),
            (eq::UAR_PAGE, 0x0C, 0, 24),
            (eq::INTR, 0x14, 0, 12),
            (eq::LOG_PAGE_SIZE, 0x18, 24, 5),
            (eq::CONSUMER_COUNTER, 0x28, 0, 24),
            (eq::PRODUCER_COUNTER, 0x2C, 0, 24),
        ],
    );
    assert_eq!(
        [
            eq::EqState::Armed as u8,
            eq::EqState::Fired as u8,
            eq::EqState::AlwaysArmed as u8
        ],
        [0x9, 0xA, 0xB]
    );
    assert_eq!((eq::EQ_DOORBELL_ARM, eq::EQ_DOORBELL_NO_ARM), (0x40, 0x48));
}

/// (field, cap bit offset, width, dword byte, lsb bit, QUERY_HCA_CAP out byte):
/// the columns of the reference's §6 table ("bits hi:lo" written as lsb).
type CapRow = (Field, u32, u32, usize, u32, usize);

#[test]
fn general_caps_match_reference_section_6() {
    use cxu_hal::ifc::caps::{self, general as g};
    let rows: &[CapRow] = &[
        (g::ABS_NATIVE_PORT_NUM, 0x007, 1, 0x00, 24, 0x10),
        (g::PAGE_REQUEST_DISABLE, 0x006, 1, 0x00, 25, 0x10),
        (g::VHCA_RESOURCE_MANAGER, 0x01F, 1, 0x00, 0, 0x10),
        (g::HCA_CAP_2, 0x020, 1, 0x04, 31, 0x14),
        (g::DTOR, 0x022, 1, 0x04, 29, 0x14),
        (g::VHCA_ID, 0x030, 16, 0x04, 0, 0x14),
        (g::LOG_MAX_SRQ_SZ, 0x080, 8, 0x10, 24, 0x20),
        (g::LOG_MAX_QP_SZ, 0x088, 8, 0x10, 16, 0x20),
        (g::EVENT_CAP, 0x090, 1, 0x10, 15, 0x20),
        (g::LOG_MAX_QP, 0x09B, 5, 0x10, 0, 0x20),
        (g::LOG_MAX_CQ_SZ, 0x0C8, 8, 0x18, 16, 0x28),
        (g::LOG_MAX_CQ, 0x0DB, 5, 0x18, 0, 0x28),
        (g::LOG_MAX_EQ_SZ, 0x0E0, 8, 0x1C, 24, 0x2C),
        (g::LOG_MAX_MKEY, 0x0EA, 6, 0x1C, 16, 0x2C),
        (g::FAST_TEARDOWN, 0x0FB, 1, 0x1C, 4, 0x2C),
        (g::LOG_MAX_EQ, 0x0FC, 4, 0x1C, 0, 0x2C),
        (g::FORCE_TEARDOWN, 0x110, 1, 0x20, 15, 0x30),
        (g::RELEASE_ALL_PAGES, 0x145, 1, 0x28, 26, 0x38),
        (g::CACHE_LINE_128BYTE, 0x164, 1, 0x2C, 27, 0x3C),
        (g::QCAM_REG, 0x16F, 1, 0x2C, 16, 0x3C),
        (g::DEBUG, 0x183, 1, 0x30, 28, 0x40),
        (g::PKEY_TABLE_SIZE, 0x190, 16, 0x30, 0, 0x40),
        (g::VPORT_GROUP_MANAGER, 0x1A0, 1, 0x34, 31, 0x44),
        (g::IB_VIRT, 0x1A2, 1, 0x34, 29, 0x44),
        (g::ETH_VIRT, 0x1A3, 1, 0x34, 28, 0x44),
        (g::NIC_FLOW_TABLE, 0x1A6, 1, 0x34, 25, 0x44),
        (g::ESWITCH_MANAGER, 0x1A7, 1, 0x34, 24, 0x44),
        (g::DEVICE_MEMORY, 0x1A8, 1, 0x34, 23, 0x44),
        (g::MCAM_REG, 0x1A9, 1, 0x34, 22, 0x44),
        (g::PCAM_REG, 0x1AA, 1, 0x34, 21, 0x44),
        (g::PORT_MODULE_EVENT, 0x1B0, 1, 0x34, 15, 0x44),
        (g::PORT_TYPE, 0x1B6, 2, 0x34, 8, 0x44),
        (g::NUM_PORTS, 0x1B8, 8, 0x34, 0, 0x44),
        (g::LOG_MAX_MSG, 0x1C3, 5, 0x38, 24, 0x48),
        (g::TEMP_WARN_EVENT, 0x1D0, 1, 0x38, 15, 0x48),
        (g::GENERAL_NOTIFICATION_EVENT, 0x1D2, 1, 0x38, 13, 0x48),
        (g::PCI_SYNC_FOR_FW_UPDATE_EVENT, 0x1F1, 1, 0x3C, 14, 0x4C),
        (g::CQE_VERSION, 0x1FC, 4, 0x3C, 0, 0x4C),
        (g::DRAIN_SIGERR, 0x20F, 1, 0x40, 16, 0x50),
        (g::CMDIF_CHECKSUM, 0x210, 2, 0x40, 14, 0x50),
        (g::DCT, 0x21A, 1, 0x40, 5, 0x50),
        (g::QOS, 0x21B, 1, 0x40, 4, 0x50),
        (g::ETH_NET_OFFLOADS, 0x21C, 1, 0x40, 3, 0x50),
        (g::ROCE, 0x21D, 1, 0x40, 2, 0x50),
        (g::ATOMIC, 0x21E, 1, 0x40, 1, 0x50),
        (g::PG, 0x227, 1, 0x44, 24, 0x54),
        (g::UAR_4K, 0x240, 1, 0x48, 31, 0x58),
        (g::UAR_SZ, 0x24A, 6, 0x48, 16, 0x58),
        (g::UMEM_UID_0, 0x252, 1, 0x48, 13, 0x58),
        (g::LOG_PG_SZ, 0x258, 8, 0x48, 0, 0x58),
        (g::BF, 0x260, 1, 0x4C, 31, 0x5C),
        (g::DRIVER_VERSION, 0x261, 1, 0x4C, 30, 0x5C),
        (g::LOG_BF_REG_SIZE, 0x26B, 5, 0x4C, 16, 0x5C),
        (g::MAX_WQE_SZ_SQ, 0x290, 16, 0x50, 0, 0x60),
        (g::LOG_MAX_TRANSPORT_DOMAIN, 0x323, 5, 0x64, 24, 0x74),
        (g::LOG_MAX_PD, 0x32B, 5, 0x64, 16, 0x74),
        (
            g::PCIE_RESET_USING_HOTRESET_METHOD,
            0x335,
            1,
            0x64,
            10,
            0x74,
        ),
        (g::LOG_MAX_RQ, 0x363, 5, 0x6C, 24, 0x7C),
        (g::LOG_MAX_SQ, 0x36B, 5, 0x6C, 16, 0x7C),
        (g::LOG_MAX_TIR, 0x373, 5, 0x6C, 8, 0x7C),
        (g::LOG_MAX_TIS, 0x37B, 5, 0x6C, 0, 0x7C),
        (g::LOG_MAX_RQT, 0x38B, 5, 0x70, 16, 0x80),
        (g::VHCA_STATE, 0x3EA, 1, 0x7C, 21, 0x8C),
        (g::LOG_MAX_UCTX, 0x463, 5, 0x8C, 24, 0x9C),
        (g::MAX_NUM_EQS, 0x470, 16, 0x8C, 0, 0x9C),
        (g::LOG_UAR_PAGE_SZ, 0x490, 16, 0x90, 0, 0xA0),
        (g::NUM_OF_UARS_PER_PAGE, 0x520, 32, 0xA4, 0, 0xB4),
        (g::NUM_VHCA_PORTS, 0x610, 8, 0xC0, 8, 0xD0),
        (g::SW_OWNER_ID, 0x61E, 1, 0xC0, 1, 0xD0),
        (g::SF, 0x680, 1, 0xD0, 31, 0xE0),
        (g::NUM_TOTAL_DYNAMIC_VF_MSIX, 0x708, 24, 0xE0, 0, 0xF0),
    ];
    assert_eq!(
        rows.len(),
        caps::GENERAL_FIELDS.len(),
        "every row of the table, and only those"
    );
    for (f, bit_off, width, dw, lsb, out) in rows {
        assert_eq!((f.byte, f.bit, f.width), (*dw, *lsb, *width), "{}", f.name);
        // The table's three columns agree with each other: the kernel's bit offset
        // counts from the MSB of byte 0; the out byte is the dword + the 16-byte header.
        assert_eq!(
            f.byte as u32 * 8 + (32 - f.bit - f.width),
            *bit_off,
            "{} bit offset",
            f.name
        );
        assert_eq!(f.byte + 0x10, *out, "{} out byte", f.name);
        // And through bytes: a field set to all ones lands exactly in those bits.
        let mut c = caps::HcaCap::zeroed();
        let max = f.max();
        f.set(&mut c.as_bytes_mut()[..], max).unwrap();
        let dword = u32::from_be_bytes(c.as_bytes()[*dw..*dw + 4].try_into().unwrap());
        assert_eq!(u64::from(dword), max << lsb, "{}", f.name);
    }
    use caps::CapType as C;
    let types: &[(u16, C)] = &[
        (0, C::GENERAL),
        (1, C::ETHERNET_OFFLOADS),
        (2, C::ODP),
        (3, C::ATOMIC),
        (4, C::ROCE),
        (5, C::IPOIB_OFFLOADS),
        (6, C::IPOIB_ENHANCED_OFFLOADS),
        (7, C::FLOW_TABLE),
        (8, C::ESWITCH_FLOW_TABLE),
        (9, C::ESWITCH),
        (0xC, C::QOS),
        (0xD, C::DEBUG),
        (0xE, C::NVMF),
        (0xF, C::DEV_MEM),
        (0x11, C::TLS),
        (0x13, C::VDPA_EMULATION),
        (0x14, C::DEV_EVENT),
        (0x15, C::IPSEC),
        (0x1A, C::CRYPTO),
        (0x1D, C::SHAMPO),
        (0x1F, C::MACSEC),
        (0x20, C::GENERAL_2),
        (0x25, C::PORT_SELECTION),
        (0x26, C::ADV_VIRTUALIZATION),
        (0x28, C::ADV_RDMA),
    ];
    for (v, t) in types {
        assert_eq!(t.0, *v);
    }
    assert_eq!(C::ALL.len(), types.len());
    assert_eq!(
        caps::query_op_mod(C::GENERAL, caps::CapMode::Current),
        0x0001
    );
    assert_eq!(caps::query_op_mod(C::GENERAL, caps::CapMode::Max), 0x0000);
    assert_eq!(
        caps::query_op_mod(C::ETHERNET_OFFLOADS, caps::CapMode::Current),
        0x0003
    );
}

/// Command layouts: reference §5 (bring-up table, "selected command layouts",
/// teardown paragraph) where it gives a number; `mlx5_ifc.h` otherwise (marked).
#[test]
fn command_layouts_match_reference_section_5() {
    use cxu_hal::ifc::commands::{self, access_reg, caps, eq, hca, pages, uar};
    use cxu_hal::ifc::Opcode;
    check(
        "commands §5",
        &[
            // ENABLE_HCA: function_id dw2 15:0, embedded_cpu_function dw2 bit 31.
            (hca::HCA_FUNCTION_ID, 0x08, 0, 16),
            (hca::HCA_EMBEDDED_CPU_FUNCTION, 0x08, 31, 1),
            // QUERY_ISSI out: current_issi at byte 0x0A (16 bits), supported_issi_dw0 at 0x6C.
            (hca::QUERY_ISSI_CURRENT, 0x08, 0, 16),
            (hca::QUERY_ISSI_SUPPORTED_DW0, 0x6C, 0, 32),
            // SET_ISSI in: current_issi at byte 0x0A.
            (hca::SET_ISSI_CURRENT, 0x08, 0, 16),
            // QUERY_PAGES out: function_id byte 0x0A, num_pages byte 0x0C.
            (pages::FUNCTION_ID, 0x08, 0, 16),
            (pages::QUERY_PAGES_NUM_PAGES, 0x0C, 0, 32),
            // MANAGE_PAGES in: input_num_entries 0x0C; out: output_num_entries 0x08.
            (pages::MANAGE_PAGES_INPUT_NUM_ENTRIES, 0x0C, 0, 32),
            (pages::MANAGE_PAGES_OUTPUT_NUM_ENTRIES, 0x08, 0, 32),
            // INIT_HCA: sw_vhca_id at byte 0x0C bits 29:16.
            (hca::INIT_HCA_SW_VHCA_ID, 0x0C, 16, 14),
            // TEARDOWN_HCA out: state byte 0x0F bit 0; in: profile (mlx5_ifc.h: dw2 15:0).
            (hca::TEARDOWN_STATE, 0x0C, 0, 1),
            (hca::TEARDOWN_PROFILE, 0x08, 0, 16),
            // QUERY_ADAPTER param block: ieee_vendor_id at byte 0x19, 24 bits.
            (hca::ADAPTER_IEEE_VENDOR_ID, 0x18, 0, 24),
            // SET_HCA_CAP / QUERY_HCA_CAP in: other_function dw2 bit 31, function_id dw2 15:0.
            (caps::OTHER_FUNCTION, 0x08, 31, 1),
            (caps::FUNCTION_ID, 0x08, 0, 16),
            // CREATE_EQ out / DESTROY_EQ in: eq_number at byte 0x0B.
            (eq::EQ_NUMBER, 0x08, 0, 8),
            // ALLOC_UAR out: uar index at byte 0x09 (24 bits).
            (uar::UAR, 0x08, 0, 24),
            // ACCESS_REG in: register_id at byte 0x0A, argument at 0x0C.
            (access_reg::REGISTER_ID, 0x08, 0, 16),
            (access_reg::ARGUMENT, 0x0C, 0, 32),
        ],
    );
    assert_eq!(hca::ADAPTER_PSID, 0xF0);
    assert_eq!(hca::QUERY_ADAPTER_PARAM_BLOCK, 0x10);
    assert_eq!(hca::INIT_HCA_SW_OWNER_ID, 0x10);
    assert_eq!(hca::DRIVER_VERSION_OFFSET, 0x10);
    assert_eq!(pages::PAS_OFFSET, 0x10);
    assert_eq!(pages::MAX_RECLAIM_PAGES, (16 + 12 * 512 - 16) / 8);
    assert_eq!(caps::CAPABILITY_OFFSET, 0x10);
    assert_eq!(
        (
            eq::EQ_CONTEXT_OFFSET,
            eq::EVENT_BITMASK_OFFSET,
            eq::PAS_OFFSET
        ),
        (0x10, 0x58, 0x110)
    );
    assert_eq!(access_reg::DATA_OFFSET, 0x10);

    // Sizes: (opcode, inlen, outlen). Reference: QUERY_ISSI out 112, SET_DRIVER_VERSION
    // in 80, NOP 16/16, CREATE_EQ in 272 + pas, QUERY_HCA_CAP out 16 + 4096.
    // mlx5_ifc.h: the 16-byte ones, INIT_HCA in 32 (with sw_owner_id), QUERY_ADAPTER out
    // 16 + 256 (query_adapter_param_block), SET_HCA_CAP in 16 + 4096, ENABLE_HCA and
    // DISABLE_HCA out 12 (status, syndrome and one reserved dword).
    let table: &[(Opcode, usize, usize)] = &[
        (Opcode::ENABLE_HCA, 16, 12),
        (Opcode::DISABLE_HCA, 16, 12),
        (Opcode::QUERY_ISSI, 16, 112),
        (Opcode::SET_ISSI, 16, 16),
        (Opcode::QUERY_PAGES, 16, 16),
        (Opcode::MANAGE_PAGES, 16, 16),
        (Opcode::QUERY_HCA_CAP, 16, 4112),
        (Opcode::SET_HCA_CAP, 4112, 16),
        (Opcode::INIT_HCA, 32, 16),
        (Opcode::TEARDOWN_HCA, 16, 16),
        (Opcode::SET_DRIVER_VERSION, 80, 16),
        (Opcode::QUERY_ADAPTER, 16, 272),
        (Opcode::NOP, 16, 16),
        (Opcode::CREATE_EQ, 272, 16),
        (Opcode::DESTROY_EQ, 16, 16),
        (Opcode::ALLOC_UAR, 16, 16),
        (Opcode::DEALLOC_UAR, 16, 16),
        (Opcode::ACCESS_REG, 16, 16),
        (Opcode::QUERY_NIC_VPORT_CONTEXT, 16, 0x110),
        (Opcode::MODIFY_NIC_VPORT_CONTEXT, 0x200, 16),
        (Opcode::ALLOC_PD, 16, 16),
        (Opcode::QUERY_Q_COUNTER, 0x20, 0x100),
        (Opcode::CREATE_MKEY, 0x110, 16),
        (Opcode::CREATE_TIS, 0xC0, 16),
        (Opcode::CREATE_TIR, 0x110, 16),
        (Opcode::CREATE_RQT, 0x110, 16),
        (Opcode::CREATE_FLOW_TABLE, 0x40, 16),
        (Opcode::DESTROY_FLOW_TABLE, 0x40, 16),
        (Opcode::CREATE_FLOW_GROUP, 0x400, 16),
        (Opcode::SET_FLOW_TABLE_ENTRY, 0x340, 16),
        (Opcode::DELETE_FLOW_TABLE_ENTRY, 0x40, 16),
        (Opcode::SET_FLOW_TABLE_ROOT, 0x40, 16),
        (Opcode::QUERY_VPORT_STATE, 16, 16),
    ];
    for (op, inlen, outlen) in table {
        let s = commands::sizes(*op).unwrap_or_else(|| panic!("{op} has sizes"));
        assert_eq!((s.inlen, s.outlen), (*inlen, *outlen), "{op}");
    }
    assert!(commands::sizes(Opcode::CREATE_QP).is_none());

    // Op-mods from the reference: QUERY_PAGES 1 boot / 2 init / 3 regular;
    // MANAGE_PAGES 0 cant_give / 1 give / 2 take; TEARDOWN profiles 0 / 1 / 2.
    assert_eq!(
        [
            pages::QueryPagesMode::Boot as u16,
            pages::QueryPagesMode::Init as u16,
            pages::QueryPagesMode::Regular as u16
        ],
        [1, 2, 3]
    );
    assert_eq!(
        [
            pages::ManagePagesOp::CantGive as u16,
            pages::ManagePagesOp::Give as u16,
            pages::ManagePagesOp::Take as u16
        ],
        [0, 1, 2]
    );
    use hca::TeardownProfile as T;
    assert_eq!(
        [
            T::GracefulClose as u16,
            T::ForceClose as u16,
            T::PrepareFastTeardown as u16
        ],
        [0, 1, 2]
    );
    assert_eq!(
        [
            access_reg::RegOp::Write as u16,
            access_reg::RegOp::Read as u16
        ],
        [0, 1]
    );
}

/// Register layouts, with numbers from the kernel sources named per block
/// (`mlx5_ifc.h` struct bit offsets converted to dword/bit, and `MLXSW_ITEM32(reg, x,
/// field, byte, lsb, width)` copied as they are).
#[test]
fn register_layouts_match_the_kernel() {
    use cxu_hal::ifc::regs::{
        self, hpkt, htgt, mcam, mcc, mcda, mcqi, mcqs, paos, ppcnt, qpcr, RegisterId,
    };
    let ids: &[(RegisterId, u16)] = &[
        (RegisterId::QPCR, 0x4004),
        (RegisterId::PMTU, 0x5003),
        (RegisterId::PFCC, 0x5007),
        (RegisterId::PTYS, 0x5004),
        (RegisterId::PAOS, 0x5006),
        (RegisterId::PPCNT, 0x5008),
        (RegisterId::HTGT, 0x7002),
        (RegisterId::HPKT, 0x7003),
        (RegisterId::HOST_ENDIANNESS, 0x7004),
        (RegisterId::MCQS, 0x9060),
        (RegisterId::MCQI, 0x9061),
        (RegisterId::MCC, 0x9062),
        (RegisterId::MCDA, 0x9063),
        (RegisterId::MCAM, 0x907F),
        (RegisterId::DTOR, 0xC00E),
    ];
    for (id, v) in ids {
        assert_eq!(id.0, *v, "{id}");
    }
    assert_eq!(regs::RegisterId::ALL.len(), ids.len());

    // mlx5_ifc_paos_reg_bits: swid[8] local_port[8] rsvd[4] admin_status[4] rsvd[4]
    // oper_status[4] | ase[1] ee[1] rsvd[0x1c] e[2] | rsvd[0x40]  => 16 bytes.
    assert_eq!(paos::LEN, 16);
    check(
        "PAOS",
        &[
            (paos::SWID, 0x00, 24, 8),
            (paos::LOCAL_PORT, 0x00, 16, 8),
            (paos::ADMIN_STATUS, 0x00, 8, 4),
            (paos::OPER_STATUS, 0x00, 0, 4),
            (paos::ASE, 0x04, 31, 1),
            (paos::EE, 0x04, 30, 1),
            (paos::E, 0x04, 0, 2),
        ],
    );
    // mlx5_ifc_ppcnt_reg_bits: swid[8] local_port[8] pnat[2] rsvd[8] grp[6] |
    // clr[1] rsvd[0x13] plane_ind[4] rsvd[3] prio_tc[5] | counter_set (0x7c0 bits).
    assert_eq!((ppcnt::LEN, ppcnt::COUNTER_SET), (0x100, 0x08));
    check(
        "PPCNT",
        &[
            (ppcnt::SWID, 0x00, 24, 8),
            (ppcnt::LOCAL_PORT, 0x00, 16, 8),
            (ppcnt::PNAT, 0x00, 14, 2),
            (ppcnt::GRP, 0x00, 0, 6),
            (ppcnt::CLR, 0x04, 31, 1),
            (ppcnt::PLANE_IND, 0x04, 8, 4),
            (ppcnt::PRIO_TC, 0x04, 0, 5),
        ],
    );
    // mlx5_ifc_mcam_reg_bits: rsvd[8] feature_group[8] rsvd[8] access_reg_group[8] |
    // rsvd[0x20] | mng_access_reg_cap_mask (0x80 bits; mcam_access_reg_bits ends
    // ... mcda[1] mcc[1] mcqi[1] mcqs[1] at bits 0x1c-0x1f) | rsvd[0x80] |
    // mng_feature_cap_mask[0x80] | rsvd[0x80] => 72 bytes.
    assert_eq!(mcam::LEN, 0x48);
    check(
        "MCAM",
        &[
            (mcam::FEATURE_GROUP, 0x00, 16, 8),
            (mcam::ACCESS_REG_GROUP, 0x00, 0, 8),
            (mcam::MCDA, 0x08, 3, 1),
            (mcam::MCC, 0x08, 2, 1),
            (mcam::MCQI, 0x08, 1, 1),
            (mcam::MCQS, 0x08, 0, 1),
        ],
    );
    // mlx5_ifc_mcqs_reg_bits: last_index_flag[1] rsvd[7] fw_device[8]
    // component_index[0x10] | rsvd[0x10] identifier[0x10] | rsvd[0x17]
    // component_status[5] component_update_state[4] | ... => 16 bytes.
    assert_eq!(mcqs::LEN, 16);
    check(
        "MCQS",
        &[
            (mcqs::LAST_INDEX_FLAG, 0x00, 31, 1),
            (mcqs::COMPONENT_INDEX, 0x00, 0, 16),
            (mcqs::IDENTIFIER, 0x04, 0, 16),
            (mcqs::COMPONENT_STATUS, 0x08, 4, 5),
            (mcqs::COMPONENT_UPDATE_STATE, 0x08, 0, 4),
        ],
    );
    // eth_802_3_cntrs_grp_data_layout: 19 high/low pairs then reserved_at_4c0.
    assert_eq!(ppcnt::IEEE_802_3_NAMES.len() * 64, 0x4c0);
    // mlx5_ifc_mcqi_reg_bits: header 0x18 bytes; mcqi_cap 0x14; mcqi_version 0x7c.
    assert_eq!(
        (mcqi::HEADER_LEN, mcqi::CAP_LEN, mcqi::VERSION_LEN),
        (0x18, 0x14, 0x7C)
    );
    check(
        "MCQI",
        &[
            (mcqi::READ_PENDING_COMPONENT, 0x00, 31, 1),
            (mcqi::COMPONENT_INDEX, 0x00, 0, 16),
            (mcqi::INFO_TYPE, 0x08, 0, 5),
            (mcqi::INFO_SIZE, 0x0C, 0, 32),
            (mcqi::OFFSET, 0x10, 0, 32),
            (mcqi::DATA_SIZE, 0x14, 0, 16),
            (mcqi::CAP_SUPPORTED_INFO_BITMASK, 0x00, 0, 32),
            (mcqi::CAP_COMPONENT_SIZE, 0x04, 0, 32),
            (mcqi::CAP_MAX_COMPONENT_SIZE, 0x08, 0, 32),
            (mcqi::CAP_LOG_MCDA_WORD_SIZE, 0x0C, 28, 4),
            (mcqi::CAP_MCDA_MAX_WRITE_SIZE, 0x0C, 0, 16),
            (mcqi::CAP_RD_EN, 0x10, 31, 1),
            (mcqi::CAP_MATCH_PSID, 0x10, 28, 1),
            (mcqi::VERSION_BUILD_TIME_VALID, 0x00, 29, 1),
            (mcqi::VERSION_USER_DEFINED_TIME_VALID, 0x00, 28, 1),
            (mcqi::VERSION_STRING_LENGTH, 0x00, 0, 8),
            (mcqi::VERSION_VERSION, 0x04, 0, 32),
            (mcqi::VERSION_BUILD_TIME, 0x08, 0, 64),
            (mcqi::VERSION_USER_DEFINED_TIME, 0x10, 0, 64),
            (mcqi::VERSION_BUILD_TOOL_VERSION, 0x18, 0, 32),
        ],
    );
    assert_eq!(mcqi::VERSION_STRING, 0x20);
    assert_eq!(
        [
            mcqi::info_type::CAPABILITIES,
            mcqi::info_type::VERSION,
            mcqi::info_type::ACTIVATION_METHOD
        ],
        [0, 1, 5]
    );
    // mlx5_ifc_mcc_reg_bits: 0x100 bits = 32 bytes.
    assert_eq!(mcc::LEN, 32);
    check(
        "MCC",
        &[
            (mcc::TIME_ELAPSED_SINCE_LAST_CMD, 0x00, 16, 12),
            (mcc::INSTRUCTION, 0x00, 0, 8),
            (mcc::COMPONENT_INDEX, 0x04, 0, 16),
            (mcc::UPDATE_HANDLE, 0x08, 0, 24),
            (mcc::HANDLE_OWNER_TYPE, 0x0C, 28, 4),
            (mcc::HANDLE_OWNER_HOST_ID, 0x0C, 24, 4),
            (mcc::CONTROL_PROGRESS, 0x0C, 16, 7),
            (mcc::ERROR_CODE, 0x0C, 8, 8),
            (mcc::CONTROL_STATE, 0x0C, 0, 4),
            (mcc::COMPONENT_SIZE, 0x10, 0, 32),
        ],
    );
    // fw.c MLX5_REG_MCC_INSTRUCTION_*; mlxfw.h MLXFW_FSM_STATE_* and _ERR_*.
    use mcc::{ControlState as S, ErrorCode as E, Instruction as I};
    assert_eq!(
        [
            I::LOCK_UPDATE_HANDLE.0,
            I::RELEASE_UPDATE_HANDLE.0,
            I::UPDATE_COMPONENT.0,
            I::VERIFY_COMPONENT.0,
            I::ACTIVATE.0,
            I::CANCEL.0
        ],
        [1, 2, 3, 4, 6, 8]
    );
    assert_eq!(
        [
            S::IDLE.0,
            S::LOCKED.0,
            S::INITIALIZE.0,
            S::DOWNLOAD.0,
            S::VERIFY.0,
            S::APPLY.0,
            S::ACTIVATE.0
        ],
        [0, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        (
            E::OK.0,
            E::REJECTED_DIGEST_ERR.0,
            E::BLOCKED_PENDING_RESET.0
        ),
        (0, 2, 9)
    );
    // mlx5_ifc_mcda_reg_bits: header 0x10 bytes, then data.
    assert_eq!(mcda::HEADER_LEN, 0x10);
    check(
        "MCDA",
        &[
            (mcda::UPDATE_HANDLE, 0x00, 0, 24),
            (mcda::OFFSET, 0x04, 0, 32),
            (mcda::SIZE, 0x08, 0, 16),
        ],
    );
    // mlxsw/reg.h, copied from the MLXSW_ITEM32 lines.
    assert_eq!((hpkt::LEN, htgt::LEN, qpcr::LEN), (0x10, 0x20, 0x28));
    check(
        "HPKT",
        &[
            (hpkt::ACK, 0x00, 24, 1),
            (hpkt::ACTION, 0x00, 20, 3),
            (hpkt::TRAP_GROUP, 0x00, 12, 6),
            (hpkt::TRAP_ID, 0x00, 0, 10),
            (hpkt::CTRL, 0x04, 16, 2),
        ],
    );
    check(
        "HTGT",
        &[
            (htgt::SWID, 0x00, 24, 8),
            (htgt::TYPE, 0x00, 8, 4),
            (htgt::TRAP_GROUP, 0x00, 0, 8),
            (htgt::PIDE, 0x04, 15, 1),
            (htgt::PID, 0x04, 0, 8),
            (htgt::MIRROR_ACTION, 0x08, 8, 2),
            (htgt::MIRRORING_AGENT, 0x08, 0, 3),
            (htgt::PRIORITY, 0x0C, 0, 4),
            (htgt::LOCAL_PATH_CPU_TCLASS, 0x10, 16, 6),
            (htgt::LOCAL_PATH_RDQ, 0x10, 0, 6),
        ],
    );
    check(
        "QPCR",
        &[
            (qpcr::G, 0x00, 14, 2),
            (qpcr::PID, 0x00, 0, 14),
            (qpcr::CLEAR_COUNTER, 0x04, 31, 1),
            (qpcr::COLOR_AWARE, 0x04, 15, 1),
            (qpcr::BYTES, 0x04, 14, 1),
            (qpcr::IR_UNITS, 0x04, 12, 1),
            (qpcr::RATE_TYPE, 0x04, 8, 2),
            (qpcr::CBS, 0x08, 24, 6),
            (qpcr::CIR, 0x0C, 0, 32),
            (qpcr::EIR, 0x10, 0, 32),
            (qpcr::EXCEED_ACTION, 0x14, 0, 4),
            (qpcr::VIOLATE_ACTION, 0x18, 0, 4),
            (qpcr::VIOLATE_COUNT, 0x20, 0, 64),
        ],
    );
    assert_eq!((qpcr::scope::GLOBAL, qpcr::scope::STORM_CONTROL), (2, 3));
    assert_eq!((qpcr::action::DISCARD, qpcr::action::FORWARD), (1, 2));
    use hpkt::TrapAction as A;
    assert_eq!(
        [
            A::Forward as u8,
            A::TrapToCpu as u8,
            A::MirrorToCpu as u8,
            A::Discard as u8,
            A::SoftDiscard as u8,
            A::TrapAndSoftDiscard as u8
        ],
        [0, 1, 2, 3, 4, 5]
    );
}

#[test]
fn pci_identity_and_uar_layout_match_reference_sections_1_and_9() {
    use cxu_hal::ifc::{doorbell, pci_id};
    assert_eq!(pci_id::VENDOR_MELLANOX, 0x15B3);
    let ids: &[(u16, bool)] = &[
        (0x1013, false),
        (0x1014, true),
        (0x1015, false),
        (0x1016, true),
        (0x1017, false),
        (0x1018, true),
        (0x1019, false),
        (0x101A, true),
        (0x101B, false),
        (0x101C, true),
        (0x101D, false),
        (0x101E, true),
        (0x101F, false),
        (0x1021, false),
        (0x1023, false),
        (0x1025, false),
        (0x1027, false),
        (0xA2D2, false),
        (0xA2D3, true),
        (0xA2D6, false),
        (0xA2DC, false),
        (0xA2DF, false),
    ];
    for (id, vf) in ids {
        assert!(pci_id::device_name(0x15B3, *id).is_some(), "{id:#x}");
        assert_eq!(pci_id::is_vf(*id), *vf, "{id:#x}");
    }
    assert_eq!(pci_id::DEVICES.len(), ids.len());
    assert_eq!(
        (
            doorbell::UAR_CQ_DOORBELL,
            doorbell::UAR_EQ_DOORBELL_ARM,
            doorbell::UAR_EQ_DOORBELL_NO_ARM,
            doorbell::UAR_BF_OFFSET
        ),
        (0x20, 0x40, 0x48, 0x800)
    );
    assert_eq!((doorbell::RCV_DBR, doorbell::SND_DBR), (0, 1));
}
