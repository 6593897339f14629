//! Server configuration, read from ZooKeeper's zoo.cfg properties format with
//! ZooKeeper's key names and defaults. Unknown keys are warned about; a bad value stops
//! start-up with the key, the value and the reason.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ferrokeeper_protocol::frame::DEFAULT_JUTE_MAXBUFFER;

pub mod ensemble;

use ensemble::{EnsembleKeys, HostPort, LearnerType, Mode, QuorumServer};

#[derive(Debug, Clone)]
pub struct Config {
    /// clientPort; 0 picks a free port.
    pub client_port: u16,
    /// clientPortAddress; all interfaces when unset, as ZooKeeper.
    pub client_port_address: Option<IpAddr>,
    /// dataDir: snapshots (and the log unless dataLogDir is set). `None` serves from
    /// memory only.
    pub data_dir: Option<PathBuf>,
    /// dataLogDir: the transaction log, when it should live apart from snapshots.
    pub data_log_dir: Option<PathBuf>,
    /// forceSync: fsync the log before acknowledging writes.
    pub force_sync: bool,
    /// preAllocSize, in bytes (zoo.cfg gives kilobytes).
    pub prealloc_bytes: u64,
    /// snapCount: a snapshot is taken after about this many transactions.
    pub snap_count: u64,
    /// snapSizeLimitInKb, in bytes: a snapshot is also taken once this much has been
    /// logged since the last one (ZooKeeper's default: 4 GiB).
    pub snap_size_limit_bytes: u64,
    /// autopurge.snapRetainCount (at least 3).
    pub snap_retain_count: usize,
    /// autopurge.purgeInterval in hours; 0 disables purging, as in ZooKeeper.
    pub purge_interval_hours: u64,
    /// Snapshot compression with zstd at this level (ferrokeeper.snapshot.zstdLevel).
    pub snapshot_zstd_level: Option<i32>,
    /// Start even if the log is corrupt before its tail, truncating at the first bad
    /// record (ferrokeeper.recovery.truncateCorruptLog); the default refuses to start.
    pub truncate_corrupt_log: bool,
    /// New sessions get ZooKeeper's passwords, derived from the session id, so that
    /// ZooKeeper can check them after a move back (ferrokeeper.session.zookeeperPasswords).
    pub zookeeper_passwords: bool,
    pub tick_time_ms: i32,
    /// minSessionTimeout; 2 × tickTime when unset.
    pub min_session_timeout_ms: Option<i32>,
    /// maxSessionTimeout; 20 × tickTime when unset.
    pub max_session_timeout_ms: Option<i32>,
    /// jute.maxbuffer: largest request frame accepted.
    pub jute_max_buffer: usize,
    /// zookeeper.extendedTypesEnabled: allows TTL nodes.
    pub extended_types_enabled: bool,
    /// zookeeper.DigestAuthenticationProvider.superDigest (`super:<base64 sha1>`).
    pub super_digest: Option<String>,
    /// 4lw.commands.whitelist; ZooKeeper's default enables only srvr.
    pub four_letter_whitelist: Vec<String>,
    /// znode.container.checkIntervalMs.
    pub container_check_interval_ms: u64,
    /// znode.container.maxNeverUsedIntervalMs: how long a container that never had a
    /// child is kept; 0 (ZooKeeper's default) keeps it forever.
    pub container_max_never_used_ms: i64,
    /// maxClientCnxns: open connections allowed from one client IP; 0 = no limit.
    pub max_client_cnxns: usize,
    /// globalOutstandingLimit: requests all connections together may have waiting for
    /// the write pipeline; at the limit, connections with requests there stop being
    /// read (ZooKeeper's shouldThrottle), while one with none may always send one.
    pub global_outstanding_limit: usize,
    /// admin.enableServer: the AdminServer (HTTP) is started.
    pub admin_enabled: bool,
    /// admin.serverAddress.
    pub admin_address: IpAddr,
    /// admin.serverPort when set; see [`Config::admin_port`].
    pub admin_port_setting: Option<u16>,
    /// metricsProvider.className is ZooKeeper's Prometheus provider: serve /metrics.
    pub metrics_enabled: bool,
    /// metricsProvider.httpHost.
    pub metrics_address: IpAddr,
    /// metricsProvider.httpPort.
    pub metrics_port: u16,
    /// ferrokeeper.testing.faults: faults on demand (`crate::faults`), for tests only.
    pub testing_faults: bool,
    /// clientPort was given (zoo.cfg or a flag), so a server line's client port must
    /// agree with it.
    pub client_port_given: bool,
    /// `server.N`, initLimit, syncLimit, standaloneEnabled, peerType, as read.
    pub ensemble: EnsembleKeys,
    /// What they make of this server ([`Config::resolve_ensemble`]).
    pub mode: Mode,
    /// fsync.warningthresholdms: a group commit slower than this is logged with
    /// ZooKeeper's "fsync-ing the write ahead log took N ms" warning.
    pub fsync_warning_threshold_ms: u64,
    /// admin.rateLimiterIntervalInMS: at most one AdminServer `snapshot` per interval.
    pub admin_rate_limiter_interval_ms: u64,
    /// admin.snapshot.enabled: the AdminServer's `snapshot` command is served.
    pub admin_snapshot_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_port: 2181,
            client_port_address: None,
            data_dir: None,
            data_log_dir: None,
            force_sync: true,
            prealloc_bytes: 64 * 1024 * 1024,
            snap_count: 100_000,
            snap_size_limit_bytes: 4 * 1024 * 1024 * 1024,
            snap_retain_count: 3,
            purge_interval_hours: 0,
            snapshot_zstd_level: None,
            truncate_corrupt_log: false,
            zookeeper_passwords: false,
            tick_time_ms: 2000,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            jute_max_buffer: DEFAULT_JUTE_MAXBUFFER,
            extended_types_enabled: false,
            super_digest: None,
            four_letter_whitelist: vec!["srvr".into()],
            container_check_interval_ms: 60_000,
            container_max_never_used_ms: 0,
            max_client_cnxns: 60,
            global_outstanding_limit: 1000,
            admin_enabled: true,
            admin_address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            admin_port_setting: None,
            metrics_enabled: false,
            metrics_address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            metrics_port: 7000,
            testing_faults: false,
            client_port_given: false,
            ensemble: EnsembleKeys::default(),
            mode: Mode::Standalone,
            fsync_warning_threshold_ms: 1000,
            admin_rate_limiter_interval_ms: 5 * 60 * 1000,
            admin_snapshot_enabled: true,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid ensemble configuration: {reason}")]
    Ensemble { reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

impl Config {
    pub fn min_session_timeout_ms(&self) -> i32 {
        self.min_session_timeout_ms
            .unwrap_or(self.tick_time_ms.saturating_mul(2))
    }

    pub fn max_session_timeout_ms(&self) -> i32 {
        self.max_session_timeout_ms
            .unwrap_or(self.tick_time_ms.saturating_mul(20))
            .max(self.min_session_timeout_ms())
    }

    /// admin.serverPort, ZooKeeper's 8080 by default — except for a server whose
    /// client port is picked freely (a test fixture), which picks its AdminServer's
    /// port freely too rather than take 8080 from the next fixture.
    pub fn admin_port(&self) -> u16 {
        self.admin_port_setting
            .unwrap_or(if self.client_port == 0 { 0 } else { 8080 })
    }

    pub fn four_letter_allowed(&self, command: &str) -> bool {
        command == "srvr"
            || self
                .four_letter_whitelist
                .iter()
                .any(|allowed| allowed == "*" || allowed == command)
    }

    /// Decides, once every key is set, whether this server runs standalone or in a
    /// quorum (reading `dataDir/myid`), and takes the client address from this
    /// server's line when it has one — as ZooKeeper's QuorumPeerConfig does.
    pub fn resolve_ensemble(&mut self) -> Result<(), ConfigError> {
        let static_client = self.client_port_given.then(|| HostPort {
            host: self
                .client_port_address
                .map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string()),
            port: self.client_port,
        });
        let resolved = ensemble::resolve(
            &self.ensemble,
            self.data_dir.as_deref(),
            static_client.as_ref(),
        )
        .map_err(|reason| ConfigError::Ensemble { reason })?;
        if let Some(client) = resolved.client {
            self.client_port = client.port;
            self.client_port_address = match client.host.as_str() {
                "0.0.0.0" => None,
                _ => Some(resolve_host(&client).ok_or_else(|| ConfigError::Ensemble {
                    reason: format!("Address unresolved: {client}"),
                })?),
            };
        }
        self.mode = resolved.mode;
        Ok(())
    }

    /// Reads a zoo.cfg file on top of the defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::default();
        for (key, value) in parse_properties(&text) {
            config.set(&key, &value)?;
        }
        Ok(config)
    }

