//! The model's command parser against a hostile driver: see `cxu_fuzz::model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|session: cxu_fuzz::model::Session| cxu_fuzz::model::run(session));
