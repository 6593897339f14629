//! Helpers around the Rust `zookeeper-client` crate: connecting, bounded waits, and
//! the common create options.

use std::future::Future;
use std::time::Duration;

use zookeeper_client as zk;

use crate::ServerProcess;

/// Upper bound of any single awaited operation.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// Awaits `fut`, failing the test if it takes longer than [`OP_TIMEOUT`].
pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(value) => value,
        Err(_) => panic!("operation did not complete within {OP_TIMEOUT:?}"),
    }
}

/// Awaits `fut` for at most `wait`; `None` if it did not complete (e.g. no event came).
pub async fn within_or_none<T>(wait: Duration, fut: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(wait, fut).await.ok()
}

/// Logs what the Rust client does to stderr when `FERROKEEPER_TEST_CLIENT_LOG` holds a
/// tracing filter (e.g. `zookeeper_client=debug`). Called by the connect helpers.
pub fn init_client_log() {
    if let Ok(filter) = std::env::var("FERROKEEPER_TEST_CLIENT_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// A client with a 10 s session on `server`.
pub async fn connect(server: &ServerProcess) -> zk::Client {
    connect_to(&server.connect_string()).await
}

/// A client with a 10 s session on `connect_string`.
pub async fn connect_to(connect_string: &str) -> zk::Client {
    init_client_log();
    within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(connect_string),
    )
    .await
    .expect("connect")
}

/// A client that authenticated with `digest user:password` before its first request.
pub async fn connect_as(server: &ServerProcess, user_password: &str) -> zk::Client {
    init_client_log();
    within(
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_auth("digest", user_password.as_bytes())
            .connect(&server.connect_string()),
    )
    .await
    .expect("connect")
}

/// PERSISTENT, open to anyone.
pub fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// EPHEMERAL, open to anyone.
pub fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

/// `mode`, open to anyone.
pub fn open(mode: zk::CreateMode) -> zk::CreateOptions<'static> {
    mode.with_acls(zk::Acls::anyone_all())
}

/// ZooKeeper's digest id for `user:password`: `user:base64(sha1(user:password))`.
pub fn digest_id(user_password: &str) -> String {
    use base64::Engine;
    use sha1::Digest;
    let user = user_password.split(':').next().unwrap();
    let hash = sha1::Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.generateDigest("super:test").
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }
}
