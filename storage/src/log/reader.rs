//! Reading one segment: walk its records in order, checking checksums, that the first
//! record is the one the segment is named after, and that zxids follow each other
//! without gaps ([`crate::zxid::follows`]), and say precisely how and where the walk
//! ended. Deciding whether a bad ending is a torn
//! tail or corruption is [`super::recovery`]'s job; this file only describes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::format::{be_i64, be_u32, record_crc, MAX_PAYLOAD_LEN, RECORD_HEADER_LEN};
use super::format::{decode_record, is_zero, Decoded, HeaderError, SegmentHeader, HEADER_LEN};
use crate::env::{self, FileSystem};
use crate::error::{Corruption, Error, IoContext, Result};
use crate::zxid::{follows, Zxid};
use crate::Entry;

/// How the walk through a segment's records ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Exactly at the end of the file.
    Clean,
    /// At zero bytes that run to the end of the file (unused preallocated space).
    ZeroTail,
    /// At bytes that are not the next record.
    Bad { offset: u64, kind: Corruption },
}

/// One step of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Record {
        offset: u64,
        zxid: Zxid,
        payload: (usize, usize),
    },
    End(ScanEnd),
}

/// Walks the records of one segment's bytes.
#[derive(Debug, Clone)]
pub struct Cursor {
    pos: usize,
    prev: Zxid,
    expect_first: Option<Zxid>,
}

impl Cursor {
    pub fn new(header: &SegmentHeader) -> Self {
        Cursor {
            pos: HEADER_LEN,
            prev: header.prev_zxid,
            expect_first: Some(header.first_zxid),
        }
    }

    /// The offset just past the last record returned.
    pub fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// The zxid of the last record returned (the header's `prev_zxid` before any).
    pub fn prev(&self) -> Zxid {
        self.prev
    }

    pub fn next(&mut self, data: &[u8]) -> Step {
        let offset = self.pos as u64;
        let bad = |kind| Step::End(ScanEnd::Bad { offset, kind });
        match decode_record(data, self.pos) {
            Decoded::Record { zxid, payload } => {
                if let Some(expected) = self.expect_first {
                    if zxid != expected {
                        return bad(Corruption::FirstZxidMismatch {
                            expected,
                            found: zxid,
                        });
                    }
                }
                if zxid <= self.prev || zxid <= 0 {
                    return bad(Corruption::ZxidOutOfOrder {
                        prev: self.prev,
                        zxid,
                    });
                }
                // The first record may follow the previous segment with a gap (the
                // header records it); later ones must be consecutive.
                if self.expect_first.is_none() && !follows(self.prev, zxid) {
                    return bad(Corruption::ZxidGap {
                        prev: self.prev,
                        zxid,
                    });
                }
                self.expect_first = None;
                self.prev = zxid;
                self.pos = payload.1;
                Step::Record {
                    offset,
                    zxid,
                    payload,
                }
            }
            Decoded::End => Step::End(ScanEnd::Clean),
            Decoded::Zero if is_zero(&data[self.pos..]) => Step::End(ScanEnd::ZeroTail),
            Decoded::Zero => bad(Corruption::Garbage),
            Decoded::Bad(kind) => bad(kind),
        }
    }
}

/// The offset of the first position after `from` where a record with a zxid above
/// `prev` verifies, if any. Used to tell a torn tail (nothing valid after the damage)
/// from damage before the tail. Candidates are cheap to reject (zero bytes, a zxid not
/// above `prev`, a length past the end) before a checksum is computed.
pub fn find_valid_record_after(data: &[u8], from: u64, prev: Zxid) -> Option<u64> {
    let floor = prev.max(0);
    let last = data.len().checked_sub(RECORD_HEADER_LEN)?;
    let mut q = from as usize + 1;
    while q <= last {
        let head = &data[q..q + RECORD_HEADER_LEN];
        let zxid = be_i64(&head[4..12]);
        if zxid > floor {
            let len = be_u32(&head[0..4]);
            let end = q + RECORD_HEADER_LEN + len as usize;
            if len <= MAX_PAYLOAD_LEN
                && end <= data.len()
                && record_crc(zxid, &data[q + RECORD_HEADER_LEN..end]) == be_u32(&head[12..16])
            {
                return Some(q as u64);
            }
        }
        q += 1;
    }
    None
}

/// Decodes a segment's header, mapping failures to errors that name the file.
pub fn decode_header(path: &Path, data: &[u8]) -> Result<SegmentHeader> {
    SegmentHeader::decode(data).map_err(|e| match e {
        HeaderError::Corrupt(kind) => Error::CorruptLog {
            path: path.to_owned(),
            offset: 0,
            kind,
        },
        HeaderError::Version(version) => Error::UnsupportedVersion {
            path: path.to_owned(),
            version,
        },
    })
}

