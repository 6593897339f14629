//! zoo.cfg text, read as the server reads a config file.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::zoo_cfg(data));
