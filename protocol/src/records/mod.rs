//! The records of `zookeeper.jute`, field order as on the wire: those that travel
//! between client and server, and those ZooKeeper keeps in its data directory
//! ([`persistence`]). Grouped by what they are for.

mod connect;
mod data;
mod headers;
mod ops;
pub mod persistence;
mod watches;

pub use connect::{ConnectRequest, ConnectResponse};
pub use data::{Acl, ClientInfo, Id, Stat, STAT_LEN};
pub use headers::{MultiHeader, ReplyHeader, RequestHeader};
pub use ops::*;
pub use watches::{
    AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest, SetWatches, SetWatches2,
    WatcherEvent,
};
