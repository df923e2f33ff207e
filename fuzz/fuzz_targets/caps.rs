//! See `cxu_fuzz::simple::caps`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cxu_fuzz::simple::caps(data));
