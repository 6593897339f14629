//! The ensemble in zoo.cfg: `server.N` lines, `myid`, `peerType`, and the rules
//! ZooKeeper's QuorumPeerConfig applies to decide between a standalone server and a
//! member of a quorum. Messages are ZooKeeper's, so an operator's search finds them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Whether a server votes (`participant`) or only learns and serves clients
/// (`observer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerType {
    Participant,
    Observer,
}

impl LearnerType {
    /// ZooKeeper's spelling, case-insensitive (`peerType=` and the 4th field of a
    /// server line).
    pub fn parse(value: &str) -> Result<LearnerType, String> {
        match value.to_ascii_lowercase().as_str() {
            "participant" => Ok(LearnerType::Participant),
            "observer" => Ok(LearnerType::Observer),
            _ => Err(format!("Unrecognised peertype: {value}")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }
}

/// A host (name, IPv4 or bracketed IPv6 literal without brackets) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One `server.N=host:quorumPort:electionPort[:role][;[clientHost:]clientPort]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    pub id: u64,
    pub quorum: HostPort,
    pub election: HostPort,
    pub role: LearnerType,
    /// The client address from the line, if it has one.
    pub client: Option<HostPort>,
}

const FORM: &str = " does not have the form server_config or server_config;client_config \
    where server_config is the pipe separated list of host:port:port or host:port:port:type \
    and client_config is port or host:port";

impl QuorumServer {
    pub fn parse(id: u64, line: &str) -> Result<QuorumServer, String> {
        let bad_form = || format!("{line}{FORM}");
        let mut parts = line.split(';');
        let server_part = parts.next().unwrap_or_default().trim();
        let client_part = parts.next().map(str::trim);
        if parts.next().is_some() {
            return Err(bad_form());
        }
        if server_part.contains('|') {
            // ZooKeeper refuses this too unless multiAddress.enabled=true.
            return Err(format!(
                "Multiple address feature is disabled, but multiple addresses were \
                 specified for sid {id}"
            ));
        }
        let fields = split_address(server_part).ok_or_else(bad_form)?;
        let (host, quorum_port, election_port, role) = match fields.as_slice() {
            [host, q, e] => (host, q, e, LearnerType::Participant),
            [host, q, e, role] => (host, q, e, LearnerType::parse(role)?),
            _ => return Err(bad_form()),
        };
        let port = |p: &str| p.parse::<u16>().map_err(|_| bad_form());
        let quorum = HostPort {
            host: host.clone(),
            port: port(quorum_port)?,
        };
        let election = HostPort {
            host: host.clone(),
            port: port(election_port)?,
        };
        if quorum.port == election.port {
            return Err(format!(
                "Client and election port must be different! Please update the \
                 configuration file on server.{id}"
            ));
        }
        let client = match client_part {
            None => None,
            Some(client) => Some(match split_address(client).as_deref() {
                Some([port_only]) => HostPort {
                    host: "0.0.0.0".into(),
                    port: port(port_only)?,
                },
                Some([host, client_port]) => HostPort {
                    host: host.clone(),
                    port: port(client_port)?,
                },
                _ => return Err(bad_form()),
            }),
        };
        Ok(QuorumServer {
            id,
            quorum,
            election,
            role,
            client,
        })
    }
}

/// ZooKeeper's serialised form (QuorumServer.toString), as `/zookeeper/config` and
/// `conf` show it: the role is always written.
impl fmt::Display for QuorumServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.quorum,
            self.election.port,
            self.role.name()
        )?;
        if let Some(client) = &self.client {
            write!(f, ";{client}")?;
        }
        Ok(())
    }
}

/// `host:port:port...` with the host possibly a bracketed IPv6 literal.
fn split_address(text: &str) -> Option<Vec<String>> {
    let (host, rest) = match text.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed.split_once(']')?;
            (host.to_owned(), rest.strip_prefix(':')?)
        }
        None => {
            let (host, rest) = text.split_once(':').unwrap_or((text, ""));
            if rest.is_empty() {
                // A bare port (the client part may be one).
                return Some(vec![host.to_owned()]);
            }
            (host.to_owned(), rest)
        }
    };
    let mut fields = vec![host];
    fields.extend(rest.split(':').map(str::to_owned));
    Some(fields)
}

/// What the configuration makes of this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No server lines, or one participant with standaloneEnabled (ZooKeeper logs
    /// "Invalid configuration, only one server specified (ignoring)" and runs alone).
    Standalone,
    /// A member of a quorum.
    Quorum(Quorum),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// This server's id, from `dataDir/myid`.
    pub my_id: u64,
    /// Every member, participants and observers.
    pub servers: BTreeMap<u64, QuorumServer>,
    /// initLimit and syncLimit, in ticks.
    pub init_limit: u32,
    pub sync_limit: u32,
}

impl Quorum {
    pub fn voters(&self) -> impl Iterator<Item = &QuorumServer> {
        voters(&self.servers)
    }
}

fn voters(servers: &BTreeMap<u64, QuorumServer>) -> impl Iterator<Item = &QuorumServer> {
    servers
        .values()
        .filter(|s| s.role == LearnerType::Participant)
}

/// The ensemble keys as read, resolved by [`resolve`] once every key is known (their
/// order in zoo.cfg does not matter, as in ZooKeeper).
#[derive(Debug, Clone, Default)]
pub struct EnsembleKeys {
    pub servers: BTreeMap<u64, QuorumServer>,
    pub init_limit: u32,
    pub sync_limit: u32,
    /// standaloneEnabled (true unless set).
    pub standalone_disabled: bool,
    pub peer_type: Option<LearnerType>,
}

