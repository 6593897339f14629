//! When snapshots are taken: every `snapCount` transactions (randomised between half
//! and all of it, as in ZooKeeper) and whenever `snapSizeLimitInKb` of log has been
//! written since the last one.

use std::time::Duration;

use ferrokeeper_tests::zkc::{connect, persistent, within};
use ferrokeeper_tests::{eventually, scratch_dir, ServerProcess};

fn snapshots_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("snapshot.") && !name.ends_with(".tmp")
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_snapshot_is_taken_after_snap_count_transactions() {
    let dir = scratch_dir("snapcount");
    let server = ServerProcess::start_in(&dir, &["--set", "snapCount=20"]);
    let client = connect(&server).await;
    assert_eq!(snapshots_in(&dir), 0);
    for i in 0..25 {
        within(client.create(&format!("/n{i}"), b"x", &persistent()))
            .await
            .unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || snapshots_in(&dir) >= 1),
        "no snapshot after 25 transactions with snapCount=20"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_snapshot_is_taken_after_snap_size_limit_of_log() {
    let dir = scratch_dir("snapsize");
    let args = [
        "--set",
        "snapCount=1000000",
        "--set",
        "snapSizeLimitInKb=32",
    ];
    let server = ServerProcess::start_in(&dir, &args);
    let client = connect(&server).await;
    let data = vec![b'd'; 4096];
    for i in 0..4 {
        within(client.create(&format!("/n{i}"), &data, &persistent()))
            .await
            .unwrap();
    }
    assert_eq!(
        snapshots_in(&dir),
        0,
        "16 KiB logged is under the 32 KiB limit"
    );
    for i in 4..12 {
        within(client.create(&format!("/n{i}"), &data, &persistent()))
            .await
            .unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || snapshots_in(&dir) >= 1),
        "no snapshot after 48 KiB of log with snapSizeLimitInKb=32"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
