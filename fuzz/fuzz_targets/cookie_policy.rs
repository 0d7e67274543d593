//! Fuzz target `cookie_policy`: see `fuzz/harness.rs`, whose `cookie_policy` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::cookie_policy(data));
