//! `ferrokeeper snapshot dump [--data] <file>`: a snapshot, human-readable, like
//! ZooKeeper's SnapshotFormatter: the header, the sessions, every znode with its stat
//! and ACL (and, with `--data`, a preview of its data), and a summary.
//!
//! The file is verified end to end first (header, trailer, body checksum) and then
//! loaded with the same code the server recovers with ([`snapshot::read`]), so a file
//! this prints is one the server would load, and the stat shown is the one clients
//! would see (`cversion` counts deletions too; `numChildren` is counted).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ferrokeeper_storage::snapshot::verify;
use ferrokeeper_storage::SnapshotReader;

use super::format::{self, hex};
use super::{ToolError, Verdict};
use crate::persist::snapshot;
use crate::state_machine::tree::{DataTree, Node, NodeKind};
use crate::state_machine::SessionTable;

/// Bytes of data shown per node with `--data`.
pub const DATA_PREVIEW_BYTES: usize = 64;

/// Writes the listing of the snapshot at `path` to `out`; `with_data` adds previews.
pub fn dump(path: &Path, with_data: bool, out: &mut dyn Write) -> Result<Verdict, ToolError> {
    let unusable = |reason: String| ToolError::Unreadable {
        what: "snapshot",
        path: path.to_owned(),
        reason,
    };
    let info = verify(path).map_err(|e| unusable(format!("fails verification: {e}")))?;
    let sessions = SessionTable::default();
    let mut reader = SnapshotReader::open(path).map_err(|e| unusable(e.to_string()))?;
    let tree = snapshot::read(&mut reader, &sessions, crate::time::now_ms())
        .map_err(|e| unusable(e.to_string()))?;
    reader.finish().map_err(|e| unusable(e.to_string()))?;

    writeln!(out, "Ferrokeeper snapshot {}", info.path.display())?;
    writeln!(
        out,
        "  zxid {}, compression {}, {} bytes on disk, {} bytes of content, checksum OK",
        hex(info.zxid),
        if info.compressed { "zstd" } else { "none" },
        info.file_len,
        info.content_len
    )?;
    if tree.last_zxid() != info.zxid {
        writeln!(
            out,
            "  WARNING: the content says zxid {}, the header {}",
            hex(tree.last_zxid()),
            hex(info.zxid)
        )?;
    }

    let mut by_id: Vec<_> = sessions.all();
    by_id.sort_by_key(|s| s.id);
    writeln!(out, "Sessions ({}): id, timeout, ephemerals", by_id.len())?;
    for session in &by_id {
        writeln!(
            out,
            "  {}  timeout={}ms  ephemerals={}",
            hex(session.id),
            session.timeout_ms(),
            tree.ephemerals_of(session.id).count()
        )?;
    }
    let orphans: BTreeMap<i64, usize> = tree
        .all_ephemerals()
        .filter(|(owner, _)| !sessions.contains(*owner))
        .map(|(owner, paths)| (owner, paths.len()))
        .collect();
    for (owner, count) in &orphans {
        writeln!(
            out,
            "  WARNING: {count} ephemeral node(s) owned by {}, which is not a session in \
             this snapshot (a later closeSession in the log removes them)",
            hex(*owner)
        )?;
    }

    writeln!(out, "Znodes ({}):", tree.node_count())?;
    for (path, node) in nodes_in_order(&tree) {
        write_node(path, node, with_data, out)?;
    }
    writeln!(
        out,
        "-- {}, {} of data, {}, {}, last zxid {}",
        format::count(tree.node_count(), "znode"),
        format::count(tree.data_size() as usize, "byte"),
        format::count(by_id.len(), "session"),
        format::count(tree.ephemeral_count(), "ephemeral node"),
        hex(tree.last_zxid())
    )?;
    Ok(Verdict::Ok)
}

/// Every node, parents before children, siblings by name.
fn nodes_in_order(tree: &DataTree) -> impl Iterator<Item = (String, &Node)> {
    let mut paths = Vec::with_capacity(tree.node_count());
    tree.walk(|path, _| paths.push(path.to_owned()));
    paths.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    paths.into_iter().filter_map(|path| {
        let node = tree.get(&path)?;
        Some((path, node))
    })
}

