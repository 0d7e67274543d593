//! Fuzz target `config_parse`: see `fuzz/harness.rs`, whose `config_parse` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::config_parse(data));
