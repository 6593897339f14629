//! Watch registration, removal and notification records.

use crate::jute_record;

jute_record! {
    /// Re-registers one-shot watches after a reconnect (op 101).
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }
}

jute_record! {
    /// Re-registers one-shot and persistent watches after a reconnect (op 105).
    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }
}

jute_record! {
    /// addWatch (op 106): `mode` is an [`crate::AddWatchMode`].
    pub struct AddWatchRequest {
        pub path: String,
        pub mode: i32,
    }
}

jute_record! {
    /// checkWatches (op 17) and removeWatches (op 18): `watcher_type` is a [`crate::WatcherType`].
    pub struct CheckWatchesRequest {
        pub path: String,
        pub watcher_type: i32,
    }
}

/// removeWatches (op 18): the same fields as checkWatches.
pub type RemoveWatchesRequest = CheckWatchesRequest;

jute_record! {
    /// The body of a notification (xid -1).
    pub struct WatcherEvent {
        pub event_type: i32,
        pub state: i32,
        pub path: String,
    }
}
