//! A bit of everything a znode tree holds, written through a real client and read
//! back whole (data, stat, ACL of every node): what a restart, or ferrokeeper taking
//! over ZooKeeper's data directory, must keep exactly.

use std::collections::BTreeMap;

use zookeeper_client as zk;

use crate::zkc::{digest_id, persistent, within};

/// Every node: data, stat and ACL.
pub type Tree = BTreeMap<String, (Vec<u8>, zk::Stat, Vec<zk::Acl>)>;

pub async fn read_tree(client: &zk::Client) -> Tree {
    let mut tree = Tree::new();
    let mut todo = vec!["/".to_owned()];
    while let Some(path) = todo.pop() {
        let (data, stat) = within(client.get_data(&path)).await.expect(&path);
        let (acl, _) = within(client.get_acl(&path)).await.expect(&path);
        for child in within(client.list_children(&path)).await.expect(&path) {
            todo.push(match path.as_str() {
                "/" => format!("/{child}"),
                _ => format!("{path}/{child}"),
            });
        }
        tree.insert(path, (data, stat, acl));
    }
    tree
}

pub fn max_zxid(tree: &Tree) -> i64 {
    tree.values()
        .map(|(_, s, _)| s.czxid.max(s.mzxid).max(s.pzxid))
        .max()
        .unwrap_or(0)
}

pub fn assert_same_tree(before: &Tree, after: &Tree) {
    let paths = |t: &Tree| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(paths(after), paths(before), "the same nodes");
    for (path, node) in before {
        assert_eq!(&after[path], node, "{path}: data, stat and ACL");
    }
}

pub const BOB: &str = "bob:secret";

pub fn bob(perms: zk::Permission) -> zk::Acl {
    zk::Acl::new(perms, zk::AuthId::new("digest", &digest_id(BOB)))
}

pub fn anyone(perms: zk::Permission) -> zk::Acl {
    zk::Acl::new(perms, zk::AuthId::anyone())
}

/// Writes a bit of everything a restart must keep: data of several sizes, versions,
/// ACLs (changed once), sequential children (one deleted), a deleted node, a multi.
/// Returns the zxid of the last write.
pub async fn populate(client: &zk::Client) -> i64 {
    let p = persistent();
    within(client.create("/app", b"app", &p)).await.unwrap();
    within(client.create("/app/config", b"v0", &p))
        .await
        .unwrap();
    for v in 0..3 {
        within(client.set_data("/app/config", format!("v{}", v + 1).as_bytes(), Some(v)))
            .await
            .unwrap();
    }
    within(client.create("/app/empty", b"", &p)).await.unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    within(client.create("/app/big", &big, &p)).await.unwrap();
    let shared = [bob(zk::Permission::ALL), anyone(zk::Permission::READ)];
    let shared_create = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&shared));
    within(client.create("/app/shared", b"read-only for others", &shared_create))
        .await
        .unwrap();
    let private = [bob(zk::Permission::ALL)];
    let private_create = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&private));
    within(client.create("/app/private", b"bob only", &private_create))
        .await
        .unwrap();
    within(client.set_acl(
        "/app/shared",
        &[
            bob(zk::Permission::ALL),
            anyone(zk::Permission::READ | zk::Permission::WRITE),
        ],
        Some(0),
    ))
    .await
    .unwrap();
    within(client.create("/app/seq", b"", &p)).await.unwrap();
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    for i in 0..5 {
        within(client.create("/app/seq/item-", format!("{i}").as_bytes(), &seq))
            .await
            .unwrap();
    }
    within(client.delete("/app/seq/item-0000000002", Some(0)))
        .await
        .unwrap();
    within(client.create("/app/gone", b"", &p)).await.unwrap();
    within(client.delete("/app/gone", None)).await.unwrap();
    let mut multi = client.new_multi_writer();
    multi.add_create("/app/multi-a", b"a", &p).unwrap();
    multi.add_set_data("/app/config", b"v4", Some(3)).unwrap();
    multi.add_check_version("/app/empty", 0).unwrap();
    within(multi.commit()).await.unwrap();
    let (stat, _) = within(client.create("/app/last", b"last", &p))
        .await
        .unwrap();
    stat.czxid
}
