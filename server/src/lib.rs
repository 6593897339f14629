//! Ferrokeeper: a ZooKeeper-compatible coordination server.
//!
//! A request's path through the server:
//! - [`net`]: the listener accepts, a connection task decodes frames in order;
//! - [`ops::read`]: reads are answered from the [`state_machine::tree`] directly;
//! - [`pipeline`]: writes are prepared into transactions ([`pipeline::prep`]), made
//!   durable, applied by the [`state_machine`] ([`state_machine::apply`]), their
//!   [`watch`] events delivered, and answered ([`ops::reply`]);
//! - [`state_machine`]: the tree, the session table, transactions and apply — standing
//!   on its own, it is what an ensemble replicates;
//! - [`session`]: session ids and expiry; [`auth`]: identities and ACL checks;
//!   [`reaper`]: container and TTL node removal; [`config`]: zoo.cfg.
//!
//! [`tools`] holds the operator subcommands (`log dump`, `snapshot
//! dump|take|export-zookeeper`); [`docker_entrypoint`] the container image's start.

pub mod admin;
pub mod auth;
pub mod config;
pub mod docker_entrypoint;
pub mod faults;
pub mod net;
pub mod ops;
pub mod persist;
pub mod pipeline;
pub mod reaper;
pub mod replication;
pub mod server;
pub mod session;
pub mod shared;
pub mod state_machine;
pub mod stats;
pub mod summaries;
pub mod time;
pub mod tools;
pub mod watch;

pub use config::Config;
pub use server::Server;
