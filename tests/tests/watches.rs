//! Watches: one-shot data/exist/child watches and the events each op fires, persistent
//! and recursive watches, removal, the event-before-reply guarantee, and re-registration
//! with catch-up events after a reconnect (setWatches).

use std::time::Duration;

use ferrokeeper_protocol::records::{ErrorResponse, SetWatches, SetWatches2, StatResponse};
use ferrokeeper_protocol::{AddWatchMode, CreateMode, ErrorCode, EventType, OpCode, WatcherType};
use ferrokeeper_tests::proxy::Proxy;
use ferrokeeper_tests::wire::{record, req, Reply, Wire};
use ferrokeeper_tests::zkc::{connect, connect_to, persistent, within, within_or_none};
use ferrokeeper_tests::{notification_zxid, ServerProcess};
use zookeeper_client as zk;

const QUIET: Duration = Duration::from_millis(150);

/// (event type, path) of a notification.
fn event_of(reply: &Reply) -> (i32, String) {
    let event = reply.event();
    assert_eq!(event.state, 3, "node events carry SyncConnected");
    (event.event_type, event.path)
}

fn ev(kind: EventType, path: &str) -> (i32, String) {
    (kind.code(), path.to_owned())
}

/// Reads `n` frames that must all be notifications, sorted for comparison.
fn next_events(w: &mut Wire, n: usize) -> Vec<(i32, String)> {
    let mut events: Vec<_> = w.recv_n(n).iter().map(event_of).collect();
    events.sort();
    events
}

fn sorted(mut v: Vec<(i32, String)>) -> Vec<(i32, String)> {
    v.sort();
    v
}

/// The next node event of a persistent watch, skipping session state changes.
async fn next_node_event(watch: &mut zk::PersistentWatcher) -> zk::WatchedEvent {
    loop {
        let event = watch.changed().await;
        if event.event_type != zk::EventType::Session {
            return event;
        }
    }
}

#[test]
fn a_data_watch_fires_once() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut watcher = Wire::connect(server.addr);
    writer.call(1, &req::create("/d", b"", CreateMode::Persistent));
    watcher.call(1, &req::get_data("/d", true));
    let first = writer.call(2, &req::set_data("/d", b"1", -1));
    let event = watcher.recv();
    assert_eq!(event_of(&event), ev(EventType::NodeDataChanged, "/d"));
    assert_eq!(
        event.header.zxid,
        notification_zxid(first.header.zxid),
        "the event carries the zxid of the change"
    );
    writer.call(3, &req::set_data("/d", b"2", -1));
    writer.call(4, &req::delete("/d", -1));
    watcher.expect_silence(QUIET);
}

#[test]
fn each_op_fires_the_events_zookeeper_fires() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    writer.call(1, &req::create("/p", b"", CreateMode::Persistent));
    writer.call(2, &req::create("/p/c", b"", CreateMode::Persistent));

    // create: NodeCreated for an exists watch, NodeChildrenChanged for the parent.
    w.call(1, &req::exists("/p/new", true));
    w.call(2, &req::get_children("/p", true));
    writer.call(3, &req::create("/p/new", b"", CreateMode::Persistent));
    assert_eq!(
        next_events(&mut w, 2),
        sorted(vec![
            ev(EventType::NodeCreated, "/p/new"),
            ev(EventType::NodeChildrenChanged, "/p"),
        ])
    );

    // setData: NodeDataChanged for data and exists watches; the parent's child
    // watch does not fire.
    w.call(3, &req::get_data("/p/c", true));
    w.call(4, &req::get_children("/p", true));
    writer.call(4, &req::set_data("/p/c", b"x", -1));
    assert_eq!(
        next_events(&mut w, 1),
        [ev(EventType::NodeDataChanged, "/p/c")]
    );
    w.expect_silence(QUIET);

    // setACL fires nothing.
    w.call(5, &req::get_data("/p/c", true));
    writer.call(5, &req::set_acl("/p/c", req::open_acl(), -1));
    w.expect_silence(QUIET);

    // delete: NodeDeleted for data and child watches on the node (once), and
    // NodeChildrenChanged for the parent (whose child watch is still set).
    w.call(6, &req::get_children("/p/c", true));
    writer.call(6, &req::delete("/p/c", -1));
    assert_eq!(
        next_events(&mut w, 2),
        sorted(vec![
            ev(EventType::NodeDeleted, "/p/c"),
            ev(EventType::NodeChildrenChanged, "/p"),
        ])
    );
    w.expect_silence(QUIET);

    // A child watch sees its own node deleted.
    w.call(7, &req::get_children("/p/new", true));
    writer.call(7, &req::delete("/p/new", -1));
    assert_eq!(
        next_events(&mut w, 1),
        [ev(EventType::NodeDeleted, "/p/new")]
    );

    // Children of the root: the event path is "/".
    w.call(8, &req::get_children("/", true));
    writer.call(8, &req::create("/top", b"", CreateMode::Persistent));
    assert_eq!(
        next_events(&mut w, 1),
        [ev(EventType::NodeChildrenChanged, "/")]
    );
}

