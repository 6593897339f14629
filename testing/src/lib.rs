//! Ferrokeeper as a test fixture: a ZooKeeper-compatible server started inside the
//! test process on a free port in a few milliseconds, with the faults that tests of
//! ZooKeeper clients need on demand — a session expired now, connections dropped
//! (their sessions live on), a stalled server, a restart keeping its data and port.
//!
//! ```
//! use ferrokeeper_testing::TestServer;
//!
//! let server = TestServer::start();
//! let connect_string = server.connect_string(); // "127.0.0.1:<port>"
//! # let _ = connect_string;
//! // hand `connect_string` to the client under test …
//! // the server stops when `server` is dropped
//! ```
//!
//! A server with a data directory, restarted with its data:
//!
//! ```
//! use ferrokeeper_testing::TestServer;
//!
//! let mut server = TestServer::builder()
//!     .temp_data_dir()
//!     .tick_time_ms(100)
//!     .set("maxClientCnxns", "10")
//!     .start()
//!     .expect("fixture starts");
//! let port = server.addr().port();
//! server.restart().expect("restarts");
//! assert_eq!(server.addr().port(), port);
//! ```
//!
//! Each server runs on a runtime of its own (on its own thread), so the fixture works
//! the same from synchronous tests and from `#[tokio::test]`, and several servers in
//! one process do not share anything.

mod builder;
mod faults;
mod server;

pub use builder::Builder;
pub use server::{FixtureError, TestServer};
