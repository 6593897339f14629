//! Opening a log directory: read every segment, decide what is a torn tail (repaired,
//! and reported) and what is corruption (an error naming the file and offset, unless
//! the operator chose [`RecoveryMode::TruncateAtFirstCorruption`]), and then replay the
//! entries after a snapshot's zxid.
//!
//! The rules:
//! - Only the **last** segment can have a torn tail: every earlier one was fsynced
//!   before the next was created. Its tail is torn when the walk stops at a partial
//!   record, a bad checksum, an impossible length or non-record bytes, **and no record
//!   that verifies follows**. Zero bytes to the end of a file are unused preallocation,
//!   not damage. A last segment without one complete record (a crash while creating
//!   it) is removed.
//! - Anything else is corruption: damage followed by a valid record, damage in an
//!   earlier segment, a bad header, records out of order, a segment whose header does
//!   not continue from the previous segment's last zxid (a missing segment).

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::format::{is_zero, parse_segment_name, SegmentHeader, HEADER_LEN};
use super::index::{LogIndex, SegmentIndex};
use super::reader::{decode_header, find_valid_record_after, Cursor, ScanEnd, Step};
use crate::env::{self, FileSystem};
use crate::error::{Corruption, Error, IoContext, Result};
use crate::options::{LogOptions, RecoveryMode};
use crate::zxid::Zxid;
use crate::Entry;

/// One segment as recovery found (and possibly repaired) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub path: PathBuf,
    /// The zxid in the name and header (the first record's).
    pub first_zxid: Zxid,
    /// The last zxid of the segment before it, from the header.
    pub prev_zxid: Zxid,
    /// The last record's zxid (`prev_zxid` if it has none).
    pub last_zxid: Zxid,
    pub records: u64,
    /// Bytes of header and records; the file is no longer than this, or only by zeros.
    pub len: u64,
}

/// Something recovery changed on disk. Each one deserves a log line.
#[derive(Debug, Clone)]
pub enum Repair {
    /// The last segment ended in a torn write, cut off at `offset`.
    TornTail {
        path: PathBuf,
        offset: u64,
        /// Bytes of the torn write that were cut (up to the last non-zero byte:
        /// preallocated zero padding is not counted).
        dropped_bytes: u64,
        /// What was found at `offset`.
        kind: Corruption,
    },
    /// The last segment held no complete record (a crash while it was being created)
    /// and was removed.
    RemovedIncompleteSegment {
        path: PathBuf,
        /// Non-zero bytes it held.
        dropped_bytes: u64,
    },
    /// [`RecoveryMode::TruncateAtFirstCorruption`]: the log was cut where `error` says.
    /// Entries after that point are gone from the log.
    TruncatedAtCorruption {
        /// The error a strict open would have returned.
        error: Error,
        /// A copy of the damaged segment as it was, if one was damaged.
        saved_copy: Option<PathBuf>,
        /// Later segments, renamed to `<name>.discarded`.
        discarded: Vec<PathBuf>,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repair::TornTail {
                path,
                offset,
                dropped_bytes,
                kind,
            } => write!(
                f,
                "truncated torn tail of {} at offset {offset}: dropped {dropped_bytes} bytes ({kind})",
                path.display()
            ),
            Repair::RemovedIncompleteSegment {
                path,
                dropped_bytes,
            } => write!(
                f,
                "removed {} holding no complete record: dropped {dropped_bytes} bytes",
                path.display()
            ),
            Repair::TruncatedAtCorruption {
                error,
                saved_copy,
                discarded,
            } => {
                write!(f, "WARNING: log truncated at corruption: {error}")?;
                if let Some(copy) = saved_copy {
                    write!(f, "; damaged segment saved as {}", copy.display())?;
                }
                if !discarded.is_empty() {
                    write!(f, "; {} later segment(s) renamed *.discarded", discarded.len())?;
                }
                Ok(())
            }
        }
    }
}

