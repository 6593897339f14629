//! Every client op against the real binary — results, stats and errors as ZooKeeper
//! answers them — through the Rust client, and on the wire where the client hides the
//! detail (reply bodies, header zxids, requests it refuses to send).

use std::time::{SystemTime, UNIX_EPOCH};

use ferrokeeper_protocol::records::{
    Create2Response, CreateResponse, GetAllChildrenNumberResponse, GetDataResponse,
    GetEphemeralsResponse, StatResponse, SyncResponse, WhoAmIResponse,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::{connect, ephemeral, open, persistent, within};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

const OK: i32 = 0;

fn code(err: ErrorCode) -> i32 {
    err.code()
}

#[tokio::test]
async fn create2_answers_with_the_path_and_the_new_nodes_initial_stat() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let before = now_ms();
    let (stat, seq) = client.create("/a", b"hello", &persistent()).await.unwrap();
    let after = now_ms();
    assert_eq!(seq.into_i64(), -1);
    assert_eq!(
        (stat.version, stat.cversion, stat.aversion),
        (0, 0, 0),
        "{stat:?}"
    );
    assert_eq!(
        (stat.ephemeral_owner, stat.data_length, stat.num_children),
        (0, 5, 0)
    );
    assert!(stat.czxid > 0);
    assert_eq!((stat.mzxid, stat.pzxid), (stat.czxid, stat.czxid));
    assert_eq!(stat.mtime, stat.ctime);
    assert!(
        before <= stat.ctime && stat.ctime <= after,
        "ctime {} is not wall-clock ms in [{before}, {after}]",
        stat.ctime
    );
    let (data, read) = client.get_data("/a").await.unwrap();
    assert_eq!((data.as_slice(), read), (&b"hello"[..], stat));
}

#[test]
fn plain_create_answers_with_the_path_only() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(1, &req::create1("/plain", b"x"));
    assert_eq!(reply.err(), OK);
    assert_eq!(
        reply.decode::<CreateResponse>().path,
        "/plain",
        "op 1 answers CreateResponse (path only), no stat"
    );
    let seq = Request::Create(req::create_raw(
        OpCode::Create,
        "/plain/s-",
        Some(b""),
        req::open_acl(),
        CreateMode::PersistentSequential.code(),
        -1,
    ));
    assert_eq!(
        w.call(2, &seq).decode::<CreateResponse>().path,
        "/plain/s-0000000000"
    );
    let reply = w.call(3, &req::create("/two", b"", CreateMode::Persistent));
    let created = reply.decode::<Create2Response>();
    assert_eq!(created.path, "/two");
    assert_eq!(created.stat.czxid, reply.header.zxid);
}

#[test]
fn null_data_stays_null_and_empty_data_stays_empty() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let null = Request::Create(req::create_raw(
        OpCode::Create2,
        "/null",
        None,
        req::open_acl(),
        0,
        -1,
    ));
    assert_eq!(w.call(1, &null).err(), OK);
    assert_eq!(
        w.call(2, &req::create("/empty", b"", CreateMode::Persistent))
            .err(),
        OK
    );
    let got = w
        .call(3, &req::get_data("/null", false))
        .decode::<GetDataResponse>();
    assert_eq!((got.data, got.stat.data_length), (None, 0));
    let got = w
        .call(4, &req::get_data("/empty", false))
        .decode::<GetDataResponse>();
    assert_eq!(
        (got.data.as_deref(), got.stat.data_length),
        (Some(&b""[..]), 0)
    );
}

#[test]
fn create_refuses_existing_nodes_missing_parents_and_the_root() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    assert_eq!(
        w.call(1, &req::create("/x", b"", CreateMode::Persistent))
            .err(),
        OK
    );
    let cases = [
        ("/x", ErrorCode::NodeExists),
        ("/missing/child", ErrorCode::NoNode),
        ("/", ErrorCode::NodeExists),
        ("/zookeeper", ErrorCode::NodeExists),
        ("/zookeeper/config", ErrorCode::NodeExists),
    ];
    for (i, (path, err)) in cases.into_iter().enumerate() {
        let reply = w.call(
            10 + i as i32,
            &req::create(path, b"", CreateMode::Persistent),
        );
        assert_eq!(reply.err(), code(err), "create {path}");
        assert!(reply.body.is_empty(), "an error reply carries no body");
    }
}

