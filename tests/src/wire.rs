//! A blocking client that writes hand-made frames and reads the server's frames one
//! by one, for tests that check the wire itself: reply order, headers, bodies, and
//! when the server closes the connection. Every read is bounded by a timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrokeeper_protocol::codes::xid;
use ferrokeeper_protocol::jute::{from_bytes, Jute};
use ferrokeeper_protocol::records::{
    ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::OpCode;

/// How long any single read may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The session timeout new raw sessions ask for (clamped by the server).
pub const DEFAULT_SESSION_TIMEOUT_MS: i32 = 30_000;

/// One frame from the server after the handshake.
#[derive(Debug, Clone)]
pub struct Reply {
    pub header: ReplyHeader,
    pub body: Bytes,
}

impl Reply {
    /// A frame's payload: the reply header, then the body.
    fn parse(mut payload: Bytes) -> Reply {
        let header = ReplyHeader::read(&mut payload).expect("reply header");
        Reply {
            header,
            body: payload,
        }
    }

    pub fn xid(&self) -> i32 {
        self.header.xid
    }

    pub fn err(&self) -> i32 {
        self.header.err
    }

    pub fn is_notification(&self) -> bool {
        self.header.xid == xid::NOTIFICATION
    }

    /// Decodes the body as `T`, which must span all of it.
    pub fn decode<T: Jute>(&self) -> T {
        from_bytes(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "cannot decode {} from reply {:?} ({} body bytes): {e}",
                std::any::type_name::<T>(),
                self.header,
                self.body.len()
            )
        })
    }

    /// The watch event of a notification.
    pub fn event(&self) -> WatcherEvent {
        assert!(
            self.is_notification(),
            "not a notification: {:?}",
            self.header
        );
        self.decode()
    }
}

/// A raw connection to the server.
pub struct Wire {
    stream: TcpStream,
    buf: BytesMut,
    pub session_id: i64,
    pub password: Option<Bytes>,
    pub timeout_ms: i32,
}

/// A new-session ConnectRequest as current clients send it (readOnly flag present).
pub fn new_session_request(timeout_ms: i32) -> ConnectRequest {
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: timeout_ms,
        session_id: 0,
        passwd: Some(Bytes::from_static(&[0; 16])),
        read_only: Some(false),
    }
}

/// A frame: length prefix, then `payload`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The frame of a request: header, then body.
pub fn request_frame(xid: i32, op: i32, body: &[u8]) -> Vec<u8> {
    let mut payload = BytesMut::new();
    RequestHeader { xid, op }.write(&mut payload);
    payload.put_slice(body);
    frame(&payload)
}

/// The encoded body of a request.
pub fn body_of(request: &Request) -> Vec<u8> {
    let mut body = BytesMut::new();
    request.encode_body(&mut body);
    body.to_vec()
}

/// The frame of a typed request.
pub fn typed_request_frame(xid: i32, request: &Request) -> Vec<u8> {
    request_frame(xid, request.op_code().code(), &body_of(request))
}

/// The encoded body of one record.
pub fn record<T: Jute>(value: &T) -> Vec<u8> {
    let mut out = BytesMut::new();
    value.write(&mut out);
    out.to_vec()
}

impl Wire {
    /// Opens a TCP connection without any handshake.
    pub fn open(addr: SocketAddr) -> Wire {
        Self::try_open(addr).expect("connect")
    }

