//! The write pipeline: one task that owns every state change, in three visible stages
//! per batch of work —
//!
//! 1. **prepare** ([`prep`]): validate each write against the tree plus the changes
//!    prepared before it, and turn it into a [`Txn`] with the next zxid;
//! 2. **log**: the point where the batch's transactions become durable (one append and
//!    one fsync for the whole batch) before anything is applied;
//! 3. **apply** ([`crate::state_machine::apply`]): apply in zxid order, deliver the watch events each change
//!    fires, then queue the reply — so a client sees an event before any reply that
//!    reflects the change.
//!
//! Reads of a connection with writes in flight ride along in order, so they see them.

mod batch;
pub mod pending;
pub mod prep;

use std::sync::Arc;
use std::time::Instant;

use ferrokeeper_protocol::records::ConnectResponse;
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{ErrorCode, OpCode, Perms};
use tokio::sync::{mpsc, oneshot};

use crate::net::conn::Conn;
use crate::ops;
use crate::ops::reply::Refusal;
use crate::persist::durability::{Durability, SnapshotDone};
use crate::shared::Shared;
use crate::state_machine::{Applier, Event, OpResult, Txn, TxnOp, Zxid};
use crate::time::now_ms;
use pending::Pending;
use prep::PrepContext;

/// What the pipeline is asked to do.
pub enum Work {
    /// A client request that must be answered in order after earlier pipelined ones.
    Request {
        conn: Arc<Conn>,
        xid: i32,
        request: Request,
        received: Instant,
    },
    /// An error answer decided before the pipeline, kept in order.
    Reject {
        conn: Arc<Conn>,
        xid: i32,
        refusal: Refusal,
        received: Instant,
    },
    /// A write refused before it is prepared — one whose body could not be decoded
    /// (MarshallingError), or a reconfig (ReconfigDisabled): ZooKeeper logs it as a
    /// failed transaction, so it takes a zxid like any failed write.
    FailedWrite {
        conn: Arc<Conn>,
        xid: i32,
        op: OpCode,
        err: ErrorCode,
        received: Instant,
    },
    /// A new session for a connection that completed its handshake.
    CreateSession {
        conn: Arc<Conn>,
        timeout_ms: i32,
        read_only: Option<bool>,
        done: oneshot::Sender<()>,
    },
    /// A session whose deadline passed.
    Expire { session_id: i64 },
    /// Remove a container or TTL node found eligible by the reaper.
    Reap { path: String },
    /// Take a snapshot once the writes queued before this are applied (the
    /// AdminServer's `snapshot` command).
    Snapshot { done: SnapshotDone },
}

/// Who is waiting for a transaction's outcome.
enum Origin {
    Client {
        conn: Arc<Conn>,
        xid: i32,
        op: OpCode,
        received: Instant,
    },
    Handshake {
        conn: Arc<Conn>,
        read_only: Option<bool>,
        done: oneshot::Sender<()>,
    },
    Server,
}

/// One prepared unit of a batch.
enum Step {
    Txn {
        txn: Txn,
        origin: Origin,
    },
    Read {
        conn: Arc<Conn>,
        xid: i32,
        request: Request,
        received: Instant,
    },
    Reject {
        conn: Arc<Conn>,
        xid: i32,
        refusal: Refusal,
        received: Instant,
    },
}

/// Runs until the work channel closes, or until the log fails in a way that makes
/// further writes unsafe (then the error is returned and the server must stop).
pub async fn run(
    shared: Arc<Shared>,
    mut work: mpsc::Receiver<Work>,
    mut durability: Option<Durability>,
) -> Result<(), ferrokeeper_storage::Error> {
    let mut pending = Pending::default();
    let mut last_zxid = shared.tree.read().last_zxid();
    let mut batch = Vec::with_capacity(batch::MAX_BATCH);
    while batch::next(&mut work, &mut batch).await {
        let mut snapshot_requests = Vec::new();
        let steps: Vec<Step> = {
            let tree = shared.tree.read();
            batch
                .drain(..)
                .filter_map(|w| match w {
                    Work::Snapshot { done } => {
                        snapshot_requests.push(done);
                        None
                    }
                    w => prepare(&shared, &tree, &mut pending, &mut last_zxid, w),
                })
                .collect()
        };
        if let Some(log) = durability.as_mut() {
            let txns = steps.iter().filter_map(|step| match step {
                Step::Txn { txn, .. } => Some(txn),
                _ => None,
            });
            let count = txns.clone().count() as u64;
            let started = Instant::now();
            let persisted = log.persist(txns).await;
            if count > 0 {
                let took = started.elapsed().as_millis() as u64;
                shared.metrics.commit_batch.record(count);
                shared.metrics.fsync_ms.record(took);
                if took > shared.config.fsync_warning_threshold_ms {
                    shared
                        .fsync_threshold_exceeded
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(
                        took_ms = took,
                        transactions = count,
                        "fsync-ing the write ahead log took {took}ms which will adversely effect operation latency"
                    );
                }
            }
            if let Err(e) = persisted {
                tracing::error!(error = %e, "cannot write the transaction log: this batch's writes fail");
                pending = Pending::default();
                last_zxid = log.resume().await.inspect_err(|e| {
                    tracing::error!(error = %e, "the transaction log cannot continue; stopping");
                })?;
                {
                    let tree = shared.tree.read();
                    for step in steps {
                        fail(&shared, &tree, step);
                    }
                }
                continue;
            }
        }
        {
            let mut tree = shared.tree.write();
            for step in steps {
                finish(&shared, &mut tree, step);
            }
        }
        pending.retire_through(last_zxid);
        if let Some(log) = durability.as_mut() {
            log.after_apply(&shared).await;
        }
        for done in snapshot_requests {
            match durability.as_mut() {
                Some(log) => log.snapshot_on_request(&shared, done).await,
                None => {
                    let _ = done.send(Err("the server keeps nothing on disk (no dataDir)".into()));
                }
            }
        }
    }
    if let Some(log) = durability.as_mut() {
        log.finish_snapshot().await;
    }
    Ok(())
}

