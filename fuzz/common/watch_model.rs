//! What the `state_machine` target's connections registered, kept independently of the
//! server's watch tables, with ZooKeeper's rules written out plainly: the tables must
//! hold exactly this after every step, and a trigger must fire exactly the watchers
//! this says.

use std::collections::{BTreeMap, BTreeSet};

use ferrokeeper::watch::{WatchManager, WatchMode, WatcherId};
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

/// (table, connection) → path → mode.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WatchModel(BTreeMap<(Table, WatcherId), BTreeMap<String, Mode>>);

impl WatchModel {
    /// A getData/exists/getChildren watch: one per (table, path, connection); it never
    /// replaces a persistent one.
    pub fn add_one_shot(&mut self, table: Table, path: &str, conn: WatcherId) {
        self.0
            .entry((table, conn))
            .or_default()
            .entry(path.to_owned())
            .or_insert(Mode::OneShot);
    }

    /// addWatch: PERSISTENT in both tables, PERSISTENT_RECURSIVE in the data table,
    /// replacing what the connection had there.
    pub fn add_persistent(&mut self, path: &str, conn: WatcherId, mode: AddWatchMode) {
        let mut set = |table, mode| {
            let paths = self.0.entry((table, conn)).or_default();
            paths.insert(path.to_owned(), mode);
        };
        match mode {
            AddWatchMode::Persistent => {
                set(Table::Data, Mode::Persistent);
                set(Table::Child, Mode::Persistent);
            }
            AddWatchMode::PersistentRecursive => set(Table::Data, Mode::Recursive),
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
        for ((table, conn), paths) in &mut self.0 {
            if !tables.contains(table) {
                continue;
            }
            paths.retain(|at, mode| {
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
        }
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
        [Table::Data, Table::Child].into_iter().any(|table| {
            self.mode(table, path, conn)
                .is_some_and(|mode| Self::matches(kind, table, mode))
        })
    }

    /// removeWatches; whether anything was removed.
    pub fn remove(&mut self, path: &str, conn: WatcherId, kind: WatcherType) -> bool {
        let mut removed = false;
        for table in [Table::Data, Table::Child] {
            if let Some(paths) = self.0.get_mut(&(table, conn)) {
                if paths
                    .get(path)
                    .is_some_and(|&mode| Self::matches(kind, table, mode))
                {
                    paths.remove(path);
                    removed = true;
                }
            }
        }
        removed
    }

    /// A connection is gone: none of its watches remain.
    pub fn forget(&mut self, conn: WatcherId) {
        self.0.retain(|(_, c), _| *c != conn);
    }

    /// The watches of one connection.
    pub fn of(&self, conn: WatcherId) -> impl Iterator<Item = (Table, &str, Mode)> {
        self.0
            .iter()
            .filter(move |((_, c), _)| *c == conn)
            .flat_map(|((table, _), paths)| {
                paths
                    .iter()
                    .map(|(path, mode)| (*table, path.as_str(), *mode))
            })
    }

    fn mode(&self, table: Table, path: &str, conn: WatcherId) -> Option<Mode> {
        self.0.get(&(table, conn))?.get(path).copied()
    }

    fn count(&self, table: Table) -> usize {
        self.0
            .iter()
            .filter(|((t, _), _)| *t == table)
            .map(|(_, paths)| paths.len())
            .sum()
    }

    /// Asserts that the server's tables hold exactly this: as many watches in each,
    /// each one the model's with the model's mode, indexed the same by path and by
    /// watcher. (Every registration the table lists is the model's and the counts
    /// agree, so neither holds one the other lacks.)
    pub fn check(&self, watches: &WatchManager, step: usize) {
        for (table, real) in [(Table::Data, &watches.data), (Table::Child, &watches.child)] {
            let count = self.count(table);
            assert_eq!(real.watch_count(), count, "{table:?} count, step {step}");
            let mut by_path = 0;
            for (path, watchers) in real.by_path() {
                for (w, mode) in watchers.iter() {
                    let mode = match mode {
                        WatchMode::Standard => Mode::OneShot,
                        WatchMode::Persistent => Mode::Persistent,
                        WatchMode::PersistentRecursive => Mode::Recursive,
                    };
                    let expected = self.mode(table, path, w);
                    assert_eq!(Some(mode), expected, "{table:?} {path} {w}, step {step}");
                    by_path += 1;
                }
            }
            assert_eq!(by_path, count, "{table:?} by path, step {step}");
            let mut by_watcher = 0;
            for (w, paths) in real.by_watcher() {
                for path in paths {
                    assert!(
                        self.mode(table, path, w).is_some(),
                        "{table:?} {path} {w} by watcher, step {step}"
                    );
                    by_watcher += 1;
                }
            }
            assert_eq!(by_watcher, count, "{table:?} by watcher, step {step}");
        }
    }
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
