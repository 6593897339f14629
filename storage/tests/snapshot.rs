//! Snapshots: streaming round trips with and without compression, damage detection,
//! choosing the newest valid one while reporting newer invalid ones, temp files.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use common::flip_byte;
use ferrokeeper_storage::env::fault::FaultyFileSystem;
use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::snapshot::verify;
use ferrokeeper_storage::{
    latest_valid_snapshot, remove_temp_files, Corruption, Error, SnapshotOptions, SnapshotReader,
    SnapshotWriter, Zxid,
};

/// Some megabytes of content: compressible, but not trivially.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            if i % 64 < 48 {
                (i / 64) as u8
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

fn write_snapshot(dir: &Path, zxid: Zxid, data: &[u8], zstd: Option<i32>) {
    let mut w = SnapshotWriter::create(dir, zxid, SnapshotOptions { zstd_level: zstd }).unwrap();
    // In uneven pieces, as a serializer would.
    for piece in data.chunks(7919) {
        w.write_all(piece).unwrap();
    }
    let info = w.finish().unwrap();
    assert_eq!(info.zxid, zxid);
    assert_eq!(info.content_len, data.len() as u64);
    assert_eq!(info.compressed, zstd.is_some());
    assert_eq!(info.file_len, fs::metadata(&info.path).unwrap().len());
}

fn read_all(path: &Path) -> Result<Vec<u8>, Error> {
    let mut reader = SnapshotReader::open(path)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 5000];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Err(e
                    .get_ref()
                    .and_then(|i| i.downcast_ref::<Error>())
                    .cloned()
                    .unwrap_or_else(|| panic!("{e}")))
            }
        }
    }
    assert_eq!(reader.finish()?, 0);
    Ok(out)
}

#[test]
fn snapshot_round_trips_uncompressed_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(1, 3 << 20);
    write_snapshot(dir.path(), 0x1_0000_0010, &data, None);
    let plain = dir.path().join("snapshot.0000000100000010");
    assert_eq!(read_all(&plain).unwrap(), data);
    assert_eq!(fs::metadata(&plain).unwrap().len(), data.len() as u64 + 64);

    let cdir = tempfile::tempdir().unwrap();
    write_snapshot(cdir.path(), 0x1_0000_0010, &data, Some(3));
    let packed = cdir.path().join("snapshot.0000000100000010");
    assert!(fs::metadata(&packed).unwrap().len() < data.len() as u64 / 2);
    assert_eq!(read_all(&packed).unwrap(), data);
    let info = SnapshotReader::open(&packed).unwrap().info().clone();
    assert!(info.compressed);
    assert_eq!(verify(&packed).unwrap(), info);
}

#[test]
fn empty_snapshot_round_trips() {
    for zstd in [None, Some(1)] {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), 0, &[], zstd);
        let sel = latest_valid_snapshot(dir.path()).unwrap();
        let info = sel.latest.unwrap();
        assert_eq!(info.zxid, 0);
        assert_eq!(read_all(&info.path).unwrap(), Vec::<u8>::new());
    }
}

#[test]
fn a_reader_that_stops_early_still_verifies_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let data = content(2, 100_000);
    write_snapshot(dir.path(), 9, &data, None);
    let path = dir.path().join("snapshot.0000000000000009");
    let mut reader = SnapshotReader::open(&path).unwrap();
    let mut first = vec![0u8; 1000];
    reader.read_exact(&mut first).unwrap();
    assert_eq!(reader.finish().unwrap(), 99_000);

    flip_byte(&path, 32 + 50_000);
    let mut reader = SnapshotReader::open(&path).unwrap();
    reader.read_exact(&mut first).unwrap();
    assert!(matches!(
        reader.finish(),
        Err(Error::CorruptSnapshot {
            kind: Corruption::BadContentChecksum,
            ..
        })
    ));
}

#[test]
fn damage_anywhere_is_detected_by_reader_and_verify() {
    let data = content(3, 50_000);
    for zstd in [None, Some(3)] {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), 7, &data, zstd);
        let path = dir.path().join("snapshot.0000000000000007");
        let len = fs::metadata(&path).unwrap().len();
        for offset in [
            0,
            5,
            20,
            31,
            32,
            33,
            len / 2,
            len - 40,
            len - 32,
            len - 20,
            len - 1,
        ] {
            let copy = tempfile::tempdir().unwrap();
            let victim = copy.path().join("snapshot.0000000000000007");
            fs::copy(&path, &victim).unwrap();
            flip_byte(&victim, offset);
            let what = format!("flip at {offset} of {len} (zstd {zstd:?})");
            let err = verify(&victim).expect_err(&what);
            assert!(err.is_corruption(), "{what}: {err}");
            assert!(err.to_string().contains(&victim.display().to_string()));
            let err = read_all(&victim).expect_err(&what);
            assert!(err.is_corruption(), "{what}: {err}");
        }
    }
}

