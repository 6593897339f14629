//! Data records shared by many ops.

use bytes::{Bytes, BytesMut};

use crate::jute::{refuse_null, DecodeError, Jute, NullField};
use crate::jute_record;

/// An identity: `scheme` (world, digest, ip, ...) and its scheme-specific `id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

impl Jute for Id {
    fn write(&self, out: &mut BytesMut) {
        self.scheme.write(out);
        self.id.write(out);
    }

    /// ZooKeeper's world, digest and ip checks of an ACL entry read its id without
    /// checking for null; other schemes ignore the id or refuse the entry.
    fn read(input: &mut Bytes) -> Result<Self, DecodeError> {
        let scheme = String::read(input)?;
        if matches!(scheme.as_str(), "world" | "digest" | "ip") {
            refuse_null(input, NullField::AclId)?;
        }
        Ok(Id {
            scheme,
            id: String::read(input)?,
        })
    }
}

jute_record! {
    /// One ACL entry: permission bits granted to an identity.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }
}

/// Encoded size of a [`Stat`]: it has no variable-length fields.
pub const STAT_LEN: usize = 68;

jute_record! {
    /// A znode's metadata, always [`STAT_LEN`] bytes on the wire.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }
}

jute_record! {
    /// One authenticated identity of a connection, as whoAmI reports it.
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

impl Acl {
    pub fn new(perms: i32, scheme: &str, id: &str) -> Self {
        Acl {
            perms,
            id: Id {
                scheme: scheme.to_owned(),
                id: id.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_encodes_to_stat_len_bytes() {
        assert_eq!(crate::jute::to_bytes(&Stat::default()).len(), STAT_LEN);
    }
}
