//! See `cxu_fuzz::simple::ifc_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cxu_fuzz::simple::ifc_decode(data));
