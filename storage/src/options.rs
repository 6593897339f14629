//! Tuning knobs, named after the ZooKeeper settings they correspond to so an operator
//! can grep for `forceSync`, `preAllocSize`, `autopurge.snapRetainCount`.

use std::time::Duration;

/// ZooKeeper's default `preAllocSize`: 64 MiB (`65536` KiB).
pub const DEFAULT_PREALLOC_SIZE: u64 = 64 * 1024 * 1024;

/// Size after which the log rolls to a new segment (ZooKeeper's
/// `zookeeper.txnLogSizeLimitInKb`, which is unlimited by default there).
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// Largest entry accepted by default. ZooKeeper's `jute.maxbuffer` is 1 MiB for a
/// request; a transaction (a multi, a session close listing its ephemerals) can be
/// somewhat larger, so the log allows more.
pub const DEFAULT_MAX_ENTRY_SIZE: u32 = 64 * 1024 * 1024;

/// ZooKeeper's minimum and default `autopurge.snapRetainCount`.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;

/// How [`crate::Log::open`] treats damage that is not a torn tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Refuse to open: return the error naming the file and offset. The default.
    #[default]
    Strict,
    /// An operator's explicit choice: keep everything before the first bad record,
    /// cut the log there (a copy of the damaged segment is kept as `<name>.corrupt`,
    /// later segments are renamed `<name>.discarded`), and report the error as a
    /// warning in [`crate::Recovery::repairs`].
    TruncateAtFirstCorruption,
}

/// Options for [`crate::Log`].
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// `forceSync`: `fdatasync` the log on every [`crate::Log::sync`]. When false the
    /// data only reaches the page cache (segment rolls are still synced).
    pub force_sync: bool,
    /// `preAllocSize` in bytes: segment files grow in chunks of this size, so appends
    /// rarely change the file size. Zero disables preallocation.
    pub prealloc_size: u64,
    /// A segment that has reached this many bytes is closed before the next batch is
    /// written. A batch never spans segments, so a segment can exceed this by one batch.
    pub segment_size: u64,
    /// Largest payload accepted by `append` (the format's limit,
    /// [`crate::log::format::MAX_PAYLOAD_LEN`], caps it). Reading does not depend on it.
    pub max_entry_size: u32,
    /// What to do with corruption found on open.
    pub recovery: RecoveryMode,
    /// Keep an in-memory index of where every durable record is (8 bytes a record),
    /// which [`crate::Log::reader`], [`crate::Log::truncate_after`] and
    /// [`crate::Log::purge_through`] need (a Raft log). A log that is only appended
    /// and replayed (the standalone server's) leaves it off, and holds no memory per
    /// record.
    pub index_records: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            force_sync: true,
            prealloc_size: DEFAULT_PREALLOC_SIZE,
            segment_size: DEFAULT_SEGMENT_SIZE,
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
            recovery: RecoveryMode::Strict,
            index_records: false,
        }
    }
}

/// Options for [`crate::SnapshotWriter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotOptions {
    /// Compress the content with zstd at this level (1–22; 3 is zstd's default).
    /// `None` stores it as written.
    pub zstd_level: Option<i32>,
}

/// Bounds for [`crate::GroupCommit`].
#[derive(Debug, Clone, Copy)]
pub struct GroupCommitOptions {
    /// Most entries written under one fsync (ZooKeeper's SyncRequestProcessor flushes
    /// at 1000 by default).
    pub max_batch_entries: usize,
    /// Most payload bytes written under one fsync.
    pub max_batch_bytes: usize,
    /// How long the writer waits, after the first submission of a batch, for more to
    /// arrive. Zero (the default) waits for nothing: a batch is whatever queued up
    /// while the previous fsync ran, which already bounds latency to one fsync.
    pub max_delay: Duration,
}

impl Default for GroupCommitOptions {
    fn default() -> Self {
        GroupCommitOptions {
            max_batch_entries: 1000,
            max_batch_bytes: 16 * 1024 * 1024,
            max_delay: Duration::ZERO,
        }
    }
}
