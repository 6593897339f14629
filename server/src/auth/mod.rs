//! Authentication schemes and ACL checks (ZooKeeperServer.checkACL,
//! PrepRequestProcessor.fixupACL and the AuthenticationProviders).
//!
//! Schemes: `world` (id `anyone`), `auth` (expanded at create/setACL time), `digest`,
//! `ip` (with CIDR) and `super` (granted by the configured super digest).

pub mod digest;
pub mod ip;

use std::net::IpAddr;

use ferrokeeper_protocol::records::{Acl, ClientInfo, Id};
use ferrokeeper_protocol::ErrorCode;

/// The identities a connection has proven.
#[derive(Debug, Clone, Default)]
pub struct AuthIds {
    ids: Vec<Id>,
}

impl AuthIds {
    /// Every connection starts with `ip:<its address>`.
    pub fn for_peer(addr: IpAddr) -> Self {
        AuthIds {
            ids: vec![Id {
                scheme: "ip".into(),
                id: addr.to_string(),
            }],
        }
    }

    pub fn add(&mut self, id: Id) {
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }

    pub fn ids(&self) -> &[Id] {
        &self.ids
    }

    /// The identities in the order ZooKeeper iterates a connection's (a set backed by
    /// a ConcurrentHashMap): by hash bin, and in a bin by insertion. fixupACL expands
    /// `auth` and whoAmI answers in that order. Exact while the table has not grown
    /// (under 12 identities); past that, bins that collide may differ.
    fn in_zookeeper_order(&self) -> Vec<&Id> {
        let mut table = 16;
        while self.ids.len() >= table - table / 4 {
            table *= 2;
        }
        let mut ids: Vec<&Id> = self.ids.iter().collect();
        // Stable: insertion order within a bin.
        ids.sort_by_key(|id| {
            let h = java_id_hash(id);
            ((h ^ (h >> 16)) & 0x7fff_ffff) as usize & (table - 1)
        });
        ids
    }

    pub fn is_super(&self) -> bool {
        self.ids.iter().any(|id| id.scheme == "super")
    }

    /// Whether `acl` grants any bit of `perm` to these identities.
    pub fn allows(&self, acl: &[Acl], perm: i32) -> bool {
        if acl.is_empty() || self.is_super() {
            return true;
        }
        acl.iter().any(|entry| {
            entry.perms & perm != 0
                && (is_anyone(&entry.id)
                    || self
                        .ids
                        .iter()
                        .any(|own| own.scheme == entry.id.scheme && matches(own, &entry.id)))
        })
    }

    /// `Ok` if allowed, `NoAuth` otherwise.
    pub fn check(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        if self.allows(acl, perm) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    /// whoAmI's answer: one entry per identity, user as the scheme names it.
    pub fn client_infos(&self) -> Vec<ClientInfo> {
        self.in_zookeeper_order()
            .into_iter()
            .map(|id| ClientInfo {
                auth_scheme: id.scheme.clone(),
                user: match id.scheme.as_str() {
                    "digest" => id.id.split(':').next().unwrap_or_default().to_owned(),
                    _ => id.id.clone(),
                },
            })
            .collect()
    }

    /// Validates an ACL list for create/setACL and expands the `auth` scheme into this
    /// connection's authenticated identities (fixupACL). Duplicates are dropped.
    pub fn fixup_acl(&self, acl: &[Acl]) -> Result<Vec<Acl>, ErrorCode> {
        if acl.is_empty() {
            return Err(ErrorCode::InvalidAcl);
        }
        let mut fixed: Vec<Acl> = Vec::with_capacity(acl.len());
        let mut push = |entry: Acl| {
            if !fixed.contains(&entry) {
                fixed.push(entry);
            }
        };
        for entry in acl {
            if is_anyone(&entry.id) {
                push(entry.clone());
            } else if entry.id.scheme == "auth" {
                let mut any = false;
                for own in self
                    .in_zookeeper_order()
                    .into_iter()
                    .filter(|id| is_authenticated_scheme(&id.scheme))
                {
                    any = true;
                    push(Acl {
                        perms: entry.perms,
                        id: own.clone(),
                    });
                }
                if !any {
                    return Err(ErrorCode::InvalidAcl);
                }
            } else if is_valid_id(&entry.id) {
                push(entry.clone());
            } else {
                return Err(ErrorCode::InvalidAcl);
            }
        }
        Ok(fixed)
    }
}

fn is_anyone(id: &Id) -> bool {
    id.scheme == "world" && id.id == "anyone"
}

/// Schemes whose identities stand for a user (the `auth` pseudo-scheme expands to
/// them); an ip identity is not one, and neither is `super`: ZooKeeper has no
/// authentication provider named `super`, so fixupACL skips it.
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest"
}

