//! A [`FileSystem`] wrapper that injects faults and counts syncs, for tests.
//!
//! It is public (not `cfg(test)`) so the server's tests can drive the same failures
//! through a real `Log`: a full disk (`ENOSPC` on writes and preallocation), a write
//! budget that ends in a short write, failing fsyncs, slow fsyncs. Everything is
//! controlled through the shared [`Faults`] handle while the file system is in use.

use std::any::Any;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{File, FileSystem};

/// The switches and counters shared by a [`FaultyFileSystem`] and its files.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
    file_syncs: AtomicU64,
    dir_syncs: AtomicU64,
    bytes_written: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    disk_full: bool,
    write_budget: Option<u64>,
    failing_syncs: u32,
    sync_delay: Duration,
}

fn no_space() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

impl Faults {
    /// While set, writes, preallocation and growing a file fail with `ENOSPC`.
    pub fn set_disk_full(&self, full: bool) {
        self.state.lock().disk_full = full;
    }

    /// Lets only `bytes` more bytes be written (across all files); the write that
    /// crosses the limit is cut short and the next one fails with `ENOSPC`.
    /// `None` lifts the limit.
    pub fn limit_writes(&self, bytes: Option<u64>) {
        self.state.lock().write_budget = bytes;
    }

    /// Makes the next `n` file syncs (`sync_data` or `sync_all`) fail with `EIO`.
    pub fn fail_next_syncs(&self, n: u32) {
        self.state.lock().failing_syncs = n;
    }

    /// Makes every file sync sleep this long first (a slow disk).
    pub fn set_sync_delay(&self, delay: Duration) {
        self.state.lock().sync_delay = delay;
    }

    /// File syncs that completed successfully (`sync_data` and `sync_all`).
    pub fn file_syncs(&self) -> u64 {
        self.file_syncs.load(Ordering::SeqCst)
    }

    /// Directory syncs that completed successfully.
    pub fn dir_syncs(&self) -> u64 {
        self.dir_syncs.load(Ordering::SeqCst)
    }

    /// Bytes accepted by `write_at`.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::SeqCst)
    }

    /// How much of a `len`-byte write may proceed, or the error it gets.
    fn admit_write(&self, len: usize) -> io::Result<usize> {
        let mut state = self.state.lock();
        if state.disk_full {
            return Err(no_space());
        }
        match &mut state.write_budget {
            None => Ok(len),
            Some(0) if len > 0 => Err(no_space()),
            Some(budget) => {
                let n = (*budget).min(len as u64);
                *budget -= n;
                Ok(n as usize)
            }
        }
    }

    fn admit_growth(&self) -> io::Result<()> {
        if self.state.lock().disk_full {
            return Err(no_space());
        }
        Ok(())
    }

    fn admit_sync(&self) -> io::Result<()> {
        let delay = {
            let mut state = self.state.lock();
            if state.failing_syncs > 0 {
                state.failing_syncs -= 1;
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            state.sync_delay
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        Ok(())
    }
}

/// Wraps another [`FileSystem`] (usually [`super::StdFileSystem`]) and applies
/// [`Faults`] to it.
#[derive(Debug)]
pub struct FaultyFileSystem {
    inner: Arc<dyn FileSystem>,
    faults: Arc<Faults>,
}

impl FaultyFileSystem {
    /// A faulty wrapper around `inner`, with no fault switched on.
    pub fn new(inner: Arc<dyn FileSystem>) -> Self {
        FaultyFileSystem {
            inner,
            faults: Arc::default(),
        }
    }

    /// The wrapper around the real file system, and the handle that controls it.
    pub fn std() -> (Arc<Self>, Arc<Faults>) {
        let fs = Self::new(Arc::new(super::StdFileSystem));
        let faults = fs.faults.clone();
        (Arc::new(fs), faults)
    }

    /// The shared switches and counters.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    fn wrap(&self, inner: Box<dyn File>) -> Box<dyn File> {
        Box::new(FaultyFile {
            inner,
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn File>,
    faults: Arc<Faults>,
}

impl File for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let n = self.faults.admit_write(buf.len())?;
        let written = self.inner.write_at(&buf[..n], offset)?;
        self.faults
            .bytes_written
            .fetch_add(written as u64, Ordering::SeqCst);
        Ok(written)
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if len > self.inner.size()? {
            self.faults.admit_growth()?;
        }
        self.inner.set_len(len)
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.faults.admit_growth()?;
        self.inner.allocate(offset, len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.faults.admit_sync()?;
        self.inner.sync_data()?;
        self.faults.file_syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.faults.admit_sync()?;
        self.inner.sync_all()?;
        self.faults.file_syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl FileSystem for FaultyFileSystem {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn File>> {
        Ok(self.wrap(self.inner.create_new(path)?))
    }

    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn File>> {
        Ok(self.wrap(self.inner.open(path, writable)?))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(dir)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)?;
        self.faults.dir_syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        self.inner.lock(path)
    }
}
