//! Where ZooKeeper keeps its files and how it names them: `version-2/snapshot.<zxid>`
//! (plus `.gz` or `.snappy` when compressed) under dataDir, `version-2/log.<zxid>`
//! under dataLogDir, the zxid in hex without padding.

use std::path::{Path, PathBuf};

use super::ImportError;

/// ZooKeeper's file format version, and the directory it names.
pub const VERSION_DIR: &str = "version-2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
}

#[derive(Debug, Clone)]
pub struct ZkFile {
    /// A snapshot's starting zxid, or a log's first zxid.
    pub zxid: i64,
    pub path: PathBuf,
    pub compression: Compression,
}

impl ZkFile {
    /// Bytes that come from no file (fuzzing): errors name `(memory)`.
    pub fn in_memory() -> ZkFile {
        ZkFile {
            zxid: 0,
            path: PathBuf::from("(memory)"),
            compression: Compression::None,
        }
    }
}

/// ZooKeeper's snapshots and logs, each oldest first.
#[derive(Debug, Default)]
pub struct ZkFiles {
    pub snapshots: Vec<ZkFile>,
    pub logs: Vec<ZkFile>,
}

impl ZkFiles {
    /// The files under `data_dir/version-2` and `log_dir/version-2` (a missing
    /// directory holds none).
    pub fn list(data_dir: &Path, log_dir: &Path) -> Result<ZkFiles, ImportError> {
        Ok(ZkFiles {
            snapshots: list(&data_dir.join(VERSION_DIR), "snapshot")?,
            logs: list(&log_dir.join(VERSION_DIR), "log")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty() && self.logs.is_empty()
    }
}

fn list(dir: &Path, prefix: &str) -> Result<Vec<ZkFile>, ImportError> {
    let io = |source| ImportError::Io {
        path: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if let Some((zxid, compression)) = parse_name(&name.to_string_lossy(), prefix) {
            files.push(ZkFile {
                zxid,
                path: entry.path(),
                compression,
            });
        }
    }
    files.sort_by_key(|f| f.zxid);
    Ok(files)
}

/// Util.getZxidFromName, plus SnapStream's compression suffixes.
fn parse_name(name: &str, prefix: &str) -> Option<(i64, Compression)> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('.')?;
    let (hex, compression) = match rest.split_once('.') {
        None => (rest, Compression::None),
        Some((hex, "gz")) => (hex, Compression::Gzip),
        Some((hex, "snappy")) => (hex, Compression::Snappy),
        Some(_) => return None,
    };
    let zxid = u64::from_str_radix(hex, 16).ok()? as i64;
    Some((zxid, compression))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_zookeeper_writes_them() {
        assert_eq!(parse_name("log.1", "log"), Some((1, Compression::None)));
        assert_eq!(
            parse_name("snapshot.10000001a.gz", "snapshot"),
            Some((0x1_0000_001a, Compression::Gzip))
        );
        assert_eq!(
            parse_name("snapshot.0.snappy", "snapshot"),
            Some((0, Compression::Snappy))
        );
        assert_eq!(parse_name("log.1.tmp", "log"), None);
        assert_eq!(parse_name("log.xyz", "log"), None);
        assert_eq!(parse_name("snapshot.5", "log"), None);
        assert_eq!(parse_name("logs.5", "log"), None);
    }
}
