//! Faults on demand, for testing how a client copes: what Curator's TestingServer
//! users emulate with sleeps and kills.

use std::time::Duration;

use ferrokeeper::session::expiry;

use crate::server::{FixtureError, TestServer};

/// How long an expiry may take to go through the server's pipeline.
const EXPIRY_BOUND: Duration = Duration::from_secs(10);

impl TestServer {
    /// The ids of the sessions the server holds.
    pub fn session_ids(&self) -> Result<Vec<i64>, FixtureError> {
        let shared = &self.running()?.shared;
        Ok(shared.sessions.all().iter().map(|s| s.id).collect())
    }

    /// Expires a session now, as if its timeout had passed: its ephemerals are
    /// deleted (firing their watches), and its client is told `Expired` at once.
    /// Returns once the expiry is applied; false if there was no such session.
    pub fn expire_session(&self, session_id: i64) -> Result<bool, FixtureError> {
        let running = self.running()?;
        let Some(session) = running.shared.sessions.get(session_id) else {
            return Ok(false);
        };
        let shared = running.shared.clone();
        let (done, applied) = std::sync::mpsc::channel();
        running.runtime.spawn(async move {
            let expired = async {
                expiry::expire(&shared, &session).await.ok()?;
                while shared.sessions.contains(session.id) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Some(())
            };
            let _ = done.send(tokio::time::timeout(EXPIRY_BOUND, expired).await);
        });
        match applied.recv() {
            Ok(Ok(Some(()))) => Ok(true),
            _ => Err(FixtureError::NotRunning),
        }
    }

    /// Closes every client connection; the sessions live on, so clients reconnect
    /// and keep them. Returns how many were closed.
    pub fn drop_connections(&self) -> Result<usize, FixtureError> {
        let conns = self.running()?.shared.conns.all();
        for conn in &conns {
            conn.out.close_now();
        }
        Ok(conns.len())
    }

    /// Closes the connection serving one session (which lives on); false if no
    /// connection serves it.
    pub fn drop_session_connection(&self, session_id: i64) -> Result<bool, FixtureError> {
        let conn = self.running()?.shared.conns.serving(session_id);
        if let Some(conn) = &conn {
            conn.out.close_now();
        }
        Ok(conn.is_some())
    }

    /// Stops answering for `duration`, connections kept open — what clients see of a
    /// server in a long GC pause. Requests taken meanwhile are answered afterwards,
    /// in order; sessions whose clients cannot ping for their timeout may expire.
    pub fn stall(&self, duration: Duration) -> Result<(), FixtureError> {
        self.running()?.shared.stall.stall_for(duration);
        Ok(())
    }

    /// The log's next `n` fsyncs fail (EIO): the writes of those batches are answered
    /// `SystemError` and never applied, reads go on, and writes resume by themselves.
    pub fn fail_next_fsyncs(&self, n: u32) -> Result<(), FixtureError> {
        self.disk_faults()?.fail_next_syncs(n);
        Ok(())
    }

    /// Every fsync of the log takes `delay` longer (a slow disk; `Duration::ZERO`
    /// ends it): writes are answered that much later, reads are not held up.
    pub fn slow_fsyncs(&self, delay: Duration) -> Result<(), FixtureError> {
        self.disk_faults()?.set_sync_delay(delay);
        Ok(())
    }

    /// The log's disk is full (ENOSPC on every write) until called with `false`:
    /// writes are answered `SystemError`, and resume once there is room again.
    pub fn disk_full(&self, full: bool) -> Result<(), FixtureError> {
        self.disk_faults()?.set_disk_full(full);
        Ok(())
    }
}
