//! ZooKeeper's logged transactions as Ferrokeeper's: the same changes with the same
//! absolute values (new versions, the parent's child counter), for the one state
//! machine to apply — the cases of ZooKeeper's DataTree.processTxn.

use bytes::Bytes;
use ferrokeeper_protocol::records::persistence::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, MultiTxn, SetAclTxn, SetDataTxn,
};
use ferrokeeper_protocol::{ErrorCode, Jute, OpCode};

use super::password::zookeeper_password;
use super::txn_log::ZkEntry;
use crate::state_machine::tree::{DataTree, NodeKind};
use crate::state_machine::txn::{Txn, TxnOp};

pub fn convert(entry: &ZkEntry, tree: &DataTree) -> Result<Txn, String> {
    let header = &entry.header;
    let op = op(header.op_type, entry.body.clone(), header.client_id, tree)?;
    Ok(Txn {
        zxid: header.zxid,
        time: header.time,
        session_id: header.client_id,
        op,
    })
}

/// The record after the header; what follows it (the digest) is not needed.
fn read<T: Jute>(body: &mut Bytes, what: &str) -> Result<T, String> {
    T::read(body).map_err(|e| format!("{what}: {e}"))
}

fn op(op_type: i32, mut body: Bytes, session: i64, tree: &DataTree) -> Result<TxnOp, String> {
    let code =
        OpCode::try_from(op_type).map_err(|_| format!("unknown transaction type {op_type}"))?;
    Ok(match code {
        OpCode::CreateSession => {
            let txn: CreateSessionTxn = read(&mut body, "CreateSessionTxn")?;
            TxnOp::CreateSession {
                session_id: session,
                timeout_ms: txn.time_out,
                password: zookeeper_password(session),
            }
        }
        OpCode::CloseSession => {
            // The list is absent before ZooKeeper 3.6; the tree knows them either way.
            let mut ephemerals = CloseSessionTxn::read(&mut body)
                .map(|txn| txn.paths_to_delete)
                .unwrap_or_default();
            for path in tree.ephemerals_of(session) {
                if !ephemerals.iter().any(|listed| listed == path) {
                    ephemerals.push(path.to_owned());
                }
            }
            TxnOp::CloseSession {
                session_id: session,
                ephemerals,
            }
        }
        OpCode::Create | OpCode::Create2 => {
            let txn: CreateTxn = read(&mut body, "CreateTxn (ZooKeeper 3.3 or later)")?;
            let owner = if txn.ephemeral { session } else { 0 };
            create(
                txn.path,
                txn.data,
                txn.acl,
                owner,
                txn.parent_cversion,
                code,
            )
        }
        OpCode::CreateTtl => {
            let txn: CreateTtlTxn = read(&mut body, "CreateTTLTxn")?;
            let owner = NodeKind::Ttl(txn.ttl).owner();
            create(
                txn.path,
                txn.data,
                txn.acl,
                owner,
                txn.parent_cversion,
                code,
            )
        }
        OpCode::CreateContainer => {
            let txn: CreateContainerTxn = read(&mut body, "CreateContainerTxn")?;
            let owner = NodeKind::Container.owner();
            create(
                txn.path,
                txn.data,
                txn.acl,
                owner,
                txn.parent_cversion,
                code,
            )
        }
        OpCode::Delete | OpCode::DeleteContainer => {
            let txn: DeleteTxn = read(&mut body, "DeleteTxn")?;
            TxnOp::Delete { path: txn.path }
        }
        OpCode::SetData | OpCode::Reconfig => {
            let txn: SetDataTxn = read(&mut body, "SetDataTxn")?;
            TxnOp::SetData {
                path: txn.path,
                data: txn.data,
                version: txn.version,
            }
        }
        OpCode::SetAcl => {
            let txn: SetAclTxn = read(&mut body, "SetACLTxn")?;
            TxnOp::SetAcl {
                path: txn.path,
                acl: txn.acl,
                aversion: txn.version,
            }
        }
        OpCode::Check => {
            let txn: CheckVersionTxn = read(&mut body, "CheckVersionTxn")?;
            TxnOp::Check { path: txn.path }
        }
        OpCode::Error => TxnOp::Error(error_code(read(&mut body, "ErrorTxn")?)),
        OpCode::Multi => multi(read(&mut body, "MultiTxn")?, session, tree)?,
        other => return Err(format!("{other:?} is not a transaction type")),
    })
}

fn create(
    path: String,
    data: Option<Bytes>,
    acl: Vec<ferrokeeper_protocol::records::Acl>,
    ephemeral_owner: i64,
    parent_cversion: i32,
    code: OpCode,
) -> TxnOp {
    TxnOp::Create {
        path,
        data,
        acl,
        ephemeral_owner,
        parent_cversion,
        with_stat: code != OpCode::Create,
    }
}

fn error_code(txn: ErrorTxn) -> ErrorCode {
    ErrorCode::try_from(txn.err).unwrap_or(ErrorCode::SystemError)
}

/// A multi whose parts include an error applies nothing: the parts before the first
/// error read OK, those after it RuntimeInconsistency, as ZooKeeper replays it.
fn multi(txn: MultiTxn, session: i64, tree: &DataTree) -> Result<TxnOp, String> {
    let failed = txn
        .txns
        .iter()
        .any(|part| part.op_type == OpCode::Error.code());
    let mut after_error = false;
    let mut ops = Vec::with_capacity(txn.txns.len());
    for part in txn.txns {
        let mut body = part.data.unwrap_or_default();
        ops.push(if part.op_type == OpCode::Error.code() {
            after_error = true;
            TxnOp::Error(error_code(read(&mut body, "ErrorTxn in a multi")?))
        } else if failed {
            TxnOp::Error(if after_error {
                ErrorCode::RuntimeInconsistency
            } else {
                ErrorCode::Ok
            })
        } else if part.op_type == OpCode::Multi.code() {
            return Err("a multi nested in a multi".into());
        } else {
            op(part.op_type, body, session, tree)?
        });
    }
    Ok(TxnOp::Multi(ops))
}
