//! One client connection: the handshake, then requests in arrival order. Reads run
//! here directly unless writes of this connection are still in the pipeline; writes
//! (and anything that must stay behind them) go to the pipeline.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::codes::xid;
use ferrokeeper_protocol::frame::take_frame;
use ferrokeeper_protocol::jute::NullField;
use ferrokeeper_protocol::records::{
    ConnectRequest, GetSaslRequest, RequestHeader, SetSaslResponse,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{DecodeError, ErrorCode, Jute, OpCode};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::oneshot;

use super::conn::Conn;
use crate::ops;
use crate::ops::reply::Refusal;
use crate::pipeline::Work;
use crate::shared::Shared;
use crate::state_machine::PASSWORD_LEN;
use crate::time::now_ms;

/// How long a new connection may take to send its first four bytes, and then the rest
/// of its ConnectRequest. ZooKeeper closes connections without a session after 10 s
/// (`zookeeper.nio.sessionlessCnxnTimeout`); without a bound, idle or dribbling
/// connections would hold descriptors forever.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most bytes of requests one connection may have in the pipeline before it stops
/// being read (one request of any size is always taken).
const MAX_IN_FLIGHT_BYTES: usize = 8 << 20;

/// Why the connection ended, for the log line.
pub type Closed = String;

/// Reads until at least one whole frame is buffered; `None` on a clean EOF.
async fn next_frame(
    shared: &Shared,
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
) -> Result<Option<Bytes>, Closed> {
    loop {
        match take_frame(buf, shared.config.jute_max_buffer) {
            Ok(Some(frame)) => return Ok(Some(frame)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        match socket.read_buf(buf).await {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => {
                return Err(format!(
                    "connection closed mid-frame ({} bytes pending)",
                    buf.len()
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// Serves a connection whose first bytes are already in `buf`.
pub async fn serve(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
) -> Result<(), Closed> {
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, next_frame(shared, socket, buf)).await;
    let Some(frame) =
        first.map_err(|_| format!("no ConnectRequest within {HANDSHAKE_TIMEOUT:?}"))??
    else {
        return Ok(());
    };
    shared.stall.wait().await;
    let connect = ConnectRequest::read(&mut frame.clone())
        .map_err(|e| format!("malformed ConnectRequest: {e}"))?;
    // ZooKeeper counts the ConnectRequest and its answer as packets.
    shared
        .packets_received
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    conn.received
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let established = handshake(shared, conn, connect).await?;
    conn.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if !established {
        return Ok(());
    }
    loop {
        // A connection closed from our side (its session ended, or it stopped reading
        // what it is sent) stops being read at once, so a client that never reads nor
        // closes cannot keep it.
        let frame = tokio::select! {
            frame = next_frame(shared, socket, buf) => frame?,
            () = conn.out.closed() => return Ok(()),
        };
        let Some(frame) = frame else {
            break;
        };
        shared.stall.wait().await;
        shared
            .packets_received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        conn.received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        handle_request(shared, conn, frame).await?;
        if conn.out.is_closing() {
            return Ok(());
        }
        if shared.is_draining() {
            // The server is stopping: answer what was taken, read nothing more.
            conn.out.wait_for(|| conn.in_flight() == 0).await;
            return Ok(());
        }
        conn.out.wait_below_soft_limit().await;
        // globalOutstandingLimit, as ZooKeeper's shouldThrottle: while the server has
        // that many requests in its pipeline, a connection with requests of its own
        // there stops being read until they are answered. One with none is always
        // read, so a client that floods cannot starve the others. And one connection's
        // requests in the pipeline are bounded in bytes too, or a thousand 1 MiB
        // writes would be a gigabyte held.
        let limit = shared.config.global_outstanding_limit;
        let full = || {
            conn.in_flight() > 0
                && (conn.server_in_flight() >= limit
                    || conn.in_flight_bytes() >= MAX_IN_FLIGHT_BYTES)
        };
        if full() {
            // Woken by each of this connection's replies (as ZooKeeper re-enables
            // reading when one of the connection's requests completes).
            conn.out.wait_for(|| !full()).await;
        }
    }
    Ok(())
}

/// Establishes or resumes the session. False when the connection is to be closed.
async fn handshake(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    req: ConnectRequest,
) -> Result<bool, Closed> {
    let last_zxid = shared.last_zxid();
    if req.last_zxid_seen > last_zxid {
        return Err(format!(
            "client has seen zxid 0x{:x} but our last zxid is 0x{:x}: refusing",
            req.last_zxid_seen, last_zxid
        ));
    }
    let timeout_ms = shared.negotiate_timeout(req.timeout);
    conn.stats.request("SESS", -1);
    if req.session_id == 0 {
        let (done, created) = oneshot::channel();
        shared
            .submit(Work::CreateSession {
                conn: conn.clone(),
                timeout_ms,
                read_only: req.read_only,
                done,
            })
            .await
            .map_err(|_| "server shutting down".to_owned())?;
        created.await.map_err(|_| {
            "session could not be created (the transaction log failed, or shutdown)".to_owned()
        })?;
        return Ok(true);
    }
    let session = shared
        .sessions
        .get(req.session_id)
        .filter(|s| !s.is_closing() && req.passwd.as_deref() == Some(&s.password[..]));
    let Some(session) = session else {
        tracing::info!(session = format_args!("0x{:x}", req.session_id), peer = %conn.peer, "refusing reconnect: session expired or wrong password");
        conn.out.send_and_close(|out| {
            ops::reply::write_connect_response(
                out,
                &ferrokeeper_protocol::records::ConnectResponse {
                    protocol_version: 0,
                    timeout: 0,
                    session_id: 0,
                    passwd: Some(Bytes::from_static(&[0; PASSWORD_LEN])),
                    read_only: req.read_only.map(|_| false),
                },
            )
        });
        return Ok(false);
    };
    if let Some(previous) = shared.conns.attach(session.id, conn.clone()) {
        if previous.id != conn.id {
            tracing::info!(session = format_args!("0x{:x}", session.id), old_peer = %previous.peer, "closing previous connection of a resumed session");
            previous.out.close_now();
        }
    }
    session.revalidate(timeout_ms, now_ms());
    conn.set_session_id(session.id);
    tracing::info!(session = format_args!("0x{:x}", session.id), timeout_ms, peer = %conn.peer, "session resumed");
    conn.out.send(|out| {
        ops::reply::write_connect_response(
            out,
            &ferrokeeper_protocol::records::ConnectResponse {
                protocol_version: 0,
                timeout: timeout_ms,
                session_id: session.id,
                passwd: Some(Bytes::copy_from_slice(&session.password)),
                read_only: req.read_only.map(|_| false),
            },
        )
    });
    Ok(true)
}

async fn handle_request(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    mut frame: Bytes,
) -> Result<(), Closed> {
    let received = std::time::Instant::now();
    let size = frame.len();
    let header =
        RequestHeader::read(&mut frame).map_err(|e| format!("malformed request header: {e}"))?;
    let session_id = conn.session_id();
    if let Some(session) = shared.sessions.get(session_id) {
        session.touch(now_ms());
    }
    let op = match OpCode::try_from(header.op) {
        Ok(op) if is_client_op(op) => op,
        _ => {
            tracing::warn!(op = header.op, peer = %conn.peer, "unimplemented op code; closing connection");
            // ZooKeeper answers with the request's zxid, which is -1 for a non-write.
            conn.reply_and_close(header.xid, -1, ErrorCode::Unimplemented);
            return Ok(());
        }
    };
    conn.stats.request(crate::stats::op_name(op), header.xid);
    match op {
        OpCode::Ping => {
            conn.reply(xid::PING, shared.last_zxid(), ErrorCode::Ok, None);
            return Ok(());
        }
        OpCode::Auth => return authenticate(shared, conn, header.xid, frame),
        OpCode::Sasl => {
            // ZooKeeper drops a connection whose SASL packet has no token (null or
            // undecodable) without an answer.
            if !matches!(
                Request::decode(op, frame),
                Ok(Request::Sasl(GetSaslRequest { token: Some(_) }))
            ) {
                return Err("SASL packet without a token".into());
            }
            // Without a SASL server ZooKeeper answers a null token and carries on, so
            // clients that try SASL whenever a JAAS config is around keep working.
            tracing::debug!(peer = %conn.peer, "SASL is not configured; answering a null token");
            let body = SetSaslResponse { token: None };
            conn.reply(header.xid, 0, ErrorCode::Ok, Some(&body));
            return Ok(());
        }
        _ => {}
    }
    let work = if !shared.session_is_live(session_id) && op != OpCode::CloseSession {
        Err(Refusal::new(ErrorCode::SessionExpired))
    } else {
        match Request::decode(op, frame) {
            // Decoded first, as in ZooKeeper: garbage is a MarshallingError.
            Ok(Request::Reconfig(_)) => {
                return fail_write(
                    shared,
                    conn,
                    header.xid,
                    op,
                    ErrorCode::ReconfigDisabled,
                    size,
                    received,
                )
                .await
            }
            Ok(request) => Ok(request),
            Err(e) => {
                tracing::debug!(?op, error = %e, peer = %conn.peer, "undecodable request");
                // ZooKeeper's multi uses its ops' paths before it makes a transaction.
                let null_multi_path = matches!(op, OpCode::Multi | OpCode::MultiRead)
                    && e == DecodeError::Null(NullField::Path);
                if op.is_write() && op != OpCode::Reconfig && !null_multi_path {
                    return fail_write(
                        shared,
                        conn,
                        header.xid,
                        op,
                        ErrorCode::MarshallingError,
                        size,
                        received,
                    )
                    .await;
                }
                Err(Refusal {
                    err: ErrorCode::MarshallingError,
                    empty_multi: null_multi_path,
                })
            }
        }
    };
    match work {
        Ok(request) if !op.is_write() && conn.in_flight() == 0 => {
            let tree = shared.tree.read();
            ops::read::execute(shared, &tree, conn, header.xid, &request);
            shared.record_answer(conn, received, false);
        }
        Ok(request) => {
            submit(
                shared,
                conn,
                size,
                Work::Request {
                    conn: conn.clone(),
                    xid: header.xid,
                    request,
                    received,
                },
            )
            .await?
        }
        Err(refusal) if conn.in_flight() == 0 => {
            refusal.send(conn, header.xid, shared.last_zxid());
            shared.record_answer(conn, received, false);
        }
        Err(refusal) => {
            submit(
                shared,
                conn,
                size,
                Work::Reject {
                    conn: conn.clone(),
                    xid: header.xid,
                    refusal,
                    received,
                },
            )
            .await?
        }
    }
    Ok(())
}

/// A write ZooKeeper refuses before preparing it: a failed transaction, with a zxid.
async fn fail_write(
    shared: &Shared,
    conn: &Arc<Conn>,
    xid: i32,
    op: OpCode,
    err: ErrorCode,
    size: usize,
    received: std::time::Instant,
) -> Result<(), Closed> {
    let work = Work::FailedWrite {
        conn: conn.clone(),
        xid,
        op,
        err,
        received,
    };
    submit(shared, conn, size, work).await
}

async fn submit(shared: &Shared, conn: &Conn, size: usize, work: Work) -> Result<(), Closed> {
    conn.begin_in_flight(size);
    shared
        .submit(work)
        .await
        .map_err(|_| "server shutting down".to_owned())
}

/// Ops a client may send (ZooKeeper's Request.isValid plus auth and sasl).
fn is_client_op(op: OpCode) -> bool {
    !matches!(
        op,
        OpCode::Notification | OpCode::Check | OpCode::CreateSession | OpCode::Error
    )
}

/// auth packets are answered at once, outside the request order, as in ZooKeeper. The
/// answer echoes the packet's xid: -4 from most clients, but some (the Rust
/// zookeeper-client) use an ordinary xid and wait for that one.
fn authenticate(shared: &Shared, conn: &Conn, xid: i32, frame: Bytes) -> Result<(), Closed> {
    let Ok(Request::Auth(packet)) = Request::decode(OpCode::Auth, frame) else {
        shared
            .auth_failed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        conn.reply_and_close(xid, 0, ErrorCode::AuthFailed);
        return Err("malformed auth packet".into());
    };
    // A null credential fails: ZooKeeper's digest check reads it unchecked.
    let authenticated = match &packet.auth {
        Some(credentials) => crate::auth::authenticate(
            &packet.scheme,
            credentials,
            shared.config.super_digest.as_deref(),
        ),
        None => Err(ErrorCode::AuthFailed),
    };
    match authenticated {
        Ok(ids) => {
            let mut auth = conn.auth.write();
            for id in ids {
                auth.add(id);
            }
            drop(auth);
            conn.reply(xid, 0, ErrorCode::Ok, None);
            Ok(())
        }
        Err(err) => {
            shared
                .auth_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(scheme = packet.scheme, peer = %conn.peer, "authentication failed; closing connection");
            conn.reply_and_close(xid, 0, err);
            Ok(())
        }
    }
}
