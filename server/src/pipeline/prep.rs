//! Preparation (ZooKeeper's PrepRequestProcessor): a write request is validated, in
//! ZooKeeper's order of checks, against the tree plus every change prepared before it,
//! and becomes a [`Txn`](crate::state_machine::Txn). This is the only place requests turn into transactions.

use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
use ferrokeeper_protocol::records::{
    CheckVersionRequest, DeleteRequest, SetAclRequest, SetDataRequest,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode, Perms};

use super::pending::{NodeView, Pending};
use crate::auth::AuthIds;
use crate::state_machine::tree::node::{next_version, CONTAINER_OWNER, MAX_TTL_MS, TTL_OWNER_MARK};
use crate::state_machine::tree::path::{is_special, split_parent, validate_path};
use crate::state_machine::tree::{DataTree, NodeKind, PersistedStat};
use crate::state_machine::txn::{TxnOp, Zxid};

/// Everything a write is validated against.
pub struct PrepContext<'a> {
    pub tree: &'a DataTree,
    pub pending: &'a mut Pending,
    pub zxid: Zxid,
    pub session_id: i64,
    pub auth: &'a AuthIds,
    pub extended_types: bool,
}

type Prepared = Result<TxnOp, ErrorCode>;

impl PrepContext<'_> {
    fn view(&self, path: &str) -> Option<NodeView> {
        self.pending.view(self.tree, path)
    }

    /// Records a change, remembering the previous one in `undo` (for multi).
    fn record(&mut self, undo: &mut Undo, path: &str, view: Option<NodeView>) {
        let previous = self.pending.record(path, self.zxid, view);
        undo.push((path.to_owned(), previous));
    }

    /// A client write, validated. Failures become the error the client will see.
    pub fn prepare(&mut self, request: &Request) -> TxnOp {
        let mut undo = Undo::new();
        let prepared = match request {
            Request::Create(c) => self.create(c, &mut undo),
            Request::Delete(r) => self.delete(r, &mut undo),
            Request::DeleteContainer(r) => self.delete_container(&r.path, &mut undo),
            Request::SetData(r) => self.set_data(r, &mut undo),
            Request::SetAcl(r) => self.set_acl(r, &mut undo),
            Request::Multi(ops) => Ok(self.multi(ops)),
            _ => Err(ErrorCode::Unimplemented),
        };
        prepared.unwrap_or_else(TxnOp::Error)
    }

    fn create(&mut self, c: &CreateOp, undo: &mut Undo) -> Prepared {
        let mode = CreateMode::try_from(c.flags).map_err(|_| ErrorCode::BadArguments)?;
        if mode.is_ttl() && !self.extended_types {
            return Err(ErrorCode::Unimplemented);
        }
        let ttl_ok = if mode.is_ttl() {
            c.ttl > 0 && c.ttl <= MAX_TTL_MS
        } else {
            c.ttl < 0
        };
        if !ttl_ok {
            return Err(ErrorCode::BadArguments);
        }
        if c.path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        let (parent_path, _) = split_parent(&c.path).ok_or(ErrorCode::BadArguments)?;
        let acl = self.auth.fixup_acl(&c.acl)?;
        let mut parent = self.view(parent_path).ok_or(ErrorCode::NoNode)?;
        self.auth.check(&parent.acl, Perms::CREATE)?;
        let parent_cversion = parent.stat.cversion;
        let path = if mode.is_sequential() {
            format!("{}{:010}", c.path, parent_cversion)
        } else {
            c.path.clone()
        };
        validate_path(&path).map_err(|_| ErrorCode::BadArguments)?;
        if self.view(&path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if let NodeKind::Ephemeral(_) = parent.kind() {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let ephemeral_owner = if mode.is_container() {
            CONTAINER_OWNER
        } else if mode.is_ttl() {
            TTL_OWNER_MARK | c.ttl
        } else if mode.is_ephemeral() {
            self.session_id
        } else {
            0
        };
        parent.stat.cversion = parent_cversion.wrapping_add(1);
        parent.stat.pzxid = self.zxid;
        parent.num_children += 1;
        let parent_cversion = parent.stat.cversion;
        self.record(undo, parent_path, Some(parent));
        let child = NodeView {
            stat: PersistedStat {
                czxid: self.zxid,
                mzxid: self.zxid,
                pzxid: self.zxid,
                ephemeral_owner,
                ..PersistedStat::default()
            },
            acl: acl.clone().into(),
            num_children: 0,
        };
        self.record(undo, &path, Some(child));
        Ok(TxnOp::Create {
            path,
            data: c.data.clone(),
            acl,
            ephemeral_owner,
            parent_cversion,
            with_stat: c.op != OpCode::Create,
        })
    }

    /// Records the deletion of a node and its effect on the parent.
    fn record_delete(&mut self, undo: &mut Undo, path: &str) {
        if let Some((parent_path, _)) = split_parent(path) {
            if let Some(mut parent) = self.view(parent_path) {
                parent.num_children -= 1;
                parent.stat.pzxid = self.zxid;
                self.record(undo, parent_path, Some(parent));
            }
        }
        self.record(undo, path, None);
    }

    fn delete(&mut self, r: &DeleteRequest, undo: &mut Undo) -> Prepared {
        if r.path.contains('\0') || is_special(&r.path) {
            return Err(ErrorCode::BadArguments);
        }
        let (parent_path, _) = split_parent(&r.path).ok_or(ErrorCode::BadArguments)?;
        let parent = self.view(parent_path).ok_or(ErrorCode::NoNode)?;
        self.auth.check(&parent.acl, Perms::DELETE)?;
        let node = self.view(&r.path).ok_or(ErrorCode::NoNode)?;
        check_version(r.version, node.stat.version)?;
        if node.num_children > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.record_delete(undo, &r.path);
        Ok(TxnOp::Delete {
            path: r.path.clone(),
        })
    }

    /// deleteContainer (op 20), also how the reaper removes containers and TTL nodes.
    pub fn delete_container(&mut self, path: &str, undo: &mut Undo) -> Prepared {
        if path.contains('\0') || is_special(path) || !path.starts_with('/') {
            return Err(ErrorCode::BadArguments);
        }
        let node = self.view(path).ok_or(ErrorCode::NoNode)?;
        if node.num_children > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        if let NodeKind::Ephemeral(_) = node.kind() {
            return Err(ErrorCode::BadVersion);
        }
        self.record_delete(undo, path);
        Ok(TxnOp::Delete {
            path: path.to_owned(),
        })
    }

    fn set_data(&mut self, r: &SetDataRequest, undo: &mut Undo) -> Prepared {
        validate_path(&r.path).map_err(|_| ErrorCode::BadArguments)?;
        let mut node = self.view(&r.path).ok_or(ErrorCode::NoNode)?;
        self.auth.check(&node.acl, Perms::WRITE)?;
        check_version(r.version, node.stat.version)?;
        node.stat.version = next_version(node.stat.version);
        node.stat.mzxid = self.zxid;
        let version = node.stat.version;
        self.record(undo, &r.path, Some(node));
        Ok(TxnOp::SetData {
            path: r.path.clone(),
            data: r.data.clone(),
            version,
        })
    }

    fn set_acl(&mut self, r: &SetAclRequest, undo: &mut Undo) -> Prepared {
        validate_path(&r.path).map_err(|_| ErrorCode::BadArguments)?;
        let acl = self.auth.fixup_acl(&r.acl)?;
        let mut node = self.view(&r.path).ok_or(ErrorCode::NoNode)?;
        self.auth.check(&node.acl, Perms::ADMIN)?;
        check_version(r.version, node.stat.aversion)?;
        node.stat.aversion = next_version(node.stat.aversion);
        node.acl = acl.clone().into();
        let aversion = node.stat.aversion;
        self.record(undo, &r.path, Some(node));
        Ok(TxnOp::SetAcl {
            path: r.path.clone(),
            acl,
            aversion,
        })
    }

    fn check(&mut self, r: &CheckVersionRequest) -> Prepared {
        validate_path(&r.path).map_err(|_| ErrorCode::BadArguments)?;
        let node = self.view(&r.path).ok_or(ErrorCode::NoNode)?;
        self.auth.check(&node.acl, Perms::READ)?;
        check_version(r.version, node.stat.version)?;
        Ok(TxnOp::Check {
            path: r.path.clone(),
        })
    }

    /// All sub-ops see the effects of the earlier ones; the first failure undoes them
    /// and every result becomes an error: OK before it, its code, then
    /// RuntimeInconsistency after it. A read among the sub-ops fails the whole request
    /// (MarshallingError), as in ZooKeeper.
    fn multi(&mut self, ops: &[MultiOp]) -> TxnOp {
        if ops.iter().any(MultiOp::is_read) {
            return TxnOp::Error(ErrorCode::MarshallingError);
        }
        let mut undo = Undo::new();
        let mut txns = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            let prepared = match op {
                MultiOp::Create(c) => self.create(c, &mut undo),
                MultiOp::Delete(r) => self.delete(r, &mut undo),
                MultiOp::SetData(r) => self.set_data(r, &mut undo),
                MultiOp::Check(r) => self.check(r),
                // Refused above; kept so a read can never become a transaction.
                MultiOp::GetData(_) | MultiOp::GetChildren(_) => Err(ErrorCode::MarshallingError),
            };
            match prepared {
                Ok(txn) => txns.push(txn),
                Err(err) => {
                    for (path, previous) in undo.into_iter().rev() {
                        self.pending.restore(&path, previous);
                    }
                    let results = (0..ops.len()).map(|i| {
                        TxnOp::Error(match i.cmp(&index) {
                            std::cmp::Ordering::Less => ErrorCode::Ok,
                            std::cmp::Ordering::Equal => err,
                            std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
                        })
                    });
                    return TxnOp::Multi(results.collect());
                }
            }
        }
        TxnOp::Multi(txns)
    }

    /// Ends a session: its ephemerals, including ones prepared but not yet applied,
    /// are listed in the transaction.
    pub fn close_session(&mut self, session_id: i64) -> TxnOp {
        let mut ephemerals: Vec<String> = self
            .tree
            .ephemerals_of(session_id)
            .chain(self.pending.created_ephemerals(session_id))
            .filter(|path| !self.pending.is_deleted(path))
            .map(str::to_owned)
            .collect();
        ephemerals.sort();
        ephemerals.dedup();
        let mut undo = Undo::new();
        for path in &ephemerals {
            self.record_delete(&mut undo, path);
        }
        TxnOp::CloseSession {
            session_id,
            ephemerals,
        }
    }
}