/// Java's `Id.hashCode()` (jute: 17, then 37·h + each field's `String.hashCode()`).
fn java_id_hash(id: &Id) -> u32 {
    let string = |s: &str| {
        s.encode_utf16()
            .fold(0u32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as u32))
    };
    let h = 17u32.wrapping_mul(37).wrapping_add(string(&id.scheme));
    h.wrapping_mul(37).wrapping_add(string(&id.id))
}

fn is_valid_id(id: &Id) -> bool {
    match id.scheme.as_str() {
        "digest" => digest::is_valid(&id.id),
        "ip" => ip::is_valid(&id.id),
        _ => false,
    }
}

fn matches(own: &Id, acl_id: &Id) -> bool {
    match own.scheme.as_str() {
        "digest" => own.id == acl_id.id,
        "ip" => ip::matches(&own.id, &acl_id.id),
        _ => false,
    }
}

/// The identity an auth packet proves, or `AuthFailed`.
pub fn authenticate(
    scheme: &str,
    credentials: &[u8],
    super_digest: Option<&str>,
) -> Result<Vec<Id>, ErrorCode> {
    match scheme {
        "digest" => {
            let credentials =
                std::str::from_utf8(credentials).map_err(|_| ErrorCode::AuthFailed)?;
            let id = digest::generate(credentials);
            let mut ids = Vec::with_capacity(2);
            if super_digest == Some(id.as_str()) {
                ids.push(Id {
                    scheme: "super".into(),
                    id: String::new(),
                });
            }
            ids.push(Id {
                scheme: "digest".into(),
                id,
            });
            Ok(ids)
        }
        _ => Err(ErrorCode::AuthFailed),
    }
}

