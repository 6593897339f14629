//! Log segment files as the storage crate's recovery opens them (and the dump tools
//! read them): torn tails, corruption, repairs, replay, and a log that keeps working.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::log_segments(data));