#[test]
fn the_same_watch_set_twice_fires_once_and_grandchildren_do_not_fire() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    writer.call(1, &req::create("/a", b"", CreateMode::Persistent));
    writer.call(2, &req::create("/a/b", b"", CreateMode::Persistent));
    w.call(1, &req::get_data("/a", true));
    w.call(2, &req::exists("/a", true));
    w.call(3, &req::get_children("/a", true));
    w.call(4, &req::get_children("/a", true));
    writer.call(3, &req::create("/a/b/c", b"", CreateMode::Persistent));
    w.expect_silence(QUIET);
    writer.call(4, &req::set_data("/a", b"x", -1));
    assert_eq!(
        next_events(&mut w, 1),
        [ev(EventType::NodeDataChanged, "/a")]
    );
    writer.call(5, &req::create("/a/d", b"", CreateMode::Persistent));
    assert_eq!(
        next_events(&mut w, 1),
        [ev(EventType::NodeChildrenChanged, "/a")]
    );
    w.expect_silence(QUIET);
}

#[test]
fn a_failed_read_sets_no_watch_but_exists_on_a_missing_node_does() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    assert_eq!(
        w.call(1, &req::get_data("/x", true)).err(),
        ErrorCode::NoNode.code()
    );
    assert_eq!(
        w.call(2, &req::get_children("/x", true)).err(),
        ErrorCode::NoNode.code()
    );
    writer.call(1, &req::create("/x", b"", CreateMode::Persistent));
    w.expect_silence(QUIET);
    assert_eq!(
        w.call(3, &req::exists("/y", true)).err(),
        ErrorCode::NoNode.code()
    );
    writer.call(2, &req::create("/y", b"", CreateMode::Persistent));
    assert_eq!(next_events(&mut w, 1), [ev(EventType::NodeCreated, "/y")]);
}

#[tokio::test]
async fn watches_through_the_client_fire_per_op() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let writer = connect(&server).await;
    let (stat, exist) = client.check_and_watch_stat("/w").await.unwrap();
    assert_eq!(stat, None);
    let (created, _) = writer.create("/w", b"", &persistent()).await.unwrap();
    let event = within(exist.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str(), event.zxid),
        (
            zk::EventType::NodeCreated,
            "/w",
            notification_zxid(created.czxid)
        )
    );
    let (_, _, data) = client.get_and_watch_data("/w").await.unwrap();
    let (_, children) = client.list_and_watch_children("/w").await.unwrap();
    let (_, _, children2) = client.get_and_watch_children("/w").await.unwrap();
    writer.create("/w/c", b"", &persistent()).await.unwrap();
    assert_eq!(
        within(children.changed()).await.event_type,
        zk::EventType::NodeChildrenChanged
    );
    assert_eq!(
        within(children2.changed()).await.event_type,
        zk::EventType::NodeChildrenChanged
    );
    let set = writer.set_data("/w", b"v", None).await.unwrap();
    let event = within(data.changed()).await;
    assert_eq!(
        (event.event_type, event.zxid),
        (zk::EventType::NodeDataChanged, notification_zxid(set.mzxid))
    );
}

