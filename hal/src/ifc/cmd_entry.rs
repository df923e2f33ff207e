//! The 64-byte command queue entry (`struct mlx5_cmd_layout`, reference §3.2).
//!
//! The driver fills an entry with `status_own = 1` (HW owns it), computes `sig`,
//! and rings the doorbell; FW runs the command, writes the first 16 output bytes
//! into `out`, the delivery status into `status_own` bits 7:1, and clears bit 0
//! last to hand the entry back.

use super::error::Result;
use super::field::{get_bytes, need, put_bytes, Field};
use super::status::DeliveryStatus;

/// Size of one command entry in bytes.
pub const ENTRY_SIZE: usize = 64;
/// The only valid `type`: PCI command transport (`MLX5_PCI_CMD_XPORT`).
pub const PCI_CMD_XPORT: u8 = 7;
/// Bytes of the input and of the output message carried inline in the entry.
pub const INLINE_SIZE: usize = 16;

/// `type` (byte 0x00).
pub const TYPE: Field = Field::u8_at("type", 0x00);
/// `inlen` (BE32 at 0x04): whole input length, inline bytes included.
pub const INLEN: Field = Field::be32_at("inlen", 0x04);
/// `in_ptr` (BE64 at 0x08): first input mailbox block, 0 if `inlen <= 16`.
pub const IN_PTR: Field = Field::be64_at("in_ptr", 0x08);
/// Byte offset of `in[16]`, the first 16 input bytes.
pub const IN_INLINE: usize = 0x10;
/// Byte offset of `out[16]`, the first 16 output bytes (FW writes).
pub const OUT_INLINE: usize = 0x20;
/// `out_ptr` (BE64 at 0x30): first output mailbox block, 0 if `outlen <= 16`.
pub const OUT_PTR: Field = Field::be64_at("out_ptr", 0x30);
/// `outlen` (BE32 at 0x38): whole output length, inline bytes included.
pub const OUTLEN: Field = Field::be32_at("outlen", 0x38);
/// `token` (byte 0x3C), also stamped into every mailbox block.
pub const TOKEN: Field = Field::u8_at("token", 0x3C);
/// `sig` (byte 0x3D): entry signature.
pub const SIG: Field = Field::u8_at("sig", 0x3D);
/// `status_own` (byte 0x3F): bit 0 ownership, bits 7:1 delivery status.
pub const STATUS_OWN: Field = Field::u8_at("status_own", 0x3F);
/// Ownership bit inside `status_own` (1 = HW owns the entry).
pub const OWNER_HW: u8 = 0x01;
/// Byte offset of `sig` inside the entry.
pub const SIG_OFFSET: usize = 0x3D;
/// Byte offset of `status_own` inside the entry.
pub const STATUS_OWN_OFFSET: usize = 0x3F;
/// Reserved byte ranges of the entry (delivery status 0x09 if FW checks them).
pub const RESERVED: [std::ops::Range<usize>; 2] = [0x01..0x04, 0x3E..0x3F];

/// A decoded command entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CmdEntry {
    /// Descriptor type; must be [`PCI_CMD_XPORT`] for FW to accept it.
    pub kind: u8,
    /// Input message length.
    pub inlen: u32,
    /// DMA address of the first input block.
    pub in_ptr: u64,
    /// First 16 input bytes.
    pub inline_in: [u8; INLINE_SIZE],
    /// First 16 output bytes.
    pub inline_out: [u8; INLINE_SIZE],
    /// DMA address of the first output block.
    pub out_ptr: u64,
    /// Output message length.
    pub outlen: u32,
    /// Command token.
    pub token: u8,
    /// Signature byte as stored.
    pub sig: u8,
    /// Ownership bit and delivery status.
    pub status_own: u8,
}

impl CmdEntry {
    /// An entry as the driver posts it: type 7, HW-owned, signature computed.
    pub fn new_request(
        inline_in: [u8; INLINE_SIZE],
        inlen: u32,
        in_ptr: u64,
        outlen: u32,
        out_ptr: u64,
        token: u8,
    ) -> Self {
        let mut e = CmdEntry {
            kind: PCI_CMD_XPORT,
            inlen,
            in_ptr,
            inline_in,
            inline_out: [0; INLINE_SIZE],
            out_ptr,
            outlen,
            token,
            sig: 0,
            status_own: OWNER_HW,
        };
        e.sig = signature(&e.encode());
        e
    }

