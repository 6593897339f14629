//! openraft's log storage on the storage crate's log: one log, not two.
//!
//! - Entries are records of a [`Log`] driven by a [`GroupCommit`] (segments, crc,
//!   torn-tail recovery); a record's key is the Raft index plus one and its payload
//!   is [`super::entry_codec`]'s.
//! - **Nothing is acknowledged before its fsync.** `append` waits for the group
//!   commit's sync and only then calls openraft's `LogFlushed` callback — with the
//!   error if the sync failed, in which case the batch was removed and is never
//!   readable. `save_vote` returns once the vote file is fsynced and renamed.
//!   Because `append` waits, its entries are readable when it returns (readers see
//!   only durable records), as openraft requires.
//! - The vote and the last purged log id are state files (`raft.vote`,
//!   `raft.purged`) next to the segments, replaced atomically. The purge mark is made
//!   durable before any segment is deleted, so the log never claims entries it lost.
//! - `truncate` and `purge` are the log's `truncate_after` and `purge_through`, run
//!   in order with appends by the group commit; whole segments are purged, and reads
//!   hide what the purge mark covers.
//!
//! Blocking file work (vote writes, reads) runs on tokio's blocking pool.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::{
    read_state_file, write_state_file, GroupCommit, GroupCommitOptions, Log, LogOptions, LogReader,
};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, LogId, RaftLogReader, StorageError, StorageIOError, Vote};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use super::entry_codec::{self, key_of, Entry, EntryCodecError};
use super::types::{NodeId, TypeConfig};

const VOTE_FILE: &str = "raft.vote";
pub(super) const PURGED_FILE: &str = "raft.purged";

