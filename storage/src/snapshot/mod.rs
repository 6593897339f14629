//! Snapshots (`dataDir`): a header, the caller's content (optionally zstd-compressed),
//! a trailer with a checksum — written to a temp file, fsynced, renamed into place.
//!
//! - [`mod@format`]: the bytes around the content and the file names;
//! - [`writer`]: [`SnapshotWriter`], streaming;
//! - [`reader`]: [`SnapshotReader`] (streaming, verifying) and [`verify`];
//! - this file: listing a directory and choosing the snapshot to start from.
//!
//! Choosing never skips silently: [`latest_valid_snapshot`] returns the newest snapshot
//! that verifies **and** every newer one that did not, with its error; the caller
//! decides whether starting from an older one is acceptable (it usually is, if the log
//! still reaches back to it — [`crate::Recovery::entries_after`] checks that).

pub mod format;
pub mod reader;
pub mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::env::{FileSystem, StdFileSystem};
use crate::error::{Error, IoContext, Result};
use crate::zxid::Zxid;
pub use reader::{verify, verify_with_env, SnapshotReader};
pub use writer::SnapshotWriter;

/// What a snapshot file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub path: PathBuf,
    /// The last transaction the snapshot reflects: replay the log after it.
    pub zxid: Zxid,
    pub compressed: bool,
    pub file_len: u64,
    /// Bytes of content before compression.
    pub content_len: u64,
}

/// The result of [`latest_valid_snapshot`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotSelection {
    /// The newest snapshot that verifies; `None` if the directory has no snapshot.
    pub latest: Option<SnapshotInfo>,
    /// Snapshots newer than `latest` that failed verification, newest first. Non-empty
    /// means the caller is about to start from an older state than the newest on disk.
    pub invalid_newer: Vec<Error>,
}

/// The snapshot files of `dir` (not temp files), oldest first, by zxid.
pub fn list_snapshots(fs: &Arc<dyn FileSystem>, dir: &Path) -> Result<Vec<(Zxid, PathBuf)>> {
    let names = match fs.list_dir(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut snaps: Vec<(Zxid, PathBuf)> = names
        .into_iter()
        .filter_map(|n| format::parse_snapshot_name(&n).map(|z| (z, dir.join(n))))
        .collect();
    snaps.sort();
    Ok(snaps)
}

/// [`latest_valid_snapshot_with_env`] on the real file system.
pub fn latest_valid_snapshot(dir: impl AsRef<Path>) -> Result<SnapshotSelection> {
    latest_valid_snapshot_with_env(&(Arc::new(StdFileSystem) as Arc<dyn FileSystem>), dir)
}

/// Verifies snapshots newest first and stops at the first that verifies. Returns
/// [`Error::NoValidSnapshot`] if there are snapshots but none verifies; an empty
/// selection if there are none.
pub fn latest_valid_snapshot_with_env(
    fs: &Arc<dyn FileSystem>,
    dir: impl AsRef<Path>,
) -> Result<SnapshotSelection> {
    let mut selection = SnapshotSelection::default();
    for (_, path) in list_snapshots(fs, dir.as_ref())?.into_iter().rev() {
        match verify_with_env(fs, &path) {
            Ok(info) => {
                selection.latest = Some(info);
                return Ok(selection);
            }
            Err(e) => selection.invalid_newer.push(e),
        }
    }
    if selection.invalid_newer.is_empty() {
        Ok(selection)
    } else {
        Err(Error::NoValidSnapshot {
            invalid: selection.invalid_newer,
        })
    }
}

/// Removes unfinished snapshots (`snapshot.<zxid>.tmp`) left by a crash. Call it at
/// startup, before any [`SnapshotWriter`] runs: a writer's temp file looks the same.
pub fn remove_temp_files(fs: &Arc<dyn FileSystem>, dir: &Path) -> Result<Vec<PathBuf>> {
    let names = match fs.list_dir(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut removed = Vec::new();
    for name in names.into_iter().filter(|n| format::is_temp_name(n)) {
        let path = dir.join(name);
        fs.remove_file(&path).ctx("remove", &path)?;
        removed.push(path);
    }
    if !removed.is_empty() {
        fs.sync_dir(dir).ctx("fsync", dir)?;
    }
    Ok(removed)
}
