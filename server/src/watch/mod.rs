//! Watch registrations (ZooKeeper's WatchManager and WatcherModeManager).
//!
//! Two tables, as in ZooKeeper: the data table (getData, exists and addWatch
//! registrations) and the child table (getChildren and addWatch PERSISTENT). A watcher
//! is a connection; registering the same path twice in one table is one watch.

mod table;
mod watchers;

use ferrokeeper_protocol::{AddWatchMode, EventType, WatcherType};

pub use table::{WatchMode, WatchTable};
pub use watchers::Watchers;

use crate::state_machine::tree::FastSet;

/// Identifies the connection that owns a watch.
pub type WatcherId = u64;

/// The watches of a gone connection still to unlink ([`WatchManager::disown`]).
pub struct GoneWatcher {
    id: WatcherId,
    data: std::collections::hash_set::IntoIter<Box<str>>,
    child: std::collections::hash_set::IntoIter<Box<str>>,
}

#[derive(Default)]
pub struct WatchManager {
    pub data: WatchTable,
    pub child: WatchTable,
}

impl WatchManager {
    pub fn add_data_watch(&mut self, path: &str, watcher: WatcherId) {
        self.data.add(path, watcher, WatchMode::Standard);
    }

    pub fn add_child_watch(&mut self, path: &str, watcher: WatcherId) {
        self.child.add(path, watcher, WatchMode::Standard);
    }

    /// addWatch: PERSISTENT goes in both tables, PERSISTENT_RECURSIVE in the data table.
    pub fn add_persistent(&mut self, path: &str, watcher: WatcherId, mode: AddWatchMode) {
        match mode {
            AddWatchMode::Persistent => {
                self.data.add(path, watcher, WatchMode::Persistent);
                self.child.add(path, watcher, WatchMode::Persistent);
            }
            AddWatchMode::PersistentRecursive => {
                self.data.add(path, watcher, WatchMode::PersistentRecursive);
            }
        }
    }

    /// Who is told about `event` on `path`. One-shot watches that fire are removed.
    /// `NodeDeleted` fires data and child watches of the node, each watcher once;
    /// the parent's `NodeChildrenChanged` is a separate call.
    pub fn trigger(&mut self, path: &str, event: EventType) -> FastSet<WatcherId> {
        match event {
            EventType::NodeDeleted => {
                let mut fired = self.data.trigger(path, event);
                fired.extend(self.child.trigger(path, event));
                fired
            }
            EventType::NodeChildrenChanged => self.child.trigger(path, event),
            _ => self.data.trigger(path, event),
        }
    }

    fn modes_for(kind: WatcherType) -> (Option<WatchMode>, Option<WatchMode>, bool) {
        // (mode in the data table, mode in the child table, any mode at all)
        match kind {
            WatcherType::Children => (None, Some(WatchMode::Standard), false),
            WatcherType::Data => (Some(WatchMode::Standard), None, false),
            WatcherType::Persistent => (
                Some(WatchMode::Persistent),
                Some(WatchMode::Persistent),
                false,
            ),
            WatcherType::PersistentRecursive => (Some(WatchMode::PersistentRecursive), None, false),
            WatcherType::Any => (None, None, true),
        }
    }

    /// checkWatches: whether this watcher has a watch of `kind` on `path`.
    pub fn contains(&self, path: &str, watcher: WatcherId, kind: WatcherType) -> bool {
        let (data, child, any) = Self::modes_for(kind);
        if any {
            return self.data.contains(path, watcher, None)
                || self.child.contains(path, watcher, None);
        }
        data.is_some_and(|m| self.data.contains(path, watcher, Some(m)))
            || child.is_some_and(|m| self.child.contains(path, watcher, Some(m)))
    }

    /// removeWatches: removes this watcher's watches of `kind` on `path`; false if none.
    pub fn remove(&mut self, path: &str, watcher: WatcherId, kind: WatcherType) -> bool {
        let (data, child, any) = Self::modes_for(kind);
        if any {
            let removed_data = self.data.remove(path, watcher, None);
            let removed_child = self.child.remove(path, watcher, None);
            return removed_data || removed_child;
        }
        let removed_data = data.is_some_and(|m| self.data.remove(path, watcher, Some(m)));
        let removed_child = child.is_some_and(|m| self.child.remove(path, watcher, Some(m)));
        removed_data || removed_child
    }

