//! `ferrokeeper snapshot export-zookeeper --out DIR [--data-dir D] [--data-log-dir D]
//! [zoo.cfg]`: the way back to Apache ZooKeeper. Recovers the state of a stopped
//! server as `snapshot take` does (refusing while a server holds the directories) and
//! writes it as ZooKeeper's snapshot `DIR/version-2/snapshot.<zxid>`: every znode with
//! its data, ACL and stat, and the sessions with their timeouts. ZooKeeper started with
//! `dataDir=DIR` loads it and goes on above its zxid.

use std::path::{Path, PathBuf};

use super::snapshot_take::recover_offline;
use super::ToolError;
use crate::config::Config;
use crate::persist::zookeeper::{self, ZkFiles};

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub path: PathBuf,
    pub bytes: u64,
    pub zxid: i64,
    pub nodes: usize,
    pub sessions: usize,
}

/// Recovers the state `config`'s directories hold and writes it as ZooKeeper's
/// snapshot under `out`.
pub fn export(config: &Config, out: &Path) -> Result<Exported, ToolError> {
    if !out.is_dir() {
        return Err(ToolError::Failed(format!(
            "--out {} does not exist or is not a directory",
            out.display()
        )));
    }
    let (_, recovered) = recover_offline(config)?;
    let zxid = recovered.tree.last_zxid();
    check_nothing_newer(out, zxid)?;
    let (path, bytes) =
        zookeeper::export(&recovered.tree, &recovered.sessions, out).map_err(|e| {
            ToolError::Failed(format!(
                "cannot write ZooKeeper's snapshot in {}: {e}",
                out.display()
            ))
        })?;
    Ok(Exported {
        path,
        bytes,
        zxid,
        nodes: recovered.tree.node_count(),
        sessions: recovered.sessions.len(),
    })
}

/// ZooKeeper starts from its newest snapshot and replays the logs after it: files of
/// its own at or above the exported zxid would win over the export (or, for a log,
/// be replayed on top of it).
fn check_nothing_newer(out: &Path, zxid: i64) -> Result<(), ToolError> {
    let existing = ZkFiles::list(out, out).map_err(|e| ToolError::Failed(e.to_string()))?;
    if existing.is_empty() {
        return Ok(());
    }
    let newest = zookeeper::last_zxid(&existing);
    if newest >= zxid {
        return Err(ToolError::Failed(format!(
            "{} already holds ZooKeeper files up to zxid 0x{newest:x}, not older than the \
             state to export (0x{zxid:x}): ZooKeeper would start from those; move them away \
             or export into an empty directory",
            out.join(zookeeper::files::VERSION_DIR).display()
        )));
    }
    Ok(())
}
