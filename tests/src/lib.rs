//! cxu-tests: cross-crate tests live in tests/tests/.
#![forbid(unsafe_code)]
