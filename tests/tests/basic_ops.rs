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

#[tokio::test]
async fn large_and_small_data_read_back_intact_in_one_pipeline() {
    let server = ServerProcess::start(&[]);
    let client = connect(&server).await;
    let large: Vec<u8> = (0..512 * 1024).map(|i| (i % 251) as u8).collect();
    client
        .create("/large", &large, &persistent())
        .await
        .unwrap();
    client
        .create("/small", b"tiny", &persistent())
        .await
        .unwrap();
    // Interleave replies that are copied with ones that share the node's buffer.
    let reads = (0..8).map(|i| {
        let path = if i % 2 == 0 { "/large" } else { "/small" };
        client.get_data(path)
    });
    for (i, read) in futures_join(reads).await.into_iter().enumerate() {
        let (data, stat) = read.unwrap();
        let expected: &[u8] = if i % 2 == 0 { &large } else { b"tiny" };
        assert_eq!(data, expected, "read {i}");
        assert_eq!(stat.data_length as usize, expected.len());
    }
}

/// Awaits futures issued together (so their requests are pipelined), in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::with_capacity(handles.len());
    for f in handles {
        out.push(f.await);
    }
    out
}
