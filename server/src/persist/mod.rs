//! Durability glue between the state machine and the storage crate: how transactions
//! and the tree are encoded ([`txn_codec`], [`snapshot`]) and how a server comes back
//! from its data directories ([`recovery`]), including Apache ZooKeeper's
//! ([`zookeeper`]).

pub mod durability;
pub mod recovery;
pub mod snapshot;
pub mod txn_codec;
pub mod zookeeper;