/// Changes recorded while preparing one request, newest last, with what they replaced.
pub type Undo = Vec<(String, Option<super::pending::Change>)>;

/// -1 matches any version.
fn check_version(expected: i32, actual: i32) -> Result<(), ErrorCode> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ErrorCode::BadVersion)
    }
}

#[cfg(test)]
mod tests {
    use ferrokeeper_protocol::records::Acl;

    use super::*;

    /// The names sequential creates under `/p` get when the parent's child-creation
    /// counter starts at `cversion`, prepared one after the other.
    fn sequential_names(cversion: i32, count: usize) -> Vec<String> {
        let tree = DataTree::new();
        let mut pending = Pending::default();
        let acl = vec![Acl::new(Perms::ALL, "world", "anyone")];
        let mut parent = NodeView::of(tree.get("/").unwrap());
        parent.stat.cversion = cversion;
        parent.acl = acl.clone().into();
        pending.record("/p", 1, Some(parent));
        let auth = AuthIds::default();
        (0..count)
            .map(|i| {
                let request = Request::Create(CreateOp {
                    op: OpCode::Create,
                    path: "/p/s-".into(),
                    data: None,
                    acl: acl.clone(),
                    flags: CreateMode::PersistentSequential as i32,
                    ttl: -1,
                });
                let mut cx = PrepContext {
                    tree: &tree,
                    pending: &mut pending,
                    zxid: 2 + i as i64,
                    session_id: 0,
                    auth: &auth,
                    extended_types: false,
                };
                match cx.prepare(&request) {
                    TxnOp::Create { path, .. } => path,
                    other => panic!("create {i} failed: {other:?}"),
                }
            })
            .collect()
    }

    /// ZooKeeper names a sequential node `path + String.format("%010d", cversion)`
    /// with the parent's i32 counter, which wraps: Java pads negative numbers after
    /// the sign (`-000000005`) and prints i32::MIN in full (checked with jshell).
    #[test]
    fn sequential_suffix_past_i32_max_is_formatted_as_java_does() {
        assert_eq!(
            sequential_names(i32::MAX - 1, 4),
            [
                "/p/s-2147483646",
                "/p/s-2147483647",
                "/p/s--2147483648",
                "/p/s--2147483647",
            ]
        );
        assert_eq!(
            sequential_names(-5, 6),
            [
                "/p/s--000000005",
                "/p/s--000000004",
                "/p/s--000000003",
                "/p/s--000000002",
                "/p/s--000000001",
                "/p/s-0000000000",
            ]
        );
        assert_eq!(sequential_names(7, 1), ["/p/s-0000000007"]);
    }
}
