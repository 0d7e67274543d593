//! Fuzz target `payload_decode`: see `fuzz/harness.rs`, whose `payload_decode` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::payload_decode(data));
