//! Request statistics, server-wide and per connection, as the four-letter words
//! (`srvr`, `mntr`, `cons`), the AdminServer and the metrics endpoint report them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use ferrokeeper_protocol::OpCode;
use parking_lot::Mutex;

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

    /// Forgets everything recorded (`srst`, `crst`).
    pub fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        self.total_us.store(0, Ordering::Relaxed);
        self.min_us.store(u64::MAX, Ordering::Relaxed);
        self.max_us.store(0, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of all latencies in milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.total_us.load(Ordering::Relaxed) as f64 / 1000.0
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

/// Sizes of the replies sent to clients, header included, length prefix not (ZooKeeper's
/// BufferStats: `last_`/`min_`/`max_client_response_size`, -1 before the first).
pub struct ResponseSizes {
    last: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for ResponseSizes {
    fn default() -> Self {
        ResponseSizes {
            last: AtomicI64::new(-1),
            min: AtomicI64::new(-1),
            max: AtomicI64::new(-1),
        }
    }
}

impl ResponseSizes {
    pub fn record(&self, size: usize) {
        let size = size as i64;
        self.last.store(size, Ordering::Relaxed);
        let _ = self
            .min
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |min| {
                (min < 0 || size < min).then_some(size)
            });
        self.max.fetch_max(size, Ordering::Relaxed);
    }

    /// (last, min, max).
    pub fn read(&self) -> (i64, i64, i64) {
        (
            self.last.load(Ordering::Relaxed),
            self.min.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }

    /// `srst`.
    pub fn reset(&self) {
        for value in [&self.last, &self.min, &self.max] {
            value.store(-1, Ordering::Relaxed);
        }
    }
}

/// What `cons` reports about one connection besides its packet counts.
pub struct ConnStats {
    /// When the connection was accepted (ms since the epoch).
    pub established_ms: u64,
    last_op: Mutex<&'static str>,
    last_cxid: AtomicI64,
    last_zxid: AtomicI64,
    last_response_ms: AtomicU64,
    last_latency_ms: AtomicU64,
    pub latency: Latency,
}

impl ConnStats {
    pub fn new(established_ms: u64) -> Self {
        ConnStats {
            established_ms,
            last_op: Mutex::new("NA"),
            last_cxid: AtomicI64::new(-1),
            last_zxid: AtomicI64::new(-1),
            last_response_ms: AtomicU64::new(0),
            last_latency_ms: AtomicU64::new(0),
            latency: Latency::default(),
        }
    }

    /// A request arrived: its op (ZooKeeper's four-letter op names) and xid.
    pub fn request(&self, op: &'static str, xid: i32) {
        *self.last_op.lock() = op;
        if xid >= 0 {
            self.last_cxid.store(xid as i64, Ordering::Relaxed);
        }
    }

    /// A request was answered.
    pub fn answered(&self, latency: Duration, zxid: i64, now_ms: u64) {
        self.latency.record(latency);
        self.last_zxid.store(zxid, Ordering::Relaxed);
        self.last_response_ms.store(now_ms, Ordering::Relaxed);
        self.last_latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// `crst`: ZooKeeper's ServerCnxn.resetStats.
    pub fn reset(&self) {
        self.latency.reset();
        *self.last_op.lock() = "NA";
        self.last_cxid.store(-1, Ordering::Relaxed);
        self.last_zxid.store(-1, Ordering::Relaxed);
        self.last_response_ms.store(0, Ordering::Relaxed);
        self.last_latency_ms.store(0, Ordering::Relaxed);
    }

    pub fn last_op(&self) -> &'static str {
        *self.last_op.lock()
    }

    pub fn last_cxid(&self) -> i64 {
        self.last_cxid.load(Ordering::Relaxed)
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::Relaxed)
    }

    pub fn last_response_ms(&self) -> u64 {
        self.last_response_ms.load(Ordering::Relaxed)
    }

    pub fn last_latency_ms(&self) -> u64 {
        self.last_latency_ms.load(Ordering::Relaxed)
    }
}

/// The name ZooKeeper's `cons` gives a request's op (`lop=`).
pub fn op_name(op: OpCode) -> &'static str {
    match op {
        OpCode::Ping => "PING",
        OpCode::CreateSession => "SESS",
        OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => "CREA",
        OpCode::Delete | OpCode::DeleteContainer => "DELE",
        OpCode::SetData => "SETD",
        OpCode::GetData => "GETD",
        OpCode::Exists => "EXIS",
        OpCode::GetChildren | OpCode::GetChildren2 => "GETC",
        OpCode::SetAcl => "SETA",
        OpCode::GetAcl => "GETA",
        OpCode::Sync => "SYNC",
        OpCode::Check => "CHEC",
        OpCode::Multi => "MULT",
        OpCode::MultiRead => "MLTR",
        OpCode::SetWatches | OpCode::SetWatches2 => "SETW",
        OpCode::AddWatch => "ADDW",
        OpCode::CheckWatches => "CHKW",
        OpCode::RemoveWatches => "REMW",
        OpCode::GetEphemerals => "GETE",
        OpCode::GetAllChildrenNumber => "GETACN",
        OpCode::WhoAmI => "HOMI",
        OpCode::Reconfig => "RECO",
        OpCode::CloseSession => "CLOS",
        OpCode::Auth => "AUTH",
        OpCode::Sasl => "SASL",
        OpCode::Notification | OpCode::Error => "NA",
    }
}

/// Open file descriptors of this process and its limit (`zk_open_file_descriptor_count`,
/// `zk_max_file_descriptor_count`), from /proc; `None` where /proc is missing.
pub fn file_descriptors() -> Option<(u64, u64)> {
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let max = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some((open, max))
}

/// A double as Java prints it after ZooKeeper rounds it to four decimals: `0.0`,
/// `4.8571`, `12.5`.
pub fn java_double(value: f64) -> String {
    let rounded = (value * 10_000.0).round() / 10_000.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.1}")
    } else {
        let text = format!("{rounded:.4}");
        text.trim_end_matches('0').to_owned()
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
        latency.reset();
        assert_eq!(latency.min_avg_max_ms(), (0, 0.0, 0));
    }

    #[test]
    fn response_sizes_start_at_minus_one() {
        let sizes = ResponseSizes::default();
        assert_eq!(sizes.read(), (-1, -1, -1));
        sizes.record(88);
        sizes.record(16);
        sizes.record(40);
        assert_eq!(sizes.read(), (40, 16, 88));
        sizes.reset();
        assert_eq!(sizes.read(), (-1, -1, -1));
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(4.0), "4.0");
        assert_eq!(java_double(20.0 / 3.0), "6.6667");
        assert_eq!(java_double(12.5), "12.5");
    }

    #[test]
    fn file_descriptors_come_from_proc() {
        let (open, max) = file_descriptors().expect("/proc");
        assert!(open > 0 && max >= open, "{open} {max}");
    }
}
