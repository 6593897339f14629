//! Regenerates the seed corpora of `txn_codec` and `snapshot_read` from real encoder
//! output: `cargo run --example make_seeds` (from `fuzz/`).

use bytes::Bytes;
use ferrokeeper::auth::AuthIds;
use ferrokeeper::persist::snapshot::{self, SessionRecord};
use ferrokeeper::persist::txn_codec;
use ferrokeeper::pipeline::pending::Pending;
use ferrokeeper::pipeline::prep::PrepContext;
use ferrokeeper::state_machine::apply::Applier;
use ferrokeeper::state_machine::tree::DataTree;
use ferrokeeper::state_machine::SessionTable;
use ferrokeeper::state_machine::{Txn, TxnOp};
use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
use ferrokeeper_protocol::records::{Acl, DeleteRequest, SetAclRequest, SetDataRequest};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{OpCode, Perms};

fn main() {
    let open = || vec![Acl::new(Perms::ALL, "world", "anyone")];
    let create = |path: &str, flags: i32, op: OpCode, ttl: i64| CreateOp {
        op,
        path: path.to_owned(),
        data: Some(Bytes::from_static(b"seed")),
        acl: open(),
        flags,
        ttl,
    };
    let requests = vec![
        Request::Create(create("/app", 0, OpCode::Create, -1)),
        Request::Create(create("/app/eph", 1, OpCode::Create2, -1)),
        Request::Create(create("/app/seq-", 2, OpCode::Create, -1)),
        Request::Create(create("/box", 4, OpCode::CreateContainer, -1)),
        Request::Create(create("/ttl", 5, OpCode::CreateTtl, 1000)),
        Request::SetData(SetDataRequest {
            path: "/app".into(),
            data: Some(Bytes::from_static(b"v2")),
            version: 0,
        }),
        Request::SetAcl(SetAclRequest {
            path: "/app".into(),
            acl: vec![Acl::new(Perms::ALL, "digest", "u:hash")],
            version: -1,
        }),
        Request::Multi(vec![
            MultiOp::Create(create("/m", 0, OpCode::Create, -1)),
            MultiOp::Delete(DeleteRequest {
                path: "/nope".into(),
                version: -1,
            }),
        ]),
        Request::Delete(DeleteRequest {
            path: "/box".into(),
            version: -1,
        }),
    ];
    let mut tree = DataTree::new();
    let sessions = SessionTable::default();
    let auth = AuthIds::default();
    let session_id = 0x100;
    let mut txns = vec![Txn {
        zxid: 1,
        time: 1,
        session_id,
        op: TxnOp::CreateSession {
            session_id,
            timeout_ms: 10_000,
            password: [7; 16],
        },
    }];
    for (i, request) in requests.iter().enumerate() {
        let zxid = i as i64 + 2;
        let mut pending = Pending::default();
        let op = PrepContext {
            tree: &tree,
            pending: &mut pending,
            zxid,
            session_id,
            auth: &auth,
            extended_types: true,
        }
        .prepare(request);
        txns.push(Txn {
            zxid,
            time: zxid,
            session_id,
            op,
        });
        Applier {
            tree: &mut tree,
            sessions: &sessions,
            events: Vec::new(),
        }
        .apply(txns.last().unwrap());
    }
    let close = {
        let mut pending = Pending::default();
        PrepContext {
            tree: &tree,
            pending: &mut pending,
            zxid: 100,
            session_id,
            auth: &auth,
            extended_types: true,
        }
        .close_session(session_id)
    };
    txns.push(Txn {
        zxid: 100,
        time: 100,
        session_id,
        op: close,
    });
    std::fs::create_dir_all("corpus/txn_codec").unwrap();
    for txn in &txns {
        // The target reads the zxid from the first 8 bytes.
        let mut seed = txn.zxid.to_be_bytes().to_vec();
        seed.extend_from_slice(&txn_codec::encode(txn));
        std::fs::write(format!("corpus/txn_codec/zxid-{}", txn.zxid), seed).unwrap();
    }
    let mut image = Vec::new();
    let records = [SessionRecord {
        id: session_id,
        timeout_ms: 10_000,
        password: [7; 16],
    }];
    snapshot::write(&tree, &records, &mut image).unwrap();
    std::fs::create_dir_all("corpus/snapshot_read").unwrap();
    std::fs::write("corpus/snapshot_read/tree", &image).unwrap();
    let mut empty = Vec::new();
    snapshot::write(&DataTree::new(), &[], &mut empty).unwrap();
    std::fs::write("corpus/snapshot_read/empty", &empty).unwrap();
    println!(
        "{} txn seeds, snapshots of {} and {} bytes",
        txns.len(),
        image.len(),
        empty.len()
    );
}
