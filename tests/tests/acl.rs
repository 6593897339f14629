//! ACLs and authentication: the world, digest, ip and auth schemes, the permission
//! each op needs (and on which node), getACL redaction, invalid ACLs, the super digest,
//! and auth packets.

use ferrokeeper_protocol::records::{Acl, GetAclResponse};
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode, Perms};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::zkc::{connect, connect_as, digest_id, persistent, within};
use ferrokeeper_tests::{real_zookeeper, ServerProcess};
use zookeeper_client as zk;

fn acl_of(entries: &[zk::Acl]) -> zk::CreateOptions<'_> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::new(entries))
}

fn anyone(perms: zk::Permission) -> zk::Acl {
    zk::Acl::new(perms, zk::AuthId::anyone())
}

fn digest(perms: zk::Permission, user_password: &str) -> zk::Acl {
    zk::Acl::new(perms, zk::AuthId::new("digest", &digest_id(user_password)))
}

fn ip(perms: zk::Permission, expr: &str) -> zk::Acl {
    zk::Acl::new(perms, zk::AuthId::new("ip", expr))
}

#[tokio::test]
async fn world_read_only_allows_reads_and_refuses_changes() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    client
        .create(
            "/ro",
            b"data",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_read()),
        )
        .await
        .unwrap();
    assert_eq!(client.get_data("/ro").await.unwrap().0, b"data");
    assert!(client.list_children("/ro").await.unwrap().is_empty());
    assert_eq!(
        client.set_data("/ro", b"x", None).await.unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        client
            .create("/ro/c", b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    assert_eq!(
        client
            .set_acl("/ro", &[anyone(zk::Permission::ALL)], None)
            .await
            .unwrap_err(),
        zk::Error::NoAuth
    );
    // Deleting needs DELETE on the parent (/, open to all), not on the node.
    client.delete("/ro", None).await.unwrap();
}

#[tokio::test]
async fn a_digest_acl_admits_only_its_user() {
    let server = ServerProcess::start(&[]);
    let bob = connect_as(&server, "bob:secret").await;
    let anon = connect(&server).await;
    let mallory = connect_as(&server, "bob:wrong").await;
    let only_bob = [digest(zk::Permission::ALL, "bob:secret")];
    bob.create("/bob", b"mine", &acl_of(&only_bob))
        .await
        .unwrap();
    assert_eq!(bob.get_data("/bob").await.unwrap().0, b"mine");
    for client in [&anon, &mallory] {
        assert_eq!(
            client.get_data("/bob").await.unwrap_err(),
            zk::Error::NoAuth
        );
        assert_eq!(
            client.set_data("/bob", b"", None).await.unwrap_err(),
            zk::Error::NoAuth
        );
    }
    // Authenticating later in the session counts from then on.
    anon.auth("digest", b"bob:secret").await.unwrap();
    assert_eq!(anon.get_data("/bob").await.unwrap().0, b"mine");
}

#[tokio::test]
async fn the_auth_scheme_stands_for_the_creators_authenticated_identities() {
    let server = ServerProcess::start(&[]);
    let anon = connect(&server).await;
    let creator_all = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    assert_eq!(
        anon.create("/x", b"", &creator_all).await.unwrap_err(),
        zk::Error::InvalidAcl,
        "an ip identity does not count"
    );
    let both = connect_as(&server, "bob:secret").await;
    both.auth("digest", b"alice:pw").await.unwrap();
    both.create("/x", b"", &creator_all).await.unwrap();
    let (mut acl, _) = both.get_acl("/x").await.unwrap();
    acl.sort_by(|a, b| a.id().cmp(b.id()));
    assert_eq!(
        acl,
        [
            digest(zk::Permission::ALL, "alice:pw"),
            digest(zk::Permission::ALL, "bob:secret"),
        ]
    );
    assert_eq!(anon.get_data("/x").await.unwrap_err(), zk::Error::NoAuth);
    let alice = connect_as(&server, "alice:pw").await;
    alice.get_data("/x").await.unwrap();
}

#[tokio::test]
async fn an_ip_acl_matches_the_clients_address_or_network() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    for (path, expr, allowed) in [
        ("/exact", "127.0.0.1", true),
        ("/net", "127.0.0.0/8", true),
        ("/other", "10.1.2.3", false),
        ("/othernet", "10.0.0.0/8", false),
    ] {
        let entries = [
            ip(zk::Permission::READ, expr),
            anyone(zk::Permission::ADMIN),
        ];
        client.create(path, b"", &acl_of(&entries)).await.unwrap();
        let read = client.get_data(path).await;
        assert_eq!(read.is_ok(), allowed, "{expr}: {read:?}");
    }
}

