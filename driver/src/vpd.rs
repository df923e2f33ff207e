//! Vital product data through the PCI VPD capability (PCI Local Bus 3.0,
//! section 6.4): the board's serial number (keyword SN of the read-only
//! section), which devlink's `dev info` shows as `serial_number`.
//!
//! A read writes the dword address with the flag (bit 15) clear and polls
//! until the device sets the flag; the data register then holds 4 bytes. The
//! image is walked by its resource tags; every length is checked against what
//! was read, so a broken image ends the walk, never a read out of bounds.

use std::time::{Duration, Instant};

use cxu_hal::pci::config;
use cxu_hal::PciFunction;

/// VPD address register flag: set by the device when a read completed.
const FLAG: u16 = 1 << 15;
/// The most VPD read: the 15-bit address space.
const MAX_LEN: usize = 0x8000;
/// How long one dword may take (the kernel allows 125 ms).
const READ_TIMEOUT: Duration = Duration::from_millis(125);

const TAG_LARGE: u8 = 0x80;
const TAG_VPD_R: u8 = 0x90;
const TAG_END: u8 = 0x78;

/// Reads dword `addr` of the VPD; `None` if the device never completes it.
fn read_dword(f: &dyn PciFunction, cap: u16, addr: u16) -> Option<[u8; 4]> {
    f.config_write16(cap + 2, addr & !FLAG).ok()?;
    let start = Instant::now();
    loop {
        if f.config_read16(cap + 2).ok()? & FLAG != 0 {
            return f.config_read32(cap + 4).ok().map(u32::to_le_bytes);
        }
        if start.elapsed() > READ_TIMEOUT {
            return None;
        }
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// The serial number in the function's VPD, if it has a VPD capability with
/// an SN keyword in its read-only section.
pub fn serial_number(f: &dyn PciFunction) -> Option<String> {
    let cap = f.find_capability(config::CAP_ID_VPD).ok()??;
    let mut vpd: Vec<u8> = Vec::new();
    let read_to = |vpd: &mut Vec<u8>, end: usize| -> Option<()> {
        while vpd.len() < end.min(MAX_LEN) {
            vpd.extend_from_slice(&read_dword(f, cap, vpd.len() as u16)?);
        }
        (vpd.len() >= end).then_some(())
    };
    let mut at = 0usize;
    loop {
        read_to(&mut vpd, at + 3)?;
        let tag = vpd[at];
        if tag == TAG_END || tag & TAG_LARGE == 0 {
            return None;
        }
        let len = usize::from(u16::from_le_bytes([vpd[at + 1], vpd[at + 2]]));
        let data = at + 3;
        read_to(&mut vpd, data + len)?;
        if tag == TAG_VPD_R {
            return keyword(&vpd[data..data + len], *b"SN");
        }
        at = data + len;
    }
}

/// The value of keyword `k` in a read-only section's keyword list.
fn keyword(ro: &[u8], k: [u8; 2]) -> Option<String> {
    let mut i = 0;
    while i + 3 <= ro.len() {
        let n = usize::from(ro[i + 2]);
        let value = ro.get(i + 3..i + 3 + n)?;
        if ro[i..i + 2] == k {
            let s = String::from_utf8_lossy(value);
            return Some(s.trim_end_matches(['\0', ' ']).to_string());
        }
        i += 3 + n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_found_and_bounded() {
        let ro = b"PN\x03ABCEC\x02A1SN\x04X123RV\x01\x00";
        assert_eq!(keyword(ro, *b"SN").as_deref(), Some("X123"));
        assert_eq!(keyword(ro, *b"PN").as_deref(), Some("ABC"));
        assert_eq!(keyword(ro, *b"V0"), None);
        // A length past the end is not read.
        assert_eq!(keyword(b"SN\x09X12", *b"SN"), None);
    }
}
