//! The fuzz targets' bodies, shared by the libFuzzer binaries (`fuzz_targets/`) and
//! the bounded stable-toolchain run in `server/tests/fuzz_corpus.rs`. Each function
//! takes one input and panics on a bug.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::frame::{take_frame, DEFAULT_JUTE_MAXBUFFER};
use ferrokeeper_protocol::records::{ConnectRequest, RequestHeader};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{Jute, OpCode};

/// A client's byte stream after the handshake: frames taken off the buffer as the
/// connection task does, each decoded as a request header and a request body;
/// whatever decodes re-encodes and decodes to the same request.
pub fn frame_request(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(mut frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let Ok(header) = RequestHeader::read(&mut frame) else {
            break;
        };
        if let Ok(op) = OpCode::try_from(header.op) {
            if let Ok(request) = Request::decode(op, frame) {
                // What decodes re-encodes, and decodes to the same request.
                let mut body = BytesMut::new();
                request.encode_body(&mut body);
                let again = Request::decode(request.op_code(), body.freeze())
                    .expect("a re-encoded request decodes");
                assert_eq!(format!("{again:?}"), format!("{request:?}"));
            }
        }
    }
}

/// The first frame of a connection: a ConnectRequest; decode ∘ encode is the identity.
pub fn connect_request(data: &[u8]) {
    // As a whole frame, and as a bare payload.
    let mut buf = BytesMut::from(data);
    if let Ok(Some(frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let _ = ConnectRequest::read(&mut frame.clone());
    }
    if let Ok(request) = ConnectRequest::read(&mut Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        request.write(&mut out);
        let again = ConnectRequest::read(&mut out.freeze()).expect("re-encoded decodes");
        assert_eq!(again, request);
    }
}

/// A transaction payload as the log hands it to recovery (first 8 bytes: the zxid).
pub fn txn_codec(data: &[u8]) {
    let (zxid, payload) = match data.split_first_chunk::<8>() {
        Some((zxid, rest)) => (i64::from_be_bytes(*zxid), rest),
        None => (1, data),
    };
    let _ = ferrokeeper::persist::txn_codec::decode(zxid, Bytes::copy_from_slice(payload));
}

/// A snapshot body as the loader reads it.
pub fn snapshot_read(data: &[u8]) {
    let sessions = ferrokeeper::state_machine::SessionTable::default();
    let _ = ferrokeeper::persist::snapshot::read(&mut &data[..], &sessions, 0);
}

/// zoo.cfg text, read as the server reads a config file (through a temp file).
pub fn zoo_cfg(data: &[u8]) {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir().join(format!(
            "ferrokeeper-fuzz-zoo-{}-{:?}.cfg",
            std::process::id(),
            std::thread::current().id()
        ));
    }
    PATH.with(|path| {
        std::fs::write(path, data).expect("write temp zoo.cfg");
        let _ = ferrokeeper::Config::from_file(path);
    });
}

use std::collections::{BTreeMap, BTreeSet};

use ferrokeeper::auth::AuthIds;
use ferrokeeper::pipeline::pending::Pending;
use ferrokeeper::pipeline::prep::PrepContext;
use ferrokeeper::state_machine::apply::Applier;
use ferrokeeper::state_machine::tree::{DataTree, NodeKind};
use ferrokeeper::state_machine::SessionTable;
use ferrokeeper::state_machine::{Txn, TxnOp};
use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
use ferrokeeper_protocol::records::{
    Acl, CheckVersionRequest, DeleteRequest, PathRequest, SetAclRequest, SetDataRequest,
};
use ferrokeeper_protocol::Perms;

