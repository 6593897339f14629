//! A client's byte stream after the handshake: frames taken off the buffer as the
//! connection task does, each decoded as a request header and a request body.
#![no_main]

use bytes::BytesMut;
use ferrokeeper_protocol::frame::{take_frame, DEFAULT_JUTE_MAXBUFFER};
use ferrokeeper_protocol::records::RequestHeader;
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{Jute, OpCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(mut frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let Ok(header) = RequestHeader::read(&mut frame) else {
            break;
        };
        if let Ok(op) = OpCode::try_from(header.op) {
            if let Ok(request) = Request::decode(op, frame) {
                // What decodes re-encodes, and decodes to the same request.
                let mut body = BytesMut::new();
                request.encode_body(&mut body);
                let again = Request::decode(request.op_code(), body.freeze())
                    .expect("a re-encoded request decodes");
                assert_eq!(format!("{again:?}"), format!("{request:?}"));
            }
        }
    }
});
