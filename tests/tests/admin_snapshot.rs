//! The AdminServer's `snapshot` command (ZooKeeper 3.9's SnapshotCommand): a snapshot
//! taken on the running server and streamed back, readable by `ferrokeeper snapshot
//! dump`; ZooKeeper's auth rule (an `Authorization` header, ALL on `/`), its rate limit
//! (429) and `?streaming=false`. Ferrokeeper-only (Debian's ZooKeeper is 3.8, which has
//! no snapshot command): they run the ferrokeeper binary in either mode.

use std::net::SocketAddr;
use std::path::Path;

use ferrokeeper_protocol::records::{Acl, Id};
use ferrokeeper_protocol::{CreateMode, Perms};
use ferrokeeper_tests::free_port;
use ferrokeeper_tests::http;
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::digest_id;
use ferrokeeper_tests::{binary, scratch_dir, Launch, ServerProcess};

/// A server with its AdminServer on a free loopback port, plus `args`.
fn start_with_admin(data_dir: Option<&Path>, args: &[&str]) -> (ServerProcess, SocketAddr) {
    let port = free_port();
    let port_arg = port.to_string();
    let mut all = vec![
        "--set",
        "admin.enableServer=true",
        "--set",
        "admin.serverAddress=127.0.0.1",
        "--admin-port",
        &port_arg,
    ];
    all.extend_from_slice(args);
    let launch = match data_dir {
        Some(dir) => Launch::new(dir)
            .stderr_to(&dir.join("server.log"))
            .log("info"),
        None => Launch::in_memory(),
    };
    let server = launch.args(&all).start();
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn snapshot(admin: SocketAddr, query: &str, authorization: Option<&str>) -> http::Response {
    let headers: Vec<(&str, &str)> = authorization
        .map(|auth| ("Authorization", auth))
        .into_iter()
        .collect();
    http::get(admin, &format!("/commands/snapshot{query}"), &headers)
}

/// `ferrokeeper snapshot dump --data <file>`: (exit code, stdout, stderr).
fn dump(file: &Path) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(binary())
        .args(["snapshot", "dump", "--data"])
        .arg(file)
        .output()
        .expect("run snapshot dump");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_streamed_snapshot_holds_what_was_written_and_dump_reads_it() {
    let dir = scratch_dir("admin-snapshot");
    let (server, admin) = start_with_admin(Some(&dir), &[]);
    let mut w = Wire::connect(server.addr);
    for (xid, (path, data)) in [("/app", "config v1"), ("/app/leader", "node-3")]
        .into_iter()
        .enumerate()
    {
        let reply = w.call(
            xid as i32 + 1,
            &req::create(path, data.as_bytes(), CreateMode::Persistent),
        );
        assert_eq!(reply.err(), 0, "{path}");
    }
    let last_write_zxid = w
        .call(3, &req::set_data("/app", b"config v2", -1))
        .header
        .zxid;

    let answer = snapshot(admin, "", Some("ip"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/octet-stream")
    );
    let last_zxid = answer.header("last_zxid").expect("last_zxid header");
    let zxid = i64::from_str_radix(last_zxid.trim_start_matches("0x"), 16).unwrap();
    assert!(
        zxid >= last_write_zxid,
        "{last_zxid} < {last_write_zxid:#x}"
    );
    assert_eq!(
        answer.header("snapshot_size"),
        Some(answer.body.len().to_string().as_str())
    );

    let file = dir.join("streamed.snapshot");
    std::fs::write(&file, &answer.body).unwrap();
    let (code, out, err) = dump(&file);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("zxid {last_zxid}")), "{out}");
    for expected in [
        "/app/leader\n",
        "data = 9 bytes \"config v2\"",
        "data = 6 bytes \"node-3\"",
        "checksum OK",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    // The server wrote it into dataDir too, as ZooKeeper's takeSnapshot does.
    assert!(dir.join(format!("snapshot.{zxid:016x}")).exists());
    let log = server.stderr_text();
    assert!(log.contains("snapshot taken on request"), "{log}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn one_snapshot_per_interval_then_429_and_streaming_false_sends_no_body() {
    let dir = scratch_dir("admin-snapshot-rate");
    let (server, admin) = start_with_admin(Some(&dir), &[]);
    let first = snapshot(admin, "?streaming=false", Some("digest anyone:secret"));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.json(),
        serde_json::json!({"command": "snapshot", "error": null})
    );
    assert!(first
        .header("last_zxid")
        .is_some_and(|z| z.starts_with("0x")));
    assert!(first.header("snapshot_size").is_some());
    // ZooKeeper's default admin.rateLimiterIntervalInMS is 5 minutes.
    let second = snapshot(admin, "", Some("ip"));
    assert_eq!(second.status, 429, "{}", second.text());
    assert_eq!(
        second.json(),
        serde_json::json!({"command": "snapshot", "error": null})
    );
    drop(server);

    // With the interval at 0 every request takes a snapshot; `snap` is the alias.
    let (server, admin) =
        start_with_admin(Some(&dir), &["--set", "admin.rateLimiterIntervalInMS=0"]);
    for _ in 0..3 {
        let answer = http::get(admin, "/commands/snap", &[("Authorization", "ip")]);
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(!answer.body.is_empty());
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_caller_must_authenticate_and_hold_all_on_the_root() {
    let dir = scratch_dir("admin-snapshot-auth");
    let (server, admin) =
        start_with_admin(Some(&dir), &["--set", "admin.rateLimiterIntervalInMS=0"]);
    let missing = snapshot(admin, "", None);
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json(),
        serde_json::json!({"command": "snapshot", "error": "Auth info is missing for the command"})
    );
    let unknown_scheme = snapshot(admin, "", Some("kerberos someone"));
    assert_eq!(unknown_scheme.status, 401);
    assert_eq!(unknown_scheme.json()["error"], "Not authenticated");

    // The root is given to one digest user: only that user may take snapshots.
    let mut w = Wire::connect(server.addr);
    let admin_acl = vec![Acl {
        perms: Perms::ALL,
        id: Id {
            scheme: "digest".into(),
            id: digest_id("ops:s3cret"),
        },
    }];
    assert_eq!(w.call(1, &req::set_acl("/", admin_acl, -1)).err(), 0);
    let stranger = snapshot(admin, "", Some("digest mallory:guess"));
    assert_eq!(stranger.status, 403, "{}", stranger.text());
    assert_eq!(stranger.json()["error"], "Not authorized");
    assert_eq!(snapshot(admin, "", Some("ip")).status, 403);
    let operator = snapshot(admin, "", Some("digest ops:s3cret"));
    assert_eq!(operator.status, 200, "{}", operator.text());
    assert!(!operator.body.is_empty());
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn admin_snapshot_enabled_false_answers_503() {
    let (_server, admin) = start_with_admin(None, &["--set", "admin.snapshot.enabled=false"]);
    let answer = snapshot(admin, "", Some("ip"));
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.json(),
        serde_json::json!({"command": "snapshot", "error": null})
    );
    // Credentials are still checked first, as in ZooKeeper.
    assert_eq!(snapshot(admin, "", None).status, 401);
}

#[test]
fn a_server_without_a_data_dir_answers_500_with_the_reason() {
    let (_server, admin) = start_with_admin(None, &[]);
    let answer = snapshot(admin, "", Some("ip"));
    assert_eq!(answer.status, 500);
    let body = answer.json();
    assert_eq!(body["command"], "snapshot");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("dataDir")),
        "{body}"
    );
}
