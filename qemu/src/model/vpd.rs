//! Vital product data, as a ConnectX function's VPD capability serves it: an
//! identifier string, then a read-only section with the part number (PN),
//! engineering change level (EC), serial number (SN) and the checksum (RV),
//! then the end tag (PCI Local Bus 3.0, section 6.4 / appendix I).
#![forbid(unsafe_code)]

/// Large resource tag: identifier string.
const TAG_ID_STRING: u8 = 0x82;
/// Large resource tag: VPD-R (read-only keywords).
const TAG_VPD_R: u8 = 0x90;
/// Small resource tag: end (0x0F << 3, length 0).
const TAG_END: u8 = 0x78;

/// The VPD image: `name`, then PN, EC and SN, a valid RV checksum, the end tag.
pub fn image(name: &str, part_number: &str, ec: &str, serial: &str) -> Vec<u8> {
    let mut v = Vec::new();
    let large = |v: &mut Vec<u8>, tag: u8, len: usize| {
        v.push(tag);
        v.extend_from_slice(&(len as u16).to_le_bytes());
    };
    let name = &name.as_bytes()[..name.len().min(0xFFFF)];
    large(&mut v, TAG_ID_STRING, name.len());
    v.extend_from_slice(name);
    let keywords: [(&[u8; 2], &str); 3] = [(b"PN", part_number), (b"EC", ec), (b"SN", serial)];
    let mut ro = Vec::new();
    for (k, val) in keywords {
        let val = &val.as_bytes()[..val.len().min(0xFF)];
        ro.extend_from_slice(k);
        ro.push(val.len() as u8);
        ro.extend_from_slice(val);
    }
    // RV: its first data byte makes every byte from the start through it sum to 0.
    ro.extend_from_slice(b"RV");
    ro.push(1);
    large(&mut v, TAG_VPD_R, ro.len() + 1);
    v.extend_from_slice(&ro);
    let sum = v.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    v.push(0u8.wrapping_sub(sum));
    v.push(TAG_END);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_parses_as_vpd_with_a_valid_checksum() {
        let v = image("cxu model", "MCX-CXU", "A1", "MT0000X00001");
        assert_eq!(v[0], TAG_ID_STRING);
        let n = u16::from_le_bytes([v[1], v[2]]) as usize;
        assert_eq!(&v[3..3 + n], b"cxu model");
        let r = 3 + n;
        assert_eq!(v[r], TAG_VPD_R);
        let rlen = u16::from_le_bytes([v[r + 1], v[r + 2]]) as usize;
        let ro = &v[r + 3..r + 3 + rlen];
        let sn = ro.windows(2).position(|w| w == b"SN").unwrap();
        assert_eq!(&ro[sn + 3..sn + 3 + ro[sn + 2] as usize], b"MT0000X00001");
        // RV is the last keyword; the sum through its first byte is zero.
        let rv = r + 3 + rlen - 4;
        assert_eq!(&v[rv..rv + 2], b"RV");
        let sum = v[..=rv + 3].iter().fold(0u8, |a, &b| a.wrapping_add(b));
        assert_eq!(sum, 0);
        assert_eq!(*v.last().unwrap(), TAG_END);
    }
}
