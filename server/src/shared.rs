//! State shared by every task of a running server.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ferrokeeper_storage::env::fault::Faults as DiskFaults;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::net::conn::{Conn, ConnRegistry};
use crate::net::stall::Stall;
use crate::pipeline::Work;
use crate::session::SessionIds;
use crate::state_machine::tree::DataTree;
use crate::state_machine::SessionTable;
use crate::watch::WatchManager;

pub struct Shared {
    pub config: Config,
    /// Readers share it; only the pipeline writes, one batch at a time.
    pub tree: RwLock<DataTree>,
    /// Locked after `tree` when both are needed.
    pub watches: Mutex<WatchManager>,
    pub sessions: SessionTable,
    session_ids: SessionIds,
    pub conns: ConnRegistry,
    work: mpsc::Sender<Work>,
    /// The last applied zxid, readable without the tree lock.
    last_zxid: AtomicI64,
    pub packets_received: AtomicU64,
    pub latency: crate::stats::Latency,
    pub started_ms: u64,
    /// Replies sent by connections that have closed (live ones count their own).
    closed_sent: AtomicU64,
    /// What `srst` subtracts from the packets sent.
    sent_baseline: AtomicU64,
    /// Connections refused by maxClientCnxns (`zk_connection_rejected`).
    pub connections_rejected: AtomicU64,
    /// ZooKeeper's summaries: fsync, snapshot and request latencies, batch sizes.
    pub metrics: crate::summaries::Summaries,
    /// Auth packets answered AuthFailed (`zk_auth_failed_count`).
    pub auth_failed: AtomicU64,
    /// Group commits slower than fsync.warningthresholdms.
    pub fsync_threshold_exceeded: AtomicU64,
    /// Open client connections per client IP, for maxClientCnxns.
    per_ip: Mutex<crate::state_machine::tree::FastMap<IpAddr, usize>>,
    /// The server is stopping: connections take no new requests.
    draining: AtomicBool,
    /// Set only by a test fixture's fault injection.
    pub stall: Stall,
    /// The switches of the disk under the log, with `ferrokeeper.testing.faults`.
    pub disk_faults: Option<Arc<DiskFaults>>,
}

/// The pipeline has stopped: the server is shutting down.
#[derive(Debug)]
pub struct PipelineClosed;

impl Shared {
    pub fn new(
        config: Config,
        tree: DataTree,
        sessions: SessionTable,
        work: mpsc::Sender<Work>,
        now_ms: u64,
    ) -> Self {
        Shared {
            config,
            last_zxid: AtomicI64::new(tree.last_zxid()),
            tree: RwLock::new(tree),
            watches: Mutex::new(WatchManager::default()),
            sessions,
            session_ids: SessionIds::starting_at(now_ms),
            conns: ConnRegistry::default(),
            work,
            packets_received: AtomicU64::new(0),
            latency: crate::stats::Latency::default(),
            started_ms: now_ms,
            closed_sent: AtomicU64::new(0),
            sent_baseline: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            metrics: Default::default(),
            auth_failed: AtomicU64::new(0),
            fsync_threshold_exceeded: AtomicU64::new(0),
            per_ip: Mutex::new(Default::default()),
            draining: AtomicBool::new(false),
            stall: Stall::default(),
            disk_faults: None,
        }
    }

    /// The log runs on a fault-injecting disk controlled by `faults`.
    pub fn with_disk_faults(mut self, faults: Option<Arc<DiskFaults>>) -> Self {
        self.disk_faults = faults;
        self
    }

    pub async fn submit(&self, work: Work) -> Result<(), PipelineClosed> {
        self.work.send(work).await.map_err(|_| PipelineClosed)
    }

