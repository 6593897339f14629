//! The handshake records. Both end in a `readOnly` flag that pre-3.4 clients omit, so
//! they are written by hand: the flag is read only if present, and answered in kind.

use bytes::{Buf, Bytes, BytesMut};

use crate::jute::{DecodeError, Jute};

/// The first frame of a connection: no request header precedes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Option<Bytes>,
    /// `None` when the client is too old to send the flag.
    pub read_only: Option<bool>,
}

/// The server's answer to [`ConnectRequest`]; `timeout == 0` means the session is
/// expired or the password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Option<Bytes>,
    /// Written only when the request carried the flag.
    pub read_only: Option<bool>,
}

fn read_optional_flag(input: &mut Bytes) -> Result<Option<bool>, DecodeError> {
    if input.has_remaining() {
        bool::read(input).map(Some)
    } else {
        Ok(None)
    }
}

impl Jute for ConnectRequest {
    fn write(&self, out: &mut BytesMut) {
        self.protocol_version.write(out);
        self.last_zxid_seen.write(out);
        self.timeout.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(flag) = self.read_only {
            flag.write(out);
        }
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: i32::read(input)?,
            last_zxid_seen: i64::read(input)?,
            timeout: i32::read(input)?,
            session_id: i64::read(input)?,
            passwd: Option::<Bytes>::read(input)?,
            read_only: read_optional_flag(input)?,
        })
    }
}

impl Jute for ConnectResponse {
    fn write(&self, out: &mut BytesMut) {
        self.protocol_version.write(out);
        self.timeout.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(flag) = self.read_only {
            flag.write(out);
        }
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: i32::read(input)?,
            timeout: i32::read(input)?,
            session_id: i64::read(input)?,
            passwd: Option::<Bytes>::read(input)?,
            read_only: read_optional_flag(input)?,
        })
    }
}
