//! A client's byte stream after the handshake: frames taken off the buffer as the
//! connection task does, each decoded as a request header and a request body.
#![no_main]

#[path = "../common/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::frame_request(data));