#[tokio::test]
async fn delete_checks_the_version_before_children_and_removes_the_node() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/d", b"", &persistent()).await.unwrap();
    client.create("/d/c", b"", &persistent()).await.unwrap();
    assert_eq!(
        client.delete("/d", Some(5)).await,
        Err(zk::Error::BadVersion)
    );
    assert_eq!(client.delete("/d", None).await, Err(zk::Error::NotEmpty));
    assert_eq!(client.delete("/d", Some(0)).await, Err(zk::Error::NotEmpty));
    client.set_data("/d/c", b"v1", None).await.unwrap();
    assert_eq!(
        client.delete("/d/c", Some(0)).await,
        Err(zk::Error::BadVersion)
    );
    client.delete("/d/c", Some(1)).await.unwrap();
    assert_eq!(client.delete("/d/c", None).await, Err(zk::Error::NoNode));
    assert_eq!(
        client.delete("/nothere/c", None).await,
        Err(zk::Error::NoNode)
    );
    client.delete("/d", Some(0)).await.unwrap();
    assert_eq!(client.check_stat("/d").await.unwrap(), None);
}

#[test]
fn deleting_a_builtin_node_is_bad_arguments() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    for (i, path) in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]
        .into_iter()
        .enumerate()
    {
        let reply = w.call(i as i32 + 1, &req::delete(path, -1));
        assert_eq!(reply.err(), code(ErrorCode::BadArguments), "delete {path}");
    }
    let stat = w.call(9, &req::exists("/zookeeper/quota", false));
    assert_eq!(stat.err(), OK);
}

#[test]
fn exists_answers_the_stat_or_no_node_without_a_body() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let missing = w.call(1, &req::exists("/e", false));
    assert_eq!(missing.err(), code(ErrorCode::NoNode));
    assert!(missing.body.is_empty());
    let created = w
        .call(2, &req::create("/e", b"abc", CreateMode::Persistent))
        .decode::<Create2Response>();
    let found = w.call(3, &req::exists("/e", false));
    assert_eq!(found.err(), OK);
    assert_eq!(found.decode::<StatResponse>().stat, created.stat);
}

#[tokio::test]
async fn get_data_answers_data_and_stat_or_no_node() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    assert_eq!(client.get_data("/g").await.unwrap_err(), zk::Error::NoNode);
    let (stat, _) = client
        .create("/g", b"payload", &persistent())
        .await
        .unwrap();
    let (data, got) = client.get_data("/g").await.unwrap();
    assert_eq!(data, b"payload");
    assert_eq!(got, stat);
    let (data, _) = client.get_data("/").await.unwrap();
    assert!(data.is_empty(), "the root has no data");
}

#[tokio::test]
async fn set_data_checks_the_version_and_changes_only_data_fields() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (created, _) = client.create("/s", b"one", &persistent()).await.unwrap();
    assert_eq!(
        client.set_data("/missing", b"", None).await.unwrap_err(),
        zk::Error::NoNode
    );
    assert_eq!(
        client.set_data("/s", b"x", Some(3)).await.unwrap_err(),
        zk::Error::BadVersion
    );
    let set = client.set_data("/s", b"second", Some(0)).await.unwrap();
    assert_eq!(set.version, 1);
    assert_eq!(set.data_length, 6);
    assert!(set.mzxid > created.mzxid);
    assert!(set.mtime >= created.mtime);
    assert_eq!(
        (set.czxid, set.ctime, set.pzxid, set.cversion, set.aversion),
        (
            created.czxid,
            created.ctime,
            created.pzxid,
            created.cversion,
            created.aversion
        )
    );
    let any = client.set_data("/s", b"", None).await.unwrap();
    assert_eq!((any.version, any.data_length), (2, 0));
    assert_eq!(client.get_data("/s").await.unwrap().1, any);
}

