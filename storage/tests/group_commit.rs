//! Group commit: concurrent producers share fsyncs; batches are bounded; a failed
//! batch halts the committer until the producer resumes it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferrokeeper_storage::{Error, GroupCommit, GroupCommitOptions, Log};
use parking_lot::Mutex;

#[test]
fn concurrent_producers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, faults) = open_faulty(dir.path(), opts());
    // A slow disk, so that submissions pile up behind each fsync.
    faults.set_sync_delay(Duration::from_millis(3));
    let gc = Arc::new(GroupCommit::start(log, GroupCommitOptions::default()).unwrap());
    let before = faults.file_syncs();

    // Producers take zxids in order and submit under one lock (as the server's
    // pipeline does), then wait for durability outside it.
    let next = Arc::new(Mutex::new(0i64));
    let producers = 8;
    let per_producer = 25;
    std::thread::scope(|s| {
        for _ in 0..producers {
            let (gc, next) = (gc.clone(), next.clone());
            s.spawn(move || {
                for _ in 0..per_producer {
                    let (zxid, commit) = {
                        let mut next = next.lock();
                        *next += 1;
                        (*next, gc.submit(entries([*next])))
                    };
                    let durable = commit.wait().unwrap();
                    assert!(durable >= zxid);
                }
            });
        }
    });
    let commits = (producers * per_producer) as u64;
    let syncs = faults.file_syncs() - before;
    let stats = gc.stats();
    eprintln!(
        "{commits} commits, {} batches, {syncs} fsyncs",
        stats.batches
    );
    assert_eq!(stats.entries, commits);
    assert_eq!(gc.durable_zxid(), commits as i64);
    assert!(
        syncs <= stats.batches + 10,
        "{syncs} syncs for {} batches",
        stats.batches
    );
    assert!(
        syncs * 2 < commits,
        "{syncs} fsyncs for {commits} commits: not shared"
    );

    let log = Arc::into_inner(gc).unwrap().shutdown().unwrap();
    drop(log);
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(
        replay(&recovery, 0),
        (1..=commits as i64).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_producers_await_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), opts()).unwrap();
    let gc = Arc::new(GroupCommit::start(log, GroupCommitOptions::default()).unwrap());
    // Submit in order from one task, await from many.
    let mut waiting = Vec::new();
    for z in 1..=100 {
        let commit = gc.submit(entries([z]));
        waiting.push(tokio::spawn(async move { (z, commit.await) }));
    }
    for task in waiting {
        let (z, result) = task.await.unwrap();
        assert!(result.unwrap() >= z);
    }
    // An empty submission is a barrier.
    assert_eq!(gc.submit(Vec::new()).await.unwrap(), 100);
    assert!(gc.stats().batches <= 101);
}

#[test]
fn batches_respect_the_entry_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, faults) = open_faulty(dir.path(), opts());
    faults.set_sync_delay(Duration::from_millis(30));
    let bounded = GroupCommitOptions {
        max_batch_entries: 3,
        ..GroupCommitOptions::default()
    };
    let gc = GroupCommit::start(log, bounded).unwrap();
    // The first batch's slow fsync lets the other twelve queue up.
    let mut commits = vec![gc.submit(entries([1]))];
    std::thread::sleep(Duration::from_millis(5));
    for z in 2..=13 {
        commits.push(gc.submit(entries([z])));
    }
    for c in commits {
        c.wait().unwrap();
    }
    let stats = gc.stats();
    assert_eq!(stats.entries, 13);
    assert!(
        stats.batches >= 5,
        "{stats:?}: 12 queued entries need 4 batches of 3"
    );
}

#[test]
fn max_delay_gathers_submissions_that_arrive_shortly_after() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), opts()).unwrap();
    let patient = GroupCommitOptions {
        max_delay: Duration::from_millis(500),
        max_batch_entries: 5,
        ..GroupCommitOptions::default()
    };
    let gc = GroupCommit::start(log, patient).unwrap();
    let mut commits = Vec::new();
    for z in 1..=5 {
        commits.push(gc.submit(entries([z])));
        std::thread::sleep(Duration::from_millis(5));
    }
    for c in commits {
        c.wait().unwrap();
    }
    // The fifth entry filled the batch, so it did not wait out the delay either.
    assert_eq!(gc.stats().batches, 1);
}

#[test]
fn a_failed_batch_halts_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, faults) = open_faulty(dir.path(), opts());
    let gc = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    assert_eq!(gc.submit(entries(1..=3)).wait().unwrap(), 3);

    faults.set_disk_full(true);
    let failed = gc.submit(entries(4..=5)).wait().unwrap_err();
    assert!(failed.is_no_space(), "{failed}");
    // Work submitted after the failure, before resuming, is refused.
    faults.set_disk_full(false);
    match gc.submit(entries(6..=7)).wait() {
        Err(Error::Halted { cause }) => assert!(cause.is_no_space()),
        other => panic!("{other:?}"),
    }
    assert_eq!(gc.durable_zxid(), 3);

    // Resuming says where the log stands; the producer renumbers from there.
    assert_eq!(gc.resume().wait().unwrap(), 3);
    assert_eq!(gc.submit(entries(4..=6)).wait().unwrap(), 6);
    gc.roll().wait().unwrap();
    assert_eq!(gc.submit(entries([7])).wait().unwrap(), 7);
    drop(gc.shutdown().unwrap());

    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert!(recovery.repairs().is_empty());
    assert_eq!(replay(&recovery, 0), (1..=7).collect::<Vec<_>>());
}

#[test]
fn a_bad_submission_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), opts()).unwrap();
    let gc = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    let a = gc.submit(entries([1, 2]));
    let bad = gc.submit(entries([2]));
    let c = gc.submit(entries([3]));
    assert!(a.wait().unwrap() >= 2);
    assert!(matches!(
        bad.wait(),
        Err(Error::ZxidNotIncreasing { zxid: 2, last: 2 })
    ));
    assert_eq!(c.wait().unwrap(), 3);
}

#[test]
fn resume_of_a_poisoned_log_fails_and_stays_halted() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, faults) = open_faulty(dir.path(), opts());
    let gc = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    gc.submit(entries([1])).wait().unwrap();
    faults.fail_next_syncs(2);
    assert!(matches!(
        gc.submit(entries([2])).wait(),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(gc.resume().wait(), Err(Error::Poisoned { .. })));
    assert!(matches!(
        gc.submit(entries([2])).wait(),
        Err(Error::Halted { .. })
    ));
    // Reopening is the way out.
    drop(gc);
    let (log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(replay(&recovery, 0), vec![1]);
    let gc = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    assert_eq!(gc.submit(entries([2])).wait().unwrap(), 2);
}

#[test]
fn dropping_the_committer_finishes_what_was_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), opts()).unwrap();
    let gc = GroupCommit::start(log, GroupCommitOptions::default()).unwrap();
    let commits: Vec<_> = (1..=20).map(|z| gc.submit(entries([z]))).collect();
    drop(gc);
    for c in commits {
        c.wait().unwrap();
    }
    let (_log, recovery) = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(replay(&recovery, 0), (1..=20).collect::<Vec<_>>());
}