    /// Applies one zoo.cfg key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        match find_key(key) {
            Some(known) => {
                (known.apply)(self, key, value.trim()).map_err(|reason| ConfigError::Invalid {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    reason,
                })
            }
            None => {
                tracing::warn!(key, value, "unknown zoo.cfg key ignored");
                Ok(())
            }
        }
    }
}

/// The first address a host name (or IP literal) resolves to.
fn resolve_host(addr: &HostPort) -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .ok()?
        .next()
        .map(|a| a.ip())
}

/// A zoo.cfg key the server knows: its names, what it means, how it is applied.
pub struct Key {
    /// ZooKeeper's zoo.cfg name first, then other spellings it accepts (its Java
    /// system-property names). `server.N` stands for every `server.<number>`.
    pub names: &'static [&'static str],
    /// What it means here (`--help` lists it).
    pub help: &'static str,
    /// Parses the value (trimmed) into the config; called with the key as given.
    apply: fn(&mut Config, &str, &str) -> Result<(), String>,
}

/// Every zoo.cfg key the server knows. `--help`, `--set`, zoo.cfg files and the
/// command-line flags all go through this one table.
pub const KEYS: &[Key] = &[
    Key {
        names: &["clientPort"],
        help: "port for clients (2181; 0 picks a free one and prints it)",
        apply: |c, _, v| {
c.client_port = parse(v, "not a port number")?;
c.client_port_given = true;
Ok(())
},
    },
    Key {
        names: &["clientPortAddress"],
        help: "address to listen on for clients (all interfaces)",
        apply: |c, _, v| {
c.client_port_address = Some(parse(v, "not an IP address")?);
Ok(())
},
    },
    Key {
        names: &["dataDir"],
        help: "snapshots, and the transaction log unless dataLogDir is set (/tmp/ferrokeeper)",
        apply: |c, _, v| {
c.data_dir = Some(PathBuf::from(v));
Ok(())
},
    },
    Key {
        names: &["dataLogDir"],
        help: "the transaction log, when it should live apart from snapshots",
        apply: |c, _, v| {
c.data_log_dir = Some(PathBuf::from(v));
Ok(())
},
    },
    Key {
        names: &["tickTime"],
        help: "the session-timeout unit in milliseconds (2000)",
        apply: |c, _, v| {
            c.tick_time_ms = parse_if(v, |t: &i32| *t > 0, "must be a positive number of milliseconds")?;
            Ok(())
        },
    },
    Key {
        names: &["minSessionTimeout"],
        help: "smallest session timeout granted, ms (2 x tickTime)",
        apply: |c, _, v| {
            c.min_session_timeout_ms = Some(parse(v, "not a number")?).filter(|t: &i32| *t >= 0);
            Ok(())
        },
    },
    Key {
        names: &["maxSessionTimeout"],
        help: "largest session timeout granted, ms (20 x tickTime)",
        apply: |c, _, v| {
            c.max_session_timeout_ms = Some(parse(v, "not a number")?).filter(|t: &i32| *t >= 0);
            Ok(())
        },
    },
    Key {
        names: &["maxClientCnxns"],
        help: "connections allowed from one client IP (60; 0 = no limit)",
        apply: |c, _, v| {
c.max_client_cnxns = parse(v, "not a number of connections")?;
Ok(())
},
    },
    Key {
        names: &["globalOutstandingLimit", "zookeeper.globalOutstandingLimit"],
        help: "requests of all connections in the write pipeline before reading is throttled (1000)",
        apply: |c, _, v| {
            c.global_outstanding_limit =
                parse_if(v, |n: &usize| *n > 0, "must be a positive number of requests")?;
            Ok(())
        },
    },
    Key {
        names: &["snapCount", "zookeeper.snapCount"],
        help: "a snapshot after about this many transactions (100000, randomised from half of it)",
        apply: |c, _, v| {
            c.snap_count =
                parse_if(v, |n: &u64| *n >= 2, "must be a number of transactions (at least 2)")?;
            Ok(())
        },
    },
    Key {
        names: &["snapSizeLimitInKb", "zookeeper.snapSizeLimitInKb"],
        help: "a snapshot after this many KiB of log (4 GiB)",
        apply: |c, _, v| {
c.snap_size_limit_bytes = kilobytes(v)?;
Ok(())
},
    },
    Key {
        names: &["preAllocSize", "zookeeper.preAllocSize"],
        help: "log segments grow in chunks of this many KiB (65536)",
        apply: |c, _, v| {
c.prealloc_bytes = kilobytes(v)?;
Ok(())
},
    },
    Key {
        names: &["forceSync", "zookeeper.forceSync"],
        help: "fsync the log before acknowledging writes (yes)",
        apply: |c, _, v| {
c.force_sync = flag(v).ok_or("expected yes or no")?;
Ok(())
},
    },
    Key {
        names: &["fsync.warningthresholdms", "zookeeper.fsync.warningthresholdms"],
        help: "warn when a group commit takes longer than this many ms (1000)",
        apply: |c, _, v| {
            c.fsync_warning_threshold_ms = parse(v, "not a number of milliseconds")?;
            Ok(())
        },
    },
    Key {
        names: &["autopurge.snapRetainCount"],
        help: "snapshots kept by autopurge, at least 3 (3)",
        apply: |c, _, v| {
c.snap_retain_count = parse::<usize>(v, "not a number")?.max(3);
Ok(())
},
    },
    Key {
        names: &["autopurge.purgeInterval"],
        help: "hours between purges of old snapshots and logs (0 = off)",
        apply: |c, _, v| {
c.purge_interval_hours = parse(v, "not a number of hours")?;
Ok(())
},
    },
    Key {
        names: &["4lw.commands.whitelist", "zookeeper.4lw.commands.whitelist"],
        help: "four-letter words answered, comma-separated, * for all (srvr)",
        apply: |c, _, v| {
            c.four_letter_whitelist = v
                .split(',')
                .map(|w| w.trim().to_owned())
                .filter(|w| !w.is_empty())
                .collect();
            Ok(())
        },
    },
    Key {
        names: &["admin.enableServer", "zookeeper.admin.enableServer"],
        help: "serve the AdminServer, HTTP /commands (true)",
        apply: |c, _, v| {
c.admin_enabled = flag(v).ok_or("not a boolean")?;
Ok(())
},
    },
    Key {
        names: &["admin.serverAddress", "zookeeper.admin.serverAddress"],
        help: "the AdminServer's address (0.0.0.0)",
        apply: |c, _, v| {
c.admin_address = parse(v, "not an IP address")?;
Ok(())
},
    },
    Key {
        names: &["admin.serverPort", "zookeeper.admin.serverPort"],
        help: "the AdminServer's port (8080, or a free one when clientPort is 0; 0 picks a free one and logs it)",
        apply: |c, _, v| {
c.admin_port_setting = Some(parse(v, "not a port number")?);
Ok(())
},
    },
    Key {
        names: &["admin.rateLimiterIntervalInMS", "zookeeper.admin.rateLimiterIntervalInMS", "admin.snapshot.intervalInMS", "zookeeper.admin.snapshot.intervalInMS"],
        help: "at most one AdminServer snapshot per this many ms (300000)",
        apply: |c, _, v| {
            c.admin_rate_limiter_interval_ms = parse(v, "not a number of milliseconds")?;
            Ok(())
        },
    },
    Key {
        names: &["admin.snapshot.enabled", "zookeeper.admin.snapshot.enabled"],
        help: "serve the AdminServer's snapshot command (true; false answers 503)",
        apply: |c, _, v| {
            c.admin_snapshot_enabled = flag(v).ok_or("not a boolean")?;
            Ok(())
        },
    },
    Key {
        names: &["metricsProvider.className"],
        help: "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider serves Prometheus /metrics (off)",
        apply: |c, _, v| {
            c.metrics_enabled = match v {
                PROMETHEUS_PROVIDER => true,
                DEFAULT_PROVIDER => false,
                _ => return Err(format!("the supported providers are {PROMETHEUS_PROVIDER} and {DEFAULT_PROVIDER}")),
            };
            Ok(())
        },
    },
    Key {
        names: &["metricsProvider.httpHost"],
        help: "the metrics endpoint's address (0.0.0.0)",
        apply: |c, _, v| {
c.metrics_address = parse(v, "not an IP address")?;
Ok(())
},
    },
    Key {
        names: &["metricsProvider.httpPort"],
        help: "the metrics endpoint's port (7000)",
        apply: |c, _, v| {
c.metrics_port = parse(v, "not a port number")?;
Ok(())
},
    },
    Key {
        names: &["jute.maxbuffer"],
        help: "largest request frame accepted, bytes (1048575)",
        apply: |c, _, v| {
            c.jute_max_buffer = parse_if(
                v,
                |n: &usize| *n > 0 && *n <= i32::MAX as usize,
                "must be a positive number of bytes",
            )?;
            Ok(())
        },
    },
    Key {
        names: &["extendedTypesEnabled", "zookeeper.extendedTypesEnabled"],
        help: "allow TTL nodes (false)",
        apply: |c, _, v| {
c.extended_types_enabled = flag(v).ok_or("not a boolean")?;
Ok(())
},
    },
    Key {
        names: &["superDigest", "zookeeper.DigestAuthenticationProvider.superDigest"],
        help: "super:<base64 sha1> of the super user's digest credentials",
        apply: |c, _, v| {
            if !crate::auth::digest::is_valid(v) {
                return Err("expected user:base64-sha1".into());
            }
            c.super_digest = Some(v.to_owned());
            Ok(())
        },
    },
    Key {
        names: &["znode.container.checkIntervalMs"],
        help: "ms between checks for empty container and expired TTL nodes (60000)",
        apply: |c, _, v| {
            c.container_check_interval_ms =
                parse_if(v, |n: &u64| *n > 0, "must be a positive number of milliseconds")?;
            Ok(())
        },
    },
    Key {
        names: &["znode.container.maxNeverUsedIntervalMs"],
        help: "ms a container that never had a child is kept (0 = forever)",
        apply: |c, _, v| {
c.container_max_never_used_ms = parse(v, "not a number")?;
Ok(())
},
    },
    Key {
        names: &["ferrokeeper.snapshot.zstdLevel"],
        help: "compress snapshots with zstd at this level, 1-22 (off)",
        apply: |c, _, v| {
            c.snapshot_zstd_level = Some(parse_if(
                v,
                |l: &i32| (1..=22).contains(l),
                "must be a zstd level from 1 to 22",
            )?);
            Ok(())
        },
    },
    Key {
        names: &["ferrokeeper.recovery.truncateCorruptLog"],
        help: "start even if the log is corrupt before its tail, cutting it at the first bad record (false)",
        apply: |c, _, v| {
c.truncate_corrupt_log = flag(v).ok_or("not a boolean")?;
Ok(())
},
    },
    Key {
        names: &["ferrokeeper.session.zookeeperPasswords"],
        help: "give new sessions the password ZooKeeper derives from the session id (guessable, as in ZooKeeper), so they can be resumed after moving back to ZooKeeper (false: random)",
        apply: |c, _, v| {
            c.zookeeper_passwords = flag(v).ok_or("not a boolean")?;
            Ok(())
        },
    },
    Key {
        names: &["ferrokeeper.testing.faults"],
        help: "UNSAFE, tests only: fault injection on demand through the AdminServer's POST /faults/<name> (false)",
        apply: |c, _, v| {
            c.testing_faults = flag(v).ok_or("not a boolean")?;
            if c.testing_faults {
                tracing::warn!("ferrokeeper.testing.faults is on: anyone who reaches the AdminServer can expire sessions, stall the server and fail its disk; never use it in production");
            }
            Ok(())
        },
    },
    Key {
        names: &["server.N"],
        help: "an ensemble member, host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]; one participant runs standalone, more are refused (no replication yet)",
        apply: |c, key, value| {
            let id = key["server.".len()..]
                .parse()
                .map_err(|_| "server id is not a number".to_owned())?;
            c.ensemble.servers.insert(id, QuorumServer::parse(id, value)?);
            Ok(())
        },
    },
    Key {
        names: &["initLimit"],
        help: "ticks a member may take to connect and sync to the leader (required in an ensemble)",
        apply: |c, _, v| {
            c.ensemble.init_limit = parse(v, "not a number of ticks")?;
            Ok(())
        },
    },
    Key {
        names: &["syncLimit"],
        help: "ticks a member may fall behind the leader (required in an ensemble)",
        apply: |c, _, v| {
            c.ensemble.sync_limit = parse(v, "not a number of ticks")?;
            Ok(())
        },
    },
    Key {
        names: &["standaloneEnabled"],
        help: "a single participant runs standalone (true)",
        apply: |c, _, v| {
            c.ensemble.standalone_disabled = !flag(v).ok_or("not a boolean")?;
            Ok(())
        },
    },
    Key {
        names: &["peerType"],
        help: "participant or observer; this server's own server.N line wins when they differ",
        apply: |c, _, v| {
            c.ensemble.peer_type = Some(LearnerType::parse(v)?);
            Ok(())
        },
    },
    Key {
        names: &[
            "reconfigEnabled",
            "electionAlg",
            "quorumListenOnAllIPs",
            "cnxTimeout",
            "syncEnabled",
            "admin.commandURL",
            "admin.idleTimeout",
            "metricsProvider.exportJvmInfo",
        ],
        help: "accepted and not used by a standalone server (a warning says so)",
        apply: |_, key, value| {
            tracing::warn!(key, value, "zoo.cfg key accepted but not used");
            Ok(())
        },
    },
];

