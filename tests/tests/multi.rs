//! multi (op 14): all sub-ops or none, one zxid, per-op results (and per-op errors when
//! it fails); multiRead (op 22): independent reads with per-op errors.

use std::time::Duration;

use bytes::Bytes;
use ferrokeeper_protocol::multi::MultiOp;
use ferrokeeper_protocol::records::{Acl, MultiHeader, Stat};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, Jute, OpCode, Perms};
use ferrokeeper_tests::wire::{record, req, Reply, Wire};
use ferrokeeper_tests::zkc::{connect, open, persistent};
use ferrokeeper_tests::{real_zookeeper, ServerProcess};
use zookeeper_client as zk;

/// One result of a multi response as it is on the wire: its header's type and err,
/// and for error results the err repeated in the body.
#[derive(Debug, PartialEq, Eq)]
struct SubResult {
    op: i32,
    header_err: i32,
    body_err: Option<i32>,
    path: Option<String>,
    stat: Option<Stat>,
}

fn parse_results(reply: &Reply) -> Vec<SubResult> {
    let mut body: Bytes = reply.body.clone();
    let input = &mut body;
    let mut results = Vec::new();
    loop {
        let header = MultiHeader::read(input).expect("multi header");
        if header.done {
            assert_eq!((header.op, header.err), (-1, -1), "terminator");
            break;
        }
        let mut result = SubResult {
            op: header.op,
            header_err: header.err,
            body_err: None,
            path: None,
            stat: None,
        };
        match header.op {
            -1 => result.body_err = Some(i32::read(input).unwrap()),
            1 => result.path = Some(String::read(input).unwrap()),
            15 => {
                result.path = Some(String::read(input).unwrap());
                result.stat = Some(Stat::read(input).unwrap());
            }
            5 => result.stat = Some(Stat::read(input).unwrap()),
            2 | 13 => {}
            4 => {
                Option::<Bytes>::read(input).unwrap();
                result.stat = Some(Stat::read(input).unwrap());
            }
            8 => {
                Vec::<String>::read(input).unwrap();
            }
            other => panic!("unexpected result type {other}"),
        }
        results.push(result);
    }
    assert!(input.is_empty(), "bytes after the terminator");
    results
}

fn error_result(err: ErrorCode) -> SubResult {
    SubResult {
        op: -1,
        header_err: err.code(),
        body_err: Some(err.code()),
        path: None,
        stat: None,
    }
}

/// The result type of a create2 sub-op: 15 (path and stat), as ZooKeeper 3.9 and the
/// protocol notes have it. ZooKeeper 3.8 answers 1 (path only, ZOOKEEPER-4026).
fn create2_result() -> i32 {
    if real_zookeeper() {
        1
    } else {
        15
    }
}

fn create(path: &str) -> MultiOp {
    MultiOp::Create(req::create_op(path, b"", CreateMode::Persistent))
}

#[tokio::test]
async fn a_multi_applies_every_op_and_answers_one_result_per_op() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/m", b"", &persistent()).await.unwrap();
    client.create("/m/old", b"", &persistent()).await.unwrap();
    let mut writer = client.new_multi_writer();
    writer.add_check_version("/m", 0).unwrap();
    writer.add_create("/m/new", b"data", &persistent()).unwrap();
    writer.add_set_data("/m", b"x", Some(0)).unwrap();
    writer.add_delete("/m/old", Some(0)).unwrap();
    let results = writer.commit().await.unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0], zk::MultiWriteResult::Check);
    let zk::MultiWriteResult::Create { path, stat } = &results[1] else {
        panic!("{results:?}")
    };
    assert_eq!(path, "/m/new");
    let zk::MultiWriteResult::SetData { stat: set } = &results[2] else {
        panic!("{results:?}")
    };
    assert_eq!(set.version, 1);
    assert_eq!(results[3], zk::MultiWriteResult::Delete);
    // One zxid for every change.
    let created = client.check_stat("/m/new").await.unwrap().unwrap();
    assert_eq!((created.czxid, created.data_length), (set.mzxid, 4));
    if !real_zookeeper() {
        // create2 results carry the stat (ZooKeeper 3.8 omits it: see CREATE2_RESULT).
        assert_eq!(*stat, created);
    }
    let m = client.check_stat("/m").await.unwrap().unwrap();
    assert_eq!((m.num_children, m.pzxid), (1, set.mzxid));
    assert_eq!(client.list_children("/m").await.unwrap(), ["new"]);
}

