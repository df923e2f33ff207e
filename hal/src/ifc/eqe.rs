//! Event queue entries (`struct mlx5_eqe`, 64 bytes, reference §7 and §5) and the
//! event types.
//!
//! Layout: byte 0x01 type, 0x03 sub_type, 0x20..0x3C the 28-byte event data,
//! 0x3E signature, 0x3F owner (bit 0). Software initializes every owner bit to 1;
//! HW writes 0 on its first pass over the ring, 1 on the second, and so on, so
//! entry `ci & (size - 1)` belongs to software when `owner & 1 == (ci >> log_size) & 1`.

use super::error::{Error, Result};
use super::field::{get_bytes, need, Field};
use super::named::named_values;

/// Size of one EQE.
pub const EQE_SIZE: usize = 64;
/// Size of the event data union.
pub const DATA_SIZE: usize = 28;
/// Byte offset of the event data.
pub const DATA_OFFSET: usize = 0x20;

/// `type` (byte 0x01).
pub const TYPE: Field = Field::u8_at("type", 0x01);
/// `sub_type` (byte 0x03).
pub const SUB_TYPE: Field = Field::u8_at("sub_type", 0x03);
/// `signature` (byte 0x3E).
pub const SIGNATURE: Field = Field::u8_at("signature", 0x3E);
/// `owner` byte (0x3F); only bit 0 is the owner bit.
pub const OWNER: Field = Field::u8_at("owner", 0x3F);
/// Byte offset of `owner`.
pub const OWNER_OFFSET: usize = 0x3F;

/// Command completion: BE32 slot bitmask at EQE 0x20 (`data.cmd.vector`).
pub const CMD_VECTOR: Field = Field::be32_at("cmd_vector", 0x20);
/// Page request: `ec_function` BE16 at 0x20; bit 15 = embedded-CPU function.
pub const PAGE_REQ_EC_FUNCTION: Field = Field::new("ec_function", 0x20, 31, 1);
/// Page request: bit 14 of `ec_function` = release all pages (no command needed).
pub const PAGE_REQ_RELEASE_ALL: Field = Field::new("release_all_pages", 0x20, 30, 1);
/// Page request: `func_id` BE16 at 0x22.
pub const PAGE_REQ_FUNC_ID: Field = Field::be16_at("func_id", 0x22);
/// Page request: `num_pages` BE32 (signed) at 0x24: > 0 give, < 0 reclaim.
pub const PAGE_REQ_NUM_PAGES: Field = Field::be32_at("num_pages", 0x24);
/// Port change: port number in bits 7:4 of byte 0x28.
pub const PORT_CHANGE_PORT: Field = Field::new("port", 0x28, 28, 4);
/// CQ completion: cqn in the low 24 bits of the BE32 at 0x38.
pub const COMP_CQN: Field = Field::new("cqn", 0x38, 0, 24);
/// CQ error: cqn (low 24 bits of the BE32 at 0x20).
pub const CQ_ERR_CQN: Field = Field::new("cqn", 0x20, 0, 24);
/// CQ error: syndrome (byte 0x2B).
pub const CQ_ERR_SYNDROME: Field = Field::u8_at("syndrome", 0x2B);
/// QP/SRQ events: resource type (byte 0x34).
pub const QP_SRQ_TYPE: Field = Field::u8_at("type", 0x34);
/// QP/SRQ events: qp/srq number (low 24 bits of the BE32 at 0x38).
pub const QP_SRQ_NUMBER: Field = Field::new("qp_srq_n", 0x38, 0, 24);
/// NIC vport change: `vport_num` BE16 at 0x22.
pub const VPORT_CHANGE_NUM: Field = Field::be16_at("vport_num", 0x22);
/// General event, PCI sync for FW update: `sync_rst_state` = data byte 3 & 0xF.
pub const SYNC_RST_STATE: Field = Field::new("sync_rst_state", 0x20, 0, 4);

/// Spare entries added to every EQ (`MLX5_NUM_SPARE_EQE`).
pub const NUM_SPARE_EQE: u32 = 0x80;
/// EQEs handled per interrupt, and the most between CI updates (`MLX5_EQ_POLLING_BUDGET`).
pub const EQ_POLLING_BUDGET: u32 = 128;

/// Number of EQEs the kernel allocates for `nent` requested: `nent + 128`
/// rounded up to a power of two (cmd EQ 32 → 256, async 4096 → 8192).
pub fn eq_entries(nent: u32) -> Result<u32> {
    nent.checked_add(NUM_SPARE_EQE)
        .and_then(u32::checked_next_power_of_two)
        .ok_or(Error::BadValue {
            what: "EQ nent",
            value: u64::from(nent),
            expected: "at most 2^31 - 128",
        })
}

/// An EQ event type (EQE byte 0x01; `MLX5_EVENT_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EventType(pub u8);

