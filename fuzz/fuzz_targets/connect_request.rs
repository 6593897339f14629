//! The first frame of a connection: a ConnectRequest (with or without the readOnly
//! flag), as the connection task reads it.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::connect_request(data));
