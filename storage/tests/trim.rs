//! Cutting the log's suffix and purging its prefix: durable, visible to readers at
//! once, exactly what recovery sees afterwards, across segments and with pending
//! entries, and safe when an fsync fails part-way.

mod common;

use std::fs;

use common::*;
use ferrokeeper_storage::{Entry, Error, Log, Zxid};

/// The entries a fresh open of `dir` replays (any payload), and its repairs count.
fn reopen(dir: &std::path::Path) -> (Vec<Entry>, usize) {
    let (_log, recovery) = Log::open(dir, small_opts()).unwrap();
    let entries = recovery
        .entries_after(0)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (entries, recovery.repairs().len())
}

fn keys(entries: &[Entry]) -> Vec<Zxid> {
    entries.iter().map(|e| e.zxid).collect()
}

fn replaced(zxid: Zxid) -> Entry {
    Entry::new(zxid, format!("second term {zxid}").into_bytes())
}

#[test]
fn truncation_across_segments_keeps_exactly_the_prefix_and_keys_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=100, 5);
    let before = segments(dir.path());
    assert!(before.len() > 1, "the test needs several segments");

    assert_eq!(log.truncate_after(37).unwrap(), 37);
    assert_eq!((log.last_zxid(), log.durable_zxid()), (37, 37));
    let after = segments(dir.path());
    assert!(after.len() < before.len());
    assert_eq!(after[..], before[..after.len()], "later segments removed");
    assert_eq!(
        keys(&log.reader().read(..).unwrap()),
        (1..=37).collect::<Vec<_>>()
    );

    // The removed keys are appended again with other contents.
    let new: Vec<Entry> = (38..=45).map(replaced).collect();
    log.append(&new).unwrap();
    assert_eq!(log.sync().unwrap(), 45);
    drop(log);

    let (entries, repairs) = reopen(dir.path());
    assert_eq!(repairs, 0, "a truncation leaves nothing to repair");
    assert_eq!(keys(&entries), (1..=45).collect::<Vec<_>>());
    for e in &entries[..37] {
        assert_eq!(e.payload.as_ref(), payload(e.zxid).as_slice());
    }
    assert_eq!(entries[37..], new[..]);
}

#[test]
fn truncation_drops_pending_entries_after_the_key_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=10, 10);
    log.append(&entries(11..=15)).unwrap();

    assert_eq!(log.truncate_after(12).unwrap(), 12);
    assert_eq!(log.pending_entries(), 2);
    assert_eq!(log.durable_zxid(), 10);
    assert_eq!(log.sync().unwrap(), 12);

    // Pending entries and durable ones at once.
    log.append(&entries(13..=14)).unwrap();
    assert_eq!(log.truncate_after(7).unwrap(), 7);
    assert_eq!(log.pending_entries(), 0);
    assert_eq!(log.sync().unwrap(), 7);
    drop(log);
    assert_eq!(keys(&reopen(dir.path()).0), (1..=7).collect::<Vec<_>>());
}

#[test]
fn truncating_everything_leaves_an_empty_log_that_continues_from_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=30, 4);
    assert_eq!(log.truncate_after(0).unwrap(), 0);
    assert!(segments(dir.path()).is_empty());
    assert!(log.reader().read(..).unwrap().is_empty());
    log.append(&[replaced(1)]).unwrap();
    log.sync().unwrap();
    drop(log);
    assert_eq!(reopen(dir.path()).0, vec![replaced(1)]);
}

#[test]
fn truncation_after_a_reopen_cuts_the_segment_holding_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=20, 20);
    drop(log);
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    log.truncate_after(9).unwrap();
    let seg = &segments(dir.path())[0];
    assert_eq!(
        fs::metadata(seg).unwrap().len(),
        record_offsets(1..=10)[9],
        "cut right after record 9"
    );
    drop(log);
    assert_eq!(keys(&reopen(dir.path()).0), (1..=9).collect::<Vec<_>>());
}

#[test]
fn a_failed_fsync_while_cutting_poisons_and_recovery_keeps_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
        write(&mut log, 1..=60, 6);
    }
    let (mut log, _, faults) = open_faulty(dir.path(), small_opts());
    faults.fail_next_syncs(1);
    let err = log.truncate_after(20).unwrap_err();
    assert!(matches!(err, Error::Poisoned { .. }), "{err}");
    assert!(matches!(
        log.append(&entries(21..=22)),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(
        log.truncate_after(10),
        Err(Error::Poisoned { .. })
    ));
    drop(log);

    let (entries, repairs) = reopen(dir.path());
    assert_eq!(repairs, 0);
    let kept = keys(&entries);
    assert!(kept.len() >= 20 && kept.len() <= 60, "{kept:?}");
    assert_eq!(kept, (1..=kept.len() as Zxid).collect::<Vec<_>>());
}

