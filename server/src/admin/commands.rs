//! ZooKeeper's AdminServer commands (`/commands/<name>`), with ZooKeeper's names,
//! aliases and JSON shapes: every answer is an object with the command's fields plus
//! `"command"` (its primary name) and `"error"` (null, or why it failed).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::report::{self, Metric, VERSION};
use crate::shared::Shared;

/// (primary name, aliases), as ZooKeeper's Commands registers them.
pub const COMMANDS: &[(&str, &[&str])] = &[
    ("configuration", &["conf", "config"]),
    ("connection_stat_reset", &["crst"]),
    ("connections", &["cons"]),
    ("dirs", &[]),
    ("dump", &[]),
    ("environment", &["env", "envi"]),
    ("is_read_only", &["isro"]),
    ("last_snapshot", &["lsnp"]),
    ("monitor", &["mntr"]),
    ("ruok", &[]),
    ("server_stats", &["srvr"]),
    // Served by `super::snapshot` (it streams a file and needs auth).
    ("snapshot", &["snap"]),
    ("stat_reset", &["srst"]),
    ("stats", &["stat"]),
    ("watch_summary", &["wchs"]),
    ("watches", &["wchc"]),
    ("watches_by_path", &["wchp"]),
];

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/commands", get(list))
        .route("/commands/", get(list))
        .route("/commands/:name", get(command))
        .with_state(shared)
}

async fn list() -> Html<String> {
    let mut out = String::new();
    for (name, _) in COMMANDS {
        out.push_str(&format!("<a href=\"/commands/{name}\">{name}</a>\n<br/>\n"));
    }
    Html(out)
}

