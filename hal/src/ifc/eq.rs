//! Event queue context (`mlx5_ifc_eqc_bits`, 64 bytes, the `eq_context_entry` of
//! CREATE_EQ/QUERY_EQ), the 256-bit event bitmask, and the EQ doorbell
//! (reference §7). Offsets here are relative to the start of the context; the
//! CREATE_EQ layout in `commands` places it at byte 0x10.

use super::eqe::EventType;
use super::error::{Error, Result};
use super::field::{need, Field};

/// Size of the EQ context.
pub const EQC_SIZE: usize = 64;

/// `status` (dw0 31:28).
pub const STATUS: Field = Field::new("status", 0x00, 28, 4);
/// `ec`: EQ belongs to the embedded CPU (dw0 bit 18).
pub const EC: Field = Field::new("ec", 0x00, 18, 1);
/// `oi`: overrun ignore (dw0 bit 17).
pub const OI: Field = Field::new("oi", 0x00, 17, 1);
/// `st`: arm state (dw0 11:8); see [`EqState`].
pub const ST: Field = Field::new("st", 0x00, 8, 4);
/// `page_offset` (dw2 11:6).
pub const PAGE_OFFSET: Field = Field::new("page_offset", 0x08, 6, 6);
/// `log_eq_size` (dw3 28:24).
pub const LOG_EQ_SIZE: Field = Field::new("log_eq_size", 0x0C, 24, 5);
/// `uar_page`: the UAR holding this EQ's doorbell (dw3 23:0).
pub const UAR_PAGE: Field = Field::new("uar_page", 0x0C, 0, 24);
/// `intr`: the MSI-X vector (dw5 11:0).
pub const INTR: Field = Field::new("intr", 0x14, 0, 12);
/// `log_page_size`, relative to 4 KiB (dw6 28:24).
pub const LOG_PAGE_SIZE: Field = Field::new("log_page_size", 0x18, 24, 5);
/// `consumer_counter` (dw10 23:0).
pub const CONSUMER_COUNTER: Field = Field::new("consumer_counter", 0x28, 0, 24);
/// `producer_counter` (dw11 23:0).
pub const PRODUCER_COUNTER: Field = Field::new("producer_counter", 0x2C, 0, 24);

/// EQ arm states (`st`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqState {
    /// 0x9: armed, the next EQE raises an interrupt.
    Armed = 0x9,
    /// 0xA: fired, no interrupt until re-armed.
    Fired = 0xA,
    /// 0xB: always armed.
    AlwaysArmed = 0xB,
}

impl EqState {
    /// Decodes `st`.
    pub fn from_raw(v: u32) -> Result<Self> {
        match v {
            0x9 => Ok(Self::Armed),
            0xA => Ok(Self::Fired),
            0xB => Ok(Self::AlwaysArmed),
            _ => Err(Error::BadValue {
                what: "eqc.st",
                value: u64::from(v),
                expected: "0x9, 0xA or 0xB",
            }),
        }
    }
}

/// The EQ context fields the driver sets and the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EqContext {
    /// Context status (0 = OK).
    pub status: u8,
    /// Embedded-CPU EQ.
    pub ec: bool,
    /// Overrun ignore.
    pub oi: bool,
    /// Arm state, raw.
    pub st: u8,
    /// Page offset.
    pub page_offset: u8,
    /// log2 of the entry count.
    pub log_eq_size: u8,
    /// UAR page index of the doorbell.
    pub uar_page: u32,
    /// MSI-X vector.
    pub intr: u16,
    /// log2 of the page size minus 12.
    pub log_page_size: u8,
    /// Consumer counter.
    pub consumer_counter: u32,
    /// Producer counter.
    pub producer_counter: u32,
}

impl EqContext {
    /// Decodes a 64-byte context.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("EQ context", buf, EQC_SIZE)?;
        Ok(Self {
            status: STATUS.get(buf)? as u8,
            ec: EC.get_bool(buf)?,
            oi: OI.get_bool(buf)?,
            st: ST.get(buf)? as u8,
            page_offset: PAGE_OFFSET.get(buf)? as u8,
            log_eq_size: LOG_EQ_SIZE.get(buf)? as u8,
            uar_page: UAR_PAGE.get32(buf)?,
            intr: INTR.get(buf)? as u16,
            log_page_size: LOG_PAGE_SIZE.get(buf)? as u8,
            consumer_counter: CONSUMER_COUNTER.get32(buf)?,
            producer_counter: PRODUCER_COUNTER.get32(buf)?,
        })
    }

    /// Encodes into the first 64 bytes of `buf` (other bits zero).
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<()> {
        need("EQ context", buf, EQC_SIZE)?;
        buf[..EQC_SIZE].fill(0);
        STATUS.set(buf, u64::from(self.status))?;
        EC.set_bool(buf, self.ec)?;
        OI.set_bool(buf, self.oi)?;
        ST.set(buf, u64::from(self.st))?;
        PAGE_OFFSET.set(buf, u64::from(self.page_offset))?;
        LOG_EQ_SIZE.set(buf, u64::from(self.log_eq_size))?;
        UAR_PAGE.set(buf, u64::from(self.uar_page))?;
        INTR.set(buf, u64::from(self.intr))?;
        LOG_PAGE_SIZE.set(buf, u64::from(self.log_page_size))?;
        CONSUMER_COUNTER.set(buf, u64::from(self.consumer_counter))?;
        PRODUCER_COUNTER.set(buf, u64::from(self.producer_counter))
    }
}

