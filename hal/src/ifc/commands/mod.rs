//! Command layouts: for each command the driver and the model use, its input and
//! output sizes, its field offsets, and encode/decode functions.
//!
//! Layouts and sizes are those of the kernel's `mlx5_ifc.h` (`mlx5_ifc_<cmd>_in_bits`
//! / `_out_bits`), cross-checked with reference §5. Every input starts with the
//! [`InHeader`] (opcode, uid, op_mod) and every output with the
//! [`OutHeader`] (status, syndrome). Encoders write the header;
//! input decoders check that the opcode matches and that the buffer is at least the
//! command's size. Output decoders do not look at the status: check
//! `OutHeader::decode(out)?.status` first.

pub mod access_reg;
pub mod caps;
pub mod cq;
pub mod eq;
pub mod flow_table;
pub mod hca;
pub mod nic_vport;
pub mod pages;
pub mod rq;
pub mod rqt;
pub mod sq;
pub mod tir;
pub mod tis;
pub mod transport;
pub mod uar;
pub mod umem;
pub mod vport;
pub mod wq;

use super::error::{Error, Result};
use super::field::need;
use super::header::{InHeader, OutHeader, HEADER_SIZE};
use super::opcode::Opcode;

/// The header size shared by every command without command-specific dwords
/// (`mbox_in` + 2 reserved dwords, or `mbox_out` + 2): 16 bytes.
pub const BASE_SIZE: usize = 16;

/// Input and output sizes of a command in bytes. For commands with a trailing
/// array (page addresses, register data) these are the sizes without the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Input message length (minimum, for variable-length inputs).
    pub inlen: usize,
    /// Output message length (minimum, for variable-length outputs).
    pub outlen: usize,
    /// True if the input carries a trailing array after `inlen` bytes.
    pub variable_in: bool,
    /// True if the output carries a trailing array after `outlen` bytes.
    pub variable_out: bool,
    /// True if firmware writes nothing past status and syndrome (the rest of
    /// `outlen` is reserved), so an output buffer of [`HEADER_SIZE`] is
    /// enough. Not derivable from `outlen`: ALLOC_PD's output is 16 bytes
    /// like DEALLOC_PD's, but carries the pd number inside them.
    pub status_only_out: bool,
}

impl Sizes {
    /// The output bytes firmware writes: [`HEADER_SIZE`] for a status-only
    /// output, else `outlen` (a device model refuses a shorter output
    /// buffer with BAD_OUTP_LEN_ERR).
    pub const fn out_written(&self) -> usize {
        if self.status_only_out {
            HEADER_SIZE
        } else {
            self.outlen
        }
    }

    /// The same sizes, for an output of status and syndrome only.
    const fn status_only(self) -> Sizes {
        Sizes {
            status_only_out: true,
            ..self
        }
    }
}

const fn fixed(inlen: usize, outlen: usize) -> Sizes {
    Sizes {
        inlen,
        outlen,
        variable_in: false,
        variable_out: false,
        status_only_out: false,
    }
}

/// Sizes of a command whose input carries a trailing array after `inlen`.
const fn variable_in(inlen: usize, outlen: usize) -> Sizes {
    Sizes {
        variable_in: true,
        ..fixed(inlen, outlen)
    }
}

