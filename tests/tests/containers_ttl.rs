//! Container nodes (removed once their last child is gone) and TTL nodes (removed when
//! childless and unchanged for their TTL), with short reaper intervals.

use std::time::{Duration, Instant};

use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::{connect, open, persistent, within};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

const FAST_REAPER: &str = "znode.container.checkIntervalMs=50";

fn container() -> zk::CreateOptions<'static> {
    open(zk::CreateMode::Container)
}

fn ttl(ms: u64) -> zk::CreateOptions<'static> {
    open(zk::CreateMode::Persistent).with_ttl(Duration::from_millis(ms))
}

/// Polls until `path` is gone; panics after a few seconds.
async fn wait_gone(client: &zk::Client, path: &str) -> Duration {
    let start = Instant::now();
    while client.check_stat(path).await.unwrap().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{path} was not removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_container_is_removed_once_its_last_child_is_gone_with_events() {
    let server = ServerProcess::start(&["--set", FAST_REAPER]);
    let client = connect(&server).await;
    let watcher = connect(&server).await;
    client.create("/c", b"", &container()).await.unwrap();
    client.create("/c/a", b"", &persistent()).await.unwrap();
    client.create("/c/b", b"", &persistent()).await.unwrap();
    client.delete("/c/a", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        client.check_stat("/c").await.unwrap().is_some(),
        "a container with a child left is kept"
    );
    let (_, _, on_node) = watcher.get_and_watch_data("/c").await.unwrap();
    let (_, _, on_root) = watcher.get_and_watch_children("/").await.unwrap();
    client.delete("/c/b", None).await.unwrap();
    let deleted = within(on_node.changed()).await;
    assert_eq!(
        (deleted.event_type, deleted.path.as_str()),
        (zk::EventType::NodeDeleted, "/c")
    );
    let parent = within(on_root.changed()).await;
    assert_eq!(
        (parent.event_type, parent.path.as_str()),
        (zk::EventType::NodeChildrenChanged, "/")
    );
    assert_eq!(client.check_stat("/c").await.unwrap(), None);
}

#[tokio::test]
async fn a_container_can_hold_any_kind_of_child_and_looks_persistent() {
    let server = ServerProcess::start(&["--set", FAST_REAPER]);
    let client = connect(&server).await;
    let (stat, _) = client.create("/c", b"data", &container()).await.unwrap();
    assert_eq!((stat.ephemeral_owner, stat.data_length), (0, 4));
    client
        .create("/c/e", b"", &open(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    client.create("/c/nested", b"", &container()).await.unwrap();
    client
        .create("/c/nested/x", b"", &persistent())
        .await
        .unwrap();
    // A container whose only child is itself a (non-empty) container is kept.
    client.delete("/c/e", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(client.check_stat("/c").await.unwrap().is_some());
    // Removing the innermost child empties the nested container, then the outer one.
    client.delete("/c/nested/x", None).await.unwrap();
    wait_gone(&client, "/c/nested").await;
    wait_gone(&client, "/c").await;
}

#[tokio::test]
async fn a_never_used_container_is_kept_by_default() {
    let server = ServerProcess::start(&["--set", FAST_REAPER]);
    let client = connect(&server).await;
    client.create("/unused", b"", &container()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client.check_stat("/unused").await.unwrap().is_some());
}

#[tokio::test]
async fn a_never_used_container_is_removed_after_max_never_used_interval() {
    let server = ServerProcess::start(&[
        "--set",
        FAST_REAPER,
        "--set",
        "znode.container.maxNeverUsedIntervalMs=400",
    ]);
    let client = connect(&server).await;
    client.create("/unused", b"", &container()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        client.check_stat("/unused").await.unwrap().is_some(),
        "removed before maxNeverUsedIntervalMs passed"
    );
    wait_gone(&client, "/unused").await;
}

#[tokio::test]
async fn max_never_used_interval_zero_means_never() {
    let server = ServerProcess::start(&[
        "--set",
        FAST_REAPER,
        "--set",
        "znode.container.maxNeverUsedIntervalMs=0",
    ]);
    let client = connect(&server).await;
    client.create("/unused", b"", &container()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(client.check_stat("/unused").await.unwrap().is_some());
}

#[tokio::test]
async fn a_ttl_node_without_children_expires_after_its_ttl() {
    let server = ServerProcess::start(&["--extended-types", "--set", FAST_REAPER]);
    let client = connect(&server).await;
    let watcher = connect(&server).await;
    let created = Instant::now();
    let (stat, _) = client.create("/t", b"x", &ttl(400)).await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0);
    let (_, _, on_node) = watcher.get_and_watch_data("/t").await.unwrap();
    let deleted = within(on_node.changed()).await;
    assert_eq!(
        (deleted.event_type, deleted.path.as_str()),
        (zk::EventType::NodeDeleted, "/t")
    );
    assert!(
        created.elapsed() >= Duration::from_millis(400),
        "removed before its TTL: {:?}",
        created.elapsed()
    );
}

#[tokio::test]
async fn a_ttl_node_is_kept_while_it_has_children() {
    let server = ServerProcess::start(&["--extended-types", "--set", FAST_REAPER]);
    let client = connect(&server).await;
    client.create("/t", b"", &ttl(100)).await.unwrap();
    client.create("/t/child", b"", &persistent()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(client.check_stat("/t").await.unwrap().is_some());
    client.delete("/t/child", None).await.unwrap();
    wait_gone(&client, "/t").await;
}

#[tokio::test]
async fn set_data_restarts_a_ttl() {
    let server = ServerProcess::start(&["--extended-types", "--set", FAST_REAPER]);
    let client = connect(&server).await;
    client.create("/t", b"", &ttl(600)).await.unwrap();
    let mut last_touch = Instant::now();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The node's mtime is set after the request is sent and before it is
        // answered (the answer waits for the fsync): measure from the send.
        last_touch = Instant::now();
        client.set_data("/t", b"touch", None).await.unwrap();
    }
    wait_gone(&client, "/t").await;
    assert!(last_touch.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn sequential_ttl_nodes_get_a_sequence_and_expire() {
    let server = ServerProcess::start(&["--extended-types", "--set", FAST_REAPER]);
    let client = connect(&server).await;
    let options = open(zk::CreateMode::PersistentSequential).with_ttl(Duration::from_millis(200));
    let (_, seq) = client.create("/ts-", b"", &options).await.unwrap();
    let path = format!("/ts-{seq}");
    assert!(client.check_stat(&path).await.unwrap().is_some());
    wait_gone(&client, &path).await;
}

#[tokio::test]
async fn create_ttl_without_extended_types_is_unimplemented() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    assert_eq!(
        client.create("/t", b"", &ttl(1000)).await.unwrap_err(),
        zk::Error::Unimplemented
    );
    let seq = open(zk::CreateMode::PersistentSequential).with_ttl(Duration::from_secs(1));
    assert_eq!(
        client.create("/t", b"", &seq).await.unwrap_err(),
        zk::Error::Unimplemented
    );
    assert_eq!(client.check_stat("/t").await.unwrap(), None);
    // The session is still fine.
    client.create("/t", b"", &persistent()).await.unwrap();
}

fn create_ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::Create(req::create_raw(
        OpCode::CreateTtl,
        path,
        Some(b""),
        req::open_acl(),
        flags,
        ttl,
    ))
}

#[test]
fn unimplemented_comes_before_ttl_validation_without_extended_types() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(
        1,
        &create_ttl("/t", CreateMode::PersistentWithTtl.code(), 0),
    );
    assert_eq!(reply.err(), ErrorCode::Unimplemented.code());
    // The connection stays usable (this is not an unknown op code).
    assert_eq!(
        w.call(2, &req::exists("/t", false)).err(),
        ErrorCode::NoNode.code()
    );
}

#[test]
fn create_ttl_with_an_invalid_ttl_or_mode_is_bad_arguments() {
    let server = ServerProcess::start(&["--extended-types"]);
    let mut w = Wire::connect(server.addr);
    let ttl_mode = CreateMode::PersistentWithTtl.code();
    let cases = [
        ("ttl 0", create_ttl("/t", ttl_mode, 0)),
        ("negative ttl", create_ttl("/t", ttl_mode, -5)),
        (
            "ttl above 2^40-1",
            create_ttl("/t", ttl_mode, 0x100_0000_0000),
        ),
        (
            "createTTL of a plain persistent node",
            create_ttl("/t", CreateMode::Persistent.code(), 1000),
        ),
        (
            "createTTL of an ephemeral",
            create_ttl("/t", CreateMode::Ephemeral.code(), 1000),
        ),
        (
            "TTL mode without a ttl (create2)",
            Request::Create(req::create_raw(
                OpCode::Create2,
                "/t",
                Some(b""),
                req::open_acl(),
                ttl_mode,
                -1,
            )),
        ),
    ];
    for (i, (what, request)) in cases.iter().enumerate() {
        let reply = w.call(i as i32 + 1, request);
        assert_eq!(reply.err(), ErrorCode::BadArguments.code(), "{what}");
    }
    let ok = w.call(20, &create_ttl("/t", ttl_mode, 0xFF_FFFF_FFFF));
    assert_eq!(ok.err(), 0, "the largest TTL is accepted");
}
