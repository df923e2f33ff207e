//! The driver's command queue against a hostile device: see `cxu_fuzz::hostile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|script: cxu_fuzz::hostile::Script| {
    cxu_fuzz::hostile::run(script);
});