/// Every opcode whose command `ifc` lays out (the ones [`sizes`] knows), in
/// a fixed order: fuzzers index into it, so append, don't reorder.
pub const LAID_OUT: &[Opcode] = &[
    Opcode::ENABLE_HCA,
    Opcode::DISABLE_HCA,
    Opcode::QUERY_ISSI,
    Opcode::SET_ISSI,
    Opcode::QUERY_PAGES,
    Opcode::MANAGE_PAGES,
    Opcode::QUERY_HCA_CAP,
    Opcode::SET_HCA_CAP,
    Opcode::INIT_HCA,
    Opcode::TEARDOWN_HCA,
    Opcode::SET_DRIVER_VERSION,
    Opcode::QUERY_ADAPTER,
    Opcode::NOP,
    Opcode::ALLOC_UAR,
    Opcode::DEALLOC_UAR,
    Opcode::CREATE_EQ,
    Opcode::DESTROY_EQ,
    Opcode::ACCESS_REG,
    Opcode::QUERY_NIC_VPORT_CONTEXT,
    Opcode::MODIFY_NIC_VPORT_CONTEXT,
    Opcode::CREATE_CQ,
    Opcode::DESTROY_CQ,
    Opcode::QUERY_CQ,
    Opcode::MODIFY_CQ,
    Opcode::CREATE_SQ,
    Opcode::MODIFY_SQ,
    Opcode::DESTROY_SQ,
    Opcode::QUERY_SQ,
    Opcode::CREATE_RQ,
    Opcode::MODIFY_RQ,
    Opcode::DESTROY_RQ,
    Opcode::QUERY_RQ,
    Opcode::ALLOC_PD,
    Opcode::DEALLOC_PD,
    Opcode::ALLOC_TRANSPORT_DOMAIN,
    Opcode::DEALLOC_TRANSPORT_DOMAIN,
    Opcode::ALLOC_Q_COUNTER,
    Opcode::DEALLOC_Q_COUNTER,
    Opcode::QUERY_Q_COUNTER,
    Opcode::CREATE_MKEY,
    Opcode::DESTROY_MKEY,
    Opcode::CREATE_TIS,
    Opcode::MODIFY_TIS,
    Opcode::DESTROY_TIS,
    Opcode::CREATE_TIR,
    Opcode::MODIFY_TIR,
    Opcode::DESTROY_TIR,
    Opcode::CREATE_RQT,
    Opcode::MODIFY_RQT,
    Opcode::DESTROY_RQT,
    Opcode::CREATE_FLOW_TABLE,
    Opcode::MODIFY_FLOW_TABLE,
    Opcode::DESTROY_FLOW_TABLE,
    Opcode::CREATE_FLOW_GROUP,
    Opcode::DESTROY_FLOW_GROUP,
    Opcode::SET_FLOW_TABLE_ENTRY,
    Opcode::DELETE_FLOW_TABLE_ENTRY,
    Opcode::SET_FLOW_TABLE_ROOT,
    Opcode::QUERY_VPORT_STATE,
    Opcode::QUERY_VPORT_COUNTER,
    Opcode::CREATE_UMEM,
    Opcode::DESTROY_UMEM,
];

