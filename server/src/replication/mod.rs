//! Replication with openraft: the pieces that make an ensemble's Raft log and its
//! durable Raft state out of the storage crate and Ferrokeeper's transactions.
//!
//! - [`types`]: the openraft type configuration — node ids are ZooKeeper's `myid`s,
//!   a node carries its quorum and client addresses, and an entry's data is a
//!   [`crate::state_machine::Txn`];
//! - [`entry_codec`]: the bytes of a Raft entry in the log (a small versioned header,
//!   then the transaction in `persist::txn_codec`'s encoding, the one format every log
//!   uses);
//! - [`log_store`]: openraft's `RaftLogStorage` on the storage crate's `Log` and
//!   `GroupCommit` — one log, not two — with the vote in an atomically replaced file.
//!
//! The state machine does not import this module: replication feeds it committed
//! transactions, as the standalone pipeline does.

pub mod entry_codec;
pub mod log_store;
pub mod types;

#[cfg(test)]
mod log_store_tests;
#[cfg(test)]
mod test_state_machine;

pub use log_store::{LogStore, LogStoreReader};
pub use types::{Node, NodeId, TypeConfig};