named_values!(EventType: u8 {
    /// CQ completion.
    COMP = 0x00,
    /// Path migrated.
    PATH_MIG = 0x01,
    /// Communication established.
    COMM_EST = 0x02,
    /// SQ drained.
    SQ_DRAINED = 0x03,
    /// CQ error.
    CQ_ERROR = 0x04,
    /// WQ catastrophic error.
    WQ_CATAS_ERROR = 0x05,
    /// Path migration failed.
    PATH_MIG_FAILED = 0x07,
    /// Internal error.
    INTERNAL_ERROR = 0x08,
    /// Port state change.
    PORT_CHANGE = 0x09,
    /// Command completion.
    CMD = 0x0A,
    /// FW page request.
    PAGE_REQUEST = 0x0B,
    /// Page fault.
    PAGE_FAULT = 0x0C,
    /// NIC vport context change.
    NIC_VPORT_CHANGE = 0x0D,
    /// E-switch functions changed.
    ESW_FUNCTIONS_CHANGED = 0x0E,
    /// vHCA state change.
    VHCA_STATE_CHANGE = 0x0F,
    /// WQ invalid request.
    WQ_INVAL_REQ_ERROR = 0x10,
    /// WQ access error.
    WQ_ACCESS_ERROR = 0x11,
    /// SRQ catastrophic error.
    SRQ_CATAS_ERROR = 0x12,
    /// SRQ last WQE reached.
    SRQ_LAST_WQE = 0x13,
    /// SRQ limit reached.
    SRQ_RQ_LIMIT = 0x14,
    /// GPIO event.
    GPIO_EVENT = 0x15,
    /// Port module event.
    PORT_MODULE_EVENT = 0x16,
    /// Temperature warning.
    TEMP_WARN_EVENT = 0x17,
    /// XRQ error.
    XRQ_ERROR = 0x18,
    /// Remote configuration change.
    REMOTE_CONFIG = 0x19,
    /// Doorbell/BlueFlame congestion.
    DB_BF_CONGESTION = 0x1A,
    /// Stall event.
    STALL_EVENT = 0x1B,
    /// DCT drained.
    DCT_DRAINED = 0x1C,
    /// DCT key violation.
    DCT_KEY_VIOLATION = 0x1D,
    /// General notification event.
    GENERAL_EVENT = 0x22,
    /// Monitor counter.
    MONITOR_COUNTER = 0x24,
    /// PPS event.
    PPS_EVENT = 0x25,
    /// Device tracer.
    DEVICE_TRACER = 0x26,
    /// Object change.
    OBJECT_CHANGE = 0x27,
});

/// PORT_CHANGE sub types (`MLX5_PORT_CHANGE_SUBTYPE_*`).
pub mod port_change {
    /// Link down.
    pub const DOWN: u8 = 1;
    /// Link active.
    pub const ACTIVE: u8 = 4;
    /// Initialized.
    pub const INITIALIZED: u8 = 5;
    /// LID change.
    pub const LID: u8 = 6;
    /// PKEY change.
    pub const PKEY: u8 = 7;
    /// GUID change.
    pub const GUID: u8 = 8;
    /// Client re-register.
    pub const CLIENT_REREG: u8 = 9;
}

/// GENERAL_EVENT sub types (`MLX5_GENERAL_SUBTYPE_*`).
pub mod general_event {
    /// Delay-drop timeout.
    pub const DELAY_DROP_TIMEOUT: u8 = 0x1;
    /// PCI power state change.
    pub const PCI_POWER_CHANGE_EVENT: u8 = 0x5;
    /// FW live patch.
    pub const FW_LIVE_PATCH_EVENT: u8 = 0x7;
    /// PCI sync for FW update (see `SYNC_RST_STATE`: 0 request, 1 now, 2 abort, 3 unload).
    pub const PCI_SYNC_FOR_FW_UPDATE_EVENT: u8 = 0x8;
}

/// A decoded EQE (the generic part; per-type data through the `*_` accessors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eqe {
    /// Event type.
    pub event_type: EventType,
    /// Event sub type.
    pub sub_type: u8,
    /// The 28 data bytes (EQE 0x20..0x3C).
    pub data: [u8; DATA_SIZE],
    /// Signature byte.
    pub signature: u8,
    /// The owner byte (bit 0 is the owner bit).
    pub owner: u8,
}

impl Eqe {
    /// An EQE with the given type, sub type and data; owner and signature 0.
    pub const fn new(event_type: EventType, sub_type: u8, data: [u8; DATA_SIZE]) -> Self {
        Self {
            event_type,
            sub_type,
            data,
            signature: 0,
            owner: 0,
        }
    }

