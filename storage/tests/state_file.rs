//! State files: replaced atomically, durable on return, damage detected.

use std::fs;
use std::sync::Arc;

use ferrokeeper_storage::env::fault::FaultyFileSystem;
use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::{read_state_file, write_state_file, Error};

#[test]
fn round_trips_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vote");
    let fs = StdFileSystem;
    assert_eq!(read_state_file(&fs, &path).unwrap(), None);
    write_state_file(&fs, &path, b"term 1").unwrap();
    write_state_file(&fs, &path, b"term 2, voted for 3").unwrap();
    assert_eq!(
        read_state_file(&fs, &path).unwrap().as_deref(),
        Some(&b"term 2, voted for 3"[..])
    );
    write_state_file(&fs, &path, b"").unwrap();
    assert_eq!(read_state_file(&fs, &path).unwrap(), Some(vec![]));
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["vote"], "no temp file is left");
}

#[test]
fn a_failed_fsync_fails_the_write_and_keeps_the_old_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vote");
    let (fs, faults) = FaultyFileSystem::std();
    write_state_file(fs.as_ref(), &path, b"old").unwrap();
    let syncs = faults.file_syncs();
    faults.fail_next_syncs(1);
    let err = write_state_file(fs.as_ref(), &path, b"new").unwrap_err();
    assert!(matches!(err, Error::Io { op: "fsync", .. }), "{err}");
    assert_eq!(faults.file_syncs(), syncs);
    assert_eq!(
        read_state_file(fs.as_ref(), &path).unwrap().as_deref(),
        Some(&b"old"[..])
    );
    // A write that succeeds was fsynced, and so was its directory.
    let dir_syncs = faults.dir_syncs();
    write_state_file(fs.as_ref(), &path, b"new").unwrap();
    assert_eq!(
        (faults.file_syncs(), faults.dir_syncs()),
        (syncs + 1, dir_syncs + 1)
    );
}

#[test]
fn damage_and_leftover_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vote");
    let fs: Arc<dyn FileSystem> = Arc::new(StdFileSystem);
    write_state_file(fs.as_ref(), &path, b"term 7").unwrap();
    let mut bytes = fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    fs::write(&path, &bytes).unwrap();
    let err = read_state_file(fs.as_ref(), &path).unwrap_err();
    assert!(
        matches!(err, Error::CorruptStateFile { .. }) && err.is_corruption(),
        "{err}"
    );
    fs::write(&path, b"FKST").unwrap();
    assert!(matches!(
        read_state_file(fs.as_ref(), &path),
        Err(Error::CorruptStateFile { .. })
    ));
    // A crash between writing the temp file and renaming it.
    fs::write(dir.path().join("vote.tmp"), b"half").unwrap();
    write_state_file(fs.as_ref(), &path, b"term 8").unwrap();
    assert_eq!(
        read_state_file(fs.as_ref(), &path).unwrap().as_deref(),
        Some(&b"term 8"[..])
    );
}
