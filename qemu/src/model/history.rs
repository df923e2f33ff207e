//! What happened over the device's whole life, across resets and DISABLE_HCA:
//! every command firmware answered (opcode, op_mod, status, syndrome) in order,
//! the pages given and taken back, and the EQs and UARs the driver created.
//!
//! A test of a driver the model cannot see into (Linux's `mlx5_core` in the
//! QEMU guest) reads this after the run: that the command, async and page EQs
//! existed, that every given page came back, and which commands were sent.
#![forbid(unsafe_code)]

use cxu_hal::ifc::{CmdStatus, Opcode};

/// Commands kept in the log; later ones are only counted.
pub const LOG_LIMIT: usize = 16_384;

/// One command as firmware answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdRecord {
    /// Opcode.
    pub opcode: Opcode,
    /// Opcode modifier.
    pub op_mod: u16,
    /// Command status written back.
    pub status: CmdStatus,
    /// Syndrome written back (0 on success).
    pub syndrome: u32,
}

/// An EQ as CREATE_EQ made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqCreated {
    /// EQ number.
    pub eqn: u8,
    /// MSI-X vector.
    pub vector: u16,
    /// UAR page of its doorbell.
    pub uar: u32,
    /// log2 of the entry count.
    pub log_size: u8,
    /// The event types it subscribes to (`event_bitmask`, bit n = type n).
    pub events: [u64; 4],
}

/// The device's history.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Commands answered, oldest first (at most [`LOG_LIMIT`]).
    pub commands: Vec<CmdRecord>,
    /// Commands answered after the log was full.
    pub commands_dropped: u64,
    /// Pages given with MANAGE_PAGES (GIVE), in total.
    pub pages_given: u64,
    /// Pages returned by MANAGE_PAGES (TAKE), in total.
    pub pages_taken: u64,
    /// Every EQ created, in order.
    pub eqs_created: Vec<EqCreated>,
    /// EQs destroyed with DESTROY_EQ.
    pub eqs_destroyed: u64,
    /// Every UAR index allocated, in order.
    pub uars_allocated: Vec<u32>,
    /// UARs freed with DEALLOC_UAR.
    pub uars_freed: u64,
    /// CQs created with CREATE_CQ.
    pub cqs_created: u64,
    /// CQs destroyed with DESTROY_CQ.
    pub cqs_destroyed: u64,
    /// SQs created with CREATE_SQ.
    pub sqs_created: u64,
    /// SQs destroyed with DESTROY_SQ.
    pub sqs_destroyed: u64,
    /// RQs created with CREATE_RQ.
    pub rqs_created: u64,
    /// RQs destroyed with DESTROY_RQ.
    pub rqs_destroyed: u64,
    /// CQEs firmware wrote.
    pub cqes_posted: u64,
    /// NOPs answered, by op_mod (firmware ignores a NOP's op_mod; a guest
    /// test tags a measured window's NOPs with one). Never dropped, unlike
    /// the command log, so a window is counted whole however long the run.
    pub nops_by_op_mod: std::collections::BTreeMap<u16, u64>,
}

impl History {
    /// Appends a command.
    pub fn command(&mut self, r: CmdRecord) {
        if r.opcode == Opcode::NOP {
            *self.nops_by_op_mod.entry(r.op_mod).or_default() += 1;
        }
        if self.commands.len() < LOG_LIMIT {
            self.commands.push(r);
        } else {
            self.commands_dropped += 1;
        }
    }
}
