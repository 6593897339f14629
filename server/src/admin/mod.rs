//! The operations surface besides the four-letter words: ZooKeeper's AdminServer
//! (HTTP, `/commands/<name>`, JSON in ZooKeeper's shape) and the Prometheus metrics
//! endpoint (`/metrics`). Both read what [`report`] gathers. With
//! `ferrokeeper.testing.faults=true` (tests only) the AdminServer also injects faults
//! ([`faults`]).

pub mod commands;
pub mod faults;
pub mod metrics;
pub mod report;
pub mod snapshot;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::shared::Shared;

/// Binds an HTTP endpoint. ZooKeeper logs a failure to start the AdminServer or the
/// metrics provider's server and goes on serving clients; so does this.
pub async fn bind(what: &str, addr: SocketAddr) -> Option<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            let bound = listener.local_addr().unwrap_or(addr);
            tracing::info!(%bound, "{what} listening on {bound}");
            Some(listener)
        }
        Err(e) => {
            tracing::warn!(%addr, error = %e, "cannot start the {what}; continuing without it");
            None
        }
    }
}

/// Serves the AdminServer on `listener` until the task is dropped.
pub async fn serve_admin(shared: Arc<Shared>, listener: TcpListener) {
    let mut app = commands::router(shared.clone()).merge(snapshot::router(shared.clone()));
    if shared.config.testing_faults {
        app = app.merge(faults::router(shared));
    }
    // The peer's address is the `ip` identity of the snapshot command's auth.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "the AdminServer stopped");
    }
    // Clients are still served.
    std::future::pending::<()>().await
}

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve_metrics(shared: Arc<Shared>, listener: TcpListener) {
    let app = metrics::router(shared);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "the metrics endpoint stopped");
    }
    std::future::pending::<()>().await
}
