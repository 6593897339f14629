//! The bytes of a snapshot file around the caller's content. Pure encoding and
//! decoding, no I/O.
//!
//! ```text
//! file name: snapshot.<zxid, 16 hex digits>   (while written: snapshot.<zxid>.tmp)
//!
//! header (32 bytes, big-endian):
//!   0  magic        "FKSNAPSH"
//!   8  version      u32 = 1
//!  12  flags        u32   bit 0: the body is one zstd frame
//!  16  zxid         i64   the last transaction the snapshot covers
//!  24  reserved     u32 = 0
//!  28  crc32c       u32   over bytes 0..28
//!
//! body: the content as written by the caller, or compressed
//!
//! trailer (32 bytes, big-endian), written last: a file without it is unfinished
//!   0  magic        "FKSNPEND"
//!   8  body_len     u64   bytes of body
//!  16  content_len  u64   bytes of content before compression
//!  24  body_crc     u32   crc32c over the body as stored
//!  28  crc32c       u32   over bytes 0..28 of the trailer
//! ```

use crate::error::Corruption;
use crate::log::format::{be_i64, be_u32, be_u64, parse_hex_suffix};
use crate::zxid::Zxid;

pub const SNAPSHOT_MAGIC: [u8; 8] = *b"FKSNAPSH";
pub const TRAILER_MAGIC: [u8; 8] = *b"FKSNPEND";
pub const SNAPSHOT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 32;
pub const TRAILER_LEN: usize = 32;
pub const FLAG_ZSTD: u32 = 1;
const PREFIX: &str = "snapshot.";
pub const TEMP_SUFFIX: &str = ".tmp";

/// The file name of the snapshot covering `zxid`.
pub fn snapshot_name(zxid: Zxid) -> String {
    format!("{PREFIX}{zxid:016x}")
}

/// The zxid of a snapshot file name (`snapshot.<hex>`; not temp files).
pub fn parse_snapshot_name(name: &str) -> Option<Zxid> {
    parse_hex_suffix(name, PREFIX)
}

/// Whether a file name is an unfinished snapshot (`snapshot.<hex>.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    name.strip_suffix(TEMP_SUFFIX)
        .and_then(parse_snapshot_name)
        .is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub zxid: Zxid,
    pub compressed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    Corrupt(Corruption),
    Version(u32),
}

impl SnapshotHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
        b[8..12].copy_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        let flags = if self.compressed { FLAG_ZSTD } else { 0 };
        b[12..16].copy_from_slice(&flags.to_be_bytes());
        b[16..24].copy_from_slice(&self.zxid.to_be_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Self, HeaderError> {
        if b.len() < HEADER_LEN {
            return Err(HeaderError::Corrupt(Corruption::TruncatedHeader));
        }
        if b[0..8] != SNAPSHOT_MAGIC {
            return Err(HeaderError::Corrupt(Corruption::BadMagic));
        }
        if crc32c::crc32c(&b[..28]) != be_u32(&b[28..32]) {
            return Err(HeaderError::Corrupt(Corruption::BadHeaderChecksum));
        }
        let version = be_u32(&b[8..12]);
        if version != SNAPSHOT_VERSION {
            return Err(HeaderError::Version(version));
        }
        let flags = be_u32(&b[12..16]);
        Ok(SnapshotHeader {
            zxid: be_i64(&b[16..24]),
            compressed: flags & FLAG_ZSTD != 0,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotTrailer {
    pub body_len: u64,
    pub content_len: u64,
    pub body_crc: u32,
}

impl SnapshotTrailer {
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[0..8].copy_from_slice(&TRAILER_MAGIC);
        b[8..16].copy_from_slice(&self.body_len.to_be_bytes());
        b[16..24].copy_from_slice(&self.content_len.to_be_bytes());
        b[24..28].copy_from_slice(&self.body_crc.to_be_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// Decodes the trailer of a file of `file_len` bytes, checking that the body
    /// length it states is the one the file has.
    pub fn decode(b: &[u8], file_len: u64) -> Option<Self> {
        if b.len() < TRAILER_LEN
            || b[0..8] != TRAILER_MAGIC
            || crc32c::crc32c(&b[..28]) != be_u32(&b[28..32])
        {
            return None;
        }
        let trailer = SnapshotTrailer {
            body_len: be_u64(&b[8..16]),
            content_len: be_u64(&b[16..24]),
            body_crc: be_u32(&b[24..28]),
        };
        // A damaged length can be near u64::MAX: no file is that long.
        let expected = ((HEADER_LEN + TRAILER_LEN) as u64).checked_add(trailer.body_len)?;
        (expected == file_len).then_some(trailer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snapshot_name(0x1_0000_0000), "snapshot.0000000100000000");
        assert_eq!(
            parse_snapshot_name("snapshot.0000000100000000"),
            Some(0x1_0000_0000)
        );
        assert_eq!(parse_snapshot_name("snapshot.0000000100000000.tmp"), None);
        assert!(is_temp_name("snapshot.0000000100000000.tmp"));
        assert!(!is_temp_name("snapshot.0000000100000000"));
    }

    #[test]
    fn header_and_trailer_round_trip() {
        let h = SnapshotHeader {
            zxid: 42,
            compressed: true,
        };
        assert_eq!(SnapshotHeader::decode(&h.encode()), Ok(h));
        let t = SnapshotTrailer {
            body_len: 10,
            content_len: 20,
            body_crc: 7,
        };
        assert_eq!(SnapshotTrailer::decode(&t.encode(), 74), Some(t));
        assert_eq!(SnapshotTrailer::decode(&t.encode(), 75), None);
        let mut b = t.encode();
        b[9] ^= 1;
        assert_eq!(SnapshotTrailer::decode(&b, 74), None);
    }

    /// Found while writing the `snapshot_file` fuzz target, whose checksum-fixing mode
    /// reaches it (input `trailer-body-len-overflow` in its corpus): a trailer whose
    /// checksum verifies but whose body length is near u64::MAX overflowed the
    /// expected file length.
    #[test]
    fn a_body_length_past_any_file_length_is_rejected() {
        for body_len in [u64::MAX, u64::MAX - 63, u64::MAX - 64] {
            let t = SnapshotTrailer {
                body_len,
                content_len: 0,
                body_crc: 0,
            };
            assert_eq!(SnapshotTrailer::decode(&t.encode(), 96), None, "{body_len}");
        }
    }
}
