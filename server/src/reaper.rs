//! Removes containers that had children and have none left, containers never used
//! for `znode.container.maxNeverUsedIntervalMs`, and TTL nodes without children whose
//! TTL has passed since their last change (ZooKeeper's ContainerManager). Candidates
//! are found here; the pipeline re-checks and deletes them as transactions.

use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::pending::NodeView;
use crate::pipeline::Work;
use crate::shared::Shared;
use crate::state_machine::tree::NodeKind;
use crate::time::now_ms;

/// Whether a node may be reaped now (also re-checked in the pipeline).
/// `never_used_ms` is znode.container.maxNeverUsedIntervalMs; 0 keeps never-used
/// containers forever, as in ZooKeeper.
pub fn is_reapable(view: &NodeView, now_ms: i64, never_used_ms: i64) -> bool {
    if view.num_children > 0 {
        return false;
    }
    match view.kind() {
        // Its child-creation counter shows whether it ever had a child.
        NodeKind::Container => {
            view.stat.cversion > 0
                || (never_used_ms != 0 && now_ms - view.stat.mtime > never_used_ms)
        }
        NodeKind::Ttl(ttl) => now_ms - view.stat.mtime > ttl,
        _ => false,
    }
}

pub async fn run(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(
        shared.config.container_check_interval_ms.max(1),
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let candidates: Vec<String> = {
            let tree = shared.tree.read();
            let now = now_ms() as i64;
            tree.containers()
                .chain(tree.ttl_nodes())
                .filter(|path| {
                    tree.get(path).is_some_and(|node| {
                        let never_used = shared.config.container_max_never_used_ms;
                        is_reapable(&NodeView::of(node), now, never_used)
                    })
                })
                .map(str::to_owned)
                .collect()
        };
        for path in candidates {
            tracing::debug!(path, "reaping container/TTL node");
            if shared.submit(Work::Reap { path }).await.is_err() {
                return;
            }
        }
    }
}
