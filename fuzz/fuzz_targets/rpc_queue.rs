//! See `cxu_fuzz::rpc_queue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|s: cxu_fuzz::rpc_queue::Session| {
    cxu_fuzz::rpc_queue::run(s);
});