#[test]
fn set_data_reply_zxid_is_the_new_mzxid() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/z", b"", CreateMode::Persistent));
    let reply = w.call(2, &req::set_data("/z", b"new", -1));
    let stat = reply.decode::<StatResponse>().stat;
    assert_eq!(stat.mzxid, reply.header.zxid);
    let read = w.call(3, &req::get_data("/z", false));
    assert_eq!(
        read.header.zxid, reply.header.zxid,
        "reads report the last zxid"
    );
}

#[tokio::test]
async fn set_acl_checks_the_acl_version_and_bumps_only_aversion() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/acl", b"", &persistent()).await.unwrap();
    let data_set = client.set_data("/acl", b"v", None).await.unwrap();
    assert_eq!(data_set.version, 1);
    let read_only = [zk::Acl::new(
        zk::Permission::READ | zk::Permission::ADMIN,
        zk::AuthId::anyone(),
    )];
    // The expected version is compared with aversion (0), not the data version (1).
    assert_eq!(
        client
            .set_acl("/acl", &read_only, Some(1))
            .await
            .unwrap_err(),
        zk::Error::BadVersion
    );
    let stat = client.set_acl("/acl", &read_only, Some(0)).await.unwrap();
    assert_eq!((stat.aversion, stat.version), (1, 1));
    assert_eq!((stat.mzxid, stat.mtime), (data_set.mzxid, data_set.mtime));
    let (acl, got) = client.get_acl("/acl").await.unwrap();
    assert_eq!(acl, read_only);
    assert_eq!(got, stat);
    let again = client.set_acl("/acl", &read_only, None).await.unwrap();
    assert_eq!(again.aversion, 2);
    assert_eq!(
        client
            .set_acl("/nothere", &read_only, None)
            .await
            .unwrap_err(),
        zk::Error::NoNode
    );
}

#[tokio::test]
async fn get_children_lists_names_and_get_children2_adds_the_stat() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/p", b"", &persistent()).await.unwrap();
    for name in ["c", "a", "b"] {
        client
            .create(&format!("/p/{name}"), b"", &persistent())
            .await
            .unwrap();
    }
    let mut names = client.list_children("/p").await.unwrap();
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
    let (mut names, stat) = client.get_children("/p").await.unwrap();
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!((stat.num_children, stat.cversion), (3, 3));
    assert_eq!(stat, client.check_stat("/p").await.unwrap().unwrap());
    assert!(client.list_children("/p/a").await.unwrap().is_empty());
    assert_eq!(
        client.list_children("/nothere").await.unwrap_err(),
        zk::Error::NoNode
    );
    let mut top = client.list_children("/").await.unwrap();
    top.sort();
    assert_eq!(top, ["p", "zookeeper"]);
}

#[test]
fn sync_echoes_the_path() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(1, &req::sync("/any/path"));
    assert_eq!(reply.err(), OK);
    assert_eq!(
        reply.decode::<SyncResponse>().path.as_deref(),
        Some("/any/path")
    );
}

#[tokio::test]
async fn get_ephemerals_lists_the_sessions_own_ephemerals_by_string_prefix() {
    let server = ServerProcess::start(&[]);
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.create("/e", b"", &persistent()).await.unwrap();
    for path in ["/e/a1", "/e/ab", "/e/b", "/f"] {
        a.create(path, b"", &ephemeral()).await.unwrap();
    }
    a.create("/e/persistent", b"", &persistent()).await.unwrap();
    b.create("/e/theirs", b"", &ephemeral()).await.unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(a.list_ephemerals("/").await.unwrap()),
        ["/e/a1", "/e/ab", "/e/b", "/f"]
    );
    // A plain string prefix, not a path prefix.
    assert_eq!(
        sorted(a.list_ephemerals("/e/a").await.unwrap()),
        ["/e/a1", "/e/ab"]
    );
    assert_eq!(
        sorted(a.list_ephemerals("/e").await.unwrap()),
        ["/e/a1", "/e/ab", "/e/b"]
    );
    assert!(a.list_ephemerals("/nothing").await.unwrap().is_empty());
    assert_eq!(b.list_ephemerals("/").await.unwrap(), ["/e/theirs"]);
}

