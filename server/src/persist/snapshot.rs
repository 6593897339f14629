//! The state machine's image in a snapshot: the zxid it starts from, the sessions,
//! then every znode in preorder, each ACL list written once where first used.
//! Jute-encoded; the storage crate frames, checksums and (optionally) compresses it.
//!
//! Snapshots are fuzzy, as in ZooKeeper: [`write_fuzzy`] walks the tree a chunk of
//! nodes at a time, letting writes apply between chunks, so the image may include
//! changes made after its zxid. Replaying the log from that zxid is still exact,
//! because transactions carry absolute values (versions, child counters) and applying
//! one that the image already reflects changes nothing (see `state_machine::apply`).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::{DecodeError, Jute};
use ferrokeeper_storage::{SnapshotInfo, SnapshotOptions, SnapshotWriter};
use parking_lot::RwLock;

use crate::state_machine::tree::path::join;
use crate::state_machine::tree::{AclList, DataTree, FastMap, PersistedStat};
use crate::state_machine::{Session, SessionTable};

const FORMAT_VERSION: i32 = 2;
/// Encoded nodes are handed to the writer in chunks of about this size.
const FLUSH_AT: usize = 256 * 1024;
/// Nodes encoded per hold of the tree's read lock by a fuzzy snapshot.
const NODES_PER_LOCK: usize = 2000;
/// An ACL reference that is followed by a new list (which takes the next index).
const NEW_ACL: i32 = -1;

/// What a snapshot holds of a session.
pub struct SessionRecord {
    pub id: i64,
    pub timeout_ms: i32,
    pub password: [u8; crate::state_machine::PASSWORD_LEN],
}

impl SessionRecord {
    pub fn of(session: &Session) -> Self {
        SessionRecord {
            id: session.id,
            timeout_ms: session.timeout_ms(),
            password: session.password,
        }
    }
}

/// A snapshot being encoded: it can stop between nodes and go on later.
struct Encoder {
    buf: BytesMut,
    /// Paths still to visit, the next last. Paths rather than node ids, so a walk
    /// resumed after writes simply skips nodes deleted in between.
    stack: Vec<String>,
    /// ACL lists already written, by address; holding the lists keeps the addresses
    /// from being reused by other lists while the walk is paused.
    acl_index: FastMap<*const Acl, i32>,
    acls: Vec<AclList>,
    /// Nodes written so far (a fuzzy walk's count is only known at its end).
    nodes: usize,
}

impl Encoder {
    fn start(zxid: i64, sessions: &[SessionRecord]) -> Self {
        let mut buf = BytesMut::with_capacity(FLUSH_AT + 4096);
        FORMAT_VERSION.write(&mut buf);
        zxid.write(&mut buf);
        (sessions.len() as i32).write(&mut buf);
        for s in sessions {
            s.id.write(&mut buf);
            s.timeout_ms.write(&mut buf);
            Some(Bytes::copy_from_slice(&s.password)).write(&mut buf);
        }
        Encoder {
            buf,
            stack: vec!["/".to_owned()],
            acl_index: FastMap::default(),
            acls: Vec::new(),
            nodes: 0,
        }
    }

