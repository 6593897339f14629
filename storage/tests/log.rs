//! The log's normal life: append, sync, roll, reopen, replay; the checks it makes on
//! what it is given.

mod common;

use std::fs;

use common::*;
use ferrokeeper_storage::zxid::make;
use ferrokeeper_storage::{Entry, Error, Log, LogOptions};

#[test]
fn entries_round_trip_through_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert_eq!(recovery.last_zxid(), 0);
    assert!(recovery.segments().is_empty());
    write(&mut log, 1..=10, 3);
    assert_eq!(log.durable_zxid(), 10);
    assert_eq!(log.close().unwrap(), 10);

    let (log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(recovery.last_zxid(), 10);
    assert_eq!(log.last_zxid(), 10);
    assert_eq!(replay(&recovery, 0), (1..=10).collect::<Vec<_>>());
    assert_eq!(replay(&recovery, 7), vec![8, 9, 10]);
    assert_eq!(replay(&recovery, 10), Vec::<i64>::new());
    assert_eq!(replay(&recovery, 99), Vec::<i64>::new());
}

#[test]
fn many_segments_replay_in_order_from_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=600, 7);
    drop(log);
    let segs = segments(dir.path());
    assert!(segs.len() > 10, "only {} segments", segs.len());

    let (_log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert!(recovery.repairs().is_empty(), "{:?}", recovery.repairs());
    assert_eq!(recovery.segments().len(), segs.len());
    for w in recovery.segments().windows(2) {
        assert_eq!(w[1].prev_zxid, w[0].last_zxid);
        assert_eq!(w[1].first_zxid, w[0].last_zxid + 1);
    }
    for after in [0, 1, 99, 300, 599, 600] {
        assert_eq!(
            replay(&recovery, after),
            ((after + 1)..=600).collect::<Vec<_>>()
        );
    }
}

#[test]
fn segments_are_named_by_first_zxid_and_hold_header_magic() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), LogOptions::default()).unwrap();
    let first = make(3, 1);
    log.append(&[Entry::new(first, &b"x"[..])]).unwrap();
    log.sync().unwrap();
    let path = dir.path().join("log.0000000300000001");
    assert_eq!(log.active_segment(), Some(path.as_path()));
    let data = fs::read(&path).unwrap();
    assert_eq!(&data[..8], b"FKTXNLOG");
    // Preallocated to preAllocSize.
    assert_eq!(data.len() as u64, LogOptions::default().prealloc_size);
    log.close().unwrap();
    // Closing releases the preallocation.
    assert_eq!(fs::metadata(&path).unwrap().len(), 40 + 16 + 1);
}

#[test]
fn each_open_starts_a_new_segment_that_links_to_the_last() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let (mut log, recovery) = Log::open(dir.path(), opts()).unwrap();
        assert_eq!(recovery.segments().len(), round);
        let base = round as i64 * 10;
        write(&mut log, base + 1..=base + 10, 4);
    }
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(replay(&recovery, 0), (1..=30).collect::<Vec<_>>());
}

#[test]
fn roll_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=5, 5);
    log.roll().unwrap();
    write(&mut log, 6..=8, 5);
    assert_eq!(segments(dir.path()).len(), 2);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(recovery.segments()[1].first_zxid, 6);
    assert_eq!(replay(&recovery, 0), (1..=8).collect::<Vec<_>>());
}

#[test]
fn zxids_must_strictly_increase_and_a_bad_append_takes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=5, 5);
    assert!(matches!(
        log.append(&entries([5])),
        Err(Error::ZxidNotIncreasing { zxid: 5, last: 5 })
    ));
    assert!(matches!(
        log.append(&entries([3])),
        Err(Error::ZxidNotIncreasing { zxid: 3, last: 5 })
    ));
    // Out of order inside one call: nothing of it is taken.
    assert!(matches!(
        log.append(&entries([6, 7, 7])),
        Err(Error::ZxidNotIncreasing { zxid: 7, last: 7 })
    ));
    assert!(matches!(
        log.append(&entries([6, 8])),
        Err(Error::ZxidGap { zxid: 8, last: 6 })
    ));
    assert_eq!(log.pending_entries(), 0);
    assert_eq!(log.last_zxid(), 5);
    assert!(matches!(
        log.append(&entries([0])),
        Err(Error::InvalidZxid(0))
    ));
    assert!(matches!(
        log.append(&entries([-4])),
        Err(Error::InvalidZxid(-4))
    ));
    // Buffered entries count too.
    log.append(&entries([6])).unwrap();
    assert!(matches!(
        log.append(&entries([6])),
        Err(Error::ZxidNotIncreasing { .. })
    ));
    // Skipping zxids inside a batch is refused; at the start of a batch it is fine
    // (and starts a new segment), as is a new epoch anywhere.
    assert!(matches!(
        log.append(&entries([9])),
        Err(Error::ZxidGap { zxid: 9, last: 6 })
    ));
    log.append(&entries([7, make(1, 1)])).unwrap();
    log.sync().unwrap();
    assert_eq!(segments(dir.path()).len(), 1);
    log.append(&entries([make(1, 5), make(1, 6)])).unwrap();
    log.sync().unwrap();
    assert_eq!(segments(dir.path()).len(), 2);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(
        replay(&recovery, 0),
        vec![1, 2, 3, 4, 5, 6, 7, make(1, 1), make(1, 5), make(1, 6)]
    );
    assert_eq!(recovery.segments()[1].prev_zxid, make(1, 1));
}

