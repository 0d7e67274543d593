//! Fuzz target `cookie_header`: see `fuzz/harness.rs`, whose `cookie_header` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::cookie_header(data));
