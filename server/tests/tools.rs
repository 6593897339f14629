//! The operator tools on real files: a real server writes a data directory through a
//! real client, then `log dump`, `snapshot take` and `snapshot dump` run on it as
//! separate processes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use zookeeper_client as zk;

fn ferrokeeper() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"));
    command.env_remove("RUST_LOG").env_remove("ZOO_DATA_DIR");
    command
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = ferrokeeper()
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--log",
                "warn",
                "--data-dir",
            ])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start ferrokeeper");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().parse().expect("bound address on stdout");
        Server { child, addr }
    }

    /// SIGTERM, and wait for a clean exit.
    fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(addr: SocketAddr) -> zk::Client {
    within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(&addr.to_string()),
    )
    .await
    .expect("connect")
}

async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("timed out")
}

fn run(args: &[&str]) -> (Output, String, String) {
    let out = ferrokeeper().args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("log.") && name[4..].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .collect();
    segments.sort();
    segments
}

/// The zxids of a `log dump` listing, in the order listed.
fn listed_zxids(listing: &str) -> Vec<i64> {
    listing
        .lines()
        .filter_map(|line| line.strip_prefix("zxid 0x"))
        .map(|rest| {
            let hex = rest.split_whitespace().next().unwrap();
            i64::from_str_radix(hex, 16).unwrap()
        })
        .collect()
}

