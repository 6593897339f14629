//! The session table: created and closed only by applied transactions. Each session
//! also carries its expiry clock, which the server holding the session advances.
//! Which connection serves a session is the network's business, not the state
//! machine's.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::tree::FastMap;

pub const PASSWORD_LEN: usize = 16;

pub struct Session {
    pub id: i64,
    pub password: [u8; PASSWORD_LEN],
    timeout_ms: AtomicI32,
    /// Milliseconds since the Unix epoch after which the session is expired.
    deadline_ms: AtomicU64,
    /// Set once expiry or closeSession has been decided; requests then get SessionExpired.
    closing: AtomicBool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(0x{:x}, {}ms)", self.id, self.timeout_ms())
    }
}

/// When a session touched at `now_ms` expires. A timeout read from a damaged file may
/// be negative: it counts as zero.
fn deadline(now_ms: u64, timeout_ms: i32) -> u64 {
    now_ms.saturating_add(timeout_ms.max(0) as u64)
}

impl Session {
    pub fn new(id: i64, password: [u8; PASSWORD_LEN], timeout_ms: i32, now_ms: u64) -> Self {
        Session {
            id,
            password,
            timeout_ms: AtomicI32::new(timeout_ms),
            deadline_ms: AtomicU64::new(deadline(now_ms, timeout_ms)),
            closing: AtomicBool::new(false),
        }
    }

    pub fn timeout_ms(&self) -> i32 {
        self.timeout_ms.load(Ordering::Relaxed)
    }

    /// Any packet from the client keeps the session alive for another timeout.
    pub fn touch(&self, now_ms: u64) {
        let deadline = deadline(now_ms, self.timeout_ms());
        self.deadline_ms.fetch_max(deadline, Ordering::Relaxed);
    }

    /// A reconnect may renegotiate the timeout.
    pub fn revalidate(&self, timeout_ms: i32, now_ms: u64) {
        self.timeout_ms.store(timeout_ms, Ordering::Relaxed);
        self.deadline_ms
            .store(deadline(now_ms, timeout_ms), Ordering::Relaxed);
    }

    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms.load(Ordering::Relaxed)
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Marks the session as closing; true for the caller that did it first.
    pub fn start_closing(&self) -> bool {
        !self.closing.swap(true, Ordering::AcqRel)
    }

    /// Undoes [`Self::start_closing`] when the close could not be logged.
    pub fn cancel_closing(&self) {
        self.closing.store(false, Ordering::Release);
    }
}

#[derive(Default)]
pub struct SessionTable {
    sessions: RwLock<FastMap<i64, Arc<Session>>>,
}

impl SessionTable {
    pub fn get(&self, id: i64) -> Option<Arc<Session>> {
        self.sessions.read().get(&id).cloned()
    }

    pub fn insert(&self, session: Arc<Session>) {
        self.sessions.write().insert(session.id, session);
    }

    pub fn remove(&self, id: i64) -> Option<Arc<Session>> {
        self.sessions.write().remove(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.sessions.read().contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.sessions.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sessions whose deadline has passed and that are not already closing.
    pub fn expired(&self, now_ms: u64) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .values()
            .filter(|s| s.deadline_ms() <= now_ms && !s.is_closing())
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Arc<Session>> {
        self.sessions.read().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `zookeeper_files` fuzz target (its corpus keeps the input,
    /// `negative-session-timeout`): a createSession with timeout -1, replayed at time 1,
    /// overflowed the deadline's u64 addition.
    #[test]
    fn a_negative_timeout_counts_as_zero_instead_of_overflowing() {
        let session = Session::new(1, [0; PASSWORD_LEN], -1, 1);
        assert_eq!(session.deadline_ms(), 1);
        session.touch(5);
        assert_eq!(session.deadline_ms(), 5);
        session.revalidate(i32::MIN, 7);
        assert_eq!(session.deadline_ms(), 7);
    }

    #[test]
    fn a_deadline_past_the_end_of_time_saturates() {
        let session = Session::new(1, [0; PASSWORD_LEN], i32::MAX, u64::MAX - 1);
        assert_eq!(session.deadline_ms(), u64::MAX);
    }
}
