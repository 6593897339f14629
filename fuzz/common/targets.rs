//! The fuzz targets' bodies, shared by the libFuzzer binaries (`fuzz_targets/`) and
//! the bounded stable-toolchain run in `server/tests/fuzz_corpus.rs`. Each function
//! takes one input and panics on a bug.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use ferrokeeper::state_machine::tree::DataTree;
use ferrokeeper::state_machine::SessionTable;
use ferrokeeper_protocol::frame::{take_frame, DEFAULT_JUTE_MAXBUFFER};
use ferrokeeper_protocol::records::{ConnectRequest, RequestHeader};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{Jute, OpCode};

#[path = "log_segments.rs"]
mod log_segments;
#[path = "memory_fs.rs"]
mod memory_fs;
#[path = "requests.rs"]
mod requests;
#[path = "snapshot_file.rs"]
mod snapshot_file;
#[path = "state_machine.rs"]
mod state_machine;
#[path = "tree_invariants.rs"]
mod tree_invariants;
#[path = "watch_model.rs"]
mod watch_model;

// Each fuzz binary calls one target (hence also `dead_code` above).
#[allow(unused_imports)]
pub use {log_segments::log_segments, snapshot_file::snapshot_file, state_machine::state_machine};

/// A client's byte stream after the handshake: frames taken off the buffer as the
/// connection task does, each decoded as a request header and a request body;
/// whatever decodes re-encodes and decodes to the same request.
pub fn frame_request(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(mut frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let Ok(header) = RequestHeader::read(&mut frame) else {
            break;
        };
        if let Ok(op) = OpCode::try_from(header.op) {
            if let Ok(request) = Request::decode(op, frame) {
                // What decodes re-encodes, and decodes to the same request.
                let mut body = BytesMut::new();
                request.encode_body(&mut body);
                let again = Request::decode(request.op_code(), body.freeze())
                    .expect("a re-encoded request decodes");
                assert_eq!(format!("{again:?}"), format!("{request:?}"));
            }
        }
    }
}

/// The first frame of a connection: a ConnectRequest; decode ∘ encode is the identity.
pub fn connect_request(data: &[u8]) {
    // As a whole frame, and as a bare payload.
    let mut buf = BytesMut::from(data);
    if let Ok(Some(frame)) = take_frame(&mut buf, DEFAULT_JUTE_MAXBUFFER) {
        let _ = ConnectRequest::read(&mut frame.clone());
    }
    if let Ok(request) = ConnectRequest::read(&mut Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        request.write(&mut out);
        let again = ConnectRequest::read(&mut out.freeze()).expect("re-encoded decodes");
        assert_eq!(again, request);
    }
}

/// A transaction payload as the log hands it to recovery (first 8 bytes: the zxid).
pub fn txn_codec(data: &[u8]) {
    let (zxid, payload) = match data.split_first_chunk::<8>() {
        Some((zxid, rest)) => (i64::from_be_bytes(*zxid), rest),
        None => (1, data),
    };
    let _ = ferrokeeper::persist::txn_codec::decode(zxid, Bytes::copy_from_slice(payload));
}

/// A snapshot body as the loader reads it.
pub fn snapshot_read(data: &[u8]) {
    let sessions = ferrokeeper::state_machine::SessionTable::default();
    let _ = ferrokeeper::persist::snapshot::read(&mut &data[..], &sessions, 0);
}

/// zoo.cfg text, read as the server reads a config file (through a temp file).
pub fn zoo_cfg(data: &[u8]) {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir().join(format!(
            "ferrokeeper-fuzz-zoo-{}-{:?}.cfg",
            std::process::id(),
            std::thread::current().id()
        ));
    }
    PATH.with(|path| {
        std::fs::write(path, data).expect("write temp zoo.cfg");
        let _ = ferrokeeper::Config::from_file(path);
    });
}

/// Apache ZooKeeper's files as a takeover reads them; the first byte picks what the
/// rest is: a snapshot, a log file, or bare transactions (each a 2-byte length, then
/// TxnHeader and record), framed here into a log with valid checksums and consecutive
/// zxids so that they get past the framing to the converter and the state machine.
/// Garbage in must give an error, never a panic.
pub fn zookeeper_files(data: &[u8]) {
    use ferrokeeper::persist::zookeeper;
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let sessions = SessionTable::default();
    let mut tree = DataTree::new();
    let _ = match kind % 3 {
        0 => zookeeper::load_snapshot_bytes(Bytes::copy_from_slice(rest)).map(|_| 0),
        1 => zookeeper::replay_log_bytes(Bytes::copy_from_slice(rest), &mut tree, &sessions),
        _ => zookeeper::replay_log_bytes(zookeeper_log_of(rest), &mut tree, &sessions),
    };
}

/// A ZooKeeper log file holding `txns`, renumbered from zxid 1.
fn zookeeper_log_of(mut txns: &[u8]) -> Bytes {
    use bytes::BufMut;
    let mut log = BytesMut::new();
    // FileHeader: "ZKLG", version 2, dbid 0.
    log.put_i32(0x5a4b_4c47);
    log.put_i32(2);
    log.put_i64(0);
    let mut zxid = 1i64;
    while let Some((len, rest)) = txns.split_first_chunk::<2>() {
        let len = (u16::from_be_bytes(*len) as usize).min(rest.len());
        let mut txn = rest[..len].to_vec();
        txns = &rest[len..];
        // TxnHeader: clientId (8 bytes), cxid (4), zxid (8), time, type.
        if txn.len() < 20 {
            txn.resize(20, 0);
        }
        txn[12..20].copy_from_slice(&zxid.to_be_bytes());
        zxid += 1;
        log.put_i64(i64::from(adler2::adler32_slice(&txn)));
        log.put_i32(txn.len() as i32);
        log.put_slice(&txn);
        log.put_u8(b'B');
    }
    log.freeze()
}