    /// Decodes the first 64 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        need("command entry", buf, ENTRY_SIZE)?;
        Ok(CmdEntry {
            kind: TYPE.get(buf)? as u8,
            inlen: INLEN.get32(buf)?,
            in_ptr: IN_PTR.get(buf)?,
            inline_in: get_bytes("in", buf, IN_INLINE)?,
            inline_out: get_bytes("out", buf, OUT_INLINE)?,
            out_ptr: OUT_PTR.get(buf)?,
            outlen: OUTLEN.get32(buf)?,
            token: TOKEN.get(buf)? as u8,
            sig: SIG.get(buf)? as u8,
            status_own: STATUS_OWN.get(buf)? as u8,
        })
    }

    /// Encodes into a 64-byte array (reserved bytes zero). `sig` is written as stored.
    pub fn encode(&self) -> [u8; ENTRY_SIZE] {
        let mut b = [0u8; ENTRY_SIZE];
        b[0x00] = self.kind;
        b[0x04..0x08].copy_from_slice(&self.inlen.to_be_bytes());
        b[0x08..0x10].copy_from_slice(&self.in_ptr.to_be_bytes());
        b[IN_INLINE..IN_INLINE + INLINE_SIZE].copy_from_slice(&self.inline_in);
        b[OUT_INLINE..OUT_INLINE + INLINE_SIZE].copy_from_slice(&self.inline_out);
        b[0x30..0x38].copy_from_slice(&self.out_ptr.to_be_bytes());
        b[0x38..0x3C].copy_from_slice(&self.outlen.to_be_bytes());
        b[0x3C] = self.token;
        b[SIG_OFFSET] = self.sig;
        b[STATUS_OWN_OFFSET] = self.status_own;
        b
    }

    /// Encodes into the first 64 bytes of `buf`.
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<()> {
        put_bytes("command entry", buf, 0, &self.encode())
    }

    /// True while HW owns the entry.
    pub const fn hw_owned(&self) -> bool {
        owner_is_hw(self.status_own)
    }

    /// The delivery status FW wrote.
    pub const fn delivery_status(&self) -> DeliveryStatus {
        delivery_status(self.status_own)
    }
}

/// Byte offset of `token`.
pub const TOKEN_OFFSET: usize = TOKEN.first_byte();
/// Byte offset of the big-endian `outlen`.
pub const OUTLEN_OFFSET: usize = OUTLEN.first_byte();

/// What software checks of an entry the device gave back, read straight from
/// its bytes: the completion path's share of [`CmdEntry::decode`], which goes
/// field by field through checked accessors and was a tenth of the driver's
/// cost per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The token the device echoed.
    pub token: u8,
    /// Delivery status and ownership.
    pub status_own: u8,
    /// The output length the device saw.
    pub outlen: u32,
    /// The first 16 bytes of the output.
    pub inline_out: [u8; INLINE_SIZE],
}

impl Completion {
    /// Reads a completed entry.
    pub fn from_entry(raw: &[u8; ENTRY_SIZE]) -> Completion {
        let mut inline_out = [0u8; INLINE_SIZE];
        inline_out.copy_from_slice(&raw[OUT_INLINE..OUT_INLINE + INLINE_SIZE]);
        let mut outlen = [0u8; 4];
        outlen.copy_from_slice(&raw[OUTLEN_OFFSET..OUTLEN_OFFSET + 4]);
        Completion {
            token: raw[TOKEN_OFFSET],
            status_own: raw[STATUS_OWN_OFFSET],
            outlen: u32::from_be_bytes(outlen),
            inline_out,
        }
    }

    /// The delivery status the device wrote.
    pub const fn delivery_status(&self) -> DeliveryStatus {
        delivery_status(self.status_own)
    }
}

