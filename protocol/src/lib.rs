//! ZooKeeper's client wire protocol, as Apache ZooKeeper 3.9 speaks it.
//!
//! - [`jute`]: the Jute binary encoding (primitives and the [`jute_record!`] macro that
//!   declares a record once for both directions).
//! - [`records`]: every record of `zookeeper.jute` the client protocol uses.
//! - [`multi`]: the hand-written multi request/response framing.
//! - [`request`]: a request body decoded by its op code.
//! - [`frame`]: 4-byte length-prefixed framing with `jute.maxbuffer`.
//! - [`codes`]: op codes, error codes, event types and states, permissions, create modes.
//!
//! Nothing here does I/O or knows about the server's state.

pub mod codes;
pub mod frame;
pub mod jute;
pub mod multi;
pub mod records;
pub mod request;

pub use codes::{
    AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OpCode, Perms, WatcherType,
};
pub use jute::{DecodeError, Jute};
