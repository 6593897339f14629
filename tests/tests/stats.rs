//! Stat fields after each kind of change (czxid, mzxid, pzxid, ctime, mtime, version,
//! cversion, aversion, ephemeralOwner, dataLength, numChildren), and the stats and ACLs
//! of the built-in nodes.

use ferrokeeper_protocol::records::{Create2Response, GetAclResponse, GetDataResponse};
use ferrokeeper_protocol::{CreateMode, Perms};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::{connect, ephemeral, open, persistent};
use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

#[test]
fn builtin_nodes_have_zookeepers_stats_and_acls() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let stat_of = |w: &mut Wire, path: &str| {
        let reply = w.call(1, &req::get_data(path, false));
        assert_eq!(reply.err(), 0, "getData {path}");
        reply.decode::<GetDataResponse>()
    };
    let root = stat_of(&mut w, "/");
    // ZooKeeper hangs /zookeeper under / without counting a child creation, so the
    // visible cversion (2 × creations − children) is negative.
    assert_eq!((root.stat.num_children, root.stat.cversion), (1, -1));
    let zookeeper = stat_of(&mut w, "/zookeeper");
    assert_eq!(
        (zookeeper.stat.num_children, zookeeper.stat.cversion),
        (2, -2)
    );
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        let node = stat_of(&mut w, path);
        let s = node.stat;
        assert_eq!(
            (s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime),
            (0, 0, 0, 0, 0),
            "{path}"
        );
        assert_eq!(
            (s.version, s.ephemeral_owner, s.data_length),
            (0, 0, 0),
            "{path}"
        );
        // Empty, not null: Java callers do `new String(getData(...))`.
        assert_eq!(node.data.as_deref(), Some(&b""[..]), "{path}");
        // ZooKeeper sets the config node's ACL with version -1, which sticks.
        let aversion = if path == "/zookeeper/config" { -1 } else { 0 };
        assert_eq!(s.aversion, aversion, "{path}");
    }
    for path in ["/zookeeper/quota", "/zookeeper/config"] {
        let s = stat_of(&mut w, path).stat;
        assert_eq!((s.num_children, s.cversion), (0, 0), "{path}");
    }
    let acl_of = |w: &mut Wire, path: &str| {
        w.call(2, &req::get_acl(path))
            .decode::<GetAclResponse>()
            .acl
    };
    let open_all = req::open_acl();
    assert_eq!(acl_of(&mut w, "/"), open_all);
    assert_eq!(acl_of(&mut w, "/zookeeper"), open_all);
    assert_eq!(acl_of(&mut w, "/zookeeper/quota"), open_all);
    let config = acl_of(&mut w, "/zookeeper/config");
    assert_eq!(config.len(), 1);
    assert_eq!(
        (
            config[0].perms,
            config[0].id.scheme.as_str(),
            config[0].id.id.as_str()
        ),
        (Perms::READ, "world", "anyone")
    );
}

#[tokio::test]
async fn builtin_config_node_is_read_only_for_clients() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    assert_eq!(
        client
            .set_data("/zookeeper/config", b"x", None)
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        client
            .create("/zookeeper/config/child", b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    let (data, stat) = client.get_config().await.unwrap();
    assert!(data.is_empty());
    assert_eq!(stat.version, 0);
}

#[tokio::test]
async fn creating_and_deleting_children_moves_cversion_pzxid_and_num_children_only() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (parent, _) = client.create("/p", b"data", &persistent()).await.unwrap();
    let (a, _) = client.create("/p/a", b"", &persistent()).await.unwrap();
    let after_create = client.check_stat("/p").await.unwrap().unwrap();
    assert_eq!((after_create.cversion, after_create.num_children), (1, 1));
    assert_eq!(after_create.pzxid, a.czxid);
    // The parent's own data fields do not move.
    assert_eq!(
        (after_create.mzxid, after_create.mtime, after_create.version),
        (parent.mzxid, parent.mtime, parent.version)
    );
    assert_eq!(after_create.aversion, 0);
    let (b, _) = client.create("/p/b", b"", &persistent()).await.unwrap();
    let s = client.check_stat("/p").await.unwrap().unwrap();
    assert_eq!((s.cversion, s.num_children, s.pzxid), (2, 2, b.czxid));
    client.delete("/p/a", None).await.unwrap();
    let s = client.check_stat("/p").await.unwrap().unwrap();
    // cversion counts creations and deletions of children.
    assert_eq!((s.cversion, s.num_children), (3, 1));
    assert!(s.pzxid > b.czxid, "a delete moves pzxid");
    let deleted_at = s.pzxid;
    client.set_data("/p/b", b"changed", None).await.unwrap();
    let s = client.check_stat("/p").await.unwrap().unwrap();
    assert_eq!(
        (s.cversion, s.pzxid),
        (3, deleted_at),
        "a child's setData is not a child change"
    );
    client.delete("/p/b", None).await.unwrap();
    client.create("/p/a", b"", &persistent()).await.unwrap();
    let s = client.check_stat("/p").await.unwrap().unwrap();
    assert_eq!((s.cversion, s.num_children), (5, 1));
    assert_eq!((s.mzxid, s.version), (parent.mzxid, 0));
}