/// Reads the input a byte at a time (zeros once it runs out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A path up to three levels deep over names a, b, c — or, rarely, raw bytes.
    fn path(&mut self) -> String {
        let shape = self.byte();
        if shape == 0xff {
            let len = self.byte() % 8;
            return (0..len).map(|_| self.byte() as char).collect();
        }
        let depth = 1 + shape % 3;
        (0..depth)
            .map(|_| ["/a", "/b", "/c", "/a-"][(self.byte() % 4) as usize])
            .collect()
    }

    fn version(&mut self) -> i32 {
        match self.byte() % 4 {
            0 | 1 => -1,
            _ => (self.byte() % 4) as i32,
        }
    }

    fn data(&mut self) -> Option<Bytes> {
        match self.byte() % 4 {
            0 => None,
            n => Some(Bytes::from(vec![b'x'; n as usize])),
        }
    }

    fn create(&mut self) -> CreateOp {
        let op = [
            OpCode::Create,
            OpCode::Create2,
            OpCode::CreateContainer,
            OpCode::CreateTtl,
        ][(self.byte() % 4) as usize];
        CreateOp {
            op,
            path: self.path(),
            data: self.data(),
            acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
            // All modes, and a few invalid ones.
            flags: (self.byte() % 8) as i32,
            ttl: [-1, 0, 1, 1000][(self.byte() % 4) as usize],
        }
    }

    fn multi_op(&mut self) -> MultiOp {
        match self.byte() % 4 {
            0 => MultiOp::Create(self.create()),
            1 => MultiOp::Delete(DeleteRequest {
                path: self.path(),
                version: self.version(),
            }),
            2 => MultiOp::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            _ => MultiOp::Check(CheckVersionRequest {
                path: self.path(),
                version: self.version(),
            }),
        }
    }

    fn request(&mut self) -> Request {
        match self.byte() % 7 {
            0 | 1 => Request::Create(self.create()),
            2 => Request::Delete(DeleteRequest {
                path: self.path(),
                version: self.version(),
            }),
            3 => Request::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            4 => Request::SetAcl(SetAclRequest {
                path: self.path(),
                acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
                version: self.version(),
            }),
            5 => Request::DeleteContainer(PathRequest { path: self.path() }),
            _ => {
                let n = self.byte() % 5;
                Request::Multi((0..n).map(|_| self.multi_op()).collect())
            }
        }
    }
}

/// Sessions the requests come from (0 is the server itself).
const SESSIONS: [i64; 3] = [0x100, 0x200, 0x300];

fn check_invariants(tree: &DataTree, step: usize) {
    let mut nodes = BTreeMap::new();
    tree.walk(|path, node| {
        nodes.insert(path.to_owned(), node.clone());
    });
    let mut ephemerals: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (path, node) in &nodes {
        let stat = node.stat();
        // numChildren is the number of children, each of which exists.
        assert_eq!(
            stat.num_children as usize,
            node.children.len(),
            "{path} at step {step}"
        );
        for child in node.children.keys() {
            let child_path = if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            };
            assert!(
                nodes.contains_key(&child_path),
                "{child_path} listed but missing, step {step}"
            );
        }
        // Every node but the root is listed by its parent.
        if path != "/" {
            let (parent, name) = path.rsplit_once('/').unwrap();
            let parent = if parent.is_empty() { "/" } else { parent };
            let listed = nodes
                .get(parent)
                .is_some_and(|p| p.children.contains_key(name));
            assert!(
                listed,
                "{path} not listed by its parent {parent}, step {step}"
            );
        }
        // The internal counter counts child creates; the visible cversion counts
        // creates and deletes: 2 * creates - present, never below what is present.
        // (The built-in /zookeeper subtree was never "created": the root starts one
        // short, as ZooKeeper's root shows cversion -1.)
        let internal = node.stat.cversion;
        let builtin = match path.as_str() {
            "/" => 1,
            p if p.starts_with("/zookeeper") => stat.num_children,
            _ => 0,
        };
        assert_eq!(
            stat.cversion,
            internal.wrapping_mul(2).wrapping_sub(stat.num_children)
        );
        assert!(
            internal + builtin >= stat.num_children,
            "{path}: cversion {internal} < children, step {step}"
        );
        if let NodeKind::Ephemeral(owner) = node.kind() {
            assert!(node.children.is_empty(), "ephemeral {path} has children");
            ephemerals.entry(owner).or_default().insert(path.clone());
        }
    }
    // The ephemeral index lists exactly the ephemeral nodes, by owner.
    let indexed: BTreeMap<i64, BTreeSet<String>> = tree
        .all_ephemerals()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(session, paths)| (session, paths.clone()))
        .collect();
    assert_eq!(indexed, ephemerals, "ephemeral index at step {step}");
}

