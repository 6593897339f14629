//! Server-wide request statistics, as the `srvr`/`mntr` four-letter words report them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency of answered client requests, from receipt to reply queued.
pub struct Latency {
    count: AtomicU64,
    total_us: AtomicU64,
    min_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            count: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Latency {
    pub fn record(&self, latency: Duration) {
        let us = latency.as_micros().min(u64::MAX as u128) as u64;
        self.count.fetch_add(1, Ordering::Relaxed);
        self.total_us.fetch_add(us, Ordering::Relaxed);
        self.min_us.fetch_min(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// (min, avg, max) in milliseconds, ZooKeeper's units; zeros before any request.
    pub fn min_avg_max_ms(&self) -> (u64, f64, u64) {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return (0, 0.0, 0);
        }
        let total = self.total_us.load(Ordering::Relaxed) as f64;
        (
            self.min_us.load(Ordering::Relaxed) / 1000,
            total / count as f64 / 1000.0,
            self.max_us.load(Ordering::Relaxed) / 1000,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_min_avg_max_in_milliseconds() {
        let latency = Latency::default();
        assert_eq!(latency.min_avg_max_ms(), (0, 0.0, 0));
        latency.record(Duration::from_millis(2));
        latency.record(Duration::from_millis(6));
        assert_eq!(latency.min_avg_max_ms(), (2, 4.0, 6));
    }
}
