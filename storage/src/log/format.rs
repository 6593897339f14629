//! The bytes of a log segment: its file name, its header and its records. Pure
//! encoding and decoding, no I/O.
//!
//! ```text
//! file name: log.<first zxid, 16 hex digits>
//!
//! header (40 bytes, big-endian):
//!   0  magic        "FKTXNLOG"
//!   8  version      u32 = 1
//!  12  flags        u32 = 0
//!  16  first_zxid   i64   the zxid of the first record (= the file name)
//!  24  prev_zxid    i64   the last zxid of the previous segment (0 if none):
//!                         the link that makes a missing segment detectable
//!  32  reserved     u32 = 0
//!  36  crc32c       u32   over bytes 0..36
//!
//! record (16-byte header + payload):
//!   0  len          u32   payload length
//!   4  zxid         i64
//!  12  crc32c       u32   over the zxid's 8 bytes then the payload
//!  16  payload      len bytes
//! ```
//!
//! A record header of sixteen zero bytes is never a record (zxids are positive): it is
//! where preallocated, never-written space begins.

use crate::error::Corruption;
use crate::zxid::Zxid;

pub const SEGMENT_MAGIC: [u8; 8] = *b"FKTXNLOG";
pub const SEGMENT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 40;
pub const RECORD_HEADER_LEN: usize = 16;
/// The largest payload the format allows (1 GiB). Reading checks only this, never the
/// configured [`crate::LogOptions::max_entry_size`], so lowering that setting cannot
/// make an existing log unreadable.
pub const MAX_PAYLOAD_LEN: u32 = 1 << 30;
const SEGMENT_PREFIX: &str = "log.";

/// The file name of the segment whose first record is `first_zxid`.
pub fn segment_name(first_zxid: Zxid) -> String {
    format!("{SEGMENT_PREFIX}{first_zxid:016x}")
}

/// The first zxid named by a segment file name (`log.<hex>`, as ZooKeeper names its
/// logs, so a ZooKeeper log put here is noticed and rejected by its magic rather than
/// ignored). Other names — including the `.corrupt` and `.discarded` files recovery
/// sets aside — are not segments.
pub fn parse_segment_name(name: &str) -> Option<Zxid> {
    parse_hex_suffix(name, SEGMENT_PREFIX)
}

/// `<prefix><1 to 16 hex digits>` → the number.
pub(crate) fn parse_hex_suffix(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|z| z as Zxid)
}

/// A segment's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub first_zxid: Zxid,
    pub prev_zxid: Zxid,
}

/// Why a header did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    Corrupt(Corruption),
    Version(u32),
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&SEGMENT_VERSION.to_be_bytes());
        b[16..24].copy_from_slice(&self.first_zxid.to_be_bytes());
        b[24..32].copy_from_slice(&self.prev_zxid.to_be_bytes());
        let crc = crc32c::crc32c(&b[..36]);
        b[36..40].copy_from_slice(&crc.to_be_bytes());
        b
    }

    pub fn decode(data: &[u8]) -> Result<Self, HeaderError> {
        if data.len() < HEADER_LEN {
            return Err(HeaderError::Corrupt(Corruption::TruncatedHeader));
        }
        let b = &data[..HEADER_LEN];
        if b[0..8] != SEGMENT_MAGIC {
            return Err(HeaderError::Corrupt(Corruption::BadMagic));
        }
        if crc32c::crc32c(&b[..36]) != be_u32(&b[36..40]) {
            return Err(HeaderError::Corrupt(Corruption::BadHeaderChecksum));
        }
        let version = be_u32(&b[8..12]);
        if version != SEGMENT_VERSION {
            return Err(HeaderError::Version(version));
        }
        Ok(SegmentHeader {
            first_zxid: be_i64(&b[16..24]),
            prev_zxid: be_i64(&b[24..32]),
        })
    }
}

/// The checksum a record carries.
pub fn record_crc(zxid: Zxid, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&zxid.to_be_bytes()), payload)
}

/// Appends one encoded record to `out`.
pub fn encode_record(out: &mut Vec<u8>, zxid: Zxid, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&zxid.to_be_bytes());
    out.extend_from_slice(&record_crc(zxid, payload).to_be_bytes());
    out.extend_from_slice(payload);
}

