//! An in-memory [`FileSystem`] for the storage targets: the log and snapshot code
//! runs unchanged through the crate's environment trait, without the disk (a fuzz run
//! opens a log thousands of times a second, and every open fsyncs).

use std::any::Any;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use ferrokeeper_storage::env::{File, FileSystem};

type Contents = Arc<Mutex<Vec<u8>>>;

/// Files by path. Directories are implied by the files in them; syncs do nothing;
/// locks always succeed (one process, one log).
#[derive(Debug, Default)]
pub struct MemoryFs {
    files: Mutex<BTreeMap<PathBuf, Contents>>,
}

impl MemoryFs {
    /// Creates (or replaces) a file holding `data`.
    pub fn put(&self, path: &Path, data: &[u8]) {
        self.table()
            .insert(path.to_owned(), Arc::new(Mutex::new(data.to_vec())));
    }

    /// The bytes of a file, if it exists.
    pub fn get(&self, path: &Path) -> Option<Vec<u8>> {
        self.table().get(path).map(|c| lock(c).clone())
    }

    /// Every file and its bytes.
    pub fn contents(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.table()
            .iter()
            .map(|(path, c)| (path.clone(), lock(c).clone()))
            .collect()
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<PathBuf, Contents>> {
        self.files.lock().expect("memory fs lock")
    }
}

fn lock(contents: &Contents) -> MutexGuard<'_, Vec<u8>> {
    contents.lock().expect("memory file lock")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.display().to_string())
}

#[derive(Debug)]
struct MemoryFile {
    contents: Contents,
    writable: bool,
}

impl MemoryFile {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "opened read-only",
            ))
        }
    }
}

impl File for MemoryFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = lock(&self.contents);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.check_writable()?;
        let mut data = lock(&self.contents);
        let start = offset as usize;
        if data.len() < start + buf.len() {
            data.resize(start + buf.len(), 0);
        }
        data[start..start + buf.len()].copy_from_slice(buf);
        Ok(buf.len())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(lock(&self.contents).len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        lock(&self.contents).resize(len as usize, 0);
        Ok(())
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut data = lock(&self.contents);
        let end = (offset + len) as usize;
        if data.len() < end {
            data.resize(end, 0);
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }
}

impl FileSystem for MemoryFs {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn File>> {
        let mut files = self.table();
        if files.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                path.display().to_string(),
            ));
        }
        let contents = Contents::default();
        files.insert(path.to_owned(), contents.clone());
        Ok(Box::new(MemoryFile {
            contents,
            writable: true,
        }))
    }

    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn File>> {
        let contents = self
            .table()
            .get(path)
            .cloned()
            .ok_or_else(|| not_found(path))?;
        Ok(Box::new(MemoryFile { contents, writable }))
    }

    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        Ok(self
            .table()
            .keys()
            .filter(|path| path.parent() == Some(dir))
            .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.table()
            .remove(path)
            .map(drop)
            .ok_or_else(|| not_found(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = self.table();
        let contents = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_owned(), contents);
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn lock(&self, _path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        Ok(Box::new(()))
    }
}