/// Why a log store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    #[error(transparent)]
    Storage(#[from] ferrokeeper_storage::Error),
    #[error("{}: {source}", path.display())]
    StateFile {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Why entries could not be read (turned into openraft's error at the trait's edge).
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Log(#[from] ferrokeeper_storage::Error),
    #[error(transparent)]
    Entry(#[from] EntryCodecError),
}

/// The Raft log of one server; see the module docs.
#[derive(Debug)]
pub struct LogStore {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    commit: GroupCommit,
    reader: LogStoreReader,
    vote: Option<Vote<NodeId>>,
}

/// Reads entries for replication tasks while the store appends.
#[derive(Debug, Clone)]
pub struct LogStoreReader {
    log: LogReader,
    /// The last purged log id: entries up to it are hidden even where their segment
    /// is still on disk.
    purged: Arc<Mutex<Option<LogId<NodeId>>>>,
}

impl LogStore {
    /// Opens (creating if needed) the Raft log in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, opts: LogOptions) -> Result<Self, LogStoreError> {
        Self::open_with_env(Arc::new(StdFileSystem), dir, opts)
    }

    /// Opens the Raft log in `dir` through `fs`: the log recovers as the standalone
    /// log does (a torn tail is cut and logged), and the vote and purge mark are read.
    pub fn open_with_env(
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        opts: LogOptions,
    ) -> Result<Self, LogStoreError> {
        let dir = dir.as_ref().to_owned();
        // Raft reads, truncates and purges by index.
        let opts = LogOptions {
            index_records: true,
            ..opts
        };
        let (log, recovery) = Log::open_with_env(fs.clone(), &dir, opts)?;
        for repair in recovery.repairs() {
            tracing::warn!("raft log recovery: {repair}");
        }
        let vote = read_json(fs.as_ref(), &dir.join(VOTE_FILE))?;
        let purged = read_json(fs.as_ref(), &dir.join(PURGED_FILE))?;
        let reader = LogStoreReader {
            log: log.reader(),
            purged: Arc::new(Mutex::new(purged)),
        };
        let commit = GroupCommit::start(log, GroupCommitOptions::default())?;
        Ok(LogStore {
            fs,
            dir,
            commit,
            reader,
            vote,
        })
    }

    /// Logs `entries` and calls `flushed` with the outcome once the group commit's
    /// fsync has finished (or failed): the one path every append takes, so the
    /// acknowledgement can be observed in tests.
    pub(super) async fn append_then(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
        flushed: impl FnOnce(io::Result<()>),
    ) -> Result<(), StorageError<NodeId>> {
        let records = entries
            .into_iter()
            .map(|e| entry_codec::encode(&e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| write_error(&e))?;
        match self.commit.submit(records).await {
            Ok(_) => flushed(Ok(())),
            Err(e) => flushed(Err(io::Error::other(e))),
        }
        Ok(())
    }

    /// Writes a state file durably, off the async runtime; failures are reported as
    /// `error` makes them.
    async fn write_state<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        error: fn(AnyError) -> StorageIOError<NodeId>,
    ) -> Result<(), StorageError<NodeId>> {
        let to_error = |e: &(dyn std::error::Error + 'static)| {
            StorageError::from(error(AnyError::from_dyn(e, None)))
        };
        let bytes = serde_json::to_vec(value).map_err(|e| to_error(&e))?;
        let fs = self.fs.clone();
        let path = self.dir.join(name);
        tokio::task::spawn_blocking(move || write_state_file(fs.as_ref(), &path, &bytes))
            .await
            .map_err(|e| to_error(&e))?
            .map_err(|e| to_error(&e))
    }
}

fn read_json<T: DeserializeOwned>(
    fs: &dyn FileSystem,
    path: &Path,
) -> Result<Option<T>, LogStoreError> {
    match read_state_file(fs, path)? {
        None => Ok(None),
        Some(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| LogStoreError::StateFile {
                    path: path.to_owned(),
                    source,
                })
        }
    }
}

fn write_error(e: &(impl std::error::Error + 'static)) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::new(e)).into()
}

fn read_error(e: &(impl std::error::Error + 'static)) -> StorageError<NodeId> {
    StorageIOError::read_logs(AnyError::new(e)).into()
}

impl LogStoreReader {
    /// The entries with indexes in `[lo, hi)` that are neither purged nor missing.
    fn read(&self, lo: u64, hi: u64) -> Result<Vec<Entry>, ReadError> {
        let floor = self.purged.lock().map_or(0, |p| p.index + 1);
        let (lo, hi) = (lo.max(floor), hi.min(i64::MAX as u64 - 1));
        if lo >= hi {
            return Ok(Vec::new());
        }
        let records = self.log.read(key_of(lo)..key_of(hi))?;
        let entries = records
            .into_iter()
            .map(|r| entry_codec::decode(r.zxid, r.payload))
            .collect::<Result<_, _>>()?;
        Ok(entries)
    }

    /// The log id of the last entry on disk, if any.
    fn last_log_id(&self) -> Result<Option<LogId<NodeId>>, ReadError> {
        let Some(last) = self.log.last_zxid() else {
            return Ok(None);
        };
        let index = (last - 1) as u64;
        Ok(self.read(index, index + 1)?.pop().map(|e| e.log_id))
    }
}

impl RaftLogReader<TypeConfig> for LogStoreReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let lo = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        let reader = self.clone();
        tokio::task::spawn_blocking(move || reader.read(lo, hi))
            .await
            .map_err(|e| read_error(&e))?
            .map_err(|e| read_error(&e))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        self.reader.try_get_log_entries(range).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStoreReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let reader = self.reader.clone();
        let last = tokio::task::spawn_blocking(move || reader.last_log_id())
            .await
            .map_err(|e| read_error(&e))?
            .map_err(|e| read_error(&e))?;
        let last_purged_log_id = *self.reader.purged.lock();
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.max(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> LogStoreReader {
        self.reader.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write_state(VOTE_FILE, vote, StorageIOError::write_vote)
            .await?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.vote)
    }

    /// Returns once the entries are durable and readable; the callback hears the
    /// same outcome, never before the fsync.
    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        self.append_then(entries, |outcome| callback.log_io_completed(outcome))
            .await
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        // Keep the keys of indexes below log_id.index: up to key_of(index) - 1.
        let keep_through = key_of(log_id.index) - 1;
        self.commit
            .truncate_after(keep_through)
            .await
            .map_err(|e| write_error(&e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        // The mark first: a crash before the segments go leaves extra entries, never a
        // log that claims entries it lost.
        self.write_state(PURGED_FILE, &log_id, StorageIOError::write_logs)
            .await?;
        *self.reader.purged.lock() = Some(log_id);
        self.commit
            .purge_through(key_of(log_id.index))
            .await
            .map_err(|e| write_error(&e))?;
        Ok(())
    }
}
