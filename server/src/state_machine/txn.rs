//! Transactions: what a validated write becomes. The log will store exactly these, in
//! zxid order, and a single state machine applies them ([`super::apply`]); a future
//! replicated log carries the same entries.

use bytes::Bytes;
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::ErrorCode;

use super::sessions::PASSWORD_LEN;

/// `epoch << 32 | counter`, as ZooKeeper numbers transactions.
pub type Zxid = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub zxid: Zxid,
    /// Wall-clock milliseconds when the write was prepared: ctime/mtime come from here.
    pub time: i64,
    /// The session that asked for it (0 for the server's own housekeeping).
    pub session_id: i64,
    pub op: TxnOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    CreateSession {
        session_id: i64,
        timeout_ms: i32,
        password: [u8; PASSWORD_LEN],
    },
    /// Ends a session and deletes its ephemerals, listed when the close was prepared.
    CloseSession {
        session_id: i64,
        ephemerals: Vec<String>,
    },
    Create {
        path: String,
        data: Option<Bytes>,
        acl: Vec<Acl>,
        ephemeral_owner: i64,
        /// The parent's child-creation counter after this create.
        parent_cversion: i32,
        /// Whether the answer carries the new node's stat (create2 and later forms).
        with_stat: bool,
    },
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Option<Bytes>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        aversion: i32,
    },
    Check {
        path: String,
    },
    /// All sub-transactions apply, or — when preparing failed — all are `Error`.
    Multi(Vec<TxnOp>),
    /// A write that failed validation; it still takes a zxid, as in ZooKeeper.
    Error(ErrorCode),
}