    /// Encodes up to `max_nodes` nodes; true when the walk is complete.
    fn step(
        &mut self,
        tree: &DataTree,
        max_nodes: usize,
        out: &mut impl Write,
    ) -> std::io::Result<bool> {
        let mut encoded = 0;
        while encoded < max_nodes {
            let Some(path) = self.stack.pop() else {
                // No more nodes.
                false.write(&mut self.buf);
                out.write_all(&self.buf)?;
                self.buf.clear();
                return Ok(true);
            };
            let Some(node) = tree.get(&path) else {
                continue;
            };
            true.write(&mut self.buf);
            path.write(&mut self.buf);
            node.data.write(&mut self.buf);
            match self.acl_index.get(&node.acl.as_ptr()) {
                Some(index) => index.write(&mut self.buf),
                None => {
                    self.acl_index
                        .insert(node.acl.as_ptr(), self.acls.len() as i32);
                    self.acls.push(node.acl.clone());
                    NEW_ACL.write(&mut self.buf);
                    node.acl.to_vec().write(&mut self.buf);
                }
            }
            write_stat(&node.stat, &mut self.buf);
            for name in node.children.keys() {
                self.stack.push(join(&path, name));
            }
            encoded += 1;
            self.nodes += 1;
            if self.buf.len() >= FLUSH_AT {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(false)
    }
}

/// Writes an exact image of `tree` (nothing changes it meanwhile).
pub fn write(
    tree: &DataTree,
    sessions: &[SessionRecord],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut encoder = Encoder::start(tree.last_zxid(), sessions);
    while !encoder.step(tree, usize::MAX, out)? {}
    Ok(())
}

/// Writes an exact image of `tree` and `sessions` as a new snapshot file in `dir`.
pub fn save(
    tree: &DataTree,
    sessions: &SessionTable,
    dir: &Path,
    options: SnapshotOptions,
) -> ferrokeeper_storage::Result<SnapshotInfo> {
    let mut records: Vec<SessionRecord> = sessions
        .all()
        .iter()
        .map(|s| SessionRecord::of(s))
        .collect();
    records.sort_by_key(|s| s.id);
    let mut writer = SnapshotWriter::create(dir, tree.last_zxid(), options)?;
    // The writer keeps the first failed write and `finish` reports it.
    let _ = write(tree, &records, &mut writer);
    writer.finish()
}

/// Writes a fuzzy image of the tree behind `lock`, starting at `zxid` (at most the
/// zxid the tree had when the sessions were captured), releasing the lock between
/// chunks so writes and reads go on. Returns how many znodes it wrote.
pub fn write_fuzzy(
    lock: &RwLock<DataTree>,
    zxid: i64,
    sessions: &[SessionRecord],
    out: &mut impl Write,
) -> std::io::Result<usize> {
    let mut encoder = Encoder::start(zxid, sessions);
    loop {
        let tree = lock.read();
        if encoder.step(&tree, NODES_PER_LOCK, out)? {
            return Ok(encoder.nodes);
        }
    }
}

fn write_stat(s: &PersistedStat, out: &mut BytesMut) {
    for v in [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime] {
        v.write(out);
    }
    for v in [s.version, s.cversion, s.aversion] {
        v.write(out);
    }
    s.ephemeral_owner.write(out);
}

fn read_stat(input: &mut Bytes) -> Result<PersistedStat, DecodeError> {
    Ok(PersistedStat {
        czxid: i64::read(input)?,
        mzxid: i64::read(input)?,
        pzxid: i64::read(input)?,
        ctime: i64::read(input)?,
        mtime: i64::read(input)?,
        version: i32::read(input)?,
        cversion: i32::read(input)?,
        aversion: i32::read(input)?,
        ephemeral_owner: i64::read(input)?,
    })
}

/// Why a snapshot's content could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read snapshot: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed snapshot content: {0}")]
    Decode(#[from] DecodeError),
    #[error("snapshot format version {0} is not supported")]
    Version(i32),
    #[error("snapshot node {path}: {reason}")]
    Node { path: String, reason: String },
}

/// Loads a snapshot into a fresh tree and `sessions`.
pub fn read(
    input: &mut impl Read,
    sessions: &SessionTable,
    now_ms: u64,
) -> Result<DataTree, LoadError> {
    let mut raw = Vec::new();
    input.read_to_end(&mut raw)?;
    let mut input = Bytes::from(raw);
    let input = &mut input;
    let version = i32::read(input)?;
    if version != FORMAT_VERSION {
        return Err(LoadError::Version(version));
    }
    let last_zxid = i64::read(input)?;
    let session_count = i32::read(input)?;
    for _ in 0..session_count.max(0) {
        let id = i64::read(input)?;
        let timeout_ms = i32::read(input)?;
        let password = Option::<Bytes>::read(input)?.unwrap_or_default();
        let password = password[..]
            .try_into()
            .map_err(|_| DecodeError::Malformed("session password is not 16 bytes"))?;
        sessions.insert(Arc::new(Session::new(id, password, timeout_ms, now_ms)));
    }
    let mut acls: Vec<Vec<Acl>> = Vec::new();
    let mut tree = DataTree::new();
    while bool::read(input)? {
        let path = String::read(input)?;
        let data = Option::<Bytes>::read(input)?;
        let acl = match i32::read(input)? {
            NEW_ACL => {
                acls.push(Vec::<Acl>::read(input)?);
                acls[acls.len() - 1].clone()
            }
            index => usize::try_from(index)
                .ok()
                .and_then(|i| acls.get(i))
                .ok_or_else(|| LoadError::Node {
                    path: path.clone(),
                    reason: format!("refers to ACL list {index} of {}", acls.len()),
                })?
                .clone(),
        };
        let stat = read_stat(input)?;
        tree.restore(&path, data, acl, stat)
            .map_err(|err| LoadError::Node {
                path: path.clone(),
                reason: format!("cannot be restored ({err:?}): parent missing or bad path"),
            })?;
    }
    if !input.is_empty() {
        return Err(LoadError::Decode(DecodeError::Malformed(
            "bytes after the last node",
        )));
    }
    tree.set_last_zxid(last_zxid);
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokeeper_protocol::Perms;

    #[test]
    fn tree_and_sessions_survive_a_round_trip() {
        let mut tree = DataTree::new();
        let open = tree.intern_acl(vec![Acl::new(Perms::ALL, "world", "anyone")]);
        let bob = tree.intern_acl(vec![Acl::new(Perms::READ, "digest", "bob:x=")]);
        tree.create(
            "/a",
            Some(Bytes::from_static(b"data")),
            open.clone(),
            0,
            1,
            2,
            10,
        )
        .unwrap();
        tree.create("/a/eph", None, bob, 0x0100_0000_0000_0001, 1, 3, 11)
            .unwrap();
        tree.create("/c", None, open, i64::MIN, 2, 4, 12).unwrap();
        tree.set_last_zxid(4);
        let sessions = vec![SessionRecord {
            id: 0x0100_0000_0000_0001,
            timeout_ms: 6000,
            password: [9; 16],
        }];
        let mut bytes = Vec::new();
        write(&tree, &sessions, &mut bytes).unwrap();

        let table = SessionTable::default();
        let loaded = read(&mut &bytes[..], &table, 1000).unwrap();
        assert_eq!(loaded.last_zxid(), 4);
        assert_eq!(loaded.node_count(), tree.node_count());
        let mut before = Vec::new();
        tree.walk(|p, n| before.push((p.to_owned(), n.stat(), n.data.clone(), n.acl.to_vec())));
        let mut after = Vec::new();
        loaded.walk(|p, n| after.push((p.to_owned(), n.stat(), n.data.clone(), n.acl.to_vec())));
        before.sort_by(|a, b| a.0.cmp(&b.0));
        after.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(before, after);
        assert_eq!(
            loaded
                .ephemerals_of(0x0100_0000_0000_0001)
                .collect::<Vec<_>>(),
            vec!["/a/eph"]
        );
        assert_eq!(loaded.containers().collect::<Vec<_>>(), vec!["/c"]);
        let session = table.get(0x0100_0000_0000_0001).unwrap();
        assert_eq!((session.timeout_ms(), session.password), (6000, [9; 16]));
    }

    #[test]
    fn truncated_content_is_an_error() {
        let mut bytes = Vec::new();
        write(&DataTree::new(), &[], &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                read(&mut &bytes[..cut], &SessionTable::default(), 0).is_err(),
                "cut at {cut}"
            );
        }
    }

    /// Writes interleaved with a fuzzy snapshot, then recovery (image + replay of
    /// every transaction after the snapshot's zxid) gives exactly the live tree.
    #[test]
    fn fuzzy_snapshot_plus_replay_equals_the_live_tree() {
        use crate::auth::AuthIds;
        use crate::pipeline::pending::Pending;
        use crate::pipeline::prep::PrepContext;
        use crate::state_machine::apply::Applier;
        use crate::state_machine::{Txn, TxnOp};
        use ferrokeeper_protocol::multi::CreateOp;
        use ferrokeeper_protocol::records::{DeleteRequest, SetDataRequest};
        use ferrokeeper_protocol::request::Request;
        use ferrokeeper_protocol::OpCode;

        for seed in 0..30u64 {
            let mut rng = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = move |n: u64| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (rng >> 33) % n
            };
            let lock = RwLock::new(DataTree::new());
            let sessions = SessionTable::default();
            let auth = AuthIds::default();
            let mut log: Vec<Txn> = Vec::new();
            let mut zxid = 0;
            let mut write = |tree: &mut DataTree, request: Request| {
                zxid += 1;
                let mut pending = Pending::default();
                let op = PrepContext {
                    tree,
                    pending: &mut pending,
                    zxid,
                    session_id: 0,
                    auth: &auth,
                    extended_types: false,
                }
                .prepare(&request);
                let txn = Txn {
                    zxid,
                    time: zxid,
                    session_id: 0,
                    op,
                };
                Applier {
                    tree,
                    sessions: &sessions,
                    events: Vec::new(),
                }
                .apply(&txn);
                log.push(txn);
            };
            let random_request = |next: &mut dyn FnMut(u64) -> u64| {
                let path = format!("/n{}/c{}", next(4), next(4));
                let path = if next(2) == 0 {
                    path[..3].to_owned()
                } else {
                    path
                };
                match next(3) {
                    0 => Request::Create(CreateOp {
                        op: OpCode::Create,
                        path,
                        data: Some(Bytes::from(vec![b'x'; next(5) as usize])),
                        acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
                        flags: next(3) as i32 * 2 % 4,
                        ttl: -1,
                    }),
                    1 => Request::Delete(DeleteRequest { path, version: -1 }),
                    _ => Request::SetData(SetDataRequest {
                        path,
                        data: Some(Bytes::from(vec![b'y'; next(5) as usize])),
                        version: -1,
                    }),
                }
            };
            for _ in 0..40 {
                let request = random_request(&mut next);
                write(&mut lock.write(), request);
            }
            let start = lock.read().last_zxid();
            let mut image = Vec::new();
            let mut encoder = Encoder::start(start, &[]);
            loop {
                let done = encoder
                    .step(&lock.read(), 1 + next(3) as usize, &mut image)
                    .unwrap();
                if done {
                    break;
                }
                for _ in 0..next(4) {
                    let request = random_request(&mut next);
                    write(&mut lock.write(), request);
                }
            }
            for _ in 0..5 {
                let request = random_request(&mut next);
                write(&mut lock.write(), request);
            }

            let recovered_sessions = SessionTable::default();
            let mut recovered = read(&mut &image[..], &recovered_sessions, 0).unwrap();
            let mut replay = Applier {
                tree: &mut recovered,
                sessions: &recovered_sessions,
                events: Vec::new(),
            };
            for txn in log.iter().filter(|t| t.zxid > start) {
                replay.apply(txn);
            }
            let dump = |tree: &DataTree| {
                let mut nodes = Vec::new();
                tree.walk(|p, n| nodes.push((p.to_owned(), n.stat(), n.data.clone())));
                nodes.sort_by(|a, b| a.0.cmp(&b.0));
                nodes
            };
            assert_eq!(dump(&recovered), dump(&lock.read()), "seed {seed}");
            assert!(log.iter().all(|t| !matches!(t.op, TxnOp::Multi(_))));
        }
    }
}
