//! Read ops (ZooKeeper's FinalRequestProcessor read branches), each with ZooKeeper's
//! checks in ZooKeeper's order. They run on the connection's task, or in the pipeline
//! when the connection has writes in flight.

use ferrokeeper_protocol::multi::{MultiOp, MultiResponse, MultiResult};
use ferrokeeper_protocol::records::{
    ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse, GetEphemeralsResponse,
    PathWatchRequest, StatResponse, SyncResponse, WhoAmIResponse,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{AddWatchMode, ErrorCode, Perms, WatcherType};

use super::set_watches;
use crate::net::conn::Conn;
use crate::shared::Shared;
use crate::state_machine::tree::node::ChildList;
use crate::state_machine::tree::{DataTree, Node};

/// Answers a read request by queueing its reply on `conn`.
pub fn execute(shared: &Shared, tree: &DataTree, conn: &Conn, xid: i32, request: &Request) {
    let zxid = tree.last_zxid();
    let ok = ErrorCode::Ok;
    let result: Result<(), ErrorCode> = (|| {
        match request {
            Request::Exists(r) => {
                if r.path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                let node = tree.get(&r.path);
                if let Some(node) = node {
                    readable(conn, node)?;
                }
                // An exists watch is set on a missing node too: it waits for creation.
                if r.watch {
                    shared.watches.lock().add_data_watch(&r.path, conn.id);
                }
                let stat = node.ok_or(ErrorCode::NoNode)?.stat();
                conn.reply(xid, zxid, ok, Some(&StatResponse { stat }));
            }
            Request::GetData(r) => {
                let node = readable_node(tree, conn, &r.path)?;
                if r.watch {
                    shared.watches.lock().add_data_watch(&r.path, conn.id);
                }
                conn.reply_data(xid, zxid, &node.data, &node.stat());
            }
            Request::GetChildren(r) | Request::GetChildren2(r) => {
                let node = children_of(shared, tree, conn, r)?;
                let with_stat = matches!(request, Request::GetChildren2(_));
                conn.reply(xid, zxid, ok, Some(&ChildList { node, with_stat }));
            }
            Request::GetAcl(r) => {
                let node = tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let auth = conn.auth.read();
                auth.check(&node.acl, Perms::READ | Perms::ADMIN)?;
                let acl = if auth.allows(&node.acl, Perms::ADMIN) {
                    node.acl.to_vec()
                } else {
                    crate::auth::redact_digests(&node.acl)
                };
                let body = GetAclResponse {
                    acl,
                    stat: node.stat(),
                };
                conn.reply(xid, zxid, ok, Some(&body));
            }
            Request::Sync(r) => {
                let body = SyncResponse {
                    path: r.path.clone(),
                };
                conn.reply(xid, zxid, ok, Some(&body));
            }
            Request::GetAllChildrenNumber(r) => {
                readable_node(tree, conn, &r.path)?;
                let total = tree.descendant_count(&r.path).unwrap_or(0);
                let body = GetAllChildrenNumberResponse {
                    total_number: total as i32,
                };
                conn.reply(xid, zxid, ok, Some(&body));
            }
            Request::GetEphemerals(r) => {
                let prefix = r.path.as_str();
                // ZooKeeper trims (Java's String.trim) before deciding "all".
                let trimmed = prefix.trim_matches(|c: char| c <= ' ');
                let all = trimmed.is_empty() || trimmed == "/";
                let ephemerals = tree
                    .ephemerals_of(conn.session_id())
                    .filter(|path| all || path.starts_with(prefix))
                    .map(str::to_owned)
                    .collect();
                conn.reply(xid, zxid, ok, Some(&GetEphemeralsResponse { ephemerals }));
            }
            Request::WhoAmI => {
                let client_info = conn.auth.read().client_infos();
                conn.reply(xid, zxid, ok, Some(&WhoAmIResponse { client_info }));
            }
            Request::AddWatch(r) => {
                let mode =
                    AddWatchMode::try_from(r.mode).map_err(|_| ErrorCode::MarshallingError)?;
                shared.watches.lock().add_persistent(&r.path, conn.id, mode);
                conn.reply(xid, zxid, ok, Some(&ErrorResponse { err: 0 }));
            }
            Request::CheckWatches(r) | Request::RemoveWatches(r) => {
                let kind = WatcherType::try_from(r.watcher_type)
                    .map_err(|_| ErrorCode::MarshallingError)?;
                let mut watches = shared.watches.lock();
                let found = if matches!(request, Request::RemoveWatches(_)) {
                    watches.remove(&r.path, conn.id, kind)
                } else {
                    watches.contains(&r.path, conn.id, kind)
                };
                if !found {
                    return Err(ErrorCode::NoWatcher);
                }
                conn.reply(xid, zxid, ok, None);
            }
            Request::SetWatches(r) => {
                set_watches::register(shared, tree, conn, r);
                conn.reply(xid, zxid, ok, None);
            }
            Request::MultiRead(ops) => {
                // A write among the sub-ops fails the whole request, as in ZooKeeper.
                if !ops.iter().all(MultiOp::is_read) {
                    return Err(ErrorCode::MarshallingError);
                }
                let results = ops.iter().map(|op| multi_read(tree, conn, op)).collect();
                conn.reply(xid, zxid, ok, Some(&MultiResponse { results }));
            }
            Request::Ping => conn.reply(xid, zxid, ok, None),
            _ => return Err(ErrorCode::Unimplemented),
        }
        Ok(())
    })();
    if let Err(err) = result {
        conn.reply(xid, zxid, err, None);
    }
}

fn readable(conn: &Conn, node: &Node) -> Result<(), ErrorCode> {
    conn.auth.read().check(&node.acl, Perms::READ)
}

/// The node at `path` if it exists (else NoNode) and the caller may read it (else NoAuth).
fn readable_node<'t>(tree: &'t DataTree, conn: &Conn, path: &str) -> Result<&'t Node, ErrorCode> {
    let node = tree.get(path).ok_or(ErrorCode::NoNode)?;
    readable(conn, node)?;
    Ok(node)
}

fn children_of<'t>(
    shared: &Shared,
    tree: &'t DataTree,
    conn: &Conn,
    r: &PathWatchRequest,
) -> Result<&'t Node, ErrorCode> {
    let node = readable_node(tree, conn, &r.path)?;
    if r.watch {
        shared.watches.lock().add_child_watch(&r.path, conn.id);
    }
    Ok(node)
}

/// One sub-op of a multiRead: evaluated on its own; watches are never set.
fn multi_read(tree: &DataTree, conn: &Conn, op: &MultiOp) -> MultiResult {
    let result = match op {
        MultiOp::GetData(r) => {
            readable_node(tree, conn, &r.path).map(|node| MultiResult::GetData {
                data: node.data.clone(),
                stat: node.stat(),
            })
        }
        MultiOp::GetChildren(r) => {
            readable_node(tree, conn, &r.path).map(|node| MultiResult::GetChildren {
                children: tree.children(node),
            })
        }
        _ => Err(ErrorCode::MarshallingError),
    };
    result.unwrap_or_else(|err| MultiResult::Error { err: err.code() })
}