    /// Like [`Self::open`]; `None` if the server cannot be reached.
    pub fn try_open(addr: SocketAddr) -> Option<Wire> {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).ok()?;
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Some(Wire {
            stream,
            buf: BytesMut::new(),
            session_id: 0,
            password: None,
            timeout_ms: 0,
        })
    }

    /// Opens a connection and establishes a new session.
    pub fn connect(addr: SocketAddr) -> Wire {
        Self::connect_with(addr, &new_session_request(DEFAULT_SESSION_TIMEOUT_MS)).0
    }

    /// Opens a connection, sends `request` and reads the ConnectResponse.
    pub fn connect_with(addr: SocketAddr, request: &ConnectRequest) -> (Wire, ConnectResponse) {
        let mut wire = Wire::open(addr);
        let response = wire.handshake(request);
        (wire, response)
    }

    /// Like [`Self::connect_with`]; `None` if the server cannot be reached or closes
    /// the connection instead of answering (a server that is stopping or restarting).
    pub fn try_connect_with(
        addr: SocketAddr,
        request: &ConnectRequest,
    ) -> Option<(Wire, ConnectResponse)> {
        let mut wire = Wire::try_open(addr)?;
        wire.write_raw_lossy(&frame(&record(request)));
        let payload = wire.recv_frame_within(READ_TIMEOUT).flatten()?;
        let response = wire.take_connect_response(payload);
        Some((wire, response))
    }

    /// Resumes the session of `other` on a new connection.
    pub fn resume(addr: SocketAddr, other: &Wire) -> (Wire, ConnectResponse) {
        let request = ConnectRequest {
            session_id: other.session_id,
            passwd: other.password.clone(),
            timeout: other.timeout_ms,
            ..new_session_request(other.timeout_ms)
        };
        Self::connect_with(addr, &request)
    }

    /// Sends `request` and reads the ConnectResponse.
    pub fn handshake(&mut self, request: &ConnectRequest) -> ConnectResponse {
        self.write_raw(&frame(&record(request)));
        let payload = self
            .recv_frame()
            .expect("server closed the connection instead of answering the handshake");
        self.take_connect_response(payload)
    }

    /// Decodes the ConnectResponse and remembers the session it gives.
    fn take_connect_response(&mut self, payload: Bytes) -> ConnectResponse {
        let response: ConnectResponse = from_bytes(payload).expect("ConnectResponse");
        self.session_id = response.session_id;
        self.password = response.passwd.clone();
        self.timeout_ms = response.timeout;
        response
    }

    /// The socket, e.g. to clone it for a writer thread while this one reads.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes bytes as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Writes bytes, tolerating a server that already closed the connection.
    pub fn write_raw_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Sends a request frame with an arbitrary op code and body.
    pub fn send_op(&mut self, xid: i32, op: i32, body: &[u8]) {
        self.write_raw(&request_frame(xid, op, body));
    }

    /// Sends a typed request.
    pub fn send(&mut self, xid: i32, request: &Request) {
        self.write_raw(&typed_request_frame(xid, request));
    }

    /// Sends a typed request the server may refuse mid-write by closing.
    pub fn send_lossy(&mut self, xid: i32, request: &Request) {
        self.write_raw_lossy(&typed_request_frame(xid, request));
    }

    /// Sends a request and returns its reply; notifications that arrive first are
    /// returned too, in arrival order.
    pub fn call_with_events(&mut self, xid: i32, request: &Request) -> (Reply, Vec<Reply>) {
        self.send(xid, request);
        let mut events = Vec::new();
        loop {
            let reply = self.recv();
            if reply.is_notification() {
                events.push(reply);
                continue;
            }
            assert_eq!(
                reply.xid(),
                xid,
                "reply to another request: {:?}",
                reply.header
            );
            return (reply, events);
        }
    }

    /// Sends a request and returns its reply, which must come before any notification.
    pub fn call(&mut self, xid: i32, request: &Request) -> Reply {
        let (reply, events) = self.call_with_events(xid, request);
        assert!(events.is_empty(), "unexpected notifications: {events:?}");
        reply
    }

    /// The next frame's payload; `None` when the server closed the connection.
    /// Panics if nothing arrives within [`READ_TIMEOUT`].
    pub fn recv_frame(&mut self) -> Option<Bytes> {
        self.recv_frame_within(READ_TIMEOUT)
            .unwrap_or_else(|| panic!("no frame from the server within {READ_TIMEOUT:?}"))
    }

    /// `Some(None)` on close, `Some(Some(frame))` on a frame, `None` on timeout.
    pub fn recv_frame_within(&mut self, timeout: Duration) -> Option<Option<Bytes>> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.buf.len() >= 4 {
                let len = i32::from_be_bytes(self.buf[..4].try_into().unwrap());
                assert!(len >= 0, "server sent a negative frame length {len}");
                if self.buf.len() >= 4 + len as usize {
                    self.buf.advance(4);
                    return Some(Some(self.buf.split_to(len as usize).freeze()));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            self.stream
                .set_read_timeout(Some(deadline - now))
                .expect("set timeout");
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(
                        self.buf.is_empty(),
                        "server closed mid-frame with {} bytes pending",
                        self.buf.len()
                    );
                    return Some(None);
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Some(None)
                }
                Err(e) => panic!("read from server: {e}"),
            }
        }
    }

    /// The next reply or notification. Panics on close or timeout.
    pub fn recv(&mut self) -> Reply {
        let payload = self
            .recv_frame()
            .expect("server closed the connection while a reply was expected");
        Reply::parse(payload)
    }

    /// The next reply or notification; `None` on close or timeout.
    pub fn try_recv(&mut self) -> Option<Reply> {
        let payload = self.recv_frame_within(READ_TIMEOUT).flatten()?;
        Some(Reply::parse(payload))
    }

    /// Reads `n` frames.
    pub fn recv_n(&mut self, n: usize) -> Vec<Reply> {
        (0..n).map(|_| self.recv()).collect()
    }

    /// Reads frames until the server closes the connection and returns them. Panics if
    /// the connection is still open after [`READ_TIMEOUT`].
    pub fn recv_until_closed(&mut self) -> Vec<Reply> {
        let mut frames = Vec::new();
        loop {
            match self.recv_frame() {
                None => return frames,
                Some(mut payload) => {
                    let header = ReplyHeader::read(&mut payload).expect("reply header");
                    frames.push(Reply {
                        header,
                        body: payload,
                    });
                }
            }
        }
    }

    /// Asserts the server closes the connection without sending anything more.
    pub fn expect_closed(&mut self) {
        let frames = self.recv_until_closed();
        assert!(
            frames.is_empty(),
            "expected the connection to close silently, got {frames:?}"
        );
    }

    /// Asserts nothing arrives (and the connection stays open) for `quiet`.
    pub fn expect_silence(&mut self, quiet: Duration) {
        match self.recv_frame_within(quiet) {
            None => {}
            Some(None) => panic!("server closed the connection"),
            Some(Some(frame)) => panic!("unexpected frame from the server: {frame:?}"),
        }
    }

    /// Sends a ping and waits for its answer (skipping nothing else).
    pub fn ping(&mut self) -> Reply {
        self.send_op(xid::PING, OpCode::Ping.code(), &[]);
        let reply = self.recv();
        assert_eq!(reply.xid(), xid::PING, "{:?}", reply.header);
        reply
    }
}

