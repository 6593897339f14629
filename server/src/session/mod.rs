//! Session tracking around the state machine's session table
//! ([`crate::state_machine::sessions`]): new ids and passwords, and expiry.

pub mod expiry;
mod ids;

pub use ids::{new_password, SessionIds};