#[tokio::test]
async fn a_persistent_watch_fires_for_its_node_and_child_list_until_removed() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let writer = connect(&server).await;
    let mut watch = client
        .watch("/pw", zk::AddWatchMode::Persistent)
        .await
        .unwrap();
    writer.create("/pw", b"", &persistent()).await.unwrap();
    writer.set_data("/pw", b"1", None).await.unwrap();
    writer.set_data("/pw", b"2", None).await.unwrap();
    writer.create("/pw/c", b"", &persistent()).await.unwrap();
    writer.set_data("/pw/c", b"ignored", None).await.unwrap();
    writer.create("/pw/c/gc", b"", &persistent()).await.unwrap();
    writer.delete("/pw/c/gc", None).await.unwrap();
    writer.delete("/pw/c", None).await.unwrap();
    writer.delete("/pw", None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let event = within(next_node_event(&mut watch)).await;
        seen.push((event.event_type, event.path));
    }
    use zk::EventType::*;
    // Nothing for the child's data or the grandchild.
    assert_eq!(
        seen,
        [
            (NodeCreated, "/pw".to_owned()),
            (NodeDataChanged, "/pw".to_owned()),
            (NodeDataChanged, "/pw".to_owned()),
            (NodeChildrenChanged, "/pw".to_owned()),
            (NodeChildrenChanged, "/pw".to_owned()),
            (NodeDeleted, "/pw".to_owned()),
        ]
    );
    assert!(within_or_none(QUIET, next_node_event(&mut watch))
        .await
        .is_none());
    // Still registered after the node is gone: it sees the node come back.
    writer.create("/pw", b"", &persistent()).await.unwrap();
    let again = within(next_node_event(&mut watch)).await;
    assert_eq!(
        (again.event_type, again.path.as_str()),
        (NodeCreated, "/pw")
    );
}

#[tokio::test]
async fn a_recursive_watch_fires_for_the_whole_subtree_but_never_for_child_lists() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let writer = connect(&server).await;
    writer.create("/r", b"", &persistent()).await.unwrap();
    let mut watch = client
        .watch("/r", zk::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    writer.create("/r/a", b"", &persistent()).await.unwrap();
    writer.create("/r/a/b", b"", &persistent()).await.unwrap();
    writer.set_data("/r/a/b", b"x", None).await.unwrap();
    writer.create("/rx", b"", &persistent()).await.unwrap(); // not under /r
    writer.delete("/r/a/b", None).await.unwrap();
    writer.set_data("/r", b"y", None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = within(next_node_event(&mut watch)).await;
        seen.push((event.event_type, event.path));
    }
    use zk::EventType::*;
    assert_eq!(
        seen,
        [
            (NodeCreated, "/r/a".to_owned()),
            (NodeCreated, "/r/a/b".to_owned()),
            (NodeDataChanged, "/r/a/b".to_owned()),
            (NodeDeleted, "/r/a/b".to_owned()),
            (NodeDataChanged, "/r".to_owned()),
        ]
    );
    assert!(within_or_none(QUIET, next_node_event(&mut watch))
        .await
        .is_none());
}

#[test]
fn add_watch_answers_with_an_error_response_of_zero_and_needs_no_node() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(
        1,
        &req::add_watch("/nothing/here", AddWatchMode::Persistent),
    );
    assert_eq!(reply.err(), 0);
    assert_eq!(reply.decode::<ErrorResponse>().err, 0);
    let reply = w.call(2, &req::add_watch("/", AddWatchMode::PersistentRecursive));
    assert_eq!(reply.decode::<ErrorResponse>().err, 0);
}

