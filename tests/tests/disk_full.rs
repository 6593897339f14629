//! A real full disk: the data directory is a small tmpfs. Writes that cannot be logged
//! fail with SystemError and are not applied, reads keep working, writes resume once
//! space returns, and nothing acknowledged is lost across a restart. When the log
//! cannot even cut a failed batch back (its segment made append-only, so it cannot be
//! truncated), the server stops with exit status 1, and a restart recovers every
//! acknowledged write.
//!
//! Mounting needs root, as on the CI machines; without it these tests fail saying so
//! (leave them out with `--skip disk_full`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferrokeeper_tests::zkc::{connect, persistent, within};
use ferrokeeper_tests::{read_log, scratch_dir, Launch, ServerProcess};
use zookeeper_client as zk;

/// A tmpfs mounted for the test, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = scratch_dir("tmpfs");
        let mount = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("run mount");
        if !mount.status.success() {
            let _ = std::fs::remove_dir(&dir);
        }
        assert!(
            mount.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&mount.stderr)
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chattr <flag> <path>` (tmpfs takes the append-only attribute).
fn chattr(flag: &str, path: &Path) {
    let status = Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("run chattr");
    assert!(status.success(), "chattr {flag} {}", path.display());
}

/// The log segment being written: the newest `log.<zxid>` in `dir`.
fn active_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("data dir")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("log.") && name.len() == "log.".len() + 16
        })
        .collect();
    segments.sort();
    segments.pop().expect("a log segment")
}

/// The server's flags: 64 KiB preallocation chunks, no snapshot.
const ARGS: [&str; 4] = ["--set", "preAllocSize=64", "--set", "snapCount=1000000"];

/// Bytes of each znode written to fill the disk.
const CHUNK: usize = 200 * 1024;

/// A 3 MiB tmpfs with the data directory and a 1 MiB file a test can free later.
struct FullDisk {
    data: PathBuf,
    filler: PathBuf,
    /// Unmounted when this is dropped.
    _disk: SmallDisk,
}

impl FullDisk {
    fn mount() -> FullDisk {
        let disk = SmallDisk::mount("3m");
        let data = disk.0.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let filler = disk.0.join("filler");
        std::fs::write(&filler, vec![1u8; 1024 * 1024]).unwrap();
        FullDisk {
            data,
            filler,
            _disk: disk,
        }
    }
}

/// Creates `/big0`, `/big1`, ... of [`CHUNK`] bytes until one is refused: how many
/// were acknowledged (so the refused one is `/big<that many>`) and its error.
async fn fill(client: &zk::Client) -> (usize, zk::Error) {
    let chunk = vec![7u8; CHUNK];
    for i in 0..100 {
        if let Err(e) = within(client.create(&format!("/big{i}"), &chunk, &persistent())).await {
            assert!(i > 0, "nothing fit on the disk at all");
            return (i, e);
        }
    }
    panic!("a 3 MiB disk never filled up");
}

/// `/kept` and the first `acknowledged` nodes of [`fill`] are there, whole.
async fn expect_acknowledged(client: &zk::Client, acknowledged: usize) {
    let (value, _) = within(client.get_data("/kept")).await.unwrap();
    assert_eq!(value, b"before");
    for i in 0..acknowledged {
        let (value, _) = within(client.get_data(&format!("/big{i}"))).await.unwrap();
        assert_eq!(value.len(), CHUNK, "/big{i}");
    }
}

#[tokio::test]
async fn a_full_disk_fails_writes_keeps_reads_and_recovers_when_space_returns() {
    let disk = FullDisk::mount();
    let mut server = ServerProcess::start_in(&disk.data, &ARGS);
    let client = connect(&server).await;
    within(client.create("/kept", b"before", &persistent()))
        .await
        .unwrap();

    // Fill the disk with acknowledged writes until the log refuses one.
    let (acknowledged, err) = fill(&client).await;
    assert_eq!(
        err,
        zk::Error::UnexpectedErrorCode(-1),
        "SystemError expected"
    );
    assert!(server.is_running(), "the server must stay up on ENOSPC");

    // The refused write was not applied; reads still work.
    let path = format!("/big{acknowledged}");
    assert_eq!(within(client.check_stat(&path)).await.unwrap(), None);
    let (value, _) = within(client.get_data("/kept")).await.unwrap();
    assert_eq!(value, b"before");

    // Space returns: writes resume on their own.
    std::fs::remove_file(&disk.filler).unwrap();
    within(client.create(&path, b"after", &persistent()))
        .await
        .unwrap();

    // Everything acknowledged survives a crash.
    server.kill();
    let server = ServerProcess::start_in(&disk.data, &ARGS);
    let client = connect(&server).await;
    expect_acknowledged(&client, acknowledged).await;
    let (value, _) = within(client.get_data(&path)).await.unwrap();
    assert_eq!(value, b"after");
    drop(server);
}

#[tokio::test]
async fn a_log_that_cannot_cut_a_failed_batch_back_stops_the_server_with_status_1() {
    let disk = FullDisk::mount();
    let log = scratch_dir("poisoned-log").join("server.log");
    let mut server = Launch::new(&disk.data).args(&ARGS).stderr_to(&log).start();
    let client = connect(&server).await;
    within(client.create("/kept", b"before", &persistent()))
        .await
        .unwrap();
    // Appends still work, but a failed batch can no longer be cut off the segment.
    let segment = active_segment(&disk.data);
    chattr("+a", &segment);

    // Fill the disk: the write that does not fit cannot be undone, so it is never
    // answered and the server stops rather than go on with a log it cannot vouch for.
    let (acknowledged, refused) = fill(&client).await;
    assert_ne!(
        refused,
        zk::Error::UnexpectedErrorCode(-1),
        "a batch that cannot be cut back must not be answered SystemError as if undone"
    );
    let status = server
        .exited_within(Duration::from_secs(10))
        .expect("the server must stop when its log cannot cut a failed batch back");
    assert_eq!(status.code(), Some(1), "{status:?}");
    let stderr = read_log(&log);
    assert!(
        stderr.contains("the transaction log cannot continue; stopping")
            && stderr.contains("ferrokeeper: the transaction log failed: the log is unusable")
            // Both causes: the full disk, and why the batch could not be cut back.
            && stderr.contains("No space left on device")
            && stderr.contains("the failed batch could not be cut back from the log")
            && stderr.contains("Operation not permitted"),
        "{stderr}"
    );
    drop(client);

    // Recovery decides from the disk: every acknowledged write is there.
    chattr("-a", &segment);
    std::fs::remove_file(&disk.filler).unwrap();
    let server = ServerProcess::start_in(&disk.data, &ARGS);
    let client = connect(&server).await;
    expect_acknowledged(&client, acknowledged).await;
    drop(server);
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}