impl Repair {
    /// Bytes of log data this repair dropped (0 for a truncation at corruption, whose
    /// loss is in whole entries: see its error).
    pub fn dropped_bytes(&self) -> u64 {
        match self {
            Repair::TornTail { dropped_bytes, .. }
            | Repair::RemovedIncompleteSegment { dropped_bytes, .. } => *dropped_bytes,
            Repair::TruncatedAtCorruption { .. } => 0,
        }
    }
}

/// What [`crate::Log::open`] found: the segments, the repairs, and the way to replay.
#[derive(Debug)]
pub struct Recovery {
    fs: Arc<dyn FileSystem>,
    segments: Vec<SegmentInfo>,
    repairs: Vec<Repair>,
}

impl Recovery {
    /// The segments, oldest first.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// What was changed on disk, in order.
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// Total bytes dropped by torn-tail repairs.
    pub fn dropped_bytes(&self) -> u64 {
        self.repairs.iter().map(Repair::dropped_bytes).sum()
    }

    /// The last zxid in the log (0 if it is empty).
    pub fn last_zxid(&self) -> Zxid {
        self.segments.last().map_or(0, |s| s.last_zxid)
    }

    /// The entries with a zxid above `after` (a snapshot's zxid; 0 for all), oldest
    /// first. Fails with [`Error::LogTooShort`] if the log no longer reaches back to
    /// `after` (the entries just after it were purged or lost). If `after` is beyond
    /// the end of the log the replay is empty.
    ///
    /// The files are read again, one segment at a time, and verified again.
    pub fn entries_after(&self, after: Zxid) -> Result<Replay> {
        if let Some(oldest) = self.segments.first() {
            if oldest.prev_zxid > after {
                return Err(Error::LogTooShort {
                    after,
                    oldest: oldest.path.clone(),
                    oldest_prev: oldest.prev_zxid,
                });
            }
        }
        Ok(Replay {
            fs: self.fs.clone(),
            pending: self
                .segments
                .iter()
                .filter(|s| s.last_zxid > after)
                .cloned()
                .rev()
                .collect(),
            after,
            current: None,
            failed: false,
        })
    }
}

/// The entries after a zxid, in order, read from the segments lazily.
#[derive(Debug)]
pub struct Replay {
    fs: Arc<dyn FileSystem>,
    /// Segments still to read, the next one last.
    pending: Vec<SegmentInfo>,
    after: Zxid,
    current: Option<(SegmentInfo, Bytes, Cursor)>,
    failed: bool,
}

impl Replay {
    fn load(&self, info: &SegmentInfo) -> Result<(Bytes, Cursor)> {
        let file = self.fs.open(&info.path, false).ctx("open", &info.path)?;
        // Only what recovery found valid, not the preallocated zeros after it.
        let data = env::read_prefix(file.as_ref(), info.len).ctx("read", &info.path)?;
        if (data.len() as u64) < info.len {
            return Err(Error::CorruptLog {
                path: info.path.clone(),
                offset: data.len() as u64,
                kind: Corruption::TruncatedRecord,
            });
        }
        let header = decode_header(&info.path, &data)?;
        Ok((Bytes::from(data), Cursor::new(&header)))
    }

    fn step(&mut self) -> Option<Result<Entry>> {
        loop {
            if self.current.is_none() {
                let info = self.pending.pop()?;
                match self.load(&info) {
                    Ok((data, cursor)) => self.current = Some((info, data, cursor)),
                    Err(e) => return Some(Err(e)),
                }
            }
            let (info, data, cursor) = self.current.as_mut().expect("loaded above");
            match cursor.next(data) {
                Step::Record { zxid, payload, .. } => {
                    if zxid > self.after {
                        return Some(Ok(Entry {
                            zxid,
                            payload: data.slice(payload.0..payload.1),
                        }));
                    }
                }
                Step::End(ScanEnd::Clean) => self.current = None,
                Step::End(ScanEnd::ZeroTail) => {
                    let offset = cursor.pos();
                    return Some(Err(Error::CorruptLog {
                        path: info.path.clone(),
                        offset,
                        kind: Corruption::Garbage,
                    }));
                }
                Step::End(ScanEnd::Bad { offset, kind }) => {
                    return Some(Err(Error::CorruptLog {
                        path: info.path.clone(),
                        offset,
                        kind,
                    }))
                }
            }
        }
    }
}

