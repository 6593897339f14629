//! `ferrokeeper.testing.faults`: the AdminServer's `POST /faults/<name>` gives test
//! fixtures in any language the Rust fixture's faults — and without the key there is
//! no such endpoint.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::http;
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{free_port, ServerProcess};

/// ZooKeeper's SystemError: a write whose batch could not be made durable.
const SYSTEM_ERROR: i32 = -1;

fn start(faults: bool) -> (ServerProcess, SocketAddr) {
    let port = free_port();
    let server = ServerProcess::start_ferrokeeper(&[
        "--set",
        "admin.enableServer=true",
        "--set",
        "admin.serverAddress=127.0.0.1",
        "--admin-port",
        &port.to_string(),
        "--set",
        &format!("ferrokeeper.testing.faults={faults}"),
    ]);
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn inject(admin: SocketAddr, path: &str) -> serde_json::Value {
    let answer = http::post(admin, path);
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    let body = answer.json();
    assert_eq!(body["error"], serde_json::Value::Null, "{path}: {body}");
    body["result"].clone()
}

#[test]
fn faults_on_demand_over_http() {
    let (server, admin) = start(true);
    let mut doomed = Wire::connect(server.addr);
    let mut other = Wire::connect(server.addr);
    assert_eq!(
        doomed
            .call(1, &req::create("/e", b"", CreateMode::Ephemeral))
            .err(),
        0
    );

    // Expire a session now: its ephemeral is gone when the answer comes.
    let result = inject(
        admin,
        &format!("/faults/expire_session?session=0x{:x}", doomed.session_id),
    );
    assert_eq!(result, true);
    assert_eq!(other.call(1, &req::exists("/e", false)).err(), -101);
    doomed.expect_closed();
    let (_, reconnect) = Wire::resume(server.addr, &doomed);
    assert_eq!(reconnect.session_id, 0, "the session is expired");

    // Drop a session's connection: it lives on and resumes.
    let mut kept = Wire::connect(server.addr);
    let dropped = inject(
        admin,
        &format!("/faults/drop_connections?session={}", kept.session_id),
    );
    assert_eq!(dropped, 1);
    kept.expect_closed();
    let (mut resumed, response) = Wire::resume(server.addr, &kept);
    assert_eq!(response.session_id, kept.session_id);
    assert_eq!(resumed.ping().err(), 0);

    // Stall: the next answer comes after the stall, on the same connection.
    inject(admin, "/faults/stall?ms=500");
    let asked = Instant::now();
    assert_eq!(other.ping().err(), 0);
    assert!(
        asked.elapsed() >= Duration::from_millis(400),
        "{:?}",
        asked.elapsed()
    );

    // Disk: a failed fsync fails the batch's write; a full disk too, until it has room.
    inject(admin, "/faults/fail_fsyncs?count=1");
    assert_eq!(
        other
            .call(2, &req::create("/lost", b"", CreateMode::Persistent))
            .err(),
        SYSTEM_ERROR
    );
    assert_eq!(other.call(3, &req::exists("/lost", false)).err(), -101);
    inject(admin, "/faults/disk_full?full=true");
    assert_eq!(
        other
            .call(4, &req::create("/full", b"", CreateMode::Persistent))
            .err(),
        SYSTEM_ERROR
    );
    inject(admin, "/faults/disk_full?full=false");
    let mut xid = 5;
    let resumed_writes = ferrokeeper_tests::eventually(Duration::from_secs(10), || {
        xid += 1;
        other
            .call(xid, &req::create("/room", b"", CreateMode::Persistent))
            .err()
            == 0
    });
    assert!(resumed_writes, "writes resume once the disk has room");

    // Bad requests are refused with the reason.
    let unknown = http::post(admin, "/faults/meteor");
    assert_eq!(unknown.status, 404);
    let missing = http::post(admin, "/faults/expire_session");
    assert_eq!(missing.status, 400, "{}", missing.text());
}

#[test]
fn without_the_key_there_is_no_fault_endpoint() {
    let (server, admin) = start(false);
    let mut client = Wire::connect(server.addr);
    let answer = http::post(
        admin,
        &format!("/faults/expire_session?session={}", client.session_id),
    );
    assert_eq!(answer.status, 404);
    assert_eq!(client.ping().err(), 0, "the session was not touched");
}
