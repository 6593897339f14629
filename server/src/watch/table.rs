//! One watch table: path → watchers with their mode, and watcher → paths.

use ferrokeeper_protocol::EventType;

use super::watchers::Watchers;
use super::WatcherId;
use crate::state_machine::tree::path::self_and_ancestors;
use crate::state_machine::tree::{FastMap, FastSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Fires once, then is removed.
    Standard,
    /// Fires for its own path until removed.
    Persistent,
    /// Fires for its path and every descendant, except child-list changes.
    PersistentRecursive,
}

#[derive(Default)]
pub struct WatchTable {
    by_path: FastMap<Box<str>, Watchers>,
    by_watcher: FastMap<WatcherId, FastSet<Box<str>>>,
    /// Recursive registrations; while zero, triggers skip the walk up the ancestors.
    recursive: usize,
    /// Registrations (path, watcher): kept, not counted, as mntr asks for it often
    /// and a table can hold millions.
    count: usize,
}

impl WatchTable {
    pub fn add(&mut self, path: &str, watcher: WatcherId, mode: WatchMode) {
        let watchers = self.by_path.entry(path.into()).or_default();
        let previous = watchers.get(watcher);
        // A one-shot registration does not downgrade a persistent one.
        if previous.is_some() && mode == WatchMode::Standard {
            return;
        }
        watchers.insert(watcher, mode);
        if previous.is_none() {
            self.count += 1;
        }
        if previous == Some(WatchMode::PersistentRecursive) {
            self.recursive -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive += 1;
        }
        self.by_watcher
            .entry(watcher)
            .or_default()
            .insert(path.into());
    }

    /// The watchers told about `event` on `path`; fired one-shot watches are removed.
    pub fn trigger(&mut self, path: &str, event: EventType) -> FastSet<WatcherId> {
        let mut fired = FastSet::default();
        let levels = if self.recursive > 0 { usize::MAX } else { 1 };
        for (depth, at) in self_and_ancestors(path).take(levels).enumerate() {
            let Some(watchers) = self.by_path.get_mut(at) else {
                continue;
            };
            let mut spent = Vec::new();
            for (watcher, mode) in watchers.iter() {
                match mode {
                    WatchMode::PersistentRecursive if event != EventType::NodeChildrenChanged => {
                        fired.insert(watcher);
                    }
                    WatchMode::PersistentRecursive => {}
                    _ if depth == 0 => {
                        fired.insert(watcher);
                        if mode == WatchMode::Standard {
                            spent.push(watcher);
                        }
                    }
                    _ => {}
                }
            }
            for watcher in spent {
                self.unlink(at, watcher);
            }
        }
        fired
    }

    pub fn contains(&self, path: &str, watcher: WatcherId, mode: Option<WatchMode>) -> bool {
        self.by_path
            .get(path)
            .and_then(|w| w.get(watcher))
            .is_some_and(|m| mode.is_none_or(|wanted| wanted == m))
    }

    pub fn remove(&mut self, path: &str, watcher: WatcherId, mode: Option<WatchMode>) -> bool {
        if !self.contains(path, watcher, mode) {
            return false;
        }
        self.unlink(path, watcher);
        true
    }

    fn unlink(&mut self, path: &str, watcher: WatcherId) {
        self.unlink_from_path(path, watcher);
        if let Some(paths) = self.by_watcher.get_mut(&watcher) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_watcher.remove(&watcher);
            }
        }
    }

    fn unlink_from_path(&mut self, path: &str, watcher: WatcherId) {
        if let Some(watchers) = self.by_path.get_mut(path) {
            if let Some(mode) = watchers.remove(watcher) {
                self.count -= 1;
                if mode == WatchMode::PersistentRecursive {
                    self.recursive -= 1;
                }
            }
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
        }
    }

    /// Takes out the paths a gone `watcher` watches; each must then be given to
    /// [`Self::forget`]. Until it is, the path still lists the watcher (a trigger
    /// reports it and unlinks it itself).
    pub fn take_paths(&mut self, watcher: WatcherId) -> FastSet<Box<str>> {
        self.by_watcher.remove(&watcher).unwrap_or_default()
    }

    /// Unlinks a gone watcher from one path [`Self::take_paths`] returned.
    pub fn forget(&mut self, path: &str, watcher: WatcherId) {
        self.unlink_from_path(path, watcher);
    }

    pub fn watch_count(&self) -> usize {
        self.count
    }

    /// Paths watched by each watcher (wchc).
    pub fn by_watcher(&self) -> impl Iterator<Item = (WatcherId, &FastSet<Box<str>>)> {
        self.by_watcher.iter().map(|(w, p)| (*w, p))
    }

    /// Watchers of each path (wchp).
    pub fn by_path(&self) -> impl Iterator<Item = (&str, &Watchers)> {
        self.by_path.iter().map(|(p, w)| (&**p, w))
    }
}
