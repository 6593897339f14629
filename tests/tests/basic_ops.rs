//! The core op matrix through the Rust `zookeeper-client` crate against the real binary.

use ferrokeeper_tests::ServerProcess;
use zookeeper_client as zk;

async fn connect(server: &ServerProcess) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(std::time::Duration::from_secs(10))
        .connect(&server.connect_string())
        .await
        .expect("connect")
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

#[tokio::test]
async fn create_get_set_delete_round_trip() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let (stat, seq) = client.create("/a", b"hello", &persistent()).await.unwrap();
    assert_eq!(seq.into_i64(), -1);
    assert_eq!(
        (stat.version, stat.data_length, stat.num_children),
        (0, 5, 0)
    );
    assert_eq!(stat.czxid, stat.mzxid);
    assert_eq!(stat.czxid, stat.pzxid);
    assert_eq!(stat.ctime, stat.mtime);
    let (data, got) = client.get_data("/a").await.unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(got, stat);
    let set = client.set_data("/a", b"world!", Some(0)).await.unwrap();
    assert_eq!(set.version, 1);
    assert_eq!(set.data_length, 6);
    assert!(set.mzxid > stat.mzxid);
    assert_eq!(
        client.set_data("/a", b"x", Some(0)).await.unwrap_err(),
        zk::Error::BadVersion
    );
    assert_eq!(
        client.create("/a", b"", &persistent()).await.unwrap_err(),
        zk::Error::NodeExists
    );
    assert_eq!(
        client
            .create("/missing/child", b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoNode
    );
    client.delete("/a", Some(1)).await.unwrap();
    assert_eq!(client.check_stat("/a").await.unwrap(), None);
}
