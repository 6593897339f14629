//! multi (op 14) and multiRead (op 22) framing — MultiOperationRecord and MultiResponse
//! in ZooKeeper, written by hand there too: each sub-op or result is a [`MultiHeader`]
//! followed by its body, and a header with `done = true` ends the list.

use bytes::{Bytes, BytesMut};

use crate::codes::OpCode;
use crate::jute::{refuse_null, DecodeError, Jute, NullField};
use crate::records::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, MultiHeader,
    PathWatchRequest, SetDataRequest, Stat,
};

/// Any create: ops 1, 15, 19 (CreateRequest) and 21 (CreateTTLRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOp {
    pub op: OpCode,
    pub path: String,
    pub data: Option<Bytes>,
    pub acl: Vec<crate::records::Acl>,
    pub flags: i32,
    /// -1 unless `op` is createTTL, as in ZooKeeper's `Op.Create`.
    pub ttl: i64,
}

impl CreateOp {
    pub fn read(op: OpCode, input: &mut Bytes) -> Result<Self, DecodeError> {
        if op == OpCode::CreateTtl {
            let r = CreateTtlRequest::read(input)?;
            Ok(CreateOp {
                op,
                path: r.path,
                data: r.data,
                acl: r.acl,
                flags: r.flags,
                ttl: r.ttl,
            })
        } else {
            let r = CreateRequest::read(input)?;
            Ok(CreateOp {
                op,
                path: r.path,
                data: r.data,
                acl: r.acl,
                flags: r.flags,
                ttl: -1,
            })
        }
    }

    pub fn write(&self, out: &mut BytesMut) {
        self.path.write(out);
        self.data.write(out);
        self.acl.write(out);
        self.flags.write(out);
        if self.op == OpCode::CreateTtl {
            self.ttl.write(out);
        }
    }
}

/// One sub-op of a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    Create(CreateOp),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetData(PathWatchRequest),
    GetChildren(PathWatchRequest),
}

impl MultiOp {
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(c) => c.op,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetData(_) => OpCode::GetData,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetData(_) | MultiOp::GetChildren(_))
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(c) => &c.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetData(r) | MultiOp::GetChildren(r) => &r.path,
        }
    }

    fn read(op: i32, input: &mut Bytes) -> Result<Self, DecodeError> {
        let op = OpCode::try_from(op)?;
        // Every op starts with its path, which ZooKeeper's multi uses unchecked.
        refuse_null(input, NullField::Path)?;
        Ok(match op {
            // A bad create mode is not a decoding error: ZooKeeper 3.8 fails that sub-op
            // with BadArguments and rolls the multi back.
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                MultiOp::Create(CreateOp::read(op, input)?)
            }
            OpCode::Delete => MultiOp::Delete(DeleteRequest::read(input)?),
            OpCode::SetData => MultiOp::SetData(SetDataRequest::read(input)?),
            OpCode::Check => MultiOp::Check(CheckVersionRequest::read(input)?),
            OpCode::GetData => MultiOp::GetData(PathWatchRequest::read(input)?),
            OpCode::GetChildren => MultiOp::GetChildren(PathWatchRequest::read(input)?),
            other => return Err(DecodeError::UnknownOpCode(other.code())),
        })
    }

    fn write_body(&self, out: &mut BytesMut) {
        match self {
            MultiOp::Create(c) => c.write(out),
            MultiOp::Delete(r) => r.write(out),
            MultiOp::SetData(r) => r.write(out),
            MultiOp::Check(r) => r.write(out),
            MultiOp::GetData(r) | MultiOp::GetChildren(r) => r.write(out),
        }
    }
}

const TERMINATOR: MultiHeader = MultiHeader {
    op: -1,
    done: true,
    err: -1,
};

/// The sub-ops of a multi or multiRead. Mixing reads and writes is refused, as in
/// ZooKeeper ("Mixing different kind of ops").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