#[test]
fn a_recursive_watch_on_the_root_sees_everything_once_per_change() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::add_watch("/", AddWatchMode::PersistentRecursive));
    w.call(2, &req::add_watch("/a", AddWatchMode::PersistentRecursive));
    w.call(3, &req::get_data("/a", true)); // fails (NoNode): no extra watch
    writer.call(1, &req::create("/a", b"", CreateMode::Persistent));
    assert_eq!(next_events(&mut w, 1), [ev(EventType::NodeCreated, "/a")]);
    w.expect_silence(QUIET);
}

#[test]
fn check_and_remove_watches_find_the_watch_by_type() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    let no_watcher = ErrorCode::NoWatcher.code();
    writer.call(1, &req::create("/n", b"", CreateMode::Persistent));
    assert_eq!(
        w.call(1, &req::check_watches("/n", WatcherType::Any)).err(),
        no_watcher
    );
    assert_eq!(
        w.call(2, &req::remove_watches("/n", WatcherType::Any))
            .err(),
        no_watcher
    );
    w.call(3, &req::get_data("/n", true));
    assert_eq!(
        w.call(4, &req::check_watches("/n", WatcherType::Data))
            .err(),
        0
    );
    assert_eq!(
        w.call(5, &req::check_watches("/n", WatcherType::Any)).err(),
        0
    );
    assert_eq!(
        w.call(6, &req::check_watches("/n", WatcherType::Children))
            .err(),
        no_watcher
    );
    assert_eq!(
        w.call(7, &req::remove_watches("/n", WatcherType::Children))
            .err(),
        no_watcher
    );
    let removed = w.call(8, &req::remove_watches("/n", WatcherType::Data));
    assert_eq!((removed.err(), removed.body.len()), (0, 0));
    assert_eq!(
        w.call(9, &req::check_watches("/n", WatcherType::Data))
            .err(),
        no_watcher
    );
    writer.call(2, &req::set_data("/n", b"x", -1));
    w.expect_silence(QUIET);
    // Any removes data and child watches together.
    w.call(10, &req::get_data("/n", true));
    w.call(11, &req::get_children("/n", true));
    assert_eq!(
        w.call(12, &req::remove_watches("/n", WatcherType::Any))
            .err(),
        0
    );
    assert_eq!(
        w.call(13, &req::check_watches("/n", WatcherType::Children))
            .err(),
        no_watcher
    );
    writer.call(3, &req::delete("/n", -1));
    w.expect_silence(QUIET);
}

#[test]
fn check_watches_only_sees_this_connections_watches() {
    // Ferrokeeper's rule, in either mode: ZooKeeper 3.8.0's
    // WatchManager.containsWatcher answers true when any connection watches the path;
    // the protocol notes (and 3.9) check the caller.
    let server = ServerProcess::start_ferrokeeper(&[]);
    let mut other = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    other.call(1, &req::exists("/other", true));
    other.call(2, &req::add_watch("/other", AddWatchMode::Persistent));
    for (xid, kind) in [(1, WatcherType::Data), (2, WatcherType::Any)] {
        let reply = w.call(xid, &req::check_watches("/other", kind));
        assert_eq!(reply.err(), ErrorCode::NoWatcher.code(), "{kind:?}");
    }
    assert_eq!(
        w.call(3, &req::remove_watches("/other", WatcherType::Any))
            .err(),
        ErrorCode::NoWatcher.code()
    );
    assert_eq!(
        other
            .call(3, &req::check_watches("/other", WatcherType::Any))
            .err(),
        0
    );
}

