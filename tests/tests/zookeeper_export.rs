//! Moving back from Ferrokeeper to Apache ZooKeeper 3.8 with `ferrokeeper snapshot
//! export-zookeeper`: ZooKeeper runs, Ferrokeeper takes its directory over and takes
//! writes, the state is exported into ZooKeeper's own `version-2`, and ZooKeeper starts
//! on it on the same port:
//!
//! - every node's data, stat (all fields) and ACL are as Ferrokeeper had them:
//!   digest ACLs, sequential nodes, containers, TTL nodes, ephemerals;
//! - the sessions are in ZooKeeper's session table with their ephemerals; a client
//!   whose session began on ZooKeeper, connected through both switches, keeps its
//!   session and ephemerals, and so does one whose session began on Ferrokeeper when
//!   `ferrokeeper.session.zookeeperPasswords` gave it ZooKeeper's password. Without
//!   it the password is random, ZooKeeper cannot check it, and the client is told
//!   its session expired (its ephemerals go after the session timeout);
//! - zxids go on above the exported one;
//! - ZooKeeper's own SnapshotFormatter reads the file;
//! - Ferrokeeper takes the export over again with the same tree (the round trip);
//! - the tool refuses while a server runs on the directory, and refuses to write
//!   below ZooKeeper files that are not older than the export.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferrokeeper_tests::clients::{install_clients, run_bounded, ZK_JAR};
use ferrokeeper_tests::state::{assert_same_tree, max_zxid, populate, read_tree, Tree, BOB};
use ferrokeeper_tests::zkc::{connect, connect_as, ephemeral, open, persistent, within};
use ferrokeeper_tests::{
    binary, eventually, four_letter_word, free_port, scratch_dir, Launch, ServerProcess,
};
use zookeeper_client as zk;

/// `ferrokeeper snapshot export-zookeeper --data-dir <data> --out <out>`: its exit
/// status, stdout and stderr.
fn export(data: &Path, out: &Path) -> (bool, String, String) {
    let mut command = Command::new(binary());
    command
        .args(["snapshot", "export-zookeeper", "--data-dir"])
        .arg(data)
        .arg("--out")
        .arg(out);
    let done = run_bounded(command, Duration::from_secs(60));
    (done.success(), done.stdout, done.stderr)
}

/// Both servers allow sessions this long, so that the clients' sessions outlive
/// the switches (JVM starts on a loaded machine included).
const LONG_SESSIONS: &str = "maxSessionTimeout=120000";

/// A client with a 120 s session that follows the server across restarts on its port.
async fn long_session(server: &ServerProcess) -> zk::Client {
    within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(120))
            .connect(&server.connect_string()),
    )
    .await
    .expect("connect")
}

/// A container with a child: what `populate` does not make.
async fn container(client: &zk::Client) {
    within(client.create("/box", b"", &open(zk::CreateMode::Container)))
        .await
        .unwrap();
    within(client.create("/box/item", b"in a container", &persistent()))
        .await
        .unwrap();
}

