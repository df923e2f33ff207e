//! Mailbox chains as the driver lays them out: blocks `BLOCK_ALIGN` apart,
//! linked by `next`, numbered, stamped with the command's token and signed.

use cxu_hal::ifc::mailbox::{self as mb, BlockCtrl, BLOCK_ALIGN, BLOCK_SIZE};

use crate::error::{Error, Result};
use crate::memory::DeviceMemory;

/// One mailbox block and the IOVA it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxBlock {
    /// Where the device finds it.
    pub iova: u64,
    /// Its [`BLOCK_SIZE`] bytes: data, then the control part.
    pub bytes: Vec<u8>,
}

/// The chain for a message of `len` bytes starting at `first`: its bytes past
/// the inline part are taken from `data` (zeroes where `data` is shorter, as
/// for an output). At most `max_blocks` blocks; an empty chain for a message
/// that fits inline.
pub fn chain(
    first: u64,
    len: usize,
    data: &[u8],
    token: u8,
    max_blocks: usize,
) -> Result<Vec<MailboxBlock>> {
    let n = mb::blocks_for_len(len);
    if n > max_blocks {
        return Err(Error::TooLong {
            len,
            blocks: n,
            max: max_blocks,
        });
    }
    (0..n)
        .map(|i| {
            let iova = first + (i * BLOCK_ALIGN) as u64;
            let mut bytes = vec![0u8; BLOCK_SIZE];
            let range = mb::block_range(len, i)?;
            if let Some(src) = data.get(range.start..range.end.min(data.len())) {
                bytes[..src.len()].copy_from_slice(src);
            }
            let next = (i + 1 < n).then(|| iova + BLOCK_ALIGN as u64);
            BlockCtrl::chained(i, next, token).encode_into(&mut bytes)?;
            mb::sign_block(&mut bytes)?;
            Ok(MailboxBlock { iova, bytes })
        })
        .collect()
}

/// Writes each block into `mem` at its IOVA.
pub fn write_blocks(mem: &impl DeviceMemory, blocks: &[MailboxBlock]) -> Result<()> {
    for b in blocks {
        let offset = mem
            .offset_of(b.iova, b.bytes.len())
            .ok_or(Error::NotInMemory { iova: b.iova })?;
        mem.write_at(offset, &b.bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_carries_the_message_past_the_inline_part_linked_and_signed() {
        let msg: Vec<u8> = (0..16 + 600).map(|i| i as u8).collect();
        let c = chain(0x4000, msg.len(), &msg, 9, 4).unwrap();
        assert_eq!(c.len(), 2);
        let mut data = Vec::new();
        for (i, b) in c.iter().enumerate() {
            assert_eq!(b.iova, 0x4000 + (i * BLOCK_ALIGN) as u64);
            let ctrl = BlockCtrl::decode(&b.bytes).unwrap();
            let next = if i == 0 {
                0x4000 + BLOCK_ALIGN as u64
            } else {
                0
            };
            assert_eq!((ctrl.next, ctrl.block_num, ctrl.token), (next, i as u32, 9));
            assert!(mb::block_signature_ok(&b.bytes).unwrap());
            data.extend_from_slice(mb::data(&b.bytes).unwrap());
        }
        assert_eq!(&data[..600], &msg[16..]);
        assert!(data[600..].iter().all(|&x| x == 0));
    }

    #[test]
    fn an_output_chain_is_zeroed_and_a_short_message_has_none() {
        let c = chain(0x8000, 16 + 513, &[], 1, 2).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c
            .iter()
            .all(|b| mb::data(&b.bytes).unwrap().iter().all(|&x| x == 0)));
        assert!(chain(0x8000, 16, &[0xFF; 16], 1, 0).unwrap().is_empty());
    }

    #[test]
    fn a_message_longer_than_the_layout_is_refused() {
        let e = chain(0x8000, 16 + 3 * 512 + 1, &[], 1, 3).unwrap_err();
        assert!(matches!(
            e,
            Error::TooLong {
                blocks: 4,
                max: 3,
                ..
            }
        ));
    }
}