/// Redacts digest hashes for callers without ADMIN (getACL): `user:x`.
pub fn redact_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|entry| {
            if entry.id.scheme == "digest" {
                let user = entry.id.id.split(':').next().unwrap_or_default();
                Acl {
                    perms: entry.perms,
                    id: Id {
                        scheme: "digest".into(),
                        id: format!("{user}:x"),
                    },
                }
            } else {
                entry.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokeeper_protocol::Perms;

    fn peer() -> AuthIds {
        AuthIds::for_peer("127.0.0.1".parse().unwrap())
    }

    #[test]
    fn world_anyone_digest_and_ip_acls_are_checked() {
        let mut ids = peer();
        let open = [Acl::new(Perms::ALL, "world", "anyone")];
        assert!(ids.allows(&open, Perms::DELETE));
        let read_only = [Acl::new(Perms::READ, "world", "anyone")];
        assert!(!ids.allows(&read_only, Perms::WRITE));
        let bob = [Acl::new(
            Perms::ALL,
            "digest",
            &digest::generate("bob:secret"),
        )];
        assert!(!ids.allows(&bob, Perms::READ));
        ids.add(
            authenticate("digest", b"bob:secret", None)
                .unwrap()
                .remove(0),
        );
        assert!(ids.allows(&bob, Perms::READ));
        let net = [Acl::new(Perms::READ, "ip", "127.0.0.0/8")];
        assert!(peer().allows(&net, Perms::READ));
        let other = [Acl::new(Perms::READ, "ip", "10.0.0.0/8")];
        assert!(!peer().allows(&other, Perms::READ));
        assert!(peer().allows(&[], Perms::ADMIN));
    }

    #[test]
    fn super_digest_grants_everything() {
        let super_id = digest::generate("super:pw");
        let mut ids = peer();
        for id in authenticate("digest", b"super:pw", Some(&super_id)).unwrap() {
            ids.add(id);
        }
        assert!(ids.allows(&[Acl::new(0, "world", "anyone")], Perms::ADMIN));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad_ids() {
        assert_eq!(
            peer().fixup_acl(&[Acl::new(Perms::ALL, "auth", "")]),
            Err(ErrorCode::InvalidAcl)
        );
        let mut ids = peer();
        ids.add(authenticate("digest", b"u:p", None).unwrap().remove(0));
        let fixed = ids.fixup_acl(&[Acl::new(Perms::ALL, "auth", "")]).unwrap();
        assert_eq!(
            fixed,
            vec![Acl::new(Perms::ALL, "digest", &digest::generate("u:p"))]
        );
        for bad in [
            Acl::new(1, "world", "someone"),
            Acl::new(1, "digest", "nocolon"),
            Acl::new(1, "ip", "300.1.1.1"),
            Acl::new(1, "unknown", "x"),
        ] {
            assert_eq!(ids.fixup_acl(&[bad]), Err(ErrorCode::InvalidAcl));
        }
        assert_eq!(ids.fixup_acl(&[]), Err(ErrorCode::InvalidAcl));
        let twice = [
            Acl::new(1, "world", "anyone"),
            Acl::new(1, "world", "anyone"),
        ];
        assert_eq!(ids.fixup_acl(&twice).unwrap().len(), 1);
    }

    /// The orders printed by a `Collections.newSetFromMap(new ConcurrentHashMap<>())`
    /// of `Id`s (ZooKeeper 3.8's ServerCnxn.authInfo) after each add, in jshell.
    #[test]
    fn identities_come_in_zookeeper_order() {
        let digest = |user_password: &str| Id {
            scheme: "digest".into(),
            id: digest::generate(user_password),
        };
        let names = |ids: &AuthIds| -> Vec<String> {
            ids.in_zookeeper_order()
                .iter()
                .map(|id| format!("{}:{}", id.scheme, id.id.split(':').next().unwrap()))
                .collect()
        };
        let mut ids = peer();
        ids.add(digest("nocolon"));
        assert_eq!(names(&ids), ["digest:nocolon", "ip:127.0.0.1"]);
        ids.add(digest("user2:pw2"));
        ids.add(digest("user1:pw1"));
        assert_eq!(
            names(&ids),
            [
                "digest:user2",
                "digest:nocolon",
                "ip:127.0.0.1",
                "digest:user1"
            ]
        );
        let super_id = digest::generate("super:superpw");
        for id in authenticate("digest", b"super:superpw", Some(&super_id)).unwrap() {
            ids.add(id);
        }
        assert_eq!(
            names(&ids),
            [
                "digest:user2",
                "digest:nocolon",
                "digest:super",
                "super:",
                "ip:127.0.0.1",
                "digest:user1"
            ]
        );
        // `auth` expands to the digests in that order; `super` is not one of them.
        let fixed = ids.fixup_acl(&[Acl::new(Perms::ALL, "auth", "")]).unwrap();
        let users: Vec<&str> = fixed
            .iter()
            .map(|a| a.id.id.split(':').next().unwrap())
            .collect();
        assert_eq!(users, ["user2", "nocolon", "super", "user1"]);
        assert!(fixed.iter().all(|a| a.id.scheme == "digest"));
        let who: Vec<String> = ids
            .client_infos()
            .into_iter()
            .map(|c| c.auth_scheme)
            .collect();
        assert_eq!(who, ["digest", "digest", "digest", "super", "ip", "digest"]);

        // 14 identities: the table has grown to 32 bins.
        let mut many = AuthIds::default();
        for i in 0..14 {
            many.add(digest(&format!("u{i}:p")));
        }
        assert_eq!(
            names(&many),
            [3, 5, 7, 11, 9, 2, 8, 12, 0, 1, 13, 6, 4, 10].map(|i| format!("digest:u{i}"))
        );
    }

    #[test]
    fn unknown_scheme_fails_auth() {
        assert_eq!(
            authenticate("kerberos", b"x", None),
            Err(ErrorCode::AuthFailed)
        );
    }
}
