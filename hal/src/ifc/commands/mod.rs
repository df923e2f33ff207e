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
use super::header::{InHeader, OutHeader};
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
}

const fn fixed(inlen: usize, outlen: usize) -> Sizes {
    Sizes {
        inlen,
        outlen,
        variable_in: false,
        variable_out: false,
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
        Opcode::ENABLE_HCA | Opcode::DISABLE_HCA => fixed(16, 12),
        Opcode::QUERY_ISSI => fixed(16, hca::QUERY_ISSI_OUT_SIZE),
        Opcode::SET_ISSI => fixed(16, 16),
        Opcode::QUERY_PAGES => fixed(16, 16),
        Opcode::MANAGE_PAGES => Sizes {
            inlen: 16,
            outlen: 16,
            variable_in: true,
            variable_out: true,
        },
        Opcode::QUERY_HCA_CAP => fixed(16, caps::QUERY_HCA_CAP_OUT_SIZE),
        Opcode::SET_HCA_CAP => fixed(caps::SET_HCA_CAP_IN_SIZE, 16),
        Opcode::INIT_HCA => fixed(hca::INIT_HCA_IN_SIZE, 16),
        Opcode::TEARDOWN_HCA => fixed(16, 16),
        Opcode::SET_DRIVER_VERSION => fixed(hca::SET_DRIVER_VERSION_IN_SIZE, 16),
        Opcode::QUERY_ADAPTER => fixed(16, hca::QUERY_ADAPTER_OUT_SIZE),
        Opcode::NOP => fixed(16, 16),
        Opcode::CREATE_EQ => Sizes {
            inlen: eq::CREATE_EQ_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        Opcode::DESTROY_EQ => fixed(16, 16),
        Opcode::ALLOC_UAR | Opcode::DEALLOC_UAR => fixed(16, 16),
        Opcode::CREATE_UMEM => Sizes {
            inlen: umem::CREATE_UMEM_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        Opcode::DESTROY_UMEM => fixed(16, 16),
        Opcode::ACCESS_REG => Sizes {
            inlen: 16,
            outlen: 16,
            variable_in: true,
            variable_out: true,
        },
        Opcode::QUERY_NIC_VPORT_CONTEXT => Sizes {
            inlen: 16,
            outlen: nic_vport::QUERY_NIC_VPORT_CONTEXT_OUT_SIZE,
            variable_in: false,
            variable_out: true,
        },
        Opcode::MODIFY_NIC_VPORT_CONTEXT => Sizes {
            inlen: nic_vport::MODIFY_NIC_VPORT_CONTEXT_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        Opcode::ALLOC_PD
        | Opcode::DEALLOC_PD
        | Opcode::ALLOC_TRANSPORT_DOMAIN
        | Opcode::DEALLOC_TRANSPORT_DOMAIN
        | Opcode::ALLOC_Q_COUNTER
        | Opcode::DEALLOC_Q_COUNTER
        | Opcode::DESTROY_MKEY
        | Opcode::DESTROY_TIS
        | Opcode::DESTROY_TIR
        | Opcode::DESTROY_RQT
        | Opcode::QUERY_VPORT_STATE => fixed(16, 16),
        Opcode::QUERY_VPORT_COUNTER => fixed(
            vport::QUERY_VPORT_COUNTER_IN_SIZE,
            vport::QUERY_VPORT_COUNTER_OUT_SIZE,
        ),
        Opcode::QUERY_Q_COUNTER => fixed(
            transport::QUERY_Q_COUNTER_IN_SIZE,
            transport::QUERY_Q_COUNTER_OUT_SIZE,
        ),
        Opcode::CREATE_MKEY => Sizes {
            inlen: transport::CREATE_MKEY_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        Opcode::CREATE_TIS | Opcode::MODIFY_TIS => fixed(tis::TIS_IN_SIZE, 16),
        Opcode::CREATE_TIR | Opcode::MODIFY_TIR => fixed(tir::TIR_IN_SIZE, 16),
        Opcode::CREATE_RQT | Opcode::MODIFY_RQT => Sizes {
            inlen: rqt::RQT_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        Opcode::CREATE_FLOW_TABLE | Opcode::MODIFY_FLOW_TABLE => {
            fixed(flow_table::FLOW_TABLE_IN_SIZE, 16)
        }
        Opcode::DESTROY_FLOW_TABLE
        | Opcode::DESTROY_FLOW_GROUP
        | Opcode::DELETE_FLOW_TABLE_ENTRY
        | Opcode::SET_FLOW_TABLE_ROOT => fixed(flow_table::SHORT_IN_SIZE, 16),
        Opcode::CREATE_FLOW_GROUP => fixed(flow_table::CREATE_FLOW_GROUP_IN_SIZE, 16),
        Opcode::SET_FLOW_TABLE_ENTRY => Sizes {
            inlen: flow_table::SET_FTE_IN_SIZE,
            outlen: 16,
            variable_in: true,
            variable_out: false,
        },
        _ => return queue_sizes(op),
    })
}

/// Sizes of the completion, send and receive queue commands (a CREATE's
/// input carries `pas[]` after its size).
const fn queue_sizes(op: Opcode) -> Option<Sizes> {
    let variable = Sizes {
        inlen: 0x110,
        outlen: 16,
        variable_in: true,
        variable_out: false,
    };
    Some(match op {
        Opcode::CREATE_CQ => Sizes {
            inlen: cq::CREATE_CQ_IN_SIZE,
            ..variable
        },
        Opcode::CREATE_SQ => Sizes {
            inlen: sq::CREATE_SQ_IN_SIZE,
            ..variable
        },
        Opcode::CREATE_RQ => Sizes {
            inlen: rq::CREATE_RQ_IN_SIZE,
            ..variable
        },
        Opcode::MODIFY_CQ => fixed(cq::MODIFY_CQ_IN_SIZE, 16),
        Opcode::MODIFY_SQ => fixed(sq::MODIFY_SQ_IN_SIZE, 16),
        Opcode::MODIFY_RQ => fixed(rq::MODIFY_RQ_IN_SIZE, 16),
        Opcode::QUERY_CQ => fixed(16, cq::QUERY_CQ_OUT_SIZE),
        Opcode::QUERY_SQ => fixed(16, sq::QUERY_SQ_OUT_SIZE),
        Opcode::QUERY_RQ => fixed(16, rq::QUERY_RQ_OUT_SIZE),
        Opcode::DESTROY_CQ | Opcode::DESTROY_SQ | Opcode::DESTROY_RQ => fixed(16, 16),
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
}
