//! Sessions: timeout negotiation, resuming with id and password, refused resumes (wrong
//! password, expired, closed), expiry without traffic, keeping alive with pings, the
//! handshake's optional readOnly flag, and clients that have seen the future.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrokeeper_protocol::records::{ConnectRequest, GetDataResponse};
use ferrokeeper_protocol::{CreateMode, ErrorCode};
use ferrokeeper_tests::wire::{self, frame, new_session_request, record, req, Wire};
use ferrokeeper_tests::zkc::{connect, ephemeral, within};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

fn timeout_for(server: &ServerProcess, requested: i32) -> i32 {
    Wire::connect_with(server.addr, &new_session_request(requested))
        .1
        .timeout
}

#[test]
fn the_session_timeout_is_clamped_to_two_and_twenty_ticks() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    for (requested, negotiated) in [
        (0, 200),
        (50, 200),
        (200, 200),
        (1234, 1234),
        (2000, 2000),
        (100_000, 2000),
        (-5, 200),
    ] {
        assert_eq!(
            timeout_for(&server, requested),
            negotiated,
            "asked {requested}"
        );
    }
}

#[test]
fn min_and_max_session_timeout_settings_override_the_ticks() {
    let server = ServerProcess::start(&[
        "--tick-time",
        "100",
        "--set",
        "minSessionTimeout=500",
        "--set",
        "maxSessionTimeout=700",
    ]);
    assert_eq!(timeout_for(&server, 100), 500);
    assert_eq!(timeout_for(&server, 600), 600);
    assert_eq!(timeout_for(&server, 10_000), 700);
}

#[test]
fn new_sessions_get_distinct_ids_and_sixteen_byte_passwords() {
    let server = ServerProcess::start(&[]);
    let (a, ra) = Wire::connect_with(server.addr, &new_session_request(10_000));
    let (b, rb) = Wire::connect_with(server.addr, &new_session_request(10_000));
    assert_ne!(a.session_id, 0);
    assert_ne!(a.session_id, b.session_id);
    for response in [&ra, &rb] {
        assert_eq!(response.protocol_version, 0);
        assert_eq!(response.passwd.as_ref().map(Bytes::len), Some(16));
        assert_eq!(response.read_only, Some(false));
    }
    // Ids keep clear of the container and TTL owner markers.
    assert!(a.session_id > 0 && (a.session_id >> 56) != 0xff);
}

#[test]
fn resuming_with_id_and_password_keeps_the_session_and_its_ephemerals() {
    let server = ServerProcess::start(&[]);
    let mut first = Wire::connect(server.addr);
    first.call(1, &req::create("/mine", b"", CreateMode::Ephemeral));
    let (session_id, password) = (first.session_id, first.password.clone());
    drop(first); // the TCP connection goes, the session stays
    let request = ConnectRequest {
        session_id,
        passwd: password.clone(),
        ..new_session_request(wire::DEFAULT_SESSION_TIMEOUT_MS)
    };
    let (mut resumed, response) = Wire::connect_with(server.addr, &request);
    assert_eq!(
        (response.session_id, &response.passwd, response.timeout),
        (session_id, &password, wire::DEFAULT_SESSION_TIMEOUT_MS)
    );
    let data = resumed
        .call(1, &req::get_data("/mine", false))
        .decode::<GetDataResponse>();
    assert_eq!(data.stat.ephemeral_owner, session_id);
    let mine = resumed
        .call(2, &req::get_ephemerals("/"))
        .decode::<ferrokeeper_protocol::records::GetEphemeralsResponse>();
    assert_eq!(mine.ephemerals, ["/mine"]);
}

#[test]
fn the_password_of_another_session_does_not_open_a_session() {
    let server = ServerProcess::start(&[]);
    let a = Wire::connect(server.addr);
    let b = Wire::connect(server.addr);
    let request = ConnectRequest {
        session_id: a.session_id,
        passwd: b.password.clone(),
        ..new_session_request(10_000)
    };
    let (mut w, response) = Wire::connect_with(server.addr, &request);
    assert_eq!((response.timeout, response.session_id), (0, 0));
    w.expect_closed();
}

#[tokio::test]
async fn a_client_can_take_its_session_to_a_new_connection() {
    let server = ServerProcess::start(&[]);
    let first = within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_detached()
            .connect(&server.connect_string()),
    )
    .await
    .unwrap();
    first.create("/kept", b"", &ephemeral()).await.unwrap();
    let session = first.session().clone();
    let id = first.session_id();
    drop(first); // detached: no closeSession
    let second = within(
        zk::Client::connector()
            .with_session(session)
            .connect(&server.connect_string()),
    )
    .await
    .unwrap();
    assert_eq!(second.session_id(), id);
    assert_eq!(second.list_ephemerals("/").await.unwrap(), ["/kept"]);
    let stat = second.check_stat("/kept").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, id.0);
}

