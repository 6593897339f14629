//! A transaction payload as the log hands it to recovery.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::txn_codec(data));
