//! The state machine's image in a snapshot: the last applied zxid, the sessions, the
//! distinct ACL lists, then every znode in preorder. Jute-encoded; the storage crate
//! frames, checksums and (optionally) compresses it.

use std::io::{Read, Write};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::{DecodeError, Jute};

use crate::session::{Session, SessionTable};
use crate::tree::{AclList, DataTree, FastMap, PersistedStat};

const FORMAT_VERSION: i32 = 1;
/// Encoded nodes are handed to the writer in chunks of about this size.
const FLUSH_AT: usize = 256 * 1024;

/// What a snapshot holds besides the tree.
pub struct SessionRecord {
    pub id: i64,
    pub timeout_ms: i32,
    pub password: [u8; crate::session::PASSWORD_LEN],
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

/// Writes `tree` and `sessions` as of `tree.last_zxid()`.
pub fn write(
    tree: &DataTree,
    sessions: &[SessionRecord],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(FLUSH_AT + 4096);
    FORMAT_VERSION.write(&mut buf);
    tree.last_zxid().write(&mut buf);
    (sessions.len() as i32).write(&mut buf);
    for s in sessions {
        s.id.write(&mut buf);
        s.timeout_ms.write(&mut buf);
        Some(Bytes::copy_from_slice(&s.password)).write(&mut buf);
    }
    // ACL lists are shared between nodes: store each once, refer by index.
    let mut acl_index: FastMap<*const Acl, i32> = FastMap::default();
    let mut acls: Vec<AclList> = Vec::new();
    tree.walk(|_, node| {
        acl_index.entry(node.acl.as_ptr()).or_insert_with(|| {
            acls.push(node.acl.clone());
            (acls.len() - 1) as i32
        });
    });
    (acls.len() as i32).write(&mut buf);
    for acl in &acls {
        acl.to_vec().write(&mut buf);
    }
    (tree.node_count() as i64).write(&mut buf);
    let mut result = Ok(());
    tree.walk(|path, node| {
        if result.is_err() {
            return;
        }
        path.to_owned().write(&mut buf);
        node.data.write(&mut buf);
        acl_index[&node.acl.as_ptr()].write(&mut buf);
        write_stat(&node.stat, &mut buf);
        if buf.len() >= FLUSH_AT {
            result = out.write_all(&buf);
            buf.clear();
        }
    });
    result?;
    out.write_all(&buf)
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
    let acl_count = i32::read(input)?;
    let mut acls = Vec::with_capacity(acl_count.clamp(0, 1 << 16) as usize);
    for _ in 0..acl_count.max(0) {
        acls.push(Vec::<Acl>::read(input)?);
    }
    let node_count = i64::read(input)?;
    let mut tree = DataTree::new();
    for _ in 0..node_count.max(0) {
        let path = String::read(input)?;
        let data = Option::<Bytes>::read(input)?;
        let acl_ref = i32::read(input)?;
        let stat = read_stat(input)?;
        let acl = usize::try_from(acl_ref)
            .ok()
            .and_then(|i| acls.get(i))
            .ok_or_else(|| LoadError::Node {
                path: path.clone(),
                reason: format!("refers to ACL list {acl_ref} of {}", acls.len()),
            })?
            .clone();
        tree.restore(&path, data, acl, stat)
            .map_err(|err| LoadError::Node {
                path: path.clone(),
                reason: format!("cannot be restored ({err:?}): parent missing or bad path"),
            })?;
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
}