#[test]
fn a_wrong_password_gets_the_expired_answer_then_the_connection_closes() {
    let server = ServerProcess::start(&[]);
    let owner = Wire::connect(server.addr);
    let mut bad = owner.password.clone().unwrap().to_vec();
    bad[0] ^= 0xff;
    let request = ConnectRequest {
        session_id: owner.session_id,
        passwd: Some(Bytes::from(bad)),
        ..new_session_request(10_000)
    };
    let (mut w, response) = Wire::connect_with(server.addr, &request);
    assert_eq!(
        (response.timeout, response.session_id),
        (0, 0),
        "timeout 0 tells the client its session is expired"
    );
    assert_eq!(response.passwd.as_deref(), Some(&[0u8; 16][..]));
    assert_eq!(response.read_only, Some(false));
    w.expect_closed();
    // The session itself is not ended by a bad guess.
    let (mut resumed, response) = Wire::resume(server.addr, &owner);
    assert_eq!(response.session_id, owner.session_id);
    assert_eq!(resumed.ping().err(), 0);
}

#[test]
fn resuming_a_session_closes_its_previous_connection() {
    let server = ServerProcess::start(&[]);
    let mut old = Wire::connect(server.addr);
    old.call(1, &req::create("/e", b"", CreateMode::Ephemeral));
    let (mut new, response) = Wire::resume(server.addr, &old);
    assert_eq!(response.session_id, old.session_id);
    old.expect_closed();
    assert_eq!(new.call(1, &req::exists("/e", false)).err(), 0);
}

#[test]
fn a_session_expires_after_its_timeout_without_traffic() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    let (mut silent, response) = Wire::connect_with(server.addr, &new_session_request(1000));
    assert_eq!(response.timeout, 1000);
    silent.call(1, &req::create("/e", b"", CreateMode::Ephemeral));
    let quiet_since = Instant::now();
    let mut observer = Wire::connect_with(server.addr, &new_session_request(2000)).0;
    // Not before the timeout ...
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(observer.call(1, &req::exists("/e", false)).err(), 0);
    // ... but soon after it: the connection is closed without a word.
    silent.expect_closed();
    let expired_after = quiet_since.elapsed();
    // (Measured from the last reply, a little after the server last heard from us.)
    assert!(
        expired_after >= Duration::from_millis(900),
        "expired after {expired_after:?}"
    );
    assert!(
        expired_after < Duration::from_millis(3000),
        "expired after {expired_after:?}"
    );
    assert_eq!(
        observer.call(2, &req::exists("/e", false)).err(),
        ErrorCode::NoNode.code()
    );
    let (_, resumed) = Wire::resume(server.addr, &silent);
    assert_eq!((resumed.timeout, resumed.session_id), (0, 0));
}

#[test]
fn pings_and_requests_keep_a_session_alive() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    let (mut pinging, _) = Wire::connect_with(server.addr, &new_session_request(200));
    let (mut busy, _) = Wire::connect_with(server.addr, &new_session_request(200));
    pinging.call(1, &req::create("/p", b"", CreateMode::Ephemeral));
    busy.call(1, &req::create("/b", b"", CreateMode::Ephemeral));
    let start = Instant::now();
    let mut xid = 2;
    while start.elapsed() < Duration::from_millis(800) {
        assert_eq!(pinging.ping().err(), 0);
        assert_eq!(busy.call(xid, &req::exists("/p", false)).err(), 0);
        xid += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(busy.call(xid, &req::exists("/b", false)).err(), 0);
}

#[tokio::test]
async fn an_expired_session_cannot_be_taken_up_by_a_client() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    let (mut silent, _) = Wire::connect_with(server.addr, &new_session_request(200));
    silent.expect_closed();
    let mut stale = Wire::open(server.addr);
    let request = ConnectRequest {
        session_id: silent.session_id,
        passwd: silent.password.clone(),
        ..new_session_request(200)
    };
    assert_eq!(stale.handshake(&request).timeout, 0);
    drop(stale);
    let _ = connect(&server).await; // the server is fine
}

