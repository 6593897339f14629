//! SIGTERM while a client pipelines writes: the server stops taking requests, answers
//! the ones in flight, exits 0; after a restart on the same data directory every write
//! the client saw acknowledged is there and the client's session is still valid
//! (ZooKeeper's sessions survive a restart; nothing closes them on the way down).

use std::io::Write;

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::wire::{self, req, Wire};
use ferrokeeper_tests::{scratch_dir, Launch};

/// Creates the client pipelines; the signal comes after [`ACKED_BEFORE_SIGNAL`] replies.
const WRITES: usize = 20_000;
const ACKED_BEFORE_SIGNAL: usize = 1_000;

fn path(xid: i32) -> String {
    format!("/drain-{xid:05}")
}

#[test]
fn acknowledged_writes_and_the_session_survive_sigterm_mid_stream() {
    // Reads ferrokeeper's exit status and log, in either mode.
    let dir = scratch_dir("sigterm-drain");
    let log = dir.join("server.log");
    let mut server = Launch::new(&dir).stderr_to(&log).log("info").start();
    let port = server.port();
    let mut w = Wire::connect(server.addr);
    let mut frames = Vec::new();
    for xid in 1..=WRITES as i32 {
        frames.extend(wire::typed_request_frame(
            xid,
            &req::create(&path(xid), b"v", CreateMode::Persistent),
        ));
    }
    let mut writer = w.stream().try_clone().unwrap();
    // The server may stop reading or close mid-stream: what was not sent was not
    // acknowledged either.
    let writing = std::thread::spawn(move || {
        let _ = writer.write_all(&frames);
    });
    let mut replies = w.recv_n(ACKED_BEFORE_SIGNAL);
    let stopping = std::thread::spawn(move || {
        let status = server.terminate();
        (server, status)
    });
    replies.extend(w.recv_until_closed());
    let (server, status) = stopping.join().unwrap();
    writing.join().unwrap();
    let status = status.expect("the server did not exit within 10 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr_text());
    drop(server);

    let acked: Vec<i32> = replies
        .iter()
        .filter(|r| r.err() == 0)
        .map(|r| r.xid())
        .collect();
    assert!(acked.len() >= ACKED_BEFORE_SIGNAL);
    // Replies come in request order, with nothing skipped.
    for (i, xid) in acked.iter().enumerate() {
        assert_eq!(*xid, i as i32 + 1, "replies out of order or with a gap");
    }
    eprintln!(
        "{} of {WRITES} writes acknowledged before the server stopped",
        acked.len()
    );

    let restarted = Launch::new(&dir).port(port).stderr_to(&log).start();
    let (mut again, response) = Wire::resume(restarted.addr, &w);
    assert_eq!(response.session_id, w.session_id, "the session is gone");
    assert!(response.timeout > 0, "the session expired: {response:?}");
    let mut checks = Vec::new();
    for xid in &acked {
        checks.extend(wire::typed_request_frame(
            *xid,
            &req::exists(&path(*xid), false),
        ));
    }
    let mut writer = again.stream().try_clone().unwrap();
    let writing = std::thread::spawn(move || writer.write_all(&checks).expect("send checks"));
    for (reply, xid) in again.recv_n(acked.len()).iter().zip(&acked) {
        assert_eq!(reply.xid(), *xid);
        assert_eq!(
            reply.err(),
            0,
            "{} was acknowledged and is gone",
            path(*xid)
        );
    }
    writing.join().unwrap();
    let text = restarted.stderr_text();
    assert!(text.contains("stopping signal=\"SIGTERM\""), "{text}");
    drop(restarted);
    let _ = std::fs::remove_dir_all(dir);
}
