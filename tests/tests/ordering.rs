//! Ordering: the replies of one session come back in request order however many are
//! pipelined (reads, writes, errors and setWatches mixed), a read behind a write sees
//! it, and notifications arrive in the order of the changes.

use std::time::Duration;

use ferrokeeper_protocol::multi::MultiOp;
use ferrokeeper_protocol::records::{
    Create2Response, GetChildrenResponse, GetDataResponse, SetWatches, StatResponse,
};
use ferrokeeper_protocol::{AddWatchMode, CreateMode, ErrorCode, EventType, OpCode};
use ferrokeeper_tests::wire::{self, record, req, Reply, Wire};
use ferrokeeper_tests::zkc::{connect, persistent, within};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

/// Writes all `frames` at once and returns the replies, skipping notifications.
fn pipeline(w: &mut Wire, frames: &[Vec<u8>]) -> Vec<Reply> {
    w.write_raw(&frames.concat());
    let mut replies = Vec::with_capacity(frames.len());
    while replies.len() < frames.len() {
        let reply = w.recv();
        if !reply.is_notification() {
            replies.push(reply);
        }
    }
    replies
}

#[test]
fn hundreds_of_pipelined_requests_are_answered_in_order() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/q", b"", CreateMode::Persistent));
    let mut frames = Vec::new();
    let mut xids = Vec::new();
    for i in 0..100 {
        let base = 1000 + i * 6;
        let path = format!("/q/n{i}");
        frames.push(wire::typed_request_frame(
            base,
            &req::create(&path, b"v0", CreateMode::Persistent),
        ));
        frames.push(wire::typed_request_frame(
            base + 1,
            &req::get_data(&path, false),
        ));
        frames.push(wire::typed_request_frame(
            base + 2,
            &req::set_data(&path, b"v1", 0),
        ));
        frames.push(wire::typed_request_frame(
            base + 3,
            &req::create(&path, b"", CreateMode::Persistent), // NodeExists
        ));
        // An undecodable body in the middle keeps its place in line.
        frames.push(wire::request_frame(
            base + 4,
            OpCode::GetData.code(),
            &[0, 0],
        ));
        frames.push(wire::typed_request_frame(
            base + 5,
            &req::exists(&path, false),
        ));
        xids.extend(base..base + 6);
    }
    let replies = pipeline(&mut w, &frames);
    let got: Vec<i32> = replies.iter().map(Reply::xid).collect();
    assert_eq!(got, xids, "replies out of request order");
    for (i, chunk) in replies.chunks(6).enumerate() {
        assert_eq!(chunk[0].err(), 0, "create {i}");
        let read = chunk[1].decode::<GetDataResponse>();
        assert_eq!(
            read.data.as_deref(),
            Some(&b"v0"[..]),
            "read {i} sees its create"
        );
        assert_eq!(chunk[2].decode::<StatResponse>().stat.version, 1);
        assert_eq!(chunk[3].err(), ErrorCode::NodeExists.code());
        assert_eq!(chunk[4].err(), ErrorCode::MarshallingError.code());
        assert_eq!(
            chunk[5].decode::<StatResponse>().stat.version,
            1,
            "exists {i}"
        );
    }
    // Reply zxids never go backwards.
    let zxids: Vec<i64> = replies.iter().map(|r| r.header.zxid).collect();
    assert!(zxids.windows(2).all(|p| p[0] <= p[1]), "{zxids:?}");
}

#[test]
fn a_read_pipelined_behind_a_write_sees_it() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let frames = vec![
        wire::typed_request_frame(1, &req::create("/x", b"first", CreateMode::Persistent)),
        wire::typed_request_frame(2, &req::get_data("/x", false)),
        wire::typed_request_frame(3, &req::set_data("/x", b"second", -1)),
        wire::typed_request_frame(4, &req::get_data("/x", false)),
        wire::typed_request_frame(5, &req::create("/x/c", b"", CreateMode::Persistent)),
        wire::typed_request_frame(6, &req::get_children("/x", false)),
        wire::typed_request_frame(
            7,
            &req::multi(vec![MultiOp::Delete(req::delete_op("/x/c", -1))]),
        ),
        wire::typed_request_frame(8, &req::get_children2("/x", false)),
        wire::typed_request_frame(9, &req::delete("/x", -1)),
        wire::typed_request_frame(10, &req::exists("/x", false)),
    ];
    let replies = pipeline(&mut w, &frames);
    assert_eq!(
        replies.iter().map(Reply::xid).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let created = replies[0].decode::<Create2Response>();
    let read = replies[1].decode::<GetDataResponse>();
    assert_eq!(
        (read.data.as_deref(), read.stat),
        (Some(&b"first"[..]), created.stat)
    );
    let read = replies[3].decode::<GetDataResponse>();
    assert_eq!(
        (read.data.as_deref(), read.stat.version),
        (Some(&b"second"[..]), 1)
    );
    assert_eq!(replies[5].decode::<GetChildrenResponse>().children, ["c"]);
    let after_multi = replies[7].decode::<ferrokeeper_protocol::records::GetChildren2Response>();
    assert!(after_multi.children.is_empty());
    assert_eq!(after_multi.stat.cversion, 2);
    assert_eq!(replies[9].err(), ErrorCode::NoNode.code());
}

