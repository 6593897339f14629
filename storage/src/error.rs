//! The crate's one error type. Every variant that concerns a file names it, and
//! corruption names the byte offset too, so an operator can look at the right place.
//! Errors are `Clone` (I/O errors are shared behind an `Arc`) because group commit
//! hands the same failure to every producer of a batch.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::zxid::Zxid;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A system call failed. `op` says which (`"write"`, `"fdatasync"`, ...).
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: Arc<io::Error>,
    },

    /// A log segment's bytes are not what the log wrote, before its torn tail (or in
    /// a place that cannot be a torn tail).
    #[error("corrupt log segment {} at offset {offset}: {kind}", path.display())]
    CorruptLog {
        path: PathBuf,
        offset: u64,
        kind: Corruption,
    },

    /// A segment's header says it follows a zxid that the previous segment does not
    /// end with: a segment is missing (or the wrong one is there).
    #[error(
        "log segment missing before {} (or the end of the previous one lost): it \
         continues from zxid {expected_prev:#x}, but the previous segment{} ends at \
         zxid {previous_last:#x}",
        path.display(),
        previous.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
    )]
    MissingSegment {
        path: PathBuf,
        previous: Option<PathBuf>,
        expected_prev: Zxid,
        previous_last: Zxid,
    },

    /// Replay was asked to start after a zxid that the log no longer reaches back to.
    #[error(
        "the log cannot replay from zxid {after:#x}: its oldest segment {} starts after \
         zxid {oldest_prev:#x}",
        oldest.display()
    )]
    LogTooShort {
        after: Zxid,
        oldest: PathBuf,
        oldest_prev: Zxid,
    },

    /// A snapshot file failed verification.
    #[error("invalid snapshot {} at offset {offset}: {kind}", path.display())]
    CorruptSnapshot {
        path: PathBuf,
        offset: u64,
        kind: Corruption,
    },

    /// A state file ([`crate::state_file`]) failed verification.
    #[error("invalid state file {}: {kind}", path.display())]
    CorruptStateFile { path: PathBuf, kind: Corruption },

    /// Snapshots exist but none of them verifies: there is nothing safe to start from.
    #[error("no valid snapshot: {}", list_invalid(invalid))]
    NoValidSnapshot { invalid: Vec<Error> },

    /// A file of a newer (or unknown) format version.
    #[error("{}: unsupported format version {version}", path.display())]
    UnsupportedVersion { path: PathBuf, version: u32 },

    /// An appended entry's zxid is not greater than the one before it.
    #[error("zxid {zxid:#x} does not follow zxid {last:#x}: zxids must strictly increase")]
    ZxidNotIncreasing { zxid: Zxid, last: Zxid },

    /// An entry skips zxids in the middle of a batch (a batch may only skip before its
    /// first entry, which then starts a new segment).
    #[error("zxid {zxid:#x} skips zxids after {last:#x} in the middle of a batch")]
    ZxidGap { zxid: Zxid, last: Zxid },

    /// Zxid zero (or a negative one) cannot be logged.
    #[error("zxid {0:#x} is not a valid transaction id")]
    InvalidZxid(Zxid),

    /// An entry bigger than [`crate::LogOptions::max_entry_size`].
    #[error("entry {zxid:#x} is {len} bytes, more than the limit of {max}")]
    EntryTooLarge { zxid: Zxid, len: usize, max: u32 },

    /// A batch failed (`write`), and cutting it back off the segment failed too
    /// (`cut`): the file may hold bytes that were never acknowledged.
    #[error("{write}; the failed batch could not be cut back from the log: {cut}")]
    CutBack { write: Box<Error>, cut: Box<Error> },

    /// Truncation and purge by key need the log opened with `index_records`.
    #[error("the log keeps no index of its records (open it with index_records)")]
    Unindexed,

    /// An earlier failure left the log's files in a state it could not repair; it
    /// accepts nothing until it is reopened (and recovery decides what is on disk).
    #[error("the log is unusable after an earlier failure (reopen it): {cause}")]
    Poisoned { cause: Arc<Error> },

    /// Group commit refuses work after a failed batch until the producer calls
    /// [`crate::GroupCommit::resume`].
    #[error("an earlier batch failed; commit halted until resumed: {cause}")]
    Halted { cause: Arc<Error> },

    /// The group-commit writer thread is gone.
    #[error("the log writer has stopped")]
    Closed,

    /// Another process (or `Log`) holds the directory.
    #[error("{} is locked by another user of the directory", path.display())]
    Locked { path: PathBuf },
}

