//! The records ZooKeeper writes to its data directory (`org.apache.zookeeper.txn` and
//! `org.apache.zookeeper.server.persistence` in `zookeeper.jute`): transaction log
//! entries and snapshot parts. Ferrokeeper reads them to start on a ZooKeeper data
//! directory; its own files use its own format.

use bytes::Bytes;

use super::Acl;
use crate::jute_record;

jute_record! {
    /// Opens every snapshot (`magic` "ZKSN") and log file ("ZKLG").
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}

jute_record! {
    /// A znode's stat as ZooKeeper stores it: `cversion` counts child creations only.
    pub struct StatPersisted {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub pzxid: i64,
    }
}

jute_record! {
    /// A snapshot's znode: its data, a reference into the snapshot's ACL table.
    pub struct DataNodeRecord {
        pub data: Option<Bytes>,
        pub acl: i64,
        pub stat: StatPersisted,
    }
}

jute_record! {
    /// Leads every logged transaction; `type` is the op code (or -10/-11/-1 for
    /// createSession, closeSession and error).
    pub struct TxnHeader {
        pub client_id: i64,
        pub cxid: i32,
        pub zxid: i64,
        pub time: i64,
        pub op_type: i32,
    }
}

jute_record! {
    /// create and create2 (an ephemeral node is owned by the header's session).
    pub struct CreateTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
        pub parent_cversion: i32,
    }
}

jute_record! {
    pub struct CreateTtlTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
        pub ttl: i64,
    }
}

jute_record! {
    pub struct CreateContainerTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
    }
}

jute_record! {
    /// delete and deleteContainer.
    pub struct DeleteTxn {
        pub path: String,
    }
}

jute_record! {
    /// setData (and reconfig, which rewrites /zookeeper/config).
    pub struct SetDataTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }
}

jute_record! {
    pub struct CheckVersionTxn {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    pub struct SetAclTxn {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

jute_record! {
    pub struct CreateSessionTxn {
        pub time_out: i32,
    }
}

jute_record! {
    /// The ephemerals a closeSession deletes (ZooKeeper 3.6 and later; older logs
    /// carry no body).
    pub struct CloseSessionTxn {
        pub paths_to_delete: Vec<String>,
    }
}

jute_record! {
    pub struct ErrorTxn {
        pub err: i32,
    }
}

jute_record! {
    /// One op of a multi (ZooKeeper's `Txn`): its type and its own encoded txn record.
    pub struct MultiTxnPart {
        pub op_type: i32,
        pub data: Option<Bytes>,
    }
}

jute_record! {
    pub struct MultiTxn {
        pub txns: Vec<MultiTxnPart>,
    }
}

jute_record! {
    /// Follows the txn when ZooKeeper's digest is enabled (3.6 and later).
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }
}
