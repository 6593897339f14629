//! The znode tree: nodes in an arena, each holding its children by name, so a path's
//! components are stored once under their parent rather than as repeated full paths.
//! Indexes of ephemeral, container and TTL nodes make session close and reaping cheap.
//!
//! Only [`super::apply`] mutates the tree; these methods assume
//! the caller validated the change (they still refuse impossible ones without panicking).

pub mod node;
pub mod path;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use ferrokeeper_protocol::records::{Acl, Stat};
use ferrokeeper_protocol::{ErrorCode, Perms};

pub use node::{AclList, Node, NodeKind, PersistedStat};

pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

const ROOT: u32 = 0;

pub struct DataTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    node_count: usize,
    data_size: u64,
    acl_cache: FastMap<Vec<Acl>, AclList>,
    ephemerals: FastMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A tree with ZooKeeper's built-in nodes: /, /zookeeper, /zookeeper/quota and
    /// /zookeeper/config, all with zeroed stats and empty (not null) data as ZooKeeper
    /// creates them — except that ZooKeeper sets the config node's ACL with version -1,
    /// which leaves its aversion at -1.
    pub fn new() -> Self {
        let mut tree = DataTree {
            nodes: Vec::new(),
            free: Vec::new(),
            node_count: 0,
            data_size: 0,
            acl_cache: FastMap::default(),
            ephemerals: FastMap::default(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            last_zxid: 0,
        };
        let open = tree.intern_acl(vec![Acl::new(Perms::ALL, "world", "anyone")]);
        let read_only = tree.intern_acl(vec![Acl::new(Perms::READ, "world", "anyone")]);
        let builtin = |acl: AclList, aversion: i32| Node {
            data: Some(Bytes::new()),
            acl,
            stat: PersistedStat {
                aversion,
                ..PersistedStat::default()
            },
            children: FastMap::default(),
        };
        tree.alloc(builtin(open.clone(), 0));
        // ZooKeeper attaches these without counting them as child creations.
        for (parent, name, acl, aversion) in [
            (ROOT, "zookeeper", open.clone(), 0),
            (1, "quota", open, 0),
            (1, "config", read_only, -1),
        ] {
            let id = tree.alloc(builtin(acl, aversion));
            tree.nodes[parent as usize].children.insert(name.into(), id);
        }
        tree
    }

    fn alloc(&mut self, node: Node) -> u32 {
        self.node_count += 1;
        self.data_size += node.data_len() as u64;
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Shares one allocation between nodes with equal ACL lists.
    pub fn intern_acl(&mut self, acl: Vec<Acl>) -> AclList {
        if let Some(shared) = self.acl_cache.get(&acl) {
            return shared.clone();
        }
        let shared: AclList = Arc::from(acl.clone());
        self.acl_cache.insert(acl, shared.clone());
        shared
    }

    fn release_acl(&mut self, acl: AclList) {
        // Two holders left: the cache and `acl` itself.
        if Arc::strong_count(&acl) == 2 {
            self.acl_cache.remove(&acl[..]);
        }
    }

    fn lookup(&self, path: &str) -> Option<u32> {
        if path == "/" || path.is_empty() {
            // ZooKeeper files the root under both "" and "/".
            return Some(ROOT);
        }
        let rest = path.strip_prefix('/')?;
        let mut id = ROOT;
        for name in rest.split('/') {
            id = *self.nodes[id as usize].children.get(name)?;
        }
        Some(id)
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.lookup(path).map(|id| &self.nodes[id as usize])
    }

    fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.lookup(path).map(|id| &mut self.nodes[id as usize])
    }

    /// Adds a node. `parent_cversion` is the parent's new child-creation counter,
    /// decided when the transaction was prepared.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: AclList,
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
    ) -> Result<Stat, ErrorCode> {
        let (parent_path, name) = path::split_parent(path).ok_or(ErrorCode::NoNode)?;
        let parent_id = self.lookup(parent_path).ok_or(ErrorCode::NoNode)?;
        if name.is_empty() || self.nodes[parent_id as usize].children.contains_key(name) {
            return Err(ErrorCode::NodeExists);
        }
        let id = self.alloc(Node {
            data,
            acl,
            stat: PersistedStat {
                czxid: zxid,
                mzxid: zxid,
                pzxid: zxid,
                ctime: time,
                mtime: time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner,
            },
            children: FastMap::default(),
        });
        let parent = &mut self.nodes[parent_id as usize];
        parent.children.insert(name.into(), id);
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = zxid;
        self.index(path, ephemeral_owner);
        Ok(self.nodes[id as usize].stat())
    }

    /// What a create or delete does to its parent, for a transaction replayed over a
    /// fuzzy snapshot that already holds (or already lacks) the child: the parent's
    /// counters move forward, never back.
    pub fn replay_child_change(&mut self, path: &str, parent_cversion: Option<i32>, zxid: i64) {
        let Some((parent_path, _)) = path::split_parent(path) else {
            return;
        };
        if let Some(parent) = self.get_mut(parent_path) {
            if let Some(cversion) = parent_cversion {
                // Forward in the counter's own order, which wraps past i32::MAX.
                if cversion.wrapping_sub(parent.stat.cversion) > 0 {
                    parent.stat.cversion = cversion;
                }
            }
            parent.stat.pzxid = parent.stat.pzxid.max(zxid);
        }
    }

    /// Removes a childless node; returns its last ACL (watchers need it to be told).
    pub fn delete(&mut self, path: &str, zxid: i64) -> Result<AclList, ErrorCode> {
        let (parent_path, name) = path::split_parent(path).ok_or(ErrorCode::NoNode)?;
        let parent_id = self.lookup(parent_path).ok_or(ErrorCode::NoNode)?;
        let id = *self.nodes[parent_id as usize]
            .children
            .get(name)
            .ok_or(ErrorCode::NoNode)?;
        if !self.nodes[id as usize].children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        let parent = &mut self.nodes[parent_id as usize];
        parent.children.remove(name);
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        let node = std::mem::replace(
            &mut self.nodes[id as usize],
            Node {
                data: None,
                acl: Arc::from(Vec::new()),
                stat: PersistedStat::default(),
                children: FastMap::default(),
            },
        );
        self.free.push(id);
        self.node_count -= 1;
        self.data_size -= node.data_len() as u64;
        match node.kind() {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(session) => {
                if let Some(paths) = self.ephemerals.get_mut(&session) {
                    paths.remove(path);
                    if paths.is_empty() {
                        self.ephemerals.remove(&session);
                    }
                }
            }
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl(_) => {
                self.ttls.remove(path);
            }
        }
        let acl = node.acl.clone();
        self.release_acl(node.acl);
        Ok(acl)
    }

    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        version: i32,
        zxid: i64,
        time: i64,
    ) -> Result<Stat, ErrorCode> {
        let node = self.get_mut(path).ok_or(ErrorCode::NoNode)?;
        let old_len = node.data_len() as u64;
        node.data = data;
        node.stat.version = version;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        let (stat, new_len) = (node.stat(), node.data_len() as u64);
        self.data_size = self.data_size - old_len + new_len;
        Ok(stat)
    }

    pub fn set_acl(&mut self, path: &str, acl: AclList, aversion: i32) -> Result<Stat, ErrorCode> {
        let node = self.get_mut(path).ok_or(ErrorCode::NoNode)?;
        let old = std::mem::replace(&mut node.acl, acl);
        node.stat.aversion = aversion;
        let stat = node.stat();
        self.release_acl(old);
        Ok(stat)
    }

    /// Visits every node in preorder (parents before children) with its path.
    pub fn walk(&self, mut visit: impl FnMut(&str, &Node)) {
        let mut stack: Vec<(String, u32)> = vec![("/".to_owned(), ROOT)];
        while let Some((path, id)) = stack.pop() {
            let node = &self.nodes[id as usize];
            visit(&path, node);
            for (name, &child) in &node.children {
                stack.push((path::join(&path, name), child));
            }
        }
    }

    /// Puts a node back as a snapshot recorded it: an existing node (the root and
    /// the built-in nodes) takes the recorded fields, a new one goes under its parent,
    /// which must already be restored. Parents' stats are their own records'.
    pub fn restore(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: Vec<Acl>,
        stat: PersistedStat,
    ) -> Result<(), ErrorCode> {
        let acl = self.intern_acl(acl);
        if let Some(id) = self.lookup(path) {
            let node = &mut self.nodes[id as usize];
            self.data_size = self.data_size - node.data_len() as u64
                + data.as_ref().map_or(0, |d| d.len() as u64);
            node.data = data;
            node.acl = acl;
            node.stat = stat;
            return Ok(());
        }
        let (parent_path, name) = path::split_parent(path).ok_or(ErrorCode::BadArguments)?;
        let parent_id = self.lookup(parent_path).ok_or(ErrorCode::NoNode)?;
        if name.is_empty() {
            return Err(ErrorCode::BadArguments);
        }
        let id = self.alloc(Node {
            data,
            acl,
            stat,
            children: FastMap::default(),
        });
        self.nodes[parent_id as usize]
            .children
            .insert(name.into(), id);
        self.index(path, stat.ephemeral_owner);
        Ok(())
    }

    /// Files a new node under the ephemeral, container or TTL index its owner names.
    fn index(&mut self, path: &str, ephemeral_owner: i64) {
        match NodeKind::from_owner(ephemeral_owner) {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(session) => {
                self.ephemerals
                    .entry(session)
                    .or_default()
                    .insert(path.to_owned());
            }
            NodeKind::Container => {
                self.containers.insert(path.to_owned());
            }
            NodeKind::Ttl(_) => {
                self.ttls.insert(path.to_owned());
            }
        }
    }

    /// Child names of a node, in no particular order (as ZooKeeper).
    pub fn children(&self, node: &Node) -> Vec<String> {
        node.children.keys().map(|name| name.to_string()).collect()
    }

    /// Number of descendants of `path`, not counting `path` itself.
    pub fn descendant_count(&self, path: &str) -> Option<usize> {
        let mut stack = vec![self.lookup(path)?];
        let mut count = 0;
        while let Some(id) = stack.pop() {
            let children = &self.nodes[id as usize].children;
            count += children.len();
            stack.extend(children.values().copied());
        }
        Some(count)
    }

    /// Ephemeral paths owned by `session`.
    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every ephemeral path, by owner.
    pub fn all_ephemerals(&self) -> impl Iterator<Item = (i64, &BTreeSet<String>)> {
        self.ephemerals.iter().map(|(s, p)| (*s, p))
    }

    pub fn containers(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(String::as_str)
    }

    pub fn ttl_nodes(&self) -> impl Iterator<Item = &str> {
        self.ttls.iter().map(String::as_str)
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    pub fn set_last_zxid(&mut self, zxid: i64) {
        self.last_zxid = zxid;
    }

    pub fn node_count(&self) -> usize {
        self.node_count
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// Sum of data lengths, ZooKeeper's approximate data size minus path lengths.
    pub fn data_size(&self) -> u64 {
        self.data_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(tree: &mut DataTree) -> AclList {
        tree.intern_acl(vec![Acl::new(Perms::ALL, "world", "anyone")])
    }

    #[test]
    fn builtin_nodes_have_zookeeper_stats() {
        let tree = DataTree::new();
        let root = tree.get("/").unwrap().stat();
        assert_eq!((root.num_children, root.cversion), (1, -1));
        let zk = tree.get("/zookeeper").unwrap().stat();
        assert_eq!((zk.num_children, zk.cversion), (2, -2));
        let config = tree.get("/zookeeper/config").unwrap();
        assert_eq!(config.stat().aversion, -1);
        assert_eq!(config.data.as_deref(), Some(&b""[..]));
        assert_eq!(tree.node_count(), 4);
        assert_eq!(tree.descendant_count("/"), Some(3));
    }

    #[test]
    fn create_and_delete_update_parent_and_indexes() {
        let mut tree = DataTree::new();
        let acl = open(&mut tree);
        tree.create("/a", None, acl.clone(), 0, 1, 5, 100).unwrap();
        let stat = tree
            .create("/a/e", Some(Bytes::from_static(b"x")), acl, 42, 1, 6, 101)
            .unwrap();
        assert_eq!(stat.ephemeral_owner, 42);
        assert_eq!(stat.data_length, 1);
        assert_eq!(tree.ephemerals_of(42).collect::<Vec<_>>(), vec!["/a/e"]);
        assert_eq!(tree.delete("/a", 7), Err(ErrorCode::NotEmpty));
        tree.delete("/a/e", 7).unwrap();
        let a = tree.get("/a").unwrap().stat();
        assert_eq!((a.pzxid, a.cversion, a.num_children), (7, 2, 0));
        assert_eq!(tree.ephemerals_of(42).count(), 0);
        assert_eq!(tree.data_size(), 0);
    }

    /// A replayed create moves the parent's child counter forward only, and forward
    /// past i32::MAX is i32::MIN (the counter wraps, as the sequential names do).
    #[test]
    fn replayed_child_counters_move_forward_through_the_wrap() {
        let mut tree = DataTree::new();
        let acl = open(&mut tree);
        tree.create("/p", None, acl.clone(), 0, 1, 1, 100).unwrap();
        tree.create("/p/a", None, acl, 0, 5, 2, 100).unwrap();
        let counter = |tree: &DataTree| tree.get("/p").unwrap().stat.cversion;
        tree.replay_child_change("/p/b", Some(3), 3);
        assert_eq!(counter(&tree), 5, "an older counter is ignored");
        tree.replay_child_change("/p/b", Some(i32::MAX), 4);
        assert_eq!(counter(&tree), i32::MAX);
        tree.replay_child_change("/p/c", Some(i32::MIN), 5);
        assert_eq!(counter(&tree), i32::MIN, "past i32::MAX");
        tree.replay_child_change("/p/b", Some(i32::MAX), 4);
        assert_eq!(counter(&tree), i32::MIN, "i32::MAX is behind i32::MIN");
    }
}
