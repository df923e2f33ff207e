//! PCI identity of ConnectX functions (reference §1; `mlx5_core_pci_table` in
//! main.c) and the BAR layout facts the driver relies on.

/// Mellanox (NVIDIA) PCI vendor id.
pub const VENDOR_MELLANOX: u16 = 0x15B3;

/// BAR holding the init segment, the UAR pages and everything else.
pub const BAR: u32 = 0;
/// UAR page size; UAR index `i` is at BAR0 + `i * UAR_PAGE_SIZE`.
pub const UAR_PAGE_SIZE: u64 = 4096;

/// Device ids with their product names. `true` marks a virtual function.
pub const DEVICES: &[(u16, &str, bool)] = &[
    (0x1013, "ConnectX-4", false),
    (0x1014, "ConnectX-4 VF", true),
    (0x1015, "ConnectX-4 Lx", false),
    (0x1016, "ConnectX-4 Lx VF", true),
    (0x1017, "ConnectX-5", false),
    (0x1018, "ConnectX-5 VF", true),
    (0x1019, "ConnectX-5 Ex", false),
    (0x101A, "ConnectX-5 Ex VF", true),
    (0x101B, "ConnectX-6", false),
    (0x101C, "ConnectX-6 VF", true),
    (0x101D, "ConnectX-6 Dx", false),
    (0x101E, "ConnectX family mlx5Gen VF", true),
    (0x101F, "ConnectX-6 Lx", false),
    (0x1021, "ConnectX-7", false),
    (0x1023, "ConnectX-8", false),
    (0x1025, "ConnectX-9", false),
    (0x1027, "ConnectX-10", false),
    (0xA2D2, "BlueField integrated ConnectX-5", false),
    (0xA2D3, "BlueField integrated ConnectX-5 VF", true),
    (0xA2D6, "BlueField-2 integrated ConnectX-6 Dx", false),
    (0xA2DC, "BlueField-3 integrated ConnectX-7", false),
    (0xA2DF, "BlueField-4 integrated ConnectX-8", false),
];

/// The product name of a ConnectX device id, or `None` if it is not one.
pub fn device_name(vendor: u16, device: u16) -> Option<&'static str> {
    if vendor != VENDOR_MELLANOX {
        return None;
    }
    DEVICES.iter().find(|d| d.0 == device).map(|d| d.1)
}

/// True if the device id is a ConnectX virtual function.
pub fn is_vf(device: u16) -> bool {
    DEVICES.iter().any(|d| d.0 == device && d.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(device_name(0x15B3, 0x1017), Some("ConnectX-5"));
        assert_eq!(device_name(0x8086, 0x1017), None);
        assert_eq!(device_name(0x15B3, 0x1020), None);
        assert!(is_vf(0x101E) && !is_vf(0x101D));
    }
}
