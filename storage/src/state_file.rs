//! Small state files replaced atomically (a vote, a purge mark): the new contents go to
//! `<name>.tmp`, which is fsynced and renamed over the file, and the directory is
//! fsynced, so after a crash the file holds either the old or the new contents, and
//! when [`write_state_file`] returns the new ones are durable.
//!
//! ```text
//! magic "FKSTATE1" | crc32c u32 (big-endian) over the contents | contents
//! ```

use std::io;
use std::path::Path;

use crate::env::{self, FileSystem};
use crate::error::{Corruption, Error, IoContext, Result};
use crate::log::format::be_u32;
use crate::log::recovery::with_suffix;

const MAGIC: [u8; 8] = *b"FKSTATE1";
const HEADER_LEN: usize = 12;

/// Replaces the file at `path` with `contents`, durably (see the module docs).
pub fn write_state_file(fs: &dyn FileSystem, path: &Path, contents: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = with_suffix(path, ".tmp");
    match fs.remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(Error::io("remove", &tmp, e)),
        _ => {}
    }
    let mut bytes = Vec::with_capacity(HEADER_LEN + contents.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&crc32c::crc32c(contents).to_be_bytes());
    bytes.extend_from_slice(contents);
    let written = fs.create_new(&tmp).ctx("create", &tmp).and_then(|file| {
        env::write_all_at(file.as_ref(), &bytes, 0).ctx("write", &tmp)?;
        file.sync_all().ctx("fsync", &tmp)
    });
    if let Err(e) = written {
        // Best effort: a leftover temp file is replaced by the next write anyway.
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    fs.rename(&tmp, path).ctx("rename", &tmp)?;
    fs.sync_dir(dir).ctx("fsync", dir)
}

/// The contents of a state file, `None` if there is none; damage is
/// [`Error::CorruptStateFile`].
pub fn read_state_file(fs: &dyn FileSystem, path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match fs.open(path, false) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let mut bytes = env::read_to_end(file.as_ref()).ctx("read", path)?;
    let corrupt = |kind| Error::CorruptStateFile {
        path: path.to_owned(),
        kind,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(Corruption::TruncatedHeader));
    }
    if bytes[..8] != MAGIC {
        return Err(corrupt(Corruption::BadMagic));
    }
    if crc32c::crc32c(&bytes[HEADER_LEN..]) != be_u32(&bytes[8..12]) {
        return Err(corrupt(Corruption::BadContentChecksum));
    }
    Ok(Some(bytes.split_off(HEADER_LEN)))
}
