//! Starting a server: bind, then run the listener, the pipeline, session expiry and
//! the reaper as tasks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::shared::Shared;
use crate::tree::DataTree;
use crate::{net, pipeline, reaper, session};

/// Bounded so a flood of writes pushes back on the connections producing it.
const PIPELINE_QUEUE: usize = 16 * 1024;

/// A running server. Dropping it stops every task.
pub struct Server {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

impl Server {
    pub async fn start(config: Config) -> std::io::Result<Server> {
        let ip = config
            .client_port_address
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let listener = TcpListener::bind((ip, config.client_port)).await?;
        let addr = listener.local_addr()?;
        let (work_tx, work_rx) = mpsc::channel(PIPELINE_QUEUE);
        let shared = Arc::new(Shared::new(
            config,
            DataTree::new(),
            work_tx,
            crate::time::now_ms(),
        ));
        let mut tasks = JoinSet::new();
        tasks.spawn(pipeline::run(shared.clone(), work_rx));
        tasks.spawn(net::listener::run(shared.clone(), listener));
        tasks.spawn(session::expiry::run(shared.clone()));
        tasks.spawn(reaper::run(shared.clone()));
        tracing::info!(%addr, "serving ZooKeeper clients");
        Ok(Server {
            addr,
            shared,
            tasks,
        })
    }

    /// Runs until one of the server's tasks stops (none does in normal operation).
    pub async fn wait(mut self) {
        self.tasks.join_next().await;
    }
}
