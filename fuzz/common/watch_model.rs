//! What the `state_machine` target's connections registered, kept independently of the
//! server's watch tables, with ZooKeeper's rules written out plainly: the tables must
//! hold exactly this after every step, and a trigger must fire exactly the watchers
//! this says.

use std::collections::{BTreeMap, BTreeSet};

use ferrokeeper::watch::{WatchManager, WatchMode, WatchTable, WatcherId};
use ferrokeeper_protocol::{AddWatchMode, EventType, WatcherType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// getData, exists, addWatch.
    Data,
    /// getChildren, addWatch PERSISTENT.
    Child,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    OneShot,
    Persistent,
    Recursive,
}

/// (table, path, connection) → mode.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WatchModel(BTreeMap<(Table, String, WatcherId), Mode>);

impl WatchModel {
    /// A getData/exists/getChildren watch: one per (table, path, connection); it never
    /// replaces a persistent one.
    pub fn add_one_shot(&mut self, table: Table, path: &str, conn: WatcherId) {
        self.0
            .entry((table, path.to_owned(), conn))
            .or_insert(Mode::OneShot);
    }

    /// addWatch: PERSISTENT in both tables, PERSISTENT_RECURSIVE in the data table,
    /// replacing what the connection had there.
    pub fn add_persistent(&mut self, path: &str, conn: WatcherId, mode: AddWatchMode) {
        let key = |table| (table, path.to_owned(), conn);
        match mode {
            AddWatchMode::Persistent => {
                self.0.insert(key(Table::Data), Mode::Persistent);
                self.0.insert(key(Table::Child), Mode::Persistent);
            }
            AddWatchMode::PersistentRecursive => {
                self.0.insert(key(Table::Data), Mode::Recursive);
            }
        }
    }

    /// Who hears `event` on `path`; fired one-shot watches go.
    pub fn trigger(&mut self, path: &str, event: EventType) -> BTreeSet<WatcherId> {
        let tables = match event {
            EventType::NodeDeleted => &[Table::Data, Table::Child][..],
            EventType::NodeChildrenChanged => &[Table::Child],
            _ => &[Table::Data],
        };
        let mut fired = BTreeSet::new();
        self.0.retain(|(table, at, conn), mode| {
            if !tables.contains(table) {
                return true;
            }
            let hears = match mode {
                Mode::Recursive => {
                    event != EventType::NodeChildrenChanged && is_self_or_ancestor(at, path)
                }
                Mode::OneShot | Mode::Persistent => at == path,
            };
            if hears {
                fired.insert(*conn);
            }
            !(hears && *mode == Mode::OneShot)
        });
        fired
    }

    /// checkWatches/removeWatches: the (table, mode) pairs a watcher type names.
    fn matches(kind: WatcherType, table: Table, mode: Mode) -> bool {
        match kind {
            WatcherType::Children => (table, mode) == (Table::Child, Mode::OneShot),
            WatcherType::Data => (table, mode) == (Table::Data, Mode::OneShot),
            WatcherType::Persistent => mode == Mode::Persistent,
            WatcherType::PersistentRecursive => mode == Mode::Recursive,
            WatcherType::Any => true,
        }
    }

    pub fn contains(&self, path: &str, conn: WatcherId, kind: WatcherType) -> bool {
        self.0.iter().any(|((table, at, c), mode)| {
            at == path && *c == conn && Self::matches(kind, *table, *mode)
        })
    }

    /// removeWatches; whether anything was removed.
    pub fn remove(&mut self, path: &str, conn: WatcherId, kind: WatcherType) -> bool {
        let before = self.0.len();
        self.0.retain(|(table, at, c), mode| {
            !(at == path && *c == conn && Self::matches(kind, *table, *mode))
        });
        self.0.len() < before
    }

    /// A connection is gone: none of its watches remain.
    pub fn forget(&mut self, conn: WatcherId) {
        self.0.retain(|(_, _, c), _| *c != conn);
    }

    /// The watches of one connection.
    pub fn of(&self, conn: WatcherId) -> impl Iterator<Item = (Table, &str, Mode)> {
        self.0
            .iter()
            .filter(move |((_, _, c), _)| *c == conn)
            .map(|((table, path, _), mode)| (*table, path.as_str(), *mode))
    }

    /// Asserts that the server's tables hold exactly this, each indexed both ways
    /// (by path and by watcher) and counted right.
    pub fn check(&self, watches: &WatchManager, step: usize) {
        let mut actual = BTreeMap::new();
        for (table, real) in [(Table::Data, &watches.data), (Table::Child, &watches.child)] {
            let by_path = registrations(real);
            let by_watcher: BTreeSet<(String, WatcherId)> = real
                .by_watcher()
                .flat_map(|(w, paths)| paths.iter().map(move |p| (p.to_string(), w)))
                .collect();
            let keys: BTreeSet<(String, WatcherId)> = by_path.keys().cloned().collect();
            assert_eq!(
                keys, by_watcher,
                "{table:?} table's two indexes, step {step}"
            );
            assert_eq!(
                real.watch_count(),
                by_path.len(),
                "{table:?} count, step {step}"
            );
            for ((path, w), mode) in by_path {
                actual.insert((table, path, w), mode);
            }
        }
        assert_eq!(actual, self.0, "watch tables at step {step}");
    }
}

/// Every (path, watcher) → mode of a table, from its by-path index.
fn registrations(table: &WatchTable) -> BTreeMap<(String, WatcherId), Mode> {
    table
        .by_path()
        .flat_map(|(path, watchers)| {
            watchers.iter().map(move |(w, mode)| {
                let mode = match mode {
                    WatchMode::Standard => Mode::OneShot,
                    WatchMode::Persistent => Mode::Persistent,
                    WatchMode::PersistentRecursive => Mode::Recursive,
                };
                ((path.to_owned(), w), mode)
            })
        })
        .collect()
}

/// Whether a recursive watch on `at` covers the valid path `path`.
fn is_self_or_ancestor(at: &str, path: &str) -> bool {
    at == path
        || at == "/"
        || (!at.is_empty()
            && path
                .strip_prefix(at)
                .is_some_and(|rest| rest.starts_with('/')))
}
