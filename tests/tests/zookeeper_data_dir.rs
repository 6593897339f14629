//! Ferrokeeper started on Apache ZooKeeper 3.8's data directory, on ZooKeeper's port:
//!
//! - it takes over ZooKeeper's state from its snapshots and log (`version-2`): every
//!   node with its data, stat and ACL, containers and TTL nodes, the sequential
//!   counters, and the sessions with ZooKeeper's passwords — a client connected to
//!   ZooKeeper carries on with the same session, its ephemerals and its watches;
//! - zxids go on above ZooKeeper's, and ZooKeeper's files are left untouched; the
//!   next start reads Ferrokeeper's own files only;
//! - damaged ZooKeeper files: a checksum failure before the end stops the start naming
//!   the file and offset; a last entry ZooKeeper did not finish is dropped, as
//!   ZooKeeper's own recovery drops it;
//! - ZooKeeper files newer than Ferrokeeper's own state (ZooKeeper ran on the
//!   directory again) stop the start instead of being ignored;
//! - started while ZooKeeper still runs on the port, Ferrokeeper fails before it
//!   touches the directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferrokeeper_tests::clients::install_clients;
use ferrokeeper_tests::state::{assert_same_tree, max_zxid, populate, read_tree, BOB};
use ferrokeeper_tests::zkc::{connect, connect_as, ephemeral, open, persistent, within};
use ferrokeeper_tests::{free_port, read_log, scratch_dir, Launch, ServerProcess};
use zookeeper_client as zk;

/// ZooKeeper's files, by name, with their contents.
fn zookeeper_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("version-2"))
        .expect("ZooKeeper's version-2 directory")
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("read ZooKeeper file"))
        })
        .collect()
}

/// ZooKeeper's log files, oldest first.
fn zookeeper_logs(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir.join("version-2"))
        .expect("ZooKeeper's version-2 directory")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let zxid = u64::from_str_radix(name.strip_prefix("log.")?, 16).ok()?;
            Some((zxid, e.path()))
        })
        .collect();
    logs.sort();
    logs.into_iter().map(|(_, path)| path).collect()
}

fn ferrokeeper_on(dir: &Path, port: u16, stderr: &Path) -> Launch {
    Launch::new(dir)
        .port(port)
        .args(&["--extended-types"])
        .stderr_to(stderr)
        .log("info")
}

