//! Encoding of write results and the handshake answer into reply frames.

use bytes::BytesMut;
use ferrokeeper_protocol::frame::{write_frame, WriteJute};
use ferrokeeper_protocol::multi::{MultiResponse, MultiResult};
use ferrokeeper_protocol::records::{
    ConnectResponse, Create2Response, CreateResponse, StatResponse,
};
use ferrokeeper_protocol::{ErrorCode, Jute};

use crate::net::conn::Conn;
use crate::state_machine::apply::OpResult;

/// An error answer decided before a request is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub err: ErrorCode,
    /// Answer with an empty list of results: a multi ZooKeeper fails before it becomes
    /// a transaction (a null path in one of its ops) is answered so.
    pub empty_multi: bool,
}

impl Refusal {
    pub fn new(err: ErrorCode) -> Refusal {
        Refusal {
            err,
            empty_multi: false,
        }
    }

    pub fn send(&self, conn: &Conn, xid: i32, zxid: i64) {
        let results = self.empty_multi.then(MultiResponse::default);
        conn.reply(
            xid,
            zxid,
            self.err,
            results.as_ref().map(|r| r as &dyn WriteJute),
        );
    }
}

/// Queues the answer to a write. Errors carry no body, which every client expects.
pub fn write_result(conn: &Conn, xid: i32, zxid: i64, result: &OpResult) {
    match result {
        OpResult::Error(err) => conn.reply(xid, zxid, *err, None),
        OpResult::Created {
            path,
            stat,
            with_stat: true,
        } => conn.reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&Create2Response {
                path: path.clone(),
                stat: stat.clone(),
            }),
        ),
        OpResult::Created { path, .. } => conn.reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&CreateResponse { path: path.clone() }),
        ),
        OpResult::DataSet(stat) | OpResult::AclSet(stat) => conn.reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&StatResponse { stat: stat.clone() }),
        ),
        OpResult::Multi(results) => conn.reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&MultiResponse {
                results: results.iter().map(multi_result).collect(),
            }),
        ),
        OpResult::Deleted
        | OpResult::Checked
        | OpResult::SessionCreated(_)
        | OpResult::SessionClosed(_) => conn.reply(xid, zxid, ErrorCode::Ok, None),
    }
}

/// A sub-result mirrors its sub-op: plain creates answer with the path only.
fn multi_result(result: &OpResult) -> MultiResult {
    match result {
        OpResult::Created {
            path,
            stat,
            with_stat: true,
        } => MultiResult::Create2 {
            path: path.clone(),
            stat: stat.clone(),
        },
        OpResult::Created { path, .. } => MultiResult::Create { path: path.clone() },
        OpResult::Deleted => MultiResult::Delete,
        OpResult::DataSet(stat) => MultiResult::SetData { stat: stat.clone() },
        OpResult::Checked => MultiResult::Check,
        OpResult::Error(err) => MultiResult::Error { err: err.code() },
        OpResult::AclSet(_)
        | OpResult::Multi(_)
        | OpResult::SessionCreated(_)
        | OpResult::SessionClosed(_) => MultiResult::Error {
            err: ErrorCode::SystemError.code(),
        },
    }
}

/// The handshake answer travels without a reply header.
pub fn write_connect_response(out: &mut BytesMut, response: &ConnectResponse) {
    write_frame(out, |out| response.write(out));
}
