//! The `log_segments` target: arbitrary segment files in a log directory, opened by
//! the storage crate's own recovery (`Log::open_with_env`, on [`MemoryFs`]) and read
//! by the dump tools' `read_segment`.
//!
//! The first input byte chooses: bit 0, whether the rest is the files' bytes (split
//! before each segment magic, so concatenated real segments become separate files) or
//! a recipe of records with valid checksums ([`framed`]: reaches the order, gap and
//! segment-link checks, which bit flips of real files stop short of); bit 1, strict
//! recovery or `TruncateAtFirstCorruption`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::FileSystem;
use ferrokeeper_storage::log::format::{
    decode_record, encode_record, segment_name, Decoded, SegmentHeader,
};
use ferrokeeper_storage::zxid::{self, Zxid};
use ferrokeeper_storage::{
    read_segment, Entry, Error, Log, LogOptions, Recovery, RecoveryMode, Repair, ScanEnd,
};

use super::memory_fs::MemoryFs;

const MAGIC: &[u8] = b"FKTXNLOG";

fn dir() -> &'static Path {
    Path::new("/log")
}

pub fn log_segments(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let files = if control & 1 == 0 {
        split_at_magic(rest)
    } else {
        framed(rest)
    };
    let fs = Arc::new(MemoryFs::default());
    for (i, file) in files.iter().enumerate() {
        // Named after the header's first zxid, so real segments keep their names.
        let first = file
            .get(16..24)
            .map_or(i as Zxid, |b| Zxid::from_be_bytes(b.try_into().unwrap()));
        fs.put(&dir().join(segment_name(first)), file);
    }
    let env: Arc<dyn FileSystem> = fs.clone();
    for (path, file) in fs.contents() {
        if let Ok(dump) = read_segment(&env, &path) {
            check_dump(&file, &dump.header, &dump.entries, &dump.end);
        }
    }
    let mode = if control & 2 == 0 {
        RecoveryMode::Strict
    } else {
        RecoveryMode::TruncateAtFirstCorruption
    };
    let before = fs.contents();
    match open(&env, mode) {
        Ok((log, recovery)) => {
            drop(log);
            check_torn_tails(&before, &recovery);
            check_recovered(&fs, &env, &recovery);
        }
        // Strict recovery refuses without touching anything.
        Err(e) if mode == RecoveryMode::Strict => {
            assert_eq!(
                fs.contents(),
                before,
                "a refused recovery changed files: {e}"
            );
        }
        // Truncating recovery cuts any damage; only a segment of another format
        // version stops it.
        Err(e) => assert!(
            matches!(e, Error::UnsupportedVersion { .. }),
            "truncating recovery failed: {e}"
        ),
    }
}

fn open(
    env: &Arc<dyn FileSystem>,
    recovery: RecoveryMode,
) -> ferrokeeper_storage::Result<(Log, Recovery)> {
    let opts = LogOptions {
        // Small, so that appending in memory stays cheap.
        prealloc_size: 4096,
        recovery,
        ..LogOptions::default()
    };
    Log::open_with_env(env.clone(), dir(), opts)
}

/// The bytes a writer produces for a segment holding `entries`.
fn encode_segment(header: &SegmentHeader, entries: &[Entry]) -> Vec<u8> {
    let mut bytes = header.encode().to_vec();
    for entry in entries {
        encode_record(&mut bytes, entry.zxid, &entry.payload);
    }
    bytes
}

/// What `read_segment` lists is the file's prefix, re-encoded, and the end it reports
/// is where that prefix stops.
fn check_dump(file: &[u8], header: &SegmentHeader, entries: &[(u64, Entry)], end: &ScanEnd) {
    let listed: Vec<Entry> = entries.iter().map(|(_, e)| e.clone()).collect();
    let encoded = encode_segment(header, &listed);
    assert!(
        file.starts_with(&encoded),
        "listed records are not the file's"
    );
    let rest = &file[encoded.len()..];
    match end {
        ScanEnd::Clean => assert!(rest.is_empty()),
        ScanEnd::ZeroTail => assert!(rest.iter().all(|&b| b == 0)),
        ScanEnd::Bad { offset, .. } => assert_eq!(*offset, encoded.len() as u64),
    }
}

/// A torn tail is cut only where no record that verifies (with a zxid past the last
/// one kept) follows: checked here with the record decoder at every offset.
fn check_torn_tails(before: &BTreeMap<PathBuf, Vec<u8>>, recovery: &Recovery) {
    for repair in recovery.repairs() {
        let Repair::TornTail { path, offset, .. } = repair else {
            continue;
        };
        let last = recovery.last_zxid();
        let file = &before[path];
        for at in *offset as usize + 1..file.len() {
            if let Decoded::Record { zxid, .. } = decode_record(file, at) {
                assert!(
                    zxid <= last,
                    "{} cut at {offset}, but zxid {zxid} verifies at {at}",
                    path.display()
                );
            }
        }
    }
}

