//! Placeholder: replaced by the cache example.
fn main() {}
