//! Removing records: cutting the log's suffix after a key (a replica dropping entries
//! its leader does not have) and deleting whole segments before a key (entries a
//! snapshot already covers). Both are durable when they return and both keep the log
//! one contiguous run on disk at every step, so a crash part-way leaves a log that
//! recovery opens cleanly (holding at least what was asked to be kept).

use std::path::PathBuf;

use super::Log;
use crate::env;
use crate::error::{IoContext, Result};
use crate::zxid::Zxid;

impl Log {
    /// Removes every record with a key above `key`, pending ones included, and returns
    /// the last key kept (or `key`, if the log keeps no record: the next segment's
    /// header then continues from it). The next append may reuse the removed keys.
    ///
    /// On disk: later segments are deleted newest first and the directory fsynced,
    /// then the segment holding `key` is cut after its record and fsynced; the next
    /// batch starts a new segment. Readers stop seeing the removed records before any
    /// file changes. A failure poisons the log (reopen it: recovery sees a prefix of
    /// the old log that holds at least the kept records).
    pub fn truncate_after(&mut self, key: Zxid) -> Result<Zxid> {
        self.check_usable()?;
        self.check_indexed()?;
        if key >= self.last_zxid {
            return Ok(self.last_zxid);
        }
        if key >= self.durable_zxid {
            self.truncate_pending_after(key);
            return Ok(self.last_zxid);
        }
        self.clear_pending();
        self.seal()?;
        let plan = self.index.write().truncate_after(key);
        let last = self.index.read().last_key().unwrap_or(key);
        self.last_zxid = last;
        self.durable_zxid = last;
        let on_disk = self
            .remove_segments(&plan.removed)
            .and_then(|()| match &plan.cut {
                Some((path, len)) => env::cut_file(self.fs.as_ref(), path, *len),
                None => Ok(()),
            });
        on_disk.map_err(|e| self.poison(e))?;
        Ok(last)
    }

    /// Deletes, oldest first, the whole segments whose records all have keys at or
    /// below `key`, and fsyncs the directory; returns their paths. A segment is never
    /// cut, so records at or below `key` may remain (those sharing a segment with a
    /// later one). A failure poisons the log.
    pub fn purge_through(&mut self, key: Zxid) -> Result<Vec<PathBuf>> {
        self.check_usable()?;
        self.check_indexed()?;
        let removed = self.index.write().purge_through(key);
        if self
            .active
            .as_ref()
            .is_some_and(|seg| removed.iter().any(|p| p == seg.path()))
        {
            self.seal()?;
        }
        self.remove_segments(&removed).map_err(|e| self.poison(e))?;
        Ok(removed)
    }

    /// Drops the pending records after `key` (`key` is not below the durable key).
    fn truncate_pending_after(&mut self, key: Zxid) {
        let keep = self.pending_keys.partition_point(|k| k.0 <= key);
        match self.pending_keys.get(keep) {
            Some(&(_, start)) if keep > 0 => {
                self.pending.truncate(start);
                self.pending_keys.truncate(keep);
                self.last_zxid = self.pending_keys[keep - 1].0;
            }
            _ => {
                self.clear_pending();
                self.last_zxid = self.durable_zxid;
            }
        }
    }

    /// Deletes segment files (the active one must be sealed) and fsyncs the directory.
    fn remove_segments(&self, paths: &[PathBuf]) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        for path in paths {
            self.fs.remove_file(path).ctx("remove", path)?;
        }
        self.fs.sync_dir(&self.dir).ctx("fsync", &self.dir)
    }
}
