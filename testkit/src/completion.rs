//! A command the device gave back.

use cxu_hal::ifc::cmd_entry::ENTRY_SIZE;
use cxu_hal::ifc::header::OutHeader;
use cxu_hal::ifc::{CmdStatus, DeliveryStatus};

use crate::error::{Error, Result};

/// The entry and output of a command once software owns its slot again.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The entry as the device left it.
    pub entry: [u8; ENTRY_SIZE],
    /// Delivery status from `status_own`.
    pub ds: DeliveryStatus,
    /// The output message (`outlen` bytes: the inline part, then the blocks).
    pub out: Vec<u8>,
    /// The output blocks as the device left them, control parts included.
    pub out_blocks: Vec<Vec<u8>>,
}

impl Completion {
    /// The output header.
    pub fn out_header(&self) -> Result<OutHeader> {
        Ok(OutHeader::decode(&self.out)?)
    }

    /// Delivered and run with status OK, or the delivery or command status.
    pub fn check(&self) -> Result<&Self> {
        if self.ds != DeliveryStatus::OK {
            return Err(Error::Delivery(self.ds));
        }
        let h = self.out_header()?;
        if h.status != CmdStatus::OK {
            return Err(Error::Status {
                status: h.status,
                syndrome: h.syndrome,
            });
        }
        Ok(self)
    }

    /// The big-endian dword at `offset` of the output.
    pub fn be32_at(&self, offset: usize) -> Result<u32> {
        let short = || Error::ShortOutput {
            offset,
            len: self.out.len(),
        };
        let b = self
            .out
            .get(offset..offset.checked_add(4).ok_or_else(short)?)
            .ok_or_else(short)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}
