//! The records of `zookeeper.jute` that travel between client and server, field order as
//! on the wire. Grouped by what they are for.

mod connect;
mod data;
mod headers;
mod ops;
mod watches;

pub use connect::{ConnectRequest, ConnectResponse};
pub use data::{Acl, ClientInfo, Id, Stat, STAT_LEN};
pub use headers::{MultiHeader, ReplyHeader, RequestHeader};
pub use ops::*;
pub use watches::{
    AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest, SetWatches, SetWatches2,
    WatcherEvent,
};
