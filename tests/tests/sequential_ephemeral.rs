//! Sequential names (the parent's child-creation counter, ten digits) and ephemeral
//! nodes: owned by their session, childless, gone — with events to other sessions —
//! when the session closes or expires.

use std::time::Duration;

use ferrokeeper_protocol::records::{Create2Response, CreateResponse};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::{connect, ephemeral, open, persistent, within};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

fn seq() -> zk::CreateOptions<'static> {
    open(zk::CreateMode::PersistentSequential)
}

fn eseq() -> zk::CreateOptions<'static> {
    open(zk::CreateMode::EphemeralSequential)
}

#[tokio::test]
async fn sequence_is_the_parents_ten_digit_child_creation_counter() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/q", b"", &persistent()).await.unwrap();
    let (_, first) = client.create("/q/job-", b"", &seq()).await.unwrap();
    assert_eq!(first.into_i64(), 0);
    assert_eq!(first.to_string(), "0000000000");
    // Plain creates count too, deletes do not give numbers back.
    client.create("/q/plain", b"", &persistent()).await.unwrap();
    client.delete("/q/plain", None).await.unwrap();
    client.delete("/q/job-0000000000", None).await.unwrap();
    let (_, next) = client.create("/q/job-", b"", &seq()).await.unwrap();
    assert_eq!(next.into_i64(), 2);
    let (_, e) = client.create("/q/lock-", b"", &eseq()).await.unwrap();
    assert_eq!(e.into_i64(), 3, "one counter for every kind of child");
    let mut names = client.list_children("/q").await.unwrap();
    names.sort();
    assert_eq!(names, ["job-0000000002", "lock-0000000003"]);
    // The counter is per parent.
    client.create("/r", b"", &persistent()).await.unwrap();
    let (_, other) = client.create("/r/job-", b"", &seq()).await.unwrap();
    assert_eq!(other.into_i64(), 0);
}

#[tokio::test]
async fn sequence_under_the_root_starts_at_zero() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (_, n) = client.create("/top-", b"", &seq()).await.unwrap();
    assert_eq!(n.into_i64(), 0, "/zookeeper is not counted as a creation");
    assert!(client
        .check_stat("/top-0000000000")
        .await
        .unwrap()
        .is_some());
}

#[test]
fn sequence_is_appended_to_the_raw_path_even_after_a_slash() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/q", b"", CreateMode::Persistent));
    w.call(2, &req::create("/q/a", b"", CreateMode::Persistent));
    let reply = w.call(
        3,
        &req::create("/q/", b"", CreateMode::PersistentSequential),
    );
    assert_eq!(reply.err(), 0);
    assert_eq!(reply.decode::<Create2Response>().path, "/q/0000000001");
    let plain = Request::Create(req::create_raw(
        OpCode::Create,
        "/q/x",
        Some(b""),
        req::open_acl(),
        CreateMode::EphemeralSequential.code(),
        -1,
    ));
    let reply = w.call(4, &plain);
    assert_eq!(reply.decode::<CreateResponse>().path, "/q/x0000000002");
}

#[tokio::test]
async fn an_ephemeral_cannot_have_children() {
    let server = ServerProcess::start(&[]);
    let owner = connect(&server).await;
    let other = connect(&server).await;
    owner.create("/e", b"", &ephemeral()).await.unwrap();
    for (client, options) in [
        (&owner, persistent()),
        (&owner, ephemeral()),
        (&owner, seq()),
        (&other, persistent()),
        (&other, eseq()),
    ] {
        assert_eq!(
            client.create("/e/child", b"", &options).await.unwrap_err(),
            zk::Error::NoChildrenForEphemerals
        );
    }
    assert_eq!(owner.count_descendants_number("/e").await.unwrap(), 0);
}

#[test]
fn node_exists_is_checked_before_no_children_for_ephemerals() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/e", b"", CreateMode::Ephemeral));
    // An existing path under the root: NodeExists, not a parent check.
    assert_eq!(
        w.call(2, &req::create("/e", b"", CreateMode::Persistent))
            .err(),
        ErrorCode::NodeExists.code()
    );
    assert_eq!(
        w.call(3, &req::create("/e/c", b"", CreateMode::Persistent))
            .err(),
        ErrorCode::NoChildrenForEphemerals.code()
    );
}