impl Jute for MultiRequest {
    fn write(&self, out: &mut BytesMut) {
        for op in &self.ops {
            MultiHeader {
                op: op.op_code().code(),
                done: false,
                err: -1,
            }
            .write(out);
            op.write_body(out);
        }
        TERMINATOR.write(out);
    }

    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        let mut ops: Vec<MultiOp> = Vec::new();
        loop {
            let header = MultiHeader::read(input)?;
            if header.done {
                return Ok(MultiRequest { ops });
            }
            let op = MultiOp::read(header.op, input)?;
            if ops
                .first()
                .is_some_and(|first| first.is_read() != op.is_read())
            {
                return Err(DecodeError::Malformed(
                    "mixing reads and writes in one multi",
                ));
            }
            ops.push(op);
        }
    }
}

/// One result of a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// Result of a plain create (op 1): the path only.
    Create {
        path: String,
    },
    /// Result of create2, createContainer and createTTL.
    Create2 {
        path: String,
        stat: Stat,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetData {
        data: Option<Bytes>,
        stat: Stat,
    },
    GetChildren {
        children: Vec<String>,
    },
    /// A failed sub-op, or any sub-op of a multi that failed as a whole.
    Error {
        err: i32,
    },
}

impl MultiResult {
    fn op(&self) -> OpCode {
        match self {
            MultiResult::Create { .. } => OpCode::Create,
            MultiResult::Create2 { .. } => OpCode::Create2,
            MultiResult::Delete => OpCode::Delete,
            MultiResult::SetData { .. } => OpCode::SetData,
            MultiResult::Check => OpCode::Check,
            MultiResult::GetData { .. } => OpCode::GetData,
            MultiResult::GetChildren { .. } => OpCode::GetChildren,
            MultiResult::Error { .. } => OpCode::Error,
        }
    }
}

/// The results of a multi or multiRead, one per sub-op.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<MultiResult>,
}

impl Jute for MultiResponse {
    fn write(&self, out: &mut BytesMut) {
        for result in &self.results {
            let err = match result {
                MultiResult::Error { err } => *err,
                _ => 0,
            };
            MultiHeader {
                op: result.op().code(),
                done: false,
                err,
            }
            .write(out);
            match result {
                MultiResult::Create { path } => path.write(out),
                MultiResult::Create2 { path, stat } => {
                    path.write(out);
                    stat.write(out);
                }
                MultiResult::Delete | MultiResult::Check => {}
                MultiResult::SetData { stat } => stat.write(out),
                MultiResult::GetData { data, stat } => {
                    data.write(out);
                    stat.write(out);
                }
                MultiResult::GetChildren { children } => children.write(out),
                MultiResult::Error { err } => err.write(out),
            }
        }
        TERMINATOR.write(out);
    }

    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        let mut results = Vec::new();
        loop {
            let header = MultiHeader::read(input)?;
            if header.done {
                return Ok(MultiResponse { results });
            }
            results.push(match OpCode::try_from(header.op)? {
                OpCode::Create => MultiResult::Create {
                    path: String::read(input)?,
                },
                OpCode::Create2 => MultiResult::Create2 {
                    path: String::read(input)?,
                    stat: Stat::read(input)?,
                },
                OpCode::Delete => MultiResult::Delete,
                OpCode::SetData => MultiResult::SetData {
                    stat: Stat::read(input)?,
                },
                OpCode::Check => MultiResult::Check,
                OpCode::GetData => MultiResult::GetData {
                    data: Option::<Bytes>::read(input)?,
                    stat: Stat::read(input)?,
                },
                OpCode::GetChildren => MultiResult::GetChildren {
                    children: Vec::<String>::read(input)?,
                },
                OpCode::Error => MultiResult::Error {
                    err: i32::read(input)?,
                },
                other => return Err(DecodeError::UnknownOpCode(other.code())),
            });
        }
    }
}