    /// Decodes the first 64 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("EQE", buf, EQE_SIZE)?;
        Ok(Self {
            event_type: EventType(TYPE.get(buf)? as u8),
            sub_type: SUB_TYPE.get(buf)? as u8,
            data: get_bytes("EQE data", buf, DATA_OFFSET)?,
            signature: SIGNATURE.get(buf)? as u8,
            owner: OWNER.get(buf)? as u8,
        })
    }

    /// Encodes into a 64-byte array.
    pub fn encode(&self) -> [u8; EQE_SIZE] {
        let mut b = [0u8; EQE_SIZE];
        b[0x01] = self.event_type.0;
        b[0x03] = self.sub_type;
        b[DATA_OFFSET..DATA_OFFSET + DATA_SIZE].copy_from_slice(&self.data);
        b[0x3E] = self.signature;
        b[OWNER_OFFSET] = self.owner;
        b
    }

    /// The whole EQE as bytes, for the per-type field accessors.
    fn field(&self, f: Field) -> u64 {
        // Every per-type field lies inside the 64-byte EQE (checked by a test),
        // so the lookup cannot fail; 0 is returned if it ever did.
        f.get(&self.encode()).unwrap_or(0)
    }

    /// Command completion: the bitmask of completed slots.
    pub fn cmd_vector(&self) -> u32 {
        self.field(CMD_VECTOR) as u32
    }

    /// Page request: (embedded-CPU function, release all pages, func_id, num_pages).
    pub fn page_request(&self) -> PageRequest {
        PageRequest {
            ec_function: self.field(PAGE_REQ_EC_FUNCTION) != 0,
            release_all: self.field(PAGE_REQ_RELEASE_ALL) != 0,
            func_id: self.field(PAGE_REQ_FUNC_ID) as u16,
            num_pages: self.field(PAGE_REQ_NUM_PAGES) as u32 as i32,
        }
    }

    /// Port change: the port number (1-based).
    pub fn port(&self) -> u8 {
        self.field(PORT_CHANGE_PORT) as u8
    }

    /// CQ completion: the CQ number.
    pub fn comp_cqn(&self) -> u32 {
        self.field(COMP_CQN) as u32
    }

    /// CQ error: (cqn, syndrome).
    pub fn cq_error(&self) -> (u32, u8) {
        (
            self.field(CQ_ERR_CQN) as u32,
            self.field(CQ_ERR_SYNDROME) as u8,
        )
    }

    /// QP/SRQ events: (resource type, number).
    pub fn qp_srq(&self) -> (u8, u32) {
        (
            self.field(QP_SRQ_TYPE) as u8,
            self.field(QP_SRQ_NUMBER) as u32,
        )
    }

    /// NIC vport change: the vport number.
    pub fn vport_num(&self) -> u16 {
        self.field(VPORT_CHANGE_NUM) as u16
    }

    /// General event, PCI sync for FW update: the reset state.
    pub fn sync_rst_state(&self) -> u8 {
        self.field(SYNC_RST_STATE) as u8
    }

    /// A command completion EQE for the slots in `vector`.
    pub fn cmd_completion(vector: u32) -> Self {
        let mut d = [0u8; DATA_SIZE];
        d[0..4].copy_from_slice(&vector.to_be_bytes());
        Self::new(EventType::CMD, 0, d)
    }

    /// A page request EQE.
    pub fn page_request_event(req: PageRequest) -> Self {
        let mut d = [0u8; DATA_SIZE];
        let ec = (u16::from(req.ec_function) << 15) | (u16::from(req.release_all) << 14);
        d[0..2].copy_from_slice(&ec.to_be_bytes());
        d[2..4].copy_from_slice(&req.func_id.to_be_bytes());
        d[4..8].copy_from_slice(&req.num_pages.to_be_bytes());
        Self::new(EventType::PAGE_REQUEST, 0, d)
    }

    /// A port change EQE (`sub_type` from [`port_change`], `port` 1..=15).
    pub fn port_change_event(sub_type: u8, port: u8) -> Result<Self> {
        if port > 0xF {
            return Err(Error::Overflow {
                what: "port",
                value: u64::from(port),
                width: 4,
            });
        }
        let mut d = [0u8; DATA_SIZE];
        d[8] = port << 4;
        Ok(Self::new(EventType::PORT_CHANGE, sub_type, d))
    }

    /// A CQ completion EQE.
    pub fn completion_event(cqn: u32) -> Result<Self> {
        if cqn > 0xFF_FFFF {
            return Err(Error::Overflow {
                what: "cqn",
                value: u64::from(cqn),
                width: 24,
            });
        }
        let mut d = [0u8; DATA_SIZE];
        d[24..28].copy_from_slice(&cqn.to_be_bytes());
        Ok(Self::new(EventType::COMP, 0, d))
    }
}

