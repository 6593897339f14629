//! The fixture driven by a real ZooKeeper client (the Rust `zookeeper-client`), from
//! async and synchronous tests alike.

use std::time::{Duration, Instant};

use ferrokeeper_testing::{FixtureError, TestServer};
use zookeeper_client as zk;

const BOUND: Duration = Duration::from_secs(20);

async fn connect(server: &TestServer) -> zk::Client {
    tokio::time::timeout(
        BOUND,
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(&server.connect_string()),
    )
    .await
    .expect("connect within the bound")
    .expect("connect")
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

/// Waits for the client's session to reach `state`.
async fn await_state(client: &zk::Client, state: zk::SessionState) {
    let mut watcher = client.state_watcher();
    let mut current = watcher.state();
    tokio::time::timeout(BOUND, async {
        while current != state {
            current = watcher.changed().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("session never reached {state:?}, last {current:?}"));
}

#[tokio::test]
async fn an_in_memory_server_serves_a_client_on_a_free_loopback_port() {
    let server = TestServer::start();
    assert!(server.addr().ip().is_loopback() && server.addr().port() != 0);
    assert!(server.data_dir().is_none() && server.admin_addr().is_none());
    let client = connect(&server).await;
    client.create("/app", b"v1", &persistent()).await.unwrap();
    let (data, _) = client.get_data("/app").await.unwrap();
    assert_eq!(data, b"v1");
}

#[tokio::test]
async fn servers_in_one_process_share_nothing() {
    let a = TestServer::start();
    let b = TestServer::start();
    assert_ne!(a.addr(), b.addr());
    connect(&a)
        .await
        .create("/only-on-a", b"", &persistent())
        .await
        .unwrap();
    assert!(connect(&b)
        .await
        .check_stat("/only-on-a")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_restart_keeps_the_port_the_data_and_the_sessions() {
    let mut server = TestServer::builder().temp_data_dir().start().unwrap();
    let dir = server.data_dir().unwrap().to_owned();
    let port = server.addr().port();
    let client = connect(&server).await;
    client
        .create("/kept", b"durable", &persistent())
        .await
        .unwrap();
    client.create("/mine", b"", &ephemeral()).await.unwrap();
    let id = client.session_id();
    let states = client.state_watcher();
    server.restart().unwrap();
    assert_eq!(server.addr().port(), port);
    assert_eq!(server.data_dir(), Some(dir.as_path()));
    // The client reconnects on its own, keeping its session and ephemeral.
    reconnected(states).await;
    let (data, _) = client.get_data("/kept").await.unwrap();
    assert_eq!(data, b"durable");
    let stat = client.check_stat("/mine").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, id.0);
    assert_eq!(server.session_ids().unwrap(), [id.0]);
    drop(server);
    assert!(
        !dir.exists(),
        "the temporary data directory goes with the server"
    );
}

#[tokio::test]
async fn an_expired_session_loses_its_ephemerals_and_its_client_is_told() {
    let server = TestServer::start();
    let doomed = connect(&server).await;
    let observer = connect(&server).await;
    doomed.create("/lock", b"", &ephemeral()).await.unwrap();
    let (_, _, deleted) = observer.get_and_watch_data("/lock").await.unwrap();
    assert!(server.expire_session(doomed.session_id().0).unwrap());
    assert_eq!(
        deleted.changed().await.event_type,
        zk::EventType::NodeDeleted
    );
    assert!(observer.check_stat("/lock").await.unwrap().is_none());
    await_state(&doomed, zk::SessionState::Expired).await;
    assert!(!server.expire_session(doomed.session_id().0).unwrap());
}

/// Waits until a session (watched since before the fault) has lost its connection
/// and is connected again (the watcher may skip the brief Disconnected state).
async fn reconnected(mut states: zk::StateWatcher) {
    let mut state = tokio::time::timeout(BOUND, states.changed())
        .await
        .expect("the connection was dropped");
    while state != zk::SessionState::SyncConnected {
        state = tokio::time::timeout(BOUND, states.changed()).await.unwrap();
    }
}

#[tokio::test]
async fn dropped_connections_come_back_with_their_sessions() {
    let server = TestServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.create("/a", b"", &ephemeral()).await.unwrap();
    let a_states = a.state_watcher();
    assert!(server.drop_session_connection(a.session_id().0).unwrap());
    reconnected(a_states).await;
    assert!(a.check_stat("/a").await.unwrap().is_some());
    let (a_states, b_states) = (a.state_watcher(), b.state_watcher());
    assert_eq!(server.drop_connections().unwrap(), 2);
    reconnected(a_states).await;
    reconnected(b_states).await;
    b.create("/b", b"", &persistent()).await.unwrap();
    let mut ids = server.session_ids().unwrap();
    ids.sort();
    let mut expected = vec![a.session_id().0, b.session_id().0];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_stalled_server_answers_late_on_the_same_connection() {
    let server = TestServer::start();
    let client = connect(&server).await;
    client.create("/n", b"", &persistent()).await.unwrap();
    let mut states = client.state_watcher();
    let stall = Duration::from_millis(800);
    server.stall(stall).unwrap();
    let asked = Instant::now();
    client.check_stat("/n").await.unwrap().unwrap();
    assert!(
        asked.elapsed() >= stall - Duration::from_millis(100),
        "{:?}",
        asked.elapsed()
    );
    // Stalled, not disconnected: the session never changed state.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), states.changed())
            .await
            .is_err(),
        "the session saw a state change during the stall"
    );
}

#[test]
fn a_synchronous_test_starts_stops_and_restarts_it() {
    let mut server = TestServer::builder()
        .tick_time_ms(100)
        .session_timeouts_ms(400, 4000)
        .admin_server()
        .start()
        .unwrap();
    let admin = server.admin_addr().expect("the AdminServer was asked for");
    assert!(admin.ip().is_loopback() && admin.port() != 8080);
    assert!(std::net::TcpStream::connect(server.addr()).is_ok());
    server.stop();
    assert!(!server.is_running());
    assert!(matches!(
        server.session_ids(),
        Err(FixtureError::NotRunning)
    ));
    assert!(std::net::TcpStream::connect(server.addr()).is_err());
    server.restart().unwrap();
    assert!(std::net::TcpStream::connect(server.addr()).is_ok());
}

#[test]
fn a_bad_setting_fails_the_start_naming_the_key() {
    let err = TestServer::builder()
        .set("tickTime", "soon")
        .start()
        .err()
        .expect("a bad tickTime is refused");
    assert!(err.to_string().contains("tickTime"), "{err}");
}

/// `SystemError` (-1): the answer to a write whose batch could not be made durable.
fn is_system_error(err: &zk::Error) -> bool {
    matches!(err, zk::Error::UnexpectedErrorCode(-1))
}

#[tokio::test]
async fn disk_faults_fail_or_slow_writes_while_reads_go_on() {
    let server = TestServer::builder().temp_data_dir().start().unwrap();
    let client = connect(&server).await;
    client.create("/before", b"", &persistent()).await.unwrap();

    server.fail_next_fsyncs(1).unwrap();
    let err = client
        .create("/lost", b"", &persistent())
        .await
        .unwrap_err();
    assert!(is_system_error(&err), "{err:?}");
    assert!(
        client.check_stat("/lost").await.unwrap().is_none(),
        "never applied"
    );
    client.create("/after", b"", &persistent()).await.unwrap();

    server.disk_full(true).unwrap();
    let err = client
        .create("/full", b"", &persistent())
        .await
        .unwrap_err();
    assert!(is_system_error(&err), "{err:?}");
    assert!(
        client.check_stat("/before").await.unwrap().is_some(),
        "reads go on"
    );
    server.disk_full(false).unwrap();
    let resumed = async {
        while client.create("/room", b"", &persistent()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(BOUND, resumed)
        .await
        .expect("writes resume");

    let delay = Duration::from_millis(400);
    server.slow_fsyncs(delay).unwrap();
    let asked = Instant::now();
    client.create("/slow", b"", &persistent()).await.unwrap();
    assert!(asked.elapsed() >= delay, "{:?}", asked.elapsed());
    server.slow_fsyncs(Duration::ZERO).unwrap();

    let in_memory = TestServer::start();
    assert!(matches!(
        in_memory.disk_full(true),
        Err(FixtureError::Fault(_))
    ));
}
