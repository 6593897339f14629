//! One znode: its data, ACL, persisted stat and children (by name, under their parent).

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use ferrokeeper_protocol::frame::WriteJute;
use ferrokeeper_protocol::records::{Acl, Stat, STAT_LEN};

use super::FastMap;

/// Container nodes carry this ephemeral owner (EphemeralType.CONTAINER_EPHEMERAL_OWNER).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// TTL nodes carry `TTL_OWNER_MARK | ttl_ms` as ephemeral owner (EphemeralType.TTL).
pub const TTL_OWNER_MARK: i64 = 0xFF00_0000_0000_0000_u64 as i64;
/// The largest TTL ZooKeeper accepts, in milliseconds.
pub const MAX_TTL_MS: i64 = 0x00FF_FFFF_FFFF;

/// What kind of node an ephemeral-owner value describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl(i64),
}

impl NodeKind {
    pub fn from_owner(owner: i64) -> NodeKind {
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if owner & TTL_OWNER_MARK == TTL_OWNER_MARK && owner & 0x00FF_FF00_0000_0000 == 0 {
            NodeKind::Ttl(owner & MAX_TTL_MS)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }

    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => TTL_OWNER_MARK | ttl,
        }
    }
}

/// The stat ZooKeeper persists (StatPersisted). `cversion` here is ZooKeeper's internal
/// counter of child creations; clients see creations + deletions (see [`Node::stat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PersistedStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub pzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
}

/// ACL lists are shared between nodes that carry the same list.
pub type AclList = Arc<[Acl]>;

#[derive(Debug, Clone)]
pub struct Node {
    pub data: Option<Bytes>,
    pub acl: AclList,
    pub stat: PersistedStat,
    pub children: FastMap<Box<str>, u32>,
}

impl Node {
    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }

    pub fn data_len(&self) -> i32 {
        self.data.as_ref().map_or(0, |d| d.len() as i32)
    }

    /// The stat as clients see it (DataNode.copyStat).
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        let num_children = self.children.len() as i32;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            // Every create of a child still present has no matching delete.
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: match self.kind() {
                NodeKind::Ephemeral(session) => session,
                _ => 0,
            },
            data_length: self.data_len(),
            num_children,
            pzxid: s.pzxid,
        }
    }
}

/// A node's child names as a getChildren reply body (a jute vector of strings),
/// written straight from the tree: a million children are not first copied into a
/// million `String`s. With `with_stat`, the getChildren2 body (children, then the stat).
pub struct ChildList<'a> {
    pub node: &'a Node,
    pub with_stat: bool,
}

impl WriteJute for ChildList<'_> {
    fn write_jute(&self, out: &mut BytesMut) {
        let children = &self.node.children;
        let names: usize = children.keys().map(|name| 4 + name.len()).sum();
        out.reserve(4 + names + if self.with_stat { STAT_LEN } else { 0 });
        out.put_i32(children.len() as i32);
        for name in children.keys() {
            out.put_i32(name.len() as i32);
            out.put_slice(name.as_bytes());
        }
        if self.with_stat {
            self.node.stat().write_jute(out);
        }
    }
}

/// ZooKeeper's version bump: -1 means "any version" in requests, so it is skipped.
pub fn next_version(version: i32) -> i32 {
    match version.wrapping_add(1) {
        -1 => 0,
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokeeper_protocol::jute::Jute;
    use ferrokeeper_protocol::records::{GetChildren2Response, GetChildrenResponse};

    #[test]
    fn a_child_list_is_the_get_children_reply_body() {
        let mut node = Node {
            data: None,
            acl: Arc::from(Vec::new()),
            stat: PersistedStat {
                cversion: 2,
                ..PersistedStat::default()
            },
            children: FastMap::default(),
        };
        node.children.insert("a".into(), 1);
        node.children.insert("bé".into(), 2);
        let encode = |with_stat| {
            let mut out = BytesMut::new();
            ChildList {
                node: &node,
                with_stat,
            }
            .write_jute(&mut out);
            out.freeze()
        };
        let mut plain = GetChildrenResponse::read(&mut encode(false))
            .unwrap()
            .children;
        plain.sort();
        assert_eq!(plain, ["a", "bé"]);
        let mut body = encode(true);
        let two = GetChildren2Response::read(&mut body).unwrap();
        assert!(body.is_empty());
        assert_eq!(two.stat, node.stat());
        assert_eq!(two.children.len(), 2);
    }
}
