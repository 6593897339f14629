//! A request body decoded according to its op code.

use bytes::{Bytes, BytesMut};

use crate::codes::OpCode;
use crate::jute::{read_vec, refuse_null, DecodeError, Jute, NullField};
use crate::multi::{CreateOp, MultiOp, MultiRequest};
use crate::records::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, DeleteRequest,
    GetSaslRequest, PathRequest, PathWatchRequest, ReconfigRequest, RemoveWatchesRequest,
    SetAclRequest, SetDataRequest, SetWatches2, SyncRequest,
};

/// Every request a client can send after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateOp),
    Delete(DeleteRequest),
    DeleteContainer(PathRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    /// setWatches (101) is read into the setWatches2 shape with no persistent watches.
    SetWatches(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(PathRequest),
    GetAllChildrenNumber(PathRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

impl Request {
    /// Decodes the body that follows a request header of type `op`. Trailing bytes are
    /// ignored, as ZooKeeper's stream-based reader does.
    pub fn decode(op: OpCode, mut body: Bytes) -> Result<Request, DecodeError> {
        let input = &mut body;
        if uses_path_unchecked(op) {
            refuse_null(input, NullField::Path)?;
        }
        Ok(match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                Request::Create(CreateOp::read(op, input)?)
            }
            OpCode::Delete => Request::Delete(Jute::read(input)?),
            OpCode::DeleteContainer => Request::DeleteContainer(Jute::read(input)?),
            OpCode::Exists => Request::Exists(Jute::read(input)?),
            OpCode::GetData => Request::GetData(Jute::read(input)?),
            OpCode::SetData => Request::SetData(Jute::read(input)?),
            OpCode::GetAcl => Request::GetAcl(Jute::read(input)?),
            OpCode::SetAcl => Request::SetAcl(Jute::read(input)?),
            OpCode::GetChildren => Request::GetChildren(Jute::read(input)?),
            OpCode::GetChildren2 => Request::GetChildren2(Jute::read(input)?),
            OpCode::Sync => Request::Sync(Jute::read(input)?),
            OpCode::Ping => Request::Ping,
            OpCode::Check => Request::Check(Jute::read(input)?),
            OpCode::Multi => Request::Multi(MultiRequest::read(input)?.ops),
            OpCode::MultiRead => Request::MultiRead(MultiRequest::read(input)?.ops),
            OpCode::Reconfig => Request::Reconfig(Jute::read(input)?),
            OpCode::CheckWatches => Request::CheckWatches(Jute::read(input)?),
            OpCode::RemoveWatches => Request::RemoveWatches(Jute::read(input)?),
            OpCode::Auth => Request::Auth(Jute::read(input)?),
            OpCode::SetWatches | OpCode::SetWatches2 => {
                Request::SetWatches(read_set_watches(op, input)?)
            }
            OpCode::Sasl => Request::Sasl(Jute::read(input)?),
            OpCode::GetEphemerals => Request::GetEphemerals(Jute::read(input)?),
            OpCode::GetAllChildrenNumber => Request::GetAllChildrenNumber(Jute::read(input)?),
            OpCode::AddWatch => Request::AddWatch(Jute::read(input)?),
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::CloseSession => Request::CloseSession,
            OpCode::Notification | OpCode::CreateSession | OpCode::Error => {
                return Err(DecodeError::UnknownOpCode(op.code()))
            }
        })
    }

    /// The op code this request travels under.
    pub fn op_code(&self) -> OpCode {
        match self {
            Request::Create(c) => c.op,
            Request::Delete(_) => OpCode::Delete,
            Request::DeleteContainer(_) => OpCode::DeleteContainer,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches2,
            Request::Sasl(_) => OpCode::Sasl,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
        }
    }

    /// Encodes the body (what a client sends after the header).
    pub fn encode_body(&self, out: &mut BytesMut) {
        match self {
            Request::Create(c) => c.write(out),
            Request::Delete(r) => r.write(out),
            Request::Sync(r) => r.write(out),
            Request::DeleteContainer(r)
            | Request::GetAcl(r)
            | Request::GetEphemerals(r)
            | Request::GetAllChildrenNumber(r) => r.write(out),
            Request::Exists(r)
            | Request::GetData(r)
            | Request::GetChildren(r)
            | Request::GetChildren2(r) => r.write(out),
            Request::SetData(r) => r.write(out),
            Request::SetAcl(r) => r.write(out),
            Request::Check(r) => r.write(out),
            Request::Multi(ops) | Request::MultiRead(ops) => {
                MultiRequest { ops: ops.clone() }.write(out)
            }
            Request::Reconfig(r) => r.write(out),
            Request::CheckWatches(r) => r.write(out),
            Request::RemoveWatches(r) => r.write(out),
            Request::Auth(r) => r.write(out),
            Request::SetWatches(r) => r.write(out),
            Request::Sasl(r) => r.write(out),
            Request::AddWatch(r) => r.write(out),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }
}

/// Ops whose path (their first field) ZooKeeper uses without checking for null.
/// setData, setACL, deleteContainer, getEphemerals, addWatch and removeWatches check
/// it, or pass it along: a null path behaves as the empty one (sync echoes it null).
fn uses_path_unchecked(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Create
            | OpCode::Create2
            | OpCode::CreateContainer
            | OpCode::CreateTtl
            | OpCode::Delete
            | OpCode::Exists
            | OpCode::GetData
            | OpCode::GetAcl
            | OpCode::GetChildren
            | OpCode::GetChildren2
            | OpCode::GetAllChildrenNumber
            | OpCode::CheckWatches
    )
}

/// setWatches (101, read into the setWatches2 shape) or setWatches2 (105). ZooKeeper
/// walks every list, and looks up the node of each data, exist and child path: a null
/// list, or a null path in those three, fails the request; a null persistent path is
/// taken as the empty one.
fn read_set_watches(op: OpCode, input: &mut Bytes) -> Result<SetWatches2, DecodeError> {
    let list = |input: &mut Bytes, paths_checked: bool| {
        refuse_null(input, NullField::WatchPath)?;
        read_vec(input, |input| {
            if !paths_checked {
                refuse_null(input, NullField::WatchPath)?;
            }
            String::read(input)
        })
    };
    let mut watches = SetWatches2 {
        relative_zxid: i64::read(input)?,
        data_watches: list(input, false)?,
        exist_watches: list(input, false)?,
        child_watches: list(input, false)?,
        ..SetWatches2::default()
    };
    if op == OpCode::SetWatches2 {
        watches.persistent_watches = list(input, true)?;
        watches.persistent_recursive_watches = list(input, true)?;
    }
    Ok(watches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NULL: [u8; 4] = [0xff; 4];

    fn body(parts: &[&[u8]]) -> Bytes {
        Bytes::from(parts.concat())
    }

    fn string(s: &str) -> Vec<u8> {
        [&(s.len() as i32).to_be_bytes()[..], s.as_bytes()].concat()
    }

    #[test]
    fn a_null_path_zookeeper_uses_unchecked_is_refused() {
        let get_data = body(&[&NULL, &[0]]);
        assert_eq!(
            Request::decode(OpCode::GetData, get_data),
            Err(DecodeError::Null(NullField::Path))
        );
        // setData checks its path: a null one is the empty path (BadArguments later).
        let set_data = body(&[&NULL, &NULL, &(-1i32).to_be_bytes()]);
        let Ok(Request::SetData(r)) = Request::decode(OpCode::SetData, set_data) else {
            panic!("setData with a null path and null data decodes");
        };
        assert_eq!((r.path.as_str(), r.data), ("", None));
    }

    #[test]
    fn a_null_acl_id_is_refused_only_where_zookeeper_reads_it() {
        let set_acl = |scheme: &str| {
            let entry = [&31i32.to_be_bytes()[..], &string(scheme), &NULL].concat();
            body(&[
                &string("/a"),
                &1i32.to_be_bytes(),
                &entry,
                &0i32.to_be_bytes(),
            ])
        };
        for scheme in ["world", "digest", "ip"] {
            assert_eq!(
                Request::decode(OpCode::SetAcl, set_acl(scheme)),
                Err(DecodeError::Null(NullField::AclId)),
                "{scheme}"
            );
        }
        for scheme in ["auth", "x509"] {
            assert!(
                Request::decode(OpCode::SetAcl, set_acl(scheme)).is_ok(),
                "{scheme}"
            );
        }
    }

    #[test]
    fn set_watches_refuses_null_lists_and_null_data_exist_child_paths() {
        let empty = 0i32.to_be_bytes();
        let one_null = [&1i32.to_be_bytes()[..], &NULL].concat();
        let zxid = 0i64.to_be_bytes();
        let persistent_null = body(&[&zxid, &empty, &empty, &empty, &one_null, &one_null]);
        let Ok(Request::SetWatches(w)) = Request::decode(OpCode::SetWatches2, persistent_null)
        else {
            panic!("null persistent paths decode");
        };
        assert_eq!(w.persistent_watches, [""]);
        let data_null = body(&[&zxid, &one_null, &empty, &empty]);
        assert_eq!(
            Request::decode(OpCode::SetWatches, data_null),
            Err(DecodeError::Null(NullField::WatchPath))
        );
        let null_list = body(&[&zxid, &empty, &empty, &empty, &empty, &NULL]);
        assert_eq!(
            Request::decode(OpCode::SetWatches2, null_list),
            Err(DecodeError::Null(NullField::WatchPath))
        );
    }
}
