//! MCAM (0x907F), management capabilities (`mlx5_ifc_mcam_reg_bits`, 72 bytes):
//! which management registers and features firmware implements, as a mask per
//! access-register group (read only).
//!
//! dw0: feature_group 23:16, access_reg_group 7:0. 0x08..0x18:
//! `mng_access_reg_cap_mask` (for group 0, `mcam_access_reg_bits`: mcda bit 3,
//! mcc bit 2, mcqi bit 1, mcqs bit 0 of the dword at 0x08, among others).
//! 0x28..0x38: `mng_feature_cap_mask`.

use crate::ifc::field::Field;

/// Register size.
pub const LEN: usize = 0x48;
/// `feature_group` (0: enhanced features).
pub const FEATURE_GROUP: Field = Field::new("feature_group", 0x00, 16, 8);
/// `access_reg_group` (0: registers 0x9000-0x907F, 1: 0x9100-0x917F, 2: 0x9180-0x91FF).
pub const ACCESS_REG_GROUP: Field = Field::new("access_reg_group", 0x00, 0, 8);
/// Group 0: MCDA implemented.
pub const MCDA: Field = Field::new("mcda", 0x08, 3, 1);
/// Group 0: MCC implemented.
pub const MCC: Field = Field::new("mcc", 0x08, 2, 1);
/// Group 0: MCQI implemented.
pub const MCQI: Field = Field::new("mcqi", 0x08, 1, 1);
/// Group 0: MCQS implemented.
pub const MCQS: Field = Field::new("mcqs", 0x08, 0, 1);
