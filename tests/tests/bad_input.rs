//! Abuse on the wire: garbage instead of a handshake, bad frame lengths, unknown op
//! codes, undecodable bodies, invalid paths. Each is answered (or the connection closed)
//! as ZooKeeper does, and the server keeps serving well-behaved clients afterwards.

use std::time::Duration;

use ferrokeeper_protocol::multi::MultiOp;
use ferrokeeper_protocol::records::{PathWatchRequest, SetDataRequest};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode};
use ferrokeeper_tests::wire::{self, frame, new_session_request, record, req, Wire};
use ferrokeeper_tests::{real_zookeeper, ServerProcess};

const MARSHALLING: i32 = ErrorCode::MarshallingError as i32;
const BAD_ARGUMENTS: i32 = ErrorCode::BadArguments as i32;

/// A new, well-behaved session can still write and read.
fn assert_healthy(server: &ServerProcess) {
    let mut w = Wire::connect(server.addr);
    let path = format!("/healthy-{}", w.session_id);
    assert_eq!(
        w.call(1, &req::create(&path, b"ok", CreateMode::Ephemeral))
            .err(),
        0
    );
    assert_eq!(w.call(2, &req::get_data(&path, false)).err(), 0);
}

#[test]
fn garbage_instead_of_a_connect_request_closes_the_connection() {
    let server = ServerProcess::start(&[]);
    for garbage in [
        frame(b"hello"),
        frame(&[0xff; 12]),
        frame(&[]),
        // A ConnectRequest cut short inside its password.
        {
            let mut bytes = record(&new_session_request(10_000));
            bytes.truncate(26);
            frame(&bytes)
        },
    ] {
        let mut w = Wire::open(server.addr);
        w.write_raw(&garbage);
        w.expect_closed();
        assert_healthy(&server);
    }
}

#[test]
fn a_negative_or_oversized_length_prefix_closes_the_connection() {
    let server = ServerProcess::start(&[]);
    for prefix in [-1i32, -100, i32::MIN, 0x10_0000, i32::MAX] {
        // Before the handshake ...
        let mut w = Wire::open(server.addr);
        w.write_raw_lossy(&prefix.to_be_bytes());
        w.write_raw_lossy(&[0; 64]);
        w.expect_closed();
        // ... and after it.
        let mut w = Wire::connect(server.addr);
        w.write_raw_lossy(&prefix.to_be_bytes());
        w.write_raw_lossy(&[0; 64]);
        w.expect_closed();
    }
    assert_healthy(&server);
}

