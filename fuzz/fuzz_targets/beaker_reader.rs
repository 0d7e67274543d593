//! Fuzz target `beaker_reader`: the legacy Beaker cookie reader (feature `beaker-compat`). See
//! `tests/beaker/fuzz_harness.rs`, whose `beaker_reader` function this runs on every input and
//! whose oracles it checks; `tests/beaker.rs` replays `fuzz/corpus/beaker_reader/` through it.
#![no_main]

#[path = "../../tests/beaker/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::beaker_reader(data));
