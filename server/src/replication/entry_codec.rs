//! The bytes of a Raft entry in the storage crate's log.
//!
//! The record's key is the entry's Raft log index plus one (the log's keys are
//! positive, and openraft's first index is 0). The payload:
//!
//! ```text
//!  0  version    u8 = 1
//!  1  kind       u8: 0 blank, 1 normal, 2 membership
//!  2  term       u64   the log id's leader: term
//! 10  leader     u64   ... and node (openraft's committed leader id is both)
//! 18  body       blank: nothing; normal: zxid i64, then the txn in
//!                `persist::txn_codec`'s encoding; membership: serde_json
//! ```
//!
//! Integers are big-endian. The log's record crc covers all of it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrokeeper_protocol::DecodeError;
use ferrokeeper_storage::Zxid;
use openraft::{CommittedLeaderId, EntryPayload, LogId};

use super::types::TypeConfig;
use crate::persist::txn_codec;

pub type Entry = openraft::Entry<TypeConfig>;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 18;
const BLANK: u8 = 0;
const NORMAL: u8 = 1;
const MEMBERSHIP: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum EntryCodecError {
    #[error("log record {key}: unsupported Raft entry version {version}")]
    Version { key: Zxid, version: u8 },
    #[error("log record {key}: unknown Raft entry kind {kind}")]
    Kind { key: Zxid, kind: u8 },
    #[error("log record {key}: Raft entry shorter than its header")]
    Truncated { key: Zxid },
    #[error("log record {key} is not a Raft log index")]
    Key { key: Zxid },
    #[error("log record {key}: bad transaction: {source}")]
    Txn { key: Zxid, source: DecodeError },
    #[error("Raft membership entry: {0}")]
    Membership(#[from] serde_json::Error),
}

/// The log key of Raft log index `index`.
pub fn key_of(index: u64) -> Zxid {
    index as Zxid + 1
}

/// The log record holding `entry`.
pub fn encode(entry: &Entry) -> Result<ferrokeeper_storage::Entry, EntryCodecError> {
    let mut out = BytesMut::with_capacity(HEADER_LEN + 64);
    let kind = match &entry.payload {
        EntryPayload::Blank => BLANK,
        EntryPayload::Normal(_) => NORMAL,
        EntryPayload::Membership(_) => MEMBERSHIP,
    };
    out.put_u8(VERSION);
    out.put_u8(kind);
    out.put_u64(entry.log_id.leader_id.term);
    out.put_u64(entry.log_id.leader_id.node_id);
    match &entry.payload {
        EntryPayload::Blank => {}
        EntryPayload::Normal(txn) => {
            out.put_i64(txn.zxid);
            out.put(txn_codec::encode(txn));
        }
        EntryPayload::Membership(m) => out.put(&serde_json::to_vec(m)?[..]),
    }
    let key = key_of(entry.log_id.index);
    Ok(ferrokeeper_storage::Entry::new(key, out.freeze()))
}

/// The entry in the log record `(key, payload)`.
pub fn decode(key: Zxid, mut payload: Bytes) -> Result<Entry, EntryCodecError> {
    if key < 1 {
        return Err(EntryCodecError::Key { key });
    }
    if payload.len() < HEADER_LEN {
        return Err(EntryCodecError::Truncated { key });
    }
    let version = payload.get_u8();
    if version != VERSION {
        return Err(EntryCodecError::Version { key, version });
    }
    let kind = payload.get_u8();
    let term = payload.get_u64();
    let leader = payload.get_u64();
    let log_id = LogId::new(CommittedLeaderId::new(term, leader), (key - 1) as u64);
    let payload = match kind {
        BLANK => EntryPayload::Blank,
        NORMAL => {
            if payload.len() < 8 {
                return Err(EntryCodecError::Truncated { key });
            }
            let zxid = payload.get_i64();
            let txn = txn_codec::decode(zxid, payload)
                .map_err(|source| EntryCodecError::Txn { key, source })?;
            EntryPayload::Normal(txn)
        }
        MEMBERSHIP => EntryPayload::Membership(serde_json::from_slice(&payload)?),
        kind => return Err(EntryCodecError::Kind { key, kind }),
    };
    Ok(Entry { log_id, payload })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use openraft::Membership;

    use super::*;
    use crate::replication::types::Node;
    use crate::state_machine::{Txn, TxnOp};

    fn log_id(term: u64, leader: u64, index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(term, leader), index)
    }

    fn round_trip(entry: Entry) {
        let record = encode(&entry).unwrap();
        assert_eq!(record.zxid, entry.log_id.index as i64 + 1);
        assert_eq!(decode(record.zxid, record.payload).unwrap(), entry);
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(Entry {
            log_id: log_id(0, 0, 0),
            payload: EntryPayload::Blank,
        });
        let txn = Txn {
            zxid: 0x2_0000_0001,
            time: 5,
            session_id: 7,
            op: TxnOp::Delete { path: "/x".into() },
        };
        round_trip(Entry {
            log_id: log_id(3, 2, 41),
            payload: EntryPayload::Normal(txn),
        });
        let nodes = BTreeMap::from([(
            1,
            Node {
                quorum_addr: "zoo1:2888".into(),
                client_addr: "zoo1:2181".into(),
            },
        )]);
        let membership = Membership::new(vec![BTreeSet::from([1])], nodes);
        round_trip(Entry {
            log_id: log_id(4, 1, 42),
            payload: EntryPayload::Membership(membership),
        });
    }

    #[test]
    fn a_normal_entry_holds_the_txn_codec_bytes() {
        let txn = Txn {
            zxid: 9,
            time: 1,
            session_id: 2,
            op: TxnOp::Delete { path: "/y".into() },
        };
        let record = encode(&Entry {
            log_id: log_id(1, 1, 1),
            payload: EntryPayload::Normal(txn.clone()),
        })
        .unwrap();
        assert_eq!(
            record.payload[HEADER_LEN + 8..],
            txn_codec::encode(&txn)[..]
        );
    }

    #[test]
    fn damage_is_an_error() {
        let record = encode(&Entry {
            log_id: log_id(1, 1, 1),
            payload: EntryPayload::Blank,
        })
        .unwrap();
        let mut bad_version = record.payload.to_vec();
        bad_version[0] = 9;
        assert!(matches!(
            decode(2, bad_version.into()),
            Err(EntryCodecError::Version { version: 9, .. })
        ));
        let mut bad_kind = record.payload.to_vec();
        bad_kind[1] = 7;
        assert!(matches!(
            decode(2, bad_kind.into()),
            Err(EntryCodecError::Kind { kind: 7, .. })
        ));
        assert!(matches!(
            decode(2, record.payload.slice(..5)),
            Err(EntryCodecError::Truncated { .. })
        ));
        assert!(matches!(
            decode(0, record.payload),
            Err(EntryCodecError::Key { key: 0 })
        ));
    }
}
