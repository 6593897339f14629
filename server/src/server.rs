//! Starting a server: bind, recover from the data directories, then run the listener,
//! the pipeline, session expiry, the reaper and the purge timer as tasks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferrokeeper_storage::env::fault::FaultyFileSystem;
use ferrokeeper_storage::env::{FileSystem, StdFileSystem};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use crate::config::Config;
use crate::persist::durability::{purge_old_files, Durability};
use crate::persist::recovery::{recover, Dirs, RecoveryError};
use crate::shared::Shared;
use crate::state_machine::tree::DataTree;
use crate::state_machine::SessionTable;
use crate::{net, pipeline, reaper, session};

/// Bounded so a flood of writes pushes back on the connections producing it.
const PIPELINE_QUEUE: usize = 16 * 1024;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot recover from the data directory: {0}")]
    Recovery(#[from] RecoveryError),
    #[error("cannot start the transaction log: {0}")]
    Log(#[from] ferrokeeper_storage::Error),
}

/// Why a running server stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error("the transaction log failed: {0}")]
    Log(#[from] ferrokeeper_storage::Error),
    #[error("a server task ended unexpectedly")]
    TaskEnded,
}

/// A running server. Dropping it stops every task.
pub struct Server {
    pub addr: SocketAddr,
    /// Where the AdminServer listens, when it is enabled and could bind.
    pub admin_addr: Option<SocketAddr>,
    /// Where `/metrics` is served, when the Prometheus provider is configured.
    pub metrics_addr: Option<SocketAddr>,
    pub shared: Arc<Shared>,
    tasks: JoinSet<Result<(), Stopped>>,
    /// The accept loop, stopped first when draining.
    listener: AbortHandle,
}

impl Server {
    pub async fn start(config: Config) -> Result<Server, StartError> {
        // The port first, as ZooKeeper binds it before loading its data: a server
        // started by mistake beside a running one fails before touching the files.
        // Clients that connect meanwhile wait in the backlog until recovery is done.
        let ip = config
            .client_port_address
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let addr = SocketAddr::new(ip, config.client_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let dirs = Dirs::of(&config);
        // ferrokeeper.testing.faults: the log on the real disk wrapped in the storage
        // crate's fault injector, for a test to make fsyncs slow or fail.
        let (fs, disk_faults): (Arc<dyn FileSystem>, _) = match config.testing_faults {
            true => {
                let (fs, faults) = FaultyFileSystem::std();
                (fs, Some(faults))
            }
            false => (Arc::new(StdFileSystem), None),
        };
        let (tree, sessions, durability) = match &dirs {
            Some(dirs) => {
                let recovered = recover(&config, dirs, fs)?;
                let durability = Durability::start(recovered.log, dirs.clone(), &config)?;
                (recovered.tree, recovered.sessions, Some(durability))
            }
            None => (DataTree::new(), SessionTable::default(), None),
        };
        let admin_port = config.admin_port();
        // `conf` and the AdminServer show the port actually served (0 picked one).
        let mut config = config;
        config.client_port = addr.port();
        let (work_tx, work_rx) = mpsc::channel(PIPELINE_QUEUE);
        let admin = match config.admin_enabled {
            true => {
                let addr = SocketAddr::new(config.admin_address, admin_port);
                crate::admin::bind("AdminServer", addr).await
            }
            false => None,
        };
        let metrics = match config.metrics_enabled {
            true => {
                let addr = SocketAddr::new(config.metrics_address, config.metrics_port);
                crate::admin::bind("Prometheus metrics endpoint", addr).await
            }
            false => None,
        };
        let admin_addr = admin.as_ref().and_then(|l| l.local_addr().ok());
        let metrics_addr = metrics.as_ref().and_then(|l| l.local_addr().ok());
        log_config_summary(&config, admin_addr, metrics_addr);
        let purge_hours = config.purge_interval_hours;
        let retain = config.snap_retain_count;
        let shared = Arc::new(
            Shared::new(config, tree, sessions, work_tx, crate::time::now_ms())
                .with_disk_faults(disk_faults.filter(|_| dirs.is_some())),
        );
        let mut tasks = JoinSet::new();
        let pipeline = pipeline::run(shared.clone(), work_rx, durability);
        tasks.spawn(async move { pipeline.await.map_err(Stopped::from) });
        let listener = tasks.spawn(until_stopped(net::listener::run(shared.clone(), listener)));
        tasks.spawn(until_stopped(session::expiry::run(shared.clone())));
        tasks.spawn(until_stopped(reaper::run(shared.clone())));
        if let Some(listener) = admin {
            tasks.spawn(until_stopped(crate::admin::serve_admin(
                shared.clone(),
                listener,
            )));
        }
        if let Some(listener) = metrics {
            tasks.spawn(until_stopped(crate::admin::serve_metrics(
                shared.clone(),
                listener,
            )));
        }
        if let (Some(dirs), true) = (dirs, purge_hours > 0) {
            tasks.spawn(until_stopped(purge_every(dirs, retain, purge_hours)));
        }
        tracing::info!(%addr, "serving ZooKeeper clients");
        Ok(Server {
            addr,
            admin_addr,
            metrics_addr,
            shared,
            tasks,
            listener,
        })
    }

    /// Runs until one of the server's tasks stops (none does in normal operation).
    pub async fn wait(&mut self) -> Result<(), Stopped> {
        match self.tasks.join_next().await {
            Some(Ok(result)) => result,
            _ => Err(Stopped::TaskEnded),
        }
    }

    /// A graceful stop (SIGTERM, SIGINT): no new connections, connections stop reading
    /// once their requests in flight are answered, and replies are flushed — for at
    /// most `grace`. Sessions are not closed: clients reconnect to the restarted server
    /// with them, as with ZooKeeper. (Acknowledged writes are durable regardless: a
    /// reply is sent only after its transaction is fsynced.)
    pub async fn drain(self, grace: Duration) {
        self.listener.abort();
        self.shared.start_draining();
        let deadline = tokio::time::Instant::now() + grace;
        let busy = |shared: &Shared| {
            shared.outstanding_requests() > 0
                || shared.conns.all().iter().any(|c| c.out.queued_bytes() > 0)
        };
        while busy(&self.shared) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if busy(&self.shared) {
            tracing::warn!(?grace, "stopping with requests still unanswered");
        }
    }
}

/// The settings an operator checks first, in one line at start (ZooKeeper logs its
/// configuration the same way), under zoo.cfg's names.
fn log_config_summary(config: &Config, admin: Option<SocketAddr>, metrics: Option<SocketAddr>) {
    let dir = |dir: Option<&std::path::Path>| {
        dir.map_or_else(
            || "none (in memory)".to_owned(),
            |d| d.display().to_string(),
        )
    };
    let endpoint =
        |addr: Option<SocketAddr>| addr.map_or_else(|| "off".to_owned(), |a| a.to_string());
    tracing::info!(
        dataDir = dir(config.data_dir.as_deref()),
        dataLogDir = dir(config
            .data_log_dir
            .as_deref()
            .or(config.data_dir.as_deref())),
        clientPort = config.client_port,
        tickTime = config.tick_time_ms,
        minSessionTimeout = config.min_session_timeout_ms(),
        maxSessionTimeout = config.max_session_timeout_ms(),
        snapCount = config.snap_count,
        forceSync = config.force_sync,
        autopurge.purgeInterval = config.purge_interval_hours,
        maxClientCnxns = config.max_client_cnxns,
        globalOutstandingLimit = config.global_outstanding_limit,
        jute.maxbuffer = config.jute_max_buffer,
        admin = endpoint(admin),
        metrics = endpoint(metrics),
        "configuration"
    );
}

async fn until_stopped(task: impl std::future::Future<Output = ()>) -> Result<(), Stopped> {
    task.await;
    Err(Stopped::TaskEnded)
}

/// autopurge.purgeInterval: ZooKeeper's DatadirCleanupManager.
async fn purge_every(dirs: Dirs, retain: usize, hours: u64) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(hours * 3600));
    loop {
        interval.tick().await;
        let dirs = dirs.clone();
        let _ = tokio::task::spawn_blocking(move || purge_old_files(&dirs, retain)).await;
    }
}
