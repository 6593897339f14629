//! Golden wire captures of real clients (Java 3.8, kazoo 2.x, C 3.8) talking to a real
//! ZooKeeper 3.8 server (see `tests/golden/README.md`). Every frame of every capture must
//! decode with this crate and re-encode to the very same bytes; on top of that, the
//! deterministic facts of the README's tables (op sequence, errs, zxids, paths, data,
//! versions, flags, ACLs, multi results) are asserted. Session ids, passwords, times, the
//! C client's xid base and the order of children lists vary between regenerations and
//! are not hard-coded.
//!
//! Known places where the codec cannot reproduce a capture byte for byte, and how they
//! are handled here:
//! - null (`-1`) `ustring`s / vectors read as empty and are written back as length 0.
//!   The C client sends null strings in `reconfig`; kazoo may send them for empty
//!   values. For those frames the re-encoding must differ *only* in such 4-byte null
//!   markers, and the set of frames where that happens is asserted.
//! - `setWatches` (101) decodes into [`Request::SetWatches`] holding a `SetWatches2`, whose
//!   `encode_body` writes the op-105 shape (two more vectors) and whose `op_code()` is 105.
//!   Those frames are re-encoded through the `SetWatches` record instead.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::jute::{from_bytes, to_bytes, Jute};
use ferrokeeper_protocol::multi::{CreateOp, MultiOp, MultiResponse, MultiResult};
use ferrokeeper_protocol::records::{
    Acl, ClientInfo, ConnectRequest, ConnectResponse, Create2Response, CreateResponse,
    ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, ReplyHeader, RequestHeader,
    SetWatches, Stat, StatResponse, SyncResponse, WatcherEvent, WhoAmIResponse,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, EventType, KeeperState, OpCode};

// ---------------------------------------------------------------------------------------
// Reading captures
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    C,
    S,
}

struct RawFrame {
    line: usize,
    conn: u32,
    dir: Dir,
    bytes: Bytes,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn capture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("read tests/golden")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "frames"))
        .collect();
    files.sort();
    files
}

fn hex_decode(s: &str, what: &str) -> Vec<u8> {
    assert!(
        s.as_bytes().chunks_exact(2).remainder().is_empty(),
        "{what}: odd hex length"
    );
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("{what}: bad hex")))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(s, "{b:02x}").unwrap();
    }
    s
}

fn read_capture(path: &Path) -> Vec<RawFrame> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).expect("read capture");
    let mut conn = None;
    let mut frames = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if let Some(comment) = line.strip_prefix('#') {
            // Only `# conn N` exactly switches connection; `# conn N opened` etc. do not.
            if let Some(n) = comment.strip_prefix(" conn ") {
                if let Ok(n) = n.parse::<u32>() {
                    conn = Some(n);
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (dir, payload) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name}:{line_no}: no space in frame line"));
        let dir = match dir {
            "C" => Dir::C,
            "S" => Dir::S,
            other => panic!("{name}:{line_no}: unknown direction {other:?}"),
        };
        let conn = conn.unwrap_or_else(|| panic!("{name}:{line_no}: frame before `# conn N`"));
        frames.push(RawFrame {
            line: line_no,
            conn,
            dir,
            bytes: Bytes::from(hex_decode(payload, &format!("{name}:{line_no}"))),
        });
    }
    frames
}

// ---------------------------------------------------------------------------------------
// Decoding every frame, with the round-trip assertions
// ---------------------------------------------------------------------------------------

/// A decoded reply body, by the op of the request it answers.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    Empty,
    Create(CreateResponse),
    Create2(Create2Response),
    GetData(GetDataResponse),
    Stat(StatResponse),
    Children(GetChildrenResponse),
    Children2(GetChildren2Response),
    Acl(GetAclResponse),
    Sync(SyncResponse),
    Multi(MultiResponse),
    Ephemerals(GetEphemeralsResponse),
    AllChildren(GetAllChildrenNumberResponse),
    WhoAmI(WhoAmIResponse),
    Error(ErrorResponse),
}

#[derive(Debug, Clone)]
enum Decoded {
    ConnectRequest(ConnectRequest),
    ConnectResponse(ConnectResponse),
    Request {
        header: RequestHeader,
        op: OpCode,
        req: Request,
    },
    Notification {
        header: ReplyHeader,
        event: WatcherEvent,
    },
    Reply {
        header: ReplyHeader,
        op: OpCode,
        body: Body,
        /// Line of the request this answers.
        request_line: usize,
    },
}

struct Frame {
    line: usize,
    conn: u32,
    raw: Bytes,
    decoded: Decoded,
}

struct Capture {
    name: String,
    frames: Vec<Frame>,
    /// Client frames whose re-encoding differs from the capture only in null markers:
    /// (line, op).
    null_marker_frames: Vec<(usize, OpCode)>,
}

#[derive(Default)]
struct ConnState {
    seen_connect_request: bool,
    seen_connect_response: bool,
    /// xid -> (op, line) of requests awaiting their reply.
    pending: HashMap<i32, (OpCode, usize)>,
}

/// Decodes `body` as a `T` that must span it exactly, and re-encodes it byte for byte.
fn exact<T: Jute + std::fmt::Debug>(body: &Bytes, at: &str) -> T {
    let value: T = from_bytes(body.clone()).unwrap_or_else(|e| {
        panic!(
            "{at}: cannot decode {}: {e}; body {}",
            std::any::type_name::<T>(),
            hex(body)
        )
    });
    let again = to_bytes(&value);
    assert_eq!(
        hex(&again),
        hex(body),
        "{at}: {} does not re-encode identically ({value:?})",
        std::any::type_name::<T>()
    );
    value
}

/// `Ok(false)` if identical, `Ok(true)` if `ours` differs from `theirs` only where
/// `theirs` has a null marker (`ffffffff`) and `ours` an empty length (`00000000`).
fn compare_modulo_null_markers(theirs: &[u8], ours: &[u8]) -> Result<bool, String> {
    if theirs == ours {
        return Ok(false);
    }
    if theirs.len() != ours.len() {
        return Err(format!(
            "lengths differ: capture {} bytes, re-encoded {} bytes",
            theirs.len(),
            ours.len()
        ));
    }
    let mut i = 0;
    while i < theirs.len() {
        if theirs[i] == ours[i] {
            i += 1;
            continue;
        }
        // All four bytes of ffffffff vs 00000000 differ, so the first differing byte
        // is the start of the marker.
        if theirs.get(i..i + 4) == Some(&[0xff; 4][..]) && ours.get(i..i + 4) == Some(&[0; 4][..]) {
            i += 4;
        } else {
            return Err(format!("differs at byte {i} (not a null marker)"));
        }
    }
    Ok(true)
}

fn decode_reply_body(op: OpCode, body: &Bytes, at: &str) -> Body {
    match op {
        OpCode::Create => Body::Create(exact(body, at)),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            Body::Create2(exact(body, at))
        }
        OpCode::GetData => Body::GetData(exact(body, at)),
        OpCode::Exists | OpCode::SetData | OpCode::SetAcl => Body::Stat(exact(body, at)),
        OpCode::GetChildren => Body::Children(exact(body, at)),
        OpCode::GetChildren2 => Body::Children2(exact(body, at)),
        OpCode::GetAcl => Body::Acl(exact(body, at)),
        OpCode::Sync => Body::Sync(exact(body, at)),
        OpCode::Multi | OpCode::MultiRead => Body::Multi(exact(body, at)),
        OpCode::GetEphemerals => Body::Ephemerals(exact(body, at)),
        OpCode::GetAllChildrenNumber => Body::AllChildren(exact(body, at)),
        OpCode::WhoAmI => Body::WhoAmI(exact(body, at)),
        OpCode::AddWatch => Body::Error(exact(body, at)),
        _ => {
            assert!(
                body.is_empty(),
                "{at}: reply to {op:?} should have no body, has {}",
                hex(body)
            );
            Body::Empty
        }
    }
}