fn list_invalid(invalid: &[Error]) -> String {
    invalid
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What exactly is wrong at a corrupt offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// The file does not start with the expected magic.
    BadMagic,
    /// The header's checksum does not match.
    BadHeaderChecksum,
    /// The file is shorter than its header.
    TruncatedHeader,
    /// The zxid in the file name differs from the one in the header.
    NameMismatch { name: Zxid, header: Zxid },
    /// A record's checksum does not match its zxid and payload.
    BadChecksum,
    /// A record claims more bytes than the file (or the size limit) has.
    BadLength { len: u64 },
    /// The file ends inside a record.
    TruncatedRecord,
    /// A record's zxid does not exceed the previous one.
    ZxidOutOfOrder { prev: Zxid, zxid: Zxid },
    /// Zxids are missing between two records of one segment (within a segment each
    /// record is the next counter of its epoch, or starts a later epoch).
    ZxidGap { prev: Zxid, zxid: Zxid },
    /// The first record is not the zxid the segment is named after.
    FirstZxidMismatch { expected: Zxid, found: Zxid },
    /// A record read by key holds another key than the index says is there (the file
    /// changed under the log).
    UnexpectedKey { expected: Zxid, found: Zxid },
    /// Bytes where a record should start that are not one (and are not the zero
    /// padding of preallocated space).
    Garbage,
    /// A valid record was found after the bad bytes, so they cannot be a torn tail.
    ValidRecordFollows {
        bad: Box<Corruption>,
        next_offset: u64,
    },
    /// The snapshot's trailer is missing or damaged (an unfinished file).
    BadTrailer,
    /// The snapshot's content checksum does not match.
    BadContentChecksum,
    /// The snapshot's content does not decompress.
    BadCompression(String),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::BadMagic => write!(f, "bad magic"),
            Corruption::BadHeaderChecksum => write!(f, "header checksum mismatch"),
            Corruption::TruncatedHeader => write!(f, "file shorter than its header"),
            Corruption::NameMismatch { name, header } => write!(
                f,
                "file name says zxid {name:#x} but the header says {header:#x}"
            ),
            Corruption::BadChecksum => write!(f, "record checksum mismatch"),
            Corruption::BadLength { len } => write!(f, "impossible record length {len}"),
            Corruption::TruncatedRecord => write!(f, "file ends inside a record"),
            Corruption::ZxidOutOfOrder { prev, zxid } => {
                write!(f, "zxid {zxid:#x} after zxid {prev:#x}")
            }
            Corruption::ZxidGap { prev, zxid } => {
                write!(f, "zxids missing between {prev:#x} and {zxid:#x}")
            }
            Corruption::FirstZxidMismatch { expected, found } => write!(
                f,
                "first record has zxid {found:#x}, the segment is named {expected:#x}"
            ),
            Corruption::UnexpectedKey { expected, found } => write!(
                f,
                "record has zxid {found:#x} where the log's index expects {expected:#x}"
            ),
            Corruption::Garbage => write!(f, "bytes that are not a record"),
            Corruption::ValidRecordFollows { bad, next_offset } => write!(
                f,
                "{bad}, followed by a valid record at offset {next_offset} \
                 (damage before the tail, not a torn write)"
            ),
            Corruption::BadTrailer => write!(f, "missing or damaged trailer (unfinished file?)"),
            Corruption::BadContentChecksum => write!(f, "content checksum mismatch"),
            Corruption::BadCompression(e) => write!(f, "content does not decompress: {e}"),
        }
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Whether the root cause is a full disk (`ENOSPC`, or `EDQUOT` for a quota).
    pub fn is_no_space(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::ENOSPC) | Some(libc::EDQUOT)
            ),
            Error::Poisoned { cause } | Error::Halted { cause } => cause.is_no_space(),
            Error::CutBack { write, .. } => write.is_no_space(),
            _ => false,
        }
    }

    /// Whether the error reports damaged data (as opposed to failing I/O or misuse).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::CorruptLog { .. }
                | Error::MissingSegment { .. }
                | Error::CorruptSnapshot { .. }
                | Error::CorruptStateFile { .. }
                | Error::NoValidSnapshot { .. }
                | Error::LogTooShort { .. }
        )
    }
}

/// Attaches an operation and a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}
