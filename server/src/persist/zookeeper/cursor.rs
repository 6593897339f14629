//! Decoding a whole ZooKeeper file held in memory, with errors that name the file and
//! the byte offset where decoding failed.

use bytes::Bytes;
use ferrokeeper_protocol::Jute;

use super::files::ZkFile;
use super::ImportError;

pub struct Cursor<'a> {
    pub file: &'a ZkFile,
    all: Bytes,
    rest: Bytes,
}

impl<'a> Cursor<'a> {
    pub fn new(file: &'a ZkFile, bytes: Bytes) -> Self {
        Cursor {
            file,
            all: bytes.clone(),
            rest: bytes,
        }
    }

    pub fn offset(&self) -> usize {
        self.all.len() - self.rest.len()
    }

    pub fn remaining(&self) -> &[u8] {
        &self.rest
    }

    /// Everything read so far.
    pub fn consumed(&self) -> &[u8] {
        &self.all[..self.offset()]
    }

    pub fn read<T: Jute>(&mut self, what: &str) -> Result<T, ImportError> {
        let at = self.offset();
        T::read(&mut self.rest).map_err(|e| self.corrupt_at(at, format!("{what}: {e}")))
    }

    /// The next `len` bytes, shared with the file's buffer.
    pub fn take(&mut self, len: usize) -> Bytes {
        self.rest.split_to(len.min(self.rest.len()))
    }

    pub fn corrupt_at(&self, offset: usize, reason: String) -> ImportError {
        ImportError::Corrupt {
            path: self.file.path.clone(),
            offset: offset as u64,
            reason,
        }
    }
}
