//! Faults a test injects on demand — a session expired now, connections dropped, a
//! stalled server, a slow, failing or full disk under the log. Used by the Rust
//! fixture (`ferrokeeper-testing`) and, for other languages, by the AdminServer's
//! `/faults/…` endpoint; both exist only with `ferrokeeper.testing.faults=true`,
//! which is never for production (anyone who reaches the AdminServer could use them).

use std::sync::Arc;
use std::time::Duration;

use ferrokeeper_storage::env::fault::Faults as DiskFaults;

use crate::session::expiry;
use crate::shared::Shared;

/// How long an expiry may take to go through the pipeline.
const EXPIRY_BOUND: Duration = Duration::from_secs(10);

/// Why a fault could not be injected.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the expiry was not applied within {0:?}")]
    NotApplied(Duration),
    #[error(
        "the server runs in memory, or without ferrokeeper.testing.faults: it has no disk to fault"
    )]
    NoDisk,
}

/// Expires a session now, as if its timeout had passed; returns once the expiry is
/// applied (its ephemerals gone, their watches fired). False if there is no such
/// session.
pub async fn expire_session(shared: &Shared, session_id: i64) -> Result<bool, FaultError> {
    let Some(session) = shared.sessions.get(session_id) else {
        return Ok(false);
    };
    let applied = async {
        expiry::expire(shared, &session)
            .await
            .map_err(|_| FaultError::ShuttingDown)?;
        while shared.sessions.contains(session_id) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(true)
    };
    tokio::time::timeout(EXPIRY_BOUND, applied)
        .await
        .map_err(|_| FaultError::NotApplied(EXPIRY_BOUND))?
}

/// Closes every client connection (the sessions live on); returns how many.
pub fn drop_connections(shared: &Shared) -> usize {
    let conns = shared.conns.all();
    for conn in &conns {
        conn.out.close_now();
    }
    conns.len()
}

/// Closes the connection serving one session (which lives on); false if none does.
pub fn drop_session_connection(shared: &Shared, session_id: i64) -> bool {
    let conn = shared.conns.serving(session_id);
    if let Some(conn) = &conn {
        conn.out.close_now();
    }
    conn.is_some()
}

/// Takes no request for `duration`, connections kept open (a long GC pause).
pub fn stall(shared: &Shared, duration: Duration) {
    shared.stall.stall_for(duration);
}

/// The switches of the disk under the log: the next fsyncs fail, every fsync is
/// slow, the disk is full.
pub fn disk(shared: &Shared) -> Result<&Arc<DiskFaults>, FaultError> {
    shared.disk_faults.as_ref().ok_or(FaultError::NoDisk)
}