/// After a successful open: every segment recovery kept holds exactly the records
/// the replay returns, as a writer would have written them (then only zeros); the log
/// reopens strictly with nothing left to repair; and it takes a new entry that a
/// further open replays.
fn check_recovered(fs: &MemoryFs, env: &Arc<dyn FileSystem>, recovery: &Recovery) {
    let replayed = replay(recovery);
    let mut rest = &replayed[..];
    for info in recovery.segments() {
        let (own, later) = rest.split_at(info.records as usize);
        rest = later;
        let header = SegmentHeader {
            first_zxid: info.first_zxid,
            prev_zxid: info.prev_zxid,
        };
        let file = fs.get(&info.path).expect("a kept segment exists");
        let encoded = encode_segment(&header, own);
        assert_eq!(encoded.len() as u64, info.len, "{}", info.path.display());
        assert!(
            file.starts_with(&encoded),
            "{} is not what a writer writes",
            info.path.display()
        );
        assert!(file[encoded.len()..].iter().all(|&b| b == 0));
    }
    assert!(
        rest.is_empty(),
        "replay returned more entries than the segments hold"
    );

    let (mut log, again) = open(env, RecoveryMode::Strict).expect("a recovered log reopens");
    assert!(
        again.repairs().is_empty(),
        "reopening repaired again: {:?}",
        again.repairs()
    );
    assert_eq!(again.segments(), recovery.segments());
    // (A header's prev_zxid may be negative: the next zxid is 1 then.)
    let Some(next) = log.last_zxid().max(0).checked_add(1) else {
        return;
    };
    log.append(&[Entry::new(next, &b"appended"[..])])
        .expect("append");
    log.close().expect("sync and close");
    let (_log, after) = open(env, RecoveryMode::Strict).expect("reopens after an append");
    let mut expected = replayed;
    expected.push(Entry::new(next, &b"appended"[..]));
    assert_eq!(replay(&after), expected);
}

/// Every entry of the log, which must read back without error.
fn replay(recovery: &Recovery) -> Vec<Entry> {
    let from = recovery.segments().first().map_or(0, |s| s.prev_zxid);
    recovery
        .entries_after(from)
        .expect("the log reaches back to its own start")
        .collect::<Result<_, _>>()
        .expect("recovered segments replay")
}

/// `data` cut before each occurrence of the segment magic.
fn split_at_magic(data: &[u8]) -> Vec<Vec<u8>> {
    let mut starts: Vec<usize> = (1..data.len())
        .filter(|&i| data[i..].starts_with(MAGIC))
        .collect();
    starts.insert(0, 0);
    starts.push(data.len());
    starts
        .windows(2)
        .map(|w| data[w[0]..w[1]].to_vec())
        .filter(|file| !file.is_empty())
        .collect()
}

/// Segments built from a recipe, one op per byte: start a segment (linked to the
/// previous one's last zxid, or not), a record (the next zxid, the same, a skip, a new
/// epoch) with a short payload, or damage: stray bytes, a cut, zero padding.
fn framed(data: &[u8]) -> Vec<Vec<u8>> {
    let mut input = data.iter().copied();
    let mut next = || input.next();
    let mut segments: Vec<(SegmentHeader, Vec<u8>)> = Vec::new();
    let mut last: Zxid = 0;
    while let Some(op) = next() {
        let arg = op >> 3;
        match op & 7 {
            0 => {
                let prev = if arg & 1 == 0 { last } else { last + 1 };
                let first_zxid = prev + 1;
                segments.push((
                    SegmentHeader {
                        first_zxid,
                        prev_zxid: prev,
                    },
                    Vec::new(),
                ));
            }
            1 => {
                let stray: Vec<u8> = (0..arg % 8).filter_map(|_| next()).collect();
                current(&mut segments, last).1.extend(stray);
            }
            2 => {
                let body = &mut current(&mut segments, last).1;
                body.truncate(body.len().saturating_sub(arg as usize + 1));
            }
            3 => current(&mut segments, last)
                .1
                .extend(vec![0; 16 * arg as usize]),
            _ => {
                let zxid = match arg % 8 {
                    0 => last,
                    1 => last + 2,
                    2 => zxid::make(zxid::epoch(last) + 1, arg as u32 / 8),
                    _ => last + 1,
                };
                let payload: Vec<u8> = (0..next().unwrap_or(0) % 32)
                    .filter_map(|_| next())
                    .collect();
                let (header, body) = current(&mut segments, last);
                if body.is_empty() {
                    header.first_zxid = zxid;
                }
                encode_record(body, zxid, &payload);
                last = zxid;
            }
        }
    }
    segments
        .into_iter()
        .map(|(header, body)| [header.encode().to_vec(), body].concat())
        .collect()
}

/// The segment being built, started if there is none.
fn current(
    segments: &mut Vec<(SegmentHeader, Vec<u8>)>,
    last: Zxid,
) -> &mut (SegmentHeader, Vec<u8>) {
    if segments.is_empty() {
        let header = SegmentHeader {
            first_zxid: last + 1,
            prev_zxid: last,
        };
        segments.push((header, Vec::new()));
    }
    segments.last_mut().unwrap()
}
