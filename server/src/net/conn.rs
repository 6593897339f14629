//! What the rest of the server knows about a client connection: its identity, its
//! proven auth ids, its outbound queue and the session it serves.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use ferrokeeper_protocol::frame::{write_reply, WriteJute};
use ferrokeeper_protocol::records::{ReplyHeader, Stat, WatcherEvent, STAT_LEN};
use ferrokeeper_protocol::{ErrorCode, EventType, Jute, KeeperState};
use parking_lot::{Mutex, RwLock};

use super::outbound::Outbound;
use crate::auth::AuthIds;
use crate::state_machine::tree::FastMap;
use crate::stats::ResponseSizes;

pub struct Conn {
    pub id: u64,
    pub peer: SocketAddr,
    pub auth: RwLock<AuthIds>,
    pub out: Outbound,
    session_id: AtomicI64,
    /// Requests handed to the pipeline and not yet answered. While non-zero, reads of
    /// this connection also go through the pipeline so replies stay in order.
    in_flight: AtomicUsize,
    /// Their sizes as received, oldest first (a connection's requests are answered in
    /// order), and the total.
    in_flight_sizes: Mutex<VecDeque<usize>>,
    in_flight_bytes: AtomicUsize,
    /// Requests of every connection in the pipeline (the registry's count), for
    /// globalOutstandingLimit.
    server_in_flight: Arc<AtomicUsize>,
    pub received: AtomicU64,
    pub sent: AtomicU64,
    /// What `cons` and the AdminServer report about this connection.
    pub stats: crate::stats::ConnStats,
    /// Server-wide sizes of replies (`zk_*_client_response_size`).
    response_sizes: Arc<ResponseSizes>,
}

impl Conn {
    pub fn new(
        id: u64,
        peer: SocketAddr,
        response_sizes: Arc<ResponseSizes>,
        server_in_flight: Arc<AtomicUsize>,
    ) -> Self {
        Conn {
            id,
            peer,
            auth: RwLock::new(AuthIds::for_peer(peer.ip())),
            out: Outbound::new(peer),
            session_id: AtomicI64::new(0),
            in_flight: AtomicUsize::new(0),
            in_flight_sizes: Mutex::new(VecDeque::new()),
            in_flight_bytes: AtomicUsize::new(0),
            server_in_flight,
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            stats: crate::stats::ConnStats::new(crate::time::now_ms()),
            response_sizes,
        }
    }

    pub fn session_id(&self) -> i64 {
        self.session_id.load(Ordering::Acquire)
    }

    pub fn set_session_id(&self, id: i64) {
        self.session_id.store(id, Ordering::Release);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Requests of all connections in the pipeline.
    pub fn server_in_flight(&self) -> usize {
        self.server_in_flight.load(Ordering::Acquire)
    }

    /// Bytes of the requests in the pipeline.
    pub fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes.load(Ordering::Acquire)
    }

