//! ZooKeeper's StatPersisted record and the tree's stat hold the same fields; these
//! carry one into the other, both ways (reading and writing snapshots).

use ferrokeeper_protocol::records::persistence::StatPersisted;

use crate::state_machine::tree::PersistedStat;

pub fn persisted_stat(s: &StatPersisted) -> PersistedStat {
    PersistedStat {
        czxid: s.czxid,
        mzxid: s.mzxid,
        pzxid: s.pzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner,
    }
}

pub fn stat_persisted(s: &PersistedStat) -> StatPersisted {
    StatPersisted {
        czxid: s.czxid,
        mzxid: s.mzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner,
        pzxid: s.pzxid,
    }
}
