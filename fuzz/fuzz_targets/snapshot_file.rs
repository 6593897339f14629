//! A snapshot file's header, trailer, lengths and checksums as the storage crate
//! verifies and streams it.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::snapshot_file(data));