/// Sizes of the commands `ifc` lays out, or `None` for other opcodes. A device
/// model answers BAD_INP_LEN_ERR / BAD_OUTP_LEN_ERR when a command's lengths are
/// below these (or, for fixed-size commands, different).
pub const fn sizes(op: Opcode) -> Option<Sizes> {
    Some(match op {
        // `enable_hca_out` / `disable_hca_out` are 12 bytes in mlx5_ifc.h
        // (status, syndrome, one reserved dword), not 16.
        Opcode::ENABLE_HCA | Opcode::DISABLE_HCA => fixed(16, 12).status_only(),
        Opcode::QUERY_ISSI => fixed(16, hca::QUERY_ISSI_OUT_SIZE),
        Opcode::SET_ISSI => fixed(16, 16).status_only(),
        Opcode::QUERY_PAGES => fixed(16, 16),
        Opcode::MANAGE_PAGES => Sizes {
            variable_out: true,
            ..variable_in(16, 16)
        },
        Opcode::QUERY_HCA_CAP => fixed(16, caps::QUERY_HCA_CAP_OUT_SIZE),
        Opcode::SET_HCA_CAP => fixed(caps::SET_HCA_CAP_IN_SIZE, 16).status_only(),
        Opcode::INIT_HCA => fixed(hca::INIT_HCA_IN_SIZE, 16).status_only(),
        Opcode::TEARDOWN_HCA => fixed(16, 16),
        Opcode::SET_DRIVER_VERSION => fixed(hca::SET_DRIVER_VERSION_IN_SIZE, 16).status_only(),
        Opcode::QUERY_ADAPTER => fixed(16, hca::QUERY_ADAPTER_OUT_SIZE),
        Opcode::NOP => fixed(16, 16).status_only(),
        Opcode::CREATE_EQ => variable_in(eq::CREATE_EQ_IN_SIZE, 16),
        Opcode::ALLOC_UAR => fixed(16, 16),
        Opcode::DESTROY_EQ | Opcode::DEALLOC_UAR => fixed(16, 16).status_only(),
        Opcode::CREATE_UMEM => variable_in(umem::CREATE_UMEM_IN_SIZE, 16),
        Opcode::DESTROY_UMEM => fixed(16, 16).status_only(),
        Opcode::ACCESS_REG => Sizes {
            variable_out: true,
            ..variable_in(16, 16)
        },
        Opcode::QUERY_NIC_VPORT_CONTEXT => Sizes {
            variable_out: true,
            ..fixed(16, nic_vport::QUERY_NIC_VPORT_CONTEXT_OUT_SIZE)
        },
        Opcode::MODIFY_NIC_VPORT_CONTEXT => {
            variable_in(nic_vport::MODIFY_NIC_VPORT_CONTEXT_IN_SIZE, 16).status_only()
        }
        // The output carries the new object's number.
        Opcode::ALLOC_PD
        | Opcode::ALLOC_TRANSPORT_DOMAIN
        | Opcode::ALLOC_Q_COUNTER
        | Opcode::QUERY_VPORT_STATE => fixed(16, 16),
        Opcode::DEALLOC_PD
        | Opcode::DEALLOC_TRANSPORT_DOMAIN
        | Opcode::DEALLOC_Q_COUNTER
        | Opcode::DESTROY_MKEY
        | Opcode::DESTROY_TIS
        | Opcode::DESTROY_TIR
        | Opcode::DESTROY_RQT => fixed(16, 16).status_only(),
        Opcode::QUERY_VPORT_COUNTER => fixed(
            vport::QUERY_VPORT_COUNTER_IN_SIZE,
            vport::QUERY_VPORT_COUNTER_OUT_SIZE,
        ),
        Opcode::QUERY_Q_COUNTER => fixed(
            transport::QUERY_Q_COUNTER_IN_SIZE,
            transport::QUERY_Q_COUNTER_OUT_SIZE,
        ),
        Opcode::CREATE_MKEY => variable_in(transport::CREATE_MKEY_IN_SIZE, 16),
        Opcode::CREATE_TIS => fixed(tis::TIS_IN_SIZE, 16),
        Opcode::MODIFY_TIS => fixed(tis::TIS_IN_SIZE, 16).status_only(),
        Opcode::CREATE_TIR => fixed(tir::TIR_IN_SIZE, 16),
        Opcode::MODIFY_TIR => fixed(tir::TIR_IN_SIZE, 16).status_only(),
        Opcode::CREATE_RQT => variable_in(rqt::RQT_IN_SIZE, 16),
        Opcode::MODIFY_RQT => variable_in(rqt::RQT_IN_SIZE, 16).status_only(),
        Opcode::CREATE_FLOW_TABLE => fixed(flow_table::FLOW_TABLE_IN_SIZE, 16),
        Opcode::MODIFY_FLOW_TABLE => fixed(flow_table::FLOW_TABLE_IN_SIZE, 16).status_only(),
        Opcode::DESTROY_FLOW_TABLE
        | Opcode::DESTROY_FLOW_GROUP
        | Opcode::DELETE_FLOW_TABLE_ENTRY
        | Opcode::SET_FLOW_TABLE_ROOT => fixed(flow_table::SHORT_IN_SIZE, 16).status_only(),
        Opcode::CREATE_FLOW_GROUP => fixed(flow_table::CREATE_FLOW_GROUP_IN_SIZE, 16),
        Opcode::SET_FLOW_TABLE_ENTRY => variable_in(flow_table::SET_FTE_IN_SIZE, 16).status_only(),
        _ => return queue_sizes(op),
    })
}

/// Sizes of the completion, send and receive queue commands (a CREATE's
/// input carries `pas[]` after its size).
const fn queue_sizes(op: Opcode) -> Option<Sizes> {
    Some(match op {
        Opcode::CREATE_CQ => variable_in(cq::CREATE_CQ_IN_SIZE, 16),
        Opcode::CREATE_SQ => variable_in(sq::CREATE_SQ_IN_SIZE, 16),
        Opcode::CREATE_RQ => variable_in(rq::CREATE_RQ_IN_SIZE, 16),
        Opcode::MODIFY_CQ => fixed(cq::MODIFY_CQ_IN_SIZE, 16).status_only(),
        Opcode::MODIFY_SQ => fixed(sq::MODIFY_SQ_IN_SIZE, 16).status_only(),
        Opcode::MODIFY_RQ => fixed(rq::MODIFY_RQ_IN_SIZE, 16).status_only(),
        Opcode::QUERY_CQ => fixed(16, cq::QUERY_CQ_OUT_SIZE),
        Opcode::QUERY_SQ => fixed(16, sq::QUERY_SQ_OUT_SIZE),
        Opcode::QUERY_RQ => fixed(16, rq::QUERY_RQ_OUT_SIZE),
        Opcode::DESTROY_CQ | Opcode::DESTROY_SQ | Opcode::DESTROY_RQ => fixed(16, 16).status_only(),
        _ => return None,
    })
}

