//! A stall injected by a test fixture: the server keeps its connections open but
//! takes no request (nor handshake) until the stall ends — what clients see of a
//! server paused by a long GC or a SIGSTOP. Never set in normal operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::time::now_ms;

#[derive(Default)]
pub struct Stall {
    /// Wall-clock milliseconds until which nothing is taken; 0 when not stalled.
    until_ms: AtomicU64,
}

impl Stall {
    /// Stalls for `duration` from now (extending a stall already running).
    pub fn stall_for(&self, duration: Duration) {
        let until = now_ms().saturating_add(duration.as_millis() as u64);
        self.until_ms.fetch_max(until, Ordering::AcqRel);
    }

    /// Returns once no stall is running.
    pub async fn wait(&self) {
        loop {
            let until = self.until_ms.load(Ordering::Acquire);
            let now = now_ms();
            if until <= now {
                return;
            }
            tokio::time::sleep(Duration::from_millis(until - now)).await;
        }
    }
}