async fn ttl_node(client: &zk::Client) {
    let ttl = open(zk::CreateMode::Persistent).with_ttl(Duration::from_secs(3600));
    within(client.create("/ttl", b"lives an hour", &ttl))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn zookeeper_starts_on_the_export_with_every_node_and_session() {
    install_clients();
    let dir = scratch_dir("export-back");
    let port = free_port();
    let extended = ["--extended-types", "--set", LONG_SESSIONS];

    // ZooKeeper first: a session that will live through both switches.
    let mut zookeeper = ServerProcess::start_zookeeper_on(&dir, port, &extended);
    let survivor = long_session(&zookeeper).await;
    within(survivor.create("/survivor", b"since zookeeper", &ephemeral()))
        .await
        .unwrap();
    zookeeper.kill();

    // Ferrokeeper takes over and takes writes, from old and new sessions; new ones
    // get passwords ZooKeeper can check.
    let mut ferrokeeper = Launch::new(&dir)
        .port(port)
        .args(&[
            "--extended-types",
            "--set",
            LONG_SESSIONS,
            "--set",
            "ferrokeeper.session.zookeeperPasswords=true",
        ])
        .start();
    let writer = connect_as(&ferrokeeper, BOB).await;
    populate(&writer).await;
    container(&writer).await;
    ttl_node(&writer).await;
    within(survivor.create("/survivor-2", b"made on ferrokeeper", &ephemeral()))
        .await
        .unwrap();
    let born = long_session(&ferrokeeper).await;
    within(born.create("/born", b"", &ephemeral()))
        .await
        .unwrap();
    let seq = open(zk::CreateMode::EphemeralSequential);
    within(born.create("/app/seq/born-", b"", &seq))
        .await
        .unwrap();
    let before = read_tree(&writer).await;
    drop(writer);

    // The tool refuses while the server holds the directory, and writes nothing.
    let zookeeper_files = || {
        let mut names: Vec<_> = std::fs::read_dir(dir.join("version-2"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        names
    };
    let untouched = zookeeper_files();
    let (ok, _, stderr) = export(&dir, &dir);
    assert!(!ok && stderr.contains("is locked"), "{stderr}");
    assert_eq!(zookeeper_files(), untouched);

    // Stopped (SIGTERM keeps the sessions), exported into ZooKeeper's own dataDir.
    assert!(ferrokeeper.terminate().is_some_and(|s| s.success()));
    let (ok, stdout, stderr) = export(&dir, &dir);
    assert!(ok, "export failed: {stderr}");
    // The last zxid: the writer's closeSession came after the last node change.
    let snapshot = std::path::PathBuf::from(stdout.trim());
    let name = snapshot.file_name().unwrap().to_string_lossy().into_owned();
    let exported_zxid = i64::from_str_radix(name.strip_prefix("snapshot.").unwrap(), 16).unwrap();
    assert!(exported_zxid > max_zxid(&before), "{name}");
    assert_eq!(snapshot.parent().unwrap(), dir.join("version-2"));
    assert!(stderr.contains("2 sessions"), "{stderr}");
    let copy = scratch_dir("export-copy");
    std::fs::create_dir_all(copy.join("version-2")).unwrap();
    std::fs::copy(
        &snapshot,
        copy.join("version-2").join(snapshot.file_name().unwrap()),
    )
    .unwrap();

    // Again: ZooKeeper's directory now holds a snapshot at that zxid; refused.
    let (ok, _, stderr) = export(&dir, &dir);
    assert!(
        !ok && stderr.contains("already holds ZooKeeper files"),
        "{stderr}"
    );

    // ZooKeeper on the export, same port: the survivor reconnects by itself.
    let zookeeper = ServerProcess::start_zookeeper_on(&dir, port, &extended);
    // (ZooKeeper rewrites the snapshot in its dataDir at start; the copy is the export.)
    snapshot_formatter_reads(
        &copy.join("version-2").join(snapshot.file_name().unwrap()),
        &before,
    );
    let reader = connect_as(&zookeeper, BOB).await;
    let after = read_tree(&reader).await;
    assert_same_tree(&before, &after);
    // The clients were cut off for a while: their reconnect backoff has grown.
    for client in [&survivor, &born] {
        let back = eventually(Duration::from_secs(60), || {
            client.state() == zk::SessionState::SyncConnected
        });
        assert!(back, "state {:?}", client.state());
    }
    let mut ephemerals = within(survivor.list_ephemerals("/")).await.unwrap();
    ephemerals.sort();
    assert_eq!(ephemerals, ["/survivor", "/survivor-2"]);
    let stat = within(survivor.check_stat("/survivor-2"))
        .await
        .unwrap()
        .expect("the survivor's ephemeral made on Ferrokeeper");
    assert_eq!(stat.ephemeral_owner, survivor.session_id().0);

    // The session that began on Ferrokeeper goes on too, with its ephemerals.
    let mut ephemerals = within(born.list_ephemerals("/")).await.unwrap();
    ephemerals.sort();
    assert_eq!(ephemerals.len(), 2, "{ephemerals:?}");
    assert_eq!(ephemerals[0], "/app/seq/born-0000000005");
    assert_eq!(ephemerals[1], "/born");

    // Zxids go on above the export.
    let (stat, _) = within(reader.create("/back-on-zookeeper", b"", &persistent()))
        .await
        .unwrap();
    assert!(stat.czxid > exported_zxid, "0x{:x}", stat.czxid);
    drop((reader, survivor, born, zookeeper));

    // The round trip: Ferrokeeper takes the export over with the same tree.
    let ferrokeeper = Launch::new(&copy).args(&extended).start();
    let reader = connect_as(&ferrokeeper, BOB).await;
    assert_same_tree(&before, &read_tree(&reader).await);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy);
}

/// ZooKeeper's `SnapshotFormatter` reads the file: its checksum holds and it lists
/// every node and both sessions.
fn snapshot_formatter_reads(snapshot: &Path, tree: &Tree) {
    let jar = std::env::var("ZK_JAR").unwrap_or_else(|_| ZK_JAR.into());
    let mut command = Command::new("java");
    command
        .args(["-cp", &jar, "org.apache.zookeeper.server.SnapshotFormatter"])
        .arg(snapshot);
    let done = run_bounded(command, Duration::from_secs(60));
    assert!(
        done.success(),
        "SnapshotFormatter: {:?}\n{}\n{}",
        done.status,
        done.stdout,
        done.stderr
    );
    for path in tree.keys().filter(|p| p.as_str() != "/") {
        assert!(
            done.stdout.lines().any(|line| line == path),
            "{path} not listed:\n{}",
            done.stdout
        );
    }
    assert!(
        done.stdout
            .contains("Session Details (sid, timeout, ephemeralCount):"),
        "{}",
        done.stdout
    );
}

/// Ferrokeeper's default random passwords: the session is exported and ZooKeeper
/// keeps its ephemerals for its timeout, but cannot check the password the client
/// comes back with, so the client hears Expired and the ephemerals go.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_with_a_random_password_expires_on_zookeeper() {
    install_clients();
    let dir = scratch_dir("export-fresh");
    let out = scratch_dir("export-fresh-out");
    let port = free_port();
    let mut ferrokeeper = Launch::new(&dir).port(port).start();
    let client = connect(&ferrokeeper).await;
    let session = client.session_id().0;
    container(&client).await;
    within(client.create("/mine", b"", &ephemeral()))
        .await
        .unwrap();
    let before = read_tree(&client).await;
    assert!(ferrokeeper.terminate().is_some_and(|s| s.success()));
    // Into another directory, which did not exist as a ZooKeeper dataDir.
    let (ok, _, stderr) = export(&dir, &out);
    assert!(ok, "{stderr}");
    // No --extended-types on either side: containers need none.
    let zookeeper = ServerProcess::start_zookeeper_on(&out, port, &[]);
    let dump = four_letter_word(zookeeper.addr, "dump").expect("dump");
    assert!(
        dump.contains(&format!("0x{session:x}")) && dump.contains("/mine"),
        "{dump}"
    );
    let reader = connect(&zookeeper).await;
    assert_same_tree(&before, &read_tree(&reader).await);
    let expired = eventually(Duration::from_secs(20), || {
        client.state() == zk::SessionState::Expired
    });
    assert!(expired, "state {:?}", client.state());
    // ZooKeeper expires the session after its timeout (10 s), its ephemeral with it.
    let gone = eventually(Duration::from_secs(30), || {
        four_letter_word(zookeeper.addr, "dump").is_some_and(|d| !d.contains("/mine"))
    });
    assert!(gone, "the session's ephemeral goes at its expiry");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&out);
}
