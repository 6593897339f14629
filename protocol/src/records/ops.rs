//! Request and response bodies of the client ops.

use bytes::Bytes;

use super::{Acl, ClientInfo, Stat};
use crate::jute_record;

jute_record! {
    /// create, create2, createContainer (ops 1, 15, 19); `flags` is a [`crate::CreateMode`].
    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }
}

jute_record! {
    /// createTTL (op 21).
    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }
}

jute_record! {
    /// Answer to create (op 1): the actual path, with any sequence suffix.
    pub struct CreateResponse {
        pub path: String,
    }
}

jute_record! {
    /// Answer to create2, createContainer and createTTL.
    pub struct Create2Response {
        pub path: String,
        pub stat: Stat,
    }
}

jute_record! {
    /// delete (op 2); version -1 matches any.
    pub struct DeleteRequest {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    /// setData (op 5); version -1 matches any.
    pub struct SetDataRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }
}

jute_record! {
    /// Answer to setData, and to exists (whose ExistsResponse has the same bytes).
    pub struct StatResponse {
        pub stat: Stat,
    }
}

jute_record! {
    /// check (op 13, only inside a multi).
    pub struct CheckVersionRequest {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    /// exists, getData, getChildren, getChildren2 (ops 3, 4, 8, 12).
    pub struct PathWatchRequest {
        pub path: String,
        pub watch: bool,
    }
}

jute_record! {
    /// Requests that carry only a path: getACL, sync, getAllChildrenNumber,
    /// getEphemerals (its prefix), deleteContainer (a `buffer` with the same bytes).
    pub struct PathRequest {
        pub path: String,
    }
}

jute_record! {
    /// Answer to getData (op 4).
    pub struct GetDataResponse {
        pub data: Option<Bytes>,
        pub stat: Stat,
    }
}

jute_record! {
    /// Answer to getChildren (op 8): child names, not full paths.
    pub struct GetChildrenResponse {
        pub children: Vec<String>,
    }
}

jute_record! {
    /// Answer to getChildren2 (op 12).
    pub struct GetChildren2Response {
        pub children: Vec<String>,
        pub stat: Stat,
    }
}

jute_record! {
    /// Answer to getACL (op 6).
    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }
}

jute_record! {
    /// setACL (op 7); version is checked against the node's aversion.
    pub struct SetAclRequest {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

jute_record! {
    /// sync (op 9). ZooKeeper echoes the path without using it, so a null one stays
    /// null.
    pub struct SyncRequest {
        pub path: Option<String>,
    }
}

jute_record! {
    /// Answer to sync (op 9): the path, echoed.
    pub struct SyncResponse {
        pub path: Option<String>,
    }
}

jute_record! {
    /// Answer to getAllChildrenNumber (op 104): all descendants, not counting the node.
    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }
}

jute_record! {
    /// Answer to getEphemerals (op 103): full paths.
    pub struct GetEphemeralsResponse {
        pub ephemerals: Vec<String>,
    }
}

jute_record! {
    /// Answer to whoAmI (op 107).
    pub struct WhoAmIResponse {
        pub client_info: Vec<ClientInfo>,
    }
}

jute_record! {
    /// auth (op 100, xid -4).
    pub struct AuthPacket {
        pub auth_type: i32,
        pub scheme: String,
        pub auth: Option<Bytes>,
    }
}

jute_record! {
    /// sasl (op 102).
    pub struct GetSaslRequest {
        pub token: Option<Bytes>,
    }
}

jute_record! {
    /// Answer to sasl (op 102).
    pub struct SetSaslResponse {
        pub token: Option<Bytes>,
    }
}

jute_record! {
    /// reconfig (op 16).
    pub struct ReconfigRequest {
        pub joining_servers: String,
        pub leaving_servers: String,
        pub new_members: String,
        pub cur_config_id: i64,
    }
}

jute_record! {
    /// A bare error code: the body of a multi error result, and of addWatch's answer.
    pub struct ErrorResponse {
        pub err: i32,
    }
}
