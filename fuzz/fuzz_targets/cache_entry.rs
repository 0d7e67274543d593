//! Fuzz target `cache_entry`: see `fuzz/harness.rs`, whose `cache_entry` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::cache_entry(data));