#[test]
fn remove_watches_any_removes_a_persistent_watch() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::add_watch("/pw", AddWatchMode::Persistent));
    w.call(2, &req::add_watch("/rw", AddWatchMode::PersistentRecursive));
    assert_eq!(
        w.call(3, &req::check_watches("/pw", WatcherType::Any))
            .err(),
        0
    );
    assert_eq!(
        w.call(4, &req::remove_watches("/pw", WatcherType::Any))
            .err(),
        0
    );
    assert_eq!(
        w.call(5, &req::remove_watches("/rw", WatcherType::Any))
            .err(),
        0
    );
    writer.call(1, &req::create("/pw", b"", CreateMode::Persistent));
    writer.call(2, &req::create("/rw", b"", CreateMode::Persistent));
    w.expect_silence(QUIET);
}

#[test]
fn the_event_comes_before_the_reply_that_shows_the_change() {
    let server = ServerProcess::start(&[]);
    let mut a = Wire::connect(server.addr);
    let mut b = Wire::connect(server.addr);
    a.call(1, &req::create("/x", b"", CreateMode::Persistent));
    // The writer's own watch: the event precedes the reply to its write.
    a.call(2, &req::get_data("/x", true));
    let (reply, events) = a.call_with_events(3, &req::set_data("/x", b"1", -1));
    assert_eq!(reply.err(), 0);
    assert_eq!(
        events.iter().map(event_of).collect::<Vec<_>>(),
        [ev(EventType::NodeDataChanged, "/x")]
    );
    // Another session: its next reply after the change comes after the event.
    b.call(1, &req::get_data("/x", true));
    b.call(2, &req::get_children("/x", true));
    a.call(4, &req::set_data("/x", b"2", -1));
    let (read, events) = b.call_with_events(3, &req::exists("/x", false));
    assert_eq!(read.decode::<StatResponse>().stat.version, 2);
    assert_eq!(
        events.iter().map(event_of).collect::<Vec<_>>(),
        [ev(EventType::NodeDataChanged, "/x")]
    );
    // Pipelined: a write and the read behind it, with a watch on the written node.
    b.call(4, &req::get_data("/x", true));
    let mut frames =
        ferrokeeper_tests::wire::typed_request_frame(5, &req::set_data("/x", b"3", -1));
    frames.extend(ferrokeeper_tests::wire::typed_request_frame(
        6,
        &req::get_data("/x", false),
    ));
    b.write_raw(&frames);
    let order: Vec<i32> = b.recv_n(3).iter().map(Reply::xid).collect();
    assert_eq!(order, [-1, 5, 6]);
}

/// Catch-up events of setWatches carry zxid -1 and precede its reply.
fn catch_up(w: &mut Wire, op: OpCode, body: &[u8], expected: usize) -> Vec<(i32, String)> {
    w.send_op(-8, op.code(), body);
    let frames = w.recv_n(expected + 1);
    let (events, reply) = frames.split_at(expected);
    assert_eq!(
        (reply[0].xid(), reply[0].err()),
        (-8, 0),
        "the setWatches reply comes after the catch-up events"
    );
    assert!(reply[0].body.is_empty());
    for event in events {
        assert_eq!(event.header.zxid, -1, "catch-up events have zxid -1");
    }
    sorted(events.iter().map(event_of).collect())
}

