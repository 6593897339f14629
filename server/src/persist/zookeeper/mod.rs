//! Starting on Apache ZooKeeper's data directory. ZooKeeper keeps its snapshots in
//! `dataDir/version-2` and its log in `dataLogDir/version-2`; Ferrokeeper keeps its
//! own files beside them, in dataDir and dataLogDir. When it finds none of its own but
//! ZooKeeper's, it loads ZooKeeper's newest valid snapshot and replays ZooKeeper's log
//! after it through the same state machine that serves writes (the recovery then
//! writes the result as Ferrokeeper's first snapshot). Sessions keep their ids,
//! timeouts and ZooKeeper's derived passwords, so connected clients reconnect as after
//! a restart. ZooKeeper's files are only read, never changed.
//!
//! The way back: [`export`] writes Ferrokeeper's state as a ZooKeeper snapshot
//! (`ferrokeeper snapshot export-zookeeper`).

mod cursor;
pub mod files;
mod password;
mod snapshot;
mod snapshot_write;
mod stat;
mod txn;
mod txn_log;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use ferrokeeper_storage::zxid::follows;

use crate::state_machine::apply::Applier;
use crate::state_machine::tree::DataTree;
use crate::state_machine::txn::Zxid;
use crate::state_machine::{Session, SessionTable};
use files::ZkFile;
pub use files::ZkFiles;
pub use password::zookeeper_password;
use txn_log::ZkLog;

/// Why ZooKeeper's files could not be taken over.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read ZooKeeper's {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ZooKeeper's {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("ZooKeeper's {path}: not supported: {what}")]
    Unsupported { path: PathBuf, what: String },
    #[error("no valid ZooKeeper snapshot among {count} in {dir}")]
    NoValidSnapshot { dir: PathBuf, count: usize },
    #[error(
        "ZooKeeper's log is missing transactions: after 0x{after:x} comes 0x{next:x} \
         (in {path} at byte {offset})"
    )]
    Gap {
        after: Zxid,
        next: Zxid,
        path: PathBuf,
        offset: u64,
    },
}

/// ZooKeeper's state, ready to serve.
pub struct Imported {
    pub tree: DataTree,
    /// The snapshot it started from (`None`: ZooKeeper's log from the start).
    pub snapshot: Option<PathBuf>,
    /// Log entries applied after the snapshot.
    pub replayed: u64,
}

/// Loads ZooKeeper's state into a tree and `sessions`.
pub fn import(
    files: &ZkFiles,
    sessions: &SessionTable,
    now_ms: u64,
) -> Result<Imported, ImportError> {
    let (mut tree, snapshot) = newest_valid_snapshot(files, sessions, now_ms)?;
    let mut replayed = 0;
    for file in logs_after(files, tree.last_zxid()) {
        replayed += replay(file, &txn_log::read(file)?, &mut tree, sessions)?;
    }
    Ok(Imported {
        tree,
        snapshot: snapshot.map(|file| file.path.clone()),
        replayed,
    })
}

/// Applies the entries of `log` after the tree's last zxid, in order, as ZooKeeper's
/// recovery does; returns how many.
fn replay(
    file: &ZkFile,
    log: &ZkLog,
    tree: &mut DataTree,
    sessions: &SessionTable,
) -> Result<u64, ImportError> {
    if let Some(torn) = &log.torn {
        tracing::warn!(
            path = %file.path.display(),
            offset = torn.offset,
            dropped_bytes = torn.bytes,
            "ZooKeeper's log ends with {}; reading stops there, as ZooKeeper's does",
            torn.reason
        );
    }
    let mut applier = Applier {
        tree,
        sessions,
        events: Vec::new(),
    };
    let mut replayed = 0;
    for entry in &log.entries {
        let last = applier.tree.last_zxid();
        let zxid = entry.header.zxid;
        if zxid <= last {
            continue;
        }
        if !follows(last, zxid) {
            return Err(ImportError::Gap {
                after: last,
                next: zxid,
                path: file.path.clone(),
                offset: entry.offset as u64,
            });
        }
        let txn = txn::convert(entry, applier.tree).map_err(|reason| ImportError::Corrupt {
            path: file.path.clone(),
            offset: entry.offset as u64,
            reason,
        })?;
        applier.apply(&txn);
        applier.events.clear();
        replayed += 1;
    }
    Ok(replayed)
}

