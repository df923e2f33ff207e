//! See `cxu_fuzz::events`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: cxu_fuzz::events::Events| cxu_fuzz::events::run(input));
