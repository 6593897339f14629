//! Differential testing against Apache ZooKeeper 3.8: the same seeded random sequences
//! of requests go, byte for byte, to ZooKeeper (Debian's `zookeeper` package, started
//! beside us on loopback) and to ferrokeeper, and every reply is compared field by field:
//! error codes, data, children (as sets), ACLs, every Stat field (zxids by their order,
//! times by sanity: mtime ≥ ctime, near the wall clock), and each session's stream of
//! notifications including their position relative to the replies.
//!
//! The sequences: creates of every mode and op (container and TTL with extended types,
//! mismatched modes), deletes and setData with -1/valid/random versions, setACL/getACL
//! with world/digest/ip/auth ACLs and digest auth on some sessions, exists/getData/
//! getChildren2 with one-shot watches, addWatch (persistent, recursive) on one session,
//! multi with failing ops in the middle, multiRead, getEphemerals, getAllChildrenNumber,
//! sync, whoAmI, invalid paths, session close, session expiry (one session per sequence
//! has a 1 s timeout; both servers run with tickTime 500), and reconnects that resume a
//! session and send setWatches.
//!
//! Knobs: `FERROKEEPER_DIFF_CASES` (sequences, default 30), `FERROKEEPER_DIFF_OPS` (ops
//! per sequence, default 60), `FERROKEEPER_DIFF_SEED` (base seed, default fixed; each
//! sequence uses base + its index, printed on failure).
//!
//! Deliberate differences (README "Deliberate differences") are normalised explicitly
//! where they are compared; see the comments marked KNOWN DIFFERENCE.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use ferrokeeper_protocol::codes::xid;
use ferrokeeper_protocol::jute::Jute;
use ferrokeeper_protocol::multi::{MultiOp, MultiResponse, MultiResult};
use ferrokeeper_protocol::records::{
    Acl, CheckWatchesRequest, Create2Response, CreateResponse, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetDataResponse, GetEphemeralsResponse,
    Stat, StatResponse, SyncResponse,
};
use ferrokeeper_protocol::records::{ConnectRequest, ReplyHeader, SetWatches2, WhoAmIResponse};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{AddWatchMode, OpCode, Perms, WatcherType};
use ferrokeeper_tests::wire::{
    new_session_request, req, Reply, Wire, DEFAULT_SESSION_TIMEOUT_MS, READ_TIMEOUT,
};
use ferrokeeper_tests::{Launch, ServerProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha1::{Digest, Sha1};

/// Sessions per sequence. Slot `PERSISTENT_SLOT` only uses persistent watches (addWatch),
/// the others only one-shot watches: see the KNOWN DIFFERENCE on ZOOKEEPER-4466.
const SLOTS: usize = 3;
const PERSISTENT_SLOT: usize = 2;

/// Slot whose sessions ask for a short timeout, so that a step can let them expire.
const EXPIRY_SLOT: usize = 1;
const EXPIRY_TIMEOUT_MS: i32 = 1_000;
/// tickTime of both servers: sessions expire within a tick of their timeout.
const TICK_MS: u64 = 500;

/// The xid of the stand-in reply when the server closed the connection instead.
const CLOSED: i32 = i32::MIN;

const SERVER_ARGS: &[&str] = &[
    "--tick-time",
    "500",
    "--extended-types",
    "--set",
    // Container and TTL reaping is time-driven; keep it out of the sequences.
    "znode.container.checkIntervalMs=3600000",
    "--set",
    SUPER_DIGEST,
];

/// `super:superpw`, the super user of both servers in the random sequences.
const SUPER_DIGEST: &str = "superDigest=super:g9oN2HttPfn8MMWJZ2r45Np/LIA=";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---------------------------------------------------------------------------------
// Apache ZooKeeper, started beside ferrokeeper

/// ZooKeeper with the same flags as ferrokeeper, plus no fsync (it is compared, not
/// trusted with data); ferrokeeper runs in memory.
fn start_zookeeper(args: &[&str]) -> ServerProcess {
    ServerProcess::start_zookeeper(&[args, &["--set", "forceSync=no"]].concat())
}

// ---------------------------------------------------------------------------------
// One server's side of a sequence: its sessions and what they saw

struct Side {
    name: &'static str,
    addr: SocketAddr,
    wires: Vec<Option<Wire>>,
    /// Per slot, the normalised replies and notifications since the last comparison.
    pending: Vec<Vec<String>>,
    /// Every zxid observed, in observation order (compared by rank at the end).
    zxids: Vec<i64>,
    /// Session id -> logical session number within the sequence.
    sessions: HashMap<i64, usize>,
    start_ms: i64,
    /// Per slot: whether the server closed its connection; the last zxid it saw.
    closed: Vec<bool>,
    last_zxid: Vec<i64>,
}

impl Side {
    fn new(name: &'static str, addr: SocketAddr) -> Side {
        Side {
            name,
            addr,
            wires: (0..SLOTS).map(|_| None).collect(),
            pending: vec![Vec::new(); SLOTS],
            zxids: Vec::new(),
            sessions: HashMap::new(),
            start_ms: now_ms(),
            closed: vec![false; SLOTS],
            last_zxid: vec![0; SLOTS],
        }
    }

    fn connect(&mut self, slot: usize, logical: usize) {
        let timeout = if slot == EXPIRY_SLOT {
            EXPIRY_TIMEOUT_MS
        } else {
            DEFAULT_SESSION_TIMEOUT_MS
        };
        let wire = Wire::connect_with(self.addr, &new_session_request(timeout)).0;
        self.sessions.insert(wire.session_id, logical);
        self.wires[slot] = Some(wire);
        self.closed[slot] = false;
        self.last_zxid[slot] = 0;
    }

    fn wire(&mut self, slot: usize) -> &mut Wire {
        self.wires[slot].as_mut().expect("session open")
    }

    fn z(&mut self, zxid: i64) -> String {
        self.zxids.push(zxid);
        format!("z{}", self.zxids.len() - 1)
    }

    fn owner(&self, owner: i64) -> String {
        match self.sessions.get(&owner) {
            Some(n) => format!("S{n}"),
            None if owner == 0 => "0".into(),
            // Container and TTL markers.
            None => format!("{owner:#x}"),
        }
    }

    fn stat(&mut self, s: &Stat) -> String {
        let now = now_ms();
        // The root (czxid 0) was never created: its times are 0.
        let times = if s.czxid == 0 {
            vec![]
        } else {
            vec![("ctime", s.ctime), ("mtime", s.mtime)]
        };
        for (what, t) in times {
            assert!(
                t >= self.start_ms - 5_000 && t <= now + 5_000,
                "{}: {what} {t} is not near the wall clock ({now}): {s:?}",
                self.name
            );
        }
        assert!(s.mtime >= s.ctime, "{}: mtime < ctime: {s:?}", self.name);
        format!(
            "stat(cz={} mz={} pz={} v={} cv={} av={} owner={} len={} nc={})",
            self.z(s.czxid),
            self.z(s.mzxid),
            self.z(s.pzxid),
            s.version,
            s.cversion,
            s.aversion,
            self.owner(s.ephemeral_owner),
            s.data_length,
            s.num_children
        )
    }

    fn event(&mut self, slot: usize, reply: &Reply) {
        // KNOWN DIFFERENCE: a notification's header zxid is the change's zxid in
        // ferrokeeper (3.9) and -1 in 3.8; it is not compared.
        let e = reply.event();
        self.pending[slot].push(format!(
            "event type={} state={} path={}",
            e.event_type, e.state, e.path
        ));
    }

    /// Sends `request` on `slot` and records the notifications before its reply and
    /// the normalised reply.
    fn call(&mut self, slot: usize, xid: i32, request: &Request) -> Reply {
        self.wire(slot).send(xid, request);
        loop {
            match self.wire(slot).recv_frame_within(READ_TIMEOUT) {
                None => panic!(
                    "{}: no answer to {request:?} within {READ_TIMEOUT:?}",
                    self.name
                ),
                Some(None) => {
                    // The server closed the connection (the session lives on).
                    self.closed[slot] = true;
                    self.pending[slot].push("connection closed".into());
                    return Reply {
                        header: ReplyHeader {
                            xid: CLOSED,
                            zxid: 0,
                            err: 0,
                        },
                        body: Bytes::new(),
                    };
                }
                Some(Some(mut payload)) => {
                    let header = ReplyHeader::read(&mut payload).expect("reply header");
                    let reply = Reply {
                        header,
                        body: payload,
                    };
                    if reply.is_notification() {
                        self.event(slot, &reply);
                        continue;
                    }
                    assert_eq!(reply.xid(), xid, "{}: {:?}", self.name, reply.header);
                    if reply.header.zxid > 0 {
                        self.last_zxid[slot] = self.last_zxid[slot].max(reply.header.zxid);
                    }
                    return reply;
                }
            }
        }
    }

    /// Sends `requests` back to back on `slot` (pipelined, as Kafka's client does),
    /// then reads their replies, recording them and the notifications in arrival order.
    fn pipeline(&mut self, slot: usize, requests: &[(i32, Request)]) {
        for (xid, request) in requests {
            self.wire(slot).send(*xid, request);
        }
        let mut next = 0;
        while next < requests.len() {
            match self.wire(slot).recv_frame_within(READ_TIMEOUT) {
                None => panic!("{}: pipelined replies missing", self.name),
                Some(None) => {
                    self.closed[slot] = true;
                    self.pending[slot].push("connection closed".into());
                    return;
                }
                Some(Some(mut payload)) => {
                    let header = ReplyHeader::read(&mut payload).expect("reply header");
                    let reply = Reply {
                        header,
                        body: payload,
                    };
                    if reply.is_notification() {
                        self.event(slot, &reply);
                        continue;
                    }
                    let (xid, request) = &requests[next];
                    assert_eq!(reply.xid(), *xid, "{}: replies out of order", self.name);
                    if reply.header.zxid > 0 {
                        self.last_zxid[slot] = self.last_zxid[slot].max(reply.header.zxid);
                    }
                    let text = self.normalise(request, &reply);
                    self.pending[slot].push(text);
                    next += 1;
                }
            }
        }
    }

    /// A new connection for `slot`'s session (after the server closed its connection,
    /// or to test a reconnect): resumes it, with the zxid this session last saw.
    fn reopen(&mut self, slot: usize) {
        let old = self.wires[slot].take().expect("session");
        let request = ConnectRequest {
            session_id: old.session_id,
            passwd: old.password.clone(),
            timeout: old.timeout_ms,
            last_zxid_seen: self.last_zxid[slot],
            ..new_session_request(old.timeout_ms)
        };
        drop(old);
        let (wire, response) = Wire::connect_with(self.addr, &request);
        assert_eq!(
            response.session_id, request.session_id,
            "{}: session not resumed: {response:?}",
            self.name
        );
        self.wires[slot] = Some(wire);
        self.closed[slot] = false;
        self.pending[slot].push(format!("resumed, timeout {}", response.timeout));
    }

    /// Pings every session but `except` and records the notifications that arrive
    /// before the ping's answer.
    fn flush_others(&mut self, except: Option<usize>) {
        for slot in 0..SLOTS {
            if Some(slot) == except || self.wires[slot].is_none() {
                continue;
            }
            self.wire(slot).send_op(xid::PING, OpCode::Ping.code(), &[]);
            loop {
                let reply = self.wire(slot).recv();
                if reply.is_notification() {
                    self.event(slot, &reply);
                } else {
                    assert_eq!(reply.xid(), xid::PING, "{}: {:?}", self.name, reply.header);
                    break;
                }
            }
        }
    }

    fn acl_list(acl: &[Acl]) -> String {
        acl.iter()
            .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, a.perms))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn data(data: &Option<Bytes>) -> String {
        match data {
            None => "null".into(),
            Some(d) => format!("{:?}", String::from_utf8_lossy(d)),
        }
    }

    fn sorted(mut names: Vec<String>) -> String {
        // Children and ephemerals are sets: ZooKeeper's order is a hash set's.
        names.sort();
        names.join(",")
    }

    fn multi_result(&mut self, r: &MultiResult) -> String {
        match r {
            MultiResult::Create { path } => format!("create {path}"),
            MultiResult::Create2 { path, stat } => format!("create2 {path} {}", self.stat(stat)),
            MultiResult::Delete => "delete".into(),
            MultiResult::SetData { stat } => format!("setData {}", self.stat(stat)),
            MultiResult::Check => "check".into(),
            MultiResult::GetData { data, stat } => {
                format!("getData {} {}", Self::data(data), self.stat(stat))
            }
            MultiResult::GetChildren { children } => {
                format!("getChildren {}", Self::sorted(children.clone()))
            }
            MultiResult::Error { err } => format!("error {err}"),
        }
    }

    /// The normalised text of a reply to `request`.
    fn normalise(&mut self, request: &Request, reply: &Reply) -> String {
        if reply.xid() == CLOSED {
            return "no reply".into();
        }
        let head = format!("reply xid={} err={} zxid={}", reply.xid(), reply.err(), {
            let z = reply.header.zxid;
            self.z(z)
        });
        if reply.err() != 0 {
            return head;
        }
        let body = match request {
            Request::Create(c) if c.op == OpCode::Create => reply.decode::<CreateResponse>().path,
            Request::Create(_) => {
                let r: Create2Response = reply.decode();
                format!("{} {}", r.path, self.stat(&r.stat))
            }
            Request::Exists(_) | Request::SetData(_) | Request::SetAcl(_) => {
                let r: StatResponse = reply.decode();
                self.stat(&r.stat)
            }
            Request::GetData(_) => {
                let r: GetDataResponse = reply.decode();
                format!("{} {}", Self::data(&r.data), self.stat(&r.stat))
            }
            Request::GetChildren2(_) => {
                let r: GetChildren2Response = reply.decode();
                format!("[{}] {}", Self::sorted(r.children), self.stat(&r.stat))
            }
            Request::GetAcl(_) => {
                let r: GetAclResponse = reply.decode();
                format!("[{}] {}", Self::acl_list(&r.acl), self.stat(&r.stat))
            }
            Request::Sync(_) => format!("{:?}", reply.decode::<SyncResponse>().path),
            Request::WhoAmI => {
                let r: WhoAmIResponse = reply.decode();
                let ids: Vec<String> = r
                    .client_info
                    .iter()
                    .map(|c| format!("{}:{}", c.auth_scheme, c.user))
                    .collect();
                // In ZooKeeper's order (its connection's ConcurrentHashMap set).
                ids.join(",")
            }
            Request::GetEphemerals(_) => {
                Self::sorted(reply.decode::<GetEphemeralsResponse>().ephemerals)
            }
            Request::GetAllChildrenNumber(_) => reply
                .decode::<GetAllChildrenNumberResponse>()
                .total_number
                .to_string(),
            Request::Multi(_) | Request::MultiRead(_) => {
                let r: MultiResponse = reply.decode();
                let ops = match request {
                    Request::Multi(ops) | Request::MultiRead(ops) => ops,
                    _ => unreachable!(),
                };
                let parts: Vec<String> = r
                    .results
                    .iter()
                    .enumerate()
                    .map(|(i, x)| match (ops.get(i), x) {
                        // KNOWN DIFFERENCE (ZOOKEEPER-4026): the result of a create2
                        // sub-op carries the stat in ferrokeeper (3.9); 3.8 answers
                        // with the path only, as for a plain create.
                        (Some(MultiOp::Create(c)), MultiResult::Create2 { path, .. })
                            if c.op == OpCode::Create2 =>
                        {
                            format!("create {path}")
                        }
                        _ => self.multi_result(x),
                    })
                    .collect();
                parts.join(" | ")
            }
            _ => format!("{} body bytes", reply.body.len()),
        };
        format!("{head} {body}")
    }
}