#[test]
fn frames_up_to_jute_maxbuffer_are_read_and_longer_ones_close_the_connection() {
    let server = ServerProcess::start(&["--set", "jute.maxbuffer=2000"]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/big", b"", CreateMode::Persistent));
    // Header (8) + path (4 + 4) + data length (4) + version (4) = 24 bytes around the data.
    let fits = req::set_data("/big", &[7; 2000 - 24], -1);
    let frame_len = wire::typed_request_frame(2, &fits).len() - 4;
    assert_eq!(frame_len, 2000);
    assert_eq!(w.call(2, &fits).err(), 0);
    let too_big = req::set_data("/big", &[7; 2000 - 23], -1);
    w.send_lossy(3, &too_big);
    w.expect_closed();
    let mut check = Wire::connect(server.addr);
    let data = check
        .call(1, &req::get_data("/big", false))
        .decode::<ferrokeeper_protocol::records::GetDataResponse>();
    assert_eq!(data.stat.data_length, 2000 - 24);
}

#[test]
fn an_unknown_op_code_is_answered_unimplemented_then_the_connection_closes() {
    let server = ServerProcess::start(&[]);
    // 13 is check, valid only inside a multi (ZooKeeper 3.9; 3.8.0 still ran a
    // top-level check); 0 is notification (server to client).
    let ops: &[i32] = if real_zookeeper() {
        &[999, 0, 10, -1, 200]
    } else {
        &[999, 13, 0, 10, -1, 200]
    };
    for &op in ops {
        let mut w = Wire::connect(server.addr);
        w.send_op(42, op, &record(&req::delete_op("/x", -1)));
        let frames = w.recv_until_closed();
        assert_eq!(frames.len(), 1, "op {op}: {frames:?}");
        // The zxid is the request's own: -1, as for any non-write.
        assert_eq!(
            (frames[0].xid(), frames[0].header.zxid, frames[0].err()),
            (42, -1, ErrorCode::Unimplemented.code()),
            "op {op}"
        );
        assert!(frames[0].body.is_empty());
    }
    assert_healthy(&server);
}

#[test]
fn an_undecodable_body_is_a_marshalling_error_and_the_connection_stays_usable() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/x", b"", CreateMode::Persistent));
    let truncated_path = {
        let mut body = record(&PathWatchRequest {
            path: "/x/some/long/path".into(),
            watch: false,
        });
        body.truncate(9);
        body
    };
    let negative_string = {
        let mut body = (-5i32).to_be_bytes().to_vec();
        body.extend_from_slice(b"/x\0");
        body
    };
    let huge_string = {
        let mut body = i32::MAX.to_be_bytes().to_vec();
        body.extend_from_slice(b"/x");
        body.push(0);
        body
    };
    let cases: Vec<(&str, OpCode, Vec<u8>)> = vec![
        (
            "getData cut in its path",
            OpCode::GetData,
            truncated_path.clone(),
        ),
        ("exists without a body", OpCode::Exists, vec![]),
        (
            "getChildren with a negative path length",
            OpCode::GetChildren,
            negative_string,
        ),
        (
            "getData with an impossible path length",
            OpCode::GetData,
            huge_string,
        ),
        (
            "create cut in its path",
            OpCode::Create,
            truncated_path.clone(),
        ),
        ("create2 without flags", OpCode::Create2, {
            let mut body = record(&req::create_op("/y", b"", CreateMode::Persistent).path);
            body.extend(record(&Some(bytes::Bytes::from_static(b"d"))));
            body
        }),
        ("setData without a version", OpCode::SetData, {
            let mut body = record(&SetDataRequest {
                path: "/x".into(),
                data: None,
                version: 0,
            });
            body.truncate(body.len() - 2);
            body
        }),
        ("delete without a body", OpCode::Delete, vec![]),
        ("multi cut after its first header", OpCode::Multi, {
            let mut body = wire::body_of(&req::multi(vec![MultiOp::Create(req::create_op(
                "/z",
                b"",
                CreateMode::Persistent,
            ))]));
            body.truncate(12);
            body
        }),
        ("multiRead without a terminator", OpCode::MultiRead, {
            let mut body = wire::body_of(&req::multi_read(vec![req::read_data_op("/x")]));
            body.truncate(body.len() - 9);
            body
        }),
        ("getACL without a body", OpCode::GetAcl, vec![]),
        ("sync with a truncated path", OpCode::Sync, truncated_path),
        (
            "reconfig with a garbage body",
            OpCode::Reconfig,
            vec![1, 2, 3],
        ),
    ];
    for (i, (what, op, body)) in cases.into_iter().enumerate() {
        let xid = 10 + i as i32;
        w.send_op(xid, op.code(), &body);
        let reply = w.recv();
        assert_eq!((reply.xid(), reply.err()), (xid, MARSHALLING), "{what}");
        assert!(reply.body.is_empty(), "{what}");
        // Still usable.
        assert_eq!(
            w.call(100 + i as i32, &req::exists("/x", false)).err(),
            0,
            "after {what}"
        );
    }
    for path in ["/y", "/z"] {
        assert_eq!(
            w.call(200, &req::exists(path, false)).err(),
            ErrorCode::NoNode.code()
        );
    }
    assert_healthy(&server);
}

