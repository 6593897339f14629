//! A request body decoded according to its op code.

use bytes::{Bytes, BytesMut};

use crate::codes::OpCode;
use crate::jute::{DecodeError, Jute};
use crate::multi::{CreateOp, MultiOp, MultiRequest};
use crate::records::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, DeleteRequest,
    GetSaslRequest, PathRequest, PathWatchRequest, ReconfigRequest, RemoveWatchesRequest,
    SetAclRequest, SetDataRequest, SetWatches, SetWatches2,
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
    Sync(PathRequest),
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
            OpCode::SetWatches => {
                let v1 = SetWatches::read(input)?;
                Request::SetWatches(SetWatches2 {
                    relative_zxid: v1.relative_zxid,
                    data_watches: v1.data_watches,
                    exist_watches: v1.exist_watches,
                    child_watches: v1.child_watches,
                    ..SetWatches2::default()
                })
            }
            OpCode::SetWatches2 => Request::SetWatches(Jute::read(input)?),
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
            Request::DeleteContainer(r)
            | Request::GetAcl(r)
            | Request::Sync(r)
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
