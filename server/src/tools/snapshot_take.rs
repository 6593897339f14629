//! `ferrokeeper snapshot take [--data-dir DIR] [--data-log-dir DIR] [zoo.cfg]`:
//! offline compaction. Recovers the state from the data directories exactly as the
//! server does at start ([`recover`]: newest valid snapshot, then the log after it,
//! torn tail cut), and writes a fresh snapshot at the last zxid, so the next start
//! replays nothing. Old files are left for the server's purge.
//!
//! It refuses while a server runs on the directories: the server holds the log's lock
//! file, and recovery would race with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::log::LOCK_FILE;
use ferrokeeper_storage::SnapshotInfo;

use super::ToolError;
use crate::config::Config;
use crate::persist::recovery::{recover, snapshot_options, Dirs, Recovered, RecoveryError};
use crate::persist::snapshot;

/// What a `snapshot take` did.
#[derive(Debug)]
pub struct Taken {
    pub snapshot: SnapshotInfo,
    pub dirs: Dirs,
    /// Log entries replayed on top of the newest snapshot that was there.
    pub replayed: u64,
    pub nodes: usize,
    pub sessions: usize,
}

/// Recovers the state `config`'s directories hold and writes it as a new snapshot.
pub fn take(config: &Config) -> Result<Taken, ToolError> {
    let (dirs, recovered) = recover_offline(config)?;
    let info = snapshot::save(
        &recovered.tree,
        &recovered.sessions,
        &dirs.snapshots,
        snapshot_options(config),
    )
    .map_err(|e| {
        ToolError::Failed(format!(
            "cannot write the snapshot in {}: {e}",
            dirs.snapshots.display()
        ))
    })?;
    // The log (and its lock) is held until the snapshot is in place.
    drop(recovered.log);
    Ok(Taken {
        snapshot: info,
        dirs,
        replayed: recovered.replayed,
        nodes: recovered.tree.node_count(),
        sessions: recovered.sessions.len(),
    })
}

/// The state a stopped server's directories hold, recovered as the server recovers
/// it; the returned log holds the directories' lock until dropped.
pub fn recover_offline(config: &Config) -> Result<(Dirs, Recovered), ToolError> {
    let dirs = Dirs::of(config)
        .ok_or_else(|| ToolError::Failed("no dataDir: nothing to recover".into()))?;
    // Recovery creates missing directories (a server starting fresh); here a missing
    // one is a mistyped path.
    for (what, dir) in [("dataDir", &dirs.snapshots), ("dataLogDir", &dirs.log)] {
        if !dir.is_dir() {
            return Err(ToolError::Failed(format!(
                "{what} {} does not exist or is not a directory",
                dir.display()
            )));
        }
    }
    // Before recovery touches anything (it removes unfinished snapshots, which a
    // running server may be writing), make sure no server holds the log.
    check_unlocked(&dirs.log)?;
    let recovered = recover(config, &dirs, Arc::new(StdFileSystem)).map_err(|e| match e {
        RecoveryError::Storage(ferrokeeper_storage::Error::Locked { path }) => {
            ToolError::Locked { lock: path }
        }
        e => ToolError::Failed(format!("cannot recover the state: {e}")),
    })?;
    Ok((dirs, recovered))
}

/// Fails with [`ToolError::Locked`] if another process holds the log's lock file.
fn check_unlocked(log_dir: &Path) -> Result<(), ToolError> {
    let lock = log_dir.join(LOCK_FILE);
    match StdFileSystem.lock(&lock) {
        Ok(held) => {
            drop(held);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(ToolError::Locked { lock }),
        Err(e) => Err(ToolError::Failed(format!(
            "cannot check the lock {}: {e}",
            lock.display()
        ))),
    }
}

/// The configuration `snapshot take` recovers with: zoo.cfg (if given), then the
/// flags, then the server's default dataDir, as the server resolves them.
pub fn config(
    config_file: Option<&Path>,
    data_dir: Option<PathBuf>,
    data_log_dir: Option<PathBuf>,
) -> Result<Config, crate::config::ConfigError> {
    let mut config = match config_file {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(dir) = data_dir {
        config.data_dir = Some(dir);
    }
    if let Some(dir) = data_log_dir {
        config.data_log_dir = Some(dir);
    }
    if config.data_dir.is_none() {
        config.data_dir = Some(PathBuf::from(super::DEFAULT_DATA_DIR));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::tree::DataTree;
    use bytes::Bytes;
    use ferrokeeper_protocol::records::Acl;
    use ferrokeeper_protocol::Perms;
    use ferrokeeper_storage::{Entry, Log, LogOptions, SnapshotReader};

    use crate::persist::txn_codec;
    use crate::state_machine::SessionTable;
    use crate::state_machine::{Txn, TxnOp};

    fn create(zxid: i64, path: &str, data: &'static [u8]) -> Entry {
        let txn = Txn {
            zxid,
            time: 1_700_000_000_000 + zxid,
            session_id: 0,
            op: TxnOp::Create {
                path: path.into(),
                data: Some(Bytes::from_static(data)),
                acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
                ephemeral_owner: 0,
                parent_cversion: zxid as i32,
                with_stat: false,
            },
        };
        Entry::new(zxid, txn_codec::encode(&txn))
    }

    fn config_for(dir: &Path) -> Config {
        config(None, Some(dir.to_owned()), None).unwrap()
    }

    fn load(path: &Path) -> DataTree {
        let mut reader = SnapshotReader::open(path).unwrap();
        let tree = snapshot::read(&mut reader, &SessionTable::default(), 0).unwrap();
        reader.finish().unwrap();
        tree
    }

    #[test]
    fn writes_the_recovered_state_at_the_last_zxid() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, _) = Log::open(dir.path(), LogOptions::default()).unwrap();
            log.append(&[create(1, "/a", b"one"), create(2, "/b", b"two")])
                .unwrap();
            log.sync().unwrap();
        }
        let taken = take(&config_for(dir.path())).unwrap();
        assert_eq!(taken.replayed, 2);
        assert_eq!(taken.snapshot.zxid, 2);
        assert_eq!(
            taken.snapshot.path,
            dir.path().join("snapshot.0000000000000002")
        );
        let tree = load(&taken.snapshot.path);
        assert_eq!(tree.last_zxid(), 2);
        assert_eq!(tree.get("/b").unwrap().data.as_deref(), Some(&b"two"[..]));

        // Again: the snapshot is found, nothing is replayed, the same state is written.
        let again = take(&config_for(dir.path())).unwrap();
        assert_eq!((again.replayed, again.snapshot.zxid), (0, 2));
        assert_eq!(again.nodes, taken.nodes);
    }

    #[test]
    fn refuses_while_the_log_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let _server = Log::open(dir.path(), LogOptions::default()).unwrap();
        let err = take(&config_for(dir.path())).unwrap_err();
        assert!(matches!(err, ToolError::Locked { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("log.lock") && message.contains("server"),
            "{message}"
        );
        assert!(
            !dir.path().join("snapshot.0000000000000000").exists(),
            "nothing written"
        );
    }

    #[test]
    fn refuses_a_missing_directory_without_creating_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = take(&config_for(&missing)).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!missing.exists());
    }
}