/// What is at an offset where a record may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A record whose checksum verifies; its payload is `data[payload.0..payload.1]`
    /// and the next record starts at `payload.1`.
    Record { zxid: Zxid, payload: (usize, usize) },
    /// The end of the data.
    End,
    /// Zero bytes where a record header should be: preallocated space, if everything
    /// after is zero too.
    Zero,
    /// Not a record.
    Bad(Corruption),
}

/// Decodes the record at `pos` (no ordering checks: see [`super::reader`]).
pub fn decode_record(data: &[u8], pos: usize) -> Decoded {
    let rest = &data[pos.min(data.len())..];
    if rest.is_empty() {
        return Decoded::End;
    }
    if rest.len() < RECORD_HEADER_LEN {
        return if is_zero(rest) {
            Decoded::Zero
        } else {
            Decoded::Bad(Corruption::TruncatedRecord)
        };
    }
    let head = &rest[..RECORD_HEADER_LEN];
    if is_zero(head) {
        return Decoded::Zero;
    }
    let len = be_u32(&head[0..4]);
    let zxid = be_i64(&head[4..12]);
    let crc = be_u32(&head[12..16]);
    if len > MAX_PAYLOAD_LEN {
        return Decoded::Bad(Corruption::BadLength { len: len as u64 });
    }
    let start = pos + RECORD_HEADER_LEN;
    let end = start + len as usize;
    if end > data.len() {
        return Decoded::Bad(Corruption::TruncatedRecord);
    }
    if record_crc(zxid, &data[start..end]) != crc {
        return Decoded::Bad(Corruption::BadChecksum);
    }
    Decoded::Record {
        zxid,
        payload: (start, end),
    }
}

pub fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

pub fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

pub fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

pub fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() {
        assert_eq!(segment_name(0x1_0000_0001), "log.0000000100000001");
        assert_eq!(
            parse_segment_name("log.0000000100000001"),
            Some(0x1_0000_0001)
        );
        // ZooKeeper's unpadded names parse too (and then fail on the magic).
        assert_eq!(parse_segment_name("log.100000001"), Some(0x1_0000_0001));
        assert_eq!(parse_segment_name("log.0000000100000001.corrupt"), None);
        assert_eq!(parse_segment_name("log."), None);
        assert_eq!(parse_segment_name("snapshot.1"), None);
        assert_eq!(parse_segment_name("log.00000000000000001"), None);
    }

    #[test]
    fn header_round_trips_and_detects_damage() {
        let h = SegmentHeader {
            first_zxid: 5,
            prev_zxid: 4,
        };
        let mut b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        assert_eq!(
            SegmentHeader::decode(&b[..10]),
            Err(HeaderError::Corrupt(Corruption::TruncatedHeader))
        );
        b[20] ^= 1;
        assert_eq!(
            SegmentHeader::decode(&b),
            Err(HeaderError::Corrupt(Corruption::BadHeaderChecksum))
        );
        b[0] = b'Z';
        assert_eq!(
            SegmentHeader::decode(&b),
            Err(HeaderError::Corrupt(Corruption::BadMagic))
        );
    }

    #[test]
    fn records_decode_and_every_field_is_checked() {
        let mut b = Vec::new();
        encode_record(&mut b, 7, b"hello");
        encode_record(&mut b, 8, b"");
        assert_eq!(
            decode_record(&b, 0),
            Decoded::Record {
                zxid: 7,
                payload: (16, 21)
            }
        );
        assert_eq!(
            decode_record(&b, 21),
            Decoded::Record {
                zxid: 8,
                payload: (37, 37)
            }
        );
        assert_eq!(decode_record(&b, 37), Decoded::End);
        let mut huge = b.clone();
        huge[0..4].copy_from_slice(&(MAX_PAYLOAD_LEN + 1).to_be_bytes());
        assert_eq!(
            decode_record(&huge, 0),
            Decoded::Bad(Corruption::BadLength {
                len: MAX_PAYLOAD_LEN as u64 + 1
            })
        );
        assert_eq!(
            decode_record(&b[..20], 0),
            Decoded::Bad(Corruption::TruncatedRecord)
        );
        for i in 4..21 {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert_eq!(
                decode_record(&c, 0),
                Decoded::Bad(Corruption::BadChecksum),
                "flip at {i}"
            );
        }
        let zeros = [0u8; 40];
        assert_eq!(decode_record(&zeros, 0), Decoded::Zero);
        assert_eq!(decode_record(&zeros[..5], 0), Decoded::Zero);
    }
}
