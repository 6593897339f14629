//! Expires sessions whose clients went quiet: every tick, each session past its deadline
//! is closed through the pipeline, like a closeSession the client never sent.

use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::Work;
use crate::shared::{PipelineClosed, Shared};
use crate::state_machine::Session;
use crate::time::now_ms;

pub async fn run(shared: Arc<Shared>) {
    let tick = Duration::from_millis(shared.config.tick_time_ms.max(1) as u64 / 2 + 1);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for session in shared.sessions.expired(now_ms()) {
            if expire(&shared, &session).await.is_err() {
                return;
            }
        }
    }
}

/// Closes `session` as expired, through the pipeline like a closeSession the client
/// never sent — unless a close is already under way. Also a test fixture's "expire
/// this session now".
pub async fn expire(shared: &Shared, session: &Session) -> Result<(), PipelineClosed> {
    if !session.start_closing() {
        return Ok(());
    }
    let peer = shared.conns.last_peer(session.id);
    tracing::info!(
        session = format_args!("0x{:x}", session.id),
        timeout_ms = session.timeout_ms(),
        peer = peer.map_or_else(|| "none".to_owned(), |p| p.to_string()),
        "session expired"
    );
    shared
        .submit(Work::Expire {
            session_id: session.id,
        })
        .await
}
