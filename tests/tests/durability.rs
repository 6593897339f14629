//! Durability end to end: the real binary on a real data directory, stopped (SIGKILL or
//! SIGTERM) and started again.
//!
//! - a restart keeps every node with its data, stat (versions, zxids, times), ACL and
//!   the parents' sequential counters, and zxids continue above every one used before —
//!   from the log alone, and from snapshots plus the log after them;
//! - sessions survive a restart: the same client reconnects to the same port and finds
//!   its session and ephemerals; a new client resumes with id and password; a session
//!   whose client does not come back expires after its timeout and its ephemerals go;
//! - damaged files: a log cut inside its last record, or whose last record fails its
//!   checksum, is a torn tail (repaired, reported, only that record lost); a flipped
//!   byte before the tail stops the server naming file and offset, unless
//!   `ferrokeeper.recovery.truncateCorruptLog=true`; a damaged newest snapshot falls
//!   back to an older one, and a damaged only snapshot stops the server naming it;
//! - `--in-memory` writes no file.
//!
//! The random crash loop is in `crash_loop.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use ferrokeeper_storage::{read_segment, SegmentDump};
use ferrokeeper_tests::state::{
    anyone, assert_same_tree, max_zxid, populate, read_tree, Tree, BOB,
};
use ferrokeeper_tests::zkc::{connect, connect_as, ephemeral, persistent, within};
use ferrokeeper_tests::{scratch_dir, Launch, ServerProcess, Stop};
use zookeeper_client as zk;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A data directory for a test, removed when the test ends (unless it panicked, so
/// the files can be looked at).
struct DataDir {
    path: PathBuf,
}

impl DataDir {
    fn new(what: &str) -> DataDir {
        DataDir {
            path: scratch_dir(what),
        }
    }

    /// A fresh file name for a server's stderr, beside the data directory.
    fn stderr_file(&self, name: &str) -> PathBuf {
        let mut file = self.path.clone().into_os_string();
        file.push(format!(".{name}.stderr"));
        PathBuf::from(file)
    }

    fn launch(&self, args: &[&str]) -> Launch {
        Launch::new(&self.path).args(args)
    }

    /// A server on this directory with stderr captured (at `log` level) in a file of
    /// its own.
    fn start_logged(&self, name: &str, log: &str, args: &[&str]) -> ServerProcess {
        self.launch(args)
            .stderr_to(&self.stderr_file(name))
            .log(log)
            .start()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
            if let Some(parent) = self.path.parent() {
                let prefix = format!("{}.", self.path.file_name().unwrap().to_string_lossy());
                for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                    if entry.file_name().to_string_lossy().starts_with(&prefix) {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
    }
}

/// The files in `dir` named `<prefix>.<16 hex digits>`, oldest (lowest zxid) first.
fn zxid_files(dir: &Path, prefix: &str) -> Vec<(i64, PathBuf)> {
    let mut files: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)
        .expect("read data dir")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let hex = name.strip_prefix(prefix)?.strip_prefix('.')?;
            if hex.len() != 16 {
                return None;
            }
            let zxid = i64::from_str_radix(hex, 16).ok()?;
            Some((zxid, entry.path()))
        })
        .collect();
    files.sort();
    files
}

fn log_segments(dir: &Path) -> Vec<(i64, PathBuf)> {
    zxid_files(dir, "log")
}

fn snapshots(dir: &Path) -> Vec<(i64, PathBuf)> {
    zxid_files(dir, "snapshot")
}

