//! Coming back from the data directories: the newest valid snapshot, then the log
//! after it, applied in order by the same state machine that serves writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::FileSystem;
use ferrokeeper_storage::{
    latest_valid_snapshot, remove_temp_files, Log, LogOptions, RecoveryMode, SnapshotOptions,
    SnapshotReader,
};

use super::zookeeper::{self, ImportError, ZkFiles};
use super::{snapshot, txn_codec};
use crate::config::Config;
use crate::state_machine::apply::Applier;
use crate::state_machine::tree::DataTree;
use crate::state_machine::SessionTable;
use crate::time::now_ms;

/// Where a server keeps its files.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// dataDir: snapshots.
    pub snapshots: PathBuf,
    /// dataLogDir (or dataDir): the transaction log.
    pub log: PathBuf,
}

impl Dirs {
    pub fn of(config: &Config) -> Option<Dirs> {
        let data = config.data_dir.clone()?;
        Some(Dirs {
            log: config.data_log_dir.clone().unwrap_or_else(|| data.clone()),
            snapshots: data,
        })
    }
}

/// What start-up recovered.
pub struct Recovered {
    pub tree: DataTree,
    pub sessions: SessionTable,
    pub log: Log,
    /// Transactions replayed from the log after the snapshot.
    pub replayed: u64,
}

/// Why the server cannot start from its data directories.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] ferrokeeper_storage::Error),
    #[error("snapshot {path}: {source}")]
    Snapshot {
        path: PathBuf,
        source: snapshot::LoadError,
    },
    #[error(transparent)]
    ZooKeeper(#[from] ImportError),
    #[error(
        "{dir} holds ZooKeeper files up to zxid 0x{zookeeper:x}, newer than Ferrokeeper's \
         own state (0x{own:x}): ZooKeeper ran on this directory after Ferrokeeper did. \
         Move ZooKeeper's version-2 directory away to keep Ferrokeeper's state, or \
         Ferrokeeper's snapshot.* and log.* files away to take ZooKeeper's over again"
    )]
    ZooKeeperNewer {
        dir: PathBuf,
        zookeeper: i64,
        own: i64,
    },
    #[error("log entry 0x{zxid:x} cannot be decoded: {source}")]
    Entry {
        zxid: i64,
        source: ferrokeeper_protocol::DecodeError,
    },
}

/// Apache ZooKeeper's state, taken over from its files and saved as Ferrokeeper's
/// first snapshot before anything is served, so later starts read only Ferrokeeper's
/// own files.
fn take_over_zookeeper(
    config: &Config,
    dirs: &Dirs,
    files: &ZkFiles,
    sessions: &SessionTable,
) -> Result<DataTree, RecoveryError> {
    let started = std::time::Instant::now();
    let imported = zookeeper::import(files, sessions, now_ms())?;
    let saved = snapshot::save(
        &imported.tree,
        sessions,
        &dirs.snapshots,
        snapshot_options(config),
    )?;
    tracing::info!(
        from = %imported.snapshot.as_deref().unwrap_or(Path::new("(no snapshot)")).display(),
        replayed = imported.replayed,
        zxid = format_args!("0x{:x}", imported.tree.last_zxid()),
        nodes = imported.tree.node_count(),
        sessions = sessions.len(),
        saved = %saved.path.display(),
        ms = started.elapsed().as_millis() as u64,
        "took over Apache ZooKeeper's data directory (its files are left as they are)"
    );
    Ok(imported.tree)
}

pub fn log_options(config: &Config) -> LogOptions {
    LogOptions {
        force_sync: config.force_sync,
        prealloc_size: config.prealloc_bytes,
        recovery: if config.truncate_corrupt_log {
            RecoveryMode::TruncateAtFirstCorruption
        } else {
            RecoveryMode::Strict
        },
        ..LogOptions::default()
    }
}

pub fn snapshot_options(config: &Config) -> SnapshotOptions {
    SnapshotOptions {
        zstd_level: config.snapshot_zstd_level,
    }
}

