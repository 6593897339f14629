//! Headers that precede request, reply and multi sub-op bodies.

use crate::jute_record;

jute_record! {
    /// Precedes every request after the handshake.
    pub struct RequestHeader {
        pub xid: i32,
        pub op: i32,
    }
}

jute_record! {
    /// Precedes every reply and notification after the handshake.
    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: i64,
        pub err: i32,
    }
}

jute_record! {
    /// Precedes each sub-op (and the terminator) of a multi request or response.
    pub struct MultiHeader {
        pub op: i32,
        pub done: bool,
        pub err: i32,
    }
}
