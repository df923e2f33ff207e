//! The one error type of `ifc`: a buffer too short for a layout, or a value the
//! layout cannot hold or does not allow. Each variant names the field and where.

/// Result of an `ifc` encode or decode.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why bytes could not be read as (or written from) a hardware layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer ends before the field or structure does.
    #[error("{what}: needs bytes {offset:#x}..{end:#x} but the buffer has only {len} bytes", end = offset + need)]
    Short {
        /// The field or structure being accessed.
        what: &'static str,
        /// Byte offset where the access starts.
        offset: usize,
        /// Bytes needed from `offset`.
        need: usize,
        /// Length of the buffer given.
        len: usize,
    },
    /// A value is wider than its field.
    #[error("{what}: value {value:#x} does not fit in {width} bits")]
    Overflow {
        /// The field being written.
        what: &'static str,
        /// The value that was offered.
        value: u64,
        /// Width of the field in bits.
        width: u32,
    },
    /// A field holds a value the interface does not define or allow here.
    #[error("{what}: bad value {value:#x} (expected {expected})")]
    BadValue {
        /// The field that was read.
        what: &'static str,
        /// The value found.
        value: u64,
        /// What the interface allows.
        expected: &'static str,
    },
}

/// Checks that `buf` has at least `need` bytes from `offset`.
pub(crate) fn check_len(
    what: &'static str,
    buf_len: usize,
    offset: usize,
    need: usize,
) -> Result<()> {
    match offset.checked_add(need) {
        Some(end) if end <= buf_len => Ok(()),
        _ => Err(Error::Short {
            what,
            offset,
            need,
            len: buf_len,
        }),
    }
}
