//! cxu-qemu: the device model (issue 4; not built yet).
#![deny(unsafe_code)]