#[tokio::test]
async fn later_ops_of_a_multi_see_the_earlier_ones() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let mut writer = client.new_multi_writer();
    writer.add_create("/a", b"", &persistent()).unwrap();
    writer.add_create("/a/b", b"", &persistent()).unwrap();
    writer.add_set_data("/a/b", b"1", Some(0)).unwrap();
    writer.add_check_version("/a/b", 1).unwrap();
    writer
        .add_create("/a/s-", b"", &open(zk::CreateMode::PersistentSequential))
        .unwrap();
    writer.add_delete("/a/b", Some(1)).unwrap();
    let results = writer.commit().await.unwrap();
    let zk::MultiWriteResult::Create { path, .. } = &results[4] else {
        panic!("{results:?}")
    };
    assert_eq!(
        path, "/a/s-0000000001",
        "the sequence counts the create before it"
    );
    assert_eq!(client.list_children("/a").await.unwrap(), ["s-0000000001"]);
}

#[tokio::test]
async fn a_failing_op_rolls_back_the_whole_multi() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client
        .create("/keep", b"before", &persistent())
        .await
        .unwrap();
    let mut writer = client.new_multi_writer();
    writer.add_create("/new1", b"", &persistent()).unwrap();
    writer.add_set_data("/keep", b"after", None).unwrap();
    writer.add_delete("/missing", None).unwrap();
    writer.add_create("/new2", b"", &persistent()).unwrap();
    assert_eq!(
        writer.commit().await.unwrap_err(),
        zk::MultiWriteError::OperationFailed {
            index: 2,
            source: zk::Error::NoNode
        }
    );
    assert_eq!(client.check_stat("/new1").await.unwrap(), None);
    assert_eq!(client.check_stat("/new2").await.unwrap(), None);
    let (data, stat) = client.get_data("/keep").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"before"[..], 0));
    let root = client.check_stat("/").await.unwrap().unwrap();
    assert_eq!(root.num_children, 2);
}

#[test]
fn a_failed_multi_answers_ok_then_the_error_then_runtime_inconsistency() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let before = w.ping().header.zxid;
    let reply = w.call(
        1,
        &req::multi(vec![
            create("/a"),
            create("/b"),
            MultiOp::SetData(req::set_data_op("/missing", b"", -1)),
            create("/c"),
            req::check_op("/", -1),
        ]),
    );
    assert_eq!(reply.err(), 0, "the multi itself succeeds as a request");
    assert_eq!(
        parse_results(&reply),
        [
            error_result(ErrorCode::Ok),
            error_result(ErrorCode::Ok),
            error_result(ErrorCode::NoNode),
            error_result(ErrorCode::RuntimeInconsistency),
            error_result(ErrorCode::RuntimeInconsistency),
        ]
    );
    assert_eq!(
        reply.header.zxid,
        before + 1,
        "a failed multi still takes a zxid"
    );
    for (xid, path) in [(2, "/a"), (3, "/b"), (4, "/c")] {
        assert_eq!(
            w.call(xid, &req::exists(path, false)).err(),
            ErrorCode::NoNode.code()
        );
    }
}

#[test]
fn each_result_mirrors_its_sub_op_type() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/old", b"", CreateMode::Persistent));
    let plain = MultiOp::Create(req::create_raw(
        OpCode::Create,
        "/plain",
        Some(b""),
        req::open_acl(),
        0,
        -1,
    ));
    let container = MultiOp::Create(req::create_raw(
        OpCode::CreateContainer,
        "/container",
        Some(b""),
        req::open_acl(),
        CreateMode::Container.code(),
        -1,
    ));
    let reply = w.call(
        2,
        &req::multi(vec![
            plain,
            create("/two"),
            container,
            MultiOp::SetData(req::set_data_op("/old", b"x", 0)),
            req::check_op("/old", 1),
            MultiOp::Delete(req::delete_op("/old", 1)),
        ]),
    );
    let results = parse_results(&reply);
    let summary: Vec<(i32, i32, Option<&str>)> = results
        .iter()
        .map(|r| (r.op, r.header_err, r.path.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, 0, Some("/plain")),
            (create2_result(), 0, Some("/two")),
            (15, 0, Some("/container")),
            (5, 0, None),
            (13, 0, None),
            (2, 0, None),
        ]
    );
    let zxid = reply.header.zxid;
    if !real_zookeeper() {
        assert_eq!(results[1].stat.as_ref().unwrap().czxid, zxid);
    }
    assert_eq!(results[2].stat.as_ref().unwrap().czxid, zxid);
    assert_eq!(results[3].stat.as_ref().unwrap().mzxid, zxid);
}

