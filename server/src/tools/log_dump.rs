//! `ferrokeeper log dump <file>`: one log segment, human-readable, like ZooKeeper's
//! LogFormatter. The header, then one line per transaction (zxid, time, session, the
//! decoded op with its fields; a multi's sub-ops indented below it), then how the
//! records ended: cleanly, at preallocated zeros, at a torn tail, or at damage
//! before the tail, with the offset.
//!
//! Reading changes nothing: the segment is walked by the storage crate's
//! [`read_segment`], which stops at the first record that does not verify.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::log::format::{parse_segment_name, SEGMENT_VERSION};
use ferrokeeper_storage::log::reader::find_valid_record_after;
use ferrokeeper_storage::{read_segment, ScanEnd, SegmentDump};

use super::format::{self, hex, PREVIEW_BYTES};
use super::{ToolError, Verdict};
use crate::persist::txn_codec;
use crate::state_machine::{Txn, TxnOp};

/// Writes the listing of the segment at `path` to `out`. [`Verdict::Damaged`] when
/// the records end in damage that is not a torn tail (a valid record follows it, or
/// a later segment exists, so recovery would refuse), or an entry's payload does not
/// decode; a torn tail is reported but is [`Verdict::Ok`]: recovery cuts it.
pub fn dump(path: &Path, out: &mut dyn Write) -> Result<Verdict, ToolError> {
    let fs: Arc<dyn FileSystem> = Arc::new(StdFileSystem);
    let segment = read_segment(&fs, path).map_err(|e| ToolError::Unreadable {
        what: "log segment",
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut damaged = false;
    write_header(&segment, out)?;

    let mut undecodable = 0usize;
    for (offset, entry) in &segment.entries {
        match txn_codec::decode(entry.zxid, entry.payload.clone()) {
            Ok(txn) => write_txn(&txn, out)?,
            Err(e) => {
                undecodable += 1;
                writeln!(
                    out,
                    "zxid {}  <{} byte payload at offset {offset} does not decode: {e}>",
                    hex(entry.zxid),
                    entry.payload.len()
                )?;
            }
        }
    }

    let count = segment.entries.len();
    match (segment.entries.first(), segment.entries.last()) {
        (Some((_, first)), Some((_, last))) => writeln!(
            out,
            "-- {}, zxid {} to {}",
            format::count(count, "transaction"),
            hex(first.zxid),
            hex(last.zxid)
        )?,
        _ => writeln!(out, "-- no transactions")?,
    }
    if undecodable > 0 {
        damaged = true;
        writeln!(
            out,
            "-- ERROR: {undecodable} entr{} verified but did not decode as transactions \
             (written by a different version?); the server cannot replay them",
            if undecodable == 1 { "y" } else { "ies" }
        )?;
    }
    damaged |= write_end(&segment, path, out)?;
    Ok(if damaged {
        Verdict::Damaged
    } else {
        Verdict::Ok
    })
}

fn write_header(segment: &SegmentDump, out: &mut dyn Write) -> std::io::Result<()> {
    let header = &segment.header;
    writeln!(
        out,
        "Ferrokeeper transaction log segment {}",
        segment.path.display()
    )?;
    writeln!(
        out,
        "  format version {SEGMENT_VERSION}, first zxid {}, follows zxid {}, {} bytes",
        hex(header.first_zxid),
        hex(header.prev_zxid),
        segment.file_len
    )?;
    let name = segment.path.file_name().and_then(|n| n.to_str());
    if let Some(named) = name.and_then(parse_segment_name) {
        if named != header.first_zxid {
            writeln!(
                out,
                "  WARNING: the file name says zxid {}, the header {}: recovery refuses this \
                 segment",
                hex(named),
                hex(header.first_zxid)
            )?;
        }
    }
    Ok(())
}

/// `zxid 0x5  2024-05-01T12:00:00.123Z (1714564800123)  session 0x1..  create ...`,
/// and a multi's sub-ops on their own lines.
fn write_txn(txn: &Txn, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "zxid {}  {}  session {}  {}",
        hex(txn.zxid),
        format::time(txn.time),
        hex(txn.session_id),
        describe(&txn.op)
    )?;
    if let TxnOp::Multi(ops) = &txn.op {
        for (i, op) in ops.iter().enumerate() {
            writeln!(out, "    [{i}] {}", describe(op))?;
        }
    }
    Ok(())
}

/// One op and its fields, on one line (a multi only says how many ops it has).
pub fn describe(op: &TxnOp) -> String {
    match op {
        TxnOp::CreateSession {
            session_id,
            timeout_ms,
            password: _,
        } => format!(
            "createSession id={} timeout={timeout_ms}ms",
            hex(*session_id)
        ),
        TxnOp::CloseSession {
            session_id,
            ephemerals,
        } => format!(
            "closeSession id={} ephemerals=[{}]",
            hex(*session_id),
            ephemerals.join(", ")
        ),
        TxnOp::Create {
            path,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
            with_stat,
        } => format!(
            "create path={path} data={} acl={} {} parentCversion={parent_cversion}{}",
            format::data(data.as_deref(), PREVIEW_BYTES),
            format::acl(acl),
            format::owner(*ephemeral_owner),
            if *with_stat { " withStat" } else { "" }
        ),
        TxnOp::Delete { path } => format!("delete path={path}"),
        TxnOp::SetData {
            path,
            data,
            version,
        } => format!(
            "setData path={path} data={} version={version}",
            format::data(data.as_deref(), PREVIEW_BYTES)
        ),
        TxnOp::SetAcl {
            path,
            acl,
            aversion,
        } => format!(
            "setACL path={path} acl={} aversion={aversion}",
            format::acl(acl)
        ),
        TxnOp::Check { path } => format!("check path={path}"),
        TxnOp::Multi(ops) => format!(
            "multi {} op{}",
            ops.len(),
            if ops.len() == 1 { "" } else { "s" }
        ),
        TxnOp::Error(code) => format!("error {}", format::error(*code)),
    }
}

/// Says how the records ended. Returns whether that is damage recovery would refuse.
fn write_end(segment: &SegmentDump, path: &Path, out: &mut dyn Write) -> std::io::Result<bool> {
    let (offset, kind) = match &segment.end {
        ScanEnd::Clean => {
            writeln!(out, "-- end of file at offset {}", segment.file_len)?;
            return Ok(false);
        }
        ScanEnd::ZeroTail => {
            let from = end_of_records(segment);
            writeln!(
                out,
                "-- end of records at offset {from}; the {} bytes after it are unused \
                 preallocated space (zeros)",
                segment.file_len - from
            )?;
            return Ok(false);
        }
        ScanEnd::Bad { offset, kind } => (*offset, kind),
    };
    let unlisted = segment.file_len.saturating_sub(offset);
    let last_zxid = segment
        .entries
        .last()
        .map_or(segment.header.prev_zxid, |(_, e)| e.zxid);
    let valid_after = std::fs::read(path)
        .ok()
        .and_then(|data| find_valid_record_after(&data, offset, last_zxid));
    let later = later_segment(path, segment.header.first_zxid);
    match (valid_after, later) {
        (None, None) => {
            writeln!(
                out,
                "-- TORN TAIL at offset {offset}: {kind}; the {unlisted} bytes from there to \
                 the end are not listed (nothing valid follows: recovery cuts them when the \
                 server starts)"
            )?;
            Ok(false)
        }
        (Some(next), _) => {
            writeln!(
                out,
                "-- CORRUPTION at offset {offset}: {kind}; a valid record follows at offset \
                 {next}, so this is damage before the tail, not a torn write. The {unlisted} \
                 bytes from offset {offset} are not listed. The server refuses to start on \
                 this log unless ferrokeeper.recovery.truncateCorruptLog=yes (which drops \
                 everything from offset {offset})"
            )?;
            Ok(true)
        }
        (None, Some(later)) => {
            writeln!(
                out,
                "-- CORRUPTION at offset {offset}: {kind}; a later segment ({}) exists, so \
                 this cannot be a torn tail. The {unlisted} bytes from offset {offset} are \
                 not listed. The server refuses to start on this log unless \
                 ferrokeeper.recovery.truncateCorruptLog=yes",
                later.display()
            )?;
            Ok(true)
        }
    }
}

/// The offset just past the last listed record (the header's end if none).
fn end_of_records(segment: &SegmentDump) -> u64 {
    segment.entries.last().map_or(
        ferrokeeper_storage::log::format::HEADER_LEN as u64,
        |(offset, entry)| {
            offset
                + ferrokeeper_storage::log::format::RECORD_HEADER_LEN as u64
                + entry.payload.len() as u64
        },
    )
}

/// A segment in the same directory that starts after `first_zxid`, if any.
fn later_segment(path: &Path, first_zxid: i64) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let zxid = parse_segment_name(e.file_name().to_str()?)?;
            (zxid > first_zxid).then(|| (zxid, e.path()))
        })
        .min()
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferrokeeper_protocol::records::Acl;
    use ferrokeeper_protocol::{ErrorCode, Perms};
    use ferrokeeper_storage::log::format::{encode_record, segment_name, SegmentHeader};

    fn txn(zxid: i64, op: TxnOp) -> Txn {
        Txn {
            zxid,
            time: 1_714_564_800_123,
            session_id: 0x0100_0000_0000_0001,
            op,
        }
    }

    fn write_segment(dir: &Path, txns: &[Txn]) -> PathBuf {
        let header = SegmentHeader {
            first_zxid: txns[0].zxid,
            prev_zxid: 0,
        };
        let mut data = header.encode().to_vec();
        for t in txns {
            encode_record(&mut data, t.zxid, &txn_codec::encode(t));
        }
        let path = dir.join(segment_name(txns[0].zxid));
        std::fs::write(&path, data).unwrap();
        path
    }

    fn listing(path: &Path) -> (Verdict, String) {
        let mut out = Vec::new();
        let verdict = dump(path, &mut out).unwrap();
        (verdict, String::from_utf8(out).unwrap())
    }

    fn sample() -> Vec<Txn> {
        let open = vec![Acl::new(Perms::ALL, "world", "anyone")];
        vec![
            txn(
                1,
                TxnOp::CreateSession {
                    session_id: 0x0100_0000_0000_0001,
                    timeout_ms: 30_000,
                    password: [1; 16],
                },
            ),
            txn(
                2,
                TxnOp::Create {
                    path: "/a".into(),
                    data: Some(Bytes::from_static(b"hello\n")),
                    acl: open.clone(),
                    ephemeral_owner: 0,
                    parent_cversion: 1,
                    with_stat: false,
                },
            ),
            txn(
                3,
                TxnOp::Multi(vec![
                    TxnOp::SetData {
                        path: "/a".into(),
                        data: None,
                        version: 1,
                    },
                    TxnOp::SetAcl {
                        path: "/a".into(),
                        acl: vec![Acl::new(Perms::READ, "digest", "bob:x=")],
                        aversion: 1,
                    },
                ]),
            ),
            txn(
                4,
                TxnOp::Multi(vec![
                    TxnOp::Error(ErrorCode::Ok),
                    TxnOp::Error(ErrorCode::NoNode),
                ]),
            ),
            txn(5, TxnOp::Error(ErrorCode::BadVersion)),
            txn(
                6,
                TxnOp::CloseSession {
                    session_id: 0x0100_0000_0000_0001,
                    ephemerals: vec!["/e".into()],
                },
            ),
        ]
    }

    #[test]
    fn lists_every_transaction_with_its_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &sample());
        let (verdict, text) = listing(&path);
        assert_eq!(verdict, Verdict::Ok);
        let expected = [
            "first zxid 0x1, follows zxid 0x0",
            "zxid 0x1  2024-05-01T12:00:00.123Z (1714564800123)  session 0x100000000000001  \
             createSession id=0x100000000000001 timeout=30000ms",
            "create path=/a data=6 bytes \"hello\\n\" acl=[world:anyone:cdrwa] persistent \
             parentCversion=1",
            "zxid 0x3  ",
            "multi 2 ops\n    [0] setData path=/a data=null version=1\n    [1] setACL path=/a \
             acl=[digest:bob:x=:r] aversion=1\n",
            "    [1] error NoNode (-101)",
            "error BadVersion (-103)",
            "closeSession id=0x100000000000001 ephemerals=[/e]",
            "-- 6 transactions, zxid 0x1 to 0x6",
            "-- end of file at offset",
        ];
        for want in expected {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(!text.contains("TORN") && !text.contains("CORRUPTION"));
    }

    #[test]
    fn zero_padding_is_not_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &sample());
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[0; 4096])
            .unwrap();
        let (verdict, text) = listing(&path);
        assert_eq!(verdict, Verdict::Ok);
        assert!(
            text.contains(&format!(
                "end of records at offset {len}; the 4096 bytes after it are unused"
            )),
            "{text}"
        );
    }

    #[test]
    fn torn_tail_is_reported_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &sample());
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (verdict, text) = listing(&path);
        assert_eq!(verdict, Verdict::Ok);
        assert!(
            text.contains("-- 5 transactions, zxid 0x1 to 0x5"),
            "{text}"
        );
        assert!(text.contains("-- TORN TAIL at offset "), "{text}");
    }

    #[test]
    fn damage_before_the_tail_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &sample());
        let mut data = std::fs::read(&path).unwrap();
        // Flip a payload byte of the second record (the first starts at 40).
        let first_len = u32::from_be_bytes(data[40..44].try_into().unwrap()) as usize;
        let second = 40 + 16 + first_len;
        data[second + 20] ^= 0xff;
        std::fs::write(&path, &data).unwrap();
        let (verdict, text) = listing(&path);
        assert_eq!(verdict, Verdict::Damaged);
        assert!(text.contains("-- 1 transaction, zxid 0x1 to 0x1"), "{text}");
        assert!(
            text.contains(&format!(
                "-- CORRUPTION at offset {second}: record checksum mismatch; a valid record \
                 follows"
            )),
            "{text}"
        );
    }

    #[test]
    fn damage_in_a_segment_with_a_later_one_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let all = sample();
        let path = write_segment(dir.path(), &all[..3]);
        write_segment(dir.path(), &all[3..]);
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let (verdict, text) = listing(&path);
        assert_eq!(verdict, Verdict::Damaged);
        assert!(
            text.contains("a later segment (") && text.contains("log.0000000000000004"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("log.1");
        let err = dump(&missing, &mut Vec::new()).unwrap_err().to_string();
        assert!(
            err.contains("cannot read log segment") && err.contains("log.1"),
            "{err}"
        );
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"this is not a log segment at all, not even close").unwrap();
        let err = dump(&junk, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("bad magic"), "{err}");
    }
}