impl Iterator for Replay {
    type Item = Result<Entry>;

    /// The next entry; after an error (a file changed since recovery), nothing more.
    fn next(&mut self) -> Option<Result<Entry>> {
        if self.failed {
            return None;
        }
        let item = self.step();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

/// Reads and repairs the segments of `dir`, and indexes their records.
pub(crate) fn recover(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    opts: &LogOptions,
) -> Result<(Recovery, LogIndex)> {
    let mut names: Vec<(Zxid, String)> = fs
        .list_dir(dir)
        .ctx("list", dir)?
        .into_iter()
        .filter_map(|name| parse_segment_name(&name).map(|z| (z, name)))
        .collect();
    names.sort();
    let paths: Vec<(Zxid, PathBuf)> = names.into_iter().map(|(z, n)| (z, dir.join(n))).collect();
    let mut r = Recoverer {
        fs,
        opts,
        segments: Vec::new(),
        index: LogIndex::default(),
        repairs: Vec::new(),
        changed_dir: false,
    };
    for (i, (name_zxid, path)) in paths.iter().enumerate() {
        let is_last = i + 1 == paths.len();
        let later = &paths[i + 1..];
        if r.segment(*name_zxid, path, is_last, later)?.is_break() {
            break;
        }
    }
    r.remove_empty_last_segments()?;
    if r.changed_dir {
        fs.sync_dir(dir).ctx("fsync", dir)?;
    }
    let recovery = Recovery {
        fs: fs.clone(),
        segments: r.segments,
        repairs: r.repairs,
    };
    Ok((recovery, r.index))
}

struct Recoverer<'a> {
    fs: &'a Arc<dyn FileSystem>,
    opts: &'a LogOptions,
    segments: Vec<SegmentInfo>,
    /// The records of `segments`, kept in step with them.
    index: LogIndex,
    repairs: Vec<Repair>,
    changed_dir: bool,
}

impl Recoverer<'_> {
    /// Checks (and maybe repairs) one segment. `Break` stops at a truncation.
    fn segment(
        &mut self,
        name_zxid: Zxid,
        path: &Path,
        is_last: bool,
        later: &[(Zxid, PathBuf)],
    ) -> Result<ControlFlow<()>> {
        let (data, file_len) = self.read_segment(path)?;
        let header = match decode_header(path, &data) {
            Ok(h) => h,
            Err(e @ Error::UnsupportedVersion { .. }) => return Err(e),
            Err(_) if is_last && (data.len() < HEADER_LEN || is_zero(&data)) => {
                self.remove_incomplete(path, &data)?;
                return Ok(ControlFlow::Break(()));
            }
            Err(e) => return self.corruption(e, path, Cut::damaged(&data, 0, None), later),
        };
        let corrupt = |offset, kind| Error::CorruptLog {
            path: path.to_owned(),
            offset,
            kind,
        };
        if header.first_zxid != name_zxid {
            let kind = Corruption::NameMismatch {
                name: name_zxid,
                header: header.first_zxid,
            };
            let cut = Cut::damaged(&data, 0, None);
            return self.corruption(corrupt(0, kind), path, cut, later);
        }
        if let Some(prev) = self.segments.last() {
            if header.prev_zxid != prev.last_zxid {
                let error = Error::MissingSegment {
                    path: path.to_owned(),
                    previous: Some(prev.path.clone()),
                    expected_prev: header.prev_zxid,
                    previous_last: prev.last_zxid,
                };
                // Nothing in this segment is damaged; it just cannot follow.
                return self.corruption(error, path, Cut::Whole, later);
            }
        }

        let mut cursor = Cursor::new(&header);
        let mut seg_index = SegmentIndex::new(path.to_owned());
        let end = loop {
            match cursor.next(&data) {
                Step::Record {
                    offset,
                    zxid,
                    payload,
                } => seg_index.push(zxid, offset, payload.1 as u64),
                Step::End(end) => break end,
            }
        };
        let records = seg_index.len() as u64;
        let good_len = cursor.pos();
        let info = SegmentInfo {
            path: path.to_owned(),
            first_zxid: header.first_zxid,
            prev_zxid: header.prev_zxid,
            last_zxid: cursor.prev(),
            records,
            len: good_len,
        };
        let kept = (info, seg_index);
        match end {
            ScanEnd::Clean | ScanEnd::ZeroTail if records == 0 && is_last => {
                self.remove_incomplete(path, &data)?;
                Ok(ControlFlow::Break(()))
            }
            ScanEnd::Clean | ScanEnd::ZeroTail => {
                if is_last && file_len > good_len {
                    // Release the unused preallocation: the next append starts a new
                    // segment, so this one is finished.
                    self.truncate(path, good_len)?;
                }
                self.keep(kept);
                Ok(ControlFlow::Continue(()))
            }
            ScanEnd::Bad { offset, kind } => {
                // Damaged bytes may be a torn write; a record that verifies but is out
                // of place (order, gap, wrong first zxid) never is.
                let tearable = matches!(
                    kind,
                    Corruption::TruncatedRecord
                        | Corruption::BadChecksum
                        | Corruption::BadLength { .. }
                        | Corruption::Garbage
                );
                let follows = if tearable {
                    find_valid_record_after(&data, offset, cursor.prev())
                } else {
                    None
                };
                if is_last && tearable && follows.is_none() {
                    let dropped_bytes = nonzero_extent(&data[offset as usize..]);
                    if records == 0 {
                        self.remove_incomplete(path, &data)?;
                    } else {
                        self.truncate(path, offset)?;
                        self.keep(kept);
                        self.repairs.push(Repair::TornTail {
                            path: path.to_owned(),
                            offset,
                            dropped_bytes,
                            kind,
                        });
                    }
                    return Ok(ControlFlow::Break(()));
                }
                let kind = match follows {
                    Some(next_offset) => Corruption::ValidRecordFollows {
                        bad: Box::new(kind),
                        next_offset,
                    },
                    None => kind,
                };
                let error = corrupt(offset, kind);
                // Keep the good prefix if the operator asked to truncate.
                let keep = (records > 0).then_some(kept);
                self.corruption(error, path, Cut::damaged(&data, offset, keep), later)
            }
        }
    }

