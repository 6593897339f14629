//! `POST /faults/<name>?…`: the fault injection of [`crate::faults`] for test
//! fixtures in other languages. Routed only with `ferrokeeper.testing.faults=true`.
//! Answers are JSON like the commands': the fault's result and `"error"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::faults;
use crate::shared::Shared;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/faults/:name", post(inject))
        .with_state(shared)
}

async fn inject(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(args): Query<HashMap<String, String>>,
) -> Response {
    tracing::warn!(fault = %name, ?args, "injecting a fault (ferrokeeper.testing.faults)");
    let (status, body) = match run(&shared, &name, &args).await {
        Ok(result) => (
            StatusCode::OK,
            json!({ "fault": name, "result": result, "error": null }),
        ),
        Err((status, error)) => (
            status,
            json!({ "fault": name, "result": null, "error": error }),
        ),
    };
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

type Failed = (StatusCode, String);

async fn run(shared: &Shared, name: &str, args: &HashMap<String, String>) -> Result<Value, Failed> {
    let unavailable = |e: faults::FaultError| (StatusCode::CONFLICT, e.to_string());
    match name {
        "expire_session" => {
            let id = session_arg(args)?.ok_or_else(|| bad("session=<id> is required"))?;
            let expired = faults::expire_session(shared, id)
                .await
                .map_err(unavailable)?;
            Ok(json!(expired))
        }
        "drop_connections" => Ok(match session_arg(args)? {
            Some(id) => json!(faults::drop_session_connection(shared, id) as usize),
            None => json!(faults::drop_connections(shared)),
        }),
        "stall" => {
            faults::stall(shared, Duration::from_millis(number(args, "ms")?));
            Ok(Value::Null)
        }
        "fail_fsyncs" => {
            let n = number(args, "count")?;
            let n = u32::try_from(n).map_err(|_| bad("count is too large"))?;
            faults::disk(shared)
                .map_err(unavailable)?
                .fail_next_syncs(n);
            Ok(Value::Null)
        }
        "slow_fsyncs" => {
            let delay = Duration::from_millis(number(args, "ms")?);
            faults::disk(shared)
                .map_err(unavailable)?
                .set_sync_delay(delay);
            Ok(Value::Null)
        }
        "disk_full" => {
            let full = match args.get("full").map(String::as_str) {
                Some("true") => true,
                Some("false") => false,
                _ => return Err(bad("full=true or full=false is required")),
            };
            faults::disk(shared)
                .map_err(unavailable)?
                .set_disk_full(full);
            Ok(Value::Null)
        }
        _ => Err((StatusCode::NOT_FOUND, format!("Unknown fault: {name}"))),
    }
}

fn bad(reason: &str) -> Failed {
    (StatusCode::BAD_REQUEST, reason.to_owned())
}

fn number(args: &HashMap<String, String>, key: &str) -> Result<u64, Failed> {
    args.get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad(&format!("{key}=<number> is required")))
}

/// `session=` in decimal or `0x` hex, as the four-letter words print session ids.
fn session_arg(args: &HashMap<String, String>) -> Result<Option<i64>, Failed> {
    let Some(text) = args.get("session") else {
        return Ok(None);
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).map(|id| id as i64),
        None => text.parse(),
    };
    parsed
        .map(Some)
        .map_err(|_| bad("session is not a session id"))
}