fn stderr_file(dir: &Path, name: &str) -> PathBuf {
    dir.with_extension(format!("{name}.stderr"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ferrokeeper_takes_over_zookeepers_data_directory_with_its_sessions_and_watches() {
    install_clients();
    let dir = scratch_dir("zk-takeover");
    let port = free_port();
    // snapCount 20: ZooKeeper snapshots every 10 to 19 transactions, so its state is
    // spread over several snapshots and log files, and snapshots are fuzzy.
    let mut zookeeper = ServerProcess::start_zookeeper_on(
        &dir,
        port,
        &["--extended-types", "--set", "snapCount=20"],
    );
    let writer = connect_as(&zookeeper, BOB).await;
    populate(&writer).await;
    // Containers, TTL nodes, and the ephemerals of a session that ends.
    within(writer.create("/box", b"", &open(zk::CreateMode::Container)))
        .await
        .unwrap();
    within(writer.create("/box/item", b"", &persistent()))
        .await
        .unwrap();
    let ttl = open(zk::CreateMode::Persistent).with_ttl(Duration::from_secs(3600));
    within(writer.create("/ttl", b"lives an hour", &ttl))
        .await
        .unwrap();
    let leaving = connect(&zookeeper).await;
    within(leaving.create("/leaving", b"", &ephemeral()))
        .await
        .unwrap();
    drop(leaving);
    // A client that stays connected through the switch, with an ephemeral, a
    // sequential ephemeral and a data watch.
    let survivor = within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(30))
            .connect(&zookeeper.connect_string()),
    )
    .await
    .unwrap();
    within(survivor.create("/survivor", b"mine", &ephemeral()))
        .await
        .unwrap();
    let seq = open(zk::CreateMode::EphemeralSequential);
    within(survivor.create("/app/seq/survivor-", b"", &seq))
        .await
        .unwrap();
    let (_, _, watch) = within(survivor.get_and_watch_data("/app/config"))
        .await
        .unwrap();
    for i in 0..25 {
        within(writer.set_data("/app/last", format!("{i}").as_bytes(), None))
            .await
            .unwrap();
    }
    // Wait for the ephemeral of the closed session to be gone.
    let observer = connect(&zookeeper).await;
    while within(observer.check_stat("/leaving"))
        .await
        .unwrap()
        .is_some()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = read_tree(&writer).await;
    assert!(zookeeper_logs(&dir).len() > 1, "ZooKeeper rolled its log");
    // ZooKeeper crashes; everything it acknowledged is in its log.
    zookeeper.kill();
    drop((writer, observer));
    let zookeeper_before = zookeeper_files(&dir);

    let stderr = stderr_file(&dir, "takeover");
    let mut ferrokeeper = ferrokeeper_on(&dir, port, &stderr).start();
    let log = read_log(&stderr);
    assert!(
        log.contains("took over Apache ZooKeeper's data directory"),
        "{log}"
    );
    let reader = connect_as(&ferrokeeper, BOB).await;
    let after = read_tree(&reader).await;
    assert_same_tree(&before, &after);

    // The survivor's session goes on: same id, ZooKeeper's password accepted, its
    // ephemerals kept, and its watch re-registered.
    within(reader.set_data("/app/config", b"changed on ferrokeeper", None))
        .await
        .unwrap();
    let event = within(watch.changed()).await;
    assert_eq!(event.event_type, zk::EventType::NodeDataChanged);
    assert_eq!(event.path, "/app/config");
    let stat = within(survivor.check_stat("/survivor"))
        .await
        .unwrap()
        .expect("the survivor's ephemeral is kept");
    assert_eq!(stat.ephemeral_owner, survivor.session_id().0);
    assert_eq!(
        within(survivor.list_ephemerals("/")).await.unwrap().len(),
        2
    );
    // Zxids go on above ZooKeeper's; the sequence counters too.
    let (stat, name) = within(survivor.create("/app/seq/survivor-", b"", &seq))
        .await
        .unwrap();
    assert!(stat.czxid > max_zxid(&before));
    assert_eq!(
        name.to_string(),
        "0000000006",
        "5 items and one survivor created before"
    );
    assert_eq!(zookeeper_files(&dir), zookeeper_before, "ZooKeeper's files");

    // The next start reads Ferrokeeper's own files.
    let before_restart = read_tree(&reader).await;
    drop(reader);
    assert!(ferrokeeper.terminate().is_some_and(|s| s.success()));
    let stderr = stderr_file(&dir, "restart");
    let ferrokeeper = ferrokeeper_on(&dir, port, &stderr).start();
    let log = read_log(&stderr);
    assert!(!log.contains("took over"), "{log}");
    let reader = connect_as(&ferrokeeper, BOB).await;
    assert_same_tree(&before_restart, &read_tree(&reader).await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// ZooKeeper on a fresh directory, `n` creates `/n0` .. by one client, then a crash.
async fn zookeeper_directory(what: &str, n: usize) -> PathBuf {
    install_clients();
    let dir = scratch_dir(what);
    let mut zookeeper = ServerProcess::start_zookeeper_on(&dir, free_port(), &[]);
    let client = connect(&zookeeper).await;
    for i in 0..n {
        within(client.create(&format!("/n{i}"), b"data", &persistent()))
            .await
            .unwrap();
    }
    zookeeper.kill();
    dir
}

#[tokio::test]
async fn a_checksum_failure_in_zookeepers_log_stops_the_start_naming_file_and_offset() {
    let dir = zookeeper_directory("zk-corrupt", 5).await;
    let log = zookeeper_logs(&dir).pop().expect("a ZooKeeper log");
    // The first entry (after the 16-byte file header): its checksum, length, then
    // the transaction; flip a byte of the transaction.
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[16 + 12 + 10] ^= 0x40;
    std::fs::write(&log, bytes).unwrap();
    let stderr = stderr_file(&dir, "corrupt");
    let failure = ferrokeeper_on(&dir, free_port(), &stderr)
        .try_start()
        .err()
        .expect("the start fails");
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1));
    assert!(
        failure.stderr.contains(&format!(
            "ZooKeeper's {} is corrupt at byte 16: checksum mismatch",
            log.display()
        )),
        "{}",
        failure.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// How a crash in mid-append leaves ZooKeeper's last log entry.
enum Damage {
    /// The file ends inside the entry.
    Cut,
    /// The entry's last bytes are still the zeros ZooKeeper preallocated.
    Zeroed,
}

#[tokio::test]
async fn a_last_zookeeper_log_entry_cut_short_is_dropped_as_zookeeper_drops_it() {
    let damages = [
        ("cut", Damage::Cut, "a partial entry"),
        ("zeroed", Damage::Zeroed, "an entry without its end marker"),
    ];
    for (what, damage, reason) in damages {
        let dir = zookeeper_directory(&format!("zk-torn-{what}"), 5).await;
        let log = zookeeper_logs(&dir).pop().expect("a ZooKeeper log");
        // The last non-zero byte ends the last entry.
        let mut bytes = std::fs::read(&log).unwrap();
        let end = bytes.iter().rposition(|&b| b != 0).unwrap();
        match damage {
            Damage::Cut => bytes.truncate(end - 4),
            Damage::Zeroed => bytes[end - 4..=end].fill(0),
        }
        std::fs::write(&log, &bytes).unwrap();
        let stderr = stderr_file(&dir, "torn");
        let server = ferrokeeper_on(&dir, free_port(), &stderr).start();
        let client = connect(&server).await;
        assert!(within(client.check_stat("/n3")).await.unwrap().is_some());
        assert!(within(client.check_stat("/n4")).await.unwrap().is_none());
        let log_text = read_log(&stderr);
        assert!(
            log_text.contains(&format!("ZooKeeper's log ends with {reason}")),
            "{what}: {log_text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn zookeeper_writes_after_a_takeover_stop_the_next_start() {
    let dir = zookeeper_directory("zk-newer", 2).await;
    let port = free_port();
    // Ferrokeeper takes over, serves nothing, stops ...
    let stderr = stderr_file(&dir, "first");
    let mut ferrokeeper = ferrokeeper_on(&dir, port, &stderr).start();
    assert!(ferrokeeper.terminate().is_some_and(|s| s.success()));
    // ... ZooKeeper runs on the directory again and takes writes ...
    let mut zookeeper = ServerProcess::start_zookeeper_on(&dir, port, &[]);
    let client = connect(&zookeeper).await;
    within(client.create("/written-by-zookeeper", b"", &persistent()))
        .await
        .unwrap();
    zookeeper.kill();
    // ... so Ferrokeeper's own state is stale: it refuses rather than lose them.
    let stderr = stderr_file(&dir, "second");
    let failure = ferrokeeper_on(&dir, port, &stderr)
        .try_start()
        .err()
        .expect("the start fails");
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1));
    assert!(
        failure
            .stderr
            .contains("newer than Ferrokeeper's own state"),
        "{}",
        failure.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn started_beside_a_running_zookeeper_it_fails_before_touching_the_directory() {
    install_clients();
    let dir = scratch_dir("zk-running");
    let port = free_port();
    let zookeeper = ServerProcess::start_zookeeper_on(&dir, port, &[]);
    let client = connect(&zookeeper).await;
    within(client.create("/busy", b"", &persistent()))
        .await
        .unwrap();
    let stderr = stderr_file(&dir, "beside");
    let failure = ferrokeeper_on(&dir, port, &stderr)
        .try_start()
        .err()
        .expect("the start fails");
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1));
    assert!(
        failure.stderr.contains("cannot listen on"),
        "{}",
        failure.stderr
    );
    let ours: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "version-2")
        .collect();
    assert!(ours.is_empty(), "Ferrokeeper wrote {ours:?}");
    drop((client, zookeeper));
    let _ = std::fs::remove_dir_all(&dir);
}