#[test]
fn sub_ops_fail_with_the_errors_single_ops_give() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/e", b"", CreateMode::Ephemeral));
    w.call(2, &req::create("/p", b"", CreateMode::Persistent));
    w.call(3, &req::create("/p/c", b"", CreateMode::Persistent));
    let locked = vec![Acl::new(Perms::ADMIN, "world", "anyone")];
    w.call(4, &req::set_acl("/p/c", locked, -1));
    let cases: Vec<(MultiOp, ErrorCode)> = vec![
        (create("/e/child"), ErrorCode::NoChildrenForEphemerals),
        (create("/p"), ErrorCode::NodeExists),
        (create("/nope/x"), ErrorCode::NoNode),
        (create("/p/."), ErrorCode::BadArguments),
        // The parent of "/p/bad/" is "/p/bad": missing, which is checked first.
        (create("/p/bad/"), ErrorCode::NoNode),
        (
            MultiOp::Delete(req::delete_op("/p", -1)),
            ErrorCode::NotEmpty,
        ),
        (
            MultiOp::Delete(req::delete_op("/p/c", 5)),
            ErrorCode::BadVersion,
        ),
        (
            MultiOp::SetData(req::set_data_op("/p/c", b"", -1)),
            ErrorCode::NoAuth,
        ),
        (req::check_op("/p", 3), ErrorCode::BadVersion),
        (req::check_op("/p/c", -1), ErrorCode::NoAuth),
        (req::check_op("/none", -1), ErrorCode::NoNode),
    ];
    for (i, (op, err)) in cases.into_iter().enumerate() {
        let reply = w.call(10 + i as i32, &req::multi(vec![op]));
        assert_eq!(parse_results(&reply), [error_result(err)], "case {i}");
    }
}

#[test]
fn watches_fire_after_a_successful_multi_and_not_after_a_failed_one() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let mut watcher = Wire::connect(server.addr);
    watcher.call(1, &req::exists("/x", true));
    watcher.call(2, &req::get_children("/", true));
    w.call(
        1,
        &req::multi(vec![
            create("/x"),
            MultiOp::Delete(req::delete_op("/none", -1)),
        ]),
    );
    watcher.expect_silence(Duration::from_millis(150));
    // The writer's own watch: its events come before the multi's reply.
    w.call(2, &req::get_children("/", true));
    let (reply, events) = w.call_with_events(3, &req::multi(vec![create("/x"), create("/y")]));
    assert_eq!(parse_results(&reply).len(), 2);
    assert_eq!(events.len(), 1, "one NodeChildrenChanged for the root");
    let mut seen: Vec<(i32, String)> = watcher
        .recv_n(2)
        .iter()
        .map(|r| (r.event().event_type, r.event().path))
        .collect();
    seen.sort();
    assert_eq!(seen, [(1, "/x".to_owned()), (4, "/".to_owned())]);
}

#[test]
fn an_empty_multi_answers_an_empty_result_list() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    for (xid, request) in [(1, req::multi(vec![])), (2, req::multi_read(vec![]))] {
        let reply = w.call(xid, &request);
        assert_eq!(reply.err(), 0);
        assert!(parse_results(&reply).is_empty());
    }
}

#[test]
fn a_multi_of_the_wrong_kind_of_ops_fails_as_a_whole_with_marshalling_error() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let marshalling = ErrorCode::MarshallingError.code();
    let cases = [
        (
            "reads and writes mixed",
            req::multi(vec![create("/a"), req::read_data_op("/")]),
        ),
        (
            "a read in a multi",
            req::multi(vec![req::read_data_op("/")]),
        ),
        (
            "a write in a multiRead",
            req::multi_read(vec![create("/a")]),
        ),
        (
            "a write after a read in a multiRead",
            req::multi_read(vec![req::read_children_op("/"), create("/a")]),
        ),
    ];
    for (i, (what, request)) in cases.iter().enumerate() {
        assert_eq!(w.call(i as i32 + 1, request).err(), marshalling, "{what}");
    }
    // Nothing was created and the connection is still usable.
    assert_eq!(
        w.call(9, &req::exists("/a", false)).err(),
        ErrorCode::NoNode.code()
    );
}

