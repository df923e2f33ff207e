//! Syndromes the model's firmware writes with a failing command status.
//!
//! Real syndromes are firmware-private 32-bit values; these are the model's own
//! (all start with 0x6D, "m"), one per distinct reason, so a test can tell
//! *why* a command failed and a driver can print it.
#![forbid(unsafe_code)]

/// Unknown or unsupported opcode (BAD_OP).
pub const BAD_OPCODE: u32 = 0x6D00_0001;
/// Input shorter than the command needs (BAD_INP_LEN).
pub const BAD_INPUT_LEN: u32 = 0x6D00_0002;
/// Output buffer shorter than the command's output (BAD_OUTP_LEN).
pub const BAD_OUTPUT_LEN: u32 = 0x6D00_0003;
/// The HCA is not enabled: ENABLE_HCA first (BAD_SYS_STATE).
pub const HCA_NOT_ENABLED: u32 = 0x6D00_0010;
/// ENABLE_HCA on an enabled HCA (BAD_SYS_STATE).
pub const HCA_ALREADY_ENABLED: u32 = 0x6D00_0014;
/// The command needs INIT_HCA first (BAD_SYS_STATE).
pub const HCA_NOT_INITIALIZED: u32 = 0x6D00_0011;
/// The command is only valid before INIT_HCA (BAD_SYS_STATE).
pub const HCA_ALREADY_INITIALIZED: u32 = 0x6D00_0012;
/// INIT_HCA before firmware got the boot and init pages it asked for (BAD_SYS_STATE).
pub const PAGES_MISSING: u32 = 0x6D00_0013;
/// A function id other than 0 (the model has no VFs) (BAD_PARAM).
pub const BAD_FUNCTION_ID: u32 = 0x6D00_0020;
/// An op_mod the command does not define (BAD_PARAM).
pub const BAD_OP_MOD: u32 = 0x6D00_0021;
/// SET_ISSI to a value firmware does not support (BAD_PARAM).
pub const ISSI_UNSUPPORTED: u32 = 0x6D00_0022;
/// TEARDOWN_HCA with an unknown profile (BAD_PARAM).
pub const BAD_TEARDOWN_PROFILE: u32 = 0x6D00_0023;
/// MANAGE_PAGES: more entries than the input carries (BAD_INP_LEN).
pub const PAGES_NUM_ENTRIES: u32 = 0x6D00_0030;
/// MANAGE_PAGES: a page address not 4 KiB aligned (BAD_PARAM).
pub const PAGE_NOT_ALIGNED: u32 = 0x6D00_0031;
/// MANAGE_PAGES: a page given twice (BAD_PARAM).
pub const PAGE_DUPLICATE: u32 = 0x6D00_0032;
/// MANAGE_PAGES: a page the IOMMU does not map (an IOMMU fault was recorded) (BAD_PARAM).
pub const PAGE_UNMAPPED: u32 = 0x6D00_0033;
/// QUERY/SET_HCA_CAP: capability type the model does not have (BAD_PARAM).
pub const CAP_TYPE_UNSUPPORTED: u32 = 0x6D00_0040;
/// SET_HCA_CAP: a value above the maximum capability (BAD_PARAM).
pub const CAP_ABOVE_MAX: u32 = 0x6D00_0041;
/// ALLOC_UAR: no UAR pages left (NO_RES).
pub const UAR_EXHAUSTED: u32 = 0x6D00_0050;
/// DEALLOC_UAR / CREATE_EQ: UAR not allocated (BAD_PARAM).
pub const UAR_NOT_ALLOCATED: u32 = 0x6D00_0051;
/// DEALLOC_UAR: an EQ still rings through this UAR (RES_BUSY).
pub const UAR_IN_USE: u32 = 0x6D00_0052;
/// CREATE_EQ: `log_max_eq` EQs exist already (LIM_ERR).
pub const EQ_LIMIT: u32 = 0x6D00_0060;
/// CREATE_EQ: `log_eq_size` above `log_max_eq_sz` (BAD_PARAM).
pub const EQ_SIZE: u32 = 0x6D00_0061;
/// CREATE_EQ: MSI-X vector the function does not have (BAD_PARAM).
pub const EQ_BAD_VECTOR: u32 = 0x6D00_0062;
/// CREATE_EQ: a `pas` entry not 4 KiB aligned (BAD_PARAM).
pub const EQ_PAS_NOT_ALIGNED: u32 = 0x6D00_0063;
/// CREATE_EQ: a `pas` page the IOMMU does not map (fault recorded) (BAD_PARAM).
pub const EQ_PAS_UNMAPPED: u32 = 0x6D00_0064;
/// CREATE_EQ: fewer `pas` entries than the EQ needs (BAD_INP_LEN).
pub const EQ_PAS_MISSING: u32 = 0x6D00_0065;
/// DESTROY_EQ: no such EQ (BAD_RES).
pub const EQ_NOT_FOUND: u32 = 0x6D00_0066;
/// ACCESS_REG: register the model does not implement (BAD_PARAM).
pub const REG_UNKNOWN: u32 = 0x6D00_0070;
/// ACCESS_REG: bad field value in a register (BAD_PARAM).
pub const REG_BAD_FIELD: u32 = 0x6D00_0071;
/// ACCESS_REG: index (port, trap, policer, component) out of range (BAD_PARAM).
pub const REG_BAD_INDEX: u32 = 0x6D00_0072;
/// ACCESS_REG MCC: instruction not valid in the current flash state (BAD_SYS_STATE).
pub const FLASH_BAD_STATE: u32 = 0x6D00_0073;
/// ACCESS_REG MCC/MCDA: wrong update handle (BAD_PARAM).
pub const FLASH_BAD_HANDLE: u32 = 0x6D00_0074;