/// Creates `path` open to all, then narrows its ACL to `perms` for anyone.
fn locked(w: &mut Wire, path: &str, perms: i32) {
    assert_eq!(
        w.call(900, &req::create(path, b"", CreateMode::Persistent))
            .err(),
        0
    );
    let acl = vec![Acl::new(perms, "world", "anyone")];
    assert_eq!(w.call(901, &req::set_acl(path, acl, -1)).err(), 0);
}

#[test]
fn each_op_needs_its_permission_on_the_right_node() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let no_auth = ErrorCode::NoAuth.code();
    let all = Perms::ALL;

    // create: CREATE on the parent.
    locked(&mut w, "/no-create", all & !Perms::CREATE);
    assert_eq!(
        w.call(1, &req::create("/no-create/c", b"", CreateMode::Persistent))
            .err(),
        no_auth
    );
    assert_eq!(
        w.call(
            2,
            &req::create("/no-create/s", b"", CreateMode::EphemeralSequential)
        )
        .err(),
        no_auth
    );

    // delete: DELETE on the parent; the node's own ACL does not matter.
    w.call(3, &req::create("/no-delete", b"", CreateMode::Persistent));
    w.call(4, &req::create("/no-delete/c", b"", CreateMode::Persistent));
    w.call(
        5,
        &req::set_acl(
            "/no-delete",
            vec![Acl::new(all & !Perms::DELETE, "world", "anyone")],
            -1,
        ),
    );
    assert_eq!(w.call(6, &req::delete("/no-delete/c", -1)).err(), no_auth);
    w.call(7, &req::create("/open", b"", CreateMode::Persistent));
    locked(&mut w, "/open/nothing", 0);
    assert_eq!(w.call(8, &req::delete("/open/nothing", -1)).err(), 0);

    // setData: WRITE; setACL: ADMIN; on the node.
    locked(&mut w, "/no-write", all & !Perms::WRITE);
    assert_eq!(
        w.call(9, &req::set_data("/no-write", b"x", -1)).err(),
        no_auth
    );
    locked(&mut w, "/no-admin", all & !Perms::ADMIN);
    assert_eq!(
        w.call(10, &req::set_acl("/no-admin", req::open_acl(), -1))
            .err(),
        no_auth
    );

    // Reads: READ on the node.
    locked(&mut w, "/no-read", all & !Perms::READ);
    for (xid, request) in [
        (11, req::get_data("/no-read", false)),
        (12, req::get_children("/no-read", false)),
        (13, req::get_children2("/no-read", false)),
        (15, req::get_all_children_number("/no-read")),
    ] {
        assert_eq!(w.call(xid, &request).err(), no_auth, "{request:?}");
    }
    // exists of an existing node checks READ as ZooKeeper 3.9 and the protocol notes
    // have it; ZooKeeper 3.8.0 answered the stat to anyone.
    let exists_err = if real_zookeeper() { 0 } else { no_auth };
    assert_eq!(
        w.call(14, &req::exists("/no-read", false)).err(),
        exists_err
    );
    // ... but a missing node is just missing, and the rest needs nothing.
    assert_eq!(
        w.call(16, &req::exists("/no-read/missing", false)).err(),
        ErrorCode::NoNode.code()
    );
    assert_eq!(w.call(17, &req::sync("/no-read")).err(), 0);
    assert_eq!(w.call(18, &req::get_ephemerals("/no-read")).err(), 0);
    assert_eq!(
        w.call(
            19,
            &req::add_watch("/no-read", ferrokeeper_protocol::AddWatchMode::Persistent)
        )
        .err(),
        0
    );
    // The parent needs only CREATE/DELETE for its children to come and go.
    assert_eq!(
        w.call(20, &req::create("/no-read/c", b"", CreateMode::Persistent))
            .err(),
        0
    );
    assert_eq!(w.call(21, &req::delete("/no-read/c", -1)).err(), 0);

    // getACL: READ or ADMIN.
    locked(&mut w, "/admin-only", Perms::ADMIN);
    assert_eq!(w.call(22, &req::get_acl("/admin-only")).err(), 0);
    locked(&mut w, "/read-only", Perms::READ);
    assert_eq!(w.call(23, &req::get_acl("/read-only")).err(), 0);
    locked(&mut w, "/write-only", Perms::WRITE);
    assert_eq!(w.call(24, &req::get_acl("/write-only")).err(), no_auth);
}

