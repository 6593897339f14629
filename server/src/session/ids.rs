//! Session ids and passwords.

use std::sync::atomic::{AtomicI64, Ordering};

use rand::RngCore;

use crate::state_machine::PASSWORD_LEN;

/// Hands out session ids the way ZooKeeper's SessionTrackerImpl does: the server id in
/// the top byte, start time in milliseconds below it, then +1 per session. The top byte
/// (1) keeps ids clear of the container (i64::MIN) and TTL (0xFF..) owner markers.
pub struct SessionIds {
    next: AtomicI64,
}

const SERVER_ID: i64 = 1;

impl SessionIds {
    pub fn starting_at(now_ms: u64) -> Self {
        let base = (((now_ms as i64) << 24) as u64 >> 8) as i64 | (SERVER_ID << 56);
        SessionIds {
            next: AtomicI64::new(base),
        }
    }

    pub fn next(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

/// A random password. ZooKeeper derives it from the session id with a fixed seed;
/// random bytes cannot be guessed from the id, and clients treat them as opaque.
pub fn new_password() -> [u8; PASSWORD_LEN] {
    let mut password = [0u8; PASSWORD_LEN];
    rand::thread_rng().fill_bytes(&mut password);
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_and_increase() {
        let ids = SessionIds::starting_at(1_700_000_000_000);
        let a = ids.next();
        assert_eq!(a >> 56, SERVER_ID);
        assert_eq!(ids.next(), a + 1);
    }
}