/// A step of a batch whose transactions could not be made durable: writes are
/// answered with SystemError and never applied; reads are answered as usual.
fn fail(shared: &Shared, tree: &crate::state_machine::tree::DataTree, step: Step) {
    let Step::Txn { txn, origin } = step else {
        return finish_read(shared, tree, step);
    };
    if let TxnOp::CloseSession { session_id, .. } = txn.op {
        if let Some(session) = shared.sessions.get(session_id) {
            session.cancel_closing();
        }
    }
    match origin {
        Origin::Client {
            conn,
            xid,
            received,
            ..
        } => {
            conn.reply(xid, tree.last_zxid(), ErrorCode::SystemError, None);
            answered(shared, &conn, received, true);
        }
        // Dropping `done` fails the handshake: the client retries on a new connection.
        Origin::Handshake { conn, .. } => conn.out.close_now(),
        Origin::Server => {}
    }
}

fn prepare(
    shared: &Shared,
    tree: &crate::state_machine::tree::DataTree,
    pending: &mut Pending,
    last_zxid: &mut Zxid,
    work: Work,
) -> Option<Step> {
    // Housekeeping transactions are not checked against any client's identity.
    let server = crate::auth::AuthIds::default();
    let extended_types = shared.config.extended_types_enabled;
    let mut txn = |pending: &mut Pending,
                   session_id: i64,
                   auth: &crate::auth::AuthIds,
                   op: &mut dyn FnMut(&mut PrepContext) -> TxnOp| {
        *last_zxid += 1;
        let mut cx = PrepContext {
            tree,
            pending,
            zxid: *last_zxid,
            session_id,
            auth,
            extended_types,
        };
        Txn {
            zxid: *last_zxid,
            time: now_ms() as i64,
            session_id,
            op: op(&mut cx),
        }
    };
    Some(match work {
        Work::Request {
            conn,
            xid,
            request,
            received,
        } if request.op_code().is_write() => {
            let session_id = conn.session_id();
            let op = request.op_code();
            let auth = conn.auth.read().clone();
            let txn = if !shared.session_is_live(session_id) {
                txn(pending, session_id, &auth, &mut |_| {
                    TxnOp::Error(ErrorCode::SessionExpired)
                })
            } else if op == OpCode::CloseSession {
                if let Some(session) = shared.sessions.get(session_id) {
                    session.start_closing();
                }
                txn(pending, session_id, &auth, &mut |cx| {
                    cx.close_session(session_id)
                })
            } else {
                txn(pending, session_id, &auth, &mut |cx| cx.prepare(&request))
            };
            Step::Txn {
                txn,
                origin: Origin::Client {
                    conn,
                    xid,
                    op,
                    received,
                },
            }
        }
        Work::Request {
            conn,
            xid,
            request,
            received,
        } => Step::Read {
            conn,
            xid,
            request,
            received,
        },
        Work::Reject {
            conn,
            xid,
            refusal,
            received,
        } => Step::Reject {
            conn,
            xid,
            refusal,
            received,
        },
        Work::FailedWrite {
            conn,
            xid,
            op,
            err,
            received,
        } => {
            let session_id = conn.session_id();
            Step::Txn {
                txn: txn(pending, session_id, &server, &mut |_| TxnOp::Error(err)),
                origin: Origin::Client {
                    conn,
                    xid,
                    op,
                    received,
                },
            }
        }
        Work::CreateSession {
            conn,
            timeout_ms,
            read_only,
            done,
        } => {
            let session_id = shared.new_session_id();
            let password = if shared.config.zookeeper_passwords {
                crate::persist::zookeeper::zookeeper_password(session_id)
            } else {
                crate::session::new_password()
            };
            Step::Txn {
                txn: txn(pending, session_id, &server, &mut |_| {
                    TxnOp::CreateSession {
                        session_id,
                        timeout_ms,
                        password,
                    }
                }),
                origin: Origin::Handshake {
                    conn,
                    read_only,
                    done,
                },
            }
        }
        Work::Expire { session_id } => {
            if !shared.sessions.contains(session_id) {
                return None;
            }
            Step::Txn {
                txn: txn(pending, session_id, &server, &mut |cx| {
                    cx.close_session(session_id)
                }),
                origin: Origin::Server,
            }
        }
        // Taken out of the batch before it is prepared.
        Work::Snapshot { .. } => return None,
        Work::Reap { path } => {
            let view = pending.view(tree, &path)?;
            let never_used = shared.config.container_max_never_used_ms;
            if !crate::reaper::is_reapable(&view, now_ms() as i64, never_used) {
                return None;
            }
            Step::Txn {
                txn: txn(pending, 0, &server, &mut |cx| {
                    cx.delete_container(&path, &mut Vec::new())
                        .unwrap_or_else(TxnOp::Error)
                }),
                origin: Origin::Server,
            }
        }
    })
}