#[test]
fn a_client_that_has_seen_a_later_zxid_is_closed_without_an_answer() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::open(server.addr);
    let request = ConnectRequest {
        last_zxid_seen: 1 << 40,
        ..new_session_request(10_000)
    };
    w.write_raw(&frame(&record(&request)));
    w.expect_closed();
    // A client whose last zxid is the server's own is fine.
    let mut ok = Wire::connect(server.addr);
    let zxid = ok.ping().header.zxid;
    let request = ConnectRequest {
        last_zxid_seen: zxid,
        ..new_session_request(10_000)
    };
    let (_, response) = Wire::connect_with(server.addr, &request);
    assert_ne!(response.session_id, 0);
}

#[test]
fn the_read_only_flag_is_answered_only_when_the_client_sent_it() {
    let server = ServerProcess::start(&[]);
    let old_client = ConnectRequest {
        read_only: None,
        ..new_session_request(10_000)
    };
    let mut w = Wire::open(server.addr);
    w.write_raw(&frame(&record(&old_client)));
    let payload = w.recv_frame().expect("ConnectResponse");
    assert_eq!(
        payload.len(),
        4 + 4 + 8 + 4 + 16,
        "no trailing readOnly byte"
    );
    let mut w = Wire::open(server.addr);
    w.write_raw(&frame(&record(&new_session_request(10_000))));
    let payload = w.recv_frame().expect("ConnectResponse");
    assert_eq!(payload.len(), 4 + 4 + 8 + 4 + 16 + 1);
    assert_eq!(payload[payload.len() - 1], 0, "not a read-only server");
}

#[test]
fn requests_sent_right_behind_the_connect_request_are_answered_after_it() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::open(server.addr);
    let mut bytes = frame(&record(&new_session_request(10_000)));
    bytes.extend(wire::typed_request_frame(
        1,
        &req::create("/early", b"x", CreateMode::Persistent),
    ));
    bytes.extend(wire::typed_request_frame(
        2,
        &req::get_data("/early", false),
    ));
    w.write_raw(&bytes);
    let response: ferrokeeper_protocol::records::ConnectResponse =
        ferrokeeper_protocol::jute::from_bytes(w.recv_frame().unwrap()).unwrap();
    assert_ne!(response.session_id, 0);
    let replies = w.recv_n(2);
    assert_eq!((replies[0].xid(), replies[0].err()), (1, 0));
    assert_eq!(replies[1].xid(), 2);
    assert_eq!(
        replies[1].decode::<GetDataResponse>().data.as_deref(),
        Some(&b"x"[..])
    );
}

#[test]
fn a_resume_renegotiates_the_timeout() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    let first = Wire::connect_with(server.addr, &new_session_request(2000)).0;
    let request = ConnectRequest {
        session_id: first.session_id,
        passwd: first.password.clone(),
        ..new_session_request(300)
    };
    let (_, response) = Wire::connect_with(server.addr, &request);
    assert_eq!(
        (response.session_id, response.timeout),
        (first.session_id, 300)
    );
}

#[test]
fn auth_and_set_watches_sent_before_the_connect_response_are_handled_after_it() {
    let server = ServerProcess::start(&[]);
    let mut setup = Wire::connect(server.addr);
    setup.call(1, &req::create("/w", b"", CreateMode::Persistent));
    let mut w = Wire::open(server.addr);
    let set_watches = record(&ferrokeeper_protocol::records::SetWatches {
        relative_zxid: 0,
        data_watches: vec!["/w".into()],
        exist_watches: vec![],
        child_watches: vec![],
    });
    let mut bytes = frame(&record(&new_session_request(10_000)));
    bytes.extend(wire::typed_request_frame(
        -4,
        &req::auth("digest", b"bob:secret"),
    ));
    bytes.extend(wire::request_frame(
        -8,
        ferrokeeper_protocol::OpCode::SetWatches.code(),
        &set_watches,
    ));
    bytes.extend(wire::typed_request_frame(
        1,
        &ferrokeeper_protocol::request::Request::WhoAmI,
    ));
    w.write_raw(&bytes);
    let response: ferrokeeper_protocol::records::ConnectResponse =
        ferrokeeper_protocol::jute::from_bytes(w.recv_frame().unwrap()).unwrap();
    assert_ne!(response.session_id, 0);
    let frames = w.recv_n(4);
    let kinds: Vec<i32> = frames.iter().map(|r| r.xid()).collect();
    assert_eq!(
        kinds,
        [-4, -1, -8, 1],
        "auth, catch-up event, setWatches, whoAmI"
    );
    assert!(frames.iter().all(|r| r.err() == 0));
    let who = frames[3].decode::<ferrokeeper_protocol::records::WhoAmIResponse>();
    assert!(who
        .client_info
        .iter()
        .any(|c| (c.auth_scheme.as_str(), c.user.as_str()) == ("digest", "bob")));
}
