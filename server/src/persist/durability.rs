//! The log stage of the pipeline: each batch's transactions are appended and made
//! durable with one group commit before any of them is applied; every `snapCount`
//! transactions (randomised as in ZooKeeper, so servers do not snapshot in step), or
//! every `snapSizeLimitInKb` of log, the log is rolled and a snapshot written in the
//! background; old files are purged.

use std::sync::Arc;

use ferrokeeper_storage::{
    purge, Entry, GroupCommit, GroupCommitOptions, Log, SnapshotInfo, SnapshotOptions,
    SnapshotWriter,
};
use rand::Rng;

use super::recovery::Dirs;
use super::snapshot::{self, SessionRecord};
use super::txn_codec;
use crate::config::Config;
use crate::shared::Shared;
use crate::state_machine::{Txn, Zxid};

/// Where the outcome of a requested snapshot goes: the file written, or why not.
pub type SnapshotDone = tokio::sync::oneshot::Sender<Result<SnapshotInfo, String>>;

pub struct Durability {
    commit: GroupCommit,
    dirs: Dirs,
    snap_count: u64,
    snap_size_limit: u64,
    since_snapshot: u64,
    bytes_since_snapshot: u64,
    next_snapshot_after: u64,
    snapshot_options: SnapshotOptions,
    retain: usize,
    purge: bool,
    snapshotting: Option<tokio::task::JoinHandle<()>>,
}

impl Durability {
    pub fn start(log: Log, dirs: Dirs, config: &Config) -> ferrokeeper_storage::Result<Self> {
        let commit = GroupCommit::start(log, GroupCommitOptions::default())?;
        let mut durability = Durability {
            commit,
            dirs,
            snap_count: config.snap_count,
            snap_size_limit: config.snap_size_limit_bytes,
            since_snapshot: 0,
            bytes_since_snapshot: 0,
            next_snapshot_after: 0,
            snapshot_options: SnapshotOptions {
                zstd_level: config.snapshot_zstd_level,
            },
            retain: config.snap_retain_count,
            purge: config.purge_interval_hours > 0,
            snapshotting: None,
        };
        durability.schedule_next_snapshot();
        Ok(durability)
    }

    /// ZooKeeper's SyncRequestProcessor: snapCount/2 plus a random share of it.
    fn schedule_next_snapshot(&mut self) {
        let half = (self.snap_count / 2).max(1);
        self.next_snapshot_after = half + rand::thread_rng().gen_range(0..half);
        self.since_snapshot = 0;
        self.bytes_since_snapshot = 0;
    }

    /// Makes `txns` durable (one append, one fsync). On error none of them may be
    /// applied; call [`Self::resume`] before the next batch.
    pub async fn persist<'t>(
        &mut self,
        txns: impl Iterator<Item = &'t Txn>,
    ) -> ferrokeeper_storage::Result<()> {
        let entries: Vec<Entry> = txns
            .map(|txn| Entry::new(txn.zxid, txn_codec::encode(txn)))
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        let count = entries.len() as u64;
        let bytes: u64 = entries.iter().map(|e| e.payload.len() as u64).sum();
        // The pipeline times the batch and warns past fsync.warningthresholdms.
        self.commit.submit(entries).await?;
        self.since_snapshot += count;
        self.bytes_since_snapshot += bytes;
        Ok(())
    }

    /// After a failed batch: the zxid the next transaction must follow.
    pub async fn resume(&mut self) -> ferrokeeper_storage::Result<Zxid> {
        self.commit.resume().await
    }

    /// Called after a batch is applied: starts a snapshot when one is due.
    pub async fn after_apply(&mut self, shared: &Arc<Shared>) {
        if self.since_snapshot < self.next_snapshot_after
            && self.bytes_since_snapshot < self.snap_size_limit
        {
            return;
        }
        if self
            .snapshotting
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        self.start_snapshot(shared, None).await;
    }

    /// Takes a snapshot now, on an operator's request (the AdminServer's `snapshot`
    /// command), after any snapshot still being written; `done` gets its outcome.
    pub async fn snapshot_on_request(&mut self, shared: &Arc<Shared>, done: SnapshotDone) {
        self.start_snapshot(shared, Some(done)).await;
    }

    /// Rolls the log and writes a snapshot of the tree in the background, after the
    /// previous one (snapshots never run side by side).
    async fn start_snapshot(&mut self, shared: &Arc<Shared>, done: Option<SnapshotDone>) {
        self.schedule_next_snapshot();
        match self.commit.roll().await {
            // The next transaction starts a new segment, `log.<its zxid>`.
            Ok(zxid) => tracing::info!(
                dir = %self.dirs.log.display(),
                zxid = format_args!("0x{zxid:x}"),
                "transaction log rolled"
            ),
            Err(e) => {
                tracing::error!(error = %e, "cannot roll the transaction log");
                if let Some(done) = done {
                    let _ = done.send(Err(format!("cannot roll the transaction log: {e}")));
                }
                return;
            }
        }
        let previous = self.snapshotting.take();
        let (shared, dirs, options, retain, purge_after) = (
            shared.clone(),
            self.dirs.clone(),
            self.snapshot_options,
            self.retain,
            self.purge,
        );
        self.snapshotting = Some(tokio::spawn(async move {
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            let written = tokio::task::spawn_blocking(move || {
                let written = write_snapshot(&shared, &dirs, options);
                if let Err(e) = &written {
                    tracing::error!(error = %e, "snapshot failed");
                } else if purge_after {
                    purge_old_files(&dirs, retain);
                }
                written
            })
            .await
            .unwrap_or_else(|e| Err(format!("the snapshot task failed: {e}")));
            if let Some(done) = done {
                let _ = done.send(written);
            }
        }));
    }

    /// Waits for a running snapshot (at shutdown).
    pub async fn finish_snapshot(&mut self) {
        if let Some(task) = self.snapshotting.take() {
            let _ = task.await;
        }
    }
}

fn write_snapshot(
    shared: &Shared,
    dirs: &Dirs,
    options: SnapshotOptions,
) -> Result<SnapshotInfo, String> {
    let started = std::time::Instant::now();
    // The sessions and the zxid are taken together; the tree is then walked while
    // writes go on (a fuzzy snapshot, replayed from this zxid).
    let (zxid, sessions) = {
        let tree = shared.tree.read();
        let sessions: Vec<SessionRecord> = shared
            .sessions
            .all()
            .iter()
            .map(|s| SessionRecord::of(s))
            .collect();
        (tree.last_zxid(), sessions)
    };
    let mut writer =
        SnapshotWriter::create(&dirs.snapshots, zxid, options).map_err(|e| e.to_string())?;
    let znodes = snapshot::write_fuzzy(&shared.tree, zxid, &sessions, &mut writer)
        .map_err(|e| e.to_string())?;
    let info = writer.finish().map_err(|e| e.to_string())?;
    let ms = started.elapsed().as_millis() as u64;
    shared.metrics.snapshot_ms.record(ms);
    tracing::info!(
        path = %info.path.display(),
        zxid = format_args!("0x{zxid:x}"),
        znodes,
        sessions = sessions.len(),
        bytes = info.file_len,
        ms,
        "snapshot taken"
    );
    Ok(info)
}

/// autopurge: the newest `retain` snapshots and the log they need stay.
pub fn purge_old_files(dirs: &Dirs, retain: usize) {
    match purge(&dirs.snapshots, &dirs.log, retain) {
        Ok(plan) => tracing::info!(?plan, "purged old snapshots and logs"),
        Err(e) => tracing::warn!(error = %e, "purge failed"),
    }
}
