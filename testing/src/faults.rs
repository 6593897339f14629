//! Faults on demand, for testing how a client copes: what Curator's TestingServer
//! users emulate with sleeps and kills. The server's own fault injection
//! ([`ferrokeeper::faults`]), run on the fixture's runtime.

use std::future::Future;
use std::time::Duration;

use ferrokeeper::faults;

use crate::server::{FixtureError, TestServer};

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
        let shared = self.running()?.shared.clone();
        Ok(self.on_server(async move { faults::expire_session(&shared, session_id).await })??)
    }

    /// Closes every client connection; the sessions live on, so clients reconnect
    /// and keep them. Returns how many were closed.
    pub fn drop_connections(&self) -> Result<usize, FixtureError> {
        Ok(faults::drop_connections(&self.running()?.shared))
    }

    /// Closes the connection serving one session (which lives on); false if no
    /// connection serves it.
    pub fn drop_session_connection(&self, session_id: i64) -> Result<bool, FixtureError> {
        Ok(faults::drop_session_connection(
            &self.running()?.shared,
            session_id,
        ))
    }

    /// Stops answering for `duration`, connections kept open — what clients see of a
    /// server in a long GC pause. Requests taken meanwhile are answered afterwards,
    /// in order; sessions whose clients cannot ping for their timeout may expire.
    pub fn stall(&self, duration: Duration) -> Result<(), FixtureError> {
        faults::stall(&self.running()?.shared, duration);
        Ok(())
    }

    /// The log's next `n` fsyncs fail (EIO): the writes of those batches are answered
    /// `SystemError` and never applied, reads go on, and writes resume by themselves.
    pub fn fail_next_fsyncs(&self, n: u32) -> Result<(), FixtureError> {
        faults::disk(&self.running()?.shared)?.fail_next_syncs(n);
        Ok(())
    }

    /// Every fsync of the log takes `delay` longer (a slow disk; `Duration::ZERO`
    /// ends it): writes are answered that much later, reads are not held up.
    pub fn slow_fsyncs(&self, delay: Duration) -> Result<(), FixtureError> {
        faults::disk(&self.running()?.shared)?.set_sync_delay(delay);
        Ok(())
    }

    /// The log's disk is full (ENOSPC on every write) until called with `false`:
    /// writes are answered `SystemError`, and resume once there is room again.
    pub fn disk_full(&self, full: bool) -> Result<(), FixtureError> {
        faults::disk(&self.running()?.shared)?.set_disk_full(full);
        Ok(())
    }

    /// Runs `task` on the server's runtime and waits for it, from any caller (a
    /// synchronous test, or another runtime).
    fn on_server<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, FixtureError> {
        let (done, result) = std::sync::mpsc::channel();
        self.running()?.runtime.spawn(async move {
            let _ = done.send(task.await);
        });
        result.recv().map_err(|_| FixtureError::NotRunning)
    }
}
