//! setWatches / setWatches2 after a reconnect (DataTree.setWatches): each watch the
//! client still holds is re-registered, or — if the change it waits for happened after
//! `relativeZxid`, the last zxid the client saw — fired at once with zxid -1.

use ferrokeeper_protocol::records::SetWatches2;
use ferrokeeper_protocol::{AddWatchMode, EventType};

use crate::net::conn::Conn;
use crate::shared::Shared;
use crate::state_machine::tree::DataTree;

const CATCH_UP_ZXID: i64 = -1;

pub fn register(shared: &Shared, tree: &DataTree, conn: &Conn, r: &SetWatches2) {
    let mut watches = shared.watches.lock();
    for path in &r.data_watches {
        match tree.get(path) {
            None => conn.notify(EventType::NodeDeleted, path, CATCH_UP_ZXID),
            Some(node) if node.stat.mzxid > r.relative_zxid => {
                conn.notify(EventType::NodeDataChanged, path, CATCH_UP_ZXID)
            }
            Some(_) => watches.add_data_watch(path, conn.id),
        }
    }
    for path in &r.exist_watches {
        match tree.get(path) {
            Some(_) => conn.notify(EventType::NodeCreated, path, CATCH_UP_ZXID),
            None => watches.add_data_watch(path, conn.id),
        }
    }
    for path in &r.child_watches {
        match tree.get(path) {
            None => conn.notify(EventType::NodeDeleted, path, CATCH_UP_ZXID),
            Some(node) if node.stat.pzxid > r.relative_zxid => {
                conn.notify(EventType::NodeChildrenChanged, path, CATCH_UP_ZXID)
            }
            Some(_) => watches.add_child_watch(path, conn.id),
        }
    }
    for path in &r.persistent_watches {
        watches.add_persistent(path, conn.id, AddWatchMode::Persistent);
    }
    for path in &r.persistent_recursive_watches {
        watches.add_persistent(path, conn.id, AddWatchMode::PersistentRecursive);
    }
}
