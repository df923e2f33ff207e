//! The firmware RPC channel fed any caller input: see `cxu_fuzz::rpc`.
#![no_main]

libfuzzer_sys::fuzz_target!(|call: cxu_fuzz::rpc::Call| cxu_fuzz::rpc::run(call));
