//! UAR page layout and data-path doorbell encodings (reference §9; doorbell.h,
//! cq.h, eq.c). The EQ doorbell itself is in [`eq`](super::eq).

/// CQ doorbell offset in a UAR page (64-bit write of {arm word, cqn}).
pub const UAR_CQ_DOORBELL: usize = 0x20;
/// EQ doorbell: update CI and arm.
pub const UAR_EQ_DOORBELL_ARM: usize = 0x40;
/// EQ doorbell: update CI without arming.
pub const UAR_EQ_DOORBELL_NO_ARM: usize = 0x48;
/// Start of the BlueFlame registers in a UAR page.
pub const UAR_BF_OFFSET: usize = 0x800;
/// BlueFlame registers per UAR (2 regular + 2 fast path).
pub const BF_REGS_PER_UAR: usize = 4;

/// Offset of bfreg `dbi % 4` in a UAR page for BF registers of `bf_reg_size` bytes.
pub const fn bfreg_offset(dbi: usize, bf_reg_size: usize) -> usize {
    UAR_BF_OFFSET + (dbi % BF_REGS_PER_UAR) * bf_reg_size
}

/// Doorbell record index of the receive counter (`MLX5_RCV_DBR`).
pub const RCV_DBR: usize = 0;
/// Doorbell record index of the send counter (`MLX5_SND_DBR`).
pub const SND_DBR: usize = 1;

/// CQ arm command: request the next completion.
pub const CQ_DB_REQ_NOT: u32 = 0;
/// CQ arm command: solicited completions only.
pub const CQ_DB_REQ_NOT_SOL: u32 = 1 << 24;

/// The CQ arm word: `(sn & 3) << 28 | cmd | (ci & 0xFFFFFF)` (`DBR[1]` and the
/// first half of the UAR write).
pub const fn cq_arm_word(sn: u32, cmd: u32, ci: u32) -> u32 {
    ((sn & 3) << 28) | cmd | (ci & 0xFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(bfreg_offset(5, 512), 0x800 + 512);
        assert_eq!(cq_arm_word(5, CQ_DB_REQ_NOT_SOL, 0x1234_5678), 0x1134_5678);
    }
}
