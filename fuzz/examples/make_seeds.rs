//! Regenerates the seed corpora of `txn_codec`, `snapshot_read`, `log_segments` and
//! `snapshot_file` from real encoder and writer output: `cargo run --example
//! make_seeds` (from `fuzz/`).

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
use ferrokeeper_storage::{Entry, Log, LogOptions, SnapshotOptions, SnapshotWriter};

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
    log_segment_seeds(&txns);
    snapshot_file_seeds(&image);
}

/// A scratch directory for the real writers.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrokeeper-seeds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The files of `dir` whose names start with `prefix`, in name order, concatenated.
fn concatenated(dir: &std::path::Path, prefix: &str) -> Vec<u8> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect()
}

/// `log_segments` (first byte: 0 raw files, strict; 2 raw files, truncating; 1 a
/// recipe): two segments the real `Log` wrote (the second with preallocated zeros),
/// the same with a torn last record, with damage before a good record, and a recipe.
fn log_segment_seeds(txns: &[Txn]) {
    let dir = scratch("log");
    let opts = LogOptions {
        prealloc_size: 64,
        ..LogOptions::default()
    };
    let (mut log, _) = Log::open(&dir, opts).unwrap();
    let (first, second) = txns.split_at(txns.len() / 2);
    let entry = |(i, txn): (usize, &Txn)| Entry::new(i as i64 + 1, txn_codec::encode(txn));
    let entries: Vec<Entry> = txns.iter().enumerate().map(entry).collect();
    log.append(&entries[..first.len()]).unwrap();
    log.sync().unwrap();
    log.roll().unwrap();
    log.append(&entries[first.len()..first.len() + second.len()])
        .unwrap();
    log.sync().unwrap();
    drop(log);
    let files = concatenated(&dir, "log.0");
    let _ = std::fs::remove_dir_all(&dir);
    let out = "corpus/log_segments";
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(format!("{out}/two-segments"), [&[0][..], &files].concat()).unwrap();
    let written = files.iter().rposition(|&b| b != 0).unwrap() + 1;
    let torn = &files[..written - 5];
    std::fs::write(format!("{out}/torn-tail"), [&[0][..], torn].concat()).unwrap();
    let mut damaged = files.clone();
    damaged[files.len() / 2] ^= 0x40;
    std::fs::write(
        format!("{out}/damaged-truncating"),
        [&[2][..], &damaged].concat(),
    )
    .unwrap();
    // Records 1..=4, a new linked segment, a record, a skip, stray bytes, zero padding.
    let record =
        |step: u8, payload: &[u8]| [&[4 | step << 3, payload.len() as u8][..], payload].concat();
    let recipe = [
        &[1][..],
        &record(3, b"one"),
        &record(3, b"two"),
        &record(3, b""),
        &record(3, b"four"),
        &[0],
        &record(3, b"five"),
        &record(1, b"skip"),
        &[1 | 3 << 3, 0xde, 0xad, 0xbe],
        &[3 | 2 << 3],
    ]
    .concat();
    std::fs::write(format!("{out}/recipe"), recipe).unwrap();
}

/// `snapshot_file` (first byte: 0 the file as is, 1 with its checksums recomputed):
/// the server's snapshot image written by the real `SnapshotWriter`, plain and zstd.
fn snapshot_file_seeds(image: &[u8]) {
    let out = "corpus/snapshot_file";
    std::fs::create_dir_all(out).unwrap();
    for (name, zstd_level, control) in [
        ("plain", None, 0u8),
        ("zstd", Some(3), 0),
        ("zstd-fixed", Some(3), 1),
    ] {
        let dir = scratch(name);
        let mut writer = SnapshotWriter::create(&dir, 12, SnapshotOptions { zstd_level }).unwrap();
        std::io::Write::write_all(&mut writer, image).unwrap();
        let info = writer.finish().unwrap();
        let file = std::fs::read(&info.path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::write(format!("{out}/{name}"), [&[control][..], &file].concat()).unwrap();
    }
}
