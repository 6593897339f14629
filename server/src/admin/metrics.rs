//! The Prometheus endpoint (`metricsProvider.className` set to ZooKeeper's
//! PrometheusMetricsProvider; `metricsProvider.httpPort`, default 7000): `/metrics` in
//! the Prometheus text format, with ZooKeeper's metric names where one exists and
//! `ferrokeeper_`-prefixed ones for what only Ferrokeeper has: `mntr`'s values as
//! gauges, ZooKeeper's summaries (fsynctime, readlatency, ...) as summaries with the
//! quantiles its PrometheusMetricsProvider exports.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use super::report::{self, Metric};
use crate::shared::Shared;
use crate::summaries::Summary;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/", get(scrape))
        .with_state(shared)
}

async fn scrape(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&shared),
    )
}

/// The text exposition of every metric, read now.
pub fn render(shared: &Shared) -> String {
    let mut registry = Registry::default();
    for (name, value) in report::gauges(shared, false) {
        match value {
            Metric::Int(n) => {
                let gauge = Gauge::<i64>::default();
                gauge.set(n);
                registry.register(name, help(name), gauge);
            }
            Metric::Float(x) => {
                let gauge = Gauge::<f64, AtomicU64>::default();
                gauge.set(x);
                registry.register(name, help(name), gauge);
            }
            Metric::Text(_) => {}
        }
    }
    let log_bytes = Gauge::<i64>::default();
    log_bytes.set(report::dir_size(report::log_dir(shared).as_deref()) as i64);
    registry.register(
        "ferrokeeper_log_dir_bytes",
        "Bytes in the transaction log directory (dataLogDir)",
        log_bytes,
    );
    let data_bytes = Gauge::<i64>::default();
    data_bytes.set(report::dir_size(report::data_dir(shared).as_deref()) as i64);
    registry.register(
        "ferrokeeper_data_dir_bytes",
        "Bytes in the snapshot directory (dataDir)",
        data_bytes,
    );
    let mut out = String::new();
    let _ = encode(&mut out, &registry);
    // prometheus-client has no summary type: they are written by hand, before the end
    // marker.
    let end = out.rfind("# EOF").unwrap_or(out.len());
    let mut summaries = String::new();
    for (name, detail, summary) in shared.metrics.named() {
        write_summary(&mut summaries, name, detail.prometheus_quantiles(), summary);
    }
    out.insert_str(end, &summaries);
    out
}

/// One summary in the text format, as ZooKeeper's (Java simpleclient) exports it:
/// HELP and TYPE, a sample per quantile, `_count` and `_sum`.
fn write_summary(out: &mut String, name: &str, quantiles: &[f64], summary: &Summary) {
    use std::fmt::Write;
    let (count, sum, ..) = summary.read();
    let _ = writeln!(out, "# HELP {name} {name}");
    let _ = writeln!(out, "# TYPE {name} summary");
    for (q, value) in quantiles.iter().zip(summary.quantiles(quantiles)) {
        let _ = writeln!(out, "{name}{{quantile=\"{q}\"}} {value:?}");
    }
    let _ = writeln!(out, "{name}_count {count}");
    let _ = writeln!(out, "{name}_sum {sum}");
}

fn help(name: &str) -> String {
    format!("{name}, as ZooKeeper's mntr reports it")
}
