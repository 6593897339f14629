//! Retention (ZooKeeper's autopurge): keep the newest `autopurge.snapRetainCount`
//! snapshots that **verify** and every log segment needed to replay from the oldest of
//! them; delete what is older. Never delete anything still needed:
//!
//! - snapshots are counted only if they verify, so damaged ones never push a good one
//!   out; with fewer valid snapshots than the retain count, nothing at all is deleted;
//! - snapshots newer than the oldest retained one are kept whatever their state;
//! - a segment is kept if it may hold an entry after the oldest retained snapshot's
//!   zxid `S`: the newest segment whose first zxid is ≤ `S + 1`, and all later ones
//!   (so the active segment is always kept);
//! - segments are deleted oldest first, so an interrupted purge leaves a log that is
//!   still one contiguous run;
//! - unfinished (`.tmp`) snapshots and set-aside (`.corrupt`, `.discarded`) segments
//!   are left alone.
//!
//! Purge reads directories by name only (plus verifying snapshots), so it may run on
//! another thread while the log appends: new segments are newer than anything it
//! deletes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::env::{FileSystem, StdFileSystem};
use crate::error::{IoContext, Result};
use crate::log::format::parse_segment_name;
use crate::options::MIN_SNAP_RETAIN_COUNT;
use crate::snapshot::{list_snapshots, verify_with_env};
use crate::zxid::Zxid;

/// What a purge keeps and deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgePlan {
    /// The zxid of the oldest retained valid snapshot: replay must be able to start
    /// there. `None` when nothing is deleted because there are too few valid snapshots.
    pub oldest_retained: Option<Zxid>,
    /// Snapshot files to delete, oldest first.
    pub snapshots: Vec<PathBuf>,
    /// Segment files to delete, oldest first.
    pub segments: Vec<PathBuf>,
}

/// Decides what to delete without deleting anything. `retain_count` below
/// [`MIN_SNAP_RETAIN_COUNT`] is raised to it, as ZooKeeper does.
pub fn plan_purge(
    fs: &Arc<dyn FileSystem>,
    snap_dir: &Path,
    log_dir: &Path,
    retain_count: usize,
) -> Result<PurgePlan> {
    let retain = retain_count.max(MIN_SNAP_RETAIN_COUNT);
    let snapshots = list_snapshots(fs, snap_dir)?;
    let mut valid = 0;
    let mut oldest_retained = None;
    for (zxid, path) in snapshots.iter().rev() {
        if verify_with_env(fs, path).is_ok() {
            valid += 1;
            if valid == retain {
                oldest_retained = Some(*zxid);
                break;
            }
        }
    }
    let Some(keep_from) = oldest_retained else {
        return Ok(PurgePlan::default());
    };
    let old_snapshots = snapshots
        .into_iter()
        .filter(|(zxid, _)| *zxid < keep_from)
        .map(|(_, path)| path)
        .collect();

    let names = match fs.list_dir(log_dir) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(crate::Error::io("list", log_dir, e)),
    };
    let mut segments: Vec<(Zxid, PathBuf)> = names
        .into_iter()
        .filter_map(|n| parse_segment_name(&n).map(|z| (z, log_dir.join(n))))
        .collect();
    segments.sort();
    // The newest segment that may hold keep_from + 1; everything before it is older.
    let first_needed = segments
        .iter()
        .rposition(|(first, _)| *first <= keep_from.saturating_add(1))
        .unwrap_or(0);
    let old_segments = segments
        .into_iter()
        .take(first_needed)
        .map(|(_, path)| path)
        .collect();
    Ok(PurgePlan {
        oldest_retained,
        snapshots: old_snapshots,
        segments: old_segments,
    })
}

/// [`purge_with_env`] on the real file system.
pub fn purge(
    snap_dir: impl AsRef<Path>,
    log_dir: impl AsRef<Path>,
    retain_count: usize,
) -> Result<PurgePlan> {
    let fs: Arc<dyn FileSystem> = Arc::new(StdFileSystem);
    purge_with_env(&fs, snap_dir.as_ref(), log_dir.as_ref(), retain_count)
}

/// Plans and carries out a purge; returns what was deleted.
pub fn purge_with_env(
    fs: &Arc<dyn FileSystem>,
    snap_dir: &Path,
    log_dir: &Path,
    retain_count: usize,
) -> Result<PurgePlan> {
    let plan = plan_purge(fs, snap_dir, log_dir, retain_count)?;
    // Snapshots first: an interrupted purge never leaves a snapshot without its log.
    for path in &plan.snapshots {
        fs.remove_file(path).ctx("remove", path)?;
    }
    if !plan.snapshots.is_empty() {
        fs.sync_dir(snap_dir).ctx("fsync", snap_dir)?;
    }
    for path in &plan.segments {
        fs.remove_file(path).ctx("remove", path)?;
    }
    if !plan.segments.is_empty() {
        fs.sync_dir(log_dir).ctx("fsync", log_dir)?;
    }
    Ok(plan)
}
