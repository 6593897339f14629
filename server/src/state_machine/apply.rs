//! Applying transactions (ZooKeeper's FinalRequestProcessor / DataTree.processTxn):
//! the one place state changes. Returns each op's result and the watch events the
//! change fires, for the pipeline to deliver before it answers.
//!
//! Transactions carry absolute values (new versions, the parent's child counter), so
//! applying one whose effect a fuzzy snapshot already holds changes nothing; the few
//! ops that would fail in that case (create of an existing node, delete of a missing
//! one) still move the parent's counters forward, as ZooKeeper's replay does.

use ferrokeeper_protocol::records::Stat;
use ferrokeeper_protocol::{ErrorCode, EventType};

use super::sessions::{Session, SessionTable};
use super::tree::path::split_parent;
use super::tree::{AclList, DataTree};
use super::txn::{Txn, TxnOp, Zxid};

/// The outcome of one transaction (or sub-transaction).
#[derive(Debug, Clone)]
pub enum OpResult {
    Created {
        path: String,
        stat: Stat,
        with_stat: bool,
    },
    Deleted,
    DataSet(Stat),
    AclSet(Stat),
    Checked,
    Multi(Vec<OpResult>),
    SessionCreated(std::sync::Arc<Session>),
    /// The session that ended, if it was still known.
    SessionClosed(Option<std::sync::Arc<Session>>),
    Error(ErrorCode),
}

/// A watch event to deliver, with the ACL that decides who may see it.
pub struct Event {
    pub kind: EventType,
    pub path: String,
    pub acl: AclList,
}

pub struct Applier<'a> {
    pub tree: &'a mut DataTree,
    pub sessions: &'a SessionTable,
    pub events: Vec<Event>,
}

impl Applier<'_> {
    pub fn apply(&mut self, txn: &Txn) -> OpResult {
        let result = self.apply_op(&txn.op, txn.zxid, txn.time);
        self.tree.set_last_zxid(txn.zxid);
        result
    }

    fn apply_op(&mut self, op: &TxnOp, zxid: Zxid, time: i64) -> OpResult {
        let result = match op {
            TxnOp::CreateSession {
                session_id,
                timeout_ms,
                password,
            } => {
                let session = std::sync::Arc::new(Session::new(
                    *session_id,
                    *password,
                    *timeout_ms,
                    time.max(0) as u64,
                ));
                self.sessions.insert(session.clone());
                Ok(OpResult::SessionCreated(session))
            }
            TxnOp::CloseSession {
                session_id,
                ephemerals,
            } => {
                for path in ephemerals {
                    // Already gone only when replaying over a fuzzy snapshot.
                    let _ = self.delete(path, zxid);
                }
                Ok(OpResult::SessionClosed(self.sessions.remove(*session_id)))
            }
            TxnOp::Create {
                path,
                data,
                acl,
                ephemeral_owner,
                parent_cversion,
                with_stat,
            } => self
                .create(
                    path,
                    data,
                    acl,
                    *ephemeral_owner,
                    *parent_cversion,
                    zxid,
                    time,
                )
                .map(|stat| OpResult::Created {
                    path: path.clone(),
                    stat,
                    with_stat: *with_stat,
                }),
            TxnOp::Delete { path } => self.delete(path, zxid).map(|()| OpResult::Deleted),
            TxnOp::SetData {
                path,
                data,
                version,
            } => self
                .tree
                .set_data(path, data.clone(), *version, zxid, time)
                .map(|stat| {
                    self.fire(EventType::NodeDataChanged, path);
                    OpResult::DataSet(stat)
                }),
            TxnOp::SetAcl {
                path,
                acl,
                aversion,
            } => {
                let acl = self.tree.intern_acl(acl.clone());
                self.tree
                    .set_acl(path, acl, *aversion)
                    .map(OpResult::AclSet)
            }
            TxnOp::Check { .. } => Ok(OpResult::Checked),
            TxnOp::Multi(ops) => Ok(OpResult::Multi(
                ops.iter().map(|op| self.apply_op(op, zxid, time)).collect(),
            )),
            TxnOp::Error(err) => Err(*err),
        };
        result.unwrap_or_else(OpResult::Error)
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: &Option<bytes::Bytes>,
        acl: &[ferrokeeper_protocol::records::Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
    ) -> Result<Stat, ErrorCode> {
        let acl = self.tree.intern_acl(acl.to_vec());
        let created = self
            .tree
            .create(path, data.clone(), acl, owner, parent_cversion, zxid, time);
        if created == Err(ErrorCode::NodeExists) {
            // Replaying over a fuzzy snapshot that already holds the node.
            self.tree
                .replay_child_change(path, Some(parent_cversion), zxid);
        }
        let stat = created?;
        self.fire(EventType::NodeCreated, path);
        self.fire_parent(path);
        Ok(stat)
    }

    fn delete(&mut self, path: &str, zxid: Zxid) -> Result<(), ErrorCode> {
        let deleted = self.tree.delete(path, zxid);
        if deleted.is_err() {
            // Replaying over a fuzzy snapshot that already lacks the node.
            self.tree.replay_child_change(path, None, zxid);
        }
        let acl = deleted?;
        self.events.push(Event {
            kind: EventType::NodeDeleted,
            path: path.to_owned(),
            acl,
        });
        self.fire_parent(path);
        Ok(())
    }

    fn fire(&mut self, kind: EventType, path: &str) {
        if let Some(node) = self.tree.get(path) {
            self.events.push(Event {
                kind,
                path: path.to_owned(),
                acl: node.acl.clone(),
            });
        }
    }

    fn fire_parent(&mut self, path: &str) {
        if let Some((parent, _)) = split_parent(path) {
            self.fire(EventType::NodeChildrenChanged, parent);
        }
    }
}