fn decode_capture(path: &Path) -> Capture {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let raw_frames = read_capture(path);
    assert!(!raw_frames.is_empty(), "{name}: no frames");
    let mut conns: HashMap<u32, ConnState> = HashMap::new();
    let mut frames = Vec::new();
    let mut null_marker_frames = Vec::new();

    for raw in raw_frames {
        let at = format!("{name}:{} (conn {})", raw.line, raw.conn);
        let state = conns.entry(raw.conn).or_default();
        let bytes = raw.bytes.clone();
        let decoded = match raw.dir {
            Dir::C if !state.seen_connect_request => {
                state.seen_connect_request = true;
                Decoded::ConnectRequest(exact(&bytes, &at))
            }
            Dir::S if !state.seen_connect_response => {
                assert!(state.seen_connect_request, "{at}: response before request");
                state.seen_connect_response = true;
                Decoded::ConnectResponse(exact(&bytes, &at))
            }
            Dir::C => {
                let mut input = bytes.clone();
                let header = RequestHeader::read(&mut input)
                    .unwrap_or_else(|e| panic!("{at}: RequestHeader: {e}"));
                let op =
                    OpCode::try_from(header.op).unwrap_or_else(|e| panic!("{at}: request op: {e}"));
                let req = Request::decode(op, input.clone())
                    .unwrap_or_else(|e| panic!("{at}: decode {op:?}: {e}; {}", hex(&bytes)));

                let mut ours = BytesMut::new();
                header.write(&mut ours);
                if let (OpCode::SetWatches, Request::SetWatches(w)) = (op, &req) {
                    // Request keeps setWatches in the setWatches2 shape; see the module docs.
                    assert_eq!(req.op_code(), OpCode::SetWatches2, "{at}");
                    assert!(
                        w.persistent_watches.is_empty()
                            && w.persistent_recursive_watches.is_empty(),
                        "{at}: setWatches cannot carry persistent watches"
                    );
                    SetWatches {
                        relative_zxid: w.relative_zxid,
                        data_watches: w.data_watches.clone(),
                        exist_watches: w.exist_watches.clone(),
                        child_watches: w.child_watches.clone(),
                    }
                    .write(&mut ours);
                } else {
                    assert_eq!(req.op_code(), op, "{at}: op_code() of decoded request");
                    req.encode_body(&mut ours);
                }
                match compare_modulo_null_markers(&bytes, &ours) {
                    Ok(false) => {}
                    Ok(true) => null_marker_frames.push((raw.line, op)),
                    Err(why) => panic!(
                        "{at}: {op:?} re-encoding differs: {why}\n capture {}\n ours    {}\n {req:?}",
                        hex(&bytes),
                        hex(&ours)
                    ),
                }
                if matches!(op, OpCode::Ping | OpCode::CloseSession | OpCode::WhoAmI) {
                    assert_eq!(bytes.len(), 8, "{at}: {op:?} has a body");
                }
                let previous = state.pending.insert(header.xid, (op, raw.line));
                assert!(
                    previous.is_none(),
                    "{at}: xid {} reused before its reply",
                    header.xid
                );
                Decoded::Request { header, op, req }
            }
            Dir::S => {
                let mut input = bytes.clone();
                let header = ReplyHeader::read(&mut input)
                    .unwrap_or_else(|e| panic!("{at}: ReplyHeader: {e}"));
                assert_eq!(hex(&to_bytes(&header)), hex(&bytes[..16]), "{at}");
                if header.xid == -1 {
                    let event: WatcherEvent = exact(&input, &at);
                    Decoded::Notification { header, event }
                } else {
                    let (op, request_line) =
                        state.pending.remove(&header.xid).unwrap_or_else(|| {
                            panic!("{at}: reply xid {} matches no request", header.xid)
                        });
                    let body = if header.err != 0 {
                        assert!(
                            input.is_empty(),
                            "{at}: error reply {} to {op:?} has a body {}",
                            header.err,
                            hex(&input)
                        );
                        Body::Empty
                    } else {
                        decode_reply_body(op, &input, &at)
                    };
                    Decoded::Reply {
                        header,
                        op,
                        body,
                        request_line,
                    }
                }
            }
        };
        frames.push(Frame {
            line: raw.line,
            conn: raw.conn,
            raw: raw.bytes,
            decoded,
        });
    }
    for (conn, state) in &conns {
        assert!(
            state.seen_connect_request,
            "{name}: conn {conn} has no ConnectRequest"
        );
        assert!(
            state.pending.is_empty(),
            "{name}: conn {conn}: unanswered requests {:?}",
            state.pending
        );
    }
    Capture {
        name,
        frames,
        null_marker_frames,
    }
}

fn capture(file: &str) -> Capture {
    decode_capture(&golden_dir().join(file))
}

// ---------------------------------------------------------------------------------------
// Looking things up in a decoded capture
// ---------------------------------------------------------------------------------------

/// One request with its reply.
struct Exchange<'a> {
    conn: u32,
    line: usize,
    xid: i32,
    op: OpCode,
    raw: &'a Bytes,
    req: &'a Request,
    reply: &'a ReplyHeader,
    reply_raw: &'a Bytes,
    body: &'a Body,
}

