//! Fuzz target `session_payload`: see `fuzz/harness.rs`, whose `session_payload` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::session_payload(data));
