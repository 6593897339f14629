//! Taking queued work into one batch. A batch is prepared, logged and then applied
//! under the tree's write lock, which every read waits for; so besides a count of
//! items it is bounded in operations (a multi counts each of its ops), or one client
//! pipelining thousand-op multis would hold the lock for a million creates.

use ferrokeeper_protocol::request::Request;
use tokio::sync::mpsc;

use super::Work;

/// Most work items taken into one batch.
pub const MAX_BATCH: usize = 1024;
/// Most operations in one batch, unless its first item alone has more.
const MAX_BATCH_OPS: usize = 10_000;

/// Waits for work and moves a batch of it into `batch`; false once the channel is
/// closed and drained.
pub async fn next(work: &mut mpsc::Receiver<Work>, batch: &mut Vec<Work>) -> bool {
    let Some(first) = work.recv().await else {
        return false;
    };
    let mut ops = first.ops();
    batch.push(first);
    while batch.len() < MAX_BATCH && ops < MAX_BATCH_OPS {
        match work.try_recv() {
            Ok(item) => {
                ops += item.ops();
                batch.push(item);
            }
            Err(_) => break,
        }
    }
    true
}

impl Work {
    /// Operations this item applies or reads.
    fn ops(&self) -> usize {
        match self {
            Work::Request {
                request: Request::Multi(ops) | Request::MultiRead(ops),
                ..
            } => ops.len().max(1),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_stops_at_the_item_bound() {
        let (tx, mut rx) = mpsc::channel(MAX_BATCH * 2);
        for _ in 0..MAX_BATCH + 5 {
            tx.send(Work::Reap { path: "/x".into() }).await.unwrap();
        }
        let mut batch = Vec::new();
        assert!(next(&mut rx, &mut batch).await);
        assert_eq!(batch.len(), MAX_BATCH);
        batch.clear();
        assert!(next(&mut rx, &mut batch).await);
        assert_eq!(batch.len(), 5);
        drop(tx);
        batch.clear();
        assert!(!next(&mut rx, &mut batch).await);
    }
}