    /// A request of `size` bytes was handed to the pipeline.
    pub fn begin_in_flight(&self, size: usize) {
        self.in_flight_sizes.lock().push_back(size);
        self.in_flight_bytes.fetch_add(size, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.server_in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// Called after the reply of a pipelined request has been queued.
    pub fn end_in_flight(&self) {
        let size = self.in_flight_sizes.lock().pop_front().unwrap_or(0);
        self.in_flight_bytes.fetch_sub(size, Ordering::AcqRel);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.server_in_flight.fetch_sub(1, Ordering::AcqRel);
        self.out.notify_progress();
    }

    /// Queues one reply frame.
    pub fn reply(&self, xid: i32, zxid: i64, err: ErrorCode, body: Option<&dyn WriteJute>) {
        self.out.send(|out| {
            let start = out.len();
            write_reply(out, &header(xid, zxid, err), body);
            self.counted(out.len() - start);
        });
    }

    /// Queues a getData answer; large data goes out without being copied.
    pub fn reply_data(&self, xid: i32, zxid: i64, data: &Option<Bytes>, stat: &Stat) {
        let data_len = data.as_ref().map_or(0, Bytes::len);
        // header (16) + data length (4) + data + stat
        let frame_len = 16 + 4 + data_len + STAT_LEN;
        self.counted(frame_len + 4);
        self.out.send_parts(|sink| {
            let out = sink.buf();
            out.put_i32(frame_len as i32);
            header(xid, zxid, ErrorCode::Ok).write(out);
            match data {
                None => out.put_i32(-1),
                Some(data) => {
                    out.put_i32(data.len() as i32);
                    sink.put_shared(data);
                }
            }
            stat.write(sink.buf());
        });
    }

    /// Queues a reply frame, then closes the connection.
    pub fn reply_and_close(&self, xid: i32, zxid: i64, err: ErrorCode) {
        self.out.send_and_close(|out| {
            let start = out.len();
            write_reply(out, &header(xid, zxid, err), None);
            self.counted(out.len() - start);
        });
    }

    /// Queues a watch notification (xid -1).
    pub fn notify(&self, event: EventType, path: &str, zxid: i64) {
        self.out.send(|out| {
            let start = out.len();
            write_notification(out, event, path, zxid);
            self.counted(out.len() - start);
        });
    }

    /// A frame of `len` bytes (length prefix included) was queued: a packet sent, and
    /// its size as ZooKeeper counts it (without the prefix).
    fn counted(&self, len: usize) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.response_sizes.record(len.saturating_sub(4));
    }
}

impl Drop for Conn {
    /// Requests the pipeline dropped unanswered (it stopped) leave the server's count.
    fn drop(&mut self) {
        let left = *self.in_flight.get_mut();
        self.server_in_flight.fetch_sub(left, Ordering::AcqRel);
    }
}

fn header(xid: i32, zxid: i64, err: ErrorCode) -> ReplyHeader {
    ReplyHeader {
        xid,
        zxid,
        err: err.code(),
    }
}

fn write_notification(out: &mut BytesMut, event: EventType, path: &str, zxid: i64) {
    let body = WatcherEvent {
        event_type: event.code(),
        state: KeeperState::SyncConnected.code(),
        path: path.to_owned(),
    };
    write_reply(
        out,
        &header(
            ferrokeeper_protocol::codes::xid::NOTIFICATION,
            zxid,
            ErrorCode::Ok,
        ),
        Some(&body),
    );
}

/// Every open connection, by id (watches name their connection by id), and the one
/// serving each session.
#[derive(Default)]
pub struct ConnRegistry {
    conns: RwLock<FastMap<u64, Arc<Conn>>>,
    by_session: Mutex<FastMap<i64, SessionConn>>,
    next_id: AtomicU64,
    /// Reply sizes over every connection.
    pub response_sizes: Arc<ResponseSizes>,
    /// Requests of every connection in the pipeline and not answered yet.
    in_flight: Arc<AtomicUsize>,
}

/// A session's connection, and the client address it last came from: the client an
/// operator looks for when the session expires (its connection is usually gone then).
struct SessionConn {
    conn: Option<Arc<Conn>>,
    last_peer: SocketAddr,
}

impl ConnRegistry {
    pub fn register(&self, peer: SocketAddr) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let conn = Arc::new(Conn::new(
            id,
            peer,
            self.response_sizes.clone(),
            self.in_flight.clone(),
        ));
        self.conns.write().insert(id, conn.clone());
        conn
    }

    pub fn unregister(&self, id: u64) {
        self.conns.write().remove(&id);
    }

    pub fn get(&self, id: u64) -> Option<Arc<Conn>> {
        self.conns.read().get(&id).cloned()
    }

    /// Requests of every connection in the pipeline and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.conns.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn all(&self) -> Vec<Arc<Conn>> {
        self.conns.read().values().cloned().collect()
    }

    /// Makes `conn` the one serving `session_id`, returning the one it replaces.
    pub fn attach(&self, session_id: i64, conn: Arc<Conn>) -> Option<Arc<Conn>> {
        let last_peer = conn.peer;
        let previous = self.by_session.lock().insert(
            session_id,
            SessionConn {
                conn: Some(conn),
                last_peer,
            },
        );
        previous.and_then(|p| p.conn)
    }

    /// Forgets `conn` as the one serving `session_id`, unless another has replaced it.
    pub fn detach(&self, session_id: i64, conn: &Conn) {
        if let Some(entry) = self.by_session.lock().get_mut(&session_id) {
            if entry.conn.as_ref().is_some_and(|c| c.id == conn.id) {
                entry.conn = None;
            }
        }
    }

    pub fn serving(&self, session_id: i64) -> Option<Arc<Conn>> {
        let by_session = self.by_session.lock();
        by_session.get(&session_id).and_then(|e| e.conn.clone())
    }

    /// The client address last seen on the session, if a connection attached since the
    /// server started (a session recovered from disk may have none).
    pub fn last_peer(&self, session_id: i64) -> Option<SocketAddr> {
        self.by_session.lock().get(&session_id).map(|e| e.last_peer)
    }

    /// The session ended: nothing about it is kept.
    pub fn forget(&self, session_id: i64) {
        self.by_session.lock().remove(&session_id);
    }
}
