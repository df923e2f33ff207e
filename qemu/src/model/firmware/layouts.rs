//! Capability bits the model needs that `cxu_hal::ifc` does not define.
//!
//! TODO(ifc): traps and policers are not mlx5 features, so `cmd_hca_cap` has no
//! bits for them; the model advertises them in what `mlx5_ifc.h` leaves
//! reserved at the end of `cmd_hca_cap` (dword 0xF8). These belong in
//! `hal::ifc::caps` so the driver reads the same bits; until then the driver
//! must import them from here.
#![forbid(unsafe_code)]

/// cxu's own capability fields, offsets inside the general capability.
pub mod cxu_cap {
    use cxu_hal::ifc::Field;

    /// Packet traps (HPKT/HTGT registers) are supported: dword 0xF8, bit 31.
    pub const CXU_TRAPS: Field = Field::new("cxu_traps", 0xF8, 31, 1);
    /// Trap policers (QPCR register) are supported: dword 0xF8, bit 30.
    pub const CXU_TRAP_POLICERS: Field = Field::new("cxu_trap_policers", 0xF8, 30, 1);
    /// Number of trap policers: dword 0xF8, bits 7:0.
    pub const CXU_MAX_TRAP_POLICERS: Field = Field::new("cxu_max_trap_policers", 0xF8, 0, 8);
}
