//! Fuzz target `open_token`: see `fuzz/harness.rs`, whose `open_token` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::open_token(data));
