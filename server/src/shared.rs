//! State shared by every task of a running server.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::net::conn::ConnRegistry;
use crate::pipeline::Work;
use crate::session::{SessionIds, SessionTable};
use crate::tree::DataTree;
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
        }
    }

    pub async fn submit(&self, work: Work) -> Result<(), PipelineClosed> {
        self.work.send(work).await.map_err(|_| PipelineClosed)
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

    /// Clamps a requested session timeout to [minSessionTimeout, maxSessionTimeout].
    pub fn negotiate_timeout(&self, requested: i32) -> i32 {
        requested.clamp(
            self.config.min_session_timeout_ms(),
            self.config.max_session_timeout_ms(),
        )
    }
}
