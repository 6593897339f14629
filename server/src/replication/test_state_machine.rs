//! A test double: an in-memory `RaftStateMachine` that only tracks what openraft's
//! storage suite checks (last applied log id, membership, snapshots), so the suite can
//! run against the real log store. It applies no transactions; the real state-machine
//! adapter is a separate piece.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use parking_lot::Mutex;

use super::entry_codec::Entry;
use super::types::{Node, NodeId, TypeConfig};

type Applied = (Option<LogId<NodeId>>, StoredMembership<NodeId, Node>);

#[derive(Debug, Default)]
struct State {
    applied: Applied,
    snapshot: Option<(SnapshotMeta<NodeId, Node>, Vec<u8>)>,
    built: u64,
}

#[derive(Debug, Clone, Default)]
pub struct TestStateMachine {
    state: Arc<Mutex<State>>,
}

fn snapshot_error(e: &serde_json::Error) -> StorageError<NodeId> {
    StorageIOError::read_snapshot(None, AnyError::new(e)).into()
}

impl RaftSnapshotBuilder<TypeConfig> for TestStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut state = self.state.lock();
        state.built += 1;
        let (last_log_id, last_membership) = state.applied.clone();
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id: format!("test-{}", state.built),
        };
        let data = serde_json::to_vec(&state.applied).map_err(|e| snapshot_error(&e))?;
        state.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for TestStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<Applied, StorageError<NodeId>> {
        Ok(self.state.lock().applied.clone())
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut state = self.state.lock();
        let mut replies = Vec::new();
        for entry in entries {
            state.applied.0 = Some(entry.log_id);
            if let EntryPayload::Membership(m) = entry.payload {
                state.applied.1 = StoredMembership::new(Some(entry.log_id), m);
            }
            replies.push(());
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let applied: Applied = serde_json::from_slice(&data).map_err(|e| snapshot_error(&e))?;
        let mut state = self.state.lock();
        state.applied = applied;
        state.snapshot = Some((meta.clone(), data));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .state
            .lock()
            .snapshot
            .clone()
            .map(|(meta, data)| Snapshot {
                meta,
                snapshot: Box::new(Cursor::new(data)),
            }))
    }
}
