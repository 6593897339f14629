//! Taking over Apache ZooKeeper 3.8's files, from a data directory real ZooKeeper wrote
//! (`tests/data/zookeeper-3.8/version-2`: three snapshots, three logs with their
//! preallocated zeros cut) while kazoo ran creates, sets with versions, a sequential
//! series with a delete, ACL changes, an ephemeral of a session that stayed, one of a
//! session that closed, a multi that applied and one that failed, and a node with null
//! data — then ZooKeeper was killed.
//!
//! - the imported state is what that client left;
//! - every snapshot plus the log after it gives the same tree, so replay over a fuzzy
//!   snapshot is exact;
//! - a gzip-compressed snapshot reads as the plain one.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ferrokeeper::persist::zookeeper::{import, ZkFiles};
use ferrokeeper::state_machine::tree::{NodeKind, PersistedStat};
use ferrokeeper::state_machine::SessionTable;
use ferrokeeper_protocol::records::Acl;

fn zookeeper_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zookeeper-3.8")
}

/// A copy of ZooKeeper's directory holding only the files `keep` accepts.
fn copy_of(keep: impl Fn(&str) -> bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("version-2")).unwrap();
    for entry in std::fs::read_dir(zookeeper_dir().join("version-2")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep(&name) {
            std::fs::copy(entry.path(), dir.path().join("version-2").join(&name)).unwrap();
        }
    }
    dir
}

type Node = (Option<Bytes>, Vec<Acl>, PersistedStat);

/// Every node of the state taken over from `dir`, by path, and the sessions.
fn take_over(dir: &Path) -> (std::collections::BTreeMap<String, Node>, SessionTable) {
    let files = ZkFiles::list(dir, dir).unwrap();
    let sessions = SessionTable::default();
    let imported = import(&files, &sessions, 0).unwrap();
    let mut nodes = std::collections::BTreeMap::new();
    imported.tree.walk(|path, node| {
        nodes.insert(
            path.to_owned(),
            (node.data.clone(), node.acl.to_vec(), node.stat),
        );
    });
    (nodes, sessions)
}

fn data(nodes: &std::collections::BTreeMap<String, Node>, path: &str) -> Option<Bytes> {
    nodes
        .get(path)
        .unwrap_or_else(|| panic!("{path} missing"))
        .0
        .clone()
}

#[test]
fn zookeeper_38_files_give_the_state_the_client_left() {
    let (nodes, sessions) = take_over(&zookeeper_dir());
    assert_eq!(data(&nodes, "/app").as_deref(), Some(&b"app"[..]));
    // v0, three sets, one in a multi, twelve more.
    let config = &nodes["/app/config"];
    assert_eq!(config.0.as_deref(), Some(&b"x11"[..]));
    assert_eq!(config.2.version, 16);
    let private = &nodes["/app/private"];
    assert_eq!(private.2.aversion, 1);
    // base64(sha1("bob:secret")), base64(sha1("eve:x")).
    assert_eq!(
        private
            .1
            .iter()
            .map(|a| a.id.id.clone())
            .collect::<Vec<_>>(),
        [
            "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=",
            "eve:YiuzDE8LXYrjLY9cBMAva36B5EA="
        ]
    );
    let children: Vec<&str> = nodes
        .keys()
        .filter_map(|p| p.strip_prefix("/app/seq/"))
        .collect();
    assert_eq!(
        children,
        ["item-0000000000", "item-0000000002", "item-0000000003"]
    );
    // Four creates: the next sequential suffix is 4.
    assert_eq!(nodes["/app/seq"].2.cversion, 4);
    assert!(nodes.contains_key("/app/m1"), "the multi that applied");
    assert!(!nodes.contains_key("/app/m2"), "the multi that failed");
    assert!(
        !nodes.contains_key("/other-eph"),
        "a closed session's ephemeral"
    );
    assert_eq!(data(&nodes, "/app/null"), None, "null data stays null");
    // The session that stayed owns its ephemeral, with its timeout.
    let all = sessions.all();
    assert_eq!(all.len(), 1);
    assert_eq!(
        NodeKind::from_owner(nodes["/app/eph"].2.ephemeral_owner),
        NodeKind::Ephemeral(all[0].id)
    );
    assert_eq!(all[0].timeout_ms(), 10_000);
    // zxids as ZooKeeper numbered them: 35 transactions (the script's 34 writes, and
    // the error txn of kazoo's first try of a create under the missing /app/seq), the
    // last one creating /app/null.
    let last = nodes.values().map(|n| n.2.mzxid.max(n.2.pzxid)).max();
    assert_eq!(last, Some(35));
    assert_eq!(nodes["/app/null"].2.czxid, 35);
}

#[test]
fn every_snapshot_plus_the_log_after_it_gives_the_same_tree() {
    let (full, _) = take_over(&zookeeper_dir());
    for newest_kept in ["snapshot.c", "snapshot.0"] {
        let newest: i64 =
            i64::from_str_radix(newest_kept.trim_start_matches("snapshot."), 16).unwrap();
        let dir = copy_of(|name| match name.strip_prefix("snapshot.") {
            Some(hex) => i64::from_str_radix(hex, 16).unwrap() <= newest,
            None => true,
        });
        let (nodes, _) = take_over(dir.path());
        assert_eq!(nodes, full, "from {newest_kept} and the log");
    }
}

#[test]
fn a_gzip_compressed_snapshot_reads_as_the_plain_one() {
    let plain = copy_of(|name| name == "snapshot.1b" || name.starts_with("log."));
    let gzipped = copy_of(|name| name.starts_with("log."));
    let raw = std::fs::read(zookeeper_dir().join("version-2/snapshot.1b")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&raw).unwrap();
    std::fs::write(
        gzipped.path().join("version-2/snapshot.1b.gz"),
        encoder.finish().unwrap(),
    )
    .unwrap();
    assert_eq!(take_over(gzipped.path()).0, take_over(plain.path()).0);
}