#[test]
fn set_watches_and_pings_keep_their_place_among_pipelined_requests() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/a", b"", CreateMode::Persistent));
    let seen = w.ping().header.zxid;
    w.call(2, &req::set_data("/a", b"x", -1));
    let set_watches = record(&SetWatches {
        relative_zxid: seen,
        data_watches: vec!["/a".into()],
        exist_watches: vec![],
        child_watches: vec![],
    });
    let frames = [
        wire::typed_request_frame(3, &req::create("/b", b"", CreateMode::Persistent)),
        wire::request_frame(-8, OpCode::SetWatches.code(), &set_watches),
        wire::request_frame(-2, OpCode::Ping.code(), &[]),
        wire::typed_request_frame(4, &req::get_data("/b", false)),
    ];
    w.write_raw(&frames.concat());
    let frames = w.recv_n(5);
    let replies: Vec<i32> = frames
        .iter()
        .filter(|r| !r.is_notification() && r.xid() != -2)
        .map(Reply::xid)
        .collect();
    assert_eq!(
        replies,
        [3, -8, 4],
        "setWatches is answered in request order"
    );
    let event_at = frames.iter().position(Reply::is_notification).unwrap();
    let set_watches_at = frames.iter().position(|r| r.xid() == -8).unwrap();
    assert!(
        event_at < set_watches_at,
        "catch-up event before the setWatches reply"
    );
    assert!(
        frames.iter().any(|r| r.xid() == -2),
        "the ping was answered"
    );
}

#[tokio::test]
async fn many_async_requests_from_one_client_complete_in_call_order() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/jobs", b"", &persistent()).await.unwrap();
    let options = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    // Requests go out when the methods are called; nothing is awaited until the end.
    let creates: Vec<_> = (0..200)
        .map(|i| client.create("/jobs/j-", format!("{i}").as_bytes(), &options))
        .collect();
    let read_back = client.list_children("/jobs");
    let mut results = Vec::new();
    for create in creates {
        results.push(within(create).await.unwrap());
    }
    let sequences: Vec<i64> = results.iter().map(|(_, s)| s.into_i64()).collect();
    assert_eq!(sequences, (0..200).collect::<Vec<i64>>());
    let czxids: Vec<i64> = results.iter().map(|(stat, _)| stat.czxid).collect();
    assert!(czxids.windows(2).all(|p| p[0] < p[1]), "{czxids:?}");
    assert_eq!(
        within(read_back).await.unwrap().len(),
        200,
        "the read behind them sees all"
    );
    let (data, _) = client.get_data("/jobs/j-0000000137").await.unwrap();
    assert_eq!(data, b"137");
}

#[test]
fn each_session_keeps_its_own_order_while_others_write() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr;
    let workers: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                let mut w = Wire::connect(addr);
                let dir = format!("/s{n}");
                w.call(1, &req::create(&dir, b"", CreateMode::Persistent));
                let mut frames = Vec::new();
                for i in 0..150 {
                    let request = if i % 3 == 0 {
                        req::create(&format!("{dir}/c{i}"), b"", CreateMode::Persistent)
                    } else if i % 3 == 1 {
                        req::get_children(&dir, false)
                    } else {
                        req::set_data(&dir, b"x", -1)
                    };
                    frames.push(wire::typed_request_frame(10 + i, &request));
                }
                let replies = pipeline(&mut w, &frames);
                let xids: Vec<i32> = replies.iter().map(Reply::xid).collect();
                assert_eq!(xids, (10..160).collect::<Vec<_>>(), "session {n}");
                // Each getChildren sees exactly the creates sent before it.
                for (i, reply) in replies.iter().enumerate().filter(|(i, _)| i % 3 == 1) {
                    let children = reply.decode::<GetChildrenResponse>().children;
                    assert_eq!(children.len(), i / 3 + 1, "session {n} read {i}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
}

#[test]
fn notifications_arrive_in_the_order_of_the_changes() {
    let server = ServerProcess::start(&[]);
    let mut watcher = Wire::connect(server.addr);
    watcher.call(1, &req::add_watch("/", AddWatchMode::PersistentRecursive));
    let mut writer = Wire::connect(server.addr);
    let frames: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            wire::typed_request_frame(
                i + 1,
                &req::create(&format!("/n{i}"), b"", CreateMode::Persistent),
            )
        })
        .collect();
    let replies = pipeline(&mut writer, &frames);
    let events = watcher.recv_n(100);
    let paths: Vec<String> = events.iter().map(|e| e.event().path).collect();
    assert_eq!(
        paths,
        (0..100).map(|i| format!("/n{i}")).collect::<Vec<_>>()
    );
    assert!(events
        .iter()
        .all(|e| e.event().event_type == EventType::NodeCreated.code()));
    if !ferrokeeper_tests::real_zookeeper() {
        let zxids: Vec<i64> = events.iter().map(|e| e.header.zxid).collect();
        let written: Vec<i64> = replies.iter().map(|r| r.header.zxid).collect();
        assert_eq!(zxids, written);
    }
    watcher.expect_silence(Duration::from_millis(100));
}