async fn command(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let body = run(&shared, &name);
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The JSON answer of the command called `name` (a primary name or an alias).
pub fn run(shared: &Shared, name: &str) -> Value {
    let primary = COMMANDS
        .iter()
        .find(|(primary, aliases)| *primary == name || aliases.contains(&name))
        .map(|(primary, _)| *primary);
    let mut out = match primary {
        Some(primary) => fields(shared, primary),
        None => Map::new(),
    };
    out.insert("command".into(), json!(primary.unwrap_or(name)));
    out.insert(
        "error".into(),
        match primary {
            Some(_) => Value::Null,
            None => json!(format!("Unknown command: {name}")),
        },
    );
    Value::Object(out)
}

fn metric(value: &Metric) -> Value {
    match value {
        Metric::Int(n) => json!(n),
        Metric::Float(x) => json!(x),
        Metric::Text(s) => json!(s),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn fields(shared: &Shared, command: &str) -> Map<String, Value> {
    match command {
        "ruok" => Map::new(),
        "is_read_only" => object(json!({ "read_only": false })),
        // ZooKeeper's shape: the zxid in hex without 0x, the time in seconds.
        "last_snapshot" => match report::last_snapshot(shared) {
            Some((zxid, secs)) => object(json!({
                "zxid": format!("{zxid:x}"),
                "timestamp": secs,
            })),
            None => object(json!({ "zxid": "0", "timestamp": 0 })),
        },
        "monitor" => report::monitor(shared, false)
            .iter()
            .map(|(key, value)| (key.clone(), metric(value)))
            .collect(),
        "server_stats" | "stats" => {
            let data = report::data_dir(shared);
            let log = report::log_dir(shared);
            let (min, avg, max) = shared.latency.min_avg_max_ms();
            let (last_size, min_size, max_size) = shared.conns.response_sizes.read();
            let response_sizes = json!({
                "last_buffer_size": last_size,
                "min_buffer_size": min_size,
                "max_buffer_size": max_size,
            });
            let mut out = object(json!({
                "version": VERSION,
                "read_only": false,
                "server_stats": {
                    "packets_sent": shared.packets_sent(),
                    "packets_received": shared.packets_received.load(Ordering::Relaxed),
                    "fsync_threshold_exceed_count": shared.fsync_threshold_exceeded.load(Ordering::Relaxed),
                    "client_response_stats": response_sizes.clone(),
                    "data_dir_size": report::dir_size(data.as_deref()),
                    "log_dir_size": report::dir_size(log.as_deref()),
                    "provider_null": false,
                    "server_state": "standalone",
                    "last_processed_zxid": shared.last_zxid(),
                    "outstanding_requests": shared.outstanding_requests(),
                    "avg_latency": (avg * 10_000.0).round() / 10_000.0,
                    "max_latency": max,
                    "min_latency": min,
                    "num_alive_client_connections": shared.conns.len(),
                    "uptime": crate::time::now_ms().saturating_sub(shared.started_ms),
                    "auth_failed_count": shared.auth_failed.load(Ordering::Relaxed),
                },
                "client_response": response_sizes,
                "node_count": report::znode_count(shared),
            }));
            if command == "stats" {
                out.insert("connections".into(), connections(shared, false));
                out.insert("secure_connections".into(), json!([]));
            }
            out
        }
        "connections" => object(json!({
            "connections": connections(shared, true),
            "secure_connections": [],
        })),
        "configuration" => {
            let c = &shared.config;
            let show = |d: Option<std::path::PathBuf>| d.map(|d| d.display().to_string());
            object(json!({
                "client_port": c.client_port,
                "data_dir": show(report::data_dir(shared)),
                "data_log_dir": show(report::log_dir(shared)),
                "tick_time": c.tick_time_ms,
                "max_client_cnxns": c.max_client_cnxns,
                "min_session_timeout": c.min_session_timeout_ms(),
                "max_session_timeout": c.max_session_timeout_ms(),
                "server_id": 0,
                "client_port_listen_backlog": -1,
            }))
        }
        "watches" => {
            let map: Map<String, Value> = report::watches_by_session(shared)
                .into_iter()
                .map(|(session, paths)| (session.to_string(), json!(paths)))
                .collect();
            object(json!({ "session_id_to_watched_paths": map }))
        }
        "watches_by_path" => {
            let map: Map<String, Value> = report::watches_by_path(shared)
                .into_iter()
                .map(|(path, sessions)| (path, json!(sessions)))
                .collect();
            object(json!({ "path_to_session_ids": map }))
        }
        "watch_summary" => {
            let (conns, paths, total) = report::watch_summary(shared);
            object(json!({
                "num_connections": conns,
                "num_paths": paths,
                "num_total_watches": total,
            }))
        }
        "dump" => {
            let expiry: Map<String, Value> = report::sessions_by_expiry(shared)
                .into_iter()
                .map(|(at, ids)| (at.to_string(), json!(ids)))
                .collect();
            let ephemerals: Map<String, Value> = report::ephemerals(shared)
                .into_iter()
                .map(|(session, paths)| (session.to_string(), json!(paths)))
                .collect();
            object(json!({
                "expiry_time_to_session_ids": expiry,
                "session_id_to_ephemeral_paths": ephemerals,
            }))
        }
        "environment" => report::environment()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), json!(value)))
            .collect(),
        "dirs" => {
            let data = report::data_dir(shared);
            let log = report::log_dir(shared);
            object(json!({
                "datadir_size": report::dir_size(data.as_deref()),
                "logdir_size": report::dir_size(log.as_deref()),
            }))
        }
        "connection_stat_reset" => {
            shared.reset_connection_stats();
            Map::new()
        }
        "stat_reset" => {
            shared.reset_server_stats();
            Map::new()
        }
        _ => Map::new(),
    }
}

/// The client connections, as ZooKeeper's `connections` (full) and `stats` (brief)
/// list them.
fn connections(shared: &Shared, full: bool) -> Value {
    let list: Vec<Value> = shared
        .conns
        .all()
        .iter()
        .map(|conn| {
            let mut entry = object(json!({
                "remote_socket_address": conn.peer.to_string(),
                "interest_ops": 1,
                "outstanding_requests": conn.in_flight(),
                "packets_received": conn.received.load(Ordering::Relaxed),
                "packets_sent": conn.sent.load(Ordering::Relaxed),
            }));
            let session = conn.session_id();
            if full && session != 0 {
                let s = &conn.stats;
                let (min, avg, max) = s.latency.min_avg_max_ms();
                let timeout = shared.sessions.get(session).map_or(0, |s| s.timeout_ms());
                entry.extend(object(json!({
                    "session_id": session,
                    "last_operation": s.last_op(),
                    "established": s.established_ms,
                    "session_timeout": timeout,
                    "last_cxid": s.last_cxid(),
                    "last_zxid": s.last_zxid(),
                    "last_response_time": s.last_response_ms(),
                    "last_latency": s.last_latency_ms(),
                    "min_latency": min,
                    "avg_latency": avg as u64,
                    "max_latency": max,
                })));
            }
            Value::Object(entry)
        })
        .collect();
    Value::Array(list)
}
