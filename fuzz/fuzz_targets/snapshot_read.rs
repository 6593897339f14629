//! A snapshot body as the loader reads it (after the file's checksum passed: the
//! loader itself must still refuse anything inconsistent without panicking).
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::snapshot_read(data));
