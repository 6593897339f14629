//! ZooKeeper 3.9's `snapshot` AdminServer command (alias `snap`; SnapshotCommand,
//! ZOOKEEPER-4570): takes a snapshot on the running server — the same fuzzy snapshot
//! snapCount triggers — and streams the file back.
//!
//! As in ZooKeeper 3.9: the caller names itself in an `Authorization` header
//! (`digest user:password`, or `ip` for its address) and must be granted every
//! permission on `/` (401 without or with bad credentials, 403 without the grant); one
//! snapshot per `admin.rateLimiterIntervalInMS` (5 minutes), others answer 429; 503
//! when `admin.snapshot.enabled` is false;
//! `?streaming=false` takes the snapshot without sending it. The answer carries the
//! headers `last_zxid` (`0x` + hex) and `snapshot_size`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferrokeeper_protocol::records::Id;
use ferrokeeper_protocol::Perms;
use parking_lot::Mutex;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::auth::AuthIds;
use crate::pipeline::Work;
use crate::shared::Shared;

/// Bytes read from the snapshot file per chunk of the streamed body.
const CHUNK: usize = 64 * 1024;

struct SnapshotCommand {
    shared: Arc<Shared>,
    /// When the last snapshot was allowed (ZooKeeper's RateLimiter with one permit).
    last_allowed: Mutex<Option<Instant>>,
}

pub fn router(shared: Arc<Shared>) -> Router {
    let command = Arc::new(SnapshotCommand {
        shared,
        last_allowed: Mutex::new(None),
    });
    Router::new()
        .route("/commands/snapshot", get(run))
        .route("/commands/snap", get(run))
        .with_state(command)
}

async fn run(
    State(command): State<Arc<SnapshotCommand>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Errors before the command runs name it as asked; its own answers by its
    // primary name, as ZooKeeper's CommandResponse does.
    let asked = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("snapshot")
        .to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err((status, error)) = authorize(&command.shared, authorization, peer.ip()) {
        tracing::warn!(peer = %peer, error, "snapshot command refused");
        return json_answer(status, &asked, Some(error), None);
    }
    if !command.shared.config.admin_snapshot_enabled {
        tracing::warn!(peer = %peer, "Snapshot command is disabled");
        return json_answer(StatusCode::SERVICE_UNAVAILABLE, "snapshot", None, None);
    }
    if !command.allow() {
        tracing::warn!(peer = %peer, "Snapshot request was rate limited");
        return json_answer(StatusCode::TOO_MANY_REQUESTS, "snapshot", None, None);
    }
    let streaming = query_flag(&uri, "streaming").unwrap_or(true);
    let (done, taken) = tokio::sync::oneshot::channel();
    if command
        .shared
        .submit(Work::Snapshot { done })
        .await
        .is_err()
    {
        return server_error("the server is shutting down");
    }
    let info = match taken.await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => return server_error(&e),
        Err(_) => return server_error("the server is shutting down"),
    };
    tracing::info!(peer = %peer, path = %info.path.display(), streaming, "snapshot taken on request");
    let headers = [
        ("last_zxid", format!("0x{:x}", info.zxid)),
        ("snapshot_size", info.file_len.to_string()),
    ];
    if !streaming {
        return json_answer(StatusCode::OK, "snapshot", None, Some(headers));
    }
    match tokio::fs::File::open(&info.path).await {
        Ok(file) => (
            [(header::CONTENT_TYPE, "application/octet-stream".to_owned())],
            headers,
            Body::from_stream(file_chunks(file)),
        )
            .into_response(),
        Err(e) => server_error(&format!("cannot open {}: {e}", info.path.display())),
    }
}

impl SnapshotCommand {
    fn allow(&self) -> bool {
        let interval = Duration::from_millis(self.shared.config.admin_rate_limiter_interval_ms);
        let mut last = self.last_allowed.lock();
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < interval) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// ZooKeeper's Commands.handleAuthentication and handleAuthorization: the
/// `Authorization` header is `<scheme> [<auth data>]`; the identities it proves must be
/// granted each bit of ALL by the ACL of `/`.
fn authorize(
    shared: &Shared,
    authorization: Option<&str>,
    peer: IpAddr,
) -> Result<(), (StatusCode, &'static str)> {
    let not_authenticated = (StatusCode::UNAUTHORIZED, "Not authenticated");
    let Some(authorization) = authorization else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "Auth info is missing for the command",
        ));
    };
    let parts: Vec<&str> = authorization.split(' ').collect();
    let ids = match parts.as_slice() {
        ["ip"] | ["ip", _] => vec![Id {
            scheme: "ip".into(),
            id: peer.to_string(),
        }],
        [scheme, credentials] => crate::auth::authenticate(
            scheme,
            credentials.as_bytes(),
            shared.config.super_digest.as_deref(),
        )
        .map_err(|_| not_authenticated)?,
        _ => return Err(not_authenticated),
    };
    let mut caller = AuthIds::default();
    for id in ids {
        caller.add(id);
    }
    let root_acl = shared
        .tree
        .read()
        .get("/")
        .map(|root| root.acl.to_vec())
        .unwrap_or_default();
    let granted = [
        Perms::READ,
        Perms::WRITE,
        Perms::CREATE,
        Perms::DELETE,
        Perms::ADMIN,
    ]
    .into_iter()
    .all(|perm| caller.allows(&root_acl, perm));
    match granted {
        true => Ok(()),
        false => Err((StatusCode::FORBIDDEN, "Not authorized")),
    }
}

/// A query parameter read as Java's Boolean.parseBoolean reads it ("true" in any case
/// is true, anything else false); `None` when absent.
fn query_flag(uri: &Uri, name: &str) -> Option<bool> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.eq_ignore_ascii_case("true"))
}

/// ZooKeeper's JSON answer: `command` and `error`, with a status and extra headers.
fn json_answer(
    status: StatusCode,
    command: &str,
    error: Option<&str>,
    headers: Option<[(&'static str, String); 2]>,
) -> Response {
    let body = json!({ "command": command, "error": error });
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], text).into_response();
    for (name, value) in headers.into_iter().flatten() {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn server_error(reason: &str) -> Response {
    tracing::warn!(reason, "snapshot command failed");
    json_answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        "snapshot",
        Some(reason),
        None,
    )
}

/// The file's bytes, a chunk at a time.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut chunk = bytes::BytesMut::with_capacity(CHUNK);
        let read = file.read_buf(&mut chunk).await?;
        Ok((read > 0).then(|| (chunk.freeze(), file)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_is_read_as_java_reads_booleans() {
        let uri = |q: &str| format!("/commands/snapshot{q}").parse::<Uri>().unwrap();
        assert_eq!(query_flag(&uri(""), "streaming"), None);
        assert_eq!(
            query_flag(&uri("?streaming=false"), "streaming"),
            Some(false)
        );
        assert_eq!(query_flag(&uri("?streaming=TRUE"), "streaming"), Some(true));
        assert_eq!(
            query_flag(&uri("?x=1&streaming=no"), "streaming"),
            Some(false)
        );
        assert_eq!(query_flag(&uri("?streaming"), "streaming"), Some(false));
    }
}
