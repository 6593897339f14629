//! Reading a ZooKeeper snapshot (FileSnap, SnapStream): a FileHeader ("ZKSN"), the
//! sessions with their timeouts, the ACL table, every znode in preorder (the root's
//! path is ""), the end marker "/", then an Adler-32 of everything before it. What
//! follows the seal (the digest, 3.9's last processed zxid) is not needed here.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use ferrokeeper_protocol::records::persistence::{DataNodeRecord, FileHeader};
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::Perms;

use super::cursor::Cursor;
use super::files::{Compression, ZkFile};
use super::stat::persisted_stat;
use super::ImportError;
use crate::state_machine::tree::DataTree;

/// "ZKSN".
pub(super) const SNAPSHOT_MAGIC: i32 = 0x5a4b_534e;
/// ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID: world:anyone with every permission.
const OPEN_ACL_ID: i64 = -1;

/// What a ZooKeeper snapshot holds.
pub struct ZkSnapshot {
    /// At the snapshot's zxid: the log is replayed after it.
    pub tree: DataTree,
    /// (session id, timeout in ms).
    pub sessions: Vec<(i64, i32)>,
}

pub fn read(file: &ZkFile) -> Result<ZkSnapshot, ImportError> {
    parse(file, Bytes::from(read_decompressed(file)?))
}

/// Decodes the (decompressed) bytes of `file`.
pub fn parse(file: &ZkFile, bytes: Bytes) -> Result<ZkSnapshot, ImportError> {
    let mut input = Cursor::new(file, bytes);
    let header: FileHeader = input.read("file header")?;
    if header.magic != SNAPSHOT_MAGIC || header.version != 2 {
        return Err(input.corrupt_at(
            0,
            format!(
                "not a version-2 ZooKeeper snapshot (magic {:#x}, version {})",
                header.magic, header.version
            ),
        ));
    }
    let session_count: i32 = input.read("session count")?;
    let mut sessions = Vec::new();
    for _ in 0..session_count.max(0) {
        sessions.push((input.read("session id")?, input.read("session timeout")?));
    }
    let acls = read_acl_table(&mut input)?;
    let mut tree = DataTree::new();
    loop {
        let path: String = input.read("node path")?;
        if path == "/" {
            break;
        }
        let at = input.offset();
        let node: DataNodeRecord = input.read("node")?;
        let acl = match node.acl {
            OPEN_ACL_ID => vec![Acl::new(Perms::ALL, "world", "anyone")],
            id => acls.get(&id).cloned().ok_or_else(|| {
                input.corrupt_at(at, format!("node {path:?} refers to unknown ACL {id}"))
            })?,
        };
        tree.restore(&path, node.data, acl, persisted_stat(&node.stat))
            .map_err(|err| {
                input.corrupt_at(
                    at,
                    format!("node {path:?} cannot be restored ({err:?}): its parent is missing"),
                )
            })?;
    }
    check_seal(&mut input)?;
    tree.set_last_zxid(file.zxid);
    Ok(ZkSnapshot { tree, sessions })
}

/// SnapStream.checkSealIntegrity: the Adler-32 of all bytes before it, then "/".
fn check_seal(input: &mut Cursor) -> Result<(), ImportError> {
    let computed = i64::from(adler2::adler32_slice(input.consumed()));
    let at = input.offset();
    let stored: i64 = input.read("checksum (an unfinished snapshot)")?;
    let end: String = input.read("checksum end (an unfinished snapshot)")?;
    if end != "/" || stored != computed {
        return Err(input.corrupt_at(
            at,
            format!("checksum mismatch: stored {stored:#x}, computed {computed:#x}"),
        ));
    }
    Ok(())
}

fn read_decompressed(file: &ZkFile) -> Result<Vec<u8>, ImportError> {
    let raw = std::fs::read(&file.path).map_err(|source| ImportError::Io {
        path: file.path.clone(),
        source,
    })?;
    match file.compression {
        Compression::None => Ok(raw),
        Compression::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| ImportError::Corrupt {
                    path: file.path.clone(),
                    offset: 0,
                    reason: format!("gzip: {e}"),
                })?;
            Ok(out)
        }
        Compression::Snappy => Err(ImportError::Unsupported {
            path: file.path.clone(),
            what: "snappy-compressed snapshots: let ZooKeeper write an uncompressed or gz \
                   snapshot first (zookeeper.snapshot.compression.method)"
                .into(),
        }),
    }
}

/// ReferenceCountedACLCache.deserialize: a map from reference to ACL list.
fn read_acl_table(input: &mut Cursor) -> Result<HashMap<i64, Vec<Acl>>, ImportError> {
    let count: i32 = input.read("ACL table size")?;
    let mut acls = HashMap::new();
    for _ in 0..count.max(0) {
        let id: i64 = input.read("ACL reference")?;
        acls.insert(id, input.read("ACL list")?);
    }
    Ok(acls)
}