    /// From now on connections read no new requests ([`crate::Server::drain`]).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::Acquire)
    }

    pub fn set_last_zxid(&self, zxid: i64) {
        self.last_zxid.store(zxid, Ordering::Release);
    }

    /// A session that exists and is not being closed.
    pub fn session_is_live(&self, id: i64) -> bool {
        self.sessions.get(id).is_some_and(|s| !s.is_closing())
    }

    /// A session id no live session uses.
    pub fn new_session_id(&self) -> i64 {
        loop {
            let id = self.session_ids.next();
            if !self.sessions.contains(id) {
                return id;
            }
        }
    }

    /// A request has been answered: server-wide and per-connection latency, and
    /// ZooKeeper's `updatelatency` (writes) or `readlatency` (everything else).
    pub fn record_answer(&self, conn: &Conn, received: Instant, write: bool) {
        let latency = received.elapsed();
        self.latency.record(latency);
        let kind = match write {
            true => &self.metrics.update_latency_ms,
            false => &self.metrics.read_latency_ms,
        };
        kind.record(latency.as_millis() as u64);
        conn.stats
            .answered(latency, self.last_zxid(), crate::time::now_ms());
    }

    /// Packets sent to clients since start (or the last `srst`), as `srvr` reports.
    pub fn packets_sent(&self) -> u64 {
        let live: u64 = self
            .conns
            .all()
            .iter()
            .map(|c| c.sent.load(Ordering::Relaxed))
            .sum();
        (self.closed_sent.load(Ordering::Relaxed) + live)
            .saturating_sub(self.sent_baseline.load(Ordering::Relaxed))
    }

    /// A four-letter word's answer went out: ZooKeeper counts it as a packet sent.
    pub fn count_four_letter_answer(&self) {
        self.closed_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests handed to the pipeline and not answered yet, over all connections.
    pub fn outstanding_requests(&self) -> u64 {
        self.conns.in_flight() as u64
    }

    /// `srst`: ZooKeeper's ServerStats.reset (latency, packet counts, response sizes,
    /// summaries).
    pub fn reset_server_stats(&self) {
        self.latency.reset();
        self.metrics.reset();
        self.conns.response_sizes.reset();
        self.packets_received.store(0, Ordering::Relaxed);
        let live: u64 = self
            .conns
            .all()
            .iter()
            .map(|c| c.sent.load(Ordering::Relaxed))
            .sum();
        self.sent_baseline.store(
            self.closed_sent.load(Ordering::Relaxed) + live,
            Ordering::Relaxed,
        );
    }

    /// `crst`: every connection's counters and latency start again.
    pub fn reset_connection_stats(&self) {
        for conn in self.conns.all() {
            // Keep the server-wide total: what it sent moves to the closed count.
            let sent = conn.sent.swap(0, Ordering::Relaxed);
            self.closed_sent.fetch_add(sent, Ordering::Relaxed);
            conn.received.store(0, Ordering::Relaxed);
            conn.stats.reset();
        }
    }

    /// A client connection from `ip` opens; false (and nothing counted) when that IP
    /// already has `maxClientCnxns` (0 = no limit).
    pub fn admit_connection(&self, ip: IpAddr) -> bool {
        let limit = self.config.max_client_cnxns;
        let mut per_ip = self.per_ip.lock();
        let open = per_ip.entry(ip).or_insert(0);
        if limit > 0 && *open >= limit {
            if *open == 0 {
                per_ip.remove(&ip);
            }
            self.connections_rejected.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *open += 1;
        true
    }

    /// A connection admitted by [`Self::admit_connection`] has closed.
    pub fn release_connection(&self, ip: IpAddr, conn: Option<&Conn>) {
        if let Some(conn) = conn {
            self.closed_sent
                .fetch_add(conn.sent.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        let mut per_ip = self.per_ip.lock();
        if let Some(open) = per_ip.get_mut(&ip) {
            *open -= 1;
            if *open == 0 {
                per_ip.remove(&ip);
            }
        }
    }

    /// Clamps a requested session timeout to [minSessionTimeout, maxSessionTimeout].
    pub fn negotiate_timeout(&self, requested: i32) -> i32 {
        requested.clamp(
            self.config.min_session_timeout_ms(),
            self.config.max_session_timeout_ms(),
        )
    }
}
