//! The file-system environment: every byte this crate reads or writes goes through
//! [`FileSystem`] and [`File`], so tests (and the server's own tests) can swap in
//! [`fault::FaultyFileSystem`] to inject short writes, `ENOSPC` and fsync failures,
//! and count fsyncs. The production implementation is [`StdFileSystem`].
//!
//! The traits are deliberately small: positional reads and writes (no shared cursor),
//! preallocation, the two kinds of sync, and the handful of directory operations the
//! log and snapshots need.

pub mod fault;
mod std_fs;

use std::any::Any;
use std::fmt;
use std::io;
use std::path::Path;

pub use std_fs::StdFileSystem;

/// An open file. All offsets are absolute; implementations must be usable from
/// several threads (`&self` everywhere).
pub trait File: Send + Sync + fmt::Debug {
    /// Reads up to `buf.len()` bytes at `offset`; `Ok(0)` means end of file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes up to `buf.len()` bytes at `offset`; may write fewer (a short write).
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// The current length of the file in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Truncates or extends (with zeros) the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Reserves disk blocks for `[offset, offset + len)` and extends the file size to
    /// cover them (the new bytes read as zeros), so later writes there cannot fail for
    /// lack of space and `fdatasync` need not update the size.
    fn allocate(&self, offset: u64, len: u64) -> io::Result<()>;
    /// `fdatasync`: the data and the metadata needed to read it back are durable.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: everything about the file is durable.
    fn sync_all(&self) -> io::Result<()>;
}

/// Directory-level operations and the way files are opened.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates a new file for reading and writing; fails if it already exists.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn File>>;
    /// Opens an existing file, for reading and writing when `writable`.
    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn File>>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names (not paths) of the entries of a directory, in no particular order.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames a file, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive advisory lock on `path` (created if absent), held until the
    /// returned guard is dropped; fails with `WouldBlock` if another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>>;
}

/// Cuts the file at `path` to `len` bytes and fsyncs it: the cut is durable when this
/// returns.
pub fn cut_file(fs: &dyn FileSystem, path: &Path, len: u64) -> crate::Result<()> {
    use crate::error::IoContext;
    let file = fs.open(path, true).ctx("open", path)?;
    file.set_len(len).ctx("truncate", path)?;
    file.sync_all().ctx("fsync", path)
}

/// Writes all of `buf` at `offset`, retrying short writes; a write that makes no
/// progress is an error (`WriteZero`), as are interrupted writes after retries.
pub fn write_all_at(file: &dyn File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write made no progress",
                ))
            }
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads the whole file into memory.
pub fn read_to_end(file: &dyn File) -> io::Result<Vec<u8>> {
    read_prefix(file, u64::MAX)
}

/// Reads the first `limit` bytes of the file (fewer if it is shorter).
pub fn read_prefix(file: &dyn File, limit: u64) -> io::Result<Vec<u8>> {
    let len = file.size()?.min(limit);
    let mut buf = vec![0u8; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The file's length up to and including its last non-zero byte: what follows is
/// preallocated space (or zeros written as such). Reads backwards a chunk at a time,
/// so memory stays small whatever the file's size.
pub fn written_len(file: &dyn File) -> io::Result<u64> {
    const CHUNK: u64 = 1 << 20;
    let mut end = file.size()?;
    let mut buf = vec![0u8; CHUNK.min(end) as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        read_exact_at(file, chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
pub fn read_exact_at(file: &dyn File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
