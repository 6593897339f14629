//! The real file system: `std::fs` plus the few system calls it does not wrap
//! (`posix_fallocate`, `flock`, fsync of a directory). Unix only.

use std::any::Any;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::{File, FileSystem};

/// [`FileSystem`] backed by the operating system.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFileSystem;

#[derive(Debug)]
struct StdFile(fs::File);

impl File for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.0.write_at(buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: a plain system call on a descriptor we own; it reads no memory.
            let rc = unsafe {
                libc::posix_fallocate(
                    self.0.as_raw_fd(),
                    offset as libc::off_t,
                    len as libc::off_t,
                )
            };
            match rc {
                0 => return Ok(()),
                // The file system cannot reserve blocks: fall back to extending the
                // size (sparse), as ZooKeeper does.
                libc::EOPNOTSUPP | libc::EINVAL => {}
                errno => return Err(io::Error::from_raw_os_error(errno)),
            }
        }
        let end = offset + len;
        if self.size()? < end {
            self.0.set_len(end)?;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }
}

impl FileSystem for StdFileSystem {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn File>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn open(&self, path: &Path, writable: bool) -> io::Result<Box<dyn File>> {
        let file = OpenOptions::new().read(true).write(writable).open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        fs::File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // SAFETY: a plain system call on a descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The lock lives as long as the descriptor.
        Ok(Box::new(file))
    }
}
