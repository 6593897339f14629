//! The segment being appended to: create it, grow its preallocation in
//! `preAllocSize` chunks, write batches at its end, sync, and seal it (release the
//! unused preallocation and fsync) when the log rolls.
//!
//! `durable_len` only advances when [`super::Log`] says a batch is complete (written and
//! synced), so after any failure it is the length of the good prefix — the length the
//! log cuts the file back to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{segment_name, SegmentHeader};
use crate::env::{self, File, FileSystem};
use crate::error::{IoContext, Result};
use crate::zxid::Zxid;

#[derive(Debug)]
pub struct ActiveSegment {
    file: Box<dyn File>,
    path: PathBuf,
    header: SegmentHeader,
    /// Bytes written (header included); 0 until the first batch.
    len: u64,
    /// Bytes of complete, durable batches.
    durable_len: u64,
    /// The file's size, preallocation included.
    allocated: u64,
}

impl ActiveSegment {
    /// Creates `log.<first_zxid>` in `dir`. Nothing is written yet: the header goes out
    /// with the first batch, so a segment never exists durably without a record.
    pub fn create(
        fs: &Arc<dyn FileSystem>,
        dir: &Path,
        first_zxid: Zxid,
        prev_zxid: Zxid,
    ) -> Result<Self> {
        let path = dir.join(segment_name(first_zxid));
        let file = fs.create_new(&path).ctx("create", &path)?;
        Ok(ActiveSegment {
            file,
            path,
            header: SegmentHeader {
                first_zxid,
                prev_zxid,
            },
            len: 0,
            durable_len: 0,
            allocated: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of header and complete records.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no batch has been completed yet (the file holds nothing durable).
    pub fn is_new(&self) -> bool {
        self.durable_len == 0
    }

    /// Records that everything written so far is durable.
    pub fn mark_durable(&mut self) {
        self.durable_len = self.len;
    }

    /// Writes `records` (already encoded) at the end, preceded by the header if this is
    /// the first batch, growing the preallocation first if they would not fit.
    pub fn write(&mut self, records: &[u8], prealloc: u64) -> Result<()> {
        let with_header;
        let bytes = if self.len == 0 {
            with_header = [&self.header.encode()[..], records].concat();
            &with_header[..]
        } else {
            records
        };
        let end = self.len + bytes.len() as u64;
        if prealloc > 0 && end > self.allocated {
            let chunks = (end - self.allocated).div_ceil(prealloc);
            let grow = chunks * prealloc;
            self.file
                .allocate(self.allocated, grow)
                .ctx("preallocate", &self.path)?;
            self.allocated += grow;
        }
        env::write_all_at(self.file.as_ref(), bytes, self.len).ctx("write", &self.path)?;
        self.len = end;
        self.allocated = self.allocated.max(end);
        Ok(())
    }

    /// `fdatasync`.
    pub fn sync_data(&self) -> Result<()> {
        self.file.sync_data().ctx("fdatasync", &self.path)
    }

    /// Cuts the file back to its durable prefix (dropping preallocation and anything
    /// a failed batch left) and makes that durable: used to seal a segment and to undo
    /// a failed batch.
    pub fn truncate_to_durable(&mut self) -> Result<()> {
        self.file
            .set_len(self.durable_len)
            .ctx("truncate", &self.path)?;
        self.len = self.durable_len;
        self.allocated = self.durable_len;
        self.file.sync_all().ctx("fsync", &self.path)
    }
}