fn has_temp_snapshot(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .expect("read data dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
}

/// Waits until no snapshot is being written (none is started without writes).
fn wait_for_snapshots_to_settle(dir: &Path) {
    std::thread::sleep(Duration::from_millis(200));
    let deadline = Instant::now() + Duration::from_secs(10);
    while has_temp_snapshot(dir) {
        assert!(Instant::now() < deadline, "a snapshot never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn dump_segment(path: &Path) -> SegmentDump {
    let fs: Arc<dyn FileSystem> = Arc::new(StdFileSystem);
    read_segment(&fs, path).expect("read log segment")
}

/// Offset and length (header included) of the record holding `zxid`, in whichever
/// segment has it.
fn find_record(dir: &Path, zxid: i64) -> (PathBuf, u64, u64) {
    for (_, path) in log_segments(dir) {
        let dump = dump_segment(&path);
        if let Some((offset, entry)) = dump.entries.iter().find(|(_, e)| e.zxid == zxid) {
            return (
                path,
                *offset,
                RECORD_HEADER_LEN + entry.payload.len() as u64,
            );
        }
    }
    panic!("no log record has zxid {zxid:#x}");
}

/// len u32 | zxid i64 | crc32c u32 (storage/README.md).
const RECORD_HEADER_LEN: u64 = 16;

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read file");
    bytes[offset as usize] ^= 0xff;
    std::fs::write(path, bytes).expect("write file");
}

/// The value of `key=` in the last line of `log` that contains `message`.
fn logged_field(log: &str, message: &str, key: &str) -> Option<String> {
    let line = log.lines().rev().find(|l| l.contains(message))?;
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(
        line[start..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned(),
    )
}

fn replayed(log: &str) -> u64 {
    logged_field(log, "recovered", "replayed")
        .unwrap_or_else(|| panic!("no \"recovered\" line in the server's log:\n{log}"))
        .parse()
        .expect("replayed count")
}

/// Sets `/app/counter` `n` times (creating it first); returns the last zxid.
async fn bump(client: &zk::Client, n: usize) -> i64 {
    if within(client.check_stat("/app/counter"))
        .await
        .unwrap()
        .is_none()
    {
        within(client.create("/app/counter", b"0", &persistent()))
            .await
            .unwrap();
    }
    let mut zxid = 0;
    for i in 0..n {
        let stat = within(client.set_data("/app/counter", i.to_string().as_bytes(), None))
            .await
            .unwrap();
        zxid = stat.mzxid;
    }
    zxid
}

// ---------------------------------------------------------------------------------
// 1. A restart keeps the data
// ---------------------------------------------------------------------------------

async fn restart_keeps_everything(how: Stop, with_snapshots: bool) {
    let dir = DataDir::new("restart");
    // snapCount 20: a snapshot every 10 to 19 transactions.
    let args: &[&str] = if with_snapshots {
        &["--set", "snapCount=20"]
    } else {
        &[]
    };
    let mut server = dir.start_logged("first", "info", args);
    let client = connect_as(&server, BOB).await;
    let mut last = populate(&client).await;
    if with_snapshots {
        // (A snapshot still being written when one is due delays the next one.)
        for _ in 0..20 {
            last = bump(&client, 15).await;
            wait_for_snapshots_to_settle(&dir.path);
            if snapshots(&dir.path).len() >= 2 {
                break;
            }
        }
        // The last transactions must come from the log: if the newest snapshot holds
        // them all, write one more (far fewer than the 10 that could start a snapshot).
        for _ in 0..3 {
            let newest = snapshots(&dir.path).last().map(|(z, _)| *z).unwrap_or(0);
            if newest < last {
                break;
            }
            last = bump(&client, 1).await;
            wait_for_snapshots_to_settle(&dir.path);
        }
        let snaps = snapshots(&dir.path);
        assert!(snaps.len() >= 2, "snapshots were taken: {snaps:?}");
        assert!(snaps.last().unwrap().0 < last, "{snaps:?} vs {last:#x}");
    }
    let before = read_tree(&client).await;
    let max_before = max_zxid(&before);
    assert_eq!(max_before, last);
    server.stop(how);
    drop(client);
    if !with_snapshots {
        assert!(
            snapshots(&dir.path).is_empty(),
            "no snapshot without snapCount"
        );
    }

    let server = dir.start_logged("second", "info", args);
    let log = server.stderr_text();
    assert!(replayed(&log) > 0, "the log was replayed:\n{log}");
    if with_snapshots {
        let loaded = logged_field(&log, "loaded snapshot", "path")
            .unwrap_or_else(|| panic!("no snapshot loaded:\n{log}"));
        assert_eq!(
            PathBuf::from(loaded),
            snapshots(&dir.path).last().unwrap().1,
            "the newest snapshot was loaded"
        );
    } else {
        assert!(!log.contains("loaded snapshot"), "{log}");
    }
    let client = connect_as(&server, BOB).await;
    let after = read_tree(&client).await;
    assert_same_tree(&before, &after);
    assert_eq!(after["/app/config"].0, b"v4");
    assert_eq!(after["/app/config"].1.version, 4);
    assert_eq!(after["/app/shared"].1.aversion, 1);
    assert!(!after.contains_key("/app/gone"));

    // ACLs are enforced as before.
    let stranger = connect(&server).await;
    assert_eq!(
        within(stranger.get_data("/app/private")).await.unwrap_err(),
        zk::Error::NoAuth
    );
    within(stranger.set_data("/app/shared", b"anyone may write now", None))
        .await
        .unwrap();
    assert_eq!(
        within(stranger.set_acl("/app/shared", &[anyone(zk::Permission::ALL)], None))
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );

    // The sequential counter continues. It counts the creations under the parent
    // (ZooKeeper's persisted cversion; the cversion a client sees counts deletions
    // too: 2 * creations - children).
    let seq_parent = &before["/app/seq"].1;
    let creations = (seq_parent.cversion + seq_parent.num_children) / 2;
    assert_eq!(creations, 5);
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, n) = within(client.create("/app/seq/item-", b"next", &seq))
        .await
        .unwrap();
    assert_eq!(n.to_string(), "0000000005");

    // Zxids are never reused.
    let (stat, _) = within(client.create("/app/after-restart", b"", &persistent()))
        .await
        .unwrap();
    assert!(
        stat.czxid > max_before,
        "czxid {:#x} after a restart must exceed {max_before:#x}",
        stat.czxid
    );
    assert_eq!(stat.czxid >> 32, max_before >> 32, "same epoch");
}

#[tokio::test]
async fn a_restart_after_sigkill_keeps_everything_from_the_log() {
    restart_keeps_everything(Stop::Kill, false).await;
}

#[tokio::test]
async fn a_restart_after_sigkill_keeps_everything_from_snapshots_and_the_log() {
    restart_keeps_everything(Stop::Kill, true).await;
}

#[tokio::test]
async fn a_restart_after_sigterm_keeps_everything_from_the_log() {
    restart_keeps_everything(Stop::Term, false).await;
}

#[tokio::test]
async fn a_restart_after_sigterm_keeps_everything_from_snapshots_and_the_log() {
    restart_keeps_everything(Stop::Term, true).await;
}

#[tokio::test]
async fn repeated_restarts_keep_counting_and_keep_zxids_increasing() {
    let dir = DataDir::new("restarts");
    let mut last = 0;
    let mut seen = Vec::new();
    for round in 0..5 {
        // Alternate settings: forceSync off, tiny preallocation, snapshots every few
        // transactions with purging — the files each leaves must all be readable.
        let args: &[&str] = match round % 3 {
            0 => &["--set", "forceSync=no"],
            1 => &["--set", "preAllocSize=4"],
            _ => &[
                "--set",
                "snapCount=4",
                "--set",
                "autopurge.purgeInterval=1",
                "--set",
                "autopurge.snapRetainCount=3",
            ],
        };
        let mut server = dir.launch(args).start();
        let client = connect(&server).await;
        if round == 0 {
            within(client.create("/r", b"", &persistent()))
                .await
                .unwrap();
        }
        let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        for _ in 0..3 {
            let (stat, n) = within(client.create("/r/n-", b"", &seq)).await.unwrap();
            assert!(
                stat.czxid > last,
                "round {round}: {:#x} <= {last:#x}",
                stat.czxid
            );
            last = stat.czxid;
            seen.push(n.into_i64());
        }
        let children = within(client.list_children("/r")).await.unwrap();
        assert_eq!(children.len(), seen.len(), "round {round}");
        if round % 2 == 0 {
            server.kill();
        } else {
            server.terminate();
        }
    }
    assert_eq!(seen, (0..15).collect::<Vec<i64>>());
}

#[tokio::test]
async fn a_separate_data_log_dir_holds_the_log_and_both_are_recovered() {
    let dir = DataDir::new("split");
    let log_dir = DataDir::new("split-log");
    let log_setting = format!("dataLogDir={}", log_dir.path.display());
    let args = ["--set", &log_setting, "--set", "snapCount=10"];
    let mut server = dir.launch(&args).start();
    let client = connect_as(&server, BOB).await;
    populate(&client).await;
    bump(&client, 30).await;
    wait_for_snapshots_to_settle(&dir.path);
    let before = read_tree(&client).await;
    server.kill();
    drop(client);
    assert!(!snapshots(&dir.path).is_empty(), "snapshots in dataDir");
    assert!(log_segments(&dir.path).is_empty(), "no log in dataDir");
    assert!(
        !log_segments(&log_dir.path).is_empty(),
        "the log in dataLogDir"
    );
    assert!(
        snapshots(&log_dir.path).is_empty(),
        "no snapshot in dataLogDir"
    );

    let server = dir.launch(&args).start();
    let client = connect_as(&server, BOB).await;
    assert_same_tree(&before, &read_tree(&client).await);
}

// ---------------------------------------------------------------------------------
// 2. Sessions survive a restart
// ---------------------------------------------------------------------------------

/// Retries `op` until it succeeds (a client reconnecting after a restart).
async fn until_ok<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, zk::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(Duration::from_secs(2), op()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(e)) if Instant::now() < deadline => {
                eprintln!("{what}: {e}, retrying");
            }
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) if Instant::now() < deadline => {}
            Err(_) => panic!("{what}: timed out"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_client_reconnects_to_the_restarted_server_and_keeps_its_session_and_ephemerals() {
    client_reconnects_after_restart(&[]).await;
}

#[tokio::test]
async fn a_client_keeps_its_session_and_ephemerals_across_a_restart_from_a_snapshot() {
    // snapCount 2: a snapshot after every transaction or so, so the session and its
    // ephemerals come back from a snapshot.
    client_reconnects_after_restart(&["--set", "snapCount=2"]).await;
}

async fn client_reconnects_after_restart(args: &[&str]) {
    let dir = DataDir::new("same-port");
    let mut server = dir.launch(args).start();
    let port = server.port();
    let client = within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(&server.connect_string()),
    )
    .await
    .unwrap();
    let id = client.session_id();
    let (mine, _) = within(client.create("/mine", b"e", &ephemeral()))
        .await
        .unwrap();
    let seq = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    within(client.create("/lock-", b"", &seq)).await.unwrap();
    let mut state = client.state_watcher();
    if args.is_empty() {
        assert!(snapshots(&dir.path).is_empty());
    } else {
        wait_for_snapshots_to_settle(&dir.path);
        assert!(!snapshots(&dir.path).is_empty());
    }

    server.kill();
    assert_eq!(
        within(state.changed()).await,
        zk::SessionState::Disconnected
    );
    // Same port: the client's connect string still points there.
    let server = dir.launch(args).port(port).start();
    let stat = until_ok("reconnect", || client.check_stat("/mine"))
        .await
        .expect("the ephemeral is still there");
    assert_eq!(client.session_id(), id, "the same session");
    assert_eq!(client.state(), zk::SessionState::SyncConnected);
    assert_eq!(stat, mine);
    assert_eq!(stat.ephemeral_owner, id.0);
    let mut ephemerals = within(client.list_ephemerals("/")).await.unwrap();
    ephemerals.sort();
    assert_eq!(ephemerals, ["/lock-0000000001", "/mine"]);
    // The session works: it writes, and its ephemerals go when it closes.
    within(client.create("/mine-too", b"", &ephemeral()))
        .await
        .unwrap();
    let observer = connect(&server).await;
    assert!(within(observer.check_stat("/mine-too"))
        .await
        .unwrap()
        .is_some());
    drop(client);
    let gone = async {
        loop {
            let e = within(observer.list_children("/")).await.unwrap();
            if !e
                .iter()
                .any(|c| c.starts_with("mine") || c.starts_with("lock-"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    within(gone).await;
}

#[tokio::test]
async fn a_new_client_resumes_a_session_after_a_restart_on_another_port() {
    let dir = DataDir::new("resume");
    let mut server = dir.launch(&[]).start();
    let first = within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_detached()
            .connect(&server.connect_string()),
    )
    .await
    .unwrap();
    within(first.create("/kept", b"", &ephemeral()))
        .await
        .unwrap();
    let session = first.session().clone();
    let id = first.session_id();
    server.kill();
    drop(first);

    let server = dir.launch(&[]).start();
    let second = within(
        zk::Client::connector()
            .with_session(session)
            .connect(&server.connect_string()),
    )
    .await
    .expect("the session is still valid after the restart");
    assert_eq!(second.session_id(), id);
    assert_eq!(
        within(second.list_ephemerals("/")).await.unwrap(),
        ["/kept"]
    );
    let stat = within(second.check_stat("/kept")).await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, id.0);
}

#[tokio::test]
async fn sessions_whose_clients_do_not_come_back_expire_after_a_restart() {
    let dir = DataDir::new("expire");
    let args = ["--tick-time", "100"];
    let mut server = dir.launch(&args).start();
    let detached = |timeout_ms| {
        zk::Client::connector()
            .with_session_timeout(Duration::from_millis(timeout_ms))
            .with_detached()
    };
    // `gone` will not come back; `back` will, after `gone` has expired.
    let gone = within(detached(1000).connect(&server.connect_string()))
        .await
        .unwrap();
    let back = within(detached(2000).connect(&server.connect_string()))
        .await
        .unwrap();
    assert_eq!(gone.session_timeout(), Duration::from_millis(1000));
    within(gone.create("/gone", b"", &ephemeral()))
        .await
        .unwrap();
    within(back.create("/back", b"", &ephemeral()))
        .await
        .unwrap();
    let (gone_session, back_session) = (gone.session().clone(), back.session().clone());
    server.kill();
    drop((gone, back));

    // Recovery gives restored sessions a full timeout from when it runs: after
    // `launched`, before the server serves.
    let launched = Instant::now();
    let server = dir.launch(&args).start();
    let observer = connect(&server).await;
    // Restored sessions get a full timeout to come back ...
    let early = within(observer.check_stat("/gone")).await.unwrap();
    if launched.elapsed() < Duration::from_millis(800) {
        assert!(early.is_some(), "expired before its timeout");
    }
    let back = within(
        zk::Client::connector()
            .with_session(back_session)
            .connect(&server.connect_string()),
    )
    .await
    .expect("resume");
    // ... and those that do not come back expire after it.
    let expired = async {
        while within(observer.check_stat("/gone"))
            .await
            .unwrap()
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    within(expired).await;
    let took = launched.elapsed();
    assert!(took >= Duration::from_millis(900), "expired after {took:?}");
    // Generous: a loaded 2-core machine delays the ticks.
    assert!(
        took < Duration::from_millis(10_000),
        "expired after {took:?}"
    );
    let err = within(
        zk::Client::connector()
            .with_session(gone_session)
            .connect(&server.connect_string()),
    )
    .await
    .map(|_| ())
    .unwrap_err();
    assert_eq!(err, zk::Error::SessionExpired);
    // The session that came back lives on, past its own timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(within(back.list_ephemerals("/")).await.unwrap(), ["/back"]);
    assert!(within(observer.check_stat("/back"))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn ephemerals_of_sessions_that_ended_before_a_restart_stay_gone() {
    for args in [
        &["--tick-time", "100"][..],
        &["--tick-time", "100", "--set", "snapCount=2"],
    ] {
        let dir = DataDir::new("ended");
        let mut server = dir.launch(args).start();
        let observer = within(
            zk::Client::connector()
                .with_session_timeout(Duration::from_millis(2000))
                .connect(&server.connect_string()),
        )
        .await
        .unwrap();
        let closed = connect(&server).await;
        within(closed.create("/closed", b"", &ephemeral()))
            .await
            .unwrap();
        let expired = within(
            zk::Client::connector()
                .with_session_timeout(Duration::from_millis(200))
                .with_detached()
                .connect(&server.connect_string()),
        )
        .await
        .unwrap();
        within(expired.create("/expired", b"", &ephemeral()))
            .await
            .unwrap();
        within(observer.create("/alive", b"", &ephemeral()))
            .await
            .unwrap();
        drop(expired); // detached: it goes silent and expires
        drop(closed); // not detached: it closes its session
        let ended = async {
            while within(observer.list_children("/")).await.unwrap().len() > 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        within(ended).await;
        let id = observer.session_id();
        wait_for_snapshots_to_settle(&dir.path);
        server.kill();
        drop(observer);

        let server = dir.launch(args).start();
        let client = connect(&server).await;
        let mut children = within(client.list_children("/")).await.unwrap();
        children.sort();
        assert_eq!(children, ["alive", "zookeeper"], "{args:?}");
        let stat = within(client.check_stat("/alive")).await.unwrap().unwrap();
        assert_eq!(stat.ephemeral_owner, id.0);
    }
}

// ---------------------------------------------------------------------------------
// 4. Torn tails and corruption in real files
// ---------------------------------------------------------------------------------

/// Creates `/t/n0` .. `/t/n{count-1}` (one transaction each), then SIGKILLs the
/// server. Returns each node's czxid.
async fn write_nodes_then_kill(dir: &DataDir, count: usize) -> Vec<i64> {
    let mut server = dir.launch(&[]).start();
    let client = connect(&server).await;
    within(client.create("/t", b"", &persistent()))
        .await
        .unwrap();
    let mut zxids = Vec::new();
    for i in 0..count {
        let (stat, _) = within(client.create(
            &format!("/t/n{i}"),
            format!("data of node {i}, long enough to have a middle").as_bytes(),
            &persistent(),
        ))
        .await
        .unwrap();
        zxids.push(stat.czxid);
    }
    server.kill();
    zxids
}

async fn assert_nodes(server: &ServerProcess, present: std::ops::Range<usize>, count: usize) {
    let client = connect(server).await;
    for i in 0..count {
        let path = format!("/t/n{i}");
        let got = within(client.get_data(&path)).await;
        if present.contains(&i) {
            let (data, _) = got.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                data,
                format!("data of node {i}, long enough to have a middle").as_bytes()
            );
        } else {
            assert_eq!(got.unwrap_err(), zk::Error::NoNode, "{path} must be gone");
        }
    }
}

#[tokio::test]
async fn a_log_cut_inside_its_last_record_loses_only_that_record() {
    let dir = DataDir::new("torn-cut");
    let zxids = write_nodes_then_kill(&dir, 6).await;
    let segments = log_segments(&dir.path);
    let (_, last_segment) = segments.last().unwrap();
    let dump = dump_segment(last_segment);
    let (offset, last) = dump.entries.last().unwrap();
    assert_eq!(
        last.zxid,
        *zxids.last().unwrap(),
        "the last record is /t/n5"
    );
    assert!(dump.file_len > offset + RECORD_HEADER_LEN + last.payload.len() as u64);
    let cut = offset + (RECORD_HEADER_LEN + last.payload.len() as u64) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(last_segment)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let server = dir.start_logged("after-cut", "warn", &[]);
    assert_nodes(&server, 0..5, 6).await;
    let log = server.stderr_text();
    assert!(log.contains("log repaired"), "{log}");
    assert!(
        log.contains(&format!(
            "truncated torn tail of {} at offset {offset}",
            last_segment.display()
        )),
        "{log}"
    );
    assert_eq!(
        logged_field(&log, "log repaired", "dropped_bytes").as_deref(),
        Some((cut - offset).to_string().as_str())
    );
    // Writes go on, with zxids after the surviving ones.
    let client = connect(&server).await;
    let (stat, _) = within(client.create("/t/n5", b"again", &persistent()))
        .await
        .unwrap();
    assert!(stat.czxid > zxids[4]);
}

#[tokio::test]
async fn a_last_record_with_a_bad_checksum_is_a_torn_tail() {
    let dir = DataDir::new("torn-crc");
    let zxids = write_nodes_then_kill(&dir, 6).await;
    let (path, offset, len) = find_record(&dir.path, zxids[5]);
    // The last bytes of the record never reached the disk: zeros, like the
    // preallocated space after them.
    let mut bytes = std::fs::read(&path).unwrap();
    let end = (offset + len) as usize;
    bytes[end - 8..end].fill(0);
    std::fs::write(&path, bytes).unwrap();

    let server = dir.start_logged("after-crc", "warn", &[]);
    assert_nodes(&server, 0..5, 6).await;
    let log = server.stderr_text();
    assert!(
        log.contains(&format!(
            "truncated torn tail of {} at offset {offset}",
            path.display()
        )),
        "{log}"
    );
}

#[tokio::test]
async fn a_flipped_byte_before_the_tail_stops_the_server_naming_file_and_offset() {
    let dir = DataDir::new("flip");
    let zxids = write_nodes_then_kill(&dir, 10).await;
    let (path, offset, len) = find_record(&dir.path, zxids[5]);
    flip_byte(
        &path,
        offset + RECORD_HEADER_LEN + (len - RECORD_HEADER_LEN) / 2,
    );
    let damaged = std::fs::read(&path).unwrap();

    let stderr = dir.stderr_file("strict");
    let failure = dir
        .launch(&[])
        .stderr_to(&stderr)
        .try_start()
        .map(|_| ())
        .expect_err("the server must not start on a corrupt log");
    let status = failure.status.expect("it exits by itself");
    assert!(!status.success(), "exit status {status:?}");
    let message = format!("corrupt log segment {} at offset {offset}", path.display());
    assert!(failure.stderr.contains(&message), "{}", failure.stderr);
    assert!(
        failure.stderr.contains("record checksum mismatch"),
        "{}",
        failure.stderr
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        damaged,
        "a refused start changes nothing"
    );

    // The operator's choice: keep what comes before the damage.
    let server = dir.start_logged(
        "truncate",
        "warn",
        &["--set", "ferrokeeper.recovery.truncateCorruptLog=true"],
    );
    assert_nodes(&server, 0..5, 10).await;
    let log = server.stderr_text();
    assert!(log.contains("log truncated at corruption"), "{log}");
    assert!(log.contains(&message), "{log}");
    let mut copy = path.clone().into_os_string();
    copy.push(".corrupt");
    assert!(Path::new(&copy).exists(), "a copy of the damaged segment");
    let client = connect(&server).await;
    let (stat, _) = within(client.create("/t/n5", b"", &persistent()))
        .await
        .unwrap();
    assert!(stat.czxid > zxids[4]);
    drop(client);
    drop(server);
    // What is left is a clean log: a strict start works again.
    let server = dir.launch(&[]).start();
    assert_nodes(&server, 0..5, 5).await;
}

/// Starts a server on `dir`, creates `path`, kills the server: one more log segment
/// (every start opens a new one). Returns the node's czxid.
async fn one_more_segment(dir: &DataDir, path: &str) -> i64 {
    let mut server = dir.launch(&[]).start();
    let client = connect(&server).await;
    let (stat, _) = within(client.create(path, b"", &persistent()))
        .await
        .unwrap();
    server.kill();
    stat.czxid
}

fn expect_refused(dir: &DataDir, name: &str) -> String {
    let failure = dir
        .launch(&[])
        .stderr_to(&dir.stderr_file(name))
        .try_start()
        .map(|_| ())
        .expect_err("the server must refuse to start");
    let status = failure.status.expect("it exits by itself");
    assert!(!status.success(), "exit status {status:?}");
    failure.stderr
}

#[tokio::test]
async fn damage_at_the_end_of_an_earlier_segment_is_corruption_not_a_torn_tail() {
    let dir = DataDir::new("early-segment");
    let zxids = write_nodes_then_kill(&dir, 5).await;
    one_more_segment(&dir, "/later").await;
    assert_eq!(log_segments(&dir.path).len(), 2);
    // The last record of the first segment: nothing valid follows it in its file,
    // but that file was complete before the next one began.
    let (path, offset, len) = find_record(&dir.path, zxids[4]);
    assert_eq!(path, log_segments(&dir.path)[0].1);
    flip_byte(&path, offset + len - 1);

    let stderr = expect_refused(&dir, "strict");
    let message = format!("corrupt log segment {} at offset {offset}", path.display());
    assert!(stderr.contains(&message), "{stderr}");

    let server = dir.start_logged(
        "truncate",
        "warn",
        &["--set", "ferrokeeper.recovery.truncateCorruptLog=true"],
    );
    assert_nodes(&server, 0..4, 5).await;
    let client = connect(&server).await;
    assert_eq!(
        within(client.check_stat("/later")).await.unwrap(),
        None,
        "later segments are discarded"
    );
    let log = server.stderr_text();
    assert!(
        log.contains("1 later segment(s) renamed *.discarded"),
        "{log}"
    );
}

#[tokio::test]
async fn a_missing_log_segment_stops_the_server_naming_the_gap() {
    let dir = DataDir::new("missing-segment");
    write_nodes_then_kill(&dir, 3).await;
    one_more_segment(&dir, "/second").await;
    one_more_segment(&dir, "/third").await;
    let segments = log_segments(&dir.path);
    assert_eq!(segments.len(), 3);
    std::fs::remove_file(&segments[1].1).unwrap();

    let stderr = expect_refused(&dir, "missing");
    assert!(
        stderr.contains(&format!(
            "log segment missing before {}",
            segments[2].1.display()
        )),
        "{stderr}"
    );
}

/// Writes until at least `min` snapshots exist; returns the tree as the server has it.
async fn write_snapshots(dir: &DataDir, args: &[&str], min: usize) -> Tree {
    let mut server = dir.launch(args).start();
    let client = connect_as(&server, BOB).await;
    populate(&client).await;
    for _ in 0..20 {
        bump(&client, 10).await;
        wait_for_snapshots_to_settle(&dir.path);
        if snapshots(&dir.path).len() >= min {
            break;
        }
    }
    assert!(snapshots(&dir.path).len() >= min, "snapshots were taken");
    let tree = read_tree(&client).await;
    server.kill();
    tree
}

#[tokio::test]
async fn a_corrupt_newest_snapshot_falls_back_to_an_older_one_and_loses_nothing() {
    let dir = DataDir::new("snap-fallback");
    let args = [
        "--set",
        "snapCount=10",
        "--set",
        "autopurge.purgeInterval=1",
        "--set",
        "autopurge.snapRetainCount=3",
    ];
    let before = write_snapshots(&dir, &args, 3).await;
    let snaps = snapshots(&dir.path);
    assert!(snaps.len() <= 3, "purge keeps 3 snapshots: {snaps:?}");
    let (_, newest) = snaps.last().unwrap();
    let (_, older) = &snaps[snaps.len() - 2];
    let len = std::fs::metadata(newest).unwrap().len();
    flip_byte(newest, len / 2);

    let server = dir.start_logged("fallback", "info", &args);
    let log = server.stderr_text();
    let warning = log
        .lines()
        .find(|l| l.contains("skipping a newer snapshot that fails verification"))
        .unwrap_or_else(|| panic!("no warning about the bad snapshot:\n{log}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains(&newest.display().to_string()), "{warning}");
    assert_eq!(
        logged_field(&log, "loaded snapshot", "path").map(PathBuf::from),
        Some(older.clone())
    );
    let client = connect_as(&server, BOB).await;
    assert_same_tree(&before, &read_tree(&client).await);
}

#[tokio::test]
async fn a_corrupt_only_snapshot_stops_the_server_naming_it() {
    let dir = DataDir::new("snap-only");
    let args = ["--set", "snapCount=10"];
    write_snapshots(&dir, &args, 1).await;
    let mut snaps = snapshots(&dir.path);
    let (_, newest) = snaps.pop().unwrap();
    for (_, older) in snaps {
        std::fs::remove_file(older).unwrap();
    }
    let len = std::fs::metadata(&newest).unwrap().len();
    flip_byte(&newest, len / 2);

    let failure = dir
        .launch(&args)
        .stderr_to(&dir.stderr_file("no-snapshot"))
        .try_start()
        .map(|_| ())
        .expect_err("the server must not start without a valid snapshot");
    let status = failure.status.expect("it exits by itself");
    assert!(!status.success(), "exit status {status:?}");
    assert!(
        failure
            .stderr
            .contains(&format!("invalid snapshot {}", newest.display())),
        "{}",
        failure.stderr
    );
}

// ---------------------------------------------------------------------------------
// 5. --in-memory
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn in_memory_serves_without_writing_files() {
    let cwd = DataDir::new("in-memory-cwd");
    let mut server = Launch::in_memory().cwd(&cwd.path).start();
    let client = connect_as(&server, BOB).await;
    populate(&client).await;
    bump(&client, 20).await;
    assert_eq!(
        within(client.get_data("/app/counter")).await.unwrap().0,
        b"19"
    );
    let files: Vec<_> = std::fs::read_dir(&cwd.path).unwrap().flatten().collect();
    assert!(files.is_empty(), "files written: {files:?}");
    server.kill();
    drop(client);

    let server = Launch::in_memory().cwd(&cwd.path).start();
    let client = connect(&server).await;
    assert_eq!(
        within(client.check_stat("/app")).await.unwrap(),
        None,
        "nothing survives"
    );
    assert!(std::fs::read_dir(&cwd.path).unwrap().next().is_none());
}
