//! A running fixture server: its own thread and runtime, started and stopped from any
//! test, synchronous or async.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferrokeeper::config::ConfigError;
use ferrokeeper::server::StartError;
use ferrokeeper::shared::Shared;
use ferrokeeper::Server;
use tokio::sync::oneshot;

use crate::builder::{Builder, Storage};

/// How long a stopping server may take to answer what it has already taken.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("bad setting: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot start the server: {0}")]
    Start(#[from] StartError),
    #[error("cannot create the server's data directory or runtime: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server is not running")]
    NotRunning,
    #[error("cannot inject the fault: {0}")]
    Fault(#[from] ferrokeeper::faults::FaultError),
}

/// A ZooKeeper-compatible server for a test; stopped when dropped.
pub struct TestServer {
    builder: Builder,
    data: Data,
    addr: SocketAddr,
    running: Option<Running>,
}

enum Data {
    InMemory,
    Temporary(tempfile::TempDir),
    Dir(PathBuf),
}

/// The server while it runs, and what stops it.
pub(crate) struct Running {
    pub(crate) shared: Arc<Shared>,
    pub(crate) runtime: tokio::runtime::Handle,
    admin_addr: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl TestServer {
    /// An in-memory server on a free loopback port, ZooKeeper's defaults otherwise.
    /// Panics if it cannot start (a fixture that cannot start fails the test).
    pub fn start() -> TestServer {
        Self::builder()
            .start()
            .expect("start a ferrokeeper test server")
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn start_with(builder: Builder) -> Result<TestServer, FixtureError> {
        let data = match &builder.storage {
            Storage::InMemory => Data::InMemory,
            Storage::Temporary => Data::Temporary(tempfile::tempdir()?),
            Storage::Dir(dir) => Data::Dir(dir.clone()),
        };
        let config = builder.config(data.path())?;
        let running = launch(config)?;
        Ok(TestServer {
            addr: running.addr,
            builder,
            data,
            running: Some(running.running),
        })
    }

    /// `host:port`, as a ZooKeeper client's connect string takes it.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The AdminServer's address, when [`Builder::admin_server`] asked for one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().and_then(|r| r.admin_addr)
    }

    /// The data directory, unless the server runs in memory.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.path()
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops the server as SIGTERM would: what it took is answered (within half a
    /// second), connections close, sessions stay in its data for a restart.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            let _ = running.thread.join();
        }
    }

    /// Stops and starts the server again on the same port with the same data:
    /// clients reconnect with their sessions (unless it runs in memory, where
    /// everything is gone, as after a ZooKeeper restart without a dataDir).
    pub fn restart(&mut self) -> Result<(), FixtureError> {
        self.stop();
        let mut config = self.builder.config(self.data.path())?;
        config.client_port = self.addr.port();
        let running = launch(config)?;
        self.running = Some(running.running);
        Ok(())
    }

    pub(crate) fn running(&self) -> Result<&Running, FixtureError> {
        self.running.as_ref().ok_or(FixtureError::NotRunning)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Data {
    fn path(&self) -> Option<&Path> {
        match self {
            Data::InMemory => None,
            Data::Temporary(dir) => Some(dir.path()),
            Data::Dir(dir) => Some(dir),
        }
    }
}

struct Launched {
    addr: SocketAddr,
    running: Running,
}

/// Starts a server on a thread and runtime of its own and waits until it serves.
fn launch(config: ferrokeeper::Config) -> Result<Launched, FixtureError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ferrokeeper-fixture".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("ferrokeeper-fixture")
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return drop(ready_tx.send(Err(FixtureError::from(e)))),
            };
            runtime.block_on(async move {
                let server = match Server::start(config).await {
                    Ok(server) => server,
                    Err(e) => return drop(ready_tx.send(Err(e.into()))),
                };
                let serving = (
                    server.addr,
                    server.admin_addr,
                    server.shared.clone(),
                    tokio::runtime::Handle::current(),
                );
                if ready_tx.send(Ok(serving)).is_ok() {
                    // Stopped by `stop`, or by the fixture going away.
                    let _ = stopped.await;
                }
                server.drain(DRAIN_GRACE).await;
            });
            // Dropping the runtime ends every task: the log is closed and unlocked
            // before `stop` returns, so a restart can open it.
        })?;
    let (addr, admin_addr, shared, runtime) =
        ready_rx.recv().map_err(|_| FixtureError::NotRunning)??;
    Ok(Launched {
        addr,
        running: Running {
            shared,
            runtime,
            admin_addr,
            stop,
            thread,
        },
    })
}