fn finish(shared: &Shared, tree: &mut crate::state_machine::tree::DataTree, step: Step) {
    match step {
        Step::Txn { txn, origin } => {
            let mut applier = Applier {
                tree,
                sessions: &shared.sessions,
                events: Vec::new(),
            };
            let result = applier.apply(&txn);
            let events = std::mem::take(&mut applier.events);
            shared.set_last_zxid(txn.zxid);
            let propagation = (now_ms() as i64).saturating_sub(txn.time).max(0);
            shared
                .metrics
                .propagation_latency_ms
                .record(propagation as u64);
            deliver(shared, &events, txn.zxid);
            respond(shared, origin, result, txn.zxid);
        }
        step => finish_read(shared, tree, step),
    }
}

/// Answers a read or an early rejection at its place in the batch.
fn finish_read(shared: &Shared, tree: &crate::state_machine::tree::DataTree, step: Step) {
    match step {
        Step::Read {
            conn,
            xid,
            request,
            received,
        } => {
            ops::read::execute(shared, tree, &conn, xid, &request);
            answered(shared, &conn, received, false);
        }
        Step::Reject {
            conn,
            xid,
            refusal,
            received,
        } => {
            refusal.send(&conn, xid, tree.last_zxid());
            answered(shared, &conn, received, false);
        }
        Step::Txn { .. } => {}
    }
}

/// Tells every watcher that may read the changed node (READ on its ACL, as ZooKeeper
/// checks before sending an event).
fn deliver(shared: &Shared, events: &[Event], zxid: Zxid) {
    if events.is_empty() {
        return;
    }
    let mut watches = shared.watches.lock();
    for event in events {
        for watcher in watches.trigger(&event.path, event.kind) {
            if let Some(conn) = shared.conns.get(watcher) {
                if conn.auth.read().allows(&event.acl, Perms::READ) {
                    conn.notify(event.kind, &event.path, zxid);
                }
            }
        }
    }
}

/// A pipelined request has its reply queued.
fn answered(shared: &Shared, conn: &Conn, received: Instant, write: bool) {
    shared.record_answer(conn, received, write);
    conn.end_in_flight();
}

fn respond(shared: &Shared, origin: Origin, result: OpResult, zxid: Zxid) {
    let ended = match &result {
        OpResult::SessionClosed(Some(session)) => Some(session.id),
        _ => None,
    };
    match origin {
        Origin::Client {
            conn,
            xid,
            op: opcode,
            received,
        } => {
            if opcode == OpCode::CloseSession {
                tracing::info!(session = format_args!("0x{:x}", conn.session_id()), peer = %conn.peer, "session closed by client");
                conn.reply_and_close(xid, zxid, ErrorCode::Ok);
            } else {
                ops::reply::write_result(&conn, xid, zxid, &result);
            }
            answered(shared, &conn, received, true);
        }
        Origin::Handshake {
            conn,
            read_only,
            done,
        } => {
            if let OpResult::SessionCreated(session) = result {
                shared.conns.attach(session.id, conn.clone());
                conn.set_session_id(session.id);
                tracing::info!(session = format_args!("0x{:x}", session.id), timeout_ms = session.timeout_ms(), peer = %conn.peer, "session established");
                conn.out.send(|out| {
                    ops::reply::write_connect_response(
                        out,
                        &ConnectResponse {
                            protocol_version: 0,
                            timeout: session.timeout_ms(),
                            session_id: session.id,
                            passwd: Some(bytes::Bytes::copy_from_slice(&session.password)),
                            read_only: read_only.map(|_| false),
                        },
                    )
                });
            }
            let _ = done.send(());
        }
        Origin::Server => {
            // An expired session's connection is closed without an answer.
            if let OpResult::SessionClosed(Some(session)) = result {
                if let Some(conn) = shared.conns.serving(session.id) {
                    conn.out.close_after_flush();
                }
            }
        }
    }
    if let Some(session_id) = ended {
        shared.conns.forget(session_id);
    }
}