impl Capture {
    fn exchanges(&self) -> Vec<Exchange<'_>> {
        let mut by_line = HashMap::new();
        for f in &self.frames {
            if let Decoded::Request { header, op, req } = &f.decoded {
                by_line.insert(f.line, (f, header, *op, req));
            }
        }
        let mut out = Vec::new();
        for f in &self.frames {
            if let Decoded::Reply {
                header,
                body,
                request_line,
                ..
            } = &f.decoded
            {
                let (rf, rh, op, req) = by_line[request_line];
                out.push(Exchange {
                    conn: rf.conn,
                    line: rf.line,
                    xid: rh.xid,
                    op,
                    raw: &rf.raw,
                    req,
                    reply: header,
                    reply_raw: &f.raw,
                    body,
                });
            }
        }
        out.sort_by_key(|e| e.line);
        out
    }

    /// The exchanges whose request is `op` on `path` (the request's first path field).
    fn find(&self, op: OpCode, path: &str) -> Vec<Exchange<'_>> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.op == op && request_path(e.req) == Some(path))
            .collect()
    }

    fn find_op(&self, op: OpCode) -> Vec<Exchange<'_>> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.op == op)
            .collect()
    }

    /// Exactly one exchange of `op` on `path`.
    fn one(&self, op: OpCode, path: &str) -> Exchange<'_> {
        let mut found = self.find(op, path);
        assert_eq!(found.len(), 1, "{}: {op:?} {path}: expected one", self.name);
        found.pop().unwrap()
    }

    fn connect_requests(&self) -> Vec<(u32, &Bytes, &ConnectRequest)> {
        self.frames
            .iter()
            .filter_map(|f| match &f.decoded {
                Decoded::ConnectRequest(r) => Some((f.conn, &f.raw, r)),
                _ => None,
            })
            .collect()
    }

    fn connect_responses(&self) -> Vec<(u32, &Bytes, &ConnectResponse)> {
        self.frames
            .iter()
            .filter_map(|f| match &f.decoded {
                Decoded::ConnectResponse(r) => Some((f.conn, &f.raw, r)),
                _ => None,
            })
            .collect()
    }

    fn connect_request(&self, conn: u32) -> &ConnectRequest {
        self.connect_requests()
            .into_iter()
            .find(|c| c.0 == conn)
            .unwrap()
            .2
    }

    fn connect_response(&self, conn: u32) -> (&Bytes, &ConnectResponse) {
        let (_, raw, r) = self
            .connect_responses()
            .into_iter()
            .find(|c| c.0 == conn)
            .unwrap_or_else(|| panic!("{}: no ConnectResponse on conn {conn}", self.name));
        (raw, r)
    }

    /// Per connection, in order: the client's tokens and the server's tokens.
    /// Client: `hs:<timeout>` for the ConnectRequest, `<xid>:<op>` for requests.
    /// Server: `hs:<timeout>`, `<xid>:<err>:<zxid>` for replies, `N:<type>:<path>` for
    /// notifications. Xids of the C client's counter (started at the Unix time) are
    /// written `x1`, `x2`, ... relative to the first one.
    fn transcript(&self) -> Vec<(u32, String, String)> {
        let relative = self.name.starts_with("c_client");
        let base = self.frames.iter().find_map(|f| match &f.decoded {
            Decoded::Request { header, .. } if header.xid > 0 => Some(header.xid - 1),
            _ => None,
        });
        let fmt_xid = |xid: i32| -> String {
            if relative && xid > 0 {
                format!("x{}", xid - base.unwrap())
            } else {
                xid.to_string()
            }
        };
        let mut order = Vec::new();
        let mut sides: HashMap<u32, (Vec<String>, Vec<String>)> = HashMap::new();
        for f in &self.frames {
            if !sides.contains_key(&f.conn) {
                order.push(f.conn);
            }
            let (c, s) = sides.entry(f.conn).or_default();
            match &f.decoded {
                Decoded::ConnectRequest(r) => c.push(format!("hs:{}", r.timeout)),
                Decoded::ConnectResponse(r) => s.push(format!("hs:{}", r.timeout)),
                Decoded::Request { header, op, .. } => {
                    c.push(format!("{}:{}", fmt_xid(header.xid), op.code()))
                }
                Decoded::Notification { event, .. } => {
                    s.push(format!("N:{}:{}", event.event_type, event.path))
                }
                Decoded::Reply { header, .. } => s.push(format!(
                    "{}:{}:{}",
                    fmt_xid(header.xid),
                    header.err,
                    header.zxid
                )),
            }
        }
        order
            .into_iter()
            .map(|conn| {
                let (c, s) = sides.remove(&conn).unwrap();
                (conn, c.join(" "), s.join(" "))
            })
            .collect()
    }

    fn assert_transcript(&self, expected: &[(u32, &str, &str)]) {
        let actual = self.transcript();
        let expected: Vec<(u32, String, String)> = expected
            .iter()
            .map(|(c, a, b)| (*c, a.to_string(), b.to_string()))
            .collect();
        for ((ac, acs, ass), (ec, ecs, ess)) in actual.iter().zip(&expected) {
            assert_eq!(ac, ec, "{}: connection order", self.name);
            assert_eq!(acs, ecs, "{}: client side of conn {ac}", self.name);
            assert_eq!(ass, ess, "{}: server side of conn {ac}", self.name);
        }
        assert_eq!(actual.len(), expected.len(), "{}: connections", self.name);
    }
}

fn request_path(req: &Request) -> Option<&str> {
    Some(match req {
        Request::Create(c) => &c.path,
        Request::Delete(r) => &r.path,
        Request::Sync(r) => return r.path.as_deref(),
        Request::DeleteContainer(r)
        | Request::GetAcl(r)
        | Request::GetEphemerals(r)
        | Request::GetAllChildrenNumber(r) => &r.path,
        Request::Exists(r)
        | Request::GetData(r)
        | Request::GetChildren(r)
        | Request::GetChildren2(r) => &r.path,
        Request::SetData(r) => &r.path,
        Request::SetAcl(r) => &r.path,
        Request::Check(r) => &r.path,
        Request::CheckWatches(r) | Request::RemoveWatches(r) => &r.path,
        Request::AddWatch(r) => &r.path,
        _ => return None,
    })
}

fn world_all() -> Vec<Acl> {
    vec![Acl::new(31, "world", "anyone")]
}

fn bytes_of(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

fn is_sequential_of(actual: &str, requested: &str) -> bool {
    actual.len() == requested.len() + 10
        && actual.starts_with(requested)
        && actual[requested.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit())
}

fn create_op(req: &Request) -> &CreateOp {
    match req {
        Request::Create(c) => c,
        other => panic!("not a create: {other:?}"),
    }
}

fn multi_results(body: &Body) -> &[MultiResult] {
    match body {
        Body::Multi(m) => &m.results,
        other => panic!("not a multi response: {other:?}"),
    }
}

fn stat_of(body: &Body) -> &Stat {
    match body {
        Body::Stat(s) => &s.stat,
        Body::GetData(r) => &r.stat,
        Body::Children2(r) => &r.stat,
        Body::Acl(r) => &r.stat,
        Body::Create2(r) => &r.stat,
        other => panic!("no Stat in {other:?}"),
    }
}

const FRESH_CONNECT_REQUEST_30S: &str =
    "000000000000000000000000000075300000000000000000000000100000000000000000000000000000000000";
const EXPIRED_CONNECT_RESPONSE: &str =
    "00000000000000000000000000000000000000100000000000000000000000000000000000";

// ---------------------------------------------------------------------------------------
// Every frame of every capture
// ---------------------------------------------------------------------------------------

#[test]
fn every_frame_of_every_capture_round_trips() {
    let files = capture_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "c_client_3_8.frames",
        "java_client_3_8.frames",
        "java_ping_3_8.frames",
        "java_reconnect_3_8.frames",
        "kazoo_2_x.frames",
    ] {
        assert!(names.iter().any(|n| n == expected), "missing {expected}");
    }

    let mut total = 0;
    let mut null_markers = Vec::new();
    for path in &files {
        let cap = decode_capture(path);
        total += cap.frames.len();
        for (line, op) in &cap.null_marker_frames {
            null_markers.push((cap.name.clone(), *line, *op));
        }
        // Facts that hold for every capture.
        for (conn, raw, req) in cap.connect_requests() {
            assert_eq!(raw.len(), 45, "{}: conn {conn}", cap.name);
            assert_eq!(req.protocol_version, 0);
            assert_eq!(req.read_only, Some(false), "{}: conn {conn}", cap.name);
            assert_eq!(req.passwd.as_ref().map(Bytes::len), Some(16));
        }
        for (conn, raw, resp) in cap.connect_responses() {
            assert_eq!(raw.len(), 37, "{}: conn {conn}", cap.name);
            assert_eq!(resp.protocol_version, 0);
            assert_eq!(resp.read_only, Some(false), "{}: conn {conn}", cap.name);
            assert_eq!(resp.passwd.as_ref().map(Bytes::len), Some(16));
        }
        for f in &cap.frames {
            match &f.decoded {
                Decoded::Notification { header, event } => {
                    assert_eq!(
                        (header.zxid, header.err),
                        (-1, 0),
                        "{}:{}",
                        cap.name,
                        f.line
                    );
                    assert_eq!(event.state, KeeperState::SyncConnected.code());
                    EventType::try_from(event.event_type).unwrap();
                }
                Decoded::Reply { header, .. } if header.err != 0 => {
                    assert_eq!(f.raw.len(), 16, "{}:{}", cap.name, f.line);
                    ErrorCode::try_from(header.err).unwrap();
                }
                _ => {}
            }
        }
        for e in cap.exchanges() {
            let at = format!("{}:{}", cap.name, e.line);
            if e.reply.err != 0 {
                continue;
            }
            match (e.req, e.body) {
                (Request::Create(c), Body::Create(r)) => {
                    assert_eq!(c.op, OpCode::Create, "{at}");
                    check_created_path(&at, c, &r.path);
                }
                (Request::Create(c), Body::Create2(r)) => {
                    assert_ne!(c.op, OpCode::Create, "{at}");
                    check_created_path(&at, c, &r.path);
                }
                (Request::Sync(p), Body::Sync(r)) => assert_eq!(p.path, r.path, "{at}"),
                (Request::AddWatch(_), Body::Error(r)) => {
                    assert_eq!(r.err, 0, "{at}");
                    assert_eq!(e.reply_raw.len(), 20, "{at}");
                }
                (Request::Multi(ops) | Request::MultiRead(ops), Body::Multi(r)) => {
                    assert_eq!(ops.len(), r.results.len(), "{at}");
                    check_multi_results(&at, ops, &r.results);
                }
                (Request::Exists(_) | Request::SetData(_) | Request::SetAcl(_), body) => {
                    assert_eq!(e.reply_raw.len(), 16 + 68, "{at}: Stat is 68 bytes");
                    let _ = stat_of(body);
                }
                (Request::GetData(r), Body::GetData(d)) => {
                    assert_eq!(
                        d.stat.data_length as usize,
                        d.data.as_ref().map_or(0, Bytes::len),
                        "{at}: {}",
                        r.path
                    );
                }
                _ => {}
            }
        }
    }
    assert!(total > 300, "only {total} frames");

    // Only the C client's reconfig (null joining/newMembers) and possibly kazoo send
    // null strings or vectors.
    for (file, line, op) in &null_markers {
        assert!(
            file.starts_with("kazoo") || *op == OpCode::Reconfig,
            "{file}:{line}: unexpected null marker in a {op:?} request"
        );
    }
    assert!(
        null_markers
            .iter()
            .any(|(f, _, op)| f == "c_client_3_8.frames" && *op == OpCode::Reconfig),
        "the C client's reconfig carries null strings"
    );
}

