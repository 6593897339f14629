//! The first frame of a connection: a ConnectRequest (with or without the readOnly
//! flag), as the connection task reads it.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::frame::{take_frame, DEFAULT_JUTE_MAXBUFFER};
use ferrokeeper_protocol::records::ConnectRequest;
use ferrokeeper_protocol::Jute;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As a whole frame, and as a bare payload.
    let mut buf = BytesMut::from(data);
    if let Ok(Some(frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let _ = ConnectRequest::read(&mut frame.clone());
    }
    if let Ok(request) = ConnectRequest::read(&mut Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        request.write(&mut out);
        let again = ConnectRequest::read(&mut out.freeze()).expect("re-encoded decodes");
        assert_eq!(again, request);
    }
});