/// XOR of all bytes of `bytes` (`xor8_buf`).
pub fn xor8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// The entry signature: `~XOR` of the 64 bytes with `sig` taken as 0, so that the
/// XOR of the whole signed entry is 0xFF.
pub fn signature(entry: &[u8; ENTRY_SIZE]) -> u8 {
    !(xor8(entry) ^ entry[SIG_OFFSET])
}

/// Writes the signature into `entry`.
pub fn sign(entry: &mut [u8; ENTRY_SIZE]) {
    entry[SIG_OFFSET] = signature(entry);
}

/// Checks the signature the way the kernel verifies it on completion: XOR of the
/// 64 bytes is 0xFF. Note that FW changes `status_own` (and `out`) after the driver
/// signed, so this holds on the driver's posted entry, not necessarily on the
/// completed one unless FW re-signs it.
pub fn signature_ok(entry: &[u8; ENTRY_SIZE]) -> bool {
    xor8(entry) == 0xFF
}

/// `status_own` value from a delivery status and the ownership bit.
pub const fn status_own(status: DeliveryStatus, hw_owned: bool) -> u8 {
    (status.0 << 1) | (hw_owned as u8)
}

/// Ownership: bit 0 of `status_own` (1 = HW).
pub const fn owner_is_hw(status_own: u8) -> bool {
    status_own & OWNER_HW != 0
}

/// Delivery status: `status_own >> 1`.
pub const fn delivery_status(status_own: u8) -> DeliveryStatus {
    DeliveryStatus(status_own >> 1)
}

/// True if the reserved bytes of an entry are all zero.
pub fn reserved_clear(entry: &[u8; ENTRY_SIZE]) -> bool {
    RESERVED
        .iter()
        .all(|r| entry[r.clone()].iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn completion_reads_what_decode_reads(raw in proptest::array::uniform32(proptest::num::u8::ANY), tail in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let mut b = [0u8; ENTRY_SIZE];
            b[..32].copy_from_slice(&raw);
            b[32..].copy_from_slice(&tail);
            let full = CmdEntry::decode(&b).expect("64 bytes decode");
            let c = Completion::from_entry(&b);
            proptest::prop_assert_eq!(c.token, full.token);
            proptest::prop_assert_eq!(c.status_own, full.status_own);
            proptest::prop_assert_eq!(c.outlen, full.outlen);
            proptest::prop_assert_eq!(c.inline_out, full.inline_out);
            proptest::prop_assert_eq!(c.delivery_status(), full.delivery_status());
        }
    }

    #[test]
    fn request_round_trips_and_is_signed() {
        let e = CmdEntry::new_request([7; 16], 0x1010, 0x1_0000_0400, 0x10, 0, 0x5A);
        let b = e.encode();
        assert!(signature_ok(&b));
        assert_eq!(b[0], 7);
        assert_eq!(&b[4..8], &[0, 0, 0x10, 0x10]);
        assert_eq!(&b[8..16], &[0, 0, 0, 1, 0, 0, 4, 0]);
        assert_eq!(b[0x3F], 1);
        assert_eq!(CmdEntry::decode(&b), Ok(e));
        assert!(e.hw_owned());
        let mut tampered = b;
        tampered[0x12] ^= 1;
        assert!(!signature_ok(&tampered));
        sign(&mut tampered);
        assert!(signature_ok(&tampered));
    }

    #[test]
    fn status_own_packs_status_and_owner() {
        assert_eq!(status_own(DeliveryStatus::BAD_TYPE, false), 0x20);
        assert_eq!(status_own(DeliveryStatus::TOKEN_ERR, true), 0x05);
        assert_eq!(delivery_status(0x20), DeliveryStatus::BAD_TYPE);
        assert!(!owner_is_hw(0x20));
        assert!(owner_is_hw(0x05));
    }

    #[test]
    fn short_entry_is_an_error() {
        assert!(CmdEntry::decode(&[0u8; 63]).is_err());
        let mut b = [0u8; ENTRY_SIZE];
        assert!(reserved_clear(&b));
        b[2] = 1;
        assert!(!reserved_clear(&b));
    }
}
