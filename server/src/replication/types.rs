//! The openraft type configuration of a Ferrokeeper ensemble.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::persist::txn_codec;
use crate::state_machine::Txn;

/// A server's id in the ensemble: ZooKeeper's `myid` (`server.<myid>=...`).
pub type NodeId = u64;

/// Where a server of the ensemble listens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The address other servers replicate to (`host:quorumPort`).
    pub quorum_addr: String,
    /// The address clients connect to (`host:clientPort`).
    pub client_addr: String,
}

openraft::declare_raft_types!(
    /// Ferrokeeper's Raft: entries carry transactions; applying one answers nothing
    /// through Raft yet (clients are answered by the server holding their connection).
    pub TypeConfig:
        D = Txn,
        R = (),
        NodeId = NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A transaction serializes as its zxid and its `txn_codec` bytes, so the one txn
/// format is also what openraft's serde sees (openraft's `serde` feature requires it).
impl Serialize for Txn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.zxid, txn_codec::encode(self).as_ref()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Txn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (zxid, bytes): (i64, Vec<u8>) = Deserialize::deserialize(deserializer)?;
        txn_codec::decode(zxid, bytes.into()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::TxnOp;

    #[test]
    fn a_txn_serializes_as_its_zxid_and_codec_bytes() {
        let txn = Txn {
            zxid: 0x1_0000_0007,
            time: 1_700_000_000_000,
            session_id: 42,
            op: TxnOp::Delete { path: "/a".into() },
        };
        let json = serde_json::to_value(&txn).unwrap();
        let bytes: Vec<u8> = txn_codec::encode(&txn).to_vec();
        assert_eq!(json, serde_json::json!([txn.zxid, bytes]));
        assert_eq!(serde_json::from_value::<Txn>(json).unwrap(), txn);
        assert!(serde_json::from_str::<Txn>("[1, [0, 1]]").is_err());
    }
}
