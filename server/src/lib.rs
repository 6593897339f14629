//! Ferrokeeper: a ZooKeeper-compatible coordination server.
//!
//! A request's path through the server:
//! - [`net`]: the listener accepts, a connection task decodes frames in order;
//! - [`ops::read`]: reads are answered from the [`tree`] directly;
//! - [`pipeline`]: writes are prepared into transactions ([`pipeline::prep`]), made
//!   durable, applied ([`pipeline::apply`]), their [`watch`] events delivered, and
//!   answered ([`ops::reply`]);
//! - [`session`]: sessions and their expiry; [`auth`]: identities and ACL checks;
//!   [`reaper`]: container and TTL node removal; [`config`]: zoo.cfg.
//!
//! [`tools`] holds the operator subcommands (`log dump`, `snapshot
//! dump|take|export-zookeeper`); [`docker_entrypoint`] the container image's start.

pub mod admin;
pub mod auth;
pub mod config;
pub mod docker_entrypoint;
pub mod net;
pub mod ops;
pub mod persist;
pub mod pipeline;
pub mod reaper;
pub mod server;
pub mod session;
pub mod shared;
pub mod stats;
pub mod summaries;
pub mod time;
pub mod tools;
pub mod tree;
pub mod watch;

pub use config::Config;
pub use server::Server;
