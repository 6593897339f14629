//! Where every durable record is: per segment, the byte offset of each record (8 bytes
//! a record) and the runs of consecutive keys, so a key or a key range maps to a file
//! region without reading anything. Built by recovery and extended after each synced
//! batch; only durable records are ever in it, so a reader never sees an unsynced one.

use std::path::{Path, PathBuf};

use crate::zxid::Zxid;

/// The records of one segment that has at least one durable record.
#[derive(Debug, Clone)]
pub(crate) struct SegmentIndex {
    path: PathBuf,
    /// `(first key, position in offsets)` of each run of consecutive keys (a new run
    /// starts where keys skip, e.g. at a new epoch).
    runs: Vec<(Zxid, usize)>,
    /// The offset of each record in the file, in key order.
    offsets: Vec<u64>,
    /// The offset just past the last record.
    end: u64,
}

impl SegmentIndex {
    pub fn new(path: PathBuf) -> Self {
        SegmentIndex {
            path,
            runs: Vec::new(),
            offsets: Vec::new(),
            end: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Records that the record `key` is at `offset` and ends at `end`. Keys must
    /// increase.
    pub fn push(&mut self, key: Zxid, offset: u64, end: u64) {
        if self.last_key() != Some(key - 1) {
            self.runs.push((key, self.offsets.len()));
        }
        self.offsets.push(offset);
        self.end = end;
    }

    pub fn first_key(&self) -> Option<Zxid> {
        self.runs.first().map(|r| r.0)
    }

    pub fn last_key(&self) -> Option<Zxid> {
        let (first, start) = self.runs.last()?;
        Some(first + (self.offsets.len() - 1 - start) as Zxid)
    }

    /// The key of the record at `pos` (< `len()`).
    pub fn key_at(&self, pos: usize) -> Zxid {
        let run = self.runs.partition_point(|r| r.1 <= pos) - 1;
        let (first, start) = self.runs[run];
        first + (pos - start) as Zxid
    }

    /// The position of the first record whose key is at least `key` (`len()` if none).
    pub fn lower_bound(&self, key: Zxid) -> usize {
        let run = self.runs.partition_point(|r| r.0 <= key);
        if run == 0 {
            return 0;
        }
        let (first, start) = self.runs[run - 1];
        let run_end = self.runs.get(run).map_or(self.offsets.len(), |r| r.1);
        let pos = start as u64 + (key - first) as u64;
        pos.min(run_end as u64) as usize
    }

    /// The byte offset where the record at `pos` starts (`pos == len()`: the end).
    pub fn offset(&self, pos: usize) -> u64 {
        self.offsets.get(pos).copied().unwrap_or(self.end)
    }

    /// Keeps the first `n` records (0 < `n`).
    pub fn keep_first(&mut self, n: usize) {
        self.end = self.offset(n);
        self.offsets.truncate(n);
        self.runs.retain(|r| r.1 < n);
    }
}

/// The index of a whole log: its segments, oldest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogIndex {
    pub segments: Vec<SegmentIndex>,
}

/// What [`LogIndex::truncate_after`] took out, for the log to do on disk.
#[derive(Debug, Default)]
pub(crate) struct SuffixCut {
    /// Segments holding only later keys, newest first.
    pub removed: Vec<PathBuf>,
    /// The segment holding the kept key, and the length to cut it to.
    pub cut: Option<(PathBuf, u64)>,
}

impl LogIndex {
    pub fn first_key(&self) -> Option<Zxid> {
        self.segments.first().and_then(SegmentIndex::first_key)
    }

    pub fn last_key(&self) -> Option<Zxid> {
        self.segments.last().and_then(SegmentIndex::last_key)
    }

    /// The segment `path` as its last one, creating its entry if it is new.
    pub fn segment_mut(&mut self, path: &Path) -> &mut SegmentIndex {
        if !matches!(self.segments.last(), Some(s) if s.path == path) {
            self.segments.push(SegmentIndex::new(path.to_owned()));
        }
        self.segments.last_mut().expect("pushed above")
    }

    /// Forgets every record after `key`.
    pub fn truncate_after(&mut self, key: Zxid) -> SuffixCut {
        let mut plan = SuffixCut::default();
        while let Some(seg) = self.segments.last_mut() {
            let keep = seg.lower_bound(key + 1);
            if keep == seg.len() {
                break;
            }
            if keep == 0 {
                let seg = self.segments.pop().expect("last_mut was Some");
                plan.removed.push(seg.path);
                continue;
            }
            seg.keep_first(keep);
            plan.cut = Some((seg.path.clone(), seg.end));
            break;
        }
        plan
    }

    /// Forgets the whole segments whose records are all at or before `key`; returns
    /// their paths, oldest first.
    pub fn purge_through(&mut self, key: Zxid) -> Vec<PathBuf> {
        let n = self
            .segments
            .partition_point(|s| s.last_key().is_some_and(|last| last <= key));
        self.segments.drain(..n).map(|s| s.path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(name: &str, keys: &[Zxid]) -> SegmentIndex {
        let mut s = SegmentIndex::new(PathBuf::from(name));
        for (i, k) in keys.iter().enumerate() {
            s.push(*k, 40 + 10 * i as u64, 50 + 10 * i as u64);
        }
        s
    }

    #[test]
    fn keys_map_to_positions_across_runs() {
        let s = segment("a", &[5, 6, 7, 0x1_0000_0000, 0x1_0000_0001]);
        assert_eq!(s.first_key(), Some(5));
        assert_eq!(s.last_key(), Some(0x1_0000_0001));
        let keys: Vec<_> = (0..s.len()).map(|p| s.key_at(p)).collect();
        assert_eq!(keys, vec![5, 6, 7, 0x1_0000_0000, 0x1_0000_0001]);
        assert_eq!(s.lower_bound(0), 0);
        assert_eq!(s.lower_bound(6), 1);
        assert_eq!(s.lower_bound(8), 3, "a key in the gap maps to the next run");
        assert_eq!(s.lower_bound(0x1_0000_0001), 4);
        assert_eq!(s.lower_bound(0x1_0000_0002), 5);
        assert_eq!(s.offset(5), 90, "past the last record is the end");
    }

    #[test]
    fn truncation_cuts_one_segment_and_removes_later_ones() {
        let mut index = LogIndex {
            segments: vec![
                segment("a", &[1, 2, 3]),
                segment("b", &[4, 5]),
                segment("c", &[6]),
            ],
        };
        let plan = index.truncate_after(2);
        assert_eq!(plan.removed, vec![PathBuf::from("c"), PathBuf::from("b")]);
        assert_eq!(plan.cut, Some((PathBuf::from("a"), 50 + 10)));
        assert_eq!(index.last_key(), Some(2));
        let plan = index.truncate_after(2);
        assert!(plan.removed.is_empty() && plan.cut.is_none());
        let plan = index.truncate_after(0);
        assert_eq!(plan.removed, vec![PathBuf::from("a")]);
        assert_eq!(index.last_key(), None);
    }

    #[test]
    fn purge_removes_only_whole_segments() {
        let mut index = LogIndex {
            segments: vec![
                segment("a", &[1, 2]),
                segment("b", &[3, 4]),
                segment("c", &[5]),
            ],
        };
        assert_eq!(index.purge_through(3), vec![PathBuf::from("a")]);
        assert_eq!(index.first_key(), Some(3));
        assert_eq!(index.purge_through(9).len(), 2);
        assert_eq!(index.first_key(), None);
    }
}
