//! Changes prepared but not yet applied (ZooKeeper's outstandingChanges): a write is
//! validated against the tree as it will be once every earlier prepared write has been
//! applied, so validation can run ahead of logging and applying.

use crate::state_machine::tree::{AclList, DataTree, FastMap, Node, NodeKind, PersistedStat};

use crate::state_machine::txn::Zxid;

/// What preparation needs to know of a node.
#[derive(Debug, Clone)]
pub struct NodeView {
    pub stat: PersistedStat,
    pub acl: AclList,
    pub num_children: i32,
}

impl NodeView {
    pub fn of(node: &Node) -> Self {
        NodeView {
            stat: node.stat,
            acl: node.acl.clone(),
            num_children: node.children.len() as i32,
        }
    }

    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }
}

/// One prepared change to a path: its new view, or `None` once deleted.
#[derive(Debug, Clone)]
pub struct Change {
    zxid: Zxid,
    view: Option<NodeView>,
}

#[derive(Default)]
pub struct Pending {
    changes: FastMap<String, Change>,
}

impl Pending {
    /// The node at `path` as it will be after every prepared change.
    pub fn view(&self, tree: &DataTree, path: &str) -> Option<NodeView> {
        if let Some(change) = self.changes.get(path) {
            return change.view.clone();
        }
        tree.get(path).map(NodeView::of)
    }

    /// Records a change; returns what it replaced so a failed multi can undo it.
    pub fn record(&mut self, path: &str, zxid: Zxid, view: Option<NodeView>) -> Option<Change> {
        self.changes.insert(path.to_owned(), Change { zxid, view })
    }

    /// Undoes a [`Self::record`].
    pub fn restore(&mut self, path: &str, previous: Option<Change>) {
        match previous {
            Some(change) => self.changes.insert(path.to_owned(), change),
            None => self.changes.remove(path),
        };
    }

    /// Ephemerals of `session` that prepared changes created (and did not delete).
    pub fn created_ephemerals(&self, session: i64) -> impl Iterator<Item = &str> {
        self.changes.iter().filter_map(move |(path, change)| {
            let view = change.view.as_ref()?;
            (view.kind() == NodeKind::Ephemeral(session)).then_some(path.as_str())
        })
    }

    /// Whether a prepared change deleted `path`.
    pub fn is_deleted(&self, path: &str) -> bool {
        self.changes.get(path).is_some_and(|c| c.view.is_none())
    }

    /// Forgets changes that the tree now reflects.
    pub fn retire_through(&mut self, applied: Zxid) {
        self.changes.retain(|_, change| change.zxid > applied);
    }
}