#[test]
fn get_ephemerals_with_a_blank_or_root_prefix_lists_all() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/eph", b"", CreateMode::Ephemeral));
    // The prefix is trimmed before it is compared with "" and "/" (not otherwise).
    for (xid, prefix, expected) in [
        (2, "", &["/eph"][..]),
        (3, " ", &["/eph"]),
        (4, "/ ", &["/eph"]),
        (5, " /", &["/eph"]),
        (6, "/eph ", &[]),
    ] {
        let got = w
            .call(xid, &req::get_ephemerals(prefix))
            .decode::<GetEphemeralsResponse>();
        assert_eq!(got.ephemerals, expected, "prefix {prefix:?}");
    }
}

#[tokio::test]
async fn get_all_children_number_counts_every_descendant() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    // /zookeeper, /zookeeper/quota and /zookeeper/config.
    assert_eq!(client.count_descendants_number("/").await.unwrap(), 3);
    for path in ["/n", "/n/a", "/n/a/b", "/n/c"] {
        client.create(path, b"", &persistent()).await.unwrap();
    }
    assert_eq!(client.count_descendants_number("/n").await.unwrap(), 3);
    assert_eq!(client.count_descendants_number("/n/a").await.unwrap(), 1);
    assert_eq!(client.count_descendants_number("/n/c").await.unwrap(), 0);
    assert_eq!(client.count_descendants_number("/").await.unwrap(), 7);
    assert_eq!(
        client
            .count_descendants_number("/nothere")
            .await
            .unwrap_err(),
        zk::Error::NoNode
    );
}

#[test]
fn get_all_children_number_answers_one_int() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(1, &req::get_all_children_number("/zookeeper"));
    assert_eq!(
        reply.decode::<GetAllChildrenNumberResponse>().total_number,
        2
    );
}

#[tokio::test]
async fn who_am_i_reports_the_ip_identity_then_digest_users() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let users = client.list_auth_users().await.unwrap();
    assert_eq!(users, [zk::AuthUser::new("ip", "127.0.0.1")]);
    client.auth("digest", b"bob:secret").await.unwrap();
    let users = client.list_auth_users().await.unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(users.contains(&zk::AuthUser::new("ip", "127.0.0.1")));
    assert!(users.contains(&zk::AuthUser::new("digest", "bob")));
}

#[test]
fn who_am_i_has_no_request_body() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let reply = w.call(1, &Request::WhoAmI);
    let infos = reply.decode::<WhoAmIResponse>().client_info;
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].auth_scheme.as_str(), infos[0].user.as_str()),
        ("ip", "127.0.0.1")
    );
}

#[test]
fn ping_is_answered_with_xid_minus_two_and_the_last_zxid() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let created = w.call(1, &req::create("/p", b"", CreateMode::Persistent));
    let pong = w.ping();
    assert_eq!((pong.xid(), pong.err()), (-2, OK));
    assert_eq!(pong.header.zxid, created.header.zxid);
    assert!(pong.body.is_empty());
}

#[test]
fn close_session_answers_then_closes_the_connection_and_ends_the_session() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/mine", b"", CreateMode::Ephemeral));
    w.send_op(2, OpCode::CloseSession.code(), &[]);
    let frames = w.recv_until_closed();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!((frames[0].xid(), frames[0].err()), (2, OK));
    assert!(frames[0].body.is_empty());
    let (_, resumed) = Wire::resume(server.addr, &w);
    assert_eq!(
        (resumed.timeout, resumed.session_id),
        (0, 0),
        "a closed session cannot be resumed"
    );
    let mut other = Wire::connect(server.addr);
    assert_eq!(
        other.call(1, &req::exists("/mine", false)).err(),
        code(ErrorCode::NoNode)
    );
}

#[tokio::test]
async fn reconfig_is_refused_on_a_standalone_server() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let update = zk::EnsembleUpdate::Incremental {
        joinings: vec!["server.2=127.0.0.1:2888:3888:participant;2181"].into_iter(),
        leavings: vec![].into_iter(),
    };
    assert_eq!(
        client.update_ensemble(update, None).await.unwrap_err(),
        zk::Error::ReconfigDisabled
    );
}