#[test]
fn set_watches_sends_missed_events_first_and_registers_the_rest() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    for path in [
        "/changed",
        "/same",
        "/gone",
        "/kids",
        "/quiet-kids",
        "/exists",
    ] {
        writer.call(1, &req::create(path, b"", CreateMode::Persistent));
    }
    let seen = writer.ping().header.zxid;
    writer.call(2, &req::set_data("/changed", b"x", -1));
    writer.call(3, &req::delete("/gone", -1));
    writer.call(4, &req::create("/kids/k", b"", CreateMode::Persistent));
    writer.call(5, &req::create("/appeared", b"", CreateMode::Persistent));

    let mut w = Wire::connect(server.addr);
    let body = record(&SetWatches {
        relative_zxid: seen,
        data_watches: ["/changed", "/same", "/gone"].map(String::from).to_vec(),
        exist_watches: ["/appeared", "/exists", "/absent"]
            .map(String::from)
            .to_vec(),
        child_watches: ["/kids", "/quiet-kids", "/gone"].map(String::from).to_vec(),
    });
    assert_eq!(
        catch_up(&mut w, OpCode::SetWatches, &body, 6),
        sorted(vec![
            ev(EventType::NodeDataChanged, "/changed"),
            ev(EventType::NodeDeleted, "/gone"),
            ev(EventType::NodeDeleted, "/gone"),
            // An exist watch on a node that exists fires whatever the zxid.
            ev(EventType::NodeCreated, "/appeared"),
            ev(EventType::NodeCreated, "/exists"),
            ev(EventType::NodeChildrenChanged, "/kids"),
        ])
    );
    // The others were registered and fire normally, with the change's zxid.
    let write = writer.call(6, &req::set_data("/same", b"x", -1));
    let event = w.recv();
    assert_eq!(event_of(&event), ev(EventType::NodeDataChanged, "/same"));
    assert_eq!(event.header.zxid, notification_zxid(write.header.zxid));
    writer.call(7, &req::create("/absent", b"", CreateMode::Persistent));
    writer.call(
        8,
        &req::create("/quiet-kids/k", b"", CreateMode::Persistent),
    );
    assert_eq!(
        next_events(&mut w, 2),
        sorted(vec![
            ev(EventType::NodeCreated, "/absent"),
            ev(EventType::NodeChildrenChanged, "/quiet-kids"),
        ])
    );
    // Nothing was registered for the watches that fired at once.
    writer.call(9, &req::set_data("/changed", b"y", -1));
    writer.call(10, &req::create("/kids/k2", b"", CreateMode::Persistent));
    w.expect_silence(QUIET);
}

#[test]
fn set_watches_with_a_current_zxid_only_registers() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/d", b"", CreateMode::Persistent));
    let now = w.ping().header.zxid;
    let body = record(&SetWatches {
        relative_zxid: now,
        data_watches: vec!["/d".into()],
        exist_watches: vec![],
        child_watches: vec!["/d".into()],
    });
    assert!(catch_up(&mut w, OpCode::SetWatches, &body, 0).is_empty());
    let mut writer = Wire::connect(server.addr);
    writer.call(1, &req::delete("/d", -1));
    assert_eq!(next_events(&mut w, 1), [ev(EventType::NodeDeleted, "/d")]);
}

#[tokio::test]
async fn a_reconnecting_client_gets_the_changes_it_missed_and_keeps_its_other_watches() {
    let server = ServerProcess::start(&[]);
    let proxy = Proxy::start(server.addr).await;
    let client = connect_to(&proxy.connect_string()).await;
    let writer = connect(&server).await;
    writer.create("/x", b"", &persistent()).await.unwrap();
    writer.create("/p", b"", &persistent()).await.unwrap();
    writer.create("/later", b"", &persistent()).await.unwrap();
    let (_, _, on_data) = client.get_and_watch_data("/x").await.unwrap();
    let (_, on_children) = client.list_and_watch_children("/p").await.unwrap();
    let (_, on_exists) = client.check_and_watch_stat("/new").await.unwrap();
    let (_, _, on_later) = client.get_and_watch_data("/later").await.unwrap();
    let mut state = client.state_watcher();

    proxy.block();
    assert_eq!(
        within(state.changed()).await,
        zk::SessionState::Disconnected
    );
    writer.set_data("/x", b"while away", None).await.unwrap();
    writer.create("/p/c", b"", &persistent()).await.unwrap();
    writer.create("/new", b"", &persistent()).await.unwrap();
    proxy.unblock();
    assert_eq!(
        within(state.changed()).await,
        zk::SessionState::SyncConnected
    );

    // Missed changes come as catch-up events (zxid -1) from setWatches.
    let data = within(on_data.changed()).await;
    assert_eq!(
        (data.event_type, data.path.as_str(), data.zxid),
        (zk::EventType::NodeDataChanged, "/x", -1)
    );
    let children = within(on_children.changed()).await;
    assert_eq!(
        (children.event_type, children.zxid),
        (zk::EventType::NodeChildrenChanged, -1)
    );
    let exists = within(on_exists.changed()).await;
    assert_eq!(
        (exists.event_type, exists.zxid),
        (zk::EventType::NodeCreated, -1)
    );
    // Unchanged watches were re-registered and fire on the next change.
    let set = writer.set_data("/later", b"now", None).await.unwrap();
    let later = within(on_later.changed()).await;
    assert_eq!(
        (later.event_type, later.zxid),
        (zk::EventType::NodeDataChanged, notification_zxid(set.mzxid))
    );
    // (zookeeper-client 0.11 re-registers only one-shot watches: its setWatches
    // never carries persistent ones, so setWatches2 is checked on the wire below.)
}