/// The entry of `KEYS` for `key`, by any of its names (`server.<n>` is `server.N`).
pub fn find_key(key: &str) -> Option<&'static Key> {
    let is_server_line = key
        .strip_prefix("server.")
        .is_some_and(|n| n.parse::<u64>().is_ok());
    let key = if is_server_line { "server.N" } else { key };
    KEYS.iter().find(|known| known.names.contains(&key))
}

/// One line of `--help` for a flag that sets `key`: `<key>: <what it means>`.
pub fn flag_help(key: &str) -> String {
    let help = find_key(key).map_or("", |known| known.help);
    format!("{key}: {help}")
}

/// The zoo.cfg keys section of `--help`, one key per line.
pub fn keys_help() -> String {
    let mut out = String::from("zoo.cfg keys (in the file, or --set KEY=VALUE):\n");
    for key in KEYS {
        out.push_str(&format!("  {}\n      {}\n", key.names.join(", "), key.help));
    }
    out
}

fn parse<T: std::str::FromStr>(value: &str, reason: &str) -> Result<T, String> {
    value.parse().map_err(|_| reason.to_owned())
}

fn parse_if<T: std::str::FromStr>(
    value: &str,
    valid: impl Fn(&T) -> bool,
    reason: &str,
) -> Result<T, String> {
    parse(value, reason).and_then(|v| {
        if valid(&v) {
            Ok(v)
        } else {
            Err(reason.to_owned())
        }
    })
}

