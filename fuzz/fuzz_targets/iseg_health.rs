//! See `cxu_fuzz::simple::iseg_health`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cxu_fuzz::simple::iseg_health(data));