// ---------------------------------------------------------------------------------
// The generator

fn digest_id(user: &str, password: &str) -> String {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

fn random_acl(rng: &mut impl Rng) -> Vec<Acl> {
    match rng.gen_range(0..12) {
        0 => vec![Acl::new(Perms::READ, "world", "anyone")],
        1 => vec![
            Acl::new(Perms::ALL, "digest", &digest_id("user1", "pw1")),
            Acl::new(Perms::READ, "world", "anyone"),
        ],
        2 => vec![Acl::new(Perms::ALL, "digest", &digest_id("user1", "pw1"))],
        3 => vec![Acl::new(Perms::ALL, "ip", "127.0.0.1")],
        4 => vec![Acl::new(Perms::ALL, "ip", "10.0.0.0/8")],
        5 => vec![Acl::new(Perms::ALL, "auth", "")],
        6 => vec![Acl::new(
            Perms::CREATE | Perms::DELETE | Perms::READ,
            "world",
            "anyone",
        )],
        7 => vec![Acl::new(Perms::ALL, "ip", "127.0.0.0/24")],
        8 if rng.gen_bool(0.3) => vec![],
        _ => req::open_acl(),
    }
}

struct Generator {
    rng: StdRng,
    root: String,
    /// Paths seen to exist at some point (from ZooKeeper's replies), for reuse.
    known: Vec<String>,
    /// The persistent watch mode `PERSISTENT_SLOT`'s session set on each path.
    persistent_modes: HashMap<String, AddWatchMode>,
    /// Whether a session already expired in this sequence (one per sequence at most:
    /// each costs a session timeout of waiting).
    expired: bool,
}

impl Generator {
    fn path(&mut self) -> String {
        if self.rng.gen_bool(0.03) {
            // Invalid paths: both servers must refuse them the same way.
            const BAD: &[&str] = &[
                "/a/",
                "//a",
                "/./a",
                "/a/..",
                "/a/.",
                "",
                "/a\u{1}",
                "/a\u{0}b",
                "/a//b",
                "a",
                "/zookeeper/x",
                "/\u{ffff}",
            ];
            let bad = BAD[self.rng.gen_range(0..BAD.len())];
            return if bad.starts_with('/') {
                format!("{}{bad}", self.root)
            } else {
                bad.to_owned()
            };
        }
        if !self.known.is_empty() && self.rng.gen_bool(0.5) {
            let i = self.rng.gen_range(0..self.known.len());
            return self.known[i].clone();
        }
        const NAMES: &[&str] = &["a", "b", "c", "a/x", "a/y", "b/x", "a/x/p", "c/q"];
        format!(
            "{}/{}",
            self.root,
            NAMES[self.rng.gen_range(0..NAMES.len())]
        )
    }

    fn version(&mut self) -> i32 {
        match self.rng.gen_range(0..5) {
            0 | 1 => -1,
            2 => 0,
            3 => 1,
            _ => self.rng.gen_range(0..4),
        }
    }

    fn data(&mut self) -> Option<Vec<u8>> {
        if self.rng.gen_bool(0.1) {
            return None;
        }
        let n = self.rng.gen_range(0..12);
        Some((0..n).map(|_| self.rng.gen_range(b'a'..=b'z')).collect())
    }

    fn create(&mut self, in_multi: bool) -> ferrokeeper_protocol::multi::CreateOp {
        let path = self.path();
        let data = self.data();
        let acl = if self.rng.gen_bool(0.7) {
            req::open_acl()
        } else {
            random_acl(&mut self.rng)
        };
        let (op, flags, ttl) = match self.rng.gen_range(0..if in_multi { 6 } else { 9 }) {
            0 | 1 => (OpCode::Create, 0, -1),
            2 => (OpCode::Create2, 1, -1),
            3 => (OpCode::Create2, 2, -1),
            4 => (OpCode::Create, 3, -1),
            5 => (OpCode::Create2, 0, -1),
            6 => (OpCode::CreateContainer, 4, -1),
            7 => (
                OpCode::CreateTtl,
                self.rng.gen_range(5..=6),
                self.rng.gen_range(1..100_000),
            ),
            // A mismatched mode or TTL: both must refuse it the same way.
            _ => match self.rng.gen_range(0..4) {
                0 => (OpCode::CreateTtl, 0, 1000),
                1 => (OpCode::CreateTtl, 5, 0),
                2 => (OpCode::Create2, 4, -1),
                _ => (OpCode::CreateContainer, 0, -1),
            },
        };
        req::create_raw(op, &path, data.as_deref(), acl, flags, ttl)
    }

    fn read_op(&mut self) -> MultiOp {
        let p = self.path();
        if self.rng.gen_bool(0.5) {
            req::read_data_op(&p)
        } else {
            req::read_children_op(&p)
        }
    }

    fn write_op(&mut self) -> MultiOp {
        match self.rng.gen_range(0..4) {
            0 => MultiOp::Create(self.create(true)),
            1 => {
                let (p, v) = (self.path(), self.version());
                MultiOp::Delete(req::delete_op(&p, v))
            }
            2 => {
                let (p, d, v) = (self.path(), self.data(), self.version());
                MultiOp::SetData(req::set_data_op(&p, d.as_deref().unwrap_or(b""), v))
            }
            _ => {
                let (p, v) = (self.path(), self.version());
                req::check_op(&p, v)
            }
        }
    }
}

/// What the driver does for one step.
enum Step {
    Request(Request),
    Auth(usize),
    Close,
    /// Drop the connection, resume the session, send setWatches for these data,
    /// exist and child watches.
    Reconnect([Vec<String>; 5]),
    /// Drop the connection and let the session expire.
    Expire,
}

fn next_step(g: &mut Generator, slot: usize) -> Step {
    let one_shot = slot != PERSISTENT_SLOT;
    let watch = one_shot && g.rng.gen_bool(0.4);
    match g.rng.gen_range(0..100) {
        0..=21 => Step::Request(Request::Create(g.create(false))),
        22..=29 => Step::Request(req::delete(&g.path(), g.version())),
        30..=39 => {
            let (p, d, v) = (g.path(), g.data(), g.version());
            Step::Request(Request::SetData(req::set_data_op(
                &p,
                d.as_deref().unwrap_or(b""),
                v,
            )))
        }
        40..=45 => Step::Request(req::exists(&g.path(), watch)),
        46..=51 => Step::Request(req::get_data(&g.path(), watch)),
        52..=57 => {
            let p = if g.rng.gen_bool(0.3) {
                g.root.clone()
            } else {
                g.path()
            };
            Step::Request(req::get_children2(&p, watch))
        }
        58..=61 => Step::Request(req::get_acl(&g.path())),
        62..=65 => {
            let (p, v) = (g.path(), g.version());
            let acl = random_acl(&mut g.rng);
            Step::Request(req::set_acl(&p, acl, v))
        }
        66..=73 => {
            let n = g.rng.gen_range(1..=4);
            let mut ops: Vec<MultiOp> = (0..n).map(|_| g.write_op()).collect();
            // Now and then a read among the writes: the whole multi fails to decode
            // (MarshallingError) and takes a zxid as a failed write.
            if g.rng.gen_bool(0.15) {
                let at = g.rng.gen_range(0..=ops.len());
                let read = g.read_op();
                ops.insert(at, read);
            }
            Step::Request(req::multi(ops))
        }
        74..=77 => {
            let n = g.rng.gen_range(1..=3);
            let mut ops: Vec<MultiOp> = (0..n).map(|_| g.read_op()).collect();
            // Now and then a write among the reads: MarshallingError, no zxid.
            if g.rng.gen_bool(0.15) {
                let at = g.rng.gen_range(0..=ops.len());
                let write = g.write_op();
                ops.insert(at, write);
            }
            Step::Request(req::multi_read(ops))
        }
        78..=80 => {
            let p = if g.rng.gen_bool(0.5) {
                g.root.clone()
            } else {
                g.path()
            };
            Step::Request(req::get_ephemerals(&p))
        }
        81..=82 => Step::Request(req::get_all_children_number(&g.root.clone())),
        83..=84 => Step::Request(req::sync(&g.path())),
        85..=88 if !one_shot => {
            let mode = if g.rng.gen_bool(0.5) {
                AddWatchMode::Persistent
            } else {
                AddWatchMode::PersistentRecursive
            };
            let p = if g.rng.gen_bool(0.3) {
                g.root.clone()
            } else {
                g.path()
            };
            // KNOWN DIFFERENCE (ZOOKEEPER-4466): in 3.8 a second addWatch on a path
            // replaces the mode of the session's first; in ferrokeeper (3.9) both
            // stay. A session keeps one mode per path.
            let mode = *g.persistent_modes.entry(p.clone()).or_insert(mode);
            Step::Request(req::add_watch(&p, mode))
        }
        89..=92 => Step::Auth(match g.rng.gen_range(0..8) {
            0..=2 => 0,
            3..=5 => 1,
            6 => 2,
            _ => 3,
        }),
        93..=95 => Step::Close,
        96 if slot == EXPIRY_SLOT && !g.expired && g.rng.gen_bool(0.25) => {
            g.expired = true;
            Step::Expire
        }
        96 => Step::Request(Request::WhoAmI),
        97..=98 if one_shot => {
            // Random data, exist and child watches (whether or not the session had
            // them: the server takes the client's word).
            let mut lists: [Vec<String>; 5] = Default::default();
            for list in lists.iter_mut().take(3) {
                for _ in 0..g.rng.gen_range(0..3) {
                    list.push(g.path());
                }
            }
            Step::Reconnect(lists)
        }
        97..=98 => {
            // The persistent session re-registers all its watches, as clients do.
            let mut lists: [Vec<String>; 5] = Default::default();
            for (path, mode) in &g.persistent_modes {
                let i = if *mode == AddWatchMode::Persistent {
                    3
                } else {
                    4
                };
                lists[i].push(path.clone());
            }
            lists[3].sort();
            lists[4].sort();
            Step::Reconnect(lists)
        }
        _ => Step::Request(req::get_data(&g.path(), watch)),
    }
}

fn describe(request: &Request) -> String {
    format!("{request:?}")
}

// ---------------------------------------------------------------------------------
// The driver

struct Sequence {
    seed: u64,
    zk: Side,
    fk: Side,
    history: Vec<String>,
}

impl Sequence {
    /// A sequence with every session slot connected on both servers.
    fn connected(seed: u64, zk_addr: SocketAddr, fk_addr: SocketAddr) -> Sequence {
        let mut seq = Sequence {
            seed,
            zk: Side::new("zookeeper", zk_addr),
            fk: Side::new("ferrokeeper", fk_addr),
            history: Vec::new(),
        };
        for slot in 0..SLOTS {
            seq.zk.connect(slot, slot);
            seq.fk.connect(slot, slot);
        }
        seq
    }

    fn fail(&self, what: &str) -> ! {
        let start = self.history.len().saturating_sub(40);
        panic!(
            "differential mismatch (seed {}; rerun with FERROKEEPER_DIFF_SEED={} \
             FERROKEEPER_DIFF_CASES=1): {what}\nlast steps:\n{}",
            self.seed,
            self.seed,
            self.history[start..].join("\n")
        );
    }

    fn compare(&mut self) {
        for slot in 0..SLOTS {
            let zk = std::mem::take(&mut self.zk.pending[slot]);
            let fk = std::mem::take(&mut self.fk.pending[slot]);
            if zk != fk {
                self.fail(&format!(
                    "session slot {slot} saw\n  zookeeper:   {zk:#?}\n  ferrokeeper: {fk:#?}"
                ));
            }
        }
    }

    fn compare_zxid_order(&self) {
        let rank = |z: &[i64]| {
            let mut sorted = z.to_vec();
            sorted.sort();
            sorted.dedup();
            z.iter()
                .map(|v| sorted.binary_search(v).unwrap())
                .collect::<Vec<_>>()
        };
        let (a, b) = (rank(&self.zk.zxids), rank(&self.fk.zxids));
        if a != b {
            let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(0);
            self.fail(&format!(
                "zxid order differs at observation z{i}: zookeeper ranks {a:?}\nferrokeeper ranks {b:?}"
            ));
        }
    }

    fn run_request(&mut self, slot: usize, xid: i32, request: &Request) -> (Reply, Reply) {
        let zr = self.zk.call(slot, xid, request);
        let fr = self.fk.call(slot, xid, request);
        let (zn, fn_) = (self.zk.zxids.len(), self.fk.zxids.len());
        let mut zt = self.zk.normalise(request, &zr);
        let mut ft = self.fk.normalise(request, &fr);
        if let Request::Exists(w) = request {
            // KNOWN DIFFERENCE: exists on a node the caller may not READ answers NoAuth
            // in ferrokeeper (3.9) and the stat in 3.8. Count the two as equal, and drop
            // the data watch 3.8 left behind (and any the session had: the same on
            // both sides) so later notifications still compare.
            if fr.err() == -102 && zr.err() == 0 {
                self.zk.zxids.truncate(zn);
                self.fk.zxids.truncate(fn_);
                zt = format!("exists on an unreadable node (xid {xid})");
                ft = zt.clone();
                if w.watch {
                    let remove = Request::RemoveWatches(CheckWatchesRequest {
                        path: w.path.clone(),
                        watcher_type: WatcherType::Data.code(),
                    });
                    self.zk.call(slot, xid + 1_000_000, &remove);
                    self.fk.call(slot, xid + 1_000_000, &remove);
                }
            }
        }
        self.zk.pending[slot].push(zt);
        self.fk.pending[slot].push(ft);
        (zr, fr)
    }
}

fn run_sequence(
    zk_addr: SocketAddr,
    fk_addr: SocketAddr,
    seed: u64,
    case: usize,
    ops: usize,
    coverage: &mut BTreeMap<String, usize>,
) {
    let mut seq = Sequence::connected(seed, zk_addr, fk_addr);
    let root = format!("/diff{case}-{seed}");
    let mut g = Generator {
        rng: StdRng::seed_from_u64(seed),
        root: root.clone(),
        known: Vec::new(),
        persistent_modes: HashMap::new(),
        expired: false,
    };
    let setup = req::create(&root, b"", ferrokeeper_protocol::CreateMode::Persistent);
    seq.history.push(format!("setup: {}", describe(&setup)));
    seq.run_request(0, 1, &setup);
    seq.compare();

    // Logical session numbers: the first SLOTS are the connected ones.
    let mut logical = SLOTS;
    let mut xid = 10;
    for step_no in 0..ops {
        xid += 1;
        let slot = g.rng.gen_range(0..SLOTS);
        if g.rng.gen_bool(0.05) {
            // A pipeline of plain requests. Exists is left out: its KNOWN DIFFERENCE
            // is normalised one request at a time. So is setACL — KNOWN DIFFERENCE:
            // ZooKeeper 3.8 checks requests pipelined behind a setACL against the old
            // ACL while the setACL is in flight (its pending change record keeps the
            // old ACL), a race; ferrokeeper checks them against the new one.
            let mut requests = Vec::new();
            while requests.len() < 5 {
                if let Step::Request(r) = next_step(&mut g, slot) {
                    if !matches!(r, Request::Exists(_) | Request::SetAcl(_)) {
                        xid += 1;
                        requests.push((xid, r));
                    }
                }
            }
            let n = g.rng.gen_range(2..=5);
            requests.truncate(n);
            seq.history.push(format!(
                "#{step_no} slot {slot}: pipeline {:?}",
                requests
                    .iter()
                    .map(|(_, r)| describe(r))
                    .collect::<Vec<_>>()
            ));
            seq.zk.pipeline(slot, &requests);
            seq.fk.pipeline(slot, &requests);
            *coverage.entry("pipeline".into()).or_default() += 1;
            seq.zk.flush_others(Some(slot));
            seq.fk.flush_others(Some(slot));
            seq.compare();
            for slot in 0..SLOTS {
                if seq.zk.closed[slot] {
                    seq.zk.reopen(slot);
                    seq.fk.reopen(slot);
                    seq.compare();
                }
            }
            continue;
        }
        match next_step(&mut g, slot) {
            Step::Request(request) => {
                seq.history
                    .push(format!("#{step_no} slot {slot}: {}", describe(&request)));
                let (zr, _) = seq.run_request(slot, xid, &request);
                let outcome = if zr.xid() == CLOSED {
                    "closed".to_owned()
                } else {
                    format!("err {}", zr.err())
                };
                *coverage
                    .entry(format!("{:?} {outcome}", request.op_code()))
                    .or_default() += 1;
                // Remember the names ZooKeeper created (sequential ones included).
                if zr.err() == 0 {
                    match &request {
                        Request::Create(c) if c.op == OpCode::Create => {
                            g.known.push(zr.decode::<CreateResponse>().path)
                        }
                        Request::Create(_) => g.known.push(zr.decode::<Create2Response>().path),
                        Request::Multi(_) => {
                            for r in zr.decode::<MultiResponse>().results {
                                match r {
                                    MultiResult::Create { path }
                                    | MultiResult::Create2 { path, .. } => g.known.push(path),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if request.op_code().is_write() {
                    seq.zk.flush_others(Some(slot));
                    seq.fk.flush_others(Some(slot));
                }
            }
            Step::Auth(user) => {
                // The super user (superDigest on both servers), and a credential
                // without a colon.
                let cred = ["user1:pw1", "user2:pw2", "super:superpw", "nocolon"][user];
                let request = req::auth("digest", cred.as_bytes());
                seq.history
                    .push(format!("#{step_no} slot {slot}: auth digest {cred}"));
                let (zr, _) = seq.run_request(slot, xid::AUTH, &request);
                let outcome = if zr.xid() == CLOSED {
                    "closed".to_owned()
                } else {
                    format!("err {}", zr.err())
                };
                *coverage
                    .entry(format!("auth {cred} {outcome}"))
                    .or_default() += 1;
            }
            Step::Reconnect(lists) => {
                seq.history.push(format!(
                    "#{step_no} slot {slot}: reconnect, setWatches2 data/exist/child/persistent/recursive {lists:?}"
                ));
                seq.zk.reopen(slot);
                seq.fk.reopen(slot);
                // Each side's request carries the zxid its session last saw.
                for side in [&mut seq.zk, &mut seq.fk] {
                    let [data, exist, child, persistent, recursive] = lists.clone();
                    let request = Request::SetWatches(SetWatches2 {
                        relative_zxid: side.last_zxid[slot],
                        data_watches: data,
                        exist_watches: exist,
                        child_watches: child,
                        persistent_watches: persistent,
                        persistent_recursive_watches: recursive,
                    });
                    let reply = side.call(slot, xid::SET_WATCHES, &request);
                    *coverage.entry("reconnect + setWatches".into()).or_default() += 1;
                    let text = format!("setWatches err={}", reply.err());
                    side.pending[slot].push(text);
                }
            }
            Step::Expire => {
                seq.history.push(format!(
                    "#{step_no} slot {slot}: connection dropped, session expires"
                ));
                let marks: Vec<Vec<usize>> = [&seq.zk, &seq.fk]
                    .iter()
                    .map(|side| side.pending.iter().map(Vec::len).collect())
                    .collect();
                let olds: Vec<Wire> = [&mut seq.zk, &mut seq.fk]
                    .into_iter()
                    .map(|side| side.wires[slot].take().expect("session"))
                    .collect();
                let request = |old: &Wire| ConnectRequest {
                    session_id: old.session_id,
                    passwd: old.password.clone(),
                    ..new_session_request(EXPIRY_TIMEOUT_MS)
                };
                let requests: Vec<ConnectRequest> = olds.iter().map(request).collect();
                drop(olds);
                // Expiry comes within a tick after the timeout; leave a margin.
                std::thread::sleep(Duration::from_millis(
                    EXPIRY_TIMEOUT_MS as u64 + 2 * TICK_MS + 1_000,
                ));
                for ((side, marks), request) in [&mut seq.zk, &mut seq.fk]
                    .into_iter()
                    .zip(marks)
                    .zip(requests)
                {
                    side.flush_others(Some(slot));
                    // KNOWN DIFFERENCE: as for a close, an expired session's ephemerals
                    // go in path order (ferrokeeper) or hash-set order (ZooKeeper).
                    for (s, mark) in marks.into_iter().enumerate() {
                        side.pending[s][mark..].sort();
                    }
                    let (_, response) = Wire::connect_with(side.addr, &request);
                    let text = format!(
                        "resume after expiry: session {} timeout {}",
                        side.owner(response.session_id),
                        response.timeout
                    );
                    side.pending[slot].push(text);
                    side.connect(slot, logical);
                }
                logical += 1;
                *coverage.entry("session expiry".into()).or_default() += 1;
            }
            Step::Close => {
                seq.history.push(format!(
                    "#{step_no} slot {slot}: closeSession and reconnect"
                ));
                if slot == PERSISTENT_SLOT {
                    g.persistent_modes.clear();
                }
                let marks: Vec<Vec<usize>> = [&seq.zk, &seq.fk]
                    .iter()
                    .map(|side| side.pending.iter().map(Vec::len).collect())
                    .collect();
                seq.run_request(slot, xid, &Request::CloseSession);
                for (side, marks) in [&mut seq.zk, &mut seq.fk].into_iter().zip(marks) {
                    side.wires[slot] = None;
                    side.flush_others(None);
                    // KNOWN DIFFERENCE: a closed session's ephemerals are deleted in
                    // path order by ferrokeeper and in hash-set order by ZooKeeper, so
                    // the notifications the close causes are compared as a set (the
                    // events of each session, and their place before the close's
                    // reply, still are).
                    for (s, mark) in marks.into_iter().enumerate() {
                        let entries = &mut side.pending[s];
                        let end = if s == slot {
                            entries.len() - 1
                        } else {
                            entries.len()
                        };
                        entries[mark..end].sort();
                    }
                    side.connect(slot, logical);
                }
                logical += 1;
            }
        }
        seq.compare();
        for slot in 0..SLOTS {
            if seq.zk.closed[slot] {
                seq.zk.reopen(slot);
                seq.fk.reopen(slot);
                seq.compare();
            }
        }
    }
    // Everything left in flight, then the zxid order of the whole sequence.
    seq.zk.flush_others(None);
    seq.fk.flush_others(None);
    seq.compare();
    seq.compare_zxid_order();
    for slot in 0..SLOTS {
        seq.zk.call(slot, xid + 1, &Request::CloseSession);
        seq.fk.call(slot, xid + 1, &Request::CloseSession);
    }
}

#[test]
fn random_sequences_match_zookeeper() {
    let cases = env_usize("FERROKEEPER_DIFF_CASES", 30);
    let ops = env_usize("FERROKEEPER_DIFF_OPS", 60);
    let base: u64 = std::env::var("FERROKEEPER_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2026);
    eprintln!("differential: {cases} sequences x {ops} ops, base seed {base}");
    let zk = start_zookeeper(SERVER_ARGS);
    let mut coverage = BTreeMap::new();
    let fk: ServerProcess = Launch::in_memory().args(SERVER_ARGS).start();
    for case in 0..cases {
        let seed = base.wrapping_add(case as u64);
        run_sequence(zk.addr, fk.addr, seed, case, ops, &mut coverage);
    }
    // What the sequences exercised (both sides answered alike), for the log.
    for (what, n) in &coverage {
        eprintln!("  {n:6}  {what}");
    }
}

/// Container and TTL reaping, with the reaper running every 100 ms on both servers:
/// which nodes go, the notifications their deletion sends, and the tree afterwards.
#[test]
fn container_and_ttl_reaping_matches_zookeeper() {
    // Long enough that no TTL node can expire while the scenario is being set up,
    // however slow the machine.
    const TTL_MS: i64 = 1500;
    let args = [
        "--tick-time",
        "500",
        "--extended-types",
        "--set",
        "znode.container.checkIntervalMs=100",
    ];
    let zk = start_zookeeper(&args);
    let fk: ServerProcess = Launch::in_memory().args(&args).start();
    let mut seq = Sequence::connected(0, zk.addr, fk.addr);
    let raw = |op: OpCode, path: &str, flags: i32, ttl: i64| {
        Request::Create(req::create_raw(
            op,
            path,
            Some(b"d"),
            req::open_acl(),
            flags,
            ttl,
        ))
    };
    let plain = |path: &str| raw(OpCode::Create2, path, 0, -1);
    let container = |path: &str| raw(OpCode::CreateContainer, path, 4, -1);
    let ttl = |path: &str, flags: i32, ms: i64| raw(OpCode::CreateTtl, path, flags, ms);
    let setup = [
        plain("/reap"),
        // Used and emptied: reaped.
        container("/reap/c1"),
        plain("/reap/c1/x"),
        // Never used: kept (maxNeverUsedIntervalMs is 0).
        container("/reap/c2"),
        // Still has a child: kept.
        container("/reap/c3"),
        plain("/reap/c3/x"),
        // TTL nodes: expired and childless (reaped), with a child or a long TTL (kept).
        ttl("/reap/t1", 5, TTL_MS),
        ttl("/reap/t2", 5, TTL_MS),
        plain("/reap/t2/x"),
        ttl("/reap/t3", 5, 600_000),
        ttl("/reap/ts-", 6, TTL_MS),
        // A container emptied by a multi, holding a TTL child that expires.
        container("/reap/c4"),
        ttl("/reap/c4/t", 5, TTL_MS),
    ];
    let mut xid = 1;
    for request in &setup {
        seq.history.push(describe(request));
        seq.run_request(0, xid, request);
        xid += 1;
    }
    // Slot 1 watches everything.
    let watched = [
        "/reap/c1",
        "/reap/c2",
        "/reap/c3",
        "/reap/t1",
        "/reap/t2",
        "/reap/t3",
        "/reap/ts-0000000006",
        "/reap/c4",
        "/reap/c4/t",
    ];
    for path in watched {
        let request = req::get_data(path, true);
        seq.history.push(describe(&request));
        seq.run_request(1, xid, &request);
        xid += 1;
    }
    for path in ["/reap", "/reap/c4"] {
        seq.run_request(1, xid, &req::get_children2(path, true));
        xid += 1;
    }
    seq.compare();
    // From here on the two reapers run on their own clocks: what each server says is
    // compared as a set once both have had time to reap everything that is due.
    let marks: Vec<Vec<usize>> = [&seq.zk, &seq.fk]
        .iter()
        .map(|side| side.pending.iter().map(Vec::len).collect())
        .collect();
    let request = req::delete("/reap/c1/x", -1);
    seq.history.push(describe(&request));
    seq.run_request(0, xid, &request);
    xid += 1;
    // TTL_MS plus a few reaper intervals, pinging (EXPIRY_SLOT's session has a 1 s
    // timeout).
    for _ in 0..(TTL_MS / 200 + 10) {
        std::thread::sleep(Duration::from_millis(200));
        seq.zk.flush_others(None);
        seq.fk.flush_others(None);
    }
    for (side, marks) in [&mut seq.zk, &mut seq.fk].into_iter().zip(marks) {
        // The reaper's order among the nodes due together is an implementation detail
        // (ZooKeeper walks a hash set): compare the notifications as a set.
        for (slot, mark) in marks.into_iter().enumerate() {
            side.pending[slot][mark..].sort();
        }
    }
    seq.history.push("reaping".into());
    seq.compare();
    for path in ["/reap", "/reap/c3", "/reap/t2"] {
        let request = req::get_children2(path, false);
        seq.history.push(describe(&request));
        let (zr, _) = seq.run_request(0, xid, &request);
        xid += 1;
        if path == "/reap" {
            // The scenario means something: ZooKeeper reaped what it should.
            let mut left = zr.decode::<GetChildren2Response>().children;
            left.sort();
            assert_eq!(left, ["c2", "c3", "t2", "t3"], "ZooKeeper's reaping");
        }
    }
    seq.run_request(0, xid, &req::get_all_children_number("/reap"));
    seq.compare();
    seq.compare_zxid_order();
}

/// Data around `jute.maxbuffer` (4096 on both): which creates and setData pass, which
/// are refused, and which close the connection.
#[test]
fn data_around_jute_maxbuffer_matches_zookeeper() {
    let args = ["--tick-time", "500", "--set", "jute.maxbuffer=4096"];
    let zk = start_zookeeper(&args);
    let fk: ServerProcess = Launch::in_memory().args(&args).start();
    let mut seq = Sequence::connected(0, zk.addr, fk.addr);
    let mut xid = 1;
    let mut closes = 0;
    let mut step = |seq: &mut Sequence, request: Request| {
        seq.history.push(describe_short(&request));
        seq.run_request(0, xid, &request);
        xid += 1;
        seq.compare();
        if seq.zk.closed[0] || seq.fk.closed[0] {
            closes += 1;
            seq.zk.reopen(0);
            seq.fk.reopen(0);
            seq.compare();
        }
    };
    step(
        &mut seq,
        req::create("/mb", b"", ferrokeeper_protocol::CreateMode::Persistent),
    );
    let sizes = (4030..=4100).chain([0, 1, 2048, 4096, 8192, 100_000]);
    for (i, n) in sizes.enumerate() {
        let data = vec![b'x'; n];
        let path = format!("/mb/n{i}");
        step(
            &mut seq,
            req::create(&path, &data, ferrokeeper_protocol::CreateMode::Persistent),
        );
        step(&mut seq, req::set_data("/mb", &data, -1));
        step(&mut seq, req::get_data("/mb", false));
    }
    assert!(closes > 0, "no request went over jute.maxbuffer");
    seq.compare_zxid_order();
}

/// A request without its (large) data.
fn describe_short(request: &Request) -> String {
    match request {
        Request::Create(c) => format!(
            "create {} ({} bytes)",
            c.path,
            c.data.as_ref().map_or(0, |d| d.len())
        ),
        Request::SetData(r) => format!(
            "setData {} ({} bytes)",
            r.path,
            r.data.as_ref().map_or(0, |d| d.len())
        ),
        other => describe(other),
    }
}
