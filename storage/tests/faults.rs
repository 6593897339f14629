//! Injected I/O failures: a failed batch is never claimed durable, never reappears
//! after a restart when the log said it removed it, and the log carries on once the
//! disk recovers.

mod common;

use std::fs;

use common::*;
use ferrokeeper_storage::{Error, Log};

/// The entries a fresh open of `dir` replays.
fn reopened(dir: &std::path::Path) -> Vec<i64> {
    let (_log, recovery) = Log::open(dir, opts()).unwrap();
    assert!(
        recovery.repairs().is_empty(),
        "a cleaned-up failure leaves nothing to repair: {:?}",
        recovery.repairs()
    );
    replay(&recovery, 0)
}

#[test]
fn enospc_on_write_fails_the_batch_and_the_log_continues_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=5, 5);
    let first_segment = log.active_segment().unwrap().to_owned();

    faults.set_disk_full(true);
    log.append(&entries(6..=8)).unwrap();
    let err = log.sync().unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert!(!matches!(err, Error::Poisoned { .. }));
    assert_eq!(log.durable_zxid(), 5);
    assert_eq!(log.last_zxid(), 5, "the failed zxids may be reused");
    assert_eq!(log.pending_entries(), 0);
    // Still full: the next attempt (in a new segment) fails the same way, and leaves
    // no file behind.
    log.append(&entries(6..=8)).unwrap();
    assert!(log.sync().unwrap_err().is_no_space());
    assert_eq!(segments(dir.path()), vec![first_segment.clone()]);

    faults.set_disk_full(false);
    log.append(&entries(6..=8)).unwrap();
    assert_eq!(log.sync().unwrap(), 8);
    assert_ne!(log.active_segment().unwrap(), first_segment);
    drop(log);
    assert_eq!(reopened(dir.path()), (1..=8).collect::<Vec<_>>());
}

#[test]
fn a_short_write_is_cut_back_so_nothing_of_the_batch_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=5, 5);
    let seg = log.active_segment().unwrap().to_owned();
    let good_len = *record_offsets(1..=6).last().unwrap();

    // Half a record fits, then the disk is full.
    faults.limit_writes(Some(30));
    log.append(&entries(6..=9)).unwrap();
    assert!(log.sync().unwrap_err().is_no_space());
    assert_eq!(
        fs::metadata(&seg).unwrap().len(),
        good_len,
        "cut back and unpreallocated"
    );
    faults.limit_writes(None);

    // The caller renumbers from the durable zxid; a different batch takes the zxids.
    log.append(&entries([6, 7])).unwrap();
    log.sync().unwrap();
    drop(log);
    assert_eq!(reopened(dir.path()), (1..=7).collect::<Vec<_>>());
}

#[test]
fn enospc_while_preallocating_a_new_segment_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=3, 3);
    log.roll().unwrap();
    faults.set_disk_full(true);
    log.append(&entries([4])).unwrap();
    let err = log.sync().unwrap_err();
    assert!(err.is_no_space());
    assert!(err.to_string().contains("preallocate"), "{err}");
    assert_eq!(segments(dir.path()).len(), 1);
    faults.set_disk_full(false);
    log.append(&entries([4])).unwrap();
    log.sync().unwrap();
    drop(log);
    assert_eq!(reopened(dir.path()), (1..=4).collect::<Vec<_>>());
}

#[test]
fn a_failed_fsync_fails_the_batch_and_the_next_batch_goes_to_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=5, 5);
    let seg = log.active_segment().unwrap().to_owned();

    faults.fail_next_syncs(1);
    log.append(&entries(6..=7)).unwrap();
    let err = log.sync().unwrap_err();
    assert!(err.to_string().contains("fdatasync"), "{err}");
    assert!(!err.is_no_space());
    assert_eq!(log.durable_zxid(), 5);
    assert_eq!(log.active_segment(), None);

    log.append(&entries(6..=7)).unwrap();
    log.sync().unwrap();
    assert_ne!(log.active_segment().unwrap(), seg);
    drop(log);
    assert_eq!(reopened(dir.path()), (1..=7).collect::<Vec<_>>());
}

#[test]
fn a_failure_that_cannot_be_cleaned_up_poisons_the_log_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=5, 5);
    // The data sync fails, then so does the fsync after cutting the batch off.
    faults.fail_next_syncs(2);
    log.append(&entries(6..=7)).unwrap();
    let err = log.sync().unwrap_err();
    match &err {
        // Both failures are named: the batch's fdatasync, then the cut-back's fsync.
        Error::Poisoned { cause } => match cause.as_ref() {
            Error::CutBack { write, cut } => {
                assert!(write.to_string().contains("fdatasync"), "{write}");
                assert!(cut.to_string().contains("fsync"), "{cut}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(log.poisoned().is_some());
    assert!(matches!(
        log.append(&entries([6])),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(log.sync(), Err(Error::Poisoned { .. })));
    assert!(matches!(log.roll(), Err(Error::Poisoned { .. })));
    assert_eq!(log.durable_zxid(), 5);
    drop(log);

    // Reopening lets recovery decide; whatever it finds, the log goes on from there.
    let (mut log, recovery) = Log::open(dir.path(), opts()).unwrap();
    let found = replay(&recovery, 0);
    assert!(found == (1..=5).collect::<Vec<_>>() || found == (1..=7).collect::<Vec<_>>());
    let next = log.last_zxid() + 1;
    write(&mut log, next..=next + 2, 3);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(replay(&recovery, 0).last(), Some(&(next + 2)));
}

#[test]
fn a_failed_roll_poisons_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), small_opts());
    write(&mut log, 1..=3, 3);
    faults.fail_next_syncs(1);
    assert!(matches!(log.roll(), Err(Error::Poisoned { .. })));
    drop(log);
    assert_eq!(reopened(dir.path()), (1..=3).collect::<Vec<_>>());
}

#[test]
fn failed_batches_never_resurface_across_many_failures() {
    // Alternate successes and assorted failures; the log must hold exactly the
    // batches that were reported durable.
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), small_opts());
    let mut durable = Vec::new();
    let mut next = 1;
    for round in 0..60 {
        match round % 4 {
            1 => faults.set_disk_full(true),
            2 => faults.limit_writes(Some(round * 3)),
            3 => faults.fail_next_syncs(1),
            _ => {}
        }
        let batch: Vec<i64> = (next..next + 3).collect();
        log.append(&entries(batch.iter().copied())).unwrap();
        match log.sync() {
            Ok(z) => {
                assert_eq!(z, next + 2);
                durable.extend(batch);
                next += 3;
            }
            Err(e) => {
                assert!(!matches!(e, Error::Poisoned { .. }), "{e}");
                assert_eq!(log.last_zxid(), next - 1);
            }
        }
        faults.set_disk_full(false);
        faults.limit_writes(None);
        faults.fail_next_syncs(0);
    }
    assert!(durable.len() > 30);
    drop(log);
    assert_eq!(reopened(dir.path()), durable);
}