fn check_created_path(at: &str, c: &CreateOp, actual: &str) {
    let mode = CreateMode::try_from(c.flags).unwrap();
    if mode.is_sequential() {
        assert!(
            is_sequential_of(actual, &c.path),
            "{at}: {actual} is not {} + 10 digits",
            c.path
        );
    } else {
        assert_eq!(actual, c.path, "{at}");
    }
}

/// Multi results are all errors or none; in the first case ops before the failing one
/// carry 0, the failing op its code, later ops -2. Successful results match their op.
fn check_multi_results(at: &str, ops: &[MultiOp], results: &[MultiResult]) {
    let is_read = ops.first().is_some_and(MultiOp::is_read);
    let errors = results
        .iter()
        .filter(|r| matches!(r, MultiResult::Error { .. }))
        .count();
    if !is_read && errors > 0 {
        assert_eq!(
            errors,
            results.len(),
            "{at}: failed multi: all results are errors"
        );
        let codes: Vec<i32> = results
            .iter()
            .map(|r| match r {
                MultiResult::Error { err } => *err,
                _ => unreachable!(),
            })
            .collect();
        let failing = codes.iter().position(|c| *c != 0).expect("a failing op");
        assert!(codes[..failing].iter().all(|c| *c == 0), "{at}: {codes:?}");
        assert!(codes[failing] < -2, "{at}: {codes:?}");
        assert!(
            codes[failing + 1..].iter().all(|c| *c == -2),
            "{at}: {codes:?}"
        );
        return;
    }
    for (op, result) in ops.iter().zip(results) {
        match (op, result) {
            (MultiOp::Create(c), MultiResult::Create { path }) => {
                assert_eq!(c.op, OpCode::Create, "{at}");
                check_created_path(at, c, path);
            }
            (MultiOp::Create(c), MultiResult::Create2 { path, .. }) => {
                assert_ne!(c.op, OpCode::Create, "{at}");
                check_created_path(at, c, path);
            }
            (MultiOp::Delete(_), MultiResult::Delete)
            | (MultiOp::SetData(_), MultiResult::SetData { .. })
            | (MultiOp::Check(_), MultiResult::Check)
            | (MultiOp::GetData(_), MultiResult::GetData { .. })
            | (MultiOp::GetChildren(_), MultiResult::GetChildren { .. }) => {}
            (_, MultiResult::Error { err }) if is_read => assert!(*err < 0, "{at}"),
            (op, result) => panic!("{at}: result {result:?} does not match {op:?}"),
        }
    }
}

#[test]
fn compare_modulo_null_markers_works() {
    assert_eq!(compare_modulo_null_markers(b"ab", b"ab"), Ok(false));
    let theirs = [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 7];
    let ours = [0, 0, 0, 1, 0, 0, 0, 0, 7];
    assert_eq!(compare_modulo_null_markers(&theirs, &ours), Ok(true));
    assert!(compare_modulo_null_markers(&ours, &theirs).is_err());
    assert!(compare_modulo_null_markers(&theirs, &ours[..8]).is_err());
    assert!(compare_modulo_null_markers(&[0xff, 0xff, 0xff, 0xff], &[0, 0, 0, 1]).is_err());
}

// ---------------------------------------------------------------------------------------
// Java client, main scenario
// ---------------------------------------------------------------------------------------

const JAVA_MAIN: &[(u32, &str, &str)] = &[(
    1,
    "hs:30000 -4:100 1:1 2:1 3:1 4:1 5:1 6:19 7:15 8:19 9:21 10:21 11:1 12:1 13:1 14:1 15:1 \
     16:1 17:1 18:4 19:3 20:3 21:3 22:1 23:4 24:5 25:5 26:5 27:4 28:4 29:8 30:12 31:8 32:1 \
     33:6 34:7 35:7 36:6 37:9 38:14 39:14 40:14 41:14 42:22 43:103 44:103 45:104 46:107 47:4 \
     48:1 49:1 50:106 51:106 52:5 53:5 54:1 55:5 56:2 57:4 58:17 59:8 60:18 61:18 62:18 63:4 \
     64:2 65:2 66:2 67:2 68:2 69:-11",
    "hs:30000 -4:0:0 1:0:2 2:0:3 3:0:4 4:0:5 5:0:6 6:0:7 7:0:8 8:0:9 9:0:10 10:0:11 11:0:12 \
     12:0:13 13:0:14 14:-110:15 15:-101:16 16:-108:17 17:-114:18 18:-102:18 19:0:18 \
     20:-101:18 21:-101:18 N:1:/golden/absent 22:0:19 23:0:19 N:3:/golden 24:0:20 \
     25:-103:21 26:-101:22 27:0:22 28:-101:22 29:0:22 30:0:22 31:-101:22 N:4:/golden \
     32:0:23 33:0:23 34:0:24 35:-103:25 36:0:25 37:0:25 38:0:26 39:0:27 40:0:28 41:0:29 \
     42:0:29 43:0:29 44:0:29 45:0:29 46:0:29 47:0:29 48:0:30 49:0:31 50:0:31 51:0:31 \
     N:3:/golden/pw 52:0:32 N:3:/golden/pw 53:0:33 N:1:/golden/rw/x 54:0:34 \
     N:3:/golden/rw/x 55:0:35 N:2:/golden/rw/x 56:0:36 57:0:36 58:0:36 59:0:36 60:0:36 \
     61:0:36 62:0:36 63:0:36 N:2:/golden/kid 64:0:37 65:-103:38 66:-111:39 67:-101:40 \
     68:0:41 69:0:42",
)];

#[test]
fn java_main_op_sequence() {
    capture("java_client_3_8.frames").assert_transcript(JAVA_MAIN);
}