fn kilobytes(value: &str) -> Result<u64, String> {
    let reason = "must be a positive number of kilobytes";
    parse_if(value, |kb: &u64| *kb > 0, reason)?
        .checked_mul(1024)
        .ok_or_else(|| reason.to_owned())
}

fn flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// metricsProvider.className of ZooKeeper's Prometheus endpoint.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
/// metricsProvider.className of ZooKeeper's default (JMX and mntr only) provider.
const DEFAULT_PROVIDER: &str = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";

/// Java properties, the subset zoo.cfg files use: `key=value`, `key: value` or
/// `key value`; `#` and `!` start comments.
fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .map(|line| {
            let split = line
                .find(['=', ':'])
                .or_else(|| line.find(char::is_whitespace))
                .unwrap_or(line.len());
            let key = line[..split].trim();
            let value = line.get(split + 1..).unwrap_or("").trim();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_sample_zoo_cfg() {
        let dir = std::env::temp_dir().join(format!("fk-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("zoo.cfg");
        std::fs::write(
            &file,
            "# sample\ntickTime=3000\ninitLimit=10\ndataDir=/var/lib/zookeeper\nclientPort = 2182\nclientPortAddress=127.0.0.1\nmaxSessionTimeout: 90000\n",
        )
        .unwrap();
        let config = Config::from_file(&file).unwrap();
        assert_eq!(config.client_port, 2182);
        assert_eq!(config.tick_time_ms, 3000);
        assert_eq!(config.min_session_timeout_ms(), 6000);
        assert_eq!(config.max_session_timeout_ms(), 90000);
        assert_eq!(config.data_dir, Some(PathBuf::from("/var/lib/zookeeper")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn operations_keys() {
        let mut config = Config::default();
        assert_eq!(config.max_client_cnxns, 60);
        assert!(config.admin_enabled && config.admin_port() == 8080);
        config.client_port = 0;
        assert_eq!(
            config.admin_port(),
            0,
            "a free client port, a free admin port"
        );
        assert!(!config.metrics_enabled && config.metrics_port == 7000);
        config.set("maxClientCnxns", "5").unwrap();
        config.set("globalOutstandingLimit", "20").unwrap();
        config.set("admin.enableServer", "false").unwrap();
        config.set("admin.serverPort", "0").unwrap();
        config.set("admin.serverAddress", "127.0.0.1").unwrap();
        config
            .set("metricsProvider.className", PROMETHEUS_PROVIDER)
            .unwrap();
        config.set("metricsProvider.httpPort", "7001").unwrap();
        assert_eq!(config.max_client_cnxns, 5);
        assert_eq!(config.global_outstanding_limit, 20);
        assert!(!config.admin_enabled && config.admin_port_setting == Some(0));
        assert!(config.metrics_enabled && config.metrics_port == 7001);
        assert!(config.set("metricsProvider.className", "x.Y").is_err());
        assert!(config.set("globalOutstandingLimit", "0").is_err());
    }

    #[test]
    fn a_server_lines_client_address_replaces_the_default_port() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("myid"), "1\n").unwrap();
        let mut config = Config::default();
        config.set("dataDir", dir.path().to_str().unwrap()).unwrap();
        config
            .set("server.1", "localhost:2888:3888;127.0.0.1:2182")
            .unwrap();
        config.resolve_ensemble().unwrap();
        assert_eq!(config.mode, Mode::Standalone);
        assert_eq!(config.client_port, 2182);
        assert_eq!(config.client_port_address, Some([127, 0, 0, 1].into()));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::default().set("tickTime", "soon").unwrap_err();
        assert!(err.to_string().contains("tickTime"), "{err}");
    }
}