#[test]
fn oversized_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LogOptions {
        max_entry_size: 10,
        ..opts()
    };
    let (mut log, _) = Log::open(dir.path(), opts).unwrap();
    log.append(&[Entry::new(1, vec![1u8; 10])]).unwrap();
    assert!(matches!(
        log.append(&[Entry::new(2, vec![1u8; 11])]),
        Err(Error::EntryTooLarge {
            zxid: 2,
            len: 11,
            max: 10
        })
    ));
}

#[test]
fn unsynced_entries_are_not_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=3, 3);
    log.append(&entries([4, 5])).unwrap();
    assert_eq!(log.last_zxid(), 5);
    assert_eq!(log.durable_zxid(), 3);
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(replay(&recovery, 0), vec![1, 2, 3]);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, _) = Log::open(dir.path(), opts()).unwrap();
    assert!(matches!(
        Log::open(dir.path(), opts()),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn force_sync_off_skips_fdatasync_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let no_sync = LogOptions {
        force_sync: false,
        ..opts()
    };
    let (mut log, _, faults) = open_faulty(dir.path(), no_sync);
    write(&mut log, 1..=20, 2);
    assert_eq!(faults.file_syncs(), 0);
    drop(log);
    let (mut log, recovery, faults) = open_faulty(dir.path(), opts());
    assert_eq!(replay(&recovery, 0), (1..=20).collect::<Vec<_>>());
    let before = faults.file_syncs();
    write(&mut log, 21..=30, 2);
    assert_eq!(faults.file_syncs() - before, 5);
}

#[test]
fn log_and_snapshot_directories_may_differ_or_be_shared() {
    // The log only looks at its own files, so sharing a directory with snapshots and
    // other files is harmless.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("snapshot.0000000000000005"), b"not a log").unwrap();
    fs::write(dir.path().join("myid"), b"1").unwrap();
    let nested = dir.path().join("a/b/log");
    let (mut log, _) = Log::open(&nested, opts()).unwrap();
    write(&mut log, 1..=3, 1);
    drop(log);
    let (mut log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert!(recovery.segments().is_empty());
    write(&mut log, 1..=2, 1);
    let (_log2, recovery) = Log::open(&nested, opts()).unwrap();
    assert_eq!(replay(&recovery, 0), vec![1, 2, 3]);
}

#[test]
fn lowering_max_entry_size_does_not_make_the_log_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    log.append(&[Entry::new(1, vec![7u8; 5000])]).unwrap();
    log.sync().unwrap();
    drop(log);
    let strict = LogOptions {
        max_entry_size: 100,
        ..opts()
    };
    let (_log, recovery) = Log::open(dir.path(), strict).unwrap();
    assert!(recovery.repairs().is_empty());
    let all: Vec<Entry> = recovery
        .entries_after(0)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(all, vec![Entry::new(1, vec![7u8; 5000])]);
}

#[test]
fn read_segment_lists_records_without_changing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=4, 2);
    drop(log);
    let seg = &segments(dir.path())[0];
    let before = fs::read(seg).unwrap();
    let env: std::sync::Arc<dyn ferrokeeper_storage::env::FileSystem> =
        std::sync::Arc::new(ferrokeeper_storage::env::StdFileSystem);
    let dump = ferrokeeper_storage::read_segment(&env, seg).unwrap();
    assert_eq!(dump.header.first_zxid, 1);
    assert_eq!(dump.header.prev_zxid, 0);
    assert_eq!(dump.entries.len(), 4);
    assert_eq!(
        dump.entries.iter().map(|(off, _)| *off).collect::<Vec<_>>(),
        record_offsets(1..=4)
    );
    assert_eq!(dump.entries[2].1, entry(3));
    assert_eq!(dump.end, ferrokeeper_storage::ScanEnd::ZeroTail);
    assert_eq!(fs::read(seg).unwrap(), before);
}