// ---- The Ethernet control plane (NIC vport, PD/TD/mkey/counters, TIS/TIR/RQT,
// flow tables, port registers): 0x6D00_0Cxx. ----

/// NIC vport command for a vport the function does not manage (only its own,
/// number 0, `other_vport` 0) (BAD_PARAM).
pub const VPORT_NOT_MANAGED: u32 = 0x6D00_0C00;
/// NIC vport: `allowed_list_type` not UC, MC or VLAN (BAD_PARAM).
pub const BAD_LIST_TYPE: u32 = 0x6D00_0C01;
/// MODIFY_NIC_VPORT_CONTEXT: a list longer than the capability allows (BAD_PARAM).
pub const LIST_TOO_LONG: u32 = 0x6D00_0C02;
/// MODIFY_NIC_VPORT_CONTEXT: `field_select` names a field this function may
/// not change (BAD_PARAM).
pub const FIELD_NOT_MODIFIABLE: u32 = 0x6D00_0C03;
/// MODIFY_NIC_VPORT_CONTEXT / PMTU: an MTU of 0 or above the port's maximum (BAD_PARAM).
pub const BAD_MTU: u32 = 0x6D00_0C04;
/// An object number that does not exist (or belongs to another type) (BAD_RES).
pub const OBJECT_NOT_FOUND: u32 = 0x6D00_0C10;
/// DESTROY/DEALLOC of an object another object still refers to (RES_BUSY).
pub const OBJECT_IN_USE: u32 = 0x6D00_0C11;
/// No more objects of this type (`log_max_*`) (LIM).
pub const OBJECT_LIMIT: u32 = 0x6D00_0C12;
/// A referenced object (PD, TD, RQT, RQ, table, group...) does not exist (BAD_PARAM).
pub const BAD_REFERENCE: u32 = 0x6D00_0C13;
/// A context field with a value the model does not support (BAD_PARAM).
pub const BAD_CONTEXT_FIELD: u32 = 0x6D00_0C14;
/// A size (log size, list size, group range) out of its bounds (BAD_PARAM).
pub const BAD_SIZE: u32 = 0x6D00_0C15;
/// SET_FLOW_TABLE_ENTRY: the index lies outside the group, or the entry does
/// not match the group's criteria (BAD_PARAM).
pub const FTE_OUTSIDE_GROUP: u32 = 0x6D00_0C16;
/// CREATE_FLOW_GROUP: its range overlaps another group's (BAD_PARAM).
pub const GROUP_OVERLAP: u32 = 0x6D00_0C17;
/// A flow table type or level the model does not have (BAD_PARAM).
pub const BAD_TABLE_TYPE: u32 = 0x6D00_0C18;

// ---- UMEMs (CREATE_UMEM/DESTROY_UMEM, uid 0): 0x6D00_00Ax. ----

/// CREATE_UMEM/DESTROY_UMEM: a uid other than 0 (the model has no user contexts) (BAD_PARAM).
pub const UMEM_BAD_UID: u32 = 0x6D00_00A0;
/// CREATE_UMEM: `ats` set, `page_offset` past the first page, or no pages (BAD_PARAM).
pub const UMEM_BAD_PARAM: u32 = 0x6D00_00A1;
/// CREATE_UMEM: a page not aligned to the UMEM page size, or neither read nor write (BAD_PARAM).
pub const UMEM_BAD_PAGE: u32 = 0x6D00_00A2;
/// CREATE_UMEM: a page the IOMMU does not map (BAD_PARAM).
pub const UMEM_PAGE_UNMAPPED: u32 = 0x6D00_00A3;
/// CREATE_UMEM: every UMEM id in use (NO_RES).
pub const UMEM_EXHAUSTED: u32 = 0x6D00_00A4;
/// DESTROY_UMEM: no such UMEM (BAD_RES).
pub const UMEM_NOT_FOUND: u32 = 0x6D00_00A5;