    /// A segment's bytes to judge, and the file's length. A last segment is mostly
    /// preallocated zeros; when the bytes up to its last non-zero one (and a margin for
    /// a last record whose payload ends in zeros) scan cleanly, they are all recovery
    /// needs — more zeros would only extend a clean end — so the rest is not read into
    /// memory. Anything else is judged on the whole file, exactly as before.
    fn read_segment(&self, path: &Path) -> Result<(Vec<u8>, u64)> {
        const TRAILING_ZEROS_MARGIN: u64 = 1 << 20;
        let file = self.fs.open(path, false).ctx("open", path)?;
        let file_len = file.size().ctx("stat", path)?;
        let written = env::written_len(file.as_ref()).ctx("read", path)?;
        let prefix = (written + TRAILING_ZEROS_MARGIN).max(HEADER_LEN as u64);
        if prefix < file_len {
            let data = env::read_prefix(file.as_ref(), prefix).ctx("read", path)?;
            if scans_cleanly(&data) {
                return Ok((data, file_len));
            }
        }
        let data = env::read_to_end(file.as_ref()).ctx("read", path)?;
        Ok((data, file_len))
    }

    /// Strict mode: the error. Truncate mode: cut the log at the damage, keep a copy of
    /// the damaged segment, set later segments aside, and report it as a repair.
    fn corruption(
        &mut self,
        error: Error,
        path: &Path,
        cut: Cut<'_>,
        later: &[(Zxid, PathBuf)],
    ) -> Result<ControlFlow<()>> {
        if self.opts.recovery == RecoveryMode::Strict {
            return Err(error);
        }
        let mut saved_copy = None;
        let mut discarded = Vec::new();
        match cut {
            Cut::Whole => {
                let to = with_suffix(path, ".discarded");
                self.fs.rename(path, &to).ctx("rename", path)?;
                discarded.push(to);
            }
            Cut::At { data, offset, keep } => {
                let copy = with_suffix(path, ".corrupt");
                self.save_copy(&copy, data)?;
                saved_copy = Some(copy);
                match keep {
                    Some(kept) => {
                        self.truncate(path, offset)?;
                        self.keep(kept);
                    }
                    None => self.fs.remove_file(path).ctx("remove", path)?,
                }
            }
        }
        for (_, later) in later {
            let to = with_suffix(later, ".discarded");
            self.fs.rename(later, &to).ctx("rename", later)?;
            discarded.push(to);
        }
        self.changed_dir = true;
        self.repairs.push(Repair::TruncatedAtCorruption {
            error,
            saved_copy,
            discarded,
        });
        Ok(ControlFlow::Break(()))
    }