fn write_node(
    path: String,
    node: &Node,
    with_data: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let stat = node.stat();
    writeln!(out, "{path}")?;
    writeln!(out, "  cZxid = {}", hex(stat.czxid))?;
    writeln!(out, "  ctime = {}", format::time(stat.ctime))?;
    writeln!(out, "  mZxid = {}", hex(stat.mzxid))?;
    writeln!(out, "  mtime = {}", format::time(stat.mtime))?;
    writeln!(out, "  pZxid = {}", hex(stat.pzxid))?;
    writeln!(out, "  cversion = {}", stat.cversion)?;
    writeln!(out, "  dataVersion = {}", stat.version)?;
    writeln!(out, "  aclVersion = {}", stat.aversion)?;
    let kind = match node.kind() {
        NodeKind::Persistent => String::new(),
        NodeKind::Ephemeral(_) => " (ephemeral)".to_owned(),
        // Clients see 0; the snapshot records the kind.
        _ => format!(" ({})", format::owner(node.stat.ephemeral_owner)),
    };
    writeln!(
        out,
        "  ephemeralOwner = {}{kind}",
        hex(stat.ephemeral_owner)
    )?;
    writeln!(out, "  dataLength = {}", stat.data_length)?;
    writeln!(out, "  numChildren = {}", stat.num_children)?;
    writeln!(out, "  acl = {}", format::acl(&node.acl))?;
    if with_data {
        writeln!(
            out,
            "  data = {}",
            format::data(node.data.as_deref(), DATA_PREVIEW_BYTES)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::snapshot::SessionRecord;
    use crate::state_machine::tree::node::TTL_OWNER_MARK;
    use bytes::Bytes;
    use ferrokeeper_protocol::records::Acl;
    use ferrokeeper_protocol::Perms;
    use ferrokeeper_storage::{SnapshotOptions, SnapshotWriter};

    /// A snapshot at zxid 5 with a container, a TTL node, an ephemeral of a session in
    /// the snapshot and one of a session that is not.
    fn write_sample(dir: &Path, zstd_level: Option<i32>) -> std::path::PathBuf {
        let mut tree = DataTree::new();
        let open = tree.intern_acl(vec![Acl::new(Perms::ALL, "world", "anyone")]);
        let bob = tree.intern_acl(vec![
            Acl::new(Perms::READ, "digest", "bob:x="),
            Acl::new(Perms::ALL, "ip", "10.0.0.1"),
        ]);
        let big = Bytes::from(vec![b'z'; 100]);
        tree.create("/c", None, open.clone(), i64::MIN, 1, 1, 1_000)
            .unwrap();
        tree.create("/c/t", Some(big), bob, TTL_OWNER_MARK | 5000, 1, 2, 2_000)
            .unwrap();
        tree.create(
            "/e",
            Some(Bytes::from_static(b"\x00hi")),
            open.clone(),
            0x11,
            2,
            3,
            3_000,
        )
        .unwrap();
        tree.create("/o", None, open, 0x22, 3, 4, 4_000).unwrap();
        tree.set_last_zxid(5);
        let sessions = [SessionRecord {
            id: 0x11,
            timeout_ms: 4000,
            password: [0; 16],
        }];
        let mut writer = SnapshotWriter::create(dir, 5, SnapshotOptions { zstd_level }).unwrap();
        snapshot::write(&tree, &sessions, &mut writer).unwrap();
        writer.finish().unwrap().path
    }

    fn listing(path: &Path, with_data: bool) -> String {
        let mut out = Vec::new();
        assert_eq!(dump(path, with_data, &mut out).unwrap(), Verdict::Ok);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lists_header_sessions_nodes_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path(), Some(3));
        let text = listing(&path, true);
        for want in [
            "  zxid 0x5, compression zstd, ",
            "Sessions (1): id, timeout, ephemerals\n  0x11  timeout=4000ms  ephemerals=1\n",
            "WARNING: 1 ephemeral node(s) owned by 0x22, which is not a session",
            "Znodes (8):\n/\n",
            "\n/c\n  cZxid = 0x1\n  ctime = 1970-01-01T00:00:01.000Z (1000)\n",
            "  ephemeralOwner = 0x0 (container)\n",
            "  ephemeralOwner = 0x0 (ttl=5000ms)\n",
            "  ephemeralOwner = 0x11 (ephemeral)\n",
            "  acl = [digest:bob:x=:r, ip:10.0.0.1:cdrwa]\n",
            "  data = 100 bytes \"zzzz",
            "zzzz\"...\n",
            "  data = 3 bytes \"\\x00hi\"\n",
            "  data = null\n",
            "-- 8 znodes, 103 bytes of data, 1 session, 2 ephemeral nodes, last zxid 0x5\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        let paths: Vec<&str> = text.lines().filter(|l| l.starts_with('/')).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/c",
                "/c/t",
                "/e",
                "/o",
                "/zookeeper",
                "/zookeeper/config",
                "/zookeeper/quota"
            ]
        );
        assert!(!listing(&path, false).contains("  data = "));
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path(), None);
        let good = std::fs::read(&path).unwrap();

        let mut flipped = good.clone();
        flipped[40] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let err = dump(&path, false, &mut Vec::new()).unwrap_err().to_string();
        assert!(
            err.contains("fails verification") && err.contains("content checksum mismatch"),
            "{err}"
        );

        std::fs::write(&path, &good[..good.len() - 10]).unwrap();
        let err = dump(&path, false, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("trailer"), "{err}");

        std::fs::write(&path, b"short").unwrap();
        let err = dump(&path, false, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("cannot read snapshot"), "{err}");
    }
}