/// Everything in one segment file, for inspection tools (`ferrokeeper log dump`).
#[derive(Debug, Clone)]
pub struct SegmentDump {
    pub path: PathBuf,
    pub header: SegmentHeader,
    /// The records that verify, in order, with their offsets.
    pub entries: Vec<(u64, Entry)>,
    /// How the records ended.
    pub end: ScanEnd,
    pub file_len: u64,
}

/// Reads a whole segment file without changing anything. Damage ends the listing
/// (reported in [`SegmentDump::end`]); only an unreadable file or header is an error.
pub fn read_segment(fs: &Arc<dyn FileSystem>, path: &Path) -> Result<SegmentDump> {
    let file = fs.open(path, false).ctx("open", path)?;
    let data = Bytes::from(env::read_to_end(file.as_ref()).ctx("read", path)?);
    let header = decode_header(path, &data)?;
    let mut cursor = Cursor::new(&header);
    let mut entries = Vec::new();
    let end = loop {
        match cursor.next(&data) {
            Step::Record {
                offset,
                zxid,
                payload,
            } => entries.push((
                offset,
                Entry {
                    zxid,
                    payload: data.slice(payload.0..payload.1),
                },
            )),
            Step::End(end) => break end,
        }
    };
    Ok(SegmentDump {
        path: path.to_owned(),
        header,
        entries,
        end,
        file_len: data.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::super::format::encode_record;
    use super::*;

    fn segment(records: &[(Zxid, &[u8])], prev: Zxid) -> Vec<u8> {
        let header = SegmentHeader {
            first_zxid: records[0].0,
            prev_zxid: prev,
        };
        let mut data = header.encode().to_vec();
        for (z, p) in records {
            encode_record(&mut data, *z, p);
        }
        data
    }

    fn walk(data: &[u8]) -> (Vec<Zxid>, ScanEnd) {
        let header = SegmentHeader::decode(data).unwrap();
        let mut cursor = Cursor::new(&header);
        let mut zxids = Vec::new();
        loop {
            match cursor.next(data) {
                Step::Record { zxid, .. } => zxids.push(zxid),
                Step::End(end) => return (zxids, end),
            }
        }
    }

    #[test]
    fn walk_ends_cleanly_or_at_zero_padding() {
        let mut data = segment(&[(1, b"a"), (2, b"bb"), (3, b"")], 0);
        assert_eq!(walk(&data), (vec![1, 2, 3], ScanEnd::Clean));
        data.extend_from_slice(&[0; 100]);
        assert_eq!(walk(&data), (vec![1, 2, 3], ScanEnd::ZeroTail));
        data.push(1);
        let (zxids, end) = walk(&data);
        assert_eq!(zxids, vec![1, 2, 3]);
        assert!(matches!(
            end,
            ScanEnd::Bad {
                kind: Corruption::Garbage,
                ..
            }
        ));
    }

    #[test]
    fn walk_rejects_order_and_first_record_mismatch() {
        let data = segment(&[(5, b"a"), (5, b"b")], 0);
        let (zxids, end) = walk(&data);
        assert_eq!(zxids, vec![5]);
        assert_eq!(
            end,
            ScanEnd::Bad {
                offset: (HEADER_LEN + 17) as u64,
                kind: Corruption::ZxidOutOfOrder { prev: 5, zxid: 5 }
            }
        );
        let mut data = segment(&[(5, b"a")], 0);
        data[16..24].copy_from_slice(&4i64.to_be_bytes()); // header says first is 4
        let crc = crc32c::crc32c(&data[..36]);
        data[36..40].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            walk(&data).1,
            ScanEnd::Bad {
                kind: Corruption::FirstZxidMismatch {
                    expected: 4,
                    found: 5
                },
                ..
            }
        ));
    }

    #[test]
    fn walk_rejects_gaps_inside_a_segment_but_not_at_its_start() {
        let data = segment(&[(5, b"a"), (7, b"b")], 0);
        assert!(matches!(
            walk(&data).1,
            ScanEnd::Bad {
                kind: Corruption::ZxidGap { prev: 5, zxid: 7 },
                ..
            }
        ));
        let next_epoch = crate::zxid::make(1, 1);
        let data = segment(&[(5, b"a"), (6, b"b"), (next_epoch, b"c")], 2);
        assert_eq!(walk(&data), (vec![5, 6, next_epoch], ScanEnd::Clean));
    }

    #[test]
    fn finds_valid_records_after_damage() {
        let data = segment(&[(1, b"aaaa"), (2, b"bbbb"), (3, b"cccc")], 0);
        let second = (HEADER_LEN + 20) as u64;
        let third = second + 20;
        assert_eq!(
            find_valid_record_after(&data, HEADER_LEN as u64, 0),
            Some(second)
        );
        assert_eq!(find_valid_record_after(&data, second, 1), Some(third));
        assert_eq!(find_valid_record_after(&data, third, 2), None);
        // Records at or below `prev` do not count.
        assert_eq!(find_valid_record_after(&data, second, 3), None);
    }
}