#[test]
fn get_acl_without_admin_redacts_digest_ids() {
    let server = ServerProcess::start(&[]);
    let mut owner = Wire::connect(server.addr);
    let bob = digest_id("bob:secret");
    let acl = vec![
        Acl::new(Perms::ALL, "digest", &bob),
        Acl::new(Perms::READ, "world", "anyone"),
    ];
    owner.send(-4, &req::auth("digest", b"bob:secret"));
    assert_eq!(owner.recv().err(), 0);
    let create = ferrokeeper_protocol::request::Request::Create(req::create_raw(
        OpCode::Create2,
        "/mixed",
        Some(b""),
        acl.clone(),
        0,
        -1,
    ));
    assert_eq!(owner.call(1, &create).err(), 0);
    let full = owner
        .call(2, &req::get_acl("/mixed"))
        .decode::<GetAclResponse>();
    assert_eq!(full.acl, acl, "ADMIN sees the digests");
    let mut reader = Wire::connect(server.addr);
    let redacted = reader
        .call(1, &req::get_acl("/mixed"))
        .decode::<GetAclResponse>();
    assert_eq!(
        redacted.acl,
        [
            Acl::new(Perms::ALL, "digest", "bob:x"),
            Acl::new(Perms::READ, "world", "anyone"),
        ]
    );
    assert_eq!(redacted.stat, full.stat);
}

#[test]
fn invalid_acls_are_refused_on_create_and_set_acl() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/n", b"", CreateMode::Persistent));
    let invalid = ErrorCode::InvalidAcl.code();
    let cases: Vec<(&str, Vec<Acl>)> = vec![
        ("empty", vec![]),
        (
            "unknown scheme",
            vec![Acl::new(Perms::ALL, "kerberos", "bob")],
        ),
        (
            "digest without a hash",
            vec![Acl::new(Perms::ALL, "digest", "bob")],
        ),
        (
            "digest with two colons",
            vec![Acl::new(Perms::ALL, "digest", "a:b:c")],
        ),
        ("bad ip", vec![Acl::new(Perms::ALL, "ip", "300.1.1.1")]),
        (
            "bad ip mask",
            vec![Acl::new(Perms::ALL, "ip", "127.0.0.1/33")],
        ),
        (
            "world but not anyone",
            vec![Acl::new(Perms::ALL, "world", "someone")],
        ),
        (
            "auth without identity",
            vec![Acl::new(Perms::ALL, "auth", "")],
        ),
        (
            "one bad entry among good ones",
            vec![
                Acl::new(Perms::ALL, "world", "anyone"),
                Acl::new(Perms::ALL, "ip", "nonsense"),
            ],
        ),
    ];
    for (i, (what, acl)) in cases.into_iter().enumerate() {
        let create = ferrokeeper_protocol::request::Request::Create(req::create_raw(
            OpCode::Create2,
            "/bad",
            Some(b""),
            acl.clone(),
            0,
            -1,
        ));
        assert_eq!(
            w.call(10 + 2 * i as i32, &create).err(),
            invalid,
            "create: {what}"
        );
        assert_eq!(
            w.call(11 + 2 * i as i32, &req::set_acl("/n", acl, -1))
                .err(),
            invalid,
            "setACL: {what}"
        );
    }
    assert_eq!(
        w.call(50, &req::exists("/bad", false)).err(),
        ErrorCode::NoNode.code()
    );
    // InvalidACL comes before NoNode for a missing parent (create) or node (setACL).
    let create = ferrokeeper_protocol::request::Request::Create(req::create_raw(
        OpCode::Create2,
        "/missing/child",
        Some(b""),
        vec![],
        0,
        -1,
    ));
    assert_eq!(w.call(51, &create).err(), invalid);
    assert_eq!(
        w.call(52, &req::set_acl("/missing", vec![], -1)).err(),
        invalid
    );
}

