//! The network front end: accepting connections, the per-connection task (handshake,
//! then requests in order), the batched outbound writer, four-letter words, and the
//! stall a test fixture can inject.

pub mod conn;
pub mod connection;
pub mod four_letter;
pub mod listener;
pub mod outbound;
pub mod stall;
