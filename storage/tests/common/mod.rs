//! Helpers shared by the integration tests: small logs in temp dirs, entries with
//! recognisable payloads, byte surgery on files.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrokeeper_storage::env::fault::{Faults, FaultyFileSystem};
use ferrokeeper_storage::env::FileSystem;
use ferrokeeper_storage::{Entry, Log, LogOptions, Recovery, Zxid};

/// Default options but with a small preallocation, so tests stay fast.
pub fn opts() -> LogOptions {
    LogOptions {
        prealloc_size: 4096,
        index_records: true,
        ..LogOptions::default()
    }
}

/// Options that make segments small so tests roll often; preallocation small too.
pub fn small_opts() -> LogOptions {
    LogOptions {
        prealloc_size: 4096,
        segment_size: 2048,
        index_records: true,
        ..LogOptions::default()
    }
}

/// A payload that says which zxid it belongs to, of a length that varies with it.
pub fn payload(zxid: Zxid) -> Vec<u8> {
    let len = ((zxid as u64).wrapping_mul(7) % 61) as usize + 3;
    (0..len)
        .map(|i| (zxid as u8).wrapping_mul(31).wrapping_add(i as u8) | 1)
        .collect()
}

pub fn entry(zxid: Zxid) -> Entry {
    Entry::new(zxid, payload(zxid))
}

pub fn entries(zxids: impl IntoIterator<Item = Zxid>) -> Vec<Entry> {
    zxids.into_iter().map(entry).collect()
}

/// Appends and syncs `zxids` in batches of `batch`.
pub fn write(log: &mut Log, zxids: impl IntoIterator<Item = Zxid>, batch: usize) {
    let all: Vec<Zxid> = zxids.into_iter().collect();
    for chunk in all.chunks(batch) {
        log.append(&entries(chunk.iter().copied())).unwrap();
        log.sync().unwrap();
    }
}

/// Every entry after `after`, checked to be the ones `entry` makes.
pub fn replay(recovery: &Recovery, after: Zxid) -> Vec<Zxid> {
    recovery
        .entries_after(after)
        .unwrap()
        .map(|e| checked(e.unwrap()))
        .collect()
}

/// The zxid of an entry checked to be the one `entry` makes.
pub fn checked(e: Entry) -> Zxid {
    assert_eq!(
        e.payload.as_ref(),
        payload(e.zxid).as_slice(),
        "payload of {:#x}",
        e.zxid
    );
    e.zxid
}

/// A log in `dir` through a fault-injecting file system.
pub fn open_faulty(dir: &Path, opts: LogOptions) -> (Log, Recovery, Arc<Faults>) {
    let (fs, faults) = FaultyFileSystem::std();
    let (log, recovery) = Log::open_with_env(fs as Arc<dyn FileSystem>, dir, opts).unwrap();
    (log, recovery, faults)
}

/// The segment files of a directory, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("log.") && name.len() == 20
        })
        .collect();
    files.sort();
    files
}

/// Names of every file in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Byte offsets of each record in a segment holding `zxids` (header is 40 bytes).
pub fn record_offsets(zxids: impl IntoIterator<Item = Zxid>) -> Vec<u64> {
    let mut at = 40u64;
    zxids
        .into_iter()
        .map(|z| {
            let start = at;
            at += 16 + payload(z).len() as u64;
            start
        })
        .collect()
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut data = fs::read(path).unwrap();
    data[offset as usize] ^= 0x40;
    fs::write(path, data).unwrap();
}

/// Copies every file of `from` into a fresh temp dir.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}