fn create_dir(path: &Path) -> Result<(), RecoveryError> {
    std::fs::create_dir_all(path).map_err(|source| RecoveryError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Recovers the state in `dirs`, the log through `fs` (the real file system, or one
/// that injects faults for a test fixture).
pub fn recover(
    config: &Config,
    dirs: &Dirs,
    fs: Arc<dyn FileSystem>,
) -> Result<Recovered, RecoveryError> {
    create_dir(&dirs.snapshots)?;
    create_dir(&dirs.log)?;
    // The log's lock comes first: nothing else in the directories is touched while
    // another process (a running server) owns them.
    let (log, recovery) = Log::open_with_env(fs.clone(), &dirs.log, log_options(config))?;
    for repair in recovery.repairs() {
        tracing::warn!(%repair, dropped_bytes = repair.dropped_bytes(), "log repaired");
    }
    for leftover in remove_temp_files(&fs, &dirs.snapshots)? {
        tracing::info!(path = %leftover.display(), "removed an unfinished snapshot");
    }
    let sessions = SessionTable::default();
    let selection = latest_valid_snapshot(&dirs.snapshots)?;
    for invalid in &selection.invalid_newer {
        tracing::warn!(%invalid, "skipping a newer snapshot that fails verification");
    }
    let zookeeper_files = ZkFiles::list(&dirs.snapshots, &dirs.log)?;
    let (mut tree, snapshot_zxid) = match &selection.latest {
        Some(info) => {
            let started = std::time::Instant::now();
            let mut reader = SnapshotReader::open(&info.path)?;
            let tree = snapshot::read(&mut reader, &sessions, now_ms()).map_err(|source| {
                RecoveryError::Snapshot {
                    path: info.path.clone(),
                    source,
                }
            })?;
            reader.finish()?;
            tracing::info!(
                path = %info.path.display(),
                zxid = format_args!("0x{:x}", info.zxid),
                nodes = tree.node_count(),
                ms = started.elapsed().as_millis() as u64,
                "loaded snapshot"
            );
            (tree, info.zxid)
        }
        None if recovery.last_zxid() == 0 && !zookeeper_files.is_empty() => {
            let tree = take_over_zookeeper(config, dirs, &zookeeper_files, &sessions)?;
            let zxid = tree.last_zxid();
            (tree, zxid)
        }
        None => (DataTree::new(), 0),
    };
    let mut replayed = 0;
    let mut applier = Applier {
        tree: &mut tree,
        sessions: &sessions,
        events: Vec::new(),
    };
    for entry in recovery.entries_after(snapshot_zxid)? {
        let entry = entry?;
        let txn = txn_codec::decode(entry.zxid, entry.payload).map_err(|source| {
            RecoveryError::Entry {
                zxid: entry.zxid,
                source,
            }
        })?;
        applier.apply(&txn);
        applier.events.clear();
        replayed += 1;
    }
    // Only a state of Ferrokeeper's own can be older than ZooKeeper's files.
    let own_state = selection.latest.is_some() || recovery.last_zxid() != 0;
    if own_state && !zookeeper_files.is_empty() {
        let zookeeper = zookeeper::last_zxid(&zookeeper_files);
        if zookeeper > tree.last_zxid() {
            return Err(RecoveryError::ZooKeeperNewer {
                dir: dirs.snapshots.join(zookeeper::files::VERSION_DIR),
                zookeeper,
                own: tree.last_zxid(),
            });
        }
    }
    // Restored sessions get a full timeout to reconnect, as in ZooKeeper.
    let now = now_ms();
    for session in sessions.all() {
        session.revalidate(session.timeout_ms(), now);
    }
    tracing::info!(
        zxid = format_args!("0x{:x}", tree.last_zxid()),
        replayed,
        sessions = sessions.len(),
        nodes = tree.node_count(),
        "recovered"
    );
    Ok(Recovered {
        tree,
        sessions,
        log,
        replayed,
    })
}
