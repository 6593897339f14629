//! Retention: keep the newest valid snapshots and every segment needed to replay from
//! the oldest of them; delete nothing still needed.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use common::*;
use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::snapshot::format::snapshot_name;
use ferrokeeper_storage::{plan_purge, purge, Error, Log, SnapshotOptions, SnapshotWriter, Zxid};

fn snap(dir: &Path, zxid: Zxid) {
    let mut w = SnapshotWriter::create(dir, zxid, SnapshotOptions::default()).unwrap();
    w.write_all(format!("state at {zxid}").as_bytes()).unwrap();
    w.finish().unwrap();
}

/// A log of 1..=400 in small segments in `log_dir`, snapshots at `snaps` in `snap_dir`.
fn setup(snaps: &[Zxid]) -> (tempfile::TempDir, tempfile::TempDir) {
    let (snap_dir, log_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut log, _) = Log::open(log_dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=400, 5);
    log.close().unwrap();
    for &z in snaps {
        snap(snap_dir.path(), z);
    }
    (snap_dir, log_dir)
}

fn env() -> Arc<dyn FileSystem> {
    Arc::new(StdFileSystem)
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_log_they_need() {
    let (snap_dir, log_dir) = setup(&[50, 100, 150, 200, 250, 300]);
    let segs_before = segments(log_dir.path());
    let plan = purge(snap_dir.path(), log_dir.path(), 3).unwrap();
    assert_eq!(plan.oldest_retained, Some(200));
    assert_eq!(
        names(snap_dir.path()),
        [200, 250, 300].map(snapshot_name).to_vec()
    );
    assert_eq!(plan.snapshots.len(), 3);
    assert!(!plan.segments.is_empty());
    assert_eq!(
        segments(log_dir.path()).len() + plan.segments.len(),
        segs_before.len()
    );

    // Everything after the oldest kept snapshot still replays; nothing before 200 is
    // kept beyond the segment holding 201.
    let (_log, recovery) = Log::open(log_dir.path(), small_opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(replay(&recovery, 200), (201..=400).collect::<Vec<_>>());
    let oldest = &recovery.segments()[0];
    assert!(
        oldest.first_zxid <= 201 && oldest.last_zxid >= 201,
        "{oldest:?}"
    );
    assert!(matches!(
        recovery.entries_after(100),
        Err(Error::LogTooShort { .. })
    ));
}

#[test]
fn retain_count_is_at_least_three() {
    let (snap_dir, log_dir) = setup(&[100, 200, 300, 350]);
    let plan = purge(snap_dir.path(), log_dir.path(), 1).unwrap();
    assert_eq!(plan.oldest_retained, Some(200));
    assert_eq!(names(snap_dir.path()).len(), 3);
}

#[test]
fn nothing_is_deleted_with_too_few_snapshots() {
    let (snap_dir, log_dir) = setup(&[100, 200, 300]);
    let segs = segments(log_dir.path());
    let plan = purge(snap_dir.path(), log_dir.path(), 5).unwrap();
    assert_eq!(plan.oldest_retained, None);
    assert!(plan.snapshots.is_empty() && plan.segments.is_empty());
    assert_eq!(names(snap_dir.path()).len(), 3);
    assert_eq!(segments(log_dir.path()), segs);
}

#[test]
fn invalid_snapshots_do_not_count_towards_retention() {
    let (snap_dir, log_dir) = setup(&[50, 100, 150, 200, 250]);
    // The two newest are damaged: they must not push out the good ones.
    for z in [200, 250] {
        flip_byte(&snap_dir.path().join(snapshot_name(z)), 40);
    }
    let plan = purge(snap_dir.path(), log_dir.path(), 3).unwrap();
    assert_eq!(plan.oldest_retained, Some(50));
    assert!(plan.snapshots.is_empty());
    assert_eq!(names(snap_dir.path()).len(), 5);
    // With only two valid snapshots left, nothing at all goes.
    flip_byte(&snap_dir.path().join(snapshot_name(150)), 40);
    let plan = purge(snap_dir.path(), log_dir.path(), 3).unwrap();
    assert_eq!(plan.oldest_retained, None);
    assert!(plan.segments.is_empty());
}

#[test]
fn the_active_segment_is_never_deleted() {
    // Snapshots beyond the end of the log: only the newest segment is needed.
    let (snap_dir, log_dir) = setup(&[500, 600, 700]);
    let segs = segments(log_dir.path());
    let plan = plan_purge(&env(), snap_dir.path(), log_dir.path(), 3).unwrap();
    assert_eq!(plan.segments.len(), segs.len() - 1);
    purge(snap_dir.path(), log_dir.path(), 3).unwrap();
    assert_eq!(segments(log_dir.path()), vec![segs.last().unwrap().clone()]);
    let (_log, recovery) = Log::open(log_dir.path(), small_opts()).unwrap();
    assert_eq!(recovery.last_zxid(), 400);
}

#[test]
fn segments_are_kept_from_the_one_holding_the_zxid_after_the_snapshot() {
    // `boundary` is the last zxid of segment 2; segment 3 starts at boundary + 1.
    let boundary = {
        let (_s, log_dir) = setup(&[]);
        let (_log, recovery) = Log::open(log_dir.path(), small_opts()).unwrap();
        recovery.segments()[3].prev_zxid
    };
    // (oldest retained snapshot, segments that may go)
    for (oldest, deletable) in [(boundary, 3), (boundary - 1, 2), (boundary + 1, 3)] {
        let (snap_dir, log_dir) = setup(&[oldest, oldest + 5, oldest + 10]);
        let plan = purge(snap_dir.path(), log_dir.path(), 3).unwrap();
        assert_eq!(plan.oldest_retained, Some(oldest));
        assert_eq!(plan.segments.len(), deletable, "snapshot at {oldest}");
        let (_log, recovery) = Log::open(log_dir.path(), small_opts()).unwrap();
        assert_eq!(
            replay(&recovery, oldest),
            ((oldest + 1)..=400).collect::<Vec<_>>()
        );
    }
}

#[test]
fn purge_leaves_unrelated_and_set_aside_files_alone() {
    let (snap_dir, log_dir) = setup(&[100, 200, 300, 350]);
    for name in [
        "snapshot.0000000000000001.tmp",
        "myid",
        "log.0000000000000001.corrupt",
    ] {
        fs::write(snap_dir.path().join(name), b"x").unwrap();
        fs::write(log_dir.path().join(name), b"x").unwrap();
    }
    purge(snap_dir.path(), log_dir.path(), 3).unwrap();
    for name in [
        "snapshot.0000000000000001.tmp",
        "myid",
        "log.0000000000000001.corrupt",
    ] {
        assert!(snap_dir.path().join(name).exists());
        assert!(log_dir.path().join(name).exists());
    }
}

#[test]
fn shared_data_and_log_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=300, 5);
    for z in [100, 150, 200, 250] {
        snap(dir.path(), z);
    }
    // Purging while the log is open (and then appending more) is fine.
    let plan = purge(dir.path(), dir.path(), 3).unwrap();
    assert_eq!(plan.oldest_retained, Some(150));
    write(&mut log, 301..=310, 5);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert_eq!(replay(&recovery, 150), (151..=310).collect::<Vec<_>>());
}
