//! Length-prefixed framing: a 4-byte big-endian length, then that many bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::jute::Jute;
use crate::records::ReplyHeader;

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes (1 MiB - 1).
pub const DEFAULT_JUTE_MAXBUFFER: usize = 0xfffff;

/// Why a frame could not be taken off the stream. Either way the connection is over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {len} is negative or exceeds jute.maxbuffer ({max})")]
    BadLength { len: i32, max: usize },
}

/// Takes the next complete frame off the front of `buf`, if one is there. The
/// returned payload excludes the length prefix and shares `buf`'s allocation.
pub fn take_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 0 || len as usize > max {
        return Err(FrameError::BadLength { len, max });
    }
    let len = len as usize;
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Appends one frame to `out`: a length prefix, then whatever `body` writes.
pub fn write_frame(out: &mut BytesMut, body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_i32(0);
    body(out);
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Appends a reply frame: the header, then the body if there is one.
pub fn write_reply(out: &mut BytesMut, header: &ReplyHeader, body: Option<&dyn WriteJute>) {
    write_frame(out, |out| {
        header.write(out);
        if let Some(body) = body {
            body.write_jute(out);
        }
    });
}

/// Object-safe view of [`Jute::write`], so replies can carry any record.
pub trait WriteJute {
    fn write_jute(&self, out: &mut BytesMut);
}

impl<T: Jute> WriteJute for T {
    fn write_jute(&self, out: &mut BytesMut) {
        self.write(out)
    }
}