/// The outcome of [`resolve`]: the mode and, when this server's line names one, the
/// client address that replaces clientPort/clientPortAddress.
#[derive(Debug)]
pub struct Resolved {
    pub mode: Mode,
    pub client: Option<HostPort>,
}

/// ZooKeeper's parseDynamicConfig, setupMyId, setupClientPort, setupPeerType and
/// checkValidity, in that order. `static_client` is clientPort/clientPortAddress when
/// zoo.cfg set them.
pub fn resolve(
    keys: &EnsembleKeys,
    data_dir: Option<&Path>,
    static_client: Option<&HostPort>,
) -> Result<Resolved, String> {
    let participants = voters(&keys.servers).count();
    let observers = keys.servers.len() - participants;
    if participants == 0 {
        if keys.standalone_disabled {
            return Err(
                "standaloneEnabled = false then number of participants should be >0".into(),
            );
        }
        if observers > 0 {
            return Err("Observers w/o participants is an invalid configuration".into());
        }
    } else if participants == 1 && !keys.standalone_disabled {
        tracing::error!("Invalid configuration, only one server specified (ignoring)");
        if observers > 0 {
            return Err("Observers w/o quorum is an invalid configuration".into());
        }
    } else if participants <= 2 {
        tracing::warn!("No server failure will be tolerated. You need at least 3 servers.");
    } else if participants.is_multiple_of(2) {
        tracing::warn!("Non-optimal configuration, consider an odd number of servers.");
    }
    let my_id = match data_dir {
        Some(dir) => read_my_id(&dir.join("myid"))?,
        None => None,
    };
    let mine = my_id.and_then(|id| keys.servers.get(&id));
    let client = mine.and_then(|me| me.client.clone());
    if let (Some(line), Some(configured)) = (&client, static_client) {
        let any_local = configured.host == "0.0.0.0" || configured.host == "::";
        if (!any_local && configured != line) || (any_local && configured.port != line.port) {
            return Err(format!(
                "client address for this server (id = {}) in static config file is \
                 {configured} is different from client address found in dynamic file: {line}",
                my_id.unwrap_or_default()
            ));
        }
    }
    if let Some(me) = mine {
        if keys.peer_type.is_some_and(|p| p != me.role) {
            tracing::warn!(
                servers_list = me.role.name(),
                peer_type = keys.peer_type.map(LearnerType::name),
                "Peer type from servers list doesn't match peerType. Defaulting to servers list."
            );
        }
    }
    let distributed = !keys.servers.is_empty() && (keys.standalone_disabled || participants > 1);
    if !distributed {
        return Ok(Resolved {
            mode: Mode::Standalone,
            client,
        });
    }
    if keys.init_limit == 0 {
        return Err("initLimit is not set".into());
    }
    if keys.sync_limit == 0 {
        return Err("syncLimit is not set".into());
    }
    let my_id = my_id.ok_or("myid file is missing")?;
    if !keys.servers.contains_key(&my_id) {
        // ZooKeeper fails later, at QuorumPeer start, with this message.
        return Err(format!("My id {my_id} not in the peer list"));
    }
    Ok(Resolved {
        mode: Mode::Quorum(Quorum {
            my_id,
            servers: keys.servers.clone(),
            init_limit: keys.init_limit,
            sync_limit: keys.sync_limit,
        }),
        client,
    })
}

/// `dataDir/myid`: its first line, a number; absent is fine for a standalone server.
fn read_my_id(path: &Path) -> Result<Option<u64>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let first = text.lines().next().unwrap_or_default();
    first
        .trim()
        .parse()
        .map(Some)
        .map_err(|_| format!("serverid {first} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_print_in_zookeepers_serialised_form() {
        let cases = [
            ("zoo1:2888:3888", "zoo1:2888:3888:participant"),
            (
                "zoo1:2888:3888;2181",
                "zoo1:2888:3888:participant;0.0.0.0:2181",
            ),
            (
                "10.0.0.1:2888:3888:Observer;127.0.0.1:2181",
                "10.0.0.1:2888:3888:observer;127.0.0.1:2181",
            ),
            (
                "[::1]:2888:3888;[::1]:2181",
                "[::1]:2888:3888:participant;[::1]:2181",
            ),
        ];
        for (line, shown) in cases {
            let server = QuorumServer::parse(1, line).unwrap();
            assert_eq!(server.to_string(), shown);
            assert_eq!(QuorumServer::parse(1, shown).unwrap(), server);
        }
    }

    #[test]
    fn a_member_not_in_the_list_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("myid"), "4").unwrap();
        let mut keys = EnsembleKeys {
            init_limit: 5,
            sync_limit: 2,
            ..Default::default()
        };
        for id in 1..=3 {
            let line = format!("127.0.0.1:{}:{}", 2000 + id, 3000 + id);
            keys.servers
                .insert(id, QuorumServer::parse(id, &line).unwrap());
        }
        let err = resolve(&keys, Some(dir.path()), None).unwrap_err();
        assert_eq!(err, "My id 4 not in the peer list");
        std::fs::write(dir.path().join("myid"), "2").unwrap();
        let resolved = resolve(&keys, Some(dir.path()), None).unwrap();
        let Mode::Quorum(quorum) = resolved.mode else {
            panic!("three voters make a quorum");
        };
        assert_eq!(quorum.servers[&quorum.my_id].quorum.port, 2002);
        assert_eq!(quorum.voters().count(), 3);
    }
}
