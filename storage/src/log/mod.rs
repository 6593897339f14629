//! The transaction log: append entries, make them durable with one sync per batch,
//! roll segments, and survive failures without ever claiming a failed batch.
//!
//! - [`mod@format`]: the bytes of a segment (header, records, file name);
//! - `writer`: the segment being appended to (preallocation, writes, sealing);
//! - [`reader`]: walking a segment's records;
//! - [`recovery`]: opening a directory, torn-tail repair, corruption errors, replay;
//! - `index`: where each durable record is (built by recovery, extended by each sync);
//! - `range_read`: [`LogReader`], durable records by key from any thread;
//! - `trim`: [`Log::truncate_after`] (cut the suffix) and [`Log::purge_through`]
//!   (delete whole old segments).
//!
//! # Durability and failure semantics
//!
//! [`Log::append`] only encodes entries into memory. [`Log::sync`] writes everything
//! appended since the last sync to the current segment in one write and
//! `fdatasync`s it (unless `force_sync` is off); when it returns `Ok` the entries are
//! durable and [`Log::durable_zxid`] covers them.
//!
//! When a sync fails (`ENOSPC` while preallocating or writing, a short write, a failed
//! `fdatasync`), the whole batch fails and is **removed**: the segment is cut back to
//! its last durable byte and fsynced (a segment created for the batch is deleted), the
//! buffered entries are dropped, and [`Log::last_zxid`] goes back to
//! [`Log::durable_zxid`], so the caller may reuse those zxids. The next batch starts a
//! new segment: the log never writes again into a file whose writeback failed (after a
//! failed fsync the kernel may have dropped the dirty pages). Once space returns, syncs
//! succeed again.
//!
//! If that clean-up itself fails, the log is **poisoned**: every call fails with
//! [`Error::Poisoned`] until the `Log` is dropped and reopened, and then recovery
//! decides from the disk what survived (the failed batch may or may not be there, and
//! it was never acknowledged as durable).
//!
//! Dropping a `Log` discards entries appended but not synced.

pub mod format;
mod index;
mod range_read;
pub mod reader;
pub mod recovery;
mod trim;
mod writer;

use std::any::Any;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::env::{FileSystem, StdFileSystem};
use crate::error::{Error, IoContext, Result};
use crate::options::LogOptions;
use crate::zxid::{follows, Zxid};
use format::{encode_record, HEADER_LEN};
use index::LogIndex;
pub use range_read::LogReader;
pub use recovery::{Recovery, Repair, Replay, SegmentInfo};
use writer::ActiveSegment;

/// The lock file a `Log` holds in its directory, so two processes (or two `Log`s)
/// never append to the same log.
pub const LOCK_FILE: &str = "log.lock";

/// One transaction: opaque bytes tagged with its zxid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub zxid: Zxid,
    pub payload: Bytes,
}

impl Entry {
    pub fn new(zxid: Zxid, payload: impl Into<Bytes>) -> Self {
        Entry {
            zxid,
            payload: payload.into(),
        }
    }
}

/// An append-only transaction log in one directory (`dataLogDir`).
#[derive(Debug)]
pub struct Log {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    opts: LogOptions,
    /// The segment batches go to; `None` until the next batch creates one.
    active: Option<ActiveSegment>,
    /// Records appended since the last sync, encoded.
    pending: Vec<u8>,
    /// The key of each pending record and where it starts in `pending`.
    pending_keys: Vec<(Zxid, usize)>,
    /// The pending batch skips zxids after the last batch, so it starts a new segment
    /// (whose header records the skip).
    pending_skips: bool,
    last_zxid: Zxid,
    durable_zxid: Zxid,
    /// Where each durable record is; shared with [`LogReader`]s.
    index: Arc<RwLock<LogIndex>>,
    poisoned: Option<Arc<Error>>,
    _lock: Box<dyn Any + Send + Sync>,
}