#[test]
fn newest_valid_snapshot_is_chosen_and_newer_invalid_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    for zxid in [10, 20, 30, 40] {
        write_snapshot(dir.path(), zxid, &content(zxid as u64, 10_000), None);
    }
    let sel = latest_valid_snapshot(dir.path()).unwrap();
    assert_eq!(sel.latest.unwrap().zxid, 40);
    assert!(sel.invalid_newer.is_empty());

    let s40 = dir.path().join("snapshot.0000000000000028");
    let s30 = dir.path().join("snapshot.000000000000001e");
    flip_byte(&s40, 5000);
    // An unfinished file (no trailer) in place of 30.
    let data = fs::read(&s30).unwrap();
    fs::write(&s30, &data[..data.len() - 10]).unwrap();

    let sel = latest_valid_snapshot(dir.path()).unwrap();
    let latest = sel.latest.unwrap();
    assert_eq!(latest.zxid, 20);
    assert_eq!(read_all(&latest.path).unwrap(), content(20, 10_000));
    match sel.invalid_newer.as_slice() {
        [Error::CorruptSnapshot {
            path: p40,
            kind: Corruption::BadContentChecksum,
            ..
        }, Error::CorruptSnapshot {
            path: p30,
            kind: Corruption::BadTrailer,
            ..
        }] => {
            assert_eq!(p40, &s40);
            assert_eq!(p30, &s30);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_valid_snapshot_is_an_error_but_no_snapshot_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let sel = latest_valid_snapshot(dir.path()).unwrap();
    assert!(sel.latest.is_none() && sel.invalid_newer.is_empty());
    let missing = dir.path().join("nope");
    assert!(latest_valid_snapshot(&missing).unwrap().latest.is_none());

    write_snapshot(dir.path(), 5, &content(5, 1000), None);
    flip_byte(&dir.path().join("snapshot.0000000000000005"), 100);
    match latest_valid_snapshot(dir.path()) {
        Err(Error::NoValidSnapshot { invalid }) => {
            assert_eq!(invalid.len(), 1);
            assert!(invalid[0].to_string().contains("snapshot.0000000000000005"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unfinished_snapshots_are_invisible_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    write_snapshot(dir.path(), 1, b"one", None);
    // A writer dropped before finishing removes its temp file.
    {
        let mut w = SnapshotWriter::create(dir.path(), 2, SnapshotOptions::default()).unwrap();
        w.write_all(b"half").unwrap();
        assert!(dir.path().join("snapshot.0000000000000002.tmp").exists());
    }
    assert!(!dir.path().join("snapshot.0000000000000002.tmp").exists());
    // A crash leaves one behind: ignored, then removed.
    fs::write(dir.path().join("snapshot.0000000000000003.tmp"), b"junk").unwrap();
    assert_eq!(
        latest_valid_snapshot(dir.path())
            .unwrap()
            .latest
            .unwrap()
            .zxid,
        1
    );
    let fs: Arc<dyn FileSystem> = Arc::new(StdFileSystem);
    let removed = remove_temp_files(&fs, dir.path()).unwrap();
    assert_eq!(
        removed,
        vec![dir.path().join("snapshot.0000000000000003.tmp")]
    );
    assert!(dir.path().join("snapshot.0000000000000001").exists());
}

#[test]
fn a_full_disk_fails_the_snapshot_and_leaves_nothing() {
    for zstd in [None, Some(3)] {
        let dir = tempfile::tempdir().unwrap();
        let (faulty, faults) = FaultyFileSystem::std();
        let env: Arc<dyn FileSystem> = faulty;
        faults.limit_writes(Some(100_000));
        let mut w = SnapshotWriter::create_with_env(
            env.clone(),
            dir.path(),
            4,
            SnapshotOptions { zstd_level: zstd },
        )
        .unwrap();
        let data = content(4, 4 << 20);
        let mut write_failed = false;
        for piece in data.chunks(65536) {
            if w.write_all(piece).is_err() {
                write_failed = true;
                break;
            }
        }
        let err = w.finish().unwrap_err();
        assert!(err.is_no_space(), "{err}");
        assert!(write_failed || zstd.is_some());
        assert!(
            fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no snapshot and no temp file"
        );
        // Space returns: the next attempt works.
        faults.limit_writes(None);
        let mut w = SnapshotWriter::create_with_env(
            env,
            dir.path(),
            4,
            SnapshotOptions { zstd_level: zstd },
        )
        .unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();
        assert_eq!(
            read_all(&dir.path().join("snapshot.0000000000000004")).unwrap(),
            data
        );
    }
}

#[test]
fn a_failed_fsync_fails_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (faulty, faults) = FaultyFileSystem::std();
    let mut w =
        SnapshotWriter::create_with_env(faulty, dir.path(), 4, SnapshotOptions::default()).unwrap();
    w.write_all(b"state").unwrap();
    faults.fail_next_syncs(1);
    assert!(w.finish().is_err());
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none());
}