#[test]
fn invalid_paths_are_bad_arguments_for_writes_and_missing_for_reads() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/x", b"", CreateMode::Persistent));
    let create = |p: &str| req::create(p, b"", CreateMode::Persistent);
    let bad_writes = [
        create(""),
        create("relative"),
        create("/x/"),
        create("/x/."),
        create("/x/.."),
        create("/x/a\u{1}b"),
        create("/x/a\u{0}b"),
        create("/x/\u{7f}"),
        create("/x/\u{e000}"),
        create("/x/\u{1F600}"),
        req::set_data("/x/", b"", -1),
        req::set_data("relative", b"", -1),
        req::set_data("/x//y", b"", -1),
        req::set_acl("/x/.", req::open_acl(), -1),
        req::delete("relative", -1),
        req::delete("/x/a\u{0}", -1),
        req::exists("/x\u{0}", false),
        req::multi(vec![req::check_op("/x/", -1)]),
    ];
    for (i, request) in bad_writes.iter().enumerate() {
        let reply = w.call(10 + i as i32, request);
        let err = if matches!(request, Request::Multi(_)) {
            // Inside a multi the sub-op fails: OK header, error result.
            assert_eq!(reply.err(), 0);
            let results = reply
                .decode::<ferrokeeper_protocol::multi::MultiResponse>()
                .results;
            match results[..] {
                [ferrokeeper_protocol::multi::MultiResult::Error { err }] => err,
                _ => panic!("{results:?}"),
            }
        } else {
            reply.err()
        };
        assert_eq!(err, BAD_ARGUMENTS, "{request:?}");
    }
    // Reads look the path up as it is: an invalid path is simply not there.
    for (i, request) in [
        req::get_data("relative", false),
        req::get_data("/x/", false),
        req::get_children("//", false),
        req::get_acl("/x/."),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            w.call(50 + i as i32, request).err(),
            ErrorCode::NoNode.code(),
            "{request:?}"
        );
    }
    // Names that look odd but are valid.
    for (i, path) in ["/x/...", "/x/.hidden", "/x/a b", "/x/é", "/x/zookeeper"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(w.call(60 + i as i32, &create(path)).err(), 0, "{path}");
    }
    assert_healthy(&server);
}

#[test]
fn a_request_dribbled_byte_by_byte_is_reassembled() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::open(server.addr);
    let mut bytes = frame(&record(&new_session_request(10_000)));
    bytes.extend(wire::typed_request_frame(
        1,
        &req::create("/slow", b"x", CreateMode::Persistent),
    ));
    for byte in bytes {
        w.write_raw(&[byte]);
        std::thread::sleep(Duration::from_micros(200));
    }
    let _connect = w.recv_frame().expect("ConnectResponse");
    let reply = w.recv();
    assert_eq!((reply.xid(), reply.err()), (1, 0));
}

#[test]
fn connections_dropped_mid_frame_or_before_the_handshake_do_no_harm() {
    let server = ServerProcess::start(&[]);
    for _ in 0..20 {
        let mut half = Wire::open(server.addr);
        half.write_raw(&100i32.to_be_bytes());
        half.write_raw(&[1, 2, 3]);
        drop(half);
        drop(Wire::open(server.addr));
        let mut mid = Wire::connect(server.addr);
        mid.write_raw(&wire::typed_request_frame(1, &req::get_data("/", false))[..7]);
        drop(mid);
    }
    assert_healthy(&server);
}

#[test]
fn sasl_without_a_sasl_server_answers_a_null_token_and_carries_on() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let token = record(&ferrokeeper_protocol::records::GetSaslRequest {
        token: Some(bytes::Bytes::from_static(b"token")),
    });
    w.send_op(5, OpCode::Sasl.code(), &token);
    let reply = w.recv();
    assert_eq!((reply.xid(), reply.header.zxid, reply.err()), (5, 0, 0));
    let response = reply.decode::<ferrokeeper_protocol::records::SetSaslResponse>();
    assert_eq!(response.token, None);
    assert_eq!(w.call(6, &req::exists("/", false)).err(), 0);
}
