//! See `cxu_fuzz::simple::eqe`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cxu_fuzz::simple::eqe(data));