#[test]
fn duplicate_acl_entries_are_stored_once() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    let twice = vec![
        Acl::new(Perms::ALL, "world", "anyone"),
        Acl::new(Perms::ALL, "world", "anyone"),
        Acl::new(Perms::READ, "ip", "127.0.0.1"),
        Acl::new(Perms::READ, "ip", "127.0.0.1"),
    ];
    let create = ferrokeeper_protocol::request::Request::Create(req::create_raw(
        OpCode::Create2,
        "/d",
        Some(b""),
        twice,
        0,
        -1,
    ));
    assert_eq!(w.call(1, &create).err(), 0);
    let acl = w
        .call(2, &req::get_acl("/d"))
        .decode::<GetAclResponse>()
        .acl;
    assert_eq!(
        acl,
        [
            Acl::new(Perms::ALL, "world", "anyone"),
            Acl::new(Perms::READ, "ip", "127.0.0.1"),
        ]
    );
}

#[tokio::test]
async fn the_super_digest_may_do_anything() {
    let super_digest = format!("superDigest={}", digest_id("super:pw"));
    let server = ServerProcess::start(&["--set", &super_digest]);
    let bob = connect_as(&server, "bob:secret").await;
    let nobody = [digest(zk::Permission::NONE, "bob:secret")];
    bob.create("/locked", b"x", &acl_of(&nobody)).await.unwrap();
    bob.create("/locked2", b"", &acl_of(&nobody)).await.unwrap();
    assert_eq!(
        bob.get_data("/locked").await.unwrap_err(),
        zk::Error::NoAuth
    );
    let root = connect_as(&server, "super:pw").await;
    assert_eq!(root.get_data("/locked").await.unwrap().0, b"x");
    root.set_data("/locked", b"y", None).await.unwrap();
    let (acl, _) = root.get_acl("/locked").await.unwrap();
    assert_eq!(acl, nobody, "super sees the digests");
    root.set_acl("/locked", &[anyone(zk::Permission::ALL)], None)
        .await
        .unwrap();
    assert_eq!(bob.get_data("/locked").await.unwrap().0, b"y");
    let (_, stat) = root.get_data("/locked2").await.unwrap();
    assert_eq!(stat.version, 0);
    root.set_acl("/zookeeper/config", &[anyone(zk::Permission::ALL)], None)
        .await
        .unwrap();
    // A wrong super password is just another digest user.
    let pretender = connect_as(&server, "super:wrong").await;
    assert_eq!(
        pretender.get_data("/locked2").await.unwrap_err(),
        zk::Error::NoAuth
    );
}

#[test]
fn an_unknown_auth_scheme_fails_and_closes_the_connection_but_not_the_session() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.call(1, &req::create("/e", b"", CreateMode::Ephemeral));
    w.send(-4, &req::auth("kerberos", b"whatever"));
    let frames = w.recv_until_closed();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(
        (frames[0].xid(), frames[0].header.zxid, frames[0].err()),
        (-4, 0, ErrorCode::AuthFailed.code())
    );
    // The session lives on: it can be resumed, its ephemeral is still there.
    let (mut again, response) = Wire::resume(server.addr, &w);
    assert_eq!(response.session_id, w.session_id);
    assert_eq!(again.call(1, &req::exists("/e", false)).err(), 0);
}

#[test]
fn the_auth_reply_echoes_the_xid_of_the_auth_packet() {
    let server = ServerProcess::start(&[]);
    let mut w = Wire::connect(server.addr);
    w.send(-4, &req::auth("digest", b"bob:secret"));
    let reply = w.recv();
    assert_eq!((reply.xid(), reply.header.zxid, reply.err()), (-4, 0, 0));
    assert!(reply.body.is_empty());
    w.send(7, &req::auth("digest", b"alice:pw"));
    assert_eq!((w.recv().xid(), 0), (7, 0));
    let infos = w
        .call(8, &ferrokeeper_protocol::request::Request::WhoAmI)
        .decode::<ferrokeeper_protocol::records::WhoAmIResponse>()
        .client_info;
    let mut users: Vec<_> = infos
        .iter()
        .map(|i| (i.auth_scheme.as_str(), i.user.as_str()))
        .collect();
    users.sort();
    assert_eq!(
        users,
        [("digest", "alice"), ("digest", "bob"), ("ip", "127.0.0.1")]
    );
}

#[tokio::test]
async fn a_client_whose_auth_fails_ends_in_auth_failed() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let mut state = client.state_watcher();
    assert_eq!(
        client.auth("nosuchscheme", b"x").await.unwrap_err(),
        zk::Error::AuthFailed
    );
    assert_eq!(within(state.changed()).await, zk::SessionState::AuthFailed);
    // Another client is unaffected.
    let other = connect(&server).await;
    other.create("/fine", b"", &persistent()).await.unwrap();
}
