//! The Raft log store on real temp directories: openraft's own storage suite, and the
//! durability rules — no append acknowledged before its fsync, a vote durable on
//! return, everything surviving a restart exactly.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrokeeper_storage::env::fault::{Faults, FaultyFileSystem};
use ferrokeeper_storage::LogOptions;
use openraft::storage::{LogState, RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, EntryPayload, LogId, RaftLogReader, StorageError, Vote};
use tempfile::TempDir;

use super::entry_codec::Entry;
use super::log_store::{LogStore, PURGED_FILE};
use super::test_state_machine::TestStateMachine;
use super::types::{NodeId, TypeConfig};
use crate::state_machine::{Txn, TxnOp};

/// Small segments so entries span several; no preallocation so a file's length is
/// what was written.
fn opts() -> LogOptions {
    LogOptions {
        prealloc_size: 0,
        segment_size: 512,
        ..LogOptions::default()
    }
}

fn log_id(term: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn txn(term: u64, index: u64) -> Txn {
    Txn {
        zxid: ((term as i64) << 32) | index as i64,
        time: 1_700_000_000_000 + index as i64,
        session_id: 0x100 + term as i64,
        op: TxnOp::Delete {
            path: format!("/term-{term}/node-{index}"),
        },
    }
}

fn normal(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(txn(term, index)),
    }
}

fn normals(term: u64, indexes: impl IntoIterator<Item = u64>) -> Vec<Entry> {
    indexes.into_iter().map(|i| normal(term, i)).collect()
}

fn open(dir: &Path) -> LogStore {
    LogStore::open(dir, opts()).unwrap()
}

fn open_faulty(dir: &Path) -> (LogStore, Arc<Faults>) {
    let (fs, faults) = FaultyFileSystem::std();
    (LogStore::open_with_env(fs, dir, opts()).unwrap(), faults)
}

async fn all_entries(store: &mut LogStore) -> Vec<Entry> {
    store.try_get_log_entries(..).await.unwrap()
}

struct TempDirStores;

impl StoreBuilder<TypeConfig, LogStore, TestStateMachine, TempDir> for TempDirStores {
    async fn build(&self) -> Result<(TempDir, LogStore, TestStateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        Ok((dir, store, TestStateMachine::default()))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(TempDirStores).unwrap();
}

/// What the flush callback saw when it was called: the fsyncs completed by then,
/// the time since the append started, and the outcome.
type Acknowledgement = (u64, Duration, Result<(), String>);

/// Appends through the store's one append path with a callback that records the
/// moment it is called.
async fn append_observed(
    store: &mut LogStore,
    faults: &Arc<Faults>,
    entries: Vec<Entry>,
) -> Acknowledgement {
    let started = Instant::now();
    let mut seen = None;
    store
        .append_then(entries, |outcome| {
            seen = Some((
                faults.file_syncs(),
                started.elapsed(),
                outcome.map_err(|e| e.to_string()),
            ))
        })
        .await
        .unwrap();
    seen.expect("the callback is called")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_append_is_acknowledged_only_after_its_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, faults) = open_faulty(dir.path());
    store.blocking_append(normals(1, 0..3)).await.unwrap();