#[test]
fn a_failed_fsync_while_sealing_the_active_segment_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), small_opts());
    write(&mut log, 1..=60, 6);
    faults.fail_next_syncs(1);
    assert!(matches!(
        log.truncate_after(20),
        Err(Error::Poisoned { .. })
    ));
    drop(log);
    assert_eq!(keys(&reopen(dir.path()).0), (1..=60).collect::<Vec<_>>());
}

#[test]
fn a_torn_tail_after_a_truncation_is_cut_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=30, 10);
    log.truncate_after(12).unwrap();
    write(&mut log, 13..=16, 4);
    let last = log.active_segment().unwrap().to_owned();
    drop(log);
    // Tear the last record: its last bytes never reached the disk.
    let end = record_offsets(13..=17)[4];
    fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(end - 3)
        .unwrap();

    let (log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(recovery.repairs().len(), 1, "{:?}", recovery.repairs());
    assert_eq!(replay(&recovery, 0), (1..=15).collect::<Vec<_>>());
    assert_eq!(
        keys(&log.reader().read(..).unwrap()),
        (1..=15).collect::<Vec<_>>()
    );
}

#[test]
fn purge_deletes_whole_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert!(recovery.segments().is_empty());
    write(&mut log, 1..=100, 5);
    let before = segments(dir.path());
    let reader = log.reader();

    let removed = log.purge_through(60).unwrap();
    assert!(!removed.is_empty());
    assert_eq!(removed[..], before[..removed.len()]);
    let first = reader.first_zxid().unwrap();
    assert!(
        first <= 61,
        "the segment holding 61 stays: first is {first}"
    );
    assert!(first > 1);
    assert_eq!(
        keys(&reader.read(..).unwrap()),
        (first..=100).collect::<Vec<_>>()
    );
    write(&mut log, 101..=103, 3);
    drop(log);

    let (log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert_eq!(recovery.segments()[0].first_zxid, first);
    assert_eq!(
        replay(&recovery, first - 1),
        (first..=103).collect::<Vec<_>>()
    );
    assert_eq!(log.reader().first_zxid(), Some(first));
}

#[test]
fn purging_every_segment_leaves_a_log_that_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=40, 5);
    log.purge_through(40).unwrap();
    assert!(segments(dir.path()).is_empty());
    assert_eq!(log.reader().last_zxid(), None);
    assert_eq!(log.last_zxid(), 40, "keys continue after the purged ones");
    write(&mut log, 41..=42, 2);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert_eq!(replay(&recovery, 40), vec![41, 42]);
    assert_eq!(recovery.segments()[0].prev_zxid, 40);
}

#[test]
fn truncation_and_purge_fsync_the_cut_file_and_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
        write(&mut log, 1..=100, 5);
    }
    let (mut log, _, faults) = open_faulty(dir.path(), small_opts());
    let count = segments(dir.path()).len();
    let (files, dirs) = (faults.file_syncs(), faults.dir_syncs());
    log.truncate_after(50).unwrap();
    assert!(segments(dir.path()).len() < count);
    assert_eq!(faults.file_syncs(), files + 1, "the cut segment is fsynced");
    assert_eq!(faults.dir_syncs(), dirs + 1, "the removals are fsynced");

    let dirs = faults.dir_syncs();
    assert!(!log.purge_through(50).unwrap().is_empty());
    assert_eq!(faults.dir_syncs(), dirs + 1);
    // Nothing to remove: nothing to sync.
    assert!(log.purge_through(0).unwrap().is_empty());
    assert_eq!(faults.dir_syncs(), dirs + 1);
}

#[test]
fn a_log_without_an_index_refuses_to_truncate_or_purge_and_finds_nothing_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let unindexed = ferrokeeper_storage::LogOptions {
        index_records: false,
        ..small_opts()
    };
    let (mut log, _) = Log::open(dir.path(), unindexed.clone()).unwrap();
    write(&mut log, 1..=20, 5);
    assert!(matches!(log.truncate_after(10), Err(Error::Unindexed)));
    assert!(matches!(log.purge_through(10), Err(Error::Unindexed)));
    assert_eq!(log.reader().last_zxid(), None, "no memory kept per record");
    drop(log);
    // Nothing was cut: every record is still replayed.
    let (_log, recovery) = Log::open(dir.path(), unindexed).unwrap();
    let replayed: Vec<Entry> = recovery
        .entries_after(0)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(keys(&replayed), (1..=20).collect::<Vec<_>>());
}
