//! Writing a ZooKeeper snapshot, the mirror of [`super::snapshot`], so that Apache
//! ZooKeeper can start on Ferrokeeper's state: FileSnap.serialize's FileHeader
//! ("ZKSN", version 2, dbid -1), the sessions with their timeouts, the ACL table
//! (ReferenceCountedACLCache), every znode in preorder (the root's path is ""), the end
//! marker "/", the Adler-32 seal (SnapStream.sealStream), then the empty tree digest
//! ZooKeeper 3.8 writes when it has none, sealed again. Readers without the digest
//! (3.5, or `zookeeper.digest.enabled=false`) stop at the first seal.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use ferrokeeper_protocol::records::persistence::{DataNodeRecord, FileHeader};
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::Jute;
use ferrokeeper_storage::env::{FileSystem, StdFileSystem};

use super::files::VERSION_DIR;
use super::snapshot::SNAPSHOT_MAGIC;
use super::stat::stat_persisted;
use crate::state_machine::tree::DataTree;

/// FileSnap.dbId.
const DB_ID: i64 = -1;
/// DigestCalculator.DIGEST_VERSION, which ZooKeeper 3.8 puts in its empty digest.
const DIGEST_VERSION: i32 = 2;

/// Writes `tree` and `sessions` (id, timeout in ms) as ZooKeeper's snapshot at the
/// tree's last zxid in `data_dir/version-2` (created if missing): a temp file, fsynced,
/// renamed. Returns the path and its size.
pub fn save(
    tree: &DataTree,
    sessions: &[(i64, i32)],
    data_dir: &Path,
) -> io::Result<(PathBuf, u64)> {
    let dir = data_dir.join(VERSION_DIR);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("snapshot.{:x}", tree.last_zxid()));
    // ZooKeeper lists only `snapshot.<hex>` names, so it never sees the temp file.
    let temp = dir.join(format!(".snapshot.{:x}.tmp", tree.last_zxid()));
    let file = std::fs::File::create(&temp)?;
    let mut out = io::BufWriter::new(file);
    let len = write(tree, sessions, &mut out)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    std::fs::rename(&temp, &path)?;
    StdFileSystem.sync_dir(&dir)?;
    Ok((path, len))
}

/// Encodes the snapshot to `out`; returns how many bytes it wrote.
pub fn write(tree: &DataTree, sessions: &[(i64, i32)], out: impl Write) -> io::Result<u64> {
    let mut stream = CheckedStream::new(out);
    stream.put(&FileHeader {
        magic: SNAPSHOT_MAGIC,
        version: 2,
        dbid: DB_ID,
    })?;
    stream.put(&(sessions.len() as i32))?;
    for &(id, timeout_ms) in sessions {
        stream.put(&id)?;
        stream.put(&timeout_ms)?;
    }
    let acls = AclTable::of(tree);
    stream.put(&(acls.lists.len() as i32))?;
    for (reference, list) in acls.lists.iter().enumerate() {
        stream.put(&AclTable::reference(reference))?;
        stream.put(list)?;
    }
    let mut failed = Ok(());
    tree.walk(|path, node| {
        if failed.is_err() {
            return;
        }
        let record = DataNodeRecord {
            data: node.data.clone(),
            acl: acls.reference_of(&node.acl),
            stat: stat_persisted(&node.stat),
        };
        // DataTree.serializeNode writes the root as "".
        let path = if path == "/" { "" } else { path };
        failed = stream
            .put(&path.to_owned())
            .and_then(|()| stream.put(&record));
    });
    failed?;
    stream.put(&"/".to_owned())?;
    stream.seal()?;
    // DataTree.serializeZxidDigest with no digest computed: zxid 0 means "none".
    stream.put(&0i64)?;
    stream.put(&DIGEST_VERSION)?;
    stream.put(&0i64)?;
    stream.seal()?;
    stream.out.flush()?;
    Ok(stream.written)
}

/// ReferenceCountedACLCache: every distinct ACL list once, numbered from 1 in order of
/// first use (the tree shares one allocation per distinct list).
struct AclTable {
    lists: Vec<Vec<Acl>>,
    references: HashMap<Vec<Acl>, i64>,
}

impl AclTable {
    fn of(tree: &DataTree) -> AclTable {
        let mut table = AclTable {
            lists: Vec::new(),
            references: HashMap::new(),
        };
        tree.walk(|_, node| {
            if !table.references.contains_key(&node.acl[..]) {
                let reference = Self::reference(table.lists.len());
                table.references.insert(node.acl.to_vec(), reference);
                table.lists.push(node.acl.to_vec());
            }
        });
        table
    }

    fn reference(index: usize) -> i64 {
        index as i64 + 1
    }

    fn reference_of(&self, acl: &[Acl]) -> i64 {
        self.references[acl]
    }
}

/// SnapStream's CheckedOutputStream: an Adler-32 over every byte written, seals
/// included.
struct CheckedStream<W> {
    out: W,
    checksum: adler2::Adler32,
    scratch: BytesMut,
    written: u64,
}

impl<W: Write> CheckedStream<W> {
    fn new(out: W) -> Self {
        CheckedStream {
            out,
            checksum: adler2::Adler32::new(),
            scratch: BytesMut::new(),
            written: 0,
        }
    }

