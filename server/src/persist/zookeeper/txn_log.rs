//! Reading ZooKeeper's transaction log (FileTxnLog): a FileHeader ("ZKLG"), then one
//! entry per transaction — the Adler-32 of its bytes (long), the bytes (int length;
//! TxnHeader, txn record, digest), the end-of-record byte 'B' — until the zeros
//! ZooKeeper preallocates.

use bytes::Bytes;
use ferrokeeper_protocol::records::persistence::{FileHeader, TxnHeader};
use ferrokeeper_protocol::Jute;
use ferrokeeper_storage::env::{self, FileSystem, StdFileSystem};

use super::cursor::Cursor;
use super::files::ZkFile;
use super::ImportError;

/// "ZKLG".
const LOG_MAGIC: i32 = 0x5a4b_4c47;
/// Util.writeTxnBytes ends every entry with this byte.
const END_OF_RECORD: u8 = b'B';
/// Checksum, length and end byte around an entry's bytes.
const ENTRY_OVERHEAD: usize = 8 + 4 + 1;

/// One logged transaction: its header, and the txn record after it.
pub struct ZkEntry {
    pub offset: usize,
    pub header: TxnHeader,
    pub body: Bytes,
}

/// A log file's entries, and what was left unread at its end.
pub struct ZkLog {
    pub entries: Vec<ZkEntry>,
    pub torn: Option<TornTail>,
}

/// An entry ZooKeeper did not finish writing (it crashed mid-append): ZooKeeper's own
/// recovery stops reading the file there, and so does this.
pub struct TornTail {
    pub offset: usize,
    pub bytes: usize,
    pub reason: &'static str,
}

pub fn read(file: &ZkFile) -> Result<ZkLog, ImportError> {
    parse(file, Bytes::from(read_written(file)?))
}

/// The file up to its last non-zero byte, plus a margin: ZooKeeper preallocates its
/// logs with zeros (64 MiB), and every entry ends with a non-zero byte ('B'), so what
/// follows is the preallocation, or the zero tail of an entry it did not finish —
/// which the margin keeps for the torn-tail report.
fn read_written(file: &ZkFile) -> Result<Vec<u8>, ImportError> {
    const MARGIN: u64 = 1 << 20;
    let io = |source| ImportError::Io {
        path: file.path.clone(),
        source,
    };
    let opened = StdFileSystem.open(&file.path, false).map_err(io)?;
    let written = env::written_len(opened.as_ref()).map_err(io)?;
    env::read_prefix(opened.as_ref(), written.saturating_add(MARGIN)).map_err(io)
}

/// Decodes the bytes of `file`.
pub fn parse(file: &ZkFile, bytes: Bytes) -> Result<ZkLog, ImportError> {
    let mut input = Cursor::new(file, bytes);
    let header: FileHeader = input.read("file header")?;
    if header.magic != LOG_MAGIC || header.version != 2 {
        return Err(input.corrupt_at(
            0,
            format!(
                "not a version-2 ZooKeeper log (magic {:#x}, version {})",
                header.magic, header.version
            ),
        ));
    }
    let total = input.offset() + input.remaining().len();
    let mut entries = Vec::new();
    let torn = loop {
        let at = input.offset();
        let torn = |reason| TornTail {
            offset: at,
            bytes: total - at,
            reason,
        };
        if input.remaining().len() < ENTRY_OVERHEAD {
            break written(input.remaining()).then(|| torn("a partial entry"));
        }
        let checksum: i64 = input.read("entry checksum")?;
        let len: i32 = input.read("entry length")?;
        if len == 0 {
            // The preallocated end: ZooKeeper stops at an empty entry.
            let rest_written = written(&input.consumed()[at..]) || written(input.remaining());
            break rest_written.then(|| torn("bytes after the last entry"));
        }
        if len < 0 || len as usize >= input.remaining().len() {
            break Some(torn("a partial entry"));
        }
        let body = input.take(len as usize);
        if input.take(1)[..] != [END_OF_RECORD] {
            break Some(torn("an entry without its end marker"));
        }
        if i64::from(adler2::adler32_slice(&body)) != checksum {
            if written(input.remaining()) {
                return Err(input.corrupt_at(at, "checksum mismatch".into()));
            }
            break Some(torn("a last entry that fails its checksum"));
        }
        let mut body = body;
        let header = TxnHeader::read(&mut body)
            .map_err(|e| input.corrupt_at(at, format!("transaction header: {e}")))?;
        entries.push(ZkEntry {
            offset: at,
            header,
            body,
        });
    };
    Ok(ZkLog { entries, torn })
}

/// Whether any byte is not one of the zeros ZooKeeper preallocates.
fn written(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b != 0)
}
