//! Where the submitter puts entries and mailbox chains.

use cxu_hal::ifc::cmd_entry::ENTRY_SIZE;
use cxu_hal::ifc::mailbox::{BLOCK_ALIGN, DATA_SIZE};

use crate::error::{Error, Result};

/// The command page holds `slots` entries; the mailbox memory holds, per slot,
/// an input chain of `chain_blocks` blocks and then an output chain of as many,
/// each block [`BLOCK_ALIGN`] bytes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Command slots (1 to 32: one doorbell bit each).
    pub slots: u32,
    /// Mailbox blocks per chain (one chain per direction and slot).
    pub chain_blocks: usize,
}

impl Layout {
    /// Checks that the doorbell has a bit for every slot.
    pub fn new(slots: u32, chain_blocks: usize) -> Result<Layout> {
        if !(1..=32).contains(&slots) {
            return Err(Error::Slots { slots });
        }
        Ok(Layout {
            slots,
            chain_blocks,
        })
    }

    /// Bytes of command page the entries take.
    pub const fn cmdq_len(&self) -> usize {
        self.slots as usize * ENTRY_SIZE
    }

    /// Bytes of mailbox memory per slot (both chains).
    pub const fn slot_mbox_len(&self) -> usize {
        2 * self.chain_blocks * BLOCK_ALIGN
    }

    /// Bytes of mailbox memory for all slots.
    pub const fn mbox_len(&self) -> usize {
        self.slots as usize * self.slot_mbox_len()
    }

    /// The longest message one direction carries: inline part plus the chain.
    pub const fn max_message(&self) -> usize {
        16 + self.chain_blocks * DATA_SIZE
    }

    /// Offset of `slot`'s entry in the command page.
    pub fn entry_offset(&self, slot: u32) -> Result<usize> {
        self.check(slot)?;
        Ok(slot as usize * ENTRY_SIZE)
    }

    /// Offset of `slot`'s input chain in the mailbox memory.
    pub fn in_chain(&self, slot: u32) -> Result<usize> {
        self.check(slot)?;
        Ok(slot as usize * self.slot_mbox_len())
    }

    /// Offset of `slot`'s output chain in the mailbox memory.
    pub fn out_chain(&self, slot: u32) -> Result<usize> {
        Ok(self.in_chain(slot)? + self.chain_blocks * BLOCK_ALIGN)
    }

    fn check(&self, slot: u32) -> Result<()> {
        if slot >= self.slots {
            return Err(Error::Slot {
                slot,
                slots: self.slots,
            });
        }
        Ok(())
    }
}
