//! The bytes of a transaction in the log: a type tag (ZooKeeper's txn type numbers),
//! the time and session, then the op's fields, all in Jute encoding. The zxid is the
//! log entry's own.

use bytes::{Bytes, BytesMut};
use ferrokeeper_protocol::records::Acl;
use ferrokeeper_protocol::{DecodeError, ErrorCode, Jute, OpCode};

use crate::state_machine::PASSWORD_LEN;
use crate::state_machine::{Txn, TxnOp};

pub fn encode(txn: &Txn) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    txn.time.write(&mut out);
    txn.session_id.write(&mut out);
    encode_op(&txn.op, &mut out);
    out.freeze()
}

fn encode_op(op: &TxnOp, out: &mut BytesMut) {
    match op {
        TxnOp::CreateSession {
            session_id,
            timeout_ms,
            password,
        } => {
            OpCode::CreateSession.code().write(out);
            session_id.write(out);
            timeout_ms.write(out);
            Some(Bytes::copy_from_slice(password)).write(out);
        }
        TxnOp::CloseSession {
            session_id,
            ephemerals,
        } => {
            OpCode::CloseSession.code().write(out);
            session_id.write(out);
            ephemerals.write(out);
        }
        TxnOp::Create {
            path,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
            with_stat,
        } => {
            OpCode::Create.code().write(out);
            path.write(out);
            data.write(out);
            acl.write(out);
            ephemeral_owner.write(out);
            parent_cversion.write(out);
            with_stat.write(out);
        }
        TxnOp::Delete { path } => {
            OpCode::Delete.code().write(out);
            path.write(out);
        }
        TxnOp::SetData {
            path,
            data,
            version,
        } => {
            OpCode::SetData.code().write(out);
            path.write(out);
            data.write(out);
            version.write(out);
        }
        TxnOp::SetAcl {
            path,
            acl,
            aversion,
        } => {
            OpCode::SetAcl.code().write(out);
            path.write(out);
            acl.write(out);
            aversion.write(out);
        }
        TxnOp::Check { path } => {
            OpCode::Check.code().write(out);
            path.write(out);
        }
        TxnOp::Multi(ops) => {
            OpCode::Multi.code().write(out);
            (ops.len() as i32).write(out);
            for op in ops {
                encode_op(op, out);
            }
        }
        TxnOp::Error(err) => {
            OpCode::Error.code().write(out);
            err.code().write(out);
        }
    }
}

pub fn decode(zxid: i64, mut payload: Bytes) -> Result<Txn, DecodeError> {
    let input = &mut payload;
    let time = i64::read(input)?;
    let session_id = i64::read(input)?;
    let op = decode_op(input, 0)?;
    Ok(Txn {
        zxid,
        time,
        session_id,
        op,
    })
}

fn decode_op(input: &mut Bytes, depth: u32) -> Result<TxnOp, DecodeError> {
    let tag = i32::read(input)?;
    Ok(match OpCode::try_from(tag)? {
        OpCode::CreateSession => TxnOp::CreateSession {
            session_id: i64::read(input)?,
            timeout_ms: i32::read(input)?,
            password: {
                let raw = Option::<Bytes>::read(input)?.unwrap_or_default();
                raw[..]
                    .try_into()
                    .map_err(|_| DecodeError::Malformed("session password is not 16 bytes"))?
            },
        },
        OpCode::CloseSession => TxnOp::CloseSession {
            session_id: i64::read(input)?,
            ephemerals: Vec::<String>::read(input)?,
        },
        OpCode::Create => TxnOp::Create {
            path: String::read(input)?,
            data: Option::<Bytes>::read(input)?,
            acl: Vec::<Acl>::read(input)?,
            ephemeral_owner: i64::read(input)?,
            parent_cversion: i32::read(input)?,
            with_stat: bool::read(input)?,
        },
        OpCode::Delete => TxnOp::Delete {
            path: String::read(input)?,
        },
        OpCode::SetData => TxnOp::SetData {
            path: String::read(input)?,
            data: Option::<Bytes>::read(input)?,
            version: i32::read(input)?,
        },
        OpCode::SetAcl => TxnOp::SetAcl {
            path: String::read(input)?,
            acl: Vec::<Acl>::read(input)?,
            aversion: i32::read(input)?,
        },
        OpCode::Check => TxnOp::Check {
            path: String::read(input)?,
        },
        OpCode::Multi if depth == 0 => {
            let count = i32::read(input)?;
            let count = usize::try_from(count).map_err(|_| DecodeError::BadLength(count))?;
            let mut ops = Vec::with_capacity(count.min(input.len()));
            for _ in 0..count {
                ops.push(decode_op(input, depth + 1)?);
            }
            TxnOp::Multi(ops)
        }
        OpCode::Error => TxnOp::Error(ErrorCode::try_from(i32::read(input)?)?),
        other => return Err(DecodeError::UnknownOpCode(other.code())),
    })
}

const _: () = assert!(PASSWORD_LEN == 16);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokeeper_protocol::Perms;

    fn round_trip(op: TxnOp) {
        let txn = Txn {
            zxid: 0x1_0000_0007,
            time: 1_700_000_000_123,
            session_id: 0x0100_0000_0000_0042,
            op,
        };
        assert_eq!(decode(txn.zxid, encode(&txn)).unwrap(), txn);
    }

    #[test]
    fn every_txn_op_round_trips() {
        let acl = vec![Acl::new(Perms::ALL, "world", "anyone")];
        round_trip(TxnOp::CreateSession {
            session_id: 5,
            timeout_ms: 30_000,
            password: [7; 16],
        });
        round_trip(TxnOp::CloseSession {
            session_id: 5,
            ephemerals: vec!["/a".into(), "/b/c".into()],
        });
        round_trip(TxnOp::Create {
            path: "/a".into(),
            data: None,
            acl: acl.clone(),
            ephemeral_owner: i64::MIN,
            parent_cversion: 3,
            with_stat: true,
        });
        round_trip(TxnOp::Multi(vec![
            TxnOp::Create {
                path: "/m".into(),
                data: Some(Bytes::from_static(b"x")),
                acl: acl.clone(),
                ephemeral_owner: 0,
                parent_cversion: 1,
                with_stat: false,
            },
            TxnOp::SetData {
                path: "/m".into(),
                data: Some(Bytes::new()),
                version: 1,
            },
            TxnOp::SetAcl {
                path: "/m".into(),
                acl,
                aversion: 1,
            },
            TxnOp::Check { path: "/m".into() },
            TxnOp::Delete { path: "/m".into() },
        ]));
        round_trip(TxnOp::Multi(vec![
            TxnOp::Error(ErrorCode::Ok),
            TxnOp::Error(ErrorCode::NoNode),
            TxnOp::Error(ErrorCode::RuntimeInconsistency),
        ]));
        round_trip(TxnOp::Error(ErrorCode::BadVersion));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..40 {
            let _ = decode(1, Bytes::from(vec![0xff; len]));
        }
        let nested = encode(&Txn {
            zxid: 1,
            time: 0,
            session_id: 0,
            op: TxnOp::Multi(vec![TxnOp::Multi(vec![])]),
        });
        assert!(decode(1, nested).is_err(), "multi inside multi is refused");
    }
}
