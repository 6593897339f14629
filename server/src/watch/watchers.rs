//! The watchers of one path. Most watched paths have a single watcher, kept inline:
//! a map per path cost about 100 bytes more per watch, a third of what a million
//! watches took.

use super::table::WatchMode;
use super::WatcherId;
use crate::state_machine::tree::FastMap;

#[derive(Debug)]
pub enum Watchers {
    One(WatcherId, WatchMode),
    /// Two or more (or none, once the last one is removed: the table then drops it).
    Many(FastMap<WatcherId, WatchMode>),
}

impl Default for Watchers {
    fn default() -> Self {
        Watchers::Many(FastMap::default())
    }
}

impl Watchers {
    pub fn get(&self, watcher: WatcherId) -> Option<WatchMode> {
        match self {
            Watchers::One(w, mode) => (*w == watcher).then_some(*mode),
            Watchers::Many(map) => map.get(&watcher).copied(),
        }
    }

    /// Sets `watcher`'s mode; returns the one it replaced.
    pub fn insert(&mut self, watcher: WatcherId, mode: WatchMode) -> Option<WatchMode> {
        match self {
            Watchers::One(w, old) if *w == watcher => Some(std::mem::replace(old, mode)),
            Watchers::One(w, old) => {
                let map = FastMap::from_iter([(*w, *old), (watcher, mode)]);
                *self = Watchers::Many(map);
                None
            }
            Watchers::Many(map) if map.is_empty() => {
                *self = Watchers::One(watcher, mode);
                None
            }
            Watchers::Many(map) => map.insert(watcher, mode),
        }
    }

    pub fn remove(&mut self, watcher: WatcherId) -> Option<WatchMode> {
        match self {
            Watchers::One(w, mode) if *w == watcher => {
                let mode = *mode;
                *self = Watchers::default();
                Some(mode)
            }
            Watchers::One(..) => None,
            Watchers::Many(map) => map.remove(&watcher),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Watchers::Many(map) if map.is_empty())
    }

    /// Each watcher with its mode.
    pub fn iter(&self) -> impl Iterator<Item = (WatcherId, WatchMode)> + '_ {
        let (one, many) = match self {
            Watchers::One(w, mode) => (Some((*w, *mode)), None),
            Watchers::Many(map) => (None, Some(map.iter().map(|(w, m)| (*w, *m)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    pub fn keys(&self) -> impl Iterator<Item = &WatcherId> {
        let (one, many) = match self {
            Watchers::One(w, _) => (Some(w), None),
            Watchers::Many(map) => (None, Some(map.keys())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_watcher_grows_to_many_and_back() {
        let mut w = Watchers::default();
        assert!(w.is_empty());
        assert_eq!(w.insert(1, WatchMode::Standard), None);
        assert!(matches!(w, Watchers::One(1, WatchMode::Standard)));
        assert_eq!(
            w.insert(1, WatchMode::Persistent),
            Some(WatchMode::Standard)
        );
        assert_eq!(w.insert(2, WatchMode::Standard), None);
        assert_eq!(w.get(1), Some(WatchMode::Persistent));
        assert_eq!(w.get(2), Some(WatchMode::Standard));
        let mut keys: Vec<_> = w.keys().copied().collect();
        keys.sort();
        assert_eq!(keys, [1, 2]);
        assert_eq!(w.remove(3), None);
        assert_eq!(w.remove(1), Some(WatchMode::Persistent));
        assert_eq!(w.remove(2), Some(WatchMode::Standard));
        assert!(w.is_empty());
        assert_eq!(w.remove(1), None);
    }
}