#[test]
fn failed_writes_still_take_a_zxid() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let first = w.call(1, &req::create("/w", b"", CreateMode::Persistent));
    let failed = w.call(2, &req::create("/w", b"", CreateMode::Persistent));
    assert_eq!(failed.err(), code(ErrorCode::NodeExists));
    assert_eq!(failed.header.zxid, first.header.zxid + 1);
    let next = w
        .call(3, &req::create("/w2", b"", CreateMode::Persistent))
        .decode::<Create2Response>();
    assert_eq!(next.stat.czxid, first.header.zxid + 2);
}

#[tokio::test]
async fn every_create_mode_makes_its_kind_of_node() {
    let server = ServerProcess::start(&["--extended-types"]);
    let client = connect(&server).await;
    let session = client.session_id().0;
    let modes = [
        ("/persistent", zk::CreateMode::Persistent, 0),
        ("/ephemeral", zk::CreateMode::Ephemeral, session),
        ("/container", zk::CreateMode::Container, 0),
    ];
    for (path, mode, owner) in modes {
        let (stat, seq) = client.create(path, b"", &open(mode)).await.unwrap();
        assert_eq!(stat.ephemeral_owner, owner, "{mode:?}");
        assert_eq!(seq.into_i64(), -1);
    }
    let (_, seq) = client
        .create("/ps-", b"", &open(zk::CreateMode::PersistentSequential))
        .await
        .unwrap();
    let (stat, eseq) = client
        .create("/es-", b"", &open(zk::CreateMode::EphemeralSequential))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, session);
    assert_eq!(eseq.into_i64(), seq.into_i64() + 1);
    let ttl = open(zk::CreateMode::Persistent).with_ttl(std::time::Duration::from_secs(60));
    let (stat, _) = client.create("/ttl", b"", &ttl).await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "clients see 0 for TTL nodes");
    let ttl_seq =
        open(zk::CreateMode::PersistentSequential).with_ttl(std::time::Duration::from_secs(60));
    let (_, s) = client.create("/ttls-", b"", &ttl_seq).await.unwrap();
    assert_eq!(s.into_i64(), eseq.into_i64() + 2);
    let mut names = within(client.list_children("/")).await.unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "container",
            "ephemeral",
            format!("es-{:010}", eseq.into_i64()).as_str(),
            "persistent",
            format!("ps-{:010}", seq.into_i64()).as_str(),
            "ttl",
            format!("ttls-{:010}", s.into_i64()).as_str(),
            "zookeeper"
        ]
    );
}

#[test]
fn create_with_unknown_flags_is_bad_arguments() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    for (i, flags) in [7, -1, 42].into_iter().enumerate() {
        let create = Request::Create(req::create_raw(
            OpCode::Create2,
            "/flags",
            Some(b""),
            req::open_acl(),
            flags,
            -1,
        ));
        assert_eq!(
            w.call(i as i32 + 1, &create).err(),
            code(ErrorCode::BadArguments),
            "flags {flags}"
        );
    }
}

#[tokio::test]
async fn a_chrooted_client_works_below_its_root() {
    let server = ServerProcess::start(&[]);
    let admin = connect(&server).await;
    admin.create("/app", b"", &persistent()).await.unwrap();
    let chrooted =
        ferrokeeper_tests::zkc::connect_to(&format!("{}/app", server.connect_string())).await;
    let (_, watch) = chrooted.check_and_watch_stat("/x").await.unwrap();
    chrooted
        .create("/x", b"inside", &ephemeral())
        .await
        .unwrap();
    let event = within(watch.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeCreated, "/x")
    );
    assert_eq!(admin.get_data("/app/x").await.unwrap().0, b"inside");
    assert_eq!(chrooted.list_children("/").await.unwrap(), ["x"]);
    assert_eq!(chrooted.list_ephemerals("/").await.unwrap(), ["/x"]);
}

#[test]
fn data_of_almost_a_megabyte_round_trips() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        w.call(1, &req::create("/big", &data, CreateMode::Persistent))
            .err(),
        OK
    );
    let read = w
        .call(2, &req::get_data("/big", false))
        .decode::<GetDataResponse>();
    assert_eq!(read.stat.data_length, 1_000_000);
    assert!(read.data.as_deref() == Some(&data[..]), "data differs");
}
