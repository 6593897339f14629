//! Reading records by key while the log is open and appending (a leader sending a
//! lagging follower what it lacks). [`LogReader`] shares the log's offset index: a
//! range of keys becomes one positional read per segment through the file-system env,
//! and every record read is checked (checksum, key) before it is returned.

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::format::{decode_record, Decoded};
use super::index::{LogIndex, SegmentIndex};
use super::Entry;
use crate::env::{self, FileSystem};
use crate::error::{Corruption, Error, IoContext, Result};
use crate::zxid::Zxid;

/// A handle for reading a log's durable records; cheap to clone and usable from any
/// thread. It sees a batch once its sync succeeded, and stops seeing records as soon
/// as the log truncates or purges them.
#[derive(Debug, Clone)]
pub struct LogReader {
    fs: Arc<dyn FileSystem>,
    index: Arc<RwLock<LogIndex>>,
}

impl LogReader {
    pub(crate) fn new(fs: Arc<dyn FileSystem>, index: Arc<RwLock<LogIndex>>) -> Self {
        LogReader { fs, index }
    }

    /// The first durable key in the log, if any.
    pub fn first_zxid(&self) -> Option<Zxid> {
        self.index.read().first_key()
    }

    /// The last durable key in the log, if any.
    pub fn last_zxid(&self) -> Option<Zxid> {
        self.index.read().last_key()
    }

    /// The durable records whose keys are in `range`, in order (keys the log does not
    /// hold — purged, not yet synced, skipped — are simply absent).
    ///
    /// The index stays read-locked during the file reads, so a truncation or purge
    /// waits for them rather than removing bytes under them.
    pub fn read(&self, range: impl RangeBounds<Zxid>) -> Result<Vec<Entry>> {
        let lo = match range.start_bound() {
            Bound::Included(k) => *k,
            Bound::Excluded(k) => k.saturating_add(1),
            Bound::Unbounded => Zxid::MIN,
        };
        let hi = match range.end_bound() {
            Bound::Included(k) => k.saturating_add(1),
            Bound::Excluded(k) => *k,
            Bound::Unbounded => Zxid::MAX,
        };
        let mut out = Vec::new();
        if lo >= hi {
            return Ok(out);
        }
        let index = self.index.read();
        for seg in &index.segments {
            let (start, end) = (seg.lower_bound(lo), seg.lower_bound(hi));
            if start < end {
                self.read_positions(seg, start, end, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Reads the records at positions `start..end` of one segment in one read.
    fn read_positions(
        &self,
        seg: &SegmentIndex,
        start: usize,
        end: usize,
        out: &mut Vec<Entry>,
    ) -> Result<()> {
        let path = seg.path();
        let base = seg.offset(start);
        let mut buf = vec![0u8; (seg.offset(end) - base) as usize];
        let file = self.fs.open(path, false).ctx("open", path)?;
        env::read_exact_at(file.as_ref(), &mut buf, base).ctx("read", path)?;
        let data = Bytes::from(buf);
        let mut pos = 0;
        for p in start..end {
            let expected = seg.key_at(p);
            match decode_record(&data, pos) {
                Decoded::Record { zxid, payload } if zxid == expected => {
                    out.push(Entry::new(zxid, data.slice(payload.0..payload.1)));
                    pos = payload.1;
                }
                Decoded::Record { zxid, .. } => {
                    let kind = Corruption::UnexpectedKey {
                        expected,
                        found: zxid,
                    };
                    return Err(corrupt(path, base + pos as u64, kind));
                }
                Decoded::Bad(kind) => return Err(corrupt(path, base + pos as u64, kind)),
                Decoded::End | Decoded::Zero => {
                    return Err(corrupt(path, base + pos as u64, Corruption::Garbage))
                }
            }
        }
        Ok(())
    }
}

fn corrupt(path: &Path, offset: u64, kind: Corruption) -> Error {
    Error::CorruptLog {
        path: path.to_owned(),
        offset,
        kind,
    }
}
