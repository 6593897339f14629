//! A real full disk: the data directory is a small tmpfs. Writes that cannot be logged
//! fail with SystemError and are not applied, reads keep working, writes resume once
//! space returns, and nothing acknowledged is lost across a restart.
//!
//! Mounting needs root (as on the CI machines); elsewhere the test says so and passes.

use std::process::Command;

use ferrokeeper_tests::zkc::{connect, persistent, within};
use ferrokeeper_tests::{scratch_dir, ServerProcess};
use zookeeper_client as zk;

/// A tmpfs mounted for the test, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = scratch_dir("tmpfs");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_fails_writes_keeps_reads_and_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("skipped: cannot mount a tmpfs (needs root)");
        return;
    };
    let data = disk.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Room the test gives back later.
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![1u8; 1024 * 1024]).unwrap();

    let args = ["--set", "preAllocSize=64", "--set", "snapCount=1000000"];
    let mut server = ServerProcess::start_in(&data, &args);
    let client = connect(&server).await;
    within(client.create("/kept", b"before", &persistent()))
        .await
        .unwrap();

    // Fill the disk with acknowledged writes until the log refuses one.
    let chunk = vec![7u8; 200 * 1024];
    let mut acknowledged = 0;
    let mut refused = None;
    for i in 0..100 {
        match within(client.create(&format!("/big{i}"), &chunk, &persistent())).await {
            Ok(_) => acknowledged += 1,
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    let (refused_at, err) = refused.expect("a 3 MiB disk never filled up");
    assert!(acknowledged > 0, "nothing fit on the disk at all");
    assert_eq!(
        err,
        zk::Error::UnexpectedErrorCode(-1),
        "SystemError expected"
    );
    assert!(server.is_running(), "the server must stay up on ENOSPC");

    // The refused write was not applied; reads still work.
    let path = format!("/big{refused_at}");
    assert_eq!(within(client.check_stat(&path)).await.unwrap(), None);
    let (value, _) = within(client.get_data("/kept")).await.unwrap();
    assert_eq!(value, b"before");

    // Space returns: writes resume on their own.
    std::fs::remove_file(&filler).unwrap();
    within(client.create(&path, b"after", &persistent()))
        .await
        .unwrap();

    // Everything acknowledged survives a crash.
    server.kill();
    let server = ServerProcess::start_in(&data, &args);
    let client = connect(&server).await;
    for i in 0..acknowledged {
        let (value, _) = within(client.get_data(&format!("/big{i}"))).await.unwrap();
        assert_eq!(value.len(), chunk.len(), "/big{i}");
    }
    let (value, _) = within(client.get_data(&path)).await.unwrap();
    assert_eq!(value, b"after");
    drop(server);
}
