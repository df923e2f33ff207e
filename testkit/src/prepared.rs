//! A command as it will be posted: the entry and its mailbox chains, still in
//! host memory, so that a test can change any byte before posting.

use cxu_hal::ifc::cmd_entry::ENTRY_SIZE;
use cxu_hal::ifc::header::{InHeader, HEADER_SIZE};
use cxu_hal::ifc::Opcode;

use crate::mailbox::MailboxBlock;

/// An input message of `len` bytes (at least 16): the header, then zeroes.
pub fn msg(op: Opcode, op_mod: u16, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len.max(16)];
    // Cannot fail: the message is longer than the header.
    let _ = InHeader::new(op, op_mod).encode_into(&mut m[..HEADER_SIZE]);
    m
}

/// A command built by [`crate::Submitter::prepare`] (or a raw entry), not yet
/// written to device memory.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The slot it goes to.
    pub slot: u32,
    /// The entry as it will be written (`status_own` last).
    pub entry: [u8; ENTRY_SIZE],
    /// The input chain.
    pub in_blocks: Vec<MailboxBlock>,
    /// The output chain.
    pub out_blocks: Vec<MailboxBlock>,
    /// The token the chains were built with (0 for a raw entry).
    pub token: u8,
    /// Output bytes read back on completion (inline part, then `out_blocks`).
    /// The one asked for at prepare time, whatever the entry now says.
    pub outlen: usize,
}

impl Prepared {
    /// A raw entry with no chains: on completion only the entry is read back.
    pub fn raw(slot: u32, entry: [u8; ENTRY_SIZE]) -> Prepared {
        Prepared {
            slot,
            entry,
            in_blocks: Vec::new(),
            out_blocks: Vec::new(),
            token: 0,
            outlen: 0,
        }
    }
}