impl Log {
    /// Opens (creating if needed) the log in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, opts: LogOptions) -> Result<(Log, Recovery)> {
        Self::open_with_env(Arc::new(StdFileSystem), dir, opts)
    }

    /// Opens the log through `fs`. Recovery runs first: a torn tail is cut (see
    /// [`Recovery::repairs`]), corruption is an error unless `opts.recovery` says
    /// otherwise. The first batch appended goes to a new segment.
    pub fn open_with_env(
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        opts: LogOptions,
    ) -> Result<(Log, Recovery)> {
        let dir = dir.as_ref().to_owned();
        fs.create_dir_all(&dir).ctx("create directory", &dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs.lock(&lock_path).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => Error::Locked {
                path: lock_path.clone(),
            },
            _ => Error::io("lock", &lock_path, e),
        })?;
        let (recovery, index) = recovery::recover(&fs, &dir, &opts)?;
        let last = recovery.last_zxid();
        let log = Log {
            fs,
            dir,
            opts,
            active: None,
            pending: Vec::new(),
            pending_keys: Vec::new(),
            pending_skips: false,
            last_zxid: last,
            durable_zxid: last,
            index: Arc::new(RwLock::new(index)),
            poisoned: None,
            _lock: lock,
        };
        Ok((log, recovery))
    }

    /// Buffers entries for the next [`Log::sync`]. All or nothing: if any entry is
    /// invalid none is taken.
    ///
    /// Zxids must strictly increase, and follow each other without gaps (the next
    /// counter, or a later epoch: [`crate::zxid::follows`]) — except that the first
    /// entry of a batch may skip ahead, which starts a new segment whose header records
    /// the skip. Recovery relies on this to tell lost records from skipped zxids.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        self.check_usable()?;
        let mut last = self.last_zxid;
        let mut skips = false;
        for (i, e) in entries.iter().enumerate() {
            if e.zxid <= 0 {
                return Err(Error::InvalidZxid(e.zxid));
            }
            if e.zxid <= last {
                return Err(Error::ZxidNotIncreasing { zxid: e.zxid, last });
            }
            if !follows(last, e.zxid) {
                if i > 0 || !self.pending_keys.is_empty() {
                    return Err(Error::ZxidGap { zxid: e.zxid, last });
                }
                skips = true;
            }
            let max = self.opts.max_entry_size.min(format::MAX_PAYLOAD_LEN);
            if e.payload.len() > max as usize {
                return Err(Error::EntryTooLarge {
                    zxid: e.zxid,
                    len: e.payload.len(),
                    max,
                });
            }
            last = e.zxid;
        }
        if entries.is_empty() {
            return Ok(());
        }
        if self.pending_keys.is_empty() {
            self.pending_skips = skips;
        }
        for e in entries {
            self.pending_keys.push((e.zxid, self.pending.len()));
            encode_record(&mut self.pending, e.zxid, &e.payload);
        }
        self.last_zxid = last;
        Ok(())
    }

    /// Writes the buffered entries and makes them durable (`fdatasync` unless
    /// `force_sync` is off). Returns the durable zxid. On error none of the buffered
    /// entries is durable; see the module docs for what happens next.
    pub fn sync(&mut self) -> Result<Zxid> {
        self.check_usable()?;
        if self.pending_keys.is_empty() {
            return Ok(self.durable_zxid);
        }
        match self.write_pending() {
            Ok(()) => {
                self.durable_zxid = self.last_zxid;
                self.clear_pending();
                Ok(self.durable_zxid)
            }
            Err(cause) => Err(self.fail(cause)),
        }
    }

    /// Finishes the current segment (releasing its unused preallocation); the next
    /// batch starts a new one. ZooKeeper rolls its log when it takes a snapshot, which
    /// lets purge free whole files sooner.
    pub fn roll(&mut self) -> Result<()> {
        self.check_usable()?;
        self.seal()
    }

    /// Syncs what is buffered and finishes the current segment.
    pub fn close(mut self) -> Result<Zxid> {
        let zxid = self.sync()?;
        self.seal()?;
        Ok(zxid)
    }

    /// The last zxid appended (buffered or durable); the next must be greater.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The last zxid known durable (0 for an empty log).
    pub fn durable_zxid(&self) -> Zxid {
        self.durable_zxid
    }

    /// Entries appended and not yet synced.
    pub fn pending_entries(&self) -> usize {
        self.pending_keys.len()
    }

    /// A handle that reads durable records by key, from any thread, while this log
    /// appends, truncates and purges. It finds only what the index holds: open the log
    /// with [`LogOptions::index_records`].
    pub fn reader(&self) -> LogReader {
        LogReader::new(self.fs.clone(), self.index.clone())
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &LogOptions {
        &self.opts
    }

    /// The segment being appended to, if one is open.
    pub fn active_segment(&self) -> Option<&Path> {
        self.active.as_ref().map(|s| s.path())
    }

    /// The failure that poisoned the log, if it is poisoned.
    pub fn poisoned(&self) -> Option<&Error> {
        self.poisoned.as_deref()
    }

    /// Truncation and purge find records through the index.
    fn check_indexed(&self) -> Result<()> {
        match self.opts.index_records {
            true => Ok(()),
            false => Err(Error::Unindexed),
        }
    }

    fn check_usable(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn clear_pending(&mut self) {
        self.pending.clear();
        self.pending_keys.clear();
        self.pending_skips = false;
    }

    fn write_pending(&mut self) -> Result<()> {
        if self.pending_skips
            || self
                .active
                .as_ref()
                .is_some_and(|s| s.len() >= self.opts.segment_size)
        {
            self.seal()?;
        }
        let seg = match &mut self.active {
            Some(seg) => seg,
            None => self.active.insert(ActiveSegment::create(
                &self.fs,
                &self.dir,
                self.pending_keys[0].0,
                self.durable_zxid,
            )?),
        };
        let created = seg.is_new();
        let base = if created {
            HEADER_LEN as u64
        } else {
            seg.len()
        };
        seg.write(&self.pending, self.opts.prealloc_size)?;
        if self.opts.force_sync {
            seg.sync_data()?;
        }
        if created {
            self.fs.sync_dir(&self.dir).ctx("fsync", &self.dir)?;
        }
        seg.mark_durable();
        if !self.opts.index_records {
            return Ok(());
        }
        let mut index = self.index.write();
        let seg_index = index.segment_mut(seg.path());
        let ends = self.pending_keys.iter().skip(1).map(|k| k.1);
        for (&(key, start), end) in self
            .pending_keys
            .iter()
            .zip(ends.chain([self.pending.len()]))
        {
            seg_index.push(key, base + start as u64, base + end as u64);
        }
        Ok(())
    }

    /// Finishes the active segment. A failure here poisons the log: it can no longer
    /// vouch for what that file holds.
    fn seal(&mut self) -> Result<()> {
        let Some(mut seg) = self.active.take() else {
            return Ok(());
        };
        seg.truncate_to_durable().map_err(|e| self.poison(e))
    }

    /// Undoes a failed batch (see the module docs) and returns the error to report.
    fn fail(&mut self, cause: Error) -> Error {
        self.clear_pending();
        self.last_zxid = self.durable_zxid;
        if self.poisoned.is_some() {
            // Sealing the previous segment failed: `cause` already says so.
            return cause;
        }
        let cleanup = match self.active.take() {
            None => Ok(()),
            Some(seg) if seg.is_new() => {
                let path = seg.path().to_owned();
                drop(seg);
                self.fs
                    .remove_file(&path)
                    .ctx("remove", &path)
                    .and_then(|()| self.fs.sync_dir(&self.dir).ctx("fsync", &self.dir))
            }
            Some(mut seg) => seg.truncate_to_durable(),
        };
        match cleanup {
            Ok(()) => cause,
            Err(cut) => self.poison(Error::CutBack {
                write: Box::new(cause),
                cut: Box::new(cut),
            }),
        }
    }

    fn poison(&mut self, cause: Error) -> Error {
        let cause = Arc::new(cause);
        self.poisoned = Some(cause.clone());
        Error::Poisoned { cause }
    }
}
