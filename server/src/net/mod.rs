//! The network front end: accepting connections, the per-connection task (handshake,
//! then requests in order), the batched outbound writer and four-letter words.

pub mod conn;
pub mod connection;
pub mod four_letter;
pub mod listener;
pub mod outbound;
