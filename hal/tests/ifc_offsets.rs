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