/// ZooKeeper logs an undecodable multi as a failed transaction: it takes a zxid, as
/// every failed write does.
#[test]
fn an_undecodable_multi_takes_a_zxid_like_a_failed_write() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let before = w
        .call(1, &req::create("/z", b"", CreateMode::Persistent))
        .header
        .zxid;
    let mixed = w.call(2, &req::multi(vec![create("/a"), req::read_data_op("/")]));
    assert_eq!(mixed.err(), ErrorCode::MarshallingError.code());
    assert_eq!(mixed.header.zxid, before + 1);
    let after = w
        .call(3, &req::create("/y", b"", CreateMode::Persistent))
        .header
        .zxid;
    assert_eq!(after, before + 2);
}

/// A multi whose create sub-op has unknown flags, built byte by byte (the typed
/// encoder writes only what it can decode).
fn multi_with_bad_create_flags(flags: i32) -> Vec<u8> {
    let mut body = Vec::new();
    for (path, flags) in [("/b", flags), ("/c", 0)] {
        body.extend(record(&MultiHeader {
            op: OpCode::Create2.code(),
            done: false,
            err: -1,
        }));
        let mut sub = bytes::BytesMut::new();
        req::create_raw(OpCode::Create2, path, Some(b""), req::open_acl(), flags, -1)
            .write(&mut sub);
        body.extend(sub);
    }
    body.extend(record(&MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }));
    body
}

#[test]
fn bad_create_flags_in_a_multi_fail_that_sub_op_with_bad_arguments() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.send_op(1, OpCode::Multi.code(), &multi_with_bad_create_flags(9));
    let reply = w.recv();
    assert_eq!(reply.err(), 0);
    assert_eq!(
        parse_results(&reply),
        [
            error_result(ErrorCode::BadArguments),
            error_result(ErrorCode::RuntimeInconsistency),
        ]
    );
    assert_eq!(
        w.call(2, &req::exists("/c", false)).err(),
        ErrorCode::NoNode.code()
    );
}

#[tokio::test]
async fn multi_read_answers_each_read_on_its_own() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/r", b"data", &persistent()).await.unwrap();
    client.create("/r/c", b"", &persistent()).await.unwrap();
    let secret = [zk::Acl::new(zk::Permission::WRITE, zk::AuthId::anyone())];
    client
        .create(
            "/secret",
            b"",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::new(&secret)),
        )
        .await
        .unwrap();
    let mut reader = client.new_multi_reader();
    reader.add_get_data("/r").unwrap();
    reader.add_get_children("/r").unwrap();
    reader.add_get_data("/missing").unwrap();
    reader.add_get_children("/secret").unwrap();
    reader.add_get_data("/r/c").unwrap();
    let results = reader.commit().await.unwrap();
    assert_eq!(results.len(), 5);
    let zk::MultiReadResult::Data { data, stat } = &results[0] else {
        panic!("{results:?}")
    };
    assert_eq!((data.as_slice(), stat.num_children), (&b"data"[..], 1));
    let zk::MultiReadResult::Children { children } = &results[1] else {
        panic!("{results:?}")
    };
    assert_eq!(children, &["c"]);
    let zk::MultiReadResult::Error { err } = &results[2] else {
        panic!("{results:?}")
    };
    assert_eq!(*err, zk::Error::NoNode);
    let zk::MultiReadResult::Error { err } = &results[3] else {
        panic!("{results:?}")
    };
    assert_eq!(*err, zk::Error::NoAuth);
    assert!(matches!(results[4], zk::MultiReadResult::Data { .. }));
}

#[test]
fn multi_read_results_are_typed_like_their_reads_and_set_no_watches() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/r", b"", CreateMode::Persistent));
    let with_watch = |p: &str| {
        MultiOp::GetData(ferrokeeper_protocol::records::PathWatchRequest {
            path: p.to_owned(),
            watch: true,
        })
    };
    let reply = w.call(
        2,
        &Request::MultiRead(vec![
            with_watch("/r"),
            req::read_children_op("/r"),
            with_watch("/none"),
        ]),
    );
    let summary: Vec<(i32, i32)> = parse_results(&reply)
        .iter()
        .map(|r| (r.op, r.header_err))
        .collect();
    assert_eq!(summary, [(4, 0), (8, 0), (-1, ErrorCode::NoNode.code())]);
    let mut writer = Wire::connect(server.addr);
    writer.call(1, &req::set_data("/r", b"x", -1));
    writer.call(2, &req::create("/none", b"", CreateMode::Persistent));
    w.expect_silence(Duration::from_millis(150));
}
