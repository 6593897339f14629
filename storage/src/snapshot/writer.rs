//! Writing a snapshot: the caller streams arbitrary bytes (the server serializes its
//! tree and sessions) into a [`SnapshotWriter`], which compresses them if asked,
//! checksums what it stores, and on [`SnapshotWriter::finish`] writes the trailer,
//! fsyncs, renames the temp file into place and fsyncs the directory. A writer dropped
//! (or failed) before `finish` removes its temp file; a crash leaves a `.tmp` file that
//! readers ignore and [`super::remove_temp_files`] cleans up.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{
    snapshot_name, SnapshotHeader, SnapshotTrailer, HEADER_LEN, TEMP_SUFFIX, TRAILER_LEN,
};
use super::SnapshotInfo;
use crate::env::{self, File, FileSystem, StdFileSystem};
use crate::error::{Error, IoContext, Result};
use crate::options::SnapshotOptions;
use crate::zxid::Zxid;

/// Bytes buffered before a write to the file.
const WRITE_BUFFER: usize = 1 << 20;

/// A snapshot being written; see the module docs. Implements [`io::Write`].
#[derive(Debug)]
pub struct SnapshotWriter {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    zxid: Zxid,
    compressed: bool,
    sink: Option<Sink>,
    content_len: u64,
    /// The first write error; `finish` reports it.
    failed: Option<Error>,
}

enum Sink {
    Plain(Body),
    Zstd(zstd::stream::write::Encoder<'static, Body>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Plain(_) => f.write_str("Plain"),
            Sink::Zstd(_) => f.write_str("Zstd"),
        }
    }
}

/// The stored body: buffered, checksummed, written at increasing offsets.
struct Body {
    file: Box<dyn File>,
    pos: u64,
    buf: Vec<u8>,
    crc: u32,
    len: u64,
}

impl Body {
    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        env::write_all_at(self.file.as_ref(), &self.buf, self.pos)?;
        self.crc = crc32c::crc32c_append(self.crc, &self.buf);
        self.pos += self.buf.len() as u64;
        self.len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Write for Body {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= WRITE_BUFFER {
            self.flush_buf()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

impl SnapshotWriter {
    /// Starts `snapshot.<zxid>` in `dir` on the real file system.
    pub fn create(dir: impl AsRef<Path>, zxid: Zxid, opts: SnapshotOptions) -> Result<Self> {
        Self::create_with_env(Arc::new(StdFileSystem), dir, zxid, opts)
    }

    /// Starts `snapshot.<zxid>` in `dir`: `zxid` is the last transaction the content
    /// will reflect (for a fuzzy snapshot, the last one applied when it started).
    pub fn create_with_env(
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        zxid: Zxid,
        opts: SnapshotOptions,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        fs.create_dir_all(&dir).ctx("create directory", &dir)?;
        let name = snapshot_name(zxid);
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}{TEMP_SUFFIX}"));
        match fs.remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io("remove", &tmp, e))
            }
            _ => {}
        }
        let file = fs.create_new(&tmp).ctx("create", &tmp)?;
        let mut writer = SnapshotWriter {
            fs,
            dir,
            tmp,
            path,
            zxid,
            compressed: opts.zstd_level.is_some(),
            sink: None,
            content_len: 0,
            failed: None,
        };
        let header = SnapshotHeader {
            zxid,
            compressed: writer.compressed,
        };
        env::write_all_at(file.as_ref(), &header.encode(), 0).ctx("write", &writer.tmp)?;
        let body = Body {
            file,
            pos: HEADER_LEN as u64,
            buf: Vec::with_capacity(WRITE_BUFFER),
            crc: 0,
            len: 0,
        };
        writer.sink = Some(match opts.zstd_level {
            None => Sink::Plain(body),
            Some(level) => {
                let mut enc =
                    zstd::stream::write::Encoder::new(body, level).ctx("compress", &writer.tmp)?;
                enc.include_checksum(true).ctx("compress", &writer.tmp)?;
                Sink::Zstd(enc)
            }
        });
        Ok(writer)
    }

    /// The file this becomes on `finish`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Content bytes written so far (before compression).
    pub fn content_len(&self) -> u64 {
        self.content_len
    }

    /// Completes the snapshot: trailer, fsync, atomic rename, directory fsync. Only
    /// after this returns is the snapshot visible to readers and purge.
    pub fn finish(mut self) -> Result<SnapshotInfo> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let sink = self.sink.take().expect("sink present until finish");
        let mut body = match sink {
            Sink::Plain(body) => body,
            Sink::Zstd(enc) => enc.finish().ctx("compress", &self.tmp)?,
        };
        body.flush_buf().ctx("write", &self.tmp)?;
        let trailer = SnapshotTrailer {
            body_len: body.len,
            content_len: self.content_len,
            body_crc: body.crc,
        };
        env::write_all_at(body.file.as_ref(), &trailer.encode(), body.pos)
            .ctx("write", &self.tmp)?;
        body.file.sync_all().ctx("fsync", &self.tmp)?;
        drop(body);
        self.fs
            .rename(&self.tmp, &self.path)
            .ctx("rename", &self.tmp)?;
        // From here the temp file is gone; do not remove anything on drop.
        let info = SnapshotInfo {
            path: self.path.clone(),
            zxid: self.zxid,
            compressed: self.compressed,
            file_len: (HEADER_LEN + TRAILER_LEN) as u64 + trailer.body_len,
            content_len: trailer.content_len,
        };
        self.tmp.clear();
        self.fs.sync_dir(&self.dir).ctx("fsync", &self.dir)?;
        Ok(info)
    }
}

impl Write for SnapshotWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let result = match self.sink.as_mut() {
            Some(Sink::Plain(body)) => body.write(data),
            Some(Sink::Zstd(enc)) => enc.write(data),
            None => Err(io::Error::other("snapshot already finished")),
        };
        match result {
            Ok(n) => {
                self.content_len += n as u64;
                Ok(n)
            }
            Err(e) => {
                // Hand the caller an equivalent error, keep the original for `finish`.
                let copy = match e.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(e.kind(), e.to_string()),
                };
                if self.failed.is_none() {
                    self.failed = Some(Error::io("write", &self.tmp, e));
                }
                Err(copy)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.sink.as_mut() {
            Some(Sink::Plain(body)) => body.flush(),
            Some(Sink::Zstd(enc)) => enc.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for SnapshotWriter {
    /// An unfinished snapshot removes its temp file (best effort).
    fn drop(&mut self) {
        self.sink.take();
        if !self.tmp.as_os_str().is_empty() {
            let _ = self.fs.remove_file(&self.tmp);
        }
    }
}
