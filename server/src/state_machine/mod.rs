//! The state machine: what every server of an ensemble holds and changes in the same
//! way, in zxid order — the znode [`tree`], the [`sessions`] table, the transactions
//! ([`txn`]) that are the only way to change them, and the one place they are applied
//! ([`apply`]).
//!
//! It stands on its own: nothing here imports the pipeline, persistence, the network,
//! the operations surface or the configuration. Those orchestrate it — a write is
//! prepared into a [`Txn`] (on the leader), made durable (and replicated), then
//! applied by [`Applier`] on every server, and answered by the server holding the
//! client's connection.

pub mod apply;
pub mod sessions;
pub mod tree;
pub mod txn;

pub use apply::{Applier, Event, OpResult};
pub use sessions::{Session, SessionTable, PASSWORD_LEN};
pub use tree::DataTree;
pub use txn::{Txn, TxnOp, Zxid};