/// Writes `tree` and `sessions` as ZooKeeper's snapshot
/// `data_dir/version-2/snapshot.<last zxid>`; returns its path and size in bytes.
pub fn export(
    tree: &DataTree,
    sessions: &SessionTable,
    data_dir: &Path,
) -> std::io::Result<(PathBuf, u64)> {
    let mut timeouts: Vec<(i64, i32)> = sessions
        .all()
        .iter()
        .map(|s| (s.id, s.timeout_ms()))
        .collect();
    timeouts.sort_unstable();
    snapshot_write::save(tree, &timeouts, data_dir)
}

/// Decodes ZooKeeper snapshot bytes as a takeover does (for fuzzing).
pub fn load_snapshot_bytes(bytes: Bytes) -> Result<DataTree, ImportError> {
    snapshot::parse(&ZkFile::in_memory(), bytes).map(|snapshot| snapshot.tree)
}

/// Decodes ZooKeeper log bytes and applies them to `tree` as a takeover does (for
/// fuzzing); returns how many entries were applied.
pub fn replay_log_bytes(
    bytes: Bytes,
    tree: &mut DataTree,
    sessions: &SessionTable,
) -> Result<u64, ImportError> {
    let file = ZkFile::in_memory();
    replay(&file, &txn_log::parse(&file, bytes)?, tree, sessions)
}

/// The last zxid ZooKeeper wrote: its newest snapshot's, or the last entry of its
/// newest log (a log file is named after its first entry and grows after that). A
/// log that no longer reads counts by its name, with a warning: after a takeover
/// ZooKeeper's files are only a backup.
pub fn last_zxid(files: &ZkFiles) -> Zxid {
    let snapshot = files.snapshots.last().map_or(0, |f| f.zxid);
    let logged = files.logs.last().map_or(0, |file| match txn_log::read(file) {
        Ok(log) => log.entries.last().map_or(file.zxid, |e| e.header.zxid),
        Err(e) => {
            tracing::warn!(error = %e, "ZooKeeper's newest log does not read; going by its name");
            file.zxid
        }
    });
    snapshot.max(logged)
}

/// The newest snapshot that reads back whole, as ZooKeeper picks it; none at all
/// starts from an empty tree and the whole log.
fn newest_valid_snapshot<'a>(
    files: &'a ZkFiles,
    sessions: &SessionTable,
    now_ms: u64,
) -> Result<(DataTree, Option<&'a ZkFile>), ImportError> {
    for file in files.snapshots.iter().rev() {
        match snapshot::read(file) {
            Ok(snapshot) => {
                for (id, timeout_ms) in snapshot.sessions {
                    let password = password::zookeeper_password(id);
                    sessions.insert(Arc::new(Session::new(id, password, timeout_ms, now_ms)));
                }
                return Ok((snapshot.tree, Some(file)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping a ZooKeeper snapshot that does not read back")
            }
        }
    }
    match files.snapshots.first() {
        Some(first) => Err(ImportError::NoValidSnapshot {
            dir: first.path.parent().unwrap_or(&first.path).to_owned(),
            count: files.snapshots.len(),
        }),
        None => Ok((DataTree::new(), None)),
    }
}

/// FileTxnLog.getLogFiles: the newest log that starts at or before `zxid`, and all
/// later ones.
fn logs_after(files: &ZkFiles, zxid: Zxid) -> &[ZkFile] {
    let first = files
        .logs
        .iter()
        .rposition(|log| log.zxid <= zxid)
        .unwrap_or(0);
    &files.logs[first.min(files.logs.len())..]
}