/// The 256-bit event bitmask of CREATE_EQ: four BE64 words, bit `e % 64` of word
/// `e / 64` subscribes the EQ to event type `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventMask(pub [u64; 4]);

impl EventMask {
    /// Size on the wire.
    pub const SIZE: usize = 32;

    /// A mask of the given event types.
    pub fn of(events: &[EventType]) -> Self {
        let mut m = Self::default();
        for e in events {
            m.insert(*e);
        }
        m
    }

    /// Subscribes to `e`.
    pub fn insert(&mut self, e: EventType) {
        self.0[usize::from(e.0 / 64)] |= 1u64 << (e.0 % 64);
    }

    /// True if the mask subscribes to `e`.
    pub fn contains(&self, e: EventType) -> bool {
        self.0[usize::from(e.0 / 64)] & (1u64 << (e.0 % 64)) != 0
    }

    /// Decodes four BE64 words.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("event_bitmask", buf, Self::SIZE)?;
        let mut m = [0u64; 4];
        for (i, w) in m.iter_mut().enumerate() {
            *w = Field::be64_at("event_bitmask", i * 8).get(buf)?;
        }
        Ok(Self(m))
    }

    /// Encodes as four BE64 words.
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        for (i, w) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        b
    }

    /// The kernel's default async EQ mask (`gather_async_events_mask`, before
    /// the optional cap-dependent bits).
    pub fn default_async() -> Self {
        Self::of(&[
            EventType::PATH_MIG,
            EventType::COMM_EST,
            EventType::SQ_DRAINED,
            EventType::CQ_ERROR,
            EventType::WQ_CATAS_ERROR,
            EventType::PATH_MIG_FAILED,
            EventType::WQ_INVAL_REQ_ERROR,
            EventType::WQ_ACCESS_ERROR,
            EventType::PORT_CHANGE,
            EventType::SRQ_CATAS_ERROR,
            EventType::SRQ_LAST_WQE,
            EventType::SRQ_RQ_LIMIT,
        ])
    }
}

/// EQ doorbell offset in the UAR page: update CI and arm.
pub const EQ_DOORBELL_ARM: usize = 0x40;
/// EQ doorbell offset in the UAR page: update CI without arming.
pub const EQ_DOORBELL_NO_ARM: usize = 0x48;

/// The BE32 written to the EQ doorbell: `(eqn << 24) | (ci & 0xFFFFFF)`.
pub const fn eq_doorbell_value(eqn: u8, ci: u32) -> u32 {
    ((eqn as u32) << 24) | (ci & 0xFF_FFFF)
}

/// Splits an EQ doorbell value into (eqn, ci).
pub const fn eq_doorbell_decode(v: u32) -> (u8, u32) {
    ((v >> 24) as u8, v & 0xFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trips() {
        let c = EqContext {
            status: 0,
            ec: false,
            oi: true,
            st: EqState::Armed as u8,
            page_offset: 0,
            log_eq_size: 8,
            uar_page: 0x12_3456,
            intr: 0x7FF,
            log_page_size: 1,
            consumer_counter: 5,
            producer_counter: 6,
        };
        let mut b = [0u8; EQC_SIZE];
        c.encode_into(&mut b).unwrap();
        assert_eq!(&b[0x0C..0x10], &[0x08, 0x12, 0x34, 0x56]);
        assert_eq!(&b[0x14..0x18], &[0, 0, 0x07, 0xFF]);
        assert_eq!(EqContext::decode(&b), Ok(c));
        assert_eq!(EqState::from_raw(u32::from(c.st)), Ok(EqState::Armed));
        assert!(EqState::from_raw(0).is_err());
        let bad = EqContext { intr: 0x1000, ..c };
        assert!(bad.encode_into(&mut b).is_err());
    }

    #[test]
    fn event_mask_bits() {
        let m = EventMask::of(&[EventType::CMD]);
        assert_eq!(m.0, [1 << 10, 0, 0, 0]);
        assert_eq!(&m.encode()[..8], &[0, 0, 0, 0, 0, 0, 0x04, 0x00]);
        assert_eq!(EventMask::decode(&m.encode()), Ok(m));
        assert!(m.contains(EventType::CMD) && !m.contains(EventType::PAGE_REQUEST));
        let d = EventMask::default_async();
        // Bits 1-5, 7, 9 and 0x10-0x14.
        assert_eq!(d.0[0], 0x001F_02BE);
        assert!(EventMask::decode(&[0; 31]).is_err());
    }

    #[test]
    fn doorbell_value() {
        assert_eq!(eq_doorbell_value(3, 0x0123_4567), 0x0323_4567);
        assert_eq!(eq_doorbell_decode(0x0323_4567), (3, 0x23_4567));
    }
}