/// Builders for typed requests, so raw tests read like client calls.
pub mod req {
    use bytes::Bytes;
    use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
    use ferrokeeper_protocol::records::{
        Acl, AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, DeleteRequest,
        PathRequest, PathWatchRequest, SetAclRequest, SetDataRequest, SetWatches2, SyncRequest,
    };
    use ferrokeeper_protocol::request::Request;
    use ferrokeeper_protocol::{AddWatchMode, CreateMode, OpCode, Perms, WatcherType};

    /// world:anyone with every permission.
    pub fn open_acl() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, "world", "anyone")]
    }

    /// Any create: `op` 1, 15, 19 or 21 with raw flags and ttl.
    pub fn create_raw(
        op: OpCode,
        path: &str,
        data: Option<&[u8]>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: i64,
    ) -> CreateOp {
        CreateOp {
            op,
            path: path.to_owned(),
            data: data.map(Bytes::copy_from_slice),
            acl,
            flags,
            ttl,
        }
    }

    /// create2 (op 15) of an open node.
    pub fn create(path: &str, data: &[u8], mode: CreateMode) -> Request {
        Request::Create(create_op(path, data, mode))
    }

    /// The create2 sub-op / request body of an open node.
    pub fn create_op(path: &str, data: &[u8], mode: CreateMode) -> CreateOp {
        create_raw(
            OpCode::Create2,
            path,
            Some(data),
            open_acl(),
            mode.code(),
            -1,
        )
    }

    /// Plain create (op 1) of an open persistent node.
    pub fn create1(path: &str, data: &[u8]) -> Request {
        Request::Create(create_raw(
            OpCode::Create,
            path,
            Some(data),
            open_acl(),
            CreateMode::Persistent.code(),
            -1,
        ))
    }

    pub fn delete(path: &str, version: i32) -> Request {
        Request::Delete(delete_op(path, version))
    }

    pub fn delete_op(path: &str, version: i32) -> DeleteRequest {
        DeleteRequest {
            path: path.to_owned(),
            version,
        }
    }

    fn path_watch(path: &str, watch: bool) -> PathWatchRequest {
        PathWatchRequest {
            path: path.to_owned(),
            watch,
        }
    }

    fn path(path: &str) -> PathRequest {
        PathRequest {
            path: path.to_owned(),
        }
    }

    pub fn exists(p: &str, watch: bool) -> Request {
        Request::Exists(path_watch(p, watch))
    }

    pub fn get_data(p: &str, watch: bool) -> Request {
        Request::GetData(path_watch(p, watch))
    }

    pub fn get_children(p: &str, watch: bool) -> Request {
        Request::GetChildren(path_watch(p, watch))
    }

    pub fn get_children2(p: &str, watch: bool) -> Request {
        Request::GetChildren2(path_watch(p, watch))
    }

    pub fn set_data(p: &str, data: &[u8], version: i32) -> Request {
        Request::SetData(set_data_op(p, data, version))
    }

    pub fn set_data_op(p: &str, data: &[u8], version: i32) -> SetDataRequest {
        SetDataRequest {
            path: p.to_owned(),
            data: Some(Bytes::copy_from_slice(data)),
            version,
        }
    }

    pub fn check_op(p: &str, version: i32) -> MultiOp {
        MultiOp::Check(CheckVersionRequest {
            path: p.to_owned(),
            version,
        })
    }

    pub fn get_acl(p: &str) -> Request {
        Request::GetAcl(path(p))
    }

    pub fn set_acl(p: &str, acl: Vec<Acl>, version: i32) -> Request {
        Request::SetAcl(SetAclRequest {
            path: p.to_owned(),
            acl,
            version,
        })
    }

    pub fn sync(p: &str) -> Request {
        Request::Sync(SyncRequest {
            path: Some(p.to_owned()),
        })
    }

    pub fn get_ephemerals(prefix: &str) -> Request {
        Request::GetEphemerals(path(prefix))
    }

    pub fn get_all_children_number(p: &str) -> Request {
        Request::GetAllChildrenNumber(path(p))
    }

    pub fn multi(ops: Vec<MultiOp>) -> Request {
        Request::Multi(ops)
    }

    pub fn multi_read(ops: Vec<MultiOp>) -> Request {
        Request::MultiRead(ops)
    }

    pub fn read_data_op(p: &str) -> MultiOp {
        MultiOp::GetData(path_watch(p, false))
    }

    pub fn read_children_op(p: &str) -> MultiOp {
        MultiOp::GetChildren(path_watch(p, false))
    }

    pub fn add_watch(p: &str, mode: AddWatchMode) -> Request {
        Request::AddWatch(AddWatchRequest {
            path: p.to_owned(),
            mode: mode.code(),
        })
    }

    pub fn check_watches(p: &str, kind: WatcherType) -> Request {
        Request::CheckWatches(CheckWatchesRequest {
            path: p.to_owned(),
            watcher_type: kind.code(),
        })
    }

    pub fn remove_watches(p: &str, kind: WatcherType) -> Request {
        Request::RemoveWatches(CheckWatchesRequest {
            path: p.to_owned(),
            watcher_type: kind.code(),
        })
    }

    /// setWatches (op 101: no persistent watches).
    pub fn set_watches(
        relative_zxid: i64,
        data: &[&str],
        exist: &[&str],
        child: &[&str],
    ) -> Request {
        let list = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect();
        Request::SetWatches(SetWatches2 {
            relative_zxid,
            data_watches: list(data),
            exist_watches: list(exist),
            child_watches: list(child),
            persistent_watches: Vec::new(),
            persistent_recursive_watches: Vec::new(),
        })
    }

    pub fn auth(scheme: &str, credentials: &[u8]) -> Request {
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: scheme.to_owned(),
            auth: Some(Bytes::copy_from_slice(credentials)),
        })
    }
}