    fn save_copy(&self, copy: &Path, data: &[u8]) -> Result<()> {
        // A copy left by an earlier run is replaced.
        match self.fs.remove_file(copy) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("remove", copy, e))
            }
            _ => {}
        }
        let file = self.fs.create_new(copy).ctx("create", copy)?;
        env::write_all_at(file.as_ref(), data, 0).ctx("write", copy)?;
        file.sync_all().ctx("fsync", copy)
    }

    /// A last segment without a complete record: remove it.
    fn remove_incomplete(&mut self, path: &Path, data: &[u8]) -> Result<()> {
        self.fs.remove_file(path).ctx("remove", path)?;
        self.changed_dir = true;
        self.repairs.push(Repair::RemovedIncompleteSegment {
            path: path.to_owned(),
            dropped_bytes: nonzero_extent(data),
        });
        Ok(())
    }

    /// Removes the segments without a record at the end of the log. Removing an
    /// incomplete last segment, or setting damaged ones aside, can leave one that holds
    /// only its header (which no writer leaves behind) last; the next open would remove
    /// it then, and recovery must leave nothing for the next open to repair.
    fn remove_empty_last_segments(&mut self) -> Result<()> {
        while let Some(info) = self.segments.pop_if(|s| s.records == 0) {
            let file = self.fs.open(&info.path, false).ctx("open", &info.path)?;
            let data = env::read_prefix(file.as_ref(), info.len).ctx("read", &info.path)?;
            drop(file);
            self.remove_incomplete(&info.path, &data)?;
        }
        Ok(())
    }

    /// Cuts a segment to `len` bytes, durably.
    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        env::cut_file(self.fs.as_ref(), path, len)
    }

    /// Accepts a segment (or the good prefix of one) into the log.
    fn keep(&mut self, (info, seg_index): (SegmentInfo, SegmentIndex)) {
        self.segments.push(info);
        if self.opts.index_records {
            self.index.segments.push(seg_index);
        }
    }
}

/// Where truncate mode cuts the log.
enum Cut<'a> {
    /// This whole (undamaged) segment and everything after it are set aside.
    Whole,
    /// The segment is cut at `offset`, keeping `keep` (or removed if it keeps nothing).
    At {
        data: &'a [u8],
        offset: u64,
        keep: Option<(SegmentInfo, SegmentIndex)>,
    },
}

impl<'a> Cut<'a> {
    fn damaged(data: &'a [u8], offset: u64, keep: Option<(SegmentInfo, SegmentIndex)>) -> Self {
        Cut::At { data, offset, keep }
    }
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Whether `data` holds a segment header and records up to a clean end.
fn scans_cleanly(data: &[u8]) -> bool {
    let Ok(header) = SegmentHeader::decode(data) else {
        return false;
    };
    let mut cursor = Cursor::new(&header);
    loop {
        match cursor.next(data) {
            Step::Record { .. } => {}
            Step::End(ScanEnd::Clean | ScanEnd::ZeroTail) => return true,
            Step::End(ScanEnd::Bad { .. }) => return false,
        }
    }
}

/// How many bytes up to and including the last non-zero one.
fn nonzero_extent(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i as u64 + 1)
}
