//! The model's syndromes for queue commands (0x6D00_01xx, past the ones in
//! `firmware::syndrome`): real syndromes are firmware-private, so these only
//! need to be distinct and stable for tests.

/// A CQ context's `log_cq_size` above `log_max_cq_sz`, or a bad `cqe_sz`.
pub const CQ_SIZE: u32 = 0x6D00_0100;
/// The CQ's `c_eqn` names no EQ.
pub const CQ_BAD_EQN: u32 = 0x6D00_0101;
/// The CQ number is unknown.
pub const CQ_NOT_FOUND: u32 = 0x6D00_0102;
/// DESTROY_CQ of a CQ an SQ or RQ still uses.
pub const CQ_IN_USE: u32 = 0x6D00_0103;
/// Too many CQs (`log_max_cq`).
pub const CQ_LIMIT: u32 = 0x6D00_0104;
/// MODIFY_CQ: a field select bit or op_mod firmware does not implement.
pub const CQ_BAD_MODIFY: u32 = 0x6D00_0105;
/// A `pas` entry not aligned to the buffer's page size.
pub const PAS_NOT_ALIGNED: u32 = 0x6D00_0110;
/// A `pas` page not mapped through the IOMMU.
pub const PAS_UNMAPPED: u32 = 0x6D00_0111;
/// The input is too short for the `pas` entries the buffer needs.
pub const PAS_MISSING: u32 = 0x6D00_0112;
/// The doorbell record is not 8-byte aligned.
pub const DBR_NOT_ALIGNED: u32 = 0x6D00_0113;
/// The doorbell record is not mapped through the IOMMU.
pub const DBR_UNMAPPED: u32 = 0x6D00_0114;
/// A buffer page size (`log_page_size`, `log_wq_pg_sz`) or a non-zero page
/// offset firmware does not take.
pub const BAD_PAGE_SIZE: u32 = 0x6D00_0115;
/// A WQ's `log_wq_sz` above `log_max_wq_sz`, or a stride out of range.
pub const WQ_SIZE: u32 = 0x6D00_0120;
/// A WQ type the queue cannot have (an SQ is cyclic).
pub const WQ_BAD_TYPE: u32 = 0x6D00_0121;
/// An SQ or RQ context names a CQ that does not exist.
pub const WQ_BAD_CQN: u32 = 0x6D00_0122;
/// CREATE_SQ / CREATE_RQ with a state other than RST.
pub const WQ_NOT_RST: u32 = 0x6D00_0123;
/// MODIFY_SQ / MODIFY_RQ: the current state given is not the queue's.
pub const WQ_STATE_MISMATCH: u32 = 0x6D00_0124;
/// MODIFY_SQ / MODIFY_RQ: a transition firmware does not make (RST → ERR,
/// ERR → RDY, or an undefined state).
pub const WQ_BAD_TRANSITION: u32 = 0x6D00_0125;
/// MODIFY_SQ / MODIFY_RQ: a `modify_bitmask` bit firmware does not implement.
pub const WQ_BAD_MODIFY: u32 = 0x6D00_0126;
/// The SQ number is unknown.
pub const SQ_NOT_FOUND: u32 = 0x6D00_0130;
/// Too many SQs (`log_max_sq`).
pub const SQ_LIMIT: u32 = 0x6D00_0131;
/// The RQ number is unknown.
pub const RQ_NOT_FOUND: u32 = 0x6D00_0140;
/// Too many RQs (`log_max_rq`).
pub const RQ_LIMIT: u32 = 0x6D00_0141;
/// An RQ backed by an RMP (`mem_rq_type` 1): the model has no RMPs.
pub const RQ_BAD_MEM_TYPE: u32 = 0x6D00_0142;