/// The fields of a page request EQE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// The request is for the embedded-CPU function.
    pub ec_function: bool,
    /// FW releases all pages of the function; no MANAGE_PAGES needed.
    pub release_all: bool,
    /// Function id.
    pub func_id: u16,
    /// Pages wanted (> 0) or to reclaim (< 0).
    pub num_pages: i32,
}

/// The owner byte software writes into every EQE before handing the ring to HW.
pub const SW_OWNER_INIT: u8 = 1;

/// Index of the entry the consumer counter `ci` points at.
pub const fn eqe_index(ci: u32, log_size: u32) -> u32 {
    // A ring of 2^32 or more entries never wraps a 32-bit counter.
    match 1u32.checked_shl(log_size) {
        Some(entries) => ci & (entries - 1),
        None => ci,
    }
}

/// Which pass over the ring counter `c` is on, modulo 2 (0 for rings of 2^32
/// entries or more, which a 32-bit counter never wraps).
const fn pass(c: u32, log_size: u32) -> u32 {
    match c.checked_shr(log_size) {
        Some(p) => p & 1,
        None => 0,
    }
}

/// True if the entry at `ci` holds a new event for software
/// (`(owner & 1) == ((ci >> log_size) & 1)`, `next_eqe_sw`).
pub const fn is_sw_owned(owner: u8, ci: u32, log_size: u32) -> bool {
    (owner & 1) as u32 == pass(ci, log_size)
}

/// The owner value HW writes for producer counter `pi` (0 on the first pass, 1 on the second...).
pub const fn hw_owner_value(pi: u32, log_size: u32) -> u8 {
    pass(pi, log_size) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ring size is the driver's choice, but a bad one must not panic.
    #[test]
    fn ring_arithmetic_takes_any_log_size() {
        assert_eq!(eqe_index(0x1_0005, 4), 5);
        assert_eq!(eqe_index(0xFFFF_FFFF, 31), 0x7FFF_FFFF);
        assert_eq!(eqe_index(0xFFFF_FFFF, 32), 0xFFFF_FFFF);
        assert_eq!(eqe_index(7, 40), 7);
        assert!(is_sw_owned(1, 1 << 4, 4));
        assert!(is_sw_owned(0, u32::MAX, 32));
        assert!(!is_sw_owned(1, u32::MAX, 33));
        assert_eq!(hw_owner_value(1 << 31, 31), 1);
        assert_eq!(hw_owner_value(u32::MAX, 32), 0);
    }

    #[test]
    fn owner_bit_alternates_per_pass() {
        let log = 3; // 8 entries
        for ci in 0..8 {
            // Fresh ring: SW initialized owner = 1, nothing is valid on the first pass.
            assert!(!is_sw_owned(SW_OWNER_INIT, ci, log));
            assert!(is_sw_owned(hw_owner_value(ci, log), ci, log));
        }
        for ci in 8..16 {
            // Second pass: stale owner 0 from pass one is not valid, HW now writes 1.
            assert!(!is_sw_owned(0, ci, log));
            assert_eq!(hw_owner_value(ci, log), 1);
            assert!(is_sw_owned(1, ci, log));
        }
        assert_eq!(eqe_index(13, log), 5);
    }

    #[test]
    fn events_round_trip() {
        let e = Eqe::cmd_completion(0x8000_0001);
        let b = e.encode();
        assert_eq!((b[1], &b[0x20..0x24]), (0x0A, &[0x80, 0, 0, 1][..]));
        assert_eq!(Eqe::decode(&b).map(|e| e.cmd_vector()), Ok(0x8000_0001));

        let req = PageRequest {
            ec_function: false,
            release_all: true,
            func_id: 3,
            num_pages: -50,
        };
        let e = Eqe::decode(&Eqe::page_request_event(req).encode()).unwrap();
        assert_eq!(e.event_type, EventType::PAGE_REQUEST);
        assert_eq!(e.page_request(), req);

        let e = Eqe::port_change_event(port_change::ACTIVE, 1).unwrap();
        assert_eq!(e.encode()[0x28], 0x10);
        assert_eq!((e.sub_type, e.port()), (4, 1));
        assert!(Eqe::port_change_event(1, 16).is_err());

        let e = Eqe::completion_event(0x12_3456).unwrap();
        assert_eq!(&e.encode()[0x38..0x3C], &[0, 0x12, 0x34, 0x56]);
        assert_eq!(e.comp_cqn(), 0x12_3456);
        assert!(Eqe::decode(&[0u8; 63]).is_err());
    }

    #[test]
    fn eq_sizes_follow_the_kernel() {
        assert_eq!(eq_entries(32), Ok(256));
        assert_eq!(eq_entries(4096), Ok(8192));
        assert_eq!(eq_entries(1), Ok(256));
        assert_eq!(eq_entries(1024), Ok(2048));
        assert!(eq_entries(u32::MAX).is_err());
    }
}