fn assert_contains(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dump_and_compact_a_real_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let server = Server::start(data_dir);
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());

    // A session that stays open (its ephemeral is in the snapshot) ...
    let client = connect(server.addr).await;
    within(client.create("/app", b"hello", &open))
        .await
        .unwrap();
    within(client.create("/app/config", b"v1", &open))
        .await
        .unwrap();
    within(client.set_data("/app/config", b"v2\n\x01", Some(0)))
        .await
        .unwrap();
    within(client.create("/app/eph", b"", &ephemeral))
        .await
        .unwrap();
    let mut multi = client.new_multi_writer();
    multi.add_create("/app/m1", b"in a multi", &open).unwrap();
    multi.add_set_data("/app", b"hello again", None).unwrap();
    within(multi.commit()).await.unwrap();
    let mut failing = client.new_multi_writer();
    failing.add_set_data("/app", b"never", None).unwrap();
    failing.add_check_version("/app", 99).unwrap();
    assert!(within(failing.commit()).await.is_err());
    within(client.create("/gone", b"", &open)).await.unwrap();
    within(client.delete("/gone", None)).await.unwrap();
    // ... and one that closes, taking its ephemeral with it.
    let other = connect(server.addr).await;
    within(other.create("/app/other-eph", b"", &ephemeral))
        .await
        .unwrap();
    drop(other);
    within(async {
        while client.check_stat("/app/other-eph").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let session = client.session_id().0;

    // While the server runs, the data dir is not the tool's to recover.
    let (out, _, stderr) = run(&["snapshot", "take", "--data-dir", data_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &[
            "log.lock is locked",
            "server",
            "is running on this data directory",
        ],
    );

    server.stop();
    drop(client);

    // log dump: every transaction, in zxid order, with its fields.
    let mut listing = String::new();
    for segment in segments(data_dir) {
        let (out, stdout, stderr) = run(&["log", "dump", segment.to_str().unwrap()]);
        assert!(out.status.success(), "{stderr}\n{stdout}");
        listing.push_str(&stdout);
    }
    let session_hex = format!("0x{session:x}");
    assert_contains(
        &listing,
        &[
            "Ferrokeeper transaction log segment ",
            "format version 1, first zxid 0x",
            &format!("session {session_hex}  createSession id={session_hex} timeout="),
            "create path=/app data=5 bytes \"hello\" acl=[world:anyone:cdrwa] persistent",
            "create path=/app/config data=2 bytes \"v1\"",
            "setData path=/app/config data=4 bytes \"v2\\n\\x01\" version=1",
            "create path=/app/eph data=0 bytes \"\" acl=[world:anyone:cdrwa] ephemeral \
             owner=",
            "multi 2 ops\n    [0] create path=/app/m1 data=10 bytes \"in a multi\"",
            "    [1] setData path=/app data=11 bytes \"hello again\" version=1",
            "error BadVersion (-103)",
            "delete path=/gone",
            "closeSession id=0x",
            "ephemerals=[/app/other-eph]",
        ],
    );
    assert!(
        !listing.contains("TORN") && !listing.contains("CORRUPTION"),
        "{listing}"
    );
    let zxids = listed_zxids(&listing);
    assert!(zxids.len() >= 12, "{listing}");
    assert!(
        zxids.windows(2).all(|w| w[1] == w[0] + 1),
        "zxids not consecutive: {zxids:x?}"
    );
    // Line times are ISO-8601 UTC with the milliseconds beside them.
    let first = listing.lines().find(|l| l.starts_with("zxid ")).unwrap();
    let time = first.split("  ").nth(1).unwrap();
    assert!(
        time.len() > 26 && time.as_bytes()[10] == b'T' && time[..26].ends_with("Z ("),
        "{first}"
    );
    let last_zxid = *zxids.last().unwrap();

    // snapshot take: the recovered state at the last zxid.
    let (out, stdout, stderr) =
        run(&["snapshot", "take", "--data-dir", data_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{stderr}");
    let snapshot = PathBuf::from(stdout.trim());
    assert_eq!(
        snapshot,
        data_dir.join(format!("snapshot.{last_zxid:016x}")),
        "{stderr}"
    );
    assert!(snapshot.is_file());
    assert_contains(&stderr, &[&format!("recovered zxid 0x{last_zxid:x}")]);

    // snapshot dump: header, the open session, every znode, data with --data.
    let (out, dump, stderr) = run(&["snapshot", "dump", "--data", stdout.trim()]);
    assert!(out.status.success(), "{stderr}");
    assert_contains(
        &dump,
        &[
            &format!("  zxid 0x{last_zxid:x}, compression none, "),
            "checksum OK",
            "Sessions (1): id, timeout, ephemerals",
            &format!("  {session_hex}  timeout="),
            "ephemerals=1\n",
            "\n/\n  cZxid = 0x0\n",
            "\n/app\n",
            "  data = 11 bytes \"hello again\"\n",
            "\n/app/config\n",
            "  dataVersion = 1\n",
            "  data = 4 bytes \"v2\\n\\x01\"\n",
            "\n/app/eph\n",
            &format!("  ephemeralOwner = {session_hex} (ephemeral)\n"),
            "  acl = [world:anyone:cdrwa]\n",
            "\n/app/m1\n",
            "\n/zookeeper\n",
        ],
    );
    assert!(!dump.contains("/gone") && !dump.contains("/app/other-eph"));
    // Parents first, siblings by name.
    let order: Vec<&str> = dump.lines().filter(|l| l.starts_with('/')).collect();
    assert_eq!(
        order,
        [
            "/",
            "/app",
            "/app/config",
            "/app/eph",
            "/app/m1",
            "/zookeeper",
            "/zookeeper/config",
            "/zookeeper/quota"
        ]
    );
    // /app: 3 children created (config, eph, m1), other-eph created and deleted.
    let app = dump.split("\n/app\n").nth(1).unwrap();
    assert_contains(app, &["  numChildren = 3\n", "  cversion = 5\n"]);
    assert_contains(
        &dump,
        &[&format!(
            "-- 8 znodes, {} bytes of data, 1 session, 1 ephemeral node, last zxid \
             0x{last_zxid:x}",
            11 + 4 + 10
        )],
    );
    let (_, without_data, _) = run(&["snapshot", "dump", stdout.trim()]);
    assert!(!without_data.contains("  data = "));

    // The server starts from it.
    let server = Server::start(data_dir);
    let client = connect(server.addr).await;
    let (data, stat) = within(client.get_data("/app/config")).await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"v2\n\x01"[..], 1));
    drop(client);
    server.stop();

    // A damaged snapshot is refused, saying why.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let damaged = dir.path().join("damaged.snapshot");
    std::fs::write(&damaged, bytes).unwrap();
    let (out, stdout, stderr) = run(&["snapshot", "dump", damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_contains(
        &stderr,
        &[
            "ferrokeeper snapshot dump: cannot read snapshot ",
            "damaged.snapshot",
            "fails verification",
            "content checksum mismatch",
        ],
    );
}

#[test]
fn unreadable_log_segment_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("log.0000000000000001");
    std::fs::write(&junk, b"not a segment: no magic here, just words").unwrap();
    let (out, stdout, stderr) = run(&["log", "dump", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert_contains(
        &stderr,
        &["ferrokeeper log dump: cannot read log segment", "bad magic"],
    );
    let (out, _, stderr) = run(&["log", "dump", "/nonexistent/log.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stderr, &["/nonexistent/log.1", "No such file"]);
}

#[test]
fn snapshot_take_refuses_a_missing_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let (out, _, stderr) = run(&["snapshot", "take", "--data-dir", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stderr, &["dataDir", "does not exist"]);
    assert!(!missing.exists());
}

#[test]
fn server_arguments_and_subcommands_do_not_mix() {
    // The server's own flags still parse as before (this file does not exist).
    let (out, _, stderr) = run(&["/nonexistent/zoo.cfg", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert_contains(&stderr, &["/nonexistent/zoo.cfg"]);
    // A server flag before a tool is a usage error, not a server start.
    let (out, _, stderr) = run(&["--port", "0", "log", "dump", "x"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let (out, help, _) = run(&["--help"]);
    assert!(out.status.success());
    assert_contains(&help, &["log", "snapshot", "ZOO_CFG"]);
}