/// Batches of writes prepared and applied in process; the tree's invariants are
/// checked after each batch.
pub fn state_machine(data: &[u8]) {
    let mut input = Input(data);
    let mut tree = DataTree::new();
    let sessions = SessionTable::default();
    let auth = AuthIds::default();
    let mut zxid = 0;
    let mut step = 0;
    while !input.is_empty() && step < 64 {
        // A batch: prepared against the tree plus what it already changed, then applied.
        let batch = 1 + input.byte() % 4;
        let mut pending = Pending::default();
        let mut txns = Vec::new();
        for _ in 0..batch {
            zxid += 1;
            let session_id = SESSIONS[(input.byte() % 3) as usize];
            let mut cx = PrepContext {
                tree: &tree,
                pending: &mut pending,
                zxid,
                session_id,
                auth: &auth,
                extended_types: true,
            };
            let op = if input.byte() % 16 == 0 {
                cx.close_session(session_id)
            } else {
                cx.prepare(&input.request())
            };
            txns.push(Txn {
                zxid,
                time: zxid,
                session_id,
                op,
            });
        }
        let mut applier = Applier {
            tree: &mut tree,
            sessions: &sessions,
            events: Vec::new(),
        };
        for txn in &txns {
            applier.apply(txn);
            assert!(
                !matches!(txn.op, TxnOp::CreateSession { .. }),
                "requests never create sessions"
            );
        }
        step += 1;
        check_invariants(&tree, step);
    }
}

/// Apache ZooKeeper's files as a takeover reads them; the first byte picks what the
/// rest is: a snapshot, a log file, or bare transactions (each a 2-byte length, then
/// TxnHeader and record), framed here into a log with valid checksums and consecutive
/// zxids so that they get past the framing to the converter and the state machine.
/// Garbage in must give an error, never a panic.
pub fn zookeeper_files(data: &[u8]) {
    use ferrokeeper::persist::zookeeper;
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let sessions = SessionTable::default();
    let mut tree = DataTree::new();
    let _ = match kind % 3 {
        0 => zookeeper::load_snapshot_bytes(Bytes::copy_from_slice(rest)).map(|_| 0),
        1 => zookeeper::replay_log_bytes(Bytes::copy_from_slice(rest), &mut tree, &sessions),
        _ => zookeeper::replay_log_bytes(zookeeper_log_of(rest), &mut tree, &sessions),
    };
}

/// A ZooKeeper log file holding `txns`, renumbered from zxid 1.
fn zookeeper_log_of(mut txns: &[u8]) -> Bytes {
    use bytes::BufMut;
    let mut log = BytesMut::new();
    // FileHeader: "ZKLG", version 2, dbid 0.
    log.put_i32(0x5a4b_4c47);
    log.put_i32(2);
    log.put_i64(0);
    let mut zxid = 1i64;
    while let Some((len, rest)) = txns.split_first_chunk::<2>() {
        let len = (u16::from_be_bytes(*len) as usize).min(rest.len());
        let mut txn = rest[..len].to_vec();
        txns = &rest[len..];
        // TxnHeader: clientId (8 bytes), cxid (4), zxid (8), time, type.
        if txn.len() < 20 {
            txn.resize(20, 0);
        }
        txn[12..20].copy_from_slice(&zxid.to_be_bytes());
        zxid += 1;
        log.put_i64(i64::from(adler2::adler32_slice(&txn)));
        log.put_i32(txn.len() as i32);
        log.put_slice(&txn);
        log.put_u8(b'B');
    }
    log.freeze()
}