#[tokio::test]
async fn grandchildren_do_not_touch_the_grandparent() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client.create("/g", b"", &persistent()).await.unwrap();
    client.create("/g/c", b"", &persistent()).await.unwrap();
    let before = client.check_stat("/g").await.unwrap().unwrap();
    client.create("/g/c/gc", b"", &persistent()).await.unwrap();
    client.delete("/g/c/gc", None).await.unwrap();
    assert_eq!(client.check_stat("/g").await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn root_cversion_and_pzxid_follow_its_children() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (a, _) = client.create("/a", b"", &persistent()).await.unwrap();
    let root = client.check_stat("/").await.unwrap().unwrap();
    assert_eq!(
        (root.num_children, root.cversion, root.pzxid),
        (2, 0, a.czxid)
    );
    client.delete("/a", None).await.unwrap();
    let root = client.check_stat("/").await.unwrap().unwrap();
    assert_eq!((root.num_children, root.cversion), (1, 1));
}

#[tokio::test]
async fn set_data_moves_version_mzxid_mtime_and_data_length() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (created, _) = client.create("/d", b"12345", &persistent()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let set = client.set_data("/d", b"1", None).await.unwrap();
    assert_eq!((set.version, set.data_length), (1, 1));
    assert!(set.mzxid > created.mzxid);
    assert!(set.mtime > created.mtime, "mtime is the time of the change");
    assert_eq!(
        (set.czxid, set.ctime, set.pzxid),
        (created.czxid, created.ctime, created.pzxid)
    );
    assert_eq!((set.cversion, set.aversion), (0, 0));
    let set = client.set_data("/d", b"", None).await.unwrap();
    assert_eq!((set.version, set.data_length), (2, 0));
}

#[tokio::test]
async fn set_acl_moves_only_aversion() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (created, _) = client.create("/a", b"x", &persistent()).await.unwrap();
    let acl = [zk::Acl::new(zk::Permission::ALL, zk::AuthId::anyone())];
    let stat = client.set_acl("/a", &acl, None).await.unwrap();
    assert_eq!(
        stat,
        zk::Stat {
            aversion: 1,
            ..created
        }
    );
}

#[tokio::test]
async fn ephemeral_owner_is_the_session_for_ephemerals_and_zero_otherwise() {
    let server = ServerProcess::start(&["--extended-types"]);
    let client = connect(&server).await;
    let other = connect(&server).await;
    let (e, _) = client.create("/e", b"", &ephemeral()).await.unwrap();
    assert_eq!(e.ephemeral_owner, client.session_id().0);
    assert_ne!(e.ephemeral_owner, other.session_id().0);
    let (seen, _) = other.get_data("/e").await.unwrap();
    assert!(seen.is_empty());
    assert_eq!(
        other
            .check_stat("/e")
            .await
            .unwrap()
            .unwrap()
            .ephemeral_owner,
        client.session_id().0
    );
    let (c, _) = client
        .create("/c", b"", &open(zk::CreateMode::Container))
        .await
        .unwrap();
    assert_eq!(c.ephemeral_owner, 0, "containers look persistent");
    let ttl = open(zk::CreateMode::Persistent).with_ttl(std::time::Duration::from_secs(30));
    let (t, _) = client.create("/t", b"", &ttl).await.unwrap();
    assert_eq!(t.ephemeral_owner, 0, "TTL nodes look persistent");
    let (p, _) = client.create("/p", b"", &persistent()).await.unwrap();
    assert_eq!(p.ephemeral_owner, 0);
}

#[test]
fn a_multi_gives_all_its_changes_one_zxid() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/m", b"", CreateMode::Persistent));
    let reply = w.call(
        2,
        &req::multi(vec![
            ferrokeeper_protocol::multi::MultiOp::Create(req::create_op(
                "/m/a",
                b"",
                CreateMode::Persistent,
            )),
            ferrokeeper_protocol::multi::MultiOp::Create(req::create_op(
                "/m/b",
                b"",
                CreateMode::Persistent,
            )),
            ferrokeeper_protocol::multi::MultiOp::SetData(req::set_data_op("/m", b"x", -1)),
        ]),
    );
    let zxid = reply.header.zxid;
    let a = w
        .call(3, &req::get_data("/m/a", false))
        .decode::<GetDataResponse>()
        .stat;
    let b = w
        .call(4, &req::get_data("/m/b", false))
        .decode::<GetDataResponse>()
        .stat;
    let m = w
        .call(5, &req::get_data("/m", false))
        .decode::<GetDataResponse>()
        .stat;
    assert_eq!(
        (a.czxid, b.czxid, m.mzxid, m.pzxid),
        (zxid, zxid, zxid, zxid)
    );
    assert_eq!(a.ctime, b.ctime);
    assert_eq!((m.cversion, m.num_children, m.version), (2, 2, 1));
}

#[test]
fn create2_stat_matches_what_a_later_read_returns() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let created = w
        .call(1, &req::create("/x", b"abc", CreateMode::Persistent))
        .decode::<Create2Response>();
    let read = w
        .call(2, &req::get_data("/x", false))
        .decode::<GetDataResponse>();
    assert_eq!(created.stat, read.stat);
}