/// A zeroed input of `N` bytes with the header written.
pub(crate) fn new_in<const N: usize>(opcode: Opcode, op_mod: u16) -> [u8; N] {
    let mut b = [0u8; N];
    // N >= 16 for every caller, so the header always fits.
    let _ = InHeader::new(opcode, op_mod).encode_into(&mut b);
    b
}

/// A zeroed input of `len` bytes with the header written.
pub(crate) fn new_in_vec(opcode: Opcode, op_mod: u16, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len.max(BASE_SIZE)];
    let _ = InHeader::new(opcode, op_mod).encode_into(&mut b);
    b
}

/// A zeroed, successful output of `N` bytes.
pub(crate) fn new_out<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let _ = OutHeader::OK.encode_into(&mut b);
    b
}

/// Checks the input header's opcode and the input length; returns the header.
pub fn check_in(buf: &[u8], opcode: Opcode, min_len: usize) -> Result<InHeader> {
    need(opcode_name(opcode), buf, min_len)?;
    let h = InHeader::decode(buf)?;
    if h.opcode != opcode {
        return Err(Error::BadValue {
            what: "opcode",
            value: u64::from(h.opcode.0),
            expected: opcode_name(opcode),
        });
    }
    Ok(h)
}

fn opcode_name(op: Opcode) -> &'static str {
    op.name().unwrap_or("a known opcode")
}

/// Reads `n` big-endian 64-bit page addresses starting at `offset`.
pub(crate) fn read_pas(
    what: &'static str,
    buf: &[u8],
    offset: usize,
    n: usize,
) -> Result<Vec<u64>> {
    let bytes = n.checked_mul(8).ok_or(Error::BadValue {
        what,
        value: n as u64,
        expected: "a page count that fits in memory",
    })?;
    super::error::check_len(what, buf.len(), offset, bytes)?;
    Ok(buf[offset..offset + bytes]
        .chunks_exact(8)
        .map(|c| c.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
        .collect())
}

/// Writes big-endian 64-bit page addresses at `offset`.
pub(crate) fn write_pas(
    what: &'static str,
    buf: &mut [u8],
    offset: usize,
    pas: &[u64],
) -> Result<()> {
    super::error::check_len(what, buf.len(), offset, pas.len() * 8)?;
    for (i, pa) in pas.iter().enumerate() {
        buf[offset + i * 8..offset + i * 8 + 8].copy_from_slice(&pa.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laid_out_is_exactly_the_opcodes_with_sizes() {
        for op in LAID_OUT {
            assert!(sizes(*op).is_some(), "{op} is listed but has no sizes");
        }
        for op in Opcode::ALL {
            assert_eq!(sizes(*op).is_some(), LAID_OUT.contains(op), "{op}");
        }
    }

    /// mlx5_ifc.h facts: `destroy_cq_out` and `set_fte_out` are status,
    /// syndrome and 0x40 reserved bits; `enable_hca_out` has 0x20 reserved
    /// bits (12 bytes); `alloc_pd_out` and `create_flow_group_out` carry
    /// `pd` / `group_id` at bit 0x48 inside the same 16 bytes.
    #[test]
    fn status_only_outputs_follow_mlx5_ifc() {
        let written = |op| sizes(op).map(|s| (s.outlen, s.out_written()));
        assert_eq!(written(Opcode::DESTROY_CQ), Some((16, HEADER_SIZE)));
        assert_eq!(
            written(Opcode::SET_FLOW_TABLE_ENTRY),
            Some((16, HEADER_SIZE))
        );
        assert_eq!(written(Opcode::ENABLE_HCA), Some((12, HEADER_SIZE)));
        assert_eq!(written(Opcode::ALLOC_PD), Some((16, 16)));
        assert_eq!(written(Opcode::CREATE_FLOW_GROUP), Some((16, 16)));
        for op in LAID_OUT {
            let s = sizes(*op).unwrap_or_else(|| panic!("{op} has sizes"));
            assert!(s.out_written() <= s.outlen, "{op}");
            assert!(!(s.status_only_out && s.variable_out), "{op}");
        }
    }
}