#[tokio::test]
async fn closing_a_session_removes_its_ephemerals_and_tells_other_sessions() {
    let server = ServerProcess::start(&[]);
    let owner = connect(&server).await;
    let watcher = connect(&server).await;
    owner.create("/dir", b"", &persistent()).await.unwrap();
    owner.create("/dir/e", b"", &ephemeral()).await.unwrap();
    let (_, seq_name) = owner.create("/dir/s-", b"", &eseq()).await.unwrap();
    let seq_path = format!("/dir/s-{seq_name}");
    let (_, _, on_node) = watcher.get_and_watch_data("/dir/e").await.unwrap();
    let (_, _, on_seq) = watcher.get_and_watch_data(&seq_path).await.unwrap();
    let (_, _, on_dir) = watcher.get_and_watch_children("/dir").await.unwrap();
    drop(owner); // closes the session
    let deleted = within(on_node.changed()).await;
    assert_eq!(
        (deleted.event_type, deleted.path.as_str()),
        (zk::EventType::NodeDeleted, "/dir/e")
    );
    let deleted_seq = within(on_seq.changed()).await;
    assert_eq!(deleted_seq.event_type, zk::EventType::NodeDeleted);
    let children = within(on_dir.changed()).await;
    assert_eq!(
        (children.event_type, children.path.as_str()),
        (zk::EventType::NodeChildrenChanged, "/dir")
    );
    assert!(watcher.list_children("/dir").await.unwrap().is_empty());
    let dir = watcher.check_stat("/dir").await.unwrap().unwrap();
    assert_eq!((dir.num_children, dir.cversion), (0, 4));
}

#[test]
fn ephemerals_created_just_before_close_session_are_removed_too() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    // Both frames in one write: the create is still in the pipeline when the close arrives.
    let mut frames = ferrokeeper_tests::wire::typed_request_frame(
        1,
        &req::create("/late", b"", CreateMode::Ephemeral),
    );
    frames.extend(ferrokeeper_tests::wire::request_frame(
        2,
        OpCode::CloseSession.code(),
        &[],
    ));
    w.write_raw(&frames);
    let replies = w.recv_until_closed();
    let summary: Vec<(i32, i32)> = replies.iter().map(|r| (r.xid(), r.err())).collect();
    assert_eq!(summary, [(1, 0), (2, 0)]);
    let mut other = Wire::connect(server.addr);
    assert_eq!(
        other.call(1, &req::exists("/late", false)).err(),
        ErrorCode::NoNode.code()
    );
}

#[tokio::test]
async fn session_expiry_removes_its_ephemerals_and_tells_other_sessions() {
    let server = ServerProcess::start(&["--tick-time", "100"]);
    let watcher = connect(&server).await;
    watcher.create("/dir", b"", &persistent()).await.unwrap();
    // A raw session with the minimum timeout (2 × tick = 200 ms) that never pings.
    let mut silent = Wire::connect_with(
        server.addr,
        &ferrokeeper_tests::wire::new_session_request(200),
    )
    .0;
    assert_eq!(silent.timeout_ms, 200);
    silent.call(1, &req::create("/dir/a", b"", CreateMode::Ephemeral));
    silent.call(
        2,
        &req::create("/dir/b", b"", CreateMode::EphemeralSequential),
    );
    let (_, _, on_a) = watcher.get_and_watch_data("/dir/a").await.unwrap();
    let (_, _, on_dir) = watcher.get_and_watch_children("/dir").await.unwrap();
    let deleted = within(on_a.changed()).await;
    assert_eq!(
        (deleted.event_type, deleted.path.as_str()),
        (zk::EventType::NodeDeleted, "/dir/a")
    );
    let children = within(on_dir.changed()).await;
    assert_eq!(children.event_type, zk::EventType::NodeChildrenChanged);
    assert!(watcher.list_children("/dir").await.unwrap().is_empty());
    // The expired session's connection is closed, and the session cannot come back.
    silent.expect_closed();
    let (_, resumed) = Wire::resume(server.addr, &silent);
    assert_eq!((resumed.timeout, resumed.session_id), (0, 0));
}

#[tokio::test]
async fn another_session_may_delete_an_ephemeral() {
    let server = ServerProcess::start(&[]);
    let owner = connect(&server).await;
    let other = connect(&server).await;
    owner.create("/e", b"", &ephemeral()).await.unwrap();
    other.delete("/e", None).await.unwrap();
    assert!(owner.list_ephemerals("/").await.unwrap().is_empty());
    owner.create("/e", b"", &ephemeral()).await.unwrap();
    assert_eq!(owner.list_ephemerals("/").await.unwrap(), ["/e"]);
}

#[tokio::test]
async fn ephemerals_outlive_a_lost_connection_within_the_session_timeout() {
    let server = ServerProcess::start(&[]);
    let proxy = ferrokeeper_tests::proxy::Proxy::start(server.addr).await;
    let owner = ferrokeeper_tests::zkc::connect_to(&proxy.connect_string()).await;
    let other = connect(&server).await;
    owner.create("/kept", b"", &ephemeral()).await.unwrap();
    let mut state = owner.state_watcher();
    proxy.cut();
    assert_eq!(
        within(state.changed()).await,
        zk::SessionState::Disconnected
    );
    assert_eq!(
        within(state.changed()).await,
        zk::SessionState::SyncConnected
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stat = other.check_stat("/kept").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, owner.session_id().0);
    assert_eq!(owner.list_ephemerals("/").await.unwrap(), ["/kept"]);
}