#[test]
fn java_main_handshake_and_auth() {
    let cap = capture("java_client_3_8.frames");
    let (conn, raw, req) = cap.connect_requests()[0];
    assert_eq!(conn, 1);
    assert_eq!(hex(raw), FRESH_CONNECT_REQUEST_30S);
    assert_eq!(
        *req,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: 30000,
            session_id: 0,
            passwd: Some(Bytes::from_static(&[0; 16])),
            read_only: Some(false),
        }
    );
    let (_, resp) = cap.connect_response(1);
    assert_eq!(resp.timeout, 30000);
    assert_ne!(resp.session_id, 0);

    let auth = &cap.exchanges()[0];
    assert_eq!((auth.xid, auth.op), (-4, OpCode::Auth));
    match auth.req {
        Request::Auth(a) => {
            assert_eq!(a.auth_type, 0);
            assert_eq!(a.scheme, "digest");
            assert_eq!(a.auth, bytes_of("user:pass"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((auth.reply.zxid, auth.reply.err), (0, 0));
}

#[test]
fn java_main_creates() {
    let cap = capture("java_client_3_8.frames");

    let roots = cap.find(OpCode::Create, "/golden");
    assert_eq!(roots.len(), 2);
    assert_eq!(roots[1].reply.err, ErrorCode::NodeExists.code());
    let root = &roots[0];
    let c = create_op(root.req);
    assert_eq!(c.data, bytes_of("root"));
    assert_eq!(c.acl, world_all());
    assert_eq!((c.flags, c.ttl), (0, -1));
    assert_eq!(
        *root.body,
        Body::Create(CreateResponse {
            path: "/golden".into()
        })
    );

    let null = cap.one(OpCode::Create, "/golden/nulldata");
    assert_eq!(create_op(null.req).data, None);
    let got = cap.one(OpCode::GetData, "/golden/nulldata");
    match got.body {
        Body::GetData(d) => {
            assert_eq!(d.data, None, "null data comes back null");
            assert_eq!(d.stat.data_length, 0);
        }
        other => panic!("{other:?}"),
    }

    let seq = cap.one(OpCode::Create, "/golden/seq-");
    assert_eq!(create_op(seq.req).flags, 2);
    match seq.body {
        Body::Create(r) => {
            assert!(is_sequential_of(&r.path, "/golden/seq-"), "{}", r.path);
            assert_eq!(r.path, "/golden/seq-0000000002");
        }
        other => panic!("{other:?}"),
    }
    let eseq = cap.one(OpCode::Create, "/golden/eseq-");
    assert_eq!(create_op(eseq.req).flags, 3);
    assert_eq!(
        *eseq.body,
        Body::Create(CreateResponse {
            path: "/golden/eseq-0000000003".into()
        })
    );

    for path in ["/golden/container", "/golden/container2"] {
        let e = cap.one(OpCode::CreateContainer, path);
        assert_eq!(create_op(e.req).flags, 4);
        match e.body {
            Body::Create2(r) => assert_eq!(r.path, path),
            other => panic!("createContainer answers path + Stat: {other:?}"),
        }
        assert_eq!(e.reply_raw.len(), 16 + 4 + path.len() + 68);
    }

    let c2 = cap.one(OpCode::Create2, "/golden/c2");
    match c2.body {
        Body::Create2(r) => {
            assert_eq!(r.path, "/golden/c2");
            assert_eq!(r.stat.data_length, 2);
            assert_eq!(r.stat.czxid, c2.reply.zxid);
            assert_eq!(r.stat.mzxid, c2.reply.zxid);
            assert_eq!(r.stat.version, 0);
        }
        other => panic!("{other:?}"),
    }

    let ttl = cap.one(OpCode::CreateTtl, "/golden/ttl");
    let c = create_op(ttl.req);
    assert_eq!((c.flags, c.ttl), (5, 60000));
    assert!(matches!(ttl.body, Body::Create2(r) if r.path == "/golden/ttl"));
    let ttlseq = cap.one(OpCode::CreateTtl, "/golden/ttlseq-");
    let c = create_op(ttlseq.req);
    assert_eq!((c.flags, c.ttl), (6, 120000));
    assert!(
        matches!(ttlseq.body, Body::Create2(r) if r.path == "/golden/ttlseq-0000000008"),
        "{:?}",
        ttlseq.body
    );

    // ACLs: three entries sent; getACL returns them unchanged.
    let acl = [
        Acl::new(31, "digest", "user:smGaoVKd/cQkjm7b88GyorAUz20="),
        Acl::new(1, "world", "anyone"),
        Acl::new(3, "ip", "127.0.0.1"),
    ];
    assert_eq!(
        create_op(cap.one(OpCode::Create, "/golden/acl").req).acl,
        acl
    );
    let get_acls = cap.find(OpCode::GetAcl, "/golden/acl");
    match get_acls[0].body {
        Body::Acl(r) => {
            assert_eq!(r.acl, acl);
            assert_eq!(r.stat.aversion, 0);
        }
        other => panic!("{other:?}"),
    }

    // CREATOR_ALL_ACL travels as auth:"" and comes back as the session's digest.
    let creator = cap.one(OpCode::Create, "/golden/creator");
    assert_eq!(create_op(creator.req).acl, vec![Acl::new(31, "auth", "")]);
    match cap.one(OpCode::GetAcl, "/golden/creator").body {
        Body::Acl(r) => assert_eq!(
            r.acl,
            vec![Acl::new(31, "digest", "user:smGaoVKd/cQkjm7b88GyorAUz20=")]
        ),
        other => panic!("{other:?}"),
    }
    let bad = cap.one(OpCode::Create, "/golden/badacl");
    assert_eq!(
        create_op(bad.req).acl,
        vec![Acl::new(31, "nosuchscheme", "x")]
    );
    assert_eq!(bad.reply.err, ErrorCode::InvalidAcl.code());
    assert_eq!(*bad.body, Body::Empty);
    assert_eq!(bad.reply_raw.len(), 16);

    // Failed writes consume a zxid: NodeExists, NoNode, NoChildrenForEphemerals, InvalidACL.
    let failed: Vec<(i32, i64)> = cap
        .exchanges()
        .iter()
        .filter(|e| (14..=17).contains(&e.xid))
        .map(|e| (e.reply.err, e.reply.zxid))
        .collect();
    assert_eq!(failed, [(-110, 15), (-101, 16), (-108, 17), (-114, 18)]);
}

#[test]
fn java_main_reads_and_watches() {
    let cap = capture("java_client_3_8.frames");

    let ex = cap.find(OpCode::Exists, "/golden");
    assert!(matches!(ex[0].req, Request::Exists(r) if r.watch));
    assert_eq!(ex[0].reply_raw.len(), 16 + 68);
    let absent = cap.one(OpCode::Exists, "/golden/absent");
    assert_eq!(absent.reply.err, ErrorCode::NoNode.code());
    assert_eq!(
        absent.reply_raw.len(),
        16,
        "exists on a missing node: no Stat"
    );

    // setData /golden version 0 -> Stat version 1, 5 bytes of data.
    let set = &cap.find(OpCode::SetData, "/golden")[0];
    match set.req {
        Request::SetData(r) => {
            assert_eq!((r.data.clone(), r.version), (bytes_of("root2"), 0));
        }
        other => panic!("{other:?}"),
    }
    let stat = stat_of(set.body);
    assert_eq!((stat.version, stat.data_length), (1, 5));
    assert_eq!(stat.mzxid, set.reply.zxid);

    // getChildren / getChildren2: the same set of 13 names (order is not deterministic).
    let mut expected = vec![
        "container",
        "seq-0000000002",
        "creator",
        "acl",
        "ttl",
        "c2",
        "ttlseq-0000000008",
        "eseq-0000000003",
        "noauth",
        "nulldata",
        "container2",
        "absent",
        "eph",
    ];
    expected.sort();
    let children = &cap.find(OpCode::GetChildren, "/golden")[0];
    match children.body {
        Body::Children(r) => {
            let mut got = r.children.clone();
            got.sort();
            assert_eq!(got, expected);
        }
        other => panic!("{other:?}"),
    }
    match cap.one(OpCode::GetChildren2, "/golden").body {
        Body::Children2(r) => {
            let mut got = r.children.clone();
            got.sort();
            assert_eq!(got, expected);
            assert_eq!(r.stat.num_children, 13);
        }
        other => panic!("{other:?}"),
    }

    // getEphemerals, getAllChildrenNumber, whoAmI.
    for prefix in ["/golden", "/"] {
        match cap.one(OpCode::GetEphemerals, prefix).body {
            Body::Ephemerals(r) => {
                let mut got = r.ephemerals.clone();
                got.sort();
                assert_eq!(got, ["/golden/eph", "/golden/eseq-0000000003"]);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        *cap.one(OpCode::GetAllChildrenNumber, "/golden").body,
        Body::AllChildren(GetAllChildrenNumberResponse { total_number: 17 })
    );
    let who = cap
        .exchanges()
        .into_iter()
        .find(|e| e.op == OpCode::WhoAmI)
        .unwrap();
    assert_eq!(*who.req, Request::WhoAmI);
    assert_eq!(who.raw.len(), 8);
    match who.body {
        Body::WhoAmI(r) => {
            let mut got = r.client_info.clone();
            got.sort_by(|a, b| a.auth_scheme.cmp(&b.auth_scheme));
            assert_eq!(
                got,
                [
                    ClientInfo {
                        auth_scheme: "digest".into(),
                        user: "user".into()
                    },
                    ClientInfo {
                        auth_scheme: "ip".into(),
                        user: "127.0.0.1".into()
                    },
                ]
            );
        }
        other => panic!("{other:?}"),
    }

    // getConfig: empty (not null) data, aversion -1.
    match cap.one(OpCode::GetData, "/zookeeper/config").body {
        Body::GetData(r) => {
            assert_eq!(r.data, Some(Bytes::new()));
            assert_eq!(r.stat.aversion, -1);
        }
        other => panic!("{other:?}"),
    }

    // addWatch: modes, and a 4-byte ErrorResponse{0} body.
    for (path, mode) in [("/golden/pw", 0), ("/golden/rw", 1)] {
        let e = cap.one(OpCode::AddWatch, path);
        assert!(matches!(e.req, Request::AddWatch(r) if r.mode == mode));
        assert_eq!(*e.body, Body::Error(ErrorResponse { err: 0 }));
        assert_eq!(hex(&e.reply_raw[16..]), "00000000");
    }
    // checkWatches (17) Data=2, removeWatches (18) Any=3: header-only replies.
    let check = cap.one(OpCode::CheckWatches, "/golden/c2");
    assert!(matches!(check.req, Request::CheckWatches(r) if r.watcher_type == 2));
    assert_eq!(check.reply_raw.len(), 16);
    for path in ["/golden/c2", "/golden/pw", "/golden/rw"] {
        let e = cap.one(OpCode::RemoveWatches, path);
        assert!(matches!(e.req, Request::RemoveWatches(r) if r.watcher_type == 3));
        assert_eq!(e.reply_raw.len(), 16);
    }

    // Notifications precede the reply of the write that triggered them.
    let lines: Vec<(usize, &Decoded)> = cap.frames.iter().map(|f| (f.line, &f.decoded)).collect();
    for (i, (line, d)) in lines.iter().enumerate() {
        if let Decoded::Notification { event, .. } = d {
            let next_reply = lines[i + 1..]
                .iter()
                .find_map(|(_, d)| match d {
                    Decoded::Reply { op, .. } => Some(*op),
                    _ => None,
                })
                .unwrap();
            assert!(
                next_reply.is_write(),
                "line {line}: {event:?} is followed by a reply to {next_reply:?}"
            );
        }
    }

    // closeSession: body-less request, header-only reply.
    let close = cap.exchanges().pop().unwrap();
    assert_eq!(close.op, OpCode::CloseSession);
    assert_eq!(*close.req, Request::CloseSession);
    assert_eq!((close.raw.len(), close.reply_raw.len()), (8, 16));
}

#[test]
fn java_main_multi() {
    let cap = capture("java_client_3_8.frames");
    let multis: Vec<Exchange> = cap
        .exchanges()
        .into_iter()
        .filter(|e| matches!(e.op, OpCode::Multi | OpCode::MultiRead))
        .collect();
    assert_eq!(multis.len(), 5);
    for m in &multis {
        assert_eq!(
            m.reply.err, 0,
            "the outer err of a multi is 0 even on failure"
        );
        // Every op header is {type, done=false, err=-1}; the end marker {-1, true, -1}.
        assert_eq!(hex(&m.raw[m.raw.len() - 9..]), "ffffffff01ffffffff");
        assert_eq!(
            hex(&m.reply_raw[m.reply_raw.len() - 9..]),
            "ffffffff01ffffffff"
        );
    }

    // OK: create, setData, check, delete.
    let ok = &multis[0];
    match ok.req {
        Request::Multi(ops) => {
            let codes: Vec<OpCode> = ops.iter().map(MultiOp::op_code).collect();
            assert_eq!(
                codes,
                [
                    OpCode::Create,
                    OpCode::SetData,
                    OpCode::Check,
                    OpCode::Delete
                ]
            );
            assert!(ops.iter().all(|o| o.path() == "/golden/m1"));
        }
        other => panic!("{other:?}"),
    }
    let results = multi_results(ok.body);
    assert_eq!(
        results[0],
        MultiResult::Create {
            path: "/golden/m1".into()
        }
    );
    assert!(matches!(&results[1], MultiResult::SetData { stat } if stat.version == 1));
    assert_eq!(results[2], MultiResult::Check);
    assert_eq!(results[3], MultiResult::Delete);

    // FAIL at op 1 with NoNode: Error{0}, Error{-101}, Error{-2}.
    assert_eq!(
        multi_results(multis[1].body),
        [
            MultiResult::Error { err: 0 },
            MultiResult::Error { err: -101 },
            MultiResult::Error { err: -2 },
        ]
    );
    // Each error result's header carries the same code as its ErrorResponse body.
    let results_hex = hex(&multis[1].reply_raw[16..]);
    assert_eq!(
        results_hex,
        "ffffffff000000000000000000\
         ffffffff00ffffff9bffffff9b\
         ffffffff00fffffffefffffffe\
         ffffffff01ffffffff"
    );
    // FAIL at op 0 with BadVersion.
    assert_eq!(
        multi_results(multis[2].body),
        [
            MultiResult::Error { err: -103 },
            MultiResult::Error { err: -2 }
        ]
    );
    // Failed multis consume a zxid.
    assert_eq!(
        multis.iter().map(|m| m.reply.zxid).collect::<Vec<_>>(),
        [26, 27, 28, 29, 29]
    );

    // createTTL and createContainer answer as create2 (path + Stat); plain create as create.
    let ttl = &multis[3];
    match ttl.req {
        Request::Multi(ops) => {
            let creates: Vec<(OpCode, i32, i64)> = ops
                .iter()
                .map(|o| match o {
                    MultiOp::Create(c) => (c.op, c.flags, c.ttl),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(
                creates,
                [
                    (OpCode::CreateTtl, 5, 30000),
                    (OpCode::CreateContainer, 4, -1),
                    (OpCode::Create, 2, -1)
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let results = multi_results(ttl.body);
    assert!(matches!(&results[0], MultiResult::Create2 { path, .. } if path == "/golden/mttl"));
    assert!(matches!(&results[1], MultiResult::Create2 { path, .. } if path == "/golden/mc"));
    assert!(
        matches!(&results[2], MultiResult::Create { path } if is_sequential_of(path, "/golden/ms-"))
    );

    // multiRead: a failing read does not fail the others.
    let read = &multis[4];
    assert_eq!(read.op, OpCode::MultiRead);
    match read.req {
        Request::MultiRead(ops) => {
            assert!(ops.iter().all(MultiOp::is_read));
            let paths: Vec<&str> = ops.iter().map(MultiOp::path).collect();
            assert_eq!(paths, ["/golden", "/golden/c2", "/golden/missing"]);
        }
        other => panic!("{other:?}"),
    }
    let results = multi_results(read.body);
    assert!(
        matches!(&results[0], MultiResult::GetData { data, stat } if *data == bytes_of("root2") && stat.data_length == 5)
    );
    assert_eq!(results[1], MultiResult::GetChildren { children: vec![] });
    assert_eq!(results[2], MultiResult::Error { err: -101 });
}

// ---------------------------------------------------------------------------------------
// Java client, reconnect scenario
// ---------------------------------------------------------------------------------------

const JAVA_RECONNECT: &[(u32, &str, &str)] = &[
    (
        1,
        "hs:30000 -4:100 1:1 2:1 3:4 4:3 5:8",
        "hs:30000 -4:0:0 1:0:2 2:0:3 3:0:3 4:-101:3 5:0:3",
    ),
    (
        2,
        "hs:30000 -4:100 6:101 7:9 8:106 9:106",
        "hs:30000 -4:0:0 6:0:3 7:0:3 8:0:3 9:0:3",
    ),
    (
        3,
        "hs:30000 -4:100 10:105 11:5 12:1",
        "hs:30000 -4:0:0 10:0:3 N:3:/r 11:0:4 N:1:/r/missing 12:0:5",
    ),
    (4, "hs:30000", "hs:0"),
    (
        5,
        "hs:30000 -4:100 13:105 14:-11",
        "hs:30000 -4:0:0 13:0:5 14:0:6",
    ),
    (6, "hs:30000", "hs:0"),
    (7, "hs:1000 -4:100", "hs:4000 -4:-115:0"),
];

#[test]
fn java_reconnect_op_sequence() {
    capture("java_reconnect_3_8.frames").assert_transcript(JAVA_RECONNECT);
}

#[test]
fn java_reconnect_sessions() {
    let cap = capture("java_reconnect_3_8.frames");
    let (_, first) = cap.connect_response(1);
    let sid = first.session_id;
    assert_ne!(sid, 0);

    // Reconnects carry the session id, its password and the last zxid seen.
    for (conn, last_zxid) in [(2, 3), (3, 3), (5, 5)] {
        let req = cap.connect_request(conn);
        assert_eq!(req.session_id, sid, "conn {conn}");
        assert_eq!(req.passwd, first.passwd, "conn {conn}");
        assert_eq!(req.last_zxid_seen, last_zxid, "conn {conn}");
        let (_, resp) = cap.connect_response(conn);
        assert_eq!(
            (resp.session_id, &resp.passwd, resp.timeout),
            (sid, &first.passwd, 30000)
        );
    }

    // Wrong password for the live session, and an unknown session: all-zero answer
    // with a 16-byte (not empty) password.
    let wrong = cap.connect_request(4);
    assert_eq!(wrong.session_id, sid);
    assert_ne!(wrong.passwd, first.passwd);
    assert_eq!(cap.connect_request(6).session_id, 0x1234567890);
    for conn in [4, 6] {
        let (raw, resp) = cap.connect_response(conn);
        assert_eq!(hex(raw), EXPIRED_CONNECT_RESPONSE, "conn {conn}");
        assert_eq!(
            *resp,
            ConnectResponse {
                protocol_version: 0,
                timeout: 0,
                session_id: 0,
                passwd: Some(Bytes::from_static(&[0; 16])),
                read_only: Some(false),
            }
        );
    }

    // Timeout clamped to 2 * tickTime; unknown auth scheme -> AuthFailed, zxid 0.
    assert_eq!(cap.connect_request(7).timeout, 1000);
    assert_eq!(cap.connect_response(7).1.timeout, 4000);
    let failed = cap.exchanges().into_iter().find(|e| e.conn == 7).unwrap();
    assert!(matches!(failed.req, Request::Auth(a) if a.scheme == "nosuchscheme"));
    assert_eq!(
        (failed.reply.err, failed.reply.zxid),
        (ErrorCode::AuthFailed.code(), 0)
    );
    assert_eq!(failed.reply_raw.len(), 16);
}

#[test]
fn java_reconnect_set_watches() {
    let cap = capture("java_reconnect_3_8.frames");
    let set_watches: Vec<Exchange> = cap
        .exchanges()
        .into_iter()
        .filter(|e| matches!(e.op, OpCode::SetWatches | OpCode::SetWatches2))
        .collect();
    let shapes: Vec<(u32, i32, OpCode)> =
        set_watches.iter().map(|e| (e.conn, e.xid, e.op)).collect();
    // The Java client uses normal xids, not -8.
    assert_eq!(
        shapes,
        [
            (2, 6, OpCode::SetWatches),
            (3, 10, OpCode::SetWatches2),
            (5, 13, OpCode::SetWatches2)
        ]
    );
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let watches = |e: &Exchange| match e.req {
        Request::SetWatches(w) => w.clone(),
        other => panic!("{other:?}"),
    };
    let v1 = watches(&set_watches[0]);
    assert_eq!(v1.relative_zxid, 3);
    assert_eq!(v1.data_watches, strings(&["/r"]));
    assert_eq!(v1.exist_watches, strings(&["/r/missing"]));
    assert_eq!(v1.child_watches, strings(&["/r"]));
    assert!(v1.persistent_watches.is_empty() && v1.persistent_recursive_watches.is_empty());

    let v2 = watches(&set_watches[1]);
    assert_eq!(v2.relative_zxid, 3);
    assert_eq!(v2.data_watches, strings(&["/r"]));
    assert_eq!(v2.exist_watches, strings(&["/r/missing"]));
    assert_eq!(v2.child_watches, strings(&["/r"]));
    assert_eq!(v2.persistent_watches, strings(&["/r/a"]));
    assert_eq!(v2.persistent_recursive_watches, strings(&["/r"]));

    // Empty lists are count 0, not null: relZxid, then 00000000 twice.
    let v2b = watches(&set_watches[2]);
    assert_eq!(v2b.relative_zxid, 5);
    assert!(v2b.data_watches.is_empty() && v2b.exist_watches.is_empty());
    assert_eq!(v2b.child_watches, strings(&["/r"]));
    assert_eq!(
        hex(&set_watches[2].raw[8..24]),
        "00000000000000050000000000000000"
    );
    for e in &set_watches {
        assert_eq!(e.reply_raw.len(), 16, "setWatches replies are header-only");
    }

    // Reconnect: auth (xid -4) is sent before setWatches.
    for conn in [2, 3, 5] {
        let first_two: Vec<i32> = cap
            .frames
            .iter()
            .filter(|f| f.conn == conn)
            .filter_map(|f| match &f.decoded {
                Decoded::Request { header, .. } => Some(header.xid),
                _ => None,
            })
            .take(2)
            .collect();
        assert_eq!(first_two[0], -4, "conn {conn}");
    }
}

// ---------------------------------------------------------------------------------------
// Java ping
// ---------------------------------------------------------------------------------------

#[test]
fn java_ping() {
    let cap = capture("java_ping_3_8.frames");
    cap.assert_transcript(&[(1, "hs:4000 -2:11 1:-11", "hs:4000 -2:0:1 1:0:2")]);
    let ping = &cap.exchanges()[0];
    assert_eq!(*ping.req, Request::Ping);
    assert_eq!(hex(ping.raw), "fffffffe0000000b");
    assert_eq!(hex(ping.reply_raw), "fffffffe000000000000000100000000");
}

// ---------------------------------------------------------------------------------------
// kazoo
// ---------------------------------------------------------------------------------------

const KAZOO: &[(u32, &str, &str)] = &[
    (
        1,
        "hs:30000 -4:100 1:1 2:1 3:1 4:15 5:4 6:4 7:4 8:5 9:5 10:8 11:12 12:3 13:3 14:9 15:6 \
         16:14 17:14 18:2 19:2 20:3",
        "hs:30000 -4:0:0 1:0:2 2:0:3 3:0:4 4:0:5 5:0:5 6:-101:5 7:0:5 N:3:/kz 8:0:6 9:-103:7 \
         10:0:7 11:0:7 12:0:7 13:-101:7 14:0:7 15:0:7 16:0:8 17:0:9 18:-111:10 19:0:11 \
         20:-101:11",
    ),
    // kazoo restarts its xids at 1 on a new connection and sends no setWatches.
    (
        2,
        "hs:30000 -4:100 1:1 2:-11",
        "hs:30000 -4:0:0 1:0:12 2:0:13",
    ),
];

#[test]
fn kazoo_op_sequence() {
    capture("kazoo_2_x.frames").assert_transcript(KAZOO);
}

#[test]
fn kazoo_facts() {
    let cap = capture("kazoo_2_x.frames");
    assert_eq!(hex(cap.connect_requests()[0].1), FRESH_CONNECT_REQUEST_30S);
    let (_, first) = cap.connect_response(1);
    let again = cap.connect_request(2);
    assert_eq!(
        (again.session_id, &again.passwd, again.last_zxid_seen),
        (first.session_id, &first.passwd, 11)
    );

    let seq = cap.one(OpCode::Create, "/kz/seq-");
    assert_eq!(create_op(seq.req).flags, 2);
    assert_eq!(
        *seq.body,
        Body::Create(CreateResponse {
            path: "/kz/seq-0000000001".into()
        })
    );
    assert!(matches!(
        cap.one(OpCode::Create2, "/kz/c2").body,
        Body::Create2(r) if r.path == "/kz/c2" && r.stat.data_length == 2
    ));

    let gets = cap.find(OpCode::GetData, "/kz");
    assert_eq!(gets.len(), 2);
    assert!(matches!(gets[0].req, Request::GetData(r) if !r.watch));
    assert!(matches!(gets[1].req, Request::GetData(r) if r.watch));
    assert!(matches!(gets[1].body, Body::GetData(d) if d.data == bytes_of("root")));

    let mut expected = vec!["eph", "seq-0000000001", "c2"];
    expected.sort();
    match cap.one(OpCode::GetChildren2, "/kz").body {
        Body::Children2(r) => {
            let mut got = r.children.clone();
            got.sort();
            assert_eq!(got, expected);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        cap.one(OpCode::GetAcl, "/kz").body,
        Body::Acl(r) if r.acl == world_all()
    ));

    let multis: Vec<Exchange> = cap.find_op(OpCode::Multi);
    assert_eq!(multis.len(), 2);
    let results = multi_results(multis[0].body);
    assert_eq!(
        results[0],
        MultiResult::Create {
            path: "/kz/t1".into()
        }
    );
    assert!(matches!(results[1], MultiResult::SetData { .. }));
    assert_eq!(results[2..], [MultiResult::Check, MultiResult::Delete]);
    assert_eq!(
        multi_results(multis[1].body),
        [
            MultiResult::Error { err: 0 },
            MultiResult::Error { err: -101 }
        ]
    );
}

// ---------------------------------------------------------------------------------------
// C client
// ---------------------------------------------------------------------------------------

const C_CLIENT: &[(u32, &str, &str)] = &[
    (
        1,
        "hs:30000 -4:100 x1:1 x2:1 x3:1 x4:1 x5:19 x6:21 x7:15 x8:1 x9:4 x10:5 x11:5 x12:8 \
         x13:12 x14:3 x15:3",
        "hs:30000 -4:0:0 x1:0:2 x2:0:3 x3:0:4 x4:0:5 x5:0:6 x6:0:7 x7:0:8 x8:-110:9 x9:0:9 \
         N:3:/cc x10:0:10 x11:-101:11 x12:0:11 x13:0:11 x14:0:11 x15:-101:11",
    ),
    (
        2,
        "hs:30000 -4:100 -8:101 x16:3 x17:1 x18:9 x19:4 x20:16 x21:2 x22:2 x23:2 x24:-11",
        "hs:30000 -4:0:0 -8:0:11 x16:-101:11 N:1:/cc/later N:4:/cc x17:0:12 x18:0:12 \
         x19:0:12 x20:-123:13 x21:0:14 x22:-111:15 x23:-101:16 x24:0:17",
    ),
];

#[test]
fn c_client_op_sequence() {
    capture("c_client_3_8.frames").assert_transcript(C_CLIENT);
}

#[test]
fn c_client_facts() {
    let cap = capture("c_client_3_8.frames");
    assert_eq!(hex(cap.connect_requests()[0].1), FRESH_CONNECT_REQUEST_30S);

    // Creates of every mode; `create` always sends data "new".
    for (op, path, flags, ttl, created) in [
        (OpCode::Create, "/cc/eph", 1, -1, "/cc/eph"),
        (OpCode::Create, "/cc/seq-", 2, -1, "/cc/seq-0000000001"),
        (OpCode::Create, "/cc/eseq-", 3, -1, "/cc/eseq-0000000002"),
        (
            OpCode::CreateContainer,
            "/cc/container",
            4,
            -1,
            "/cc/container",
        ),
        (OpCode::CreateTtl, "/cc/ttl", 5, 60000, "/cc/ttl"),
        (OpCode::Create2, "/cc/c2", 0, -1, "/cc/c2"),
    ] {
        let e = cap.one(op, path);
        let c = create_op(e.req);
        assert_eq!((c.flags, c.ttl), (flags, ttl), "{path}");
        assert_eq!(c.data, bytes_of("new"));
        assert_eq!(c.acl, world_all());
        let got = match e.body {
            Body::Create(r) => {
                assert_eq!(op, OpCode::Create);
                &r.path
            }
            Body::Create2(r) => {
                assert_ne!(op, OpCode::Create);
                &r.path
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(got, created);
    }

    // get/ls/ls2/exists always set watch=true.
    for e in cap.exchanges() {
        match e.req {
            Request::Exists(r)
            | Request::GetData(r)
            | Request::GetChildren(r)
            | Request::GetChildren2(r) => assert!(r.watch, "line {}", e.line),
            _ => {}
        }
    }

    // Reconnect: setWatches with xid -8, after auth.
    let sw = cap.find_op(OpCode::SetWatches);
    assert_eq!(sw.len(), 1);
    assert_eq!((sw[0].conn, sw[0].xid), (2, -8));
    match sw[0].req {
        Request::SetWatches(w) => {
            assert_eq!(w.relative_zxid, 11);
            assert_eq!(w.data_watches, ["/cc"]);
            assert_eq!(w.exist_watches, ["/cc/missing"]);
            assert_eq!(w.child_watches, ["/cc"]);
        }
        other => panic!("{other:?}"),
    }
    let (_, first) = cap.connect_response(1);
    assert_eq!(cap.connect_request(2).session_id, first.session_id);
    assert_eq!(cap.connect_request(2).last_zxid_seen, 11);

    // getConfig is getData /zookeeper/config.
    assert!(matches!(
        cap.one(OpCode::GetData, "/zookeeper/config").body,
        Body::GetData(r) if r.data == Some(Bytes::new()) && r.stat.aversion == -1
    ));

    // reconfig: null joining/newMembers (read as ""), leaving "2", curConfigId -1;
    // ReconfigDisabled, header only.
    let reconfig = cap.find_op(OpCode::Reconfig);
    assert_eq!(reconfig.len(), 1);
    let r = &reconfig[0];
    assert_eq!(
        hex(&r.raw[8..]),
        "ffffffff0000000132ffffffffffffffffffffffff"
    );
    match r.req {
        Request::Reconfig(rc) => {
            assert_eq!(rc.joining_servers, "");
            assert_eq!(rc.leaving_servers, "2");
            assert_eq!(rc.new_members, "");
            assert_eq!(rc.cur_config_id, -1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.reply.err, ErrorCode::ReconfigDisabled.code());
    assert_eq!(r.reply_raw.len(), 16);
    assert_eq!(
        cap.null_marker_frames
            .iter()
            .map(|(_, op)| *op)
            .collect::<Vec<_>>(),
        [OpCode::Reconfig]
    );
}

#[test]
fn stat_is_68_bytes() {
    assert_eq!(to_bytes(&Stat::default()).len(), 68);
    let cap = capture("java_client_3_8.frames");
    let mut seen = 0;
    for e in cap.exchanges() {
        if let Body::Stat(s) = e.body {
            assert_eq!(to_bytes(s).len(), 68);
            assert_eq!(e.reply_raw.len(), 16 + 68);
            seen += 1;
        }
    }
    assert!(seen >= 6, "{seen}");
}