#[test]
fn events_are_not_sent_to_watchers_that_cannot_read_the_node() {
    let server = ServerProcess::start(&[]);
    let mut owner = Wire::connect(server.addr);
    let mut w = Wire::connect(server.addr);
    owner.call(1, &req::create("/s", b"", CreateMode::Persistent));
    w.call(1, &req::get_data("/s", true));
    w.call(2, &req::get_children("/s", true));
    // Only the owner (digest) may read from now on.
    owner.send(-4, &req::auth("digest", b"owner:pw"));
    assert_eq!(owner.recv().err(), 0);
    let only_owner = vec![ferrokeeper_protocol::records::Acl::new(
        ferrokeeper_protocol::Perms::ALL,
        "digest",
        &ferrokeeper_tests::zkc::digest_id("owner:pw"),
    )];
    owner.call(2, &req::set_acl("/s", only_owner, -1));
    owner.call(3, &req::set_data("/s", b"secret", -1));
    owner.call(4, &req::create("/s/c", b"", CreateMode::Persistent));
    w.expect_silence(QUIET);
}

#[test]
fn set_watches2_registers_persistent_watches_without_catch_up() {
    let server = ServerProcess::start(&[]);
    let mut writer = Wire::connect(server.addr);
    writer.call(1, &req::create("/pw", b"", CreateMode::Persistent));
    writer.call(2, &req::create("/rw", b"", CreateMode::Persistent));
    let seen = writer.ping().header.zxid;
    writer.call(3, &req::set_data("/pw", b"missed", -1));
    writer.call(4, &req::create("/rw/missed", b"", CreateMode::Persistent));
    let mut w = Wire::connect(server.addr);
    let body = record(&SetWatches2 {
        relative_zxid: seen,
        data_watches: vec!["/pw".into()],
        exist_watches: vec![],
        child_watches: vec![],
        persistent_watches: vec!["/pw".into()],
        persistent_recursive_watches: vec!["/rw".into()],
    });
    // Only the one-shot data watch catches up; persistent watches just register.
    assert_eq!(
        catch_up(&mut w, OpCode::SetWatches2, &body, 1),
        [ev(EventType::NodeDataChanged, "/pw")]
    );
    writer.call(5, &req::create("/pw/c", b"", CreateMode::Persistent));
    writer.call(6, &req::set_data("/pw", b"1", -1));
    writer.call(7, &req::set_data("/pw", b"2", -1));
    writer.call(8, &req::set_data("/rw/missed", b"x", -1));
    writer.call(
        9,
        &req::create("/rw/missed/deep", b"", CreateMode::Persistent),
    );
    let events: Vec<_> = w.recv_n(5).iter().map(event_of).collect();
    assert_eq!(
        events,
        [
            ev(EventType::NodeChildrenChanged, "/pw"),
            ev(EventType::NodeDataChanged, "/pw"),
            ev(EventType::NodeDataChanged, "/pw"),
            ev(EventType::NodeDataChanged, "/rw/missed"),
            ev(EventType::NodeCreated, "/rw/missed/deep"),
        ]
    );
    w.expect_silence(QUIET);
}