    let slow = Duration::from_millis(300);
    faults.set_sync_delay(slow);
    let syncs = faults.file_syncs();
    let (syncs_at_ack, waited, outcome) =
        append_observed(&mut store, &faults, normals(1, 3..6)).await;
    outcome.unwrap();
    assert!(
        syncs_at_ack > syncs,
        "acknowledged before its fsync completed"
    );
    assert!(
        waited >= slow,
        "acknowledged after {waited:?}, the fsync takes {slow:?}"
    );
    assert_eq!(all_entries(&mut store).await, normals(1, 0..6));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_append_whose_fsync_fails_is_reported_failed_and_never_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, faults) = open_faulty(dir.path());
    store.blocking_append(normals(1, 0..3)).await.unwrap();

    faults.fail_next_syncs(1);
    let (_, _, outcome) = append_observed(&mut store, &faults, normals(1, 3..6)).await;
    let err = outcome.unwrap_err();
    assert!(
        err.contains("fdatasync"),
        "the callback hears the failed fsync: {err}"
    );
    assert_eq!(all_entries(&mut store).await, normals(1, 0..3));
    // openraft's own path reports it too (the committer stays halted after a failure).
    assert!(store.blocking_append(normals(1, 3..6)).await.is_err());
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id,
        Some(log_id(1, 2))
    );
    drop(store);

    let mut store = open(dir.path());
    assert_eq!(all_entries(&mut store).await, normals(1, 0..3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_is_durable_when_save_vote_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, faults) = open_faulty(dir.path());
    assert_eq!(store.read_vote().await.unwrap(), None);
    let first = Vote::new(3, 2);
    let syncs = faults.file_syncs();
    store.save_vote(&first).await.unwrap();
    assert_eq!(faults.file_syncs(), syncs + 1, "the vote file was fsynced");

    faults.fail_next_syncs(1);
    let err = store.save_vote(&Vote::new(4, 3)).await.unwrap_err();
    assert!(err.to_string().contains("fsync"), "{err}");
    assert_eq!(store.read_vote().await.unwrap(), Some(first));
    drop(store);

    let mut store = open(dir.path());
    assert_eq!(store.read_vote().await.unwrap(), Some(first));
    let committed = Vote::new_committed(5, 1);
    store.save_vote(&committed).await.unwrap();
    drop(store);
    assert_eq!(open(dir.path()).read_vote().await.unwrap(), Some(committed));
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_vote_purge_and_truncation_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let vote = Vote::new_committed(2, 1);
    store.blocking_append(normals(1, 0..20)).await.unwrap();
    store.blocking_append(normals(2, 20..31)).await.unwrap();
    store.save_vote(&vote).await.unwrap();
    store.purge(log_id(1, 9)).await.unwrap();
    store.truncate(log_id(2, 25)).await.unwrap();
    let state = LogState {
        last_purged_log_id: Some(log_id(1, 9)),
        last_log_id: Some(log_id(2, 24)),
    };
    assert_eq!(store.get_log_state().await.unwrap(), state);
    let expected: Vec<Entry> = normals(1, 10..20)
        .into_iter()
        .chain(normals(2, 20..25))
        .collect();
    assert_eq!(all_entries(&mut store).await, expected);
    drop(store);

    let mut store = open(dir.path());
    assert_eq!(store.get_log_state().await.unwrap(), state);
    assert_eq!(store.read_vote().await.unwrap(), Some(vote));
    assert_eq!(all_entries(&mut store).await, expected);
    assert_eq!(
        store.try_get_log_entries(5..12).await.unwrap(),
        normals(1, 10..12),
        "purged entries stay hidden even where their segment remains"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_indexes_are_rewritten_with_a_new_term_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.blocking_append(normals(1, 0..11)).await.unwrap();
    store.truncate(log_id(1, 6)).await.unwrap();
    store.blocking_append(normals(2, 6..9)).await.unwrap();
    drop(store);

    let mut store = open(dir.path());
    let expected: Vec<Entry> = normals(1, 0..6)
        .into_iter()
        .chain(normals(2, 6..9))
        .collect();
    assert_eq!(all_entries(&mut store).await, expected);
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id,
        Some(log_id(2, 8))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_torn_last_entry_is_cut_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.blocking_append(normals(1, 0..5)).await.unwrap();
    drop(store);
    let mut segments: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().len() == 20)
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    file.set_len(len - 3).unwrap();

    let mut store = open(dir.path());
    assert_eq!(all_entries(&mut store).await, normals(1, 0..4));
    store.blocking_append(normals(2, 4..6)).await.unwrap();
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id,
        Some(log_id(2, 5))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_the_purge_mark_and_the_deletion_hides_the_purged_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.blocking_append(normals(1, 0..20)).await.unwrap();
    drop(store);
    // The mark is written first; the crash comes before any segment is deleted.
    let mark = serde_json::to_vec(&log_id(1, 9)).unwrap();
    ferrokeeper_storage::write_state_file(
        &ferrokeeper_storage::env::StdFileSystem,
        &dir.path().join(PURGED_FILE),
        &mark,
    )
    .unwrap();

    let mut store = open(dir.path());
    assert_eq!(
        store.get_log_state().await.unwrap(),
        LogState {
            last_purged_log_id: Some(log_id(1, 9)),
            last_log_id: Some(log_id(1, 19)),
        }
    );
    assert_eq!(all_entries(&mut store).await, normals(1, 10..20));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncation_whose_fsync_fails_is_an_error_and_leaves_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, faults) = open_faulty(dir.path());
    store.blocking_append(normals(1, 0..20)).await.unwrap();
    faults.fail_next_syncs(1);
    assert!(store.truncate(log_id(1, 5)).await.is_err());
    drop(store);

    let mut store = open(dir.path());
    let kept = all_entries(&mut store).await;
    assert!(kept.len() >= 5, "the entries before the truncation survive");
    assert_eq!(kept, normals(1, 0..kept.len() as u64));
}
