//! Server configuration, read from ZooKeeper's zoo.cfg properties format with
//! ZooKeeper's key names and defaults. Unknown keys are warned about; a bad value stops
//! start-up with the key, the value and the reason.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ferrokeeper_protocol::frame::DEFAULT_JUTE_MAXBUFFER;

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
    /// the write pipeline; each connection may have its share (at least 1), as
    /// ZooKeeper throttles reading when the limit is reached.
    pub global_outstanding_limit: usize,
    /// admin.enableServer: the AdminServer (HTTP) is started.
    pub admin_enabled: bool,
    /// admin.serverAddress.
    pub admin_address: IpAddr,
    /// admin.serverPort; 0 picks a free port (logged).
    pub admin_port: u16,
    /// metricsProvider.className is ZooKeeper's Prometheus provider: serve /metrics.
    pub metrics_enabled: bool,
    /// metricsProvider.httpHost.
    pub metrics_address: IpAddr,
    /// metricsProvider.httpPort.
    pub metrics_port: u16,
    /// `server.N=` lines seen: one is a single-server ensemble (served standalone);
    /// a second is refused, since replication is not supported yet.
    pub ensemble_members: Vec<String>,
    /// fsync.warningthresholdms: a group commit slower than this is logged with
    /// ZooKeeper's "fsync-ing the write ahead log took N ms" warning.
    pub fsync_warning_threshold_ms: u64,
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
            admin_port: 8080,
            metrics_enabled: false,
            metrics_address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            metrics_port: 7000,
            ensemble_members: Vec::new(),
            fsync_warning_threshold_ms: 1000,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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

    pub fn four_letter_allowed(&self, command: &str) -> bool {
        command == "srvr"
            || self
                .four_letter_whitelist
                .iter()
                .any(|allowed| allowed == "*" || allowed == command)
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
        let invalid = |reason: &str| ConfigError::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        fn number<T: std::str::FromStr>(value: &str) -> Option<T> {
            value.trim().parse().ok()
        }
        fn flag(value: &str) -> Option<bool> {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" => Some(true),
                "false" | "no" => Some(false),
                _ => None,
            }
        }
        match key {
            "clientPort" => {
                self.client_port = number(value).ok_or_else(|| invalid("not a port number"))?
            }
            "clientPortAddress" => {
                self.client_port_address =
                    Some(number(value).ok_or_else(|| invalid("not an IP address"))?)
            }
            "dataDir" => self.data_dir = Some(PathBuf::from(value)),
            "dataLogDir" => self.data_log_dir = Some(PathBuf::from(value)),
            "forceSync" | "zookeeper.forceSync" => {
                self.force_sync = flag(value).ok_or_else(|| invalid("expected yes or no"))?
            }
            "preAllocSize" | "zookeeper.preAllocSize" => {
                self.prealloc_bytes = number::<u64>(value)
                    .filter(|kb| *kb > 0)
                    .map(|kb| kb * 1024)
                    .ok_or_else(|| invalid("must be a positive number of kilobytes"))?
            }
            "snapCount" | "zookeeper.snapCount" => {
                self.snap_count = number(value)
                    .filter(|n: &u64| *n >= 2)
                    .ok_or_else(|| invalid("must be a number of transactions (at least 2)"))?
            }
            "snapSizeLimitInKb" | "zookeeper.snapSizeLimitInKb" => {
                self.snap_size_limit_bytes = number::<u64>(value)
                    .filter(|kb| *kb > 0)
                    .map(|kb| kb * 1024)
                    .ok_or_else(|| invalid("must be a positive number of kilobytes"))?
            }
            "autopurge.snapRetainCount" => {
                self.snap_retain_count = number::<usize>(value)
                    .ok_or_else(|| invalid("not a number"))?
                    .max(3)
            }
            "autopurge.purgeInterval" => {
                self.purge_interval_hours =
                    number(value).ok_or_else(|| invalid("not a number of hours"))?
            }
            "ferrokeeper.snapshot.zstdLevel" => {
                self.snapshot_zstd_level = Some(
                    number(value)
                        .filter(|l: &i32| (1..=22).contains(l))
                        .ok_or_else(|| invalid("must be a zstd level from 1 to 22"))?,
                )
            }
            "ferrokeeper.recovery.truncateCorruptLog" => {
                self.truncate_corrupt_log = flag(value).ok_or_else(|| invalid("not a boolean"))?
            }
            "tickTime" => {
                self.tick_time_ms = number(value)
                    .filter(|t: &i32| *t > 0)
                    .ok_or_else(|| invalid("must be a positive number of milliseconds"))?
            }
            "minSessionTimeout" => {
                self.min_session_timeout_ms =
                    Some(number(value).ok_or_else(|| invalid("not a number"))?)
                        .filter(|t: &i32| *t >= 0)
            }
            "maxSessionTimeout" => {
                self.max_session_timeout_ms =
                    Some(number(value).ok_or_else(|| invalid("not a number"))?)
                        .filter(|t: &i32| *t >= 0)
            }
            "jute.maxbuffer" => {
                self.jute_max_buffer = number(value)
                    .filter(|n: &usize| *n > 0 && *n <= i32::MAX as usize)
                    .ok_or_else(|| invalid("must be a positive number of bytes"))?
            }
            "extendedTypesEnabled" | "zookeeper.extendedTypesEnabled" => {
                self.extended_types_enabled = flag(value).ok_or_else(|| invalid("not a boolean"))?
            }
            "superDigest" | "zookeeper.DigestAuthenticationProvider.superDigest" => {
                if !crate::auth::digest::is_valid(value.trim()) {
                    return Err(invalid("expected user:base64-sha1"));
                }
                self.super_digest = Some(value.trim().to_owned())
            }
            "4lw.commands.whitelist" => {
                self.four_letter_whitelist = value
                    .split(',')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            }
            "znode.container.checkIntervalMs" => {
                self.container_check_interval_ms = number(value)
                    .filter(|n: &u64| *n > 0)
                    .ok_or_else(|| invalid("must be a positive number of milliseconds"))?
            }
            "znode.container.maxNeverUsedIntervalMs" => {
                self.container_max_never_used_ms =
                    number(value).ok_or_else(|| invalid("not a number"))?
            }
            "fsync.warningthresholdms" | "zookeeper.fsync.warningthresholdms" => {
                self.fsync_warning_threshold_ms =
                    number(value).ok_or_else(|| invalid("not a number of milliseconds"))?
            }
            "maxClientCnxns" => {
                self.max_client_cnxns =
                    number(value).ok_or_else(|| invalid("not a number of connections"))?
            }
            "globalOutstandingLimit" | "zookeeper.globalOutstandingLimit" => {
                self.global_outstanding_limit = number(value)
                    .filter(|n: &usize| *n > 0)
                    .ok_or_else(|| invalid("must be a positive number of requests"))?
            }
            "admin.enableServer" | "zookeeper.admin.enableServer" => {
                self.admin_enabled = flag(value).ok_or_else(|| invalid("not a boolean"))?
            }
            "admin.serverAddress" | "zookeeper.admin.serverAddress" => {
                self.admin_address = number(value).ok_or_else(|| invalid("not an IP address"))?
            }
            "admin.serverPort" | "zookeeper.admin.serverPort" => {
                self.admin_port = number(value).ok_or_else(|| invalid("not a port number"))?
            }
            "metricsProvider.className" => {
                self.metrics_enabled = match value.trim() {
                    PROMETHEUS_PROVIDER => true,
                    "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider" => false,
                    _ => return Err(invalid(&format!("the supported providers are {PROMETHEUS_PROVIDER} and org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"))),
                }
            }
            "metricsProvider.httpHost" => {
                self.metrics_address =
                    number(value).ok_or_else(|| invalid("not an IP address"))?
            }
            "metricsProvider.httpPort" => {
                self.metrics_port = number(value).ok_or_else(|| invalid("not a port number"))?
            }
            "initLimit"
            | "syncLimit"
            | "standaloneEnabled"
            | "reconfigEnabled"
            | "admin.commandURL"
            | "admin.idleTimeout"
            | "metricsProvider.exportJvmInfo" => {
                tracing::warn!(key, value, "zoo.cfg key accepted but not used");
            }
            _ if key.starts_with("server.") && key[7..].parse::<u64>().is_ok() => {
                if !self.ensemble_members.iter().any(|k| k == key) {
                    self.ensemble_members.push(key.to_owned());
                }
                if self.ensemble_members.len() > 1 {
                    return Err(invalid(&format!(
                        "a {}-server ensemble needs replication, which is not supported yet; \
                         remove the server.N lines (or keep one) to run standalone",
                        self.ensemble_members.len()
                    )));
                }
                tracing::info!(key, value, "single-server ensemble: serving standalone");
            }
            _ => tracing::warn!(key, value, "unknown zoo.cfg key ignored"),
        }
        Ok(())
    }
}

/// metricsProvider.className of ZooKeeper's Prometheus endpoint.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

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
        assert!(config.admin_enabled && config.admin_port == 8080);
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
        assert!(!config.admin_enabled && config.admin_port == 0);
        assert!(config.metrics_enabled && config.metrics_port == 7001);
        assert!(config.set("metricsProvider.className", "x.Y").is_err());
        assert!(config.set("globalOutstandingLimit", "0").is_err());
    }

    #[test]
    fn one_server_ensemble_is_served_and_more_refused() {
        let mut config = Config::default();
        config.set("server.1", "localhost:2888:3888").unwrap();
        let err = config.set("server.2", "other:2888:3888").unwrap_err();
        assert!(
            err.to_string()
                .contains("replication, which is not supported yet"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Config::default().set("tickTime", "soon").unwrap_err();
        assert!(err.to_string().contains("tickTime"), "{err}");
    }
}
