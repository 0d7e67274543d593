//! Fuzz target `chunk_assembly`: see `fuzz/harness.rs`, whose `chunk_assembly` function this runs on every input.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::chunk_assembly(data));
