//! The Jute binary encoding: big-endian integers, length-prefixed strings, buffers and
//! vectors where a length of -1 means null. Decoding never panics and never allocates
//! more than the input could possibly describe.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record truncated: needed {needed} more bytes, {remaining} left")]
    Truncated { needed: usize, remaining: usize },
    #[error("unreasonable length {0}")]
    BadLength(i32),
    #[error("unknown op code {0}")]
    UnknownOpCode(i32),
    #[error("invalid value {value} for {what}")]
    InvalidValue { what: &'static str, value: i32 },
    #[error("{0}")]
    Malformed(&'static str),
    #[error("null {0}")]
    Null(NullField),
}

/// A field sent as null (length -1) where ZooKeeper uses the value without checking it
/// first: its request processors fail with a NullPointerException, which the client
/// sees as MarshallingError. Elsewhere a null string reads as the empty string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullField {
    /// The path of a create, delete, exists, getData, getACL, getChildren,
    /// getAllChildrenNumber, checkWatches, or of any op in a multi.
    Path,
    /// The id of a world, digest or ip ACL entry (the schemes whose checks read it).
    AclId,
    /// One of setWatches' lists, or a path in its data, exist or child lists.
    WatchPath,
}

impl std::fmt::Display for NullField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NullField::Path => "path",
            NullField::AclId => "ACL id",
            NullField::WatchPath => "watch list or path",
        })
    }
}

/// Whether the next value is null: a length of -1.
fn next_is_null(input: &Bytes) -> bool {
    input.starts_with(&(-1i32).to_be_bytes())
}

/// Fails with [`DecodeError::Null`] if the next value is null (a length of -1),
/// consuming nothing.
pub fn refuse_null(input: &Bytes, field: NullField) -> Result<(), DecodeError> {
    if next_is_null(input) {
        return Err(DecodeError::Null(field));
    }
    Ok(())
}

/// A value with a Jute encoding.
pub trait Jute: Sized {
    fn write(&self, out: &mut BytesMut);
    fn read(input: &mut Bytes) -> Result<Self, DecodeError>;
}

fn need(input: &Bytes, needed: usize) -> Result<(), DecodeError> {
    if input.remaining() < needed {
        return Err(DecodeError::Truncated {
            needed,
            remaining: input.remaining(),
        });
    }
    Ok(())
}

/// Reads a length prefix: `None` for the -1 null marker; any other negative value, or a
/// length the remaining input cannot hold (at `min_item_size` bytes per item), is rejected.
fn read_length(input: &mut Bytes, min_item_size: usize) -> Result<Option<usize>, DecodeError> {
    let len = i32::read(input)?;
    if len == -1 {
        return Ok(None);
    }
    if len < 0 {
        return Err(DecodeError::BadLength(len));
    }
    let len = len as usize;
    if len.saturating_mul(min_item_size) > input.remaining() {
        return Err(DecodeError::BadLength(len as i32));
    }
    Ok(Some(len))
}

impl Jute for i32 {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(*self);
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        need(input, 4)?;
        Ok(input.get_i32())
    }
}

impl Jute for i64 {
    fn write(&self, out: &mut BytesMut) {
        out.put_i64(*self);
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        need(input, 8)?;
        Ok(input.get_i64())
    }
}

impl Jute for bool {
    fn write(&self, out: &mut BytesMut) {
        out.put_u8(u8::from(*self));
    }
    /// Any non-zero byte is true, as Java's `DataInput.readBoolean`.
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        need(input, 1)?;
        Ok(input.get_u8() != 0)
    }
}

/// `ustring`. Null (-1) reads as the empty string — kazoo sends null for "" — and is
/// never written, because go-zookeeper cannot decode it. Malformed UTF-8 is replaced
/// the way Java's decoder does, so path validation sees what ZooKeeper would see.
impl Jute for String {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(self.len() as i32);
        out.put_slice(self.as_bytes());
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        let Some(len) = read_length(input, 1)? else {
            return Ok(String::new());
        };
        let raw = input.split_to(len);
        Ok(match std::str::from_utf8(&raw) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&raw).into_owned(),
        })
    }
}

/// A `ustring` that may be null (-1), for sync, which echoes its path as sent: null
/// stays null there.
impl Jute for Option<String> {
    fn write(&self, out: &mut BytesMut) {
        match self {
            None => out.put_i32(-1),
            Some(s) => s.write(out),
        }
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        if next_is_null(input) {
            input.advance(4);
            return Ok(None);
        }
        String::read(input).map(Some)
    }
}

/// `buffer`, keeping null (-1) apart from empty: ZooKeeper stores and returns null data
/// as null. Reading is zero-copy: the value shares the frame's allocation.
impl Jute for Option<Bytes> {
    fn write(&self, out: &mut BytesMut) {
        match self {
            None => out.put_i32(-1),
            Some(b) => {
                out.put_i32(b.len() as i32);
                out.put_slice(b);
            }
        }
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(read_length(input, 1)?.map(|len| input.split_to(len)))
    }
}

/// `vector<T>`. Null (-1) reads as empty and is never written (go-zookeeper).
impl<T: Jute> Jute for Vec<T> {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(self.len() as i32);
        for item in self {
            item.write(out);
        }
    }
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        read_vec(input, T::read)
    }
}

/// `vector<T>` with each item read by `read_item`. Null (-1) reads as empty.
pub fn read_vec<T>(
    input: &mut Bytes,
    mut read_item: impl FnMut(&mut Bytes) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    // Every Jute item takes at least one byte, so a count larger than what is left is
    // a lie: refuse it before allocating.
    let Some(count) = read_length(input, 1)? else {
        return Ok(Vec::new());
    };
    // A count that fits is not yet true either: reserve no more than the input could
    // fill, since an item in memory is larger than its minimum on the wire.
    let max_reserve = input.remaining() / std::mem::size_of::<T>().max(1);
    let mut items = Vec::with_capacity(count.min(max_reserve));
    for _ in 0..count {
        items.push(read_item(input)?);
    }
    Ok(items)
}

/// Declares a Jute record once: the struct, its field order on the wire, and both
/// directions of its encoding.
#[macro_export]
macro_rules! jute_record {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::jute::Jute for $name {
            fn write(&self, _out: &mut ::bytes::BytesMut) {
                $($crate::jute::Jute::write(&self.$field, _out);)*
            }
            fn read(_input: &mut ::bytes::Bytes) -> Result<Self, $crate::jute::DecodeError> {
                Ok(Self { $($field: <$ty as $crate::jute::Jute>::read(_input)?),* })
            }
        }
    };
}

/// Encodes one value into a fresh buffer.
pub fn to_bytes<T: Jute>(value: &T) -> Bytes {
    let mut out = BytesMut::new();
    value.write(&mut out);
    out.freeze()
}

/// Decodes one value that must span the whole input.
pub fn from_bytes<T: Jute>(mut input: Bytes) -> Result<T, DecodeError> {
    let value = T::read(&mut input)?;
    if input.has_remaining() {
        return Err(DecodeError::Malformed("trailing bytes after record"));
    }
    Ok(value)
}
