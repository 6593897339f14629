//! The write path in process: a sequence of requests (built from the input over a
//! small namespace so they collide), prepared in batches against the tree plus what
//! the batch already changed (`PrepContext` + `Pending`, as the pipeline does), then
//! applied (`Applier`) in order. After each batch the tree's invariants are checked.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use ferrokeeper::auth::AuthIds;
use ferrokeeper::pipeline::apply::Applier;
use ferrokeeper::pipeline::pending::Pending;
use ferrokeeper::pipeline::prep::PrepContext;
use ferrokeeper::pipeline::{Txn, TxnOp};
use ferrokeeper::session::SessionTable;
use ferrokeeper::tree::{DataTree, NodeKind};
use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
use ferrokeeper_protocol::records::{
    Acl, CheckVersionRequest, DeleteRequest, PathRequest, SetAclRequest, SetDataRequest,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{OpCode, Perms};
use libfuzzer_sys::fuzz_target;

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
        match node.kind() {
            NodeKind::Ephemeral(owner) => {
                assert!(node.children.is_empty(), "ephemeral {path} has children");
                ephemerals.entry(owner).or_default().insert(path.clone());
            }
            _ => {}
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

fuzz_target!(|data: &[u8]| {
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
});