    /// Starts dropping the watches of a connection that is gone: it no longer has
    /// any as far as `wchc` and its registrations are concerned; [`Self::forget_some`]
    /// then unlinks them from their paths.
    pub fn disown(&mut self, watcher: WatcherId) -> GoneWatcher {
        GoneWatcher {
            id: watcher,
            data: self.data.take_paths(watcher).into_iter(),
            child: self.child.take_paths(watcher).into_iter(),
        }
    }

    /// Unlinks up to `batch` of a gone connection's watches; false once none are
    /// left. A client can hold a million watches: unlinked in batches, the lock is
    /// not held for all of them at once.
    pub fn forget_some(&mut self, gone: &mut GoneWatcher, batch: usize) -> bool {
        for _ in 0..batch {
            if let Some(path) = gone.data.next() {
                self.data.forget(&path, gone.id);
            } else if let Some(path) = gone.child.next() {
                self.child.forget(&path, gone.id);
            } else {
                return false;
            }
        }
        true
    }

    pub fn watch_count(&self) -> usize {
        self.data.watch_count() + self.child.watch_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_watches_fire_once() {
        let mut w = WatchManager::default();
        w.add_data_watch("/a", 1);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged).len(), 1);
        assert!(w.trigger("/a", EventType::NodeDataChanged).is_empty());
    }

    #[test]
    fn delete_fires_data_and_child_watchers_once_each() {
        let mut w = WatchManager::default();
        w.add_data_watch("/a", 1);
        w.add_child_watch("/a", 1);
        w.add_child_watch("/a", 2);
        let fired = w.trigger("/a", EventType::NodeDeleted);
        assert_eq!(fired.len(), 2);
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn recursive_watch_sees_descendants_but_not_child_events() {
        let mut w = WatchManager::default();
        w.add_persistent("/a", 7, AddWatchMode::PersistentRecursive);
        assert!(w.trigger("/a/b/c", EventType::NodeCreated).contains(&7));
        assert!(w.trigger("/a/b/c", EventType::NodeDataChanged).contains(&7));
        assert!(w.trigger("/a/b", EventType::NodeChildrenChanged).is_empty());
        assert!(w.trigger("/ab", EventType::NodeCreated).is_empty());
        assert_eq!(w.watch_count(), 1);
    }

    #[test]
    fn a_gone_watcher_is_unlinked_in_batches() {
        let mut w = WatchManager::default();
        for i in 0..5 {
            w.add_data_watch(&format!("/n{i}"), 1);
        }
        w.add_child_watch("/n0", 1);
        w.add_data_watch("/n0", 2);
        let mut gone = w.disown(1);
        // Six watches: four, then the last two.
        assert!(w.forget_some(&mut gone, 4));
        assert_eq!(w.watch_count(), 3);
        assert!(!w.forget_some(&mut gone, 4));
        assert_eq!(w.watch_count(), 1);
        assert!(w.contains("/n0", 2, WatcherType::Data));
        assert_eq!(w.data.by_watcher().count(), 1);
    }

    #[test]
    fn persistent_watch_stays_and_sees_only_its_node() {
        let mut w = WatchManager::default();
        w.add_persistent("/a", 3, AddWatchMode::Persistent);
        assert!(w.trigger("/a", EventType::NodeDataChanged).contains(&3));
        assert!(w.trigger("/a", EventType::NodeChildrenChanged).contains(&3));
        assert!(w.trigger("/a/b", EventType::NodeCreated).is_empty());
        assert!(w.contains("/a", 3, WatcherType::Persistent));
        assert!(!w.contains("/a", 3, WatcherType::Data));
        assert!(w.remove("/a", 3, WatcherType::Any));
        assert_eq!(w.watch_count(), 0);
    }
}
