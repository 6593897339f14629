//! Reading records by key with a `LogReader`: after open (the index recovery built),
//! while appending (only synced batches), across segments and epochs, with every
//! record's checksum checked.

mod common;

use std::ops::RangeInclusive;

use common::*;
use ferrokeeper_storage::zxid::make;
use ferrokeeper_storage::{Entry, Error, GroupCommit, GroupCommitOptions, Log, LogReader, Zxid};

fn read(reader: &LogReader, range: RangeInclusive<Zxid>) -> Vec<Zxid> {
    reader
        .read(range)
        .unwrap()
        .into_iter()
        .map(checked)
        .collect()
}

#[test]
fn reads_ranges_across_segments_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), small_opts()).unwrap();
    write(&mut log, 1..=100, 7);
    drop(log);
    let (log, recovery) = Log::open(dir.path(), small_opts()).unwrap();
    assert!(recovery.segments().len() > 1);
    let reader = log.reader();
    assert_eq!(read(&reader, 1..=100), (1..=100).collect::<Vec<_>>());
    assert_eq!(read(&reader, 30..=61), (30..=61).collect::<Vec<_>>());
    assert_eq!(read(&reader, 55..=55), vec![55]);
    assert_eq!(read(&reader, 95..=200), (95..=100).collect::<Vec<_>>());
    assert!(read(&reader, 101..=200).is_empty());
    assert_eq!(reader.read(10..10).unwrap(), vec![]);
    assert_eq!(
        (reader.first_zxid(), reader.last_zxid()),
        (Some(1), Some(100))
    );
}

#[test]
fn sees_a_batch_only_once_it_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    let reader = log.reader();
    assert_eq!(reader.last_zxid(), None);
    write(&mut log, 1..=3, 3);
    log.append(&entries(4..=6)).unwrap();
    assert_eq!(read(&reader, 1..=10), vec![1, 2, 3]);
    log.sync().unwrap();
    assert_eq!(read(&reader, 1..=10), (1..=6).collect::<Vec<_>>());
}

#[test]
fn a_failed_batch_is_never_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, faults) = open_faulty(dir.path(), opts());
    write(&mut log, 1..=3, 3);
    faults.fail_next_syncs(1);
    log.append(&entries(4..=6)).unwrap();
    assert!(log.sync().is_err());
    assert_eq!(read(&log.reader(), 1..=10), vec![1, 2, 3]);
}

#[test]
fn keys_skipped_across_epochs_are_absent() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    let zxids = [make(1, 1), make(1, 2), make(2, 0), make(2, 1)];
    write(&mut log, zxids, 4);
    let all = read(&log.reader(), 0..=Zxid::MAX);
    assert_eq!(all, zxids);
    assert_eq!(read(&log.reader(), make(1, 2)..=make(2, 0)), zxids[1..3]);
}

#[test]
fn a_damaged_record_is_an_error_naming_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), opts()).unwrap();
    write(&mut log, 1..=5, 5);
    let seg = log.active_segment().unwrap().to_owned();
    let offsets = record_offsets(1..=5);
    flip_byte(&seg, offsets[2] + 20);
    let reader = log.reader();
    assert_eq!(read(&reader, 1..=2), vec![1, 2]);
    match reader.read(1..=5) {
        Err(Error::CorruptLog { path, offset, .. }) => {
            assert_eq!((path, offset), (seg, offsets[2]));
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

#[test]
fn reads_while_group_commit_appends_truncates_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), small_opts()).unwrap();
    let commit = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    let reader = commit.reader().clone();
    let writer = std::thread::spawn({
        let reader = reader.clone();
        move || {
            // Whatever is visible is a contiguous, checked run starting at 1.
            for _ in 0..200 {
                let seen = read(&reader, 1..=1000);
                assert_eq!(seen, (1..=seen.len() as Zxid).collect::<Vec<_>>());
            }
        }
    });
    for chunk in (1..=120).collect::<Vec<Zxid>>().chunks(10) {
        assert_eq!(
            commit
                .submit(entries(chunk.iter().copied()))
                .wait()
                .unwrap(),
            chunk[9]
        );
    }
    writer.join().unwrap();
    assert_eq!(read(&reader, 1..=1000), (1..=120).collect::<Vec<_>>());

    assert_eq!(commit.truncate_after(80).wait().unwrap(), 80);
    assert_eq!(commit.durable_zxid(), 80);
    assert_eq!(reader.last_zxid(), Some(80));
    let new = Entry::new(81, b"after truncation".to_vec());
    assert_eq!(commit.submit(vec![new.clone()]).wait().unwrap(), 81);
    assert_eq!(reader.read(81..=81).unwrap(), vec![new]);

    assert_eq!(commit.purge_through(50).wait().unwrap(), 81);
    let first = reader.first_zxid().unwrap();
    assert!(first > 1 && first <= 51, "{first}");
    assert_eq!(read(&reader, 0..=80), (first..=80).collect::<Vec<_>>());
}