    fn put(&mut self, value: &impl Jute) -> io::Result<()> {
        self.scratch.clear();
        value.write(&mut self.scratch);
        self.checksum.write_slice(&self.scratch);
        self.written += self.scratch.len() as u64;
        self.out.write_all(&self.scratch)
    }

    /// SnapStream.sealStream: the checksum so far, then "/".
    fn seal(&mut self) -> io::Result<()> {
        let sum = i64::from(self.checksum.checksum());
        self.put(&sum)?;
        self.put(&"/".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use ferrokeeper_protocol::Perms;

    use super::*;
    use crate::persist::zookeeper::files::{Compression, ZkFile};
    use crate::persist::zookeeper::snapshot;
    use crate::state_machine::tree::PersistedStat;

    type Contents = BTreeMap<String, (Option<Bytes>, Vec<Acl>, PersistedStat)>;

    fn contents(tree: &DataTree) -> Contents {
        let mut all = BTreeMap::new();
        tree.walk(|path, node| {
            all.insert(
                path.to_owned(),
                (node.data.clone(), node.acl.to_vec(), node.stat),
            );
        });
        all
    }

    fn stat(czxid: i64, owner: i64) -> PersistedStat {
        PersistedStat {
            czxid,
            mzxid: czxid + 1,
            pzxid: czxid + 2,
            ctime: 1_700_000_000_000 + czxid,
            mtime: 1_700_000_000_100 + czxid,
            version: 3,
            cversion: 4,
            aversion: 5,
            ephemeral_owner: owner,
        }
    }

    fn sample_tree() -> DataTree {
        let mut tree = DataTree::new();
        let open = vec![Acl::new(Perms::ALL, "world", "anyone")];
        let digest = vec![
            Acl::new(Perms::ALL, "digest", "bob:HSNCM5SwbAvwd6RSsrzJ8zkPw+w="),
            Acl::new(Perms::READ, "world", "anyone"),
        ];
        let hello = Some(Bytes::from_static(b"hello"));
        let nodes = [
            ("/app", hello.clone(), &open, 0),
            ("/app/secret", Some(Bytes::new()), &digest, 0),
            ("/app/null", None, &open, 0),
            ("/app/eph", hello, &digest, 0x0100_0000_0000_0007),
            ("/box", None, &open, i64::MIN),
        ];
        for (i, (path, data, acl, owner)) in nodes.into_iter().enumerate() {
            tree.restore(path, data, acl.clone(), stat(10 + i as i64, owner))
                .unwrap();
        }
        tree.set_last_zxid(0x5_0000_0020);
        tree
    }

    fn file(zxid: i64) -> ZkFile {
        ZkFile {
            zxid,
            path: PathBuf::from("(memory)"),
            compression: Compression::None,
        }
    }

    #[test]
    fn the_reader_gets_back_what_was_written() {
        let tree = sample_tree();
        let sessions = [
            (0x0100_0000_0000_0007, 30_000),
            (0x0100_0000_0000_0008, 4_000),
        ];
        let mut bytes = Vec::new();
        let len = write(&tree, &sessions, &mut bytes).unwrap();
        assert_eq!(len, bytes.len() as u64);

        let back = snapshot::parse(&file(tree.last_zxid()), Bytes::from(bytes)).unwrap();
        assert_eq!(back.sessions, sessions.to_vec());
        assert_eq!(back.tree.last_zxid(), tree.last_zxid());
        assert_eq!(contents(&back.tree), contents(&tree));
        let ephemerals: Vec<_> = back.tree.ephemerals_of(0x0100_0000_0000_0007).collect();
        assert_eq!(ephemerals, ["/app/eph"]);
        assert_eq!(back.tree.containers().collect::<Vec<_>>(), ["/box"]);
    }

    #[test]
    fn ends_as_zookeeper_3_8_ends_a_snapshot_without_a_digest() {
        let mut bytes = Vec::new();
        write(&DataTree::new(), &[], &mut bytes).unwrap();
        // ..., "/" (end of nodes), seal, then ZxidDigest(0, 2, 0) and a second seal,
        // each seal an Adler-32 of everything before it followed by "/".
        let tail = bytes.len() - (8 + 5) - (8 + 4 + 8) - (8 + 5);
        let first_seal = &bytes[tail..tail + 13];
        let sum = adler2::adler32_slice(&bytes[..tail]);
        assert_eq!(first_seal[..8], i64::from(sum).to_be_bytes());
        assert_eq!(first_seal[8..], [0, 0, 0, 1, b'/']);
        let digest = &bytes[tail + 13..tail + 33];
        assert_eq!(
            digest,
            [
                &0i64.to_be_bytes()[..],
                &2i32.to_be_bytes(),
                &0i64.to_be_bytes()
            ]
            .concat()
        );
        let end = bytes.len() - 13;
        let sum = adler2::adler32_slice(&bytes[..end]);
        assert_eq!(bytes[end..end + 8], i64::from(sum).to_be_bytes());
        assert!(bytes.starts_with(b"ZKSN\0\0\0\x02\xff\xff\xff\xff\xff\xff\xff\xff"));
    }

    #[test]
    fn saves_under_version_2_named_by_the_zxid() {
        let dir = tempfile::tempdir().unwrap();
        let tree = sample_tree();
        let (path, len) = save(&tree, &[], dir.path()).unwrap();
        assert_eq!(path, dir.path().join("version-2/snapshot.500000020"));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("version-2"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["snapshot.500000020"], "no temp file left");
    }
}
